// A Slack-compatible fake workspace for tests: the Web API methods a Socket Mode bot calls
// (auth.test, apps.connections.open, chat.postMessage, …) and the Socket Mode WebSocket, plus a
// small control API for tests. Plain Node.js (22 or newer), no dependencies: one file to run on
// this machine, in a container or in a pod.
//
//   node tests/fake-slack/server.mjs [--listen HOST:PORT] [--bot NAME:BOT_TOKEN:APP_TOKEN]…
//
// Prints `FAKE_SLACK_URL=http://HOST:PORT` once listening. Point a cat at it with
// CAT_SLACK_API_URL=$FAKE_SLACK_URL/api/ (the WebSocket URL comes from apps.connections.open and
// uses the Host the cat asked for, so it works from a container on the host network and from a
// pod). Tokens not registered as a bot get `invalid_auth`; a bot marked inactive,
// `account_inactive`.
//
// Control API (JSON):
//   POST /_control/bots      {name, bot_token, app_token, inactive?}  register a bot (→ its ids)
//   POST /_control/messages  {channel, text, user?, mention?: [names]} a user posts; each
//        mentioned bot with a live connection gets an app_mention event, a DM channel (D…) of
//        a bot gets message.im → {ts, delivered: [names]}
//   GET  /_control/messages?channel=C&since=TS   messages of a channel (users' and bots')
//   GET  /_control/state     bots with their live connections, acked envelopes, API calls
//   POST /_control/disconnect {name}  drop a bot's Socket Mode connections (it reconnects)

import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const MAX_BODY = 1 << 20;
const PING_EVERY_MS = 10_000;

