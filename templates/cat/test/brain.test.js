import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Cat, deliver, fillAnswer } from '../src/brain.js';
import { parseCharacter } from '../src/character.js';
import { seededRandom } from '../src/random.js';

const CHARACTER = `version = "v1"
[character]
name = "dd"
greeting = "Meow."
greeting_triggers = ["hi", "dd", "디디", "안녕"]
picture = "https://example.com/dd.png"

[[character.rules]]
name = "food"
triggers = ["밥", "food"]
replies = ["late"]
delay_seconds = 8

[[character.rules]]
name = "mood"
triggers = ["mood"]
replies = ["a", "b", "c"]

[[character.rules]]
name = "repeat"
triggers = ["repeat"]
ask = "Say something?"
otherwise = ["{answer}"]
wait_seconds = 60

[[character.rules]]
name = "docker"
triggers = ["docker"]
ask = "What did you forget?"
answers = [
  { triggers = ["build"], replies = ["docker build"] },
  { triggers = ["logs"], replies = ["kubectl logs"] },
]
otherwise = ["no idea about {answer}"]
`;

function makeCat({ seed = 1, clock = { now: 0 } } = {}) {
  return new Cat(parseCharacter(CHARACTER), { random: seededRandom(seed), now: () => clock.now });
}

const say = (cat, text, who = { channel: 'C1', user: 'U1' }) => cat.respond({ ...who, text });

test('greetings, a bare mention, the picture, and silence', () => {
  const cat = makeCat();
  for (const text of ['hi', '<@UBOT> Hi!', 'DD', '디디야', '안녕하세요', '<@UBOT>']) {
    assert.deepEqual(say(cat, text), { kind: 'greeting', label: 'greeting', text: 'Meow.', delayMs: 0 }, text);
  }
  assert.equal(say(cat, 'dd 사진 보여줘').text, 'https://example.com/dd.png');
  assert.equal(say(cat, 'photo please').kind, 'picture');
  assert.equal(say(cat, 'what is the weather'), null);
  assert.equal(say(cat, 'this is it'), null, '"hi" inside "this" is no greeting');
});

test('rules come before the greeting, in order', () => {
  const cat = makeCat();
  assert.deepEqual(say(cat, 'dd 밥 먹자'), { kind: 'rule', label: 'food', text: 'late', delayMs: 8000 });
});

test('a delayed reply is sent only after its delay', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const cat = makeCat();
  const sent = [];
  const done = deliver(say(cat, 'food, dd!'), async (text) => sent.push(text));
  t.mock.timers.tick(7999);
  await Promise.resolve();
  assert.deepEqual(sent, [], 'DD does not come before 8 s');
  t.mock.timers.tick(1);
  await done;
  assert.deepEqual(sent, ['late']);
});

test('an immediate reply needs no timer', async () => {
  const sent = [];
  await deliver({ text: 'Meow.', delayMs: 0 }, async (text) => sent.push(text));
  assert.deepEqual(sent, ['Meow.']);
});

test('random replies follow the seed', () => {
  const replies = (seed) => {
    const cat = makeCat({ seed });
    return Array.from({ length: 12 }, () => say(cat, 'mood?').text);
  };
  assert.deepEqual(replies(5), replies(5), 'same seed, same replies');
  assert.notDeepEqual(replies(5), replies(6));
  assert.deepEqual([...new Set(replies(5))].sort(), ['a', 'b', 'c'], 'every reply happens');
});

test('a question, then its answer repeated', () => {
  const cat = makeCat();
  assert.deepEqual(say(cat, 'repeat after me'), { kind: 'ask', label: 'repeat', text: 'Say something?', delayMs: 0 });
  assert.deepEqual(say(cat, '<@UBOT> 흥칫뿡!'), { kind: 'answer', label: 'repeat', text: '흥칫뿡!', delayMs: 0 });
  assert.equal(say(cat, 'hi').kind, 'greeting', 'the question is closed once answered');
});

test('questions are per person and per channel', () => {
  const cat = makeCat();
  say(cat, 'repeat', { channel: 'C1', user: 'U1' });
  assert.equal(say(cat, 'hi', { channel: 'C1', user: 'U2' }).kind, 'greeting');
  assert.equal(say(cat, 'hi', { channel: 'C2', user: 'U1' }).kind, 'greeting');
  assert.deepEqual(say(cat, 'hi', { channel: 'C1', user: 'U1' }).text, 'hi');
});

test('a bare mention does not answer the question', () => {
  const cat = makeCat();
  say(cat, 'repeat');
  assert.equal(say(cat, '<@UBOT>').kind, 'greeting');
  assert.equal(say(cat, 'meow').text, 'meow');
});

test('an open question expires', () => {
  const clock = { now: 1000 };
  const cat = makeCat({ clock });
  say(cat, 'repeat');
  clock.now += 60000;
  assert.equal(say(cat, 'hi').kind, 'greeting', 'after wait_seconds the next message is new');
});

test('answers are chosen by what was said; otherwise the fallback', () => {
  const cat = makeCat();
  assert.equal(say(cat, 'docker').text, 'What did you forget?');
  assert.equal(say(cat, 'how to see logs').text, 'kubectl logs');
  say(cat, 'docker');
  assert.equal(say(cat, 'tea').text, 'no idea about tea');
});

test('a question already answered in the same message is answered at once', () => {
  const cat = makeCat();
  assert.deepEqual(say(cat, 'docker build?'), { kind: 'answer', label: 'docker', text: 'docker build', delayMs: 0 });
  assert.equal(say(cat, 'hi').kind, 'greeting', 'no question left open');
});

test('repeating defuses broadcast mentions', () => {
  assert.equal(fillAnswer('{answer}', '<!channel> hey'), '&lt;!channel> hey');
  assert.equal(fillAnswer('you said {answer}, {answer}', 'x'), 'you said x, x');
  const cat = makeCat();
  say(cat, 'repeat');
  assert.equal(say(cat, '<!here> meow').text, '&lt;!here> meow');
});
