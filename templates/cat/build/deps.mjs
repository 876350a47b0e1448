// The engine's production dependencies, exactly as package-lock.json locks them, carried into the
// image without running npm inside the build (a build may have no network, and the base image no
// npm). Plain Node.js, no dependencies of its own.
//
//   node build/deps.mjs vendor    after `npm ci` (package.json's `prepare` runs it): copies the
//                                 locked production packages from node_modules/ to
//                                 deps/node_modules/, which the image build receives
//   node build/deps.mjs install   in the Dockerfile's deps stage: checks deps/node_modules against
//                                 package-lock.json and moves it to node_modules/; without it,
//                                 runs `npm ci --omit=dev` (needs npm and the registry)

import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export class DepsError extends Error {}

/** The production packages of a lockfile (v2/v3): [{ path: 'node_modules/x', version }]. */
export function productionPackages(lock) {
  if (!lock.packages || (lock.lockfileVersion ?? 0) < 2) {
    throw new DepsError('package-lock.json must be lockfileVersion 2 or 3 (npm 7 or newer)');
  }
  return Object.entries(lock.packages)
    .filter(([path, entry]) => path !== '' && !entry.dev && !entry.link && !entry.extraneous)
    .map(([path, entry]) => ({ path, version: entry.version, optional: Boolean(entry.optional) }))
    .sort((a, b) => a.path.localeCompare(b.path));
}

/** The problems of `root`/node_modules against `lock`: missing packages, other versions. */
export function mismatches(root, lock) {
  const problems = [];
  for (const { path, version, optional } of productionPackages(lock)) {
    const manifest = join(root, path, 'package.json');
    if (!existsSync(manifest)) {
      if (!optional) problems.push(`${path} is missing`);
      continue;
    }
    const found = JSON.parse(readFileSync(manifest, 'utf8')).version;
    if (found !== version) problems.push(`${path} is ${found}, package-lock.json locks ${version}`);
  }
  return problems;
}

/** Copies the locked production packages of `from`/node_modules to `to`/node_modules. */
export function vendor(from, to, lock) {
  const problems = mismatches(from, lock);
  if (problems.length > 0) {
    throw new DepsError(`node_modules does not match package-lock.json (run \`npm ci\`): ${problems.join('; ')}`);
  }
  rmSync(join(to, 'node_modules'), { recursive: true, force: true });
  for (const { path } of productionPackages(lock)) {
    const source = join(from, path);
    if (!existsSync(source)) continue; // an optional package for another platform
    // A package's own node_modules holds nested packages: each is copied by its own entry,
    // so a nested development package never comes along.
    const nested = resolve(source, 'node_modules');
    cpSync(source, join(to, path), {
      recursive: true,
      verbatimSymlinks: true,
      filter: (file) => resolve(file) !== nested && !resolve(file).startsWith(`${nested}${sep}`),
    });
  }
  mkdirSync(join(to, 'node_modules'), { recursive: true });
}

/** In the image build: node_modules/ from deps/node_modules, checked, or from `npm ci`. */
export function install(dir, lock, { run = spawnSync } = {}) {
  const vendored = join(dir, 'deps');
  if (existsSync(join(vendored, 'node_modules'))) {
    const problems = mismatches(vendored, lock);
    if (problems.length > 0) {
      throw new DepsError(
        `deps/node_modules does not match package-lock.json — run \`npm ci\` in templates/cat (it refreshes deps/): ${problems.join('; ')}`,
      );
    }
    rmSync(join(dir, 'node_modules'), { recursive: true, force: true });
    try {
      renameSync(join(vendored, 'node_modules'), join(dir, 'node_modules'));
    } catch (err) {
      if (err.code !== 'EXDEV') throw err; // an image layer below: copy instead
      cpSync(join(vendored, 'node_modules'), join(dir, 'node_modules'), { recursive: true, verbatimSymlinks: true });
      rmSync(join(vendored, 'node_modules'), { recursive: true, force: true });
    }
    return 'deps/node_modules';
  }
  const result = run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: dir,
    stdio: 'inherit',
  });
  if (result.error || result.status !== 0) {
    const why = result.error?.code === 'ENOENT' ? 'this image has no npm' : `npm ci failed (exit ${result.status})`;
    throw new DepsError(
      `the build context has no deps/node_modules and ${why}: run \`npm ci\` in templates/cat before building ` +
        '(it fills deps/node_modules), or build on an image with npm and network access',
    );
  }
  return 'npm ci';
}

function main([command, dir = '.']) {
  const root = resolve(dir);
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  if (command === 'vendor') {
    vendor(root, join(root, 'deps'), lock);
    console.log(`deps: ${productionPackages(lock).length} production packages copied to deps/node_modules`);
  } else if (command === 'install') {
    const how = install(root, lock);
    console.log(`deps: ${productionPackages(lock).length} production packages from ${how}`);
  } else {
    throw new DepsError('usage: node build/deps.mjs vendor|install [DIR]');
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof DepsError)) throw err;
    process.stderr.write(`deps: ${err.message}\n`);
    process.exit(1);
  }
}
