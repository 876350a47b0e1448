// The cat's two Slack tokens, read from the files of its mounted Secret. Every problem names the
// file (this is the line a user sees in `catctl logs` when a cat crash-loops); no token is ever
// part of a message.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { APP_TOKEN_FILE, BOT_TOKEN_FILE } from './runtime.js';

export class TokenError extends Error {
  constructor(message) {
    super(message);
    this.name = 'TokenError';
  }
}

const KINDS = [
  { key: 'botToken', file: BOT_TOKEN_FILE, what: 'bot token', prefix: 'xoxb-' },
  { key: 'appToken', file: APP_TOKEN_FILE, what: 'app-level token', prefix: 'xapp-' },
];

/**
 * Reads `bot-token` (xoxb-…) and `app-token` (xapp-…, Socket Mode) from `dir`.
 * Throws one TokenError listing every problem, each naming its file.
 */
export function readTokens(dir) {
  const tokens = {};
  const problems = [];
  for (const kind of KINDS) {
    try {
      tokens[kind.key] = readToken(dir, kind);
    } catch (err) {
      if (!(err instanceof TokenError)) throw err;
      problems.push(err.message);
    }
  }
  if (problems.length > 0) throw new TokenError(problems.join('\n'));
  return tokens;
}

function readToken(dir, { file, what, prefix }) {
  const path = join(dir, file);
  const fix = `put the ${what} (${prefix}…) in secret/<cat>-token/${file} and run \`catctl secret sync\``;
  let text;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err.code === 'ENOENT') throw new TokenError(`missing ${what} file ${path}: ${fix}`);
    if (err.code === 'ENOTDIR') {
      throw new TokenError(
        `cannot read ${path}: ${dir} is a file, not a directory of token files: ${fix}`,
      );
    }
    if (err.code === 'EISDIR') throw new TokenError(`${path} is a directory, not a token file: ${fix}`);
    throw new TokenError(`cannot read ${what} file ${path} (${err.code ?? err.message})`);
  }
  const token = text.trim();
  if (token === '') throw new TokenError(`empty ${what} file ${path}: ${fix}`);
  if (!token.startsWith(prefix)) {
    const looksLike = KINDS.find((other) => token.startsWith(other.prefix));
    const hint = looksLike
      ? `it holds a ${looksLike.what} — are ${BOT_TOKEN_FILE} and ${APP_TOKEN_FILE} swapped?`
      : `a Slack ${what} starts with "${prefix}"`;
    throw new TokenError(`${path} does not hold a ${what}: ${hint}`);
  }
  if (/\s/.test(token)) {
    throw new TokenError(`${path} holds more than one word; it must hold only the ${what}`);
  }
  return token;
}
