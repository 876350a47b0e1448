// build/deps.mjs: the image gets exactly the locked production packages, without npm.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

import { install, mismatches, productionPackages, vendor } from '../build/deps.mjs';

const LOCK = {
  lockfileVersion: 3,
  packages: {
    '': { name: 'cat' },
    'node_modules/a': { version: '1.0.0' },
    'node_modules/a/node_modules/b': { version: '2.0.0' },
    'node_modules/devonly': { version: '3.0.0', dev: true },
  },
};

function pkg(root, path, version) {
  mkdirSync(join(root, path), { recursive: true });
  writeFileSync(join(root, path, 'package.json'), JSON.stringify({ version }));
  writeFileSync(join(root, path, 'index.js'), `// ${path}\n`);
}

function project() {
  const root = mkdtempSync(join(tmpdir(), 'deps-'));
  pkg(root, 'node_modules/a', '1.0.0');
  pkg(root, 'node_modules/a/node_modules/b', '2.0.0');
  pkg(root, 'node_modules/devonly', '3.0.0');
  return root;
}

test('production packages leave development ones out', () => {
  assert.deepEqual(productionPackages(LOCK).map((p) => p.path), ['node_modules/a', 'node_modules/a/node_modules/b']);
});

test('vendor copies the production packages, nested ones included, and nothing else', () => {
  const root = project();
  vendor(root, join(root, 'deps'), LOCK);
  assert.ok(existsSync(join(root, 'deps/node_modules/a/index.js')));
  assert.ok(existsSync(join(root, 'deps/node_modules/a/node_modules/b/index.js')));
  assert.ok(!existsSync(join(root, 'deps/node_modules/devonly')));
  assert.deepEqual(mismatches(join(root, 'deps'), LOCK), []);
});

test('vendor and install refuse modules that are not the locked ones', () => {
  const root = project();
  pkg(root, 'node_modules/a', '1.0.1');
  assert.throws(() => vendor(root, join(root, 'deps'), LOCK), /node_modules\/a is 1\.0\.1, package-lock\.json locks 1\.0\.0/);
  const build = mkdtempSync(join(tmpdir(), 'deps-build-'));
  pkg(build, 'deps/node_modules/a', '1.0.0');
  assert.throws(() => install(build, LOCK), /deps\/node_modules does not match package-lock\.json.*a\/node_modules\/b is missing/);
});

test('install takes deps/node_modules without npm, or says what to do when there is none', () => {
  const root = project();
  vendor(root, join(root, 'deps'), LOCK);
  let ran = false;
  assert.equal(install(root, LOCK, { run: () => { ran = true; return { status: 0 }; } }), 'deps/node_modules');
  assert.equal(ran, false, 'npm is not run');
  assert.equal(JSON.parse(readFileSync(join(root, 'node_modules/a/package.json'), 'utf8')).version, '1.0.0');

  const bare = mkdtempSync(join(tmpdir(), 'deps-bare-'));
  const calls = [];
  assert.equal(install(bare, LOCK, { run: (...args) => { calls.push(args.slice(0, 2)); return { status: 0 }; } }), 'npm ci');
  assert.deepEqual(calls, [['npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund']]]);
  const noNpm = () => ({ error: Object.assign(new Error('spawn npm ENOENT'), { code: 'ENOENT' }) });
  assert.throws(() => install(bare, LOCK, { run: noNpm }), /no deps\/node_modules and this image has no npm: run `npm ci` in templates\/cat/);
});

test("this package's deps/node_modules, when present, is its lockfile's", { skip: !existsSync(fileURLToPath(new URL('../deps/node_modules', import.meta.url))) && 'run npm ci first' }, () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  assert.deepEqual(mismatches(join(root, 'deps'), lock), []);
});