/** Starts a fake workspace; resolves with { url, port, close(), workspace }. */
export async function startFakeSlack({ host = '127.0.0.1', port = 0, bots = [], log = () => {} } = {}) {
  const workspace = new Workspace(log);
  for (const bot of bots) workspace.addBot(bot);
  const server = createServer((request, response) => {
    handleHttp(workspace, request, response).catch((err) => {
      log(`error ${request.method} ${request.url}: ${err.message}`);
      if (!response.headersSent) sendJson(response, 500, { ok: false, error: 'internal_error' });
    });
  });
  server.on('upgrade', (request, socket) => workspace.upgrade(request, socket));
  await new Promise((done, fail) => {
    server.once('error', fail);
    server.listen(port, host, done);
  });
  const address = server.address();
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}`,
    port: address.port,
    workspace,
    close: () =>
      new Promise((done) => {
        workspace.closeAll();
        server.close(() => done());
        server.closeAllConnections?.();
      }),
  };
}

class Workspace {
  constructor(log) {
    this.log = log;
    this.bots = new Map(); // name → bot
    this.messages = []; // { channel, ts, user?, bot?, text, thread_ts? }
    this.calls = []; // { method, bot?, error? }
    this.acks = [];
    this.clock = 1_700_000_000;
    this.sequence = 0;
    this.links = new Set();
  }

  addBot({ name, bot_token: botToken, app_token: appToken, inactive = false }) {
    if (!name || !botToken || !appToken) throw new Error('a bot needs name, bot_token and app_token');
    const existing = this.bots.get(name);
    const index = existing?.index ?? this.bots.size + 1;
    const bot = {
      name,
      botToken,
      appToken,
      inactive: Boolean(inactive),
      index,
      userId: `U0BOT${String(index).padStart(4, '0')}`,
      botId: `B0BOT${String(index).padStart(4, '0')}`,
      appId: `A0APP${String(index).padStart(4, '0')}`,
      dm: `D0BOT${String(index).padStart(4, '0')}`,
      links: existing?.links ?? new Set(),
    };
    this.bots.set(name, bot);
    return bot;
  }

  nextTs() {
    this.sequence += 1;
    return `${this.clock + this.sequence}.${String(this.sequence).padStart(6, '0')}`;
  }

  /** The bot a token belongs to and which kind it is, or an error code. */
  identify(token) {
    for (const bot of this.bots.values()) {
      if (token === bot.botToken) return { bot, kind: 'bot' };
      if (token === bot.appToken) return { bot, kind: 'app' };
    }
    return { error: token ? 'invalid_auth' : 'not_authed' };
  }

  /** Web API method `method` with `params`, called with `token`. */
  api(method, params, token, host) {
    const who = this.identify(token);
    const record = { method, bot: who.bot?.name, kind: who.kind };
    this.calls.push(record);
    if (this.calls.length > 10_000) this.calls.shift();
    const fail = (error) => {
      record.error = error;
      return { ok: false, error };
    };
    if (who.error) return fail(who.error);
    const { bot, kind } = who;
    if (bot.inactive) return fail('account_inactive');
    switch (method) {
      case 'auth.test':
        if (kind !== 'bot') return fail('not_allowed_token_type');
        return {
          ok: true,
          url: 'https://fake-slack.example/',
          team: 'Cream Heroes',
          user: bot.name,
          team_id: 'T0CREAM',
          user_id: bot.userId,
          bot_id: bot.botId,
          is_enterprise_install: false,
        };
      case 'apps.connections.open': {
        if (kind !== 'app') return fail('not_allowed_token_type');
        const ticket = randomBytes(8).toString('hex');
        bot.ticket = ticket;
        return { ok: true, url: `ws://${host}/link/?ticket=${ticket}&bot=${encodeURIComponent(bot.name)}` };
      }
      case 'chat.postMessage': {
        if (kind !== 'bot') return fail('not_allowed_token_type');
        const channel = params.channel;
        if (!channel) return fail('channel_not_found');
        const text = params.text ?? '';
        if (text === '' && !params.blocks && !params.attachments) return fail('no_text');
        const message = { channel, ts: this.nextTs(), bot: bot.name, user: bot.userId, bot_id: bot.botId, text };
        if (params.thread_ts) message.thread_ts = String(params.thread_ts);
        this.messages.push(message);
        this.log(`${bot.name} posted in ${channel}`);
        return { ok: true, channel, ts: message.ts, message: { type: 'message', ...message } };
      }
      default:
        return fail('unknown_method');
    }
  }

  /** A person posts `text` in `channel`; mentioned bots (and a bot's DM) get the event. */
  post({ channel, text, user = 'U0HUMAN01', mention = [], thread_ts: threadTs }) {
    if (!channel || typeof text !== 'string') throw new Error('a message needs channel and text');
    const mentioned = mention.map((name) => {
      const bot = this.bots.get(name);
      if (!bot) throw new Error(`no bot named ${name}`);
      return bot;
    });
    const full = [...mentioned.map((bot) => `<@${bot.userId}>`), text].join(' ');
    const ts = this.nextTs();
    const message = { channel, ts, user, text: full };
    if (threadTs) message.thread_ts = threadTs;
    this.messages.push(message);
    const delivered = [];
    for (const bot of this.bots.values()) {
      const isDm = channel === bot.dm;
      const isMentioned = full.includes(`<@${bot.userId}>`);
      if (!isDm && !isMentioned) continue;
      const event = isDm
        ? { type: 'message', channel_type: 'im', user, channel, ts, text: full, event_ts: ts }
        : { type: 'app_mention', user, channel, ts, text: full, event_ts: ts };
      if (threadTs) event.thread_ts = threadTs;
      if (this.deliver(bot, event)) delivered.push(bot.name);
    }
    return { ok: true, ts, text: full, delivered };
  }

  /** Sends an Events API envelope to one live connection of `bot`; false when it has none. */
  deliver(bot, event) {
    const link = [...bot.links].find((candidate) => candidate.open);
    if (!link) return false;
    const id = `Ev${String(this.sequence).padStart(8, '0')}`;
    link.sendText(
      JSON.stringify({
        envelope_id: `env-${randomBytes(6).toString('hex')}`,
        type: 'events_api',
        accepts_response_payload: false,
        retry_attempt: 0,
        retry_reason: '',
        payload: {
          token: 'verification-token',
          team_id: 'T0CREAM',
          api_app_id: bot.appId,
          event,
          type: 'event_callback',
          event_id: id,
          event_time: Math.floor(Number(event.ts)),
          authorizations: [{ team_id: 'T0CREAM', user_id: bot.userId, is_bot: true, is_enterprise_install: false }],
          is_ext_shared_channel: false,
          event_context: `ctx-${id}`,
        },
      }),
    );
    return true;
  }

  upgrade(request, socket) {
    const url = new URL(request.url, 'http://fake');
    const bot = this.bots.get(url.searchParams.get('bot') ?? '');
    const key = request.headers['sec-websocket-key'];
    if (!url.pathname.startsWith('/link') || !bot || url.searchParams.get('ticket') !== bot.ticket || !key) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      return;
    }
    bot.ticket = undefined; // a ticket opens one connection
    const accept = createHash('sha1').update(key + WS_GUID).digest('base64');
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    const link = new Link(socket, {
      onText: (text) => this.onLinkText(bot, text),
      onClose: () => {
        bot.links.delete(link);
        this.links.delete(link);
        this.log(`${bot.name} disconnected`);
      },
    });
    bot.links.add(link);
    this.links.add(link);
    this.log(`${bot.name} connected`);
    link.sendText(
      JSON.stringify({
        type: 'hello',
        num_connections: bot.links.size,
        debug_info: { host: 'fake-slack', approximate_connection_time: 3600 },
        connection_info: { app_id: bot.appId },
      }),
    );
  }

  onLinkText(bot, text) {
    try {
      const message = JSON.parse(text);
      if (message.envelope_id) this.acks.push({ bot: bot.name, envelope_id: message.envelope_id });
    } catch {
      this.log(`${bot.name} sent something that is not JSON`);
    }
  }

  disconnect(name) {
    const bot = this.bots.get(name);
    if (!bot) throw new Error(`no bot named ${name}`);
    const count = bot.links.size;
    for (const link of [...bot.links]) link.destroy();
    return count;
  }

  closeAll() {
    for (const link of [...this.links]) link.destroy();
  }

  state() {
    return {
      bots: [...this.bots.values()].map((bot) => ({
        name: bot.name,
        user_id: bot.userId,
        bot_id: bot.botId,
        app_id: bot.appId,
        dm_channel: bot.dm,
        inactive: bot.inactive,
        connections: [...bot.links].filter((link) => link.open).length,
      })),
      acks: this.acks,
      calls: this.calls,
    };
  }
}

