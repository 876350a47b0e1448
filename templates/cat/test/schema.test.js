// cat.schema.json (what catctl checks before a build) and src/character.js (what the engine checks
// at start) must agree: the same characters accepted, the same refused.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

import Ajv2020 from 'ajv/dist/2020.js';
import { parse as parseToml } from 'smol-toml';

import { parseCharacter } from '../src/character.js';

const PACKAGE = fileURLToPath(new URL('..', import.meta.url));
const schema = JSON.parse(readFileSync(join(PACKAGE, 'cat.schema.json'), 'utf8'));
const validate = new Ajv2020({ allErrors: true, strict: true, strictRequired: false }).compile(schema);

const BASE = 'name = "dd"\ngreeting = "Meow."\ngreeting_triggers = ["hi", "dd"]\n';
const doc = (body) => `version = "v1"\n[character]\n${body}`;
const rule = (body) => doc(`${BASE}\n[[character.rules]]\n${body}\n`);
const feed = (body) => doc(`${BASE}\n[[character.schedule]]\n${body}\n`);

const VALID = [
  doc(BASE),
  doc(`${BASE}picture = "https://example.com/dd.png"\npicture_triggers = ["pic"]\n`),
  rule('name = "food"\ntriggers = ["밥"]\nreplies = ["a", "b"]\ndelay_seconds = 8'),
  rule('triggers = ["x"]\nreplies = ["y"]\ndelay_seconds = 0'),
  rule('triggers = ["play"]\nask = "What?"\notherwise = ["{answer}?"]\nwait_seconds = 60\nanswers = [{ triggers = ["ball"], replies = ["Ball {answer}"] }]'),
  feed('at = "18:00"\nchannel = "C0123ABCD"\nreplies = ["밥 먹자!"]'),
  feed('name = "breakfast"\nat = "07:30"\ntime_zone = "Asia/Seoul"\nchannel = "G01ABC"\nreplies = ["a", "b"]'),
];

const INVALID = [
  'version = "v1"\n',
  doc('greeting = "Meow."\ngreeting_triggers = ["hi"]\n'),
  doc(BASE.replace('"Meow."', '3')),
  doc(BASE.replace('"Meow."', '" "')),
  doc(BASE.replace('["hi", "dd"]', '[]')),
  doc(BASE.replace('["hi", "dd"]', '["hi", 2]')),
  doc(`${BASE}greetings = "typo"\n`),
  doc(`${BASE}picture = "not a url"\n`),
  doc(`${BASE}rules = "none"\n`),
  rule('trigers = ["x"]\nreplies = ["y"]'),
  rule('triggers = ["x"]'),
  rule('triggers = ["x"]\nreplies = ["{answer}"]'),
  rule('triggers = ["x"]\nreplies = ["y"]\ndelay_seconds = 601'),
  rule('triggers = ["x"]\nreplies = ["y"]\ndelay_seconds = -1'),
  rule('triggers = ["x"]\nreplies = ["y"]\nwait_seconds = 5'),
  rule('triggers = ["x"]\nreplies = ["y"]\notherwise = ["z"]'),
  rule('triggers = ["x"]\nask = "?"'),
  rule('triggers = ["x"]\nask = "?"\notherwise = ["z"]\nreplies = ["y"]'),
  rule('triggers = ["x"]\nask = "?"\notherwise = ["z"]\nwait_seconds = 0'),
  rule('triggers = ["x"]\nask = "?"\notherwise = ["z"]\nanswers = [{ triggers = ["a"] }]'),
  rule('triggers = ["x"]\nask = "?"\notherwise = ["z"]\nanswers = [{ triggers = ["a"], replies = ["b"], extra = 1 }]'),
  feed('at = "25:00"\nchannel = "C0123ABCD"\nreplies = ["x"]'),
  feed('at = "6:00"\nchannel = "C0123ABCD"\nreplies = ["x"]'),
  feed('at = "18:00"\nchannel = "#general"\nreplies = ["x"]'),
  feed('at = "18:00"\nchannel = "C0123ABCD"'),
  feed('at = "18:00"\nchannel = "C0123ABCD"\nreplies = ["{answer}"]'),
  feed('at = "18:00"\ntime_zone = "Seoul"\nchannel = "C0123ABCD"\nreplies = ["x"]'),
  feed('at = "18:00"\nchannel = "C0123ABCD"\nreplies = ["x"]\nevery = "day"'),
];

const engineAccepts = (text) => {
  try {
    parseCharacter(text);
    return true;
  } catch {
    return false;
  }
};
const schemaAccepts = (text) => validate(parseToml(text).character ?? null);

test('the schema is itself valid and strict', () => {
  assert.equal(typeof validate, 'function');
});

test('the schema and the engine accept the same characters', () => {
  for (const text of VALID) {
    assert.equal(engineAccepts(text), true, `engine refuses:\n${text}`);
    assert.equal(schemaAccepts(text), true, `schema refuses:\n${text}\n${JSON.stringify(validate.errors)}`);
  }
});

test('the schema and the engine refuse the same characters', () => {
  for (const text of INVALID) {
    assert.equal(engineAccepts(text), false, `engine accepts:\n${text}`);
    assert.equal(schemaAccepts(text), false, `schema accepts:\n${text}`);
  }
});

test("this package's cat.toml and every cat in cats/ pass the schema", () => {
  const files = [join(PACKAGE, 'cat.toml')];
  const cats = join(PACKAGE, '..', '..', 'cats');
  if (existsSync(join(PACKAGE, '..', '..', 'templates')) && existsSync(cats)) {
    for (const name of readdirSync(cats)) {
      if (existsSync(join(cats, name, 'cat.toml'))) files.push(join(cats, name, 'cat.toml'));
    }
  }
  for (const file of files) {
    const text = readFileSync(file, 'utf8').replaceAll('{{ name }}', 'kitty');
    assert.ok(schemaAccepts(text), `${file}: ${JSON.stringify(validate.errors)}`);
  }
});
