// The cat's character: the [character] table of its cat.toml, parsed and checked. catctl reads
// only the top-level keys of cat.toml; everything under [character] is this engine's to validate.
// Every error names the file and the key, e.g. `cat.toml: character.rules[1].delay_seconds: …`.
//
// Schema (see templates/cat/cat.toml for a commented example):
//   [character]
//   name = "dd"                             required: the cat's name, used in logs
//   greeting = "Meow. :smile_cat:"          required: the reply to a greeting or a bare mention
//   greeting_triggers = ["hi", "dd", …]     required: words that greet the cat
//   picture = "https://…/dd.png"            optional: the cat's picture URL
//   picture_triggers = ["사진", "photo"]      optional: words that ask for it (this default)
//   [[character.rules]]                     optional, tried in order, first match wins
//   name = "food"                           optional: the rule's name in logs
//   triggers = ["밥", "food"]                required
//   replies = ["…", "…"]                    a reply, picked at random when there are several
//   delay_seconds = 8                       optional: answer only after this long
//   ask = "What did you forget?"            instead of replies: ask, then answer the next message
//   answers = [{ triggers = [..], replies = [..] }]   with ask: replies chosen by the answer
//   otherwise = ["{answer}"]                with ask: when no answer matches ({answer} = the text)
//   wait_seconds = 300                      with ask: how long the question stays open
//   [[character.schedule]]                  optional: feeding time, posted by the cat itself
//   name = "dinner"                         optional: the entry's name in logs
//   at = "18:00"                            required: time of day, HH:MM (24 h)
//   time_zone = "Asia/Seoul"                optional: an IANA time zone (UTC)
//   channel = "C0123ABCD"                   required: the channel id to post in
//   replies = ["밥 먹자!"]                   required: one is picked at random
//
// The same rules are in cat.schema.json (JSON Schema), which catctl checks before a build;
// test/schema.test.js keeps both in agreement.

import { readFileSync } from 'node:fs';

import { parse as parseToml } from 'smol-toml';

import { compileTriggers } from './match.js';

export const DEFAULT_PICTURE_TRIGGERS = ['사진', 'photo'];
export const DEFAULT_WAIT_SECONDS = 300;
const MAX_DELAY_SECONDS = 600;

export class CharacterError extends Error {
  constructor(message) {
    super(message);
    this.name = 'CharacterError';
  }
}

/** Reads and checks the character of the cat.toml at `path`. */
export function loadCharacterFile(path) {
  let text;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CharacterError(`cannot read the cat's configuration ${path} (${err.code ?? err.message})`);
  }
  return parseCharacter(text, path);
}

/** Parses cat.toml `text` (from `file`, for messages) into a checked character. */
export function parseCharacter(text, file = 'cat.toml') {
  let document;
  try {
    document = parseToml(text);
  } catch (err) {
    const where = err.line ? `:${err.line}:${err.column}` : '';
    const message = err.message.split('\n')[0].replace(/^Invalid TOML document: /, '');
    throw new CharacterError(`${file}${where}: invalid TOML: ${message}`);
  }
  try {
    return checkCharacter(document.character);
  } catch (err) {
    if (err instanceof SchemaError) throw new CharacterError(`${file}: ${err.message}`);
    throw err;
  }
}

class SchemaError extends Error {}

function fail(path, message) {
  throw new SchemaError(`${path}: ${message}`);
}

function checkCharacter(table) {
  const path = 'character';
  if (table === undefined) fail(path, 'missing: cat.toml needs a [character] table');
  const c = fields(table, path, [
    'name', 'greeting', 'greeting_triggers', 'picture', 'picture_triggers', 'rules', 'schedule',
  ]);
  const picture = c.optional('picture', checkUrl);
  const greetingTriggers = c.required('greeting_triggers', checkWords);
  const pictureTriggers = c.optional('picture_triggers', checkWords) ?? DEFAULT_PICTURE_TRIGGERS;
  const rules = (c.optional('rules', checkArray) ?? []).map((rule, index) =>
    checkRule(rule, `${path}.rules[${index}]`));
  return {
    name: c.required('name', checkText),
    greeting: c.required('greeting', checkText),
    greetingTriggers,
    matchesGreeting: compileTriggers(greetingTriggers),
    picture: picture ?? null,
    pictureTriggers,
    matchesPicture: compileTriggers(pictureTriggers),
    rules,
    schedule: (c.optional('schedule', checkArray) ?? []).map((entry, index) =>
      checkSchedule(entry, `${path}.schedule[${index}]`)),
  };
}

function checkSchedule(table, path) {
  const s = fields(table, path, ['name', 'at', 'time_zone', 'channel', 'replies']);
  const at = s.required('at', checkText);
  if (!/^([01][0-9]|2[0-3]):[0-5][0-9]$/.test(at)) fail(`${path}.at`, `must be a time of day HH:MM (24 h), found ${JSON.stringify(at)}`);
  const timeZone = s.optional('time_zone', checkTimeZone) ?? 'UTC';
  const channel = s.required('channel', checkText);
  if (!/^[CG][A-Z0-9]{2,}$/.test(channel)) {
    fail(`${path}.channel`, `must be a Slack channel id such as C0123ABCD (channel details → About), found ${JSON.stringify(channel)}`);
  }
  return {
    label: s.optional('name', checkText) ?? path.replace(/^character\./, ''),
    at,
    timeZone,
    channel,
    replies: s.required('replies', checkReplies),
  };
}

