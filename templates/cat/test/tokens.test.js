import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

import { APP_TOKEN_FILE, BOT_TOKEN_FILE } from '../src/runtime.js';
import { TokenError, readTokens } from '../src/tokens.js';

const BOT = 'xoxb-1111-2222-secretbotvalue';
const APP = 'xapp-1-A111-3333-secretappvalue';
const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));

function secretDir(files) {
  const dir = mkdtempSync(join(tmpdir(), 'cat-secret-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function refused(dir, ...patterns) {
  assert.throws(() => readTokens(dir), (err) => {
    assert.ok(err instanceof TokenError, err.stack);
    for (const pattern of patterns) assert.match(err.message, pattern);
    assert.ok(!err.message.includes('secret'.concat('botvalue')) && !err.message.includes('appvalue'), 'no token in messages');
    return true;
  });
}

test('the file names are the contract: bot-token and app-token', () => {
  assert.equal(BOT_TOKEN_FILE, 'bot-token');
  assert.equal(APP_TOKEN_FILE, 'app-token');
});

test('reads both tokens, trimming the newline echo leaves', () => {
  const dir = secretDir({ 'bot-token': `${BOT}\n`, 'app-token': `  ${APP}\r\n` });
  assert.deepEqual(readTokens(dir), {
    botToken: BOT,
    appToken: APP,
    files: { botToken: join(dir, 'bot-token'), appToken: join(dir, 'app-token') },
  });
});

test('a missing file is named, with the fix', () => {
  const dir = secretDir({ 'app-token': APP });
  refused(dir, new RegExp(`missing bot token file ${join(dir, 'bot-token')}`), /secret\/<cat>-token\/bot-token/, /catctl secret sync/);
});

test('both missing files are named at once', () => {
  const dir = secretDir({});
  refused(dir, /missing bot token file .*bot-token/, /missing app-level token file .*app-token/);
});

test('an empty file is named', () => {
  const dir = secretDir({ 'bot-token': BOT, 'app-token': ' \n' });
  refused(dir, new RegExp(`empty app-level token file ${join(dir, 'app-token')}`));
});

test('swapped files are recognised', () => {
  const dir = secretDir({ 'bot-token': APP, 'app-token': BOT });
  refused(dir, /bot-token does not hold a bot token: it holds a app-level token — are bot-token and app-token swapped\?/);
});

test('a token of the wrong kind, two tokens in one file, a file instead of a directory', () => {
  refused(secretDir({ 'bot-token': 'hello', 'app-token': APP }), /bot-token does not hold a bot token: a Slack bot token starts with "xoxb-"/);
  refused(secretDir({ 'bot-token': `${BOT} ${BOT}`, 'app-token': APP }), /bot-token holds more than one word/);
  const file = join(secretDir({ 'dd-token': BOT }), 'dd-token');
  refused(file, /dd-token is a file, not a directory of token files/);
  const dir = secretDir({ 'app-token': APP });
  mkdirSync(join(dir, 'bot-token'));
  refused(dir, /bot-token is a directory, not a token file/);
});

function runCat(env) {
  const config = join(mkdtempSync(join(tmpdir(), 'cat-config-')), 'cat.toml');
  writeFileSync(config, 'version = "v1"\n[character]\nname = "dd"\ngreeting = "Meow."\ngreeting_triggers = ["hi"]\n');
  return spawnSync(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH, CAT_CONFIG: config, ...env },
    encoding: 'utf8',
    timeout: 20000,
  });
}

test('the cat exits at once, non-zero, naming the missing file', () => {
  const dir = secretDir({ 'app-token': APP });
  const result = runCat({ CAT_SECRET_DIR: dir });
  assert.equal(result.status, 1, result.stderr);
  assert.match(result.stderr, new RegExp(`^cat: missing bot token file ${join(dir, 'bot-token')}`));
  assert.ok(!result.stderr.includes(APP), 'no token in the output');
  assert.equal(result.stdout, '');
});

test('the cat exits naming an empty file', () => {
  const dir = secretDir({ 'bot-token': '', 'app-token': APP });
  const result = runCat({ CAT_SECRET_DIR: dir });
  assert.equal(result.status, 1);
  assert.match(result.stderr, /cat: empty bot token file .*bot-token/);
});

test('the cat exits naming a bad cat.toml or health port', () => {
  const dir = secretDir({ 'bot-token': BOT, 'app-token': APP });
  const badConfig = runCat({ CAT_SECRET_DIR: dir, CAT_CONFIG: join(dir, 'none.toml') });
  assert.equal(badConfig.status, 1);
  assert.match(badConfig.stderr, /cat: cannot read the cat's configuration .*none\.toml/);
  const badPort = runCat({ CAT_SECRET_DIR: dir, CAT_HEALTH_PORT: 'http' });
  assert.equal(badPort.status, 1);
  assert.match(badPort.stderr, /cat: CAT_HEALTH_PORT="http" is not a port number/);
});
