// The fake workspace with the real engine (templates/cat, Bolt in Socket Mode) as processes:
// real cats answer "hi" exactly once each, under their own bot identity, and a token the
// workspace refuses ends the engine with one line naming the file.
//   node --test tests/fake-slack/test/*.test.mjs   (after `npm ci` in templates/cat; Node.js 22)

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

import { parseArgs, startFakeSlack } from '../server.mjs';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = join(REPO, 'templates/cat/src/main.js');

async function freePort() {
  const probe = createServer();
  await new Promise((done) => probe.listen(0, '127.0.0.1', done));
  const { port } = probe.address();
  await new Promise((done) => probe.close(done));
  return port;
}

async function eventually(check, what, ms = 15000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((wake) => setTimeout(wake, 50));
  }
}

async function control(slack, method, path, body) {
  const response = await fetch(`${slack.url}/_control/${path}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await response.json();
  assert.ok(json.ok, `${method} ${path}: ${JSON.stringify(json)}`);
  return json;
}

/** Runs the engine as cat `name` (cats/NAME/cat.toml) with the given tokens; resolves on exit. */
async function runCat(t, slack, name, { bot, app, config = join(REPO, 'cats', name, 'cat.toml') }) {
  const dir = mkdtempSync(join(tmpdir(), `fake-slack-${name}-`));
  writeFileSync(join(dir, 'bot-token'), `${bot}\n`);
  writeFileSync(join(dir, 'app-token'), `${app}\n`);
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH,
      CAT_CONFIG: config,
      CAT_SECRET_DIR: dir,
      CAT_HEALTH_PORT: String(await freePort()),
      CAT_SLACK_API_URL: `${slack.url}/api/`,
    },
  });
  const cat = { dir, stdout: '', stderr: '', child };
  child.stdout.on('data', (chunk) => { cat.stdout += chunk; });
  child.stderr.on('data', (chunk) => { cat.stderr += chunk; });
  cat.exited = new Promise((done) => child.on('exit', (code, signal) => done({ code, signal })));
  t.after(() => child.kill('SIGKILL'));
  return cat;
}

const repliesOf = async (slack, channel, since) =>
  (await control(slack, 'GET', `messages?channel=${channel}&since=${since}`)).messages.filter((m) => m.bot);

test('the command line takes an address and bots', () => {
  assert.deepEqual(parseArgs(['--listen', '0.0.0.0:3001', '--bot', 'dd:xoxb-1:xapp-1']), {
    host: '0.0.0.0',
    port: 3001,
    bots: [{ name: 'dd', bot_token: 'xoxb-1', app_token: 'xapp-1' }],
  });
  assert.throws(() => parseArgs(['--listen', 'nowhere']), /HOST:PORT/);
});

test('the Web API knows tokens: its bot, invalid_auth, account_inactive', async (t) => {
  const slack = await startFakeSlack();
  t.after(() => slack.close());
  await control(slack, 'POST', 'bots', { name: 'dd', bot_token: 'xoxb-dd', app_token: 'xapp-dd' });
  await control(slack, 'POST', 'bots', { name: 'old', bot_token: 'xoxb-old', app_token: 'xapp-old', inactive: true });
  const call = async (method, token, body = {}) =>
    (await fetch(`${slack.url}/api/${method}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(body),
    })).json();
  const me = await call('auth.test', 'xoxb-dd');
  assert.equal(me.ok, true);
  assert.equal(me.user, 'dd');
  assert.equal((await call('auth.test', 'xoxb-unknown')).error, 'invalid_auth');
  assert.equal((await call('auth.test', 'xoxb-old')).error, 'account_inactive');
  assert.equal((await call('apps.connections.open', 'xoxb-dd')).error, 'not_allowed_token_type');
  assert.match((await call('apps.connections.open', 'xapp-dd')).url, /^ws:\/\/127\.0\.0\.1:\d+\/link\//);
  const posted = await call('chat.postMessage', 'xoxb-dd', { channel: 'C1', text: 'meow' });
  assert.equal(posted.ok, true);
  assert.deepEqual((await repliesOf(slack, 'C1', 0)).map((m) => [m.bot, m.text]), [['dd', 'meow']]);
});

