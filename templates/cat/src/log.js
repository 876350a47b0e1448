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

/**
 * A logger for Bolt and its Socket Mode client that writes their warnings and errors as one
 * `slack_warning=…` / `slack_error=…` line each through `log` (stdout), never to stderr: stderr is
 * kept for the one line that says why the cat stopped. Lines about failures the engine reports
 * itself (`suppress` patterns) are dropped.
 */
export function boltLogger(log, { suppress = [] } = {}) {
  let level = 'warn';
  const order = ['debug', 'info', 'warn', 'error'];
  const write = (at) => (...parts) => {
    if (order.indexOf(at) < order.indexOf(level)) return;
    const text = parts.map((part) => (part instanceof Error ? part.message : String(part))).join(' ');
    if (suppress.some((pattern) => pattern.test(text))) return;
    log({ [`slack_${at === 'warn' ? 'warning' : at}`]: text.replace(/\s+/g, ' ').trim() });
  };
  return {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    setLevel: (next) => { level = String(next).toLowerCase(); },
    getLevel: () => level,
    setName: () => {},
  };
}
