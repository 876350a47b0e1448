import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { CharacterError, loadCharacterFile, parseCharacter } from '../src/character.js';

const BASE = `version = "v1"
[character]
name = "dd"
greeting = "Meow."
greeting_triggers = ["hi", "dd"]
`;

function refused(text, pattern) {
  assert.throws(() => parseCharacter(text, 'cats/dd/cat.toml'), (err) => {
    assert.ok(err instanceof CharacterError, err.stack);
    assert.match(err.message, /^cats\/dd\/cat\.toml/);
    assert.match(err.message, pattern);
    return true;
  });
}

test('a minimal character gets the defaults', () => {
  const character = parseCharacter(BASE);
  assert.equal(character.name, 'dd');
  assert.equal(character.greeting, 'Meow.');
  assert.equal(character.picture, null);
  assert.deepEqual(character.pictureTriggers, ['사진', 'photo']);
  assert.deepEqual(character.rules, []);
  assert.ok(character.matchesGreeting('hi there'));
});

test('rules and conversations are compiled', () => {
  const character = parseCharacter(`${BASE}
[[character.rules]]
name = "food"
triggers = ["밥"]
replies = ["…밥?"]
delay_seconds = 2.5

[[character.rules]]
triggers = ["docker"]
ask = "What did you forget?"
otherwise = ["{answer}?"]
answers = [{ triggers = ["build"], replies = ["docker build ."] }]
wait_seconds = 60
`);
  const [food, docker] = character.rules;
  assert.equal(food.label, 'food');
  assert.equal(food.delayMs, 2500);
  assert.equal(food.ask, null);
  assert.ok(food.matches('밥먹자'));
  assert.equal(docker.label, 'rules[1]', 'an unnamed rule is named by its place');
  assert.equal(docker.ask, 'What did you forget?');
  assert.equal(docker.waitMs, 60000);
  assert.ok(docker.answers[0].matches('build please'));
});

test('errors name the file and the key', () => {
  refused('version = "v1"\n', /character: missing: cat.toml needs a \[character\] table/);
  refused(BASE.replace('name = "dd"\n', ''), /character\.name: missing/);
  refused(BASE.replace('greeting = "Meow."', 'greeting = 3'), /character\.greeting: must be a string, found number 3/);
  refused(BASE.replace('greeting = "Meow."', 'greeting = " "'), /character\.greeting: must not be empty/);
  refused(BASE.replace('["hi", "dd"]', '[]'), /character\.greeting_triggers: must list at least one word/);
  refused(BASE.replace('["hi", "dd"]', '["hi", 2]'), /character\.greeting_triggers\[1\]: must be a string/);
  refused(`${BASE}greetings = "typo"\n`, /character\.greetings: unknown key \(did you mean greeting\?\)/);
  refused(`${BASE}mood = "grumpy"\n`, /character\.mood: unknown key; known keys: name, greeting/);
  refused(`${BASE}\n[[character.rules]]\ntrigers = ["x"]\nreplies = ["y"]\n`, /character\.rules\[0\]\.trigers: unknown key \(did you mean triggers\?\)/);
  refused(`${BASE}picture = "not a url"\n`, /character\.picture: must be an http\(s\) URL/);
  refused(`${BASE}rules = "none"\n`, /character\.rules: must be an array/);
});

test('rule errors point into the rule', () => {
  const rule = (body) => `${BASE}\n[[character.rules]]\n${body}\n`;
  refused(rule('replies = ["x"]'), /character\.rules\[0\]\.triggers: missing/);
  refused(rule('triggers = ["x"]'), /character\.rules\[0\]\.replies: missing/);
  refused(rule('triggers = ["x"]\nreplies = ["y"]\ndelay = 3'), /character\.rules\[0\]\.delay: unknown key/);
  refused(rule('triggers = ["x"]\nreplies = ["y"]\ndelay_seconds = -1'), /delay_seconds: must be a number of seconds from 0 to 600, found number -1/);
  refused(rule('triggers = ["x"]\nreplies = ["y"]\ndelay_seconds = "5"'), /delay_seconds: must be a number/);
  refused(rule('triggers = ["x"]\nreplies = ["{answer}"]'), /replies\[0\]: \{answer\} only means something/);
  refused(rule('triggers = ["x"]\nreplies = ["y"]\notherwise = ["z"]'), /rules\[0\]\.otherwise: only a rule with `ask`/);
  refused(rule('triggers = ["x"]\nask = "?"'), /rules\[0\]\.otherwise: missing/);
  refused(rule('triggers = ["x"]\nask = "?"\notherwise = ["z"]\nreplies = ["y"]'), /rules\[0\]\.replies: a rule with `ask` answers with/);
  refused(rule('triggers = ["x"]\nask = "?"\notherwise = ["z"]\nwait_seconds = 0'), /wait_seconds: must be a positive number/);
  refused(rule('triggers = ["x"]\nask = "?"\notherwise = ["z"]\nanswers = [{ triggers = ["a"] }]'), /rules\[0\]\.answers\[0\]\.replies: missing/);
});

test('a TOML syntax error gives the line and column', () => {
  refused('version = "v1"\n[character]\nname = = "dd"\n', /^cats\/dd\/cat\.toml:3:\d+: invalid TOML/);
});

test('loading a file names it when it cannot be read', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cat-character-'));
  assert.throws(() => loadCharacterFile(join(dir, 'nope.toml')), /cannot read the cat's configuration .*nope\.toml \(ENOENT\)/);
  const file = join(dir, 'cat.toml');
  writeFileSync(file, BASE);
  assert.equal(loadCharacterFile(file).name, 'dd');
});