function checkTimeZone(value, path) {
  const zone = checkText(value, path);
  let known = /^(UTC|[A-Za-z_]+(\/[A-Za-z0-9_+-]+)+)$/.test(zone);
  if (known) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: zone });
    } catch {
      known = false;
    }
  }
  if (!known) fail(path, `must be an IANA time zone such as Asia/Seoul or UTC, found ${JSON.stringify(zone)}`);
  return zone;
}

function checkRule(table, path) {
  const r = fields(table, path, [
    'name', 'triggers', 'replies', 'delay_seconds', 'ask', 'answers', 'otherwise', 'wait_seconds',
  ]);
  const triggers = r.required('triggers', checkWords);
  const ask = r.optional('ask', checkText);
  const rule = {
    label: r.optional('name', checkText) ?? path.replace(/^character\./, ''),
    triggers,
    matches: compileTriggers(triggers),
    delayMs: (r.optional('delay_seconds', checkDelay) ?? 0) * 1000,
    ask: ask ?? null,
    replies: null,
    answers: [],
    otherwise: null,
    waitMs: DEFAULT_WAIT_SECONDS * 1000,
  };
  if (ask === undefined) {
    for (const key of ['answers', 'otherwise', 'wait_seconds']) {
      if (key in table) fail(`${path}.${key}`, 'only a rule with `ask` (a question) takes it');
    }
    rule.replies = r.required('replies', checkReplies);
    return rule;
  }
  if ('replies' in table) {
    fail(`${path}.replies`, 'a rule with `ask` answers with `answers` and `otherwise`, not `replies`');
  }
  rule.answers = (r.optional('answers', checkArray) ?? []).map((answer, index) =>
    checkAnswer(answer, `${path}.answers[${index}]`));
  rule.otherwise = r.required('otherwise', (value, at) => checkReplies(value, at, true));
  rule.waitMs = (r.optional('wait_seconds', checkPositive) ?? DEFAULT_WAIT_SECONDS) * 1000;
  return rule;
}

function checkAnswer(table, path) {
  const a = fields(table, path, ['triggers', 'replies']);
  const triggers = a.required('triggers', checkWords);
  return {
    triggers,
    matches: compileTriggers(triggers),
    replies: a.required('replies', (value, at) => checkReplies(value, at, true)),
  };
}

/** Accessors for the keys of one table; refuses keys not in `known`. */
function fields(table, path, known) {
  if (typeof table !== 'object' || table === null || Array.isArray(table)) {
    fail(path, `must be a table, found ${describe(table)}`);
  }
  for (const key of Object.keys(table)) {
    if (!known.includes(key)) {
      const near = closest(key, known);
      fail(`${path}.${key}`, near ? `unknown key (did you mean ${near}?)` : `unknown key; known keys: ${known.join(', ')}`);
    }
  }
  return {
    required(key, check) {
      if (!(key in table)) fail(`${path}.${key}`, 'missing');
      return check(table[key], `${path}.${key}`);
    },
    optional(key, check) {
      return key in table ? check(table[key], `${path}.${key}`) : undefined;
    },
  };
}

/** The known key nearest to `key` (edit distance at most 2), if any. */
function closest(key, known) {
  const distance = (a, b) => {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i += 1) {
      let previous = row[0];
      row[0] = i;
      for (let j = 1; j <= b.length; j += 1) {
        const current = row[j];
        row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
        previous = current;
      }
    }
    return row[b.length];
  };
  const [best] = known.map((candidate) => [candidate, distance(key, candidate)]).sort((a, b) => a[1] - b[1]);
  return best && best[1] <= 2 ? best[0] : undefined;
}

function checkText(value, path) {
  if (typeof value !== 'string') fail(path, `must be a string, found ${describe(value)}`);
  if (value.trim() === '') fail(path, 'must not be empty');
  return value;
}

function checkArray(value, path) {
  if (!Array.isArray(value)) fail(path, `must be an array, found ${describe(value)}`);
  return value;
}

function checkWords(value, path) {
  const words = checkArray(value, path).map((word, index) => checkText(word, `${path}[${index}]`));
  if (words.length === 0) fail(path, 'must list at least one word');
  return words;
}

function checkReplies(value, path, answerAllowed = false) {
  const replies = checkWords(value, path);
  if (!answerAllowed) {
    replies.forEach((reply, index) => {
      if (reply.includes('{answer}')) {
        fail(`${path}[${index}]`, '{answer} only means something in the answers of a rule with `ask`');
      }
    });
  }
  return replies;
}

function checkDelay(value, path) {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_DELAY_SECONDS) {
    fail(path, `must be a number of seconds from 0 to ${MAX_DELAY_SECONDS}, found ${describe(value)}`);
  }
  return value;
}

function checkPositive(value, path) {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    fail(path, `must be a positive number of seconds, found ${describe(value)}`);
  }
  return value;
}

function checkUrl(value, path) {
  const text = checkText(value, path);
  if (!/^https?:\/\/\S+$/.test(text)) fail(path, `must be an http(s) URL, found ${JSON.stringify(text)}`);
  return text;
}

function describe(value) {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'nothing';
  if (typeof value === 'object') return value instanceof Date ? 'a date' : 'a table';
  return `${typeof value} ${JSON.stringify(value)}`;
}
