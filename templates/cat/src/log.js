// One line per thing that happened, as `key=value` pairs after the cat's name. Lines name Slack
// ids and rules, never what people wrote, never a token.

/** Formats a log line: `dd event=app_mention channel=C1 reply=greeting`. */
export function formatLine(cat, fields) {
  const parts = Object.entries(fields)
    .filter(([, value]) => value !== undefined && value !== null && value !== '')
    .map(([key, value]) => `${key}=${/\s/.test(String(value)) ? JSON.stringify(String(value)) : value}`);
  return [cat, ...parts].join(' ');
}

/** A logger writing lines to `write` (stdout by default). */
export function makeLogger(cat, write = (line) => process.stdout.write(`${line}\n`)) {
  return (fields) => write(formatLine(cat, fields));
}
