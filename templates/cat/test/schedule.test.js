import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseCharacter } from '../src/character.js';
import { due, startSchedule, wallClock } from '../src/schedule.js';

const CHARACTER = `[character]
name = "dd"
greeting = "Meow."
greeting_triggers = ["hi"]

[[character.schedule]]
name = "dinner"
at = "18:00"
time_zone = "Asia/Seoul"
channel = "C0FOOD"
replies = ["밥 먹자!"]

[[character.schedule]]
at = "07:30"
channel = "C0FOOD"
replies = ["아침!"]
`;

const at = (iso) => Date.parse(iso);

test('wall clock of an instant in a time zone', () => {
  assert.deepEqual(wallClock(at('2026-03-01T09:00:30Z'), 'Asia/Seoul'), { time: '18:00', day: '2026-03-01' });
  assert.deepEqual(wallClock(at('2026-03-01T23:59:00Z'), 'UTC'), { time: '23:59', day: '2026-03-01' });
});

test('an entry is due at its minute, once a day', () => {
  const { schedule } = parseCharacter(CHARACTER);
  assert.equal(schedule[0].label, 'dinner');
  assert.equal(schedule[1].label, 'schedule[1]');
  assert.equal(schedule[1].timeZone, 'UTC');
  const fired = new Map();
  assert.deepEqual(due(schedule, at('2026-03-01T08:59:50Z'), fired), []);
  assert.deepEqual(due(schedule, at('2026-03-01T09:00:10Z'), fired).map((e) => e.label), ['dinner']);
  assert.deepEqual(due(schedule, at('2026-03-01T09:00:40Z'), fired), [], 'not twice in the same minute');
  assert.deepEqual(due(schedule, at('2026-03-01T07:30:00Z'), fired).map((e) => e.label), ['schedule[1]']);
  assert.deepEqual(due(schedule, at('2026-03-02T09:00:00Z'), fired).map((e) => e.label), ['dinner'], 'again the next day');
});

test('startSchedule posts due entries in their channel and logs them', async () => {
  const cat = parseCharacter(CHARACTER);
  const posts = [];
  const lines = [];
  const stop = startSchedule({
    cat,
    post: async (message) => posts.push(message),
    log: (line) => lines.push(line),
    now: () => at('2026-03-01T09:00:05Z'),
    tickMs: 60_000,
  });
  stop();
  await new Promise((wake) => setImmediate(wake));
  assert.deepEqual(posts, [{ channel: 'C0FOOD', text: '밥 먹자!' }]);
  assert.deepEqual(lines, [{ schedule: 'dinner', channel: 'C0FOOD' }]);
});

test('an unknown time zone is refused at start', () => {
  assert.throws(() => parseCharacter(CHARACTER.replace('Asia/Seoul', 'Mars/Olympus')), /time_zone: must be an IANA time zone/);
});