/** One server-side WebSocket (RFC 6455): text frames, ping/pong, close; no extensions. */
class Link {
  constructor(socket, { onText, onClose }) {
    this.socket = socket;
    this.open = true;
    this.buffer = Buffer.alloc(0);
    this.fragments = [];
    this.onText = onText;
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.receive(chunk));
    const closed = () => {
      if (!this.open) return;
      this.open = false;
      clearInterval(this.pinger);
      onClose();
    };
    socket.on('close', closed);
    socket.on('error', closed);
    this.closed = closed;
    this.pinger = setInterval(() => this.frame(0x9, Buffer.from('ping')), PING_EVERY_MS);
    this.pinger.unref();
  }

  receive(chunk) {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (this.buffer.length < 2) return;
      const fin = (this.buffer[0] & 0x80) !== 0;
      const opcode = this.buffer[0] & 0x0f;
      const masked = (this.buffer[1] & 0x80) !== 0;
      let length = this.buffer[1] & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.buffer.length < 4) return;
        length = this.buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (this.buffer.length < 10) return;
        length = Number(this.buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (length > MAX_BODY) {
        this.destroy();
        return;
      }
      const maskAt = offset;
      if (masked) offset += 4;
      if (this.buffer.length < offset + length) return;
      const payload = Buffer.from(this.buffer.subarray(offset, offset + length));
      if (masked) {
        for (let i = 0; i < payload.length; i += 1) payload[i] ^= this.buffer[maskAt + (i % 4)];
      }
      this.buffer = this.buffer.subarray(offset + length);
      this.handle(fin, opcode, payload);
    }
  }

  handle(fin, opcode, payload) {
    if (opcode === 0x8) {
      this.frame(0x8, payload.subarray(0, 2));
      this.socket.end();
      this.closed();
    } else if (opcode === 0x9) {
      this.frame(0xa, payload);
    } else if (opcode === 0xa) {
      // a pong to our ping
    } else if (opcode === 0x1 || opcode === 0x0) {
      this.fragments.push(payload);
      if (fin) {
        const text = Buffer.concat(this.fragments).toString('utf8');
        this.fragments = [];
        this.onText(text);
      }
    }
  }

  frame(opcode, payload) {
    if (!this.open) return;
    const head =
      payload.length < 126
        ? Buffer.from([0x80 | opcode, payload.length])
        : payload.length < 65536
          ? Buffer.from([0x80 | opcode, 126, payload.length >> 8, payload.length & 0xff])
          : (() => {
              const h = Buffer.alloc(10);
              h[0] = 0x80 | opcode;
              h[1] = 127;
              h.writeBigUInt64BE(BigInt(payload.length), 2);
              return h;
            })();
    this.socket.write(Buffer.concat([head, payload]));
  }

  sendText(text) {
    this.frame(0x1, Buffer.from(text, 'utf8'));
  }

  destroy() {
    this.socket.destroy();
    this.closed();
  }
}

