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
import { makeLogger } from './log.js';
import { settingsFromEnv } from './runtime.js';
import { listen } from './slack.js';
import { readTokens } from './tokens.js';

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
  const clientOptions = settings.slackApiUrl ? { slackApiUrl: settings.slackApiUrl } : {};
  const receiver = new SocketModeReceiver({
    appToken: tokens.appToken,
    logLevel: LogLevel.WARN,
    installerOptions: { clientOptions },
  });
  connection.watch(receiver.client, (state) => log({ slack: state }));
  const app = new App({ token: tokens.botToken, receiver, clientOptions, logLevel: LogLevel.WARN });
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
    await app.start();
  } catch (err) {
    const reason = err.data?.error ?? err.message;
    throw new Error(`Slack refused to connect with the tokens in ${settings.secretDir}: ${reason}`);
  }
}

main().catch((err) => {
  const lines = err.message.split('\n').map((line) => `cat: ${line}\n`);
  process.stderr.write(lines.join(''));
  process.exit(1);
});
