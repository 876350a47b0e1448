import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Cat } from '../src/brain.js';
import { parseCharacter } from '../src/character.js';
import { formatLine, makeLogger } from '../src/log.js';
import { seededRandom } from '../src/random.js';
import { handleEvent, listen } from '../src/slack.js';

const CHARACTER = `version = "v1"
[character]
name = "momo"
greeting = "Meow."
greeting_triggers = ["hi", "momo"]

[[character.rules]]
name = "copycat"
triggers = ["repeat"]
ask = "Say something?"
otherwise = ["{answer}"]
`;

function setup() {
  const cat = new Cat(parseCharacter(CHARACTER), { random: seededRandom(1) });
  const lines = [];
  const log = makeLogger('momo', (line) => lines.push(line));
  const said = [];
  const say = async (message) => said.push(message);
  return { cat, lines, log, said, say };
}

test('a mention is answered and logged in one line without the message text', async () => {
  const { cat, lines, log, said, say } = setup();
  const event = { type: 'app_mention', channel: 'C1', user: 'U1', text: '<@UBOT> repeat', ts: '1.0' };
  await handleEvent(cat, log, 'app_mention', event, say);
  await handleEvent(cat, log, 'app_mention', { ...event, text: '<@UBOT> 흥칫뿡 secret words', ts: '2.0' }, say);
  assert.deepEqual(said, [{ text: 'Say something?' }, { text: '흥칫뿡 secret words' }]);
  assert.deepEqual(lines, [
    'momo event=app_mention channel=C1 user=U1 reply=ask rule=copycat',
    'momo event=app_mention channel=C1 user=U1 reply=answer rule=copycat',
  ]);
  assert.ok(lines.every((line) => !line.includes('secret words')));
});

test('a reply in a thread stays in the thread; silence is logged too', async () => {
  const { cat, lines, log, said, say } = setup();
  await handleEvent(cat, log, 'message.im', { channel: 'D1', user: 'U1', text: 'hi', thread_ts: '9.9' }, say);
  await handleEvent(cat, log, 'message.im', { channel: 'D1', user: 'U1', text: 'what?' }, say);
  assert.deepEqual(said, [{ text: 'Meow.', thread_ts: '9.9' }]);
  assert.deepEqual(lines, [
    'momo event=message.im channel=D1 user=U1 reply=greeting',
    'momo event=message.im channel=D1 user=U1 reply=none',
  ]);
});

test('bots (other cats) and edits are ignored', async () => {
  const { cat, lines, log, said, say } = setup();
  await handleEvent(cat, log, 'app_mention', { channel: 'C1', bot_id: 'B2', text: 'hi momo' }, say);
  await handleEvent(cat, log, 'message.im', { channel: 'D1', subtype: 'message_changed', text: 'hi' }, say);
  assert.deepEqual(said, []);
  assert.deepEqual(lines, []);
});

test('a failed send is logged with Slack’s error code', async () => {
  const { cat, lines, log } = setup();
  const failing = async () => {
    throw Object.assign(new Error('An API error occurred: not_in_channel'), { data: { error: 'not_in_channel' } });
  };
  await handleEvent(cat, log, 'app_mention', { channel: 'C1', user: 'U1', text: 'hi' }, failing);
  assert.deepEqual(lines, ['momo event=app_mention channel=C1 user=U1 reply=greeting error=not_in_channel']);
});

test('listen wires mentions and direct messages only', async () => {
  const { cat, lines, log, said, say } = setup();
  const handlers = {};
  const app = {
    event: (name, handler) => { handlers[name] = handler; },
    message: (handler) => { handlers.message = handler; },
  };
  listen(app, cat, log);
  assert.deepEqual(Object.keys(handlers).sort(), ['app_mention', 'message']);
  await handlers.app_mention({ event: { channel: 'C1', user: 'U1', text: '<@UBOT>' }, say });
  await handlers.message({ message: { channel: 'C1', channel_type: 'channel', user: 'U1', text: 'hi' }, say });
  await handlers.message({ message: { channel: 'D1', channel_type: 'im', user: 'U1', text: 'hi' }, say });
  assert.equal(said.length, 2, 'a channel message without a mention is not for the cat');
  assert.equal(lines.length, 2);
});

test('log lines quote values with spaces', () => {
  assert.equal(formatLine('dd', { a: 1, b: 'two words', c: undefined }), 'dd a=1 b="two words"');
});
