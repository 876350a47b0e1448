// The health endpoint for the probes: 200 only while the Socket Mode connection to Slack is up,
// 503 otherwise (starting, reconnecting, gone). Any GET path answers; /healthz is the one to use.

import { createServer } from 'node:http';

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
