// The contract between catctl and this engine, defined once on the engine's side. The first four
// names must stay equal to the constants of catctl's src/cat_runtime.rs (SECRET_MOUNT_PATH,
// SECRET_DIR_ENV, HEALTH_PORT_ENV, DEFAULT_HEALTH_PORT); catctl's tests check that they do.

import { fileURLToPath } from 'node:url';

/** Where the cat's Secret (`secret/<cat>-token`) is mounted read-only. */
export const SECRET_MOUNT_PATH = '/run/secrets/cat';
/** Environment variable naming the directory that holds the token files. */
export const SECRET_DIR_ENV = 'CAT_SECRET_DIR';
/** Environment variable giving the port of the HTTP health endpoint. */
export const HEALTH_PORT_ENV = 'CAT_HEALTH_PORT';
export const DEFAULT_HEALTH_PORT = 8080;

/** The token files inside the secret directory: `secret/<cat>-token/bot-token` and `app-token`. */
export const BOT_TOKEN_FILE = 'bot-token';
export const APP_TOKEN_FILE = 'app-token';

/** Environment variable overriding which cat.toml is read (for running a cat from the repository). */
export const CONFIG_ENV = 'CAT_CONFIG';
/** The cat.toml next to package.json: in an image built by catctl, the cat's own. */
export const DEFAULT_CONFIG_PATH = fileURLToPath(new URL('../cat.toml', import.meta.url));

/** Environment variable overriding Slack's Web API base URL (a proxy, or a fake Slack in tests). */
export const SLACK_API_URL_ENV = 'CAT_SLACK_API_URL';

/** Reads the engine's settings from `env`; throws an Error naming the variable when one is wrong. */
export function settingsFromEnv(env) {
  return {
    secretDir: nonEmpty(env[SECRET_DIR_ENV]) ?? SECRET_MOUNT_PATH,
    healthPort: healthPort(env[HEALTH_PORT_ENV]),
    configPath: nonEmpty(env[CONFIG_ENV]) ?? DEFAULT_CONFIG_PATH,
    slackApiUrl: nonEmpty(env[SLACK_API_URL_ENV]),
  };
}

function nonEmpty(value) {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function healthPort(value) {
  if (nonEmpty(value) === undefined) return DEFAULT_HEALTH_PORT;
  const port = Number(value);
  if (!/^\d+$/.test(value.trim()) || port < 1 || port > 65535) {
    throw new Error(`${HEALTH_PORT_ENV}=${JSON.stringify(value)} is not a port number (1-65535)`);
  }
  return port;
}