test('DD and TT answer "hi" exactly once each, as themselves', { timeout: 90000 }, async (t) => {
  const slack = await startFakeSlack();
  t.after(() => slack.close());
  await control(slack, 'POST', 'bots', { name: 'dd', bot_token: 'xoxb-dd-secretvalue', app_token: 'xapp-dd-secretvalue' });
  await control(slack, 'POST', 'bots', { name: 'tt', bot_token: 'xoxb-tt-secretvalue', app_token: 'xapp-tt-secretvalue' });
  const dd = await runCat(t, slack, 'dd', { bot: 'xoxb-dd-secretvalue', app: 'xapp-dd-secretvalue' });
  const tt = await runCat(t, slack, 'tt', { bot: 'xoxb-tt-secretvalue', app: 'xapp-tt-secretvalue' });
  await eventually(
    async () => (await control(slack, 'GET', 'state')).bots.every((bot) => bot.connections === 1),
    'both cats connected',
  );

  const sent = await control(slack, 'POST', 'messages', { channel: 'C1', text: 'hi', mention: ['dd', 'tt'] });
  assert.deepEqual(sent.delivered.sort(), ['dd', 'tt']);
  await eventually(async () => (await repliesOf(slack, 'C1', sent.ts)).length >= 2, 'two replies');
  await new Promise((wake) => setTimeout(wake, 1500)); // room for a wrong second reply
  const replies = await repliesOf(slack, 'C1', sent.ts);
  assert.deepEqual(replies.map((m) => m.bot).sort(), ['dd', 'tt'], 'one reply from each');
  assert.match(replies.find((m) => m.bot === 'dd').text, /Meow/);
  assert.match(replies.find((m) => m.bot === 'tt').text, /ㅠㅠ/, 'TT answers as TT');
  assert.equal((await control(slack, 'GET', 'state')).acks.length, 2, 'each event acknowledged');

  // Mentioning only DD wakes only DD; a DM reaches only its cat.
  const toDd = await control(slack, 'POST', 'messages', { channel: 'C1', text: '디디 안녕', mention: ['dd'] });
  assert.deepEqual(toDd.delivered, ['dd']);
  const { bots } = await control(slack, 'GET', 'state');
  const ttDm = bots.find((b) => b.name === 'tt').dm_channel;
  const dm = await control(slack, 'POST', 'messages', { channel: ttDm, text: 'candy' });
  assert.deepEqual(dm.delivered, ['tt']);
  await eventually(async () => (await repliesOf(slack, 'C1', toDd.ts)).length === 1, 'DD alone');
  await eventually(async () => (await repliesOf(slack, ttDm, 0)).length === 1, 'the DM answered');

  // A dropped link: the cat reconnects by itself and answers again, once.
  await control(slack, 'POST', 'disconnect', { name: 'dd' });
  await eventually(async () => (await control(slack, 'GET', 'state')).bots[0].connections === 1, 'DD back');
  const again = await control(slack, 'POST', 'messages', { channel: 'C2', text: 'hello', mention: ['dd'] });
  assert.deepEqual(again.delivered, ['dd']);
  await eventually(async () => (await repliesOf(slack, 'C2', again.ts)).length === 1, 'DD answers after reconnecting');

  for (const cat of [dd, tt]) {
    cat.child.kill('SIGTERM');
    assert.deepEqual(await cat.exited, { code: 0, signal: null });
    assert.ok(!`${cat.stdout}${cat.stderr}`.includes('secretvalue'), 'no token in the output');
  }
});

for (const [what, registration, tokens, file, error] of [
  ['an unknown bot token', null, { bot: 'xoxb-nobody-secretvalue', app: 'xapp-dd' }, 'bot-token', 'invalid_auth'],
  ['a deactivated app', { inactive: true }, { bot: 'xoxb-dd', app: 'xapp-dd' }, 'bot-token', 'account_inactive'],
  ['an unknown app-level token', {}, { bot: 'xoxb-dd', app: 'xapp-nobody-secretvalue' }, 'app-token', 'invalid_auth'],
]) {
  test(`${what} ends the cat with one line naming ${file} and ${error}`, { timeout: 30000 }, async (t) => {
    const slack = await startFakeSlack();
    t.after(() => slack.close());
    if (registration) {
      await control(slack, 'POST', 'bots', { name: 'dd', bot_token: 'xoxb-dd', app_token: 'xapp-dd', ...registration });
    }
    const cat = await runCat(t, slack, 'dd', tokens);
    assert.deepEqual(await cat.exited, { code: 1, signal: null });
    const lines = cat.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, `one line: ${cat.stderr}`);
    assert.ok(lines[0].startsWith(`cat: Slack refused the `), lines[0]);
    assert.ok(lines[0].includes(`${join(cat.dir, file)}: ${error}`), lines[0]);
    assert.match(lines[0], new RegExp(`secret/dd-token/${file}`));
    assert.ok(!`${cat.stdout}${cat.stderr}`.includes('secretvalue'), 'no token');
    assert.ok(!/\n\s+at /.test(cat.stderr), 'no stack trace');
  });
}
