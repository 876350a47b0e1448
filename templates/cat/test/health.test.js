import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';

import { ConnectionState, startHealthServer } from '../src/health.js';

test('the connection is up only between connected and the next drop', () => {
  const client = new EventEmitter();
  const changes = [];
  const state = new ConnectionState().watch(client, (change) => changes.push(change));
  assert.equal(state.connected, false, 'down until Slack says hello');
  client.emit('connecting');
  assert.equal(state.connected, false);
  client.emit('connected');
  assert.equal(state.connected, true);
  client.emit('reconnecting');
  assert.equal(state.connected, false);
  client.emit('connected');
  client.emit('disconnected');
  assert.equal(state.connected, false);
  assert.deepEqual(changes, ['connected', 'reconnecting', 'connected', 'disconnected']);
});

test('the endpoint says 200 only while connected', async (t) => {
  let up = false;
  const server = await startHealthServer({ port: 0, host: '127.0.0.1', isUp: () => up });
  t.after(() => server.close());
  const url = `http://127.0.0.1:${server.address().port}/healthz`;

  let response = await fetch(url);
  assert.equal(response.status, 503);
  assert.deepEqual(await response.json(), { slack: 'not connected' });

  up = true;
  response = await fetch(url);
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { slack: 'connected' });
  assert.equal((await fetch(url, { method: 'HEAD' })).status, 200);

  up = false;
  assert.equal((await fetch(url)).status, 503);
  assert.equal((await fetch(url, { method: 'POST' })).status, 405);
});

test('a port in use is an error, not a silent cat', async (t) => {
  const first = await startHealthServer({ port: 0, host: '127.0.0.1', isUp: () => true });
  t.after(() => first.close());
  await assert.rejects(
    startHealthServer({ port: first.address().port, host: '127.0.0.1', isUp: () => true }),
    /EADDRINUSE/,
  );
});
