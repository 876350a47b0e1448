// The cat: reads its settings, character and tokens, serves its health endpoint and connects to
// Slack in Socket Mode. Anything wrong at start ends the process at once with one line naming
// the file or variable — the line `catctl logs` shows for a crash-looping cat.
//
// Run a cat from the repository:
//   CAT_CONFIG=cats/dd/cat.toml CAT_SECRET_DIR=secret/dd-token node templates/cat/src/main.js

import bolt from '@slack/bolt';

import { Cat } from './brain.js';
import { loadCharacterFile } from './character.js';
import { ConnectionState, startHealthServer } from './health.js';
import { boltLogger, makeLogger } from './log.js';
import { settingsFromEnv } from './runtime.js';
import { listen } from './slack.js';
import { startSchedule } from './schedule.js';
import { readTokens, refused } from './tokens.js';

const { App, LogLevel, SocketModeReceiver } = bolt;
const STOP_TIMEOUT_MS = 5000;

async function main() {
  const settings = settingsFromEnv(process.env);
  const character = loadCharacterFile(settings.configPath);
  const tokens = readTokens(settings.secretDir);
  const log = makeLogger(character.name);
  const cat = new Cat(character);

  const connection = new ConnectionState();
  const health = await startHealthServer({
    port: settings.healthPort,
    isUp: () => connection.connected,
  }).catch((err) => {
    throw new Error(`cannot serve the health endpoint on port ${settings.healthPort}: ${err.message}`);
  });
  // Bounded: a Slack (or network) that does not answer ends the start with a clear line after a
  // few tries, instead of Bolt's default of retrying for half an hour.
  const clientOptions = {
    ...(settings.slackApiUrl ? { slackApiUrl: settings.slackApiUrl } : {}),
    timeout: 10_000,
    retryConfig: { retries: 3, factor: 2, minTimeout: 500 },
  };
  // Failures to connect are reported by this file, once, with the token file's name.
  const logger = boltLogger(log, { suppress: [/Failed to retrieve a new WSS URL/] });
  const receiver = new SocketModeReceiver({
    appToken: tokens.appToken,
    logger,
    logLevel: LogLevel.WARN,
    installerOptions: { clientOptions },
  });
  connection.watch(receiver.client, (state) => log({ slack: state }));
  // deferInitialization: Bolt's auth.test of the bot token is awaited in init() below, so that a
  // refused token is caught here, not an unhandled rejection with a stack trace.
  const app = new App({
    token: tokens.botToken,
    receiver,
    clientOptions,
    logger,
    logLevel: LogLevel.WARN,
    deferInitialization: true,
  });
  listen(app, cat, log);

  let stopping = false;
  const stop = async (signal) => {
    if (stopping) return;
    stopping = true;
    log({ stopping: signal });
    setTimeout(() => process.exit(0), STOP_TIMEOUT_MS).unref();
    await app.stop().catch(() => {});
    health.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));

  log({
    starting: 'socket-mode',
    config: settings.configPath,
    secrets: settings.secretDir,
    health: `:${health.address().port}`,
  });
  try {
    await app.init();
  } catch (err) {
    throw new Error(refused(tokens, 'botToken', character.name, err));
  }
  try {
    await app.start();
  } catch (err) {
    throw new Error(refused(tokens, 'appToken', character.name, err));
  }
  startSchedule({ cat: character, post: (message) => app.client.chat.postMessage(message), log });
}

main().catch((err) => {
  // One line per problem, never a stack trace: this is what `catctl logs` and `catctl deploy` show.
  const message = err instanceof Error ? err.message : String(err);
  const lines = message.split('\n').map((line) => `cat: ${line}\n`);
  process.stderr.write(lines.join(''));
  process.exit(1);
});
