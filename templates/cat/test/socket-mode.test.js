// The whole cat, Bolt included, against a fake Slack on 127.0.0.1: Web API calls over HTTP and
// the Socket Mode link over a WebSocket. Shows the health endpoint following the connection and
// one event going in and its reply coming out.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

import { WebSocketServer } from 'ws';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const BOT = 'xoxb-1-2-fakebotsecret';
const APP = 'xapp-1-A1-3-fakeappsecret';

/** A fake Slack: records API calls, hands out its own WebSocket URL, lets the test drive it. */
async function fakeSlack() {
  const calls = [];
  const sockets = [];
  const received = [];
  const waiters = [];
  const notify = () => waiters.splice(0).forEach((wake) => wake());
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => { body += chunk; });
    request.on('end', () => {
      const method = request.url.replace(/^\/api\//, '').split('?')[0];
      const params = body.startsWith('{') ? JSON.parse(body) : Object.fromEntries(new URLSearchParams(body));
      calls.push({ method, params, authorization: request.headers.authorization });
      notify();
      const { port } = server.address();
      const answers = {
        'auth.test': { ok: true, team_id: 'T1', user_id: 'UBOT', bot_id: 'B1', user: 'momo' },
        'apps.connections.open': { ok: true, url: `ws://127.0.0.1:${port}/link` },
        'chat.postMessage': { ok: true, channel: params.channel, ts: '2.0' },
      };
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answers[method] ?? { ok: false, error: 'unknown_method' }));
    });
  });
  const wss = new WebSocketServer({ server, path: '/link' });
  wss.on('connection', (socket) => {
    sockets.push(socket);
    socket.on('message', (data) => { received.push(JSON.parse(String(data))); notify(); });
    notify();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    calls,
    sockets,
    received,
    url: `http://127.0.0.1:${server.address().port}/api/`,
    /** Resolves once `check()` is true, re-checked at every call, message and connection. */
    async until(check, what, ms = 10000) {
      const deadline = Date.now() + ms;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`fake Slack: timed out waiting for ${what}`);
        await new Promise((wake) => { waiters.push(wake); setTimeout(wake, 100); });
      }
    },
    close() {
      for (const socket of wss.clients) socket.terminate();
      wss.close();
      server.close();
    },
  };
}

async function freePort() {
  const probe = createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function healthStatus(port) {
  try {
    return (await fetch(`http://127.0.0.1:${port}/healthz`)).status;
  } catch {
    return 'down';
  }
}

async function eventually(check, what, ms = 10000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((wake) => setTimeout(wake, 50));
  }
}

test('a cat on Socket Mode: healthy only while connected, answers a mention', { timeout: 60000 }, async (t) => {
  const slack = await fakeSlack();
  t.after(() => slack.close());
  const dir = mkdtempSync(join(tmpdir(), 'cat-e2e-'));
  writeFileSync(join(dir, 'bot-token'), `${BOT}\n`);
  writeFileSync(join(dir, 'app-token'), `${APP}\n`);
  writeFileSync(join(dir, 'cat.toml'), 'version = "v1"\n[character]\nname = "momo"\ngreeting = "Meow."\ngreeting_triggers = ["hi", "momo"]\n');
  const healthPort = await freePort();
  const cat = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH,
      CAT_CONFIG: join(dir, 'cat.toml'),
      CAT_SECRET_DIR: dir,
      CAT_HEALTH_PORT: String(healthPort),
      CAT_SLACK_API_URL: slack.url,
    },
  });
  let output = '';
  cat.stdout.on('data', (chunk) => { output += chunk; });
  cat.stderr.on('data', (chunk) => { output += chunk; });
  const exited = new Promise((resolve) => cat.on('exit', (code, signal) => resolve({ code, signal })));
  t.after(() => cat.kill('SIGKILL'));

  await slack.until(() => slack.sockets.length === 1, 'the Socket Mode connection');
  const open = slack.calls.find((call) => call.method === 'apps.connections.open');
  assert.equal(open.authorization, `Bearer ${APP}`, 'the app-level token opens the socket');
  assert.equal(await healthStatus(healthPort), 503, 'not healthy before Slack says hello');

  slack.sockets[0].send(JSON.stringify({ type: 'hello', num_connections: 1, connection_info: { app_id: 'A1' } }));
  await eventually(async () => (await healthStatus(healthPort)) === 200, 'health 200 after hello');

  slack.sockets[0].send(JSON.stringify({
    envelope_id: 'env-1',
    type: 'events_api',
    accepts_response_payload: false,
    payload: {
      type: 'event_callback',
      team_id: 'T1',
      api_app_id: 'A1',
      event_id: 'Ev1',
      event_time: 1,
      event: { type: 'app_mention', user: 'U1', channel: 'C1', ts: '1.0', text: '<@UBOT> hi momo' },
    },
  }));
  await slack.until(() => slack.calls.some((call) => call.method === 'chat.postMessage'), 'the reply');
  const post = slack.calls.find((call) => call.method === 'chat.postMessage');
  assert.equal(post.params.channel, 'C1');
  assert.equal(post.params.text, 'Meow.');
  assert.equal(post.authorization, `Bearer ${BOT}`, 'the bot token posts');
  assert.ok(slack.received.some((message) => message.envelope_id === 'env-1'), 'the event was acknowledged');
  await eventually(() => output.includes('momo event=app_mention channel=C1 user=U1 reply=greeting'), 'the log line');

  slack.sockets[0].terminate();
  await eventually(async () => (await healthStatus(healthPort)) === 503, 'health 503 once the link drops');
  await slack.until(() => slack.sockets.length === 2, 'the cat reconnecting by itself');
  slack.sockets[1].send(JSON.stringify({ type: 'hello', num_connections: 1, connection_info: { app_id: 'A1' } }));
  await eventually(async () => (await healthStatus(healthPort)) === 200, 'healthy again after the new hello');

  cat.kill('SIGTERM');
  assert.deepEqual(await exited, { code: 0, signal: null }, 'SIGTERM stops the cat cleanly');
  assert.ok(!output.includes('fakebotsecret') && !output.includes('fakeappsecret'), 'no token in the output');
  assert.ok(!output.includes('hi momo'), 'no message text in the output');
});