async function readBody(request) {
  const chunks = [];
  let size = 0;
  for await (const chunk of request) {
    size += chunk.length;
    if (size > MAX_BODY) throw Object.assign(new Error('body too large'), { status: 413 });
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const type = request.headers['content-type'] ?? '';
  if (text === '') return {};
  if (type.includes('json') || text.startsWith('{')) return JSON.parse(text);
  return Object.fromEntries(new URLSearchParams(text));
}

function sendJson(response, status, value) {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  response.end(`${JSON.stringify(value)}\n`);
}

async function handleHttp(workspace, request, response) {
  const url = new URL(request.url, 'http://fake');
  const path = url.pathname;
  if (path.startsWith('/api/')) {
    const method = path.slice('/api/'.length).replace(/\/$/, '');
    const params = { ...Object.fromEntries(url.searchParams), ...(await readBody(request)) };
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const token = bearer ?? params.token;
    sendJson(response, 200, workspace.api(method, params, token, request.headers.host));
    return;
  }
  if (path === '/healthz') {
    sendJson(response, 200, { ok: true });
    return;
  }
  if (!path.startsWith('/_control/')) {
    sendJson(response, 404, { ok: false, error: 'not_found' });
    return;
  }
  const what = `${request.method} ${path.replace(/\/$/, '')}`;
  try {
    if (what === 'POST /_control/bots') {
      const bot = workspace.addBot(await readBody(request));
      sendJson(response, 200, { ok: true, name: bot.name, user_id: bot.userId, bot_id: bot.botId, dm_channel: bot.dm });
    } else if (what === 'POST /_control/messages') {
      sendJson(response, 200, workspace.post(await readBody(request)));
    } else if (what === 'GET /_control/messages') {
      const channel = url.searchParams.get('channel');
      const since = Number(url.searchParams.get('since') ?? 0);
      const messages = workspace.messages.filter(
        (message) => (!channel || message.channel === channel) && Number(message.ts) > since,
      );
      sendJson(response, 200, { ok: true, messages });
    } else if (what === 'GET /_control/state') {
      sendJson(response, 200, { ok: true, ...workspace.state() });
    } else if (what === 'POST /_control/disconnect') {
      const { name } = await readBody(request);
      sendJson(response, 200, { ok: true, dropped: workspace.disconnect(name) });
    } else {
      sendJson(response, 404, { ok: false, error: `no control endpoint ${what}` });
    }
  } catch (err) {
    sendJson(response, err.status ?? 400, { ok: false, error: err.message });
  }
}

/** Command line: --listen HOST:PORT, --bot NAME:BOT_TOKEN:APP_TOKEN (repeatable). */
export function parseArgs(argv) {
  const options = { host: '127.0.0.1', port: 0, bots: [] };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`);
      i += 1;
      return argv[i];
    };
    if (arg === '--listen') {
      const match = /^(.*):(\d+)$/.exec(value());
      if (!match) throw new Error('--listen takes HOST:PORT, e.g. 127.0.0.1:3001 or 0.0.0.0:0');
      options.host = match[1].replace(/^\[|\]$/g, '');
      options.port = Number(match[2]);
    } else if (arg === '--bot') {
      const [name, botToken, appToken] = value().split(':');
      options.bots.push({ name, bot_token: botToken, app_token: appToken });
    } else {
      throw new Error(`unknown argument ${arg}; usage: server.mjs [--listen HOST:PORT] [--bot NAME:BOT_TOKEN:APP_TOKEN]…`);
    }
  }
  return options;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`fake-slack: ${err.message}\n`);
    process.exit(2);
  }
  const slack = await startFakeSlack({
    ...options,
    log: (line) => process.stderr.write(`fake-slack: ${line}\n`),
  });
  process.stdout.write(`FAKE_SLACK_URL=${slack.url}\n`);
  const stop = () => slack.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
