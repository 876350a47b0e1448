// The health endpoint for the probes: 200 only while the Socket Mode connection to Slack is up,
// 503 otherwise (starting, reconnecting, gone). Any GET path answers; /healthz is the one to use.

import { createServer } from 'node:http';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Follows a Socket Mode client's connection events. */
export class ConnectionState {
  constructor() {
    this.connected = false;
  }

  /** Listens to `client` (an EventEmitter such as Bolt's SocketModeClient); `onChange(state)`. */
  watch(client, onChange = () => {}) {
    const set = (connected, state) => {
      const changed = this.connected !== connected;
      this.connected = connected;
      if (changed) onChange(state);
    };
    client.on('connected', () => set(true, 'connected'));
    for (const state of ['connecting', 'reconnecting', 'disconnecting', 'disconnected']) {
      client.on(state, () => set(false, state));
    }
    return this;
  }
}

/** Starts the health server on `port` (0 picks a free one); resolves with the listening server. */
export function startHealthServer({ port, host, isUp }) {
  const server = createServer((request, response) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const up = isUp();
    const body = JSON.stringify({ slack: up ? 'connected' : 'not connected' });
    response.writeHead(up ? 200 : 503, { 'content-type': 'application/json' });
    response.end(request.method === 'HEAD' ? undefined : `${body}\n`);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/**
 * `node src/health.js --check`: the image's HEALTHCHECK. Exits 0 when this container's cat
 * answers 200 on its health port ($CAT_HEALTH_PORT), 1 otherwise, within 4 seconds.
 */
async function check(env) {
  const port = env.CAT_HEALTH_PORT?.trim() || '8080';
  try {
    const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(4000) });
    process.stdout.write(`health: ${response.status} ${await response.text()}`);
    return response.status === 200 ? 0 : 1;
  } catch (err) {
    process.stdout.write(`health: no answer on port ${port} (${err.cause?.code ?? err.name})\n`);
    return 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url) && process.argv[2] === '--check') {
  process.exitCode = await check(process.env);
}
