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
  const tokens = { files: {} };
  const problems = [];
  for (const kind of KINDS) {
    tokens.files[kind.key] = join(dir, kind.file);
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

const REFUSALS = {
  invalid_auth: 'the token is not valid (revoked, regenerated, or of another app)',
  account_inactive: "the token's app or its workspace is deactivated",
  token_revoked: 'the token was revoked',
  token_expired: 'the token expired',
  not_authed: 'no token was sent',
  not_allowed_token_type: 'the file holds the wrong kind of token',
  missing_scope: 'the app lacks a scope: reinstall it from its manifest (`catctl slack-manifest`)',
};

/**
 * The one line for an error of Slack's while starting with token `key` ('botToken' or
 * 'appToken') of `tokens` (from readTokens): the file and Slack's error code, never the token.
 */
export function refused(tokens, key, cat, err) {
  const kind = KINDS.find((candidate) => candidate.key === key);
  const file = tokens.files[key];
  const code = err?.data?.error;
  if (code) {
    const why = REFUSALS[code] ? ` — ${REFUSALS[code]}` : '';
    const fix = REFUSALS[code]
      ? `; put a valid ${kind.what} in secret/${cat}-token/${kind.file} and run \`catctl secret sync\``
      : '';
    return `Slack refused the ${kind.what} in ${file}: ${code}${why}${fix}`;
  }
  const cause = err?.original?.code ?? err?.original?.message ?? err?.code ?? err?.message ?? String(err);
  return `cannot reach Slack to check the ${kind.what} in ${file}: ${cause}`;
}
