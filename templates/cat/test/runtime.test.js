import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  DEFAULT_CONFIG_PATH,
  DEFAULT_HEALTH_PORT,
  SECRET_MOUNT_PATH,
  settingsFromEnv,
} from '../src/runtime.js';

test('defaults: the secret mount, port 8080 and the cat.toml beside package.json', () => {
  const settings = settingsFromEnv({});
  assert.equal(settings.secretDir, '/run/secrets/cat');
  assert.equal(SECRET_MOUNT_PATH, '/run/secrets/cat');
  assert.equal(settings.healthPort, 8080);
  assert.equal(DEFAULT_HEALTH_PORT, 8080);
  assert.equal(settings.configPath, DEFAULT_CONFIG_PATH);
  assert.match(DEFAULT_CONFIG_PATH, /[\\/]cat\.toml$/);
  assert.equal(settings.slackApiUrl, undefined, "Slack's own API");
});

test('the environment overrides them', () => {
  const settings = settingsFromEnv({
    CAT_SECRET_DIR: 'secret/dd-token',
    CAT_HEALTH_PORT: '9000',
    CAT_CONFIG: 'cats/dd/cat.toml',
    CAT_SLACK_API_URL: 'http://127.0.0.1:1/api/',
  });
  assert.deepEqual(settings, {
    secretDir: 'secret/dd-token',
    healthPort: 9000,
    configPath: 'cats/dd/cat.toml',
    slackApiUrl: 'http://127.0.0.1:1/api/',
  });
});

test('a bad health port names the variable', () => {
  for (const bad of ['abc', '0', '70000', '80.5', '-1']) {
    assert.throws(() => settingsFromEnv({ CAT_HEALTH_PORT: bad }), /CAT_HEALTH_PORT=.* is not a port number/);
  }
});
