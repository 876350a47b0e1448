// What the cat says: given a message, pick the reply its character calls for. No Slack here.
// Order: an answer to the cat's open question, then the rules (first match wins), then the
// picture, then the greeting (also for a bare mention). A message matching nothing is ignored,
// as cats do.

import { normalize, stripMentions } from './match.js';
import { pick } from './random.js';

const MAX_OPEN_QUESTIONS = 1000;

export class Cat {
  /**
   * @param character a checked character (character.js)
   * @param options.random numbers in [0, 1) for random replies (random.js seededRandom in tests)
   * @param options.now the clock in milliseconds, for questions that expire
   */
  constructor(character, { random = Math.random, now = Date.now } = {}) {
    this.character = character;
    this.random = random;
    this.now = now;
    /** Open questions by `channel user`: { rule, expiresAt }. */
    this.questions = new Map();
  }

  get name() {
    return this.character.name;
  }

  /**
   * The reply to `{ channel, user, text }`, or null to stay silent:
   * { kind: 'answer'|'rule'|'ask'|'picture'|'greeting', label, text, delayMs }.
   * Asking a question remembers it; the same user's next message in that channel answers it.
   */
  respond({ channel, user, text }) {
    const key = `${channel} ${user}`;
    const now = this.now();
    this.forgetExpired(now);
    const said = stripMentions(text);
    const normalized = normalize(text);
    const question = this.questions.get(key);
    if (question && said !== '') {
      this.questions.delete(key);
      return this.answer(question.rule, said, normalized, 0);
    }
    for (const rule of this.character.rules) {
      if (!rule.matches(normalized)) continue;
      if (rule.ask === null) return this.reply('rule', rule.label, pick(rule.replies, this.random), rule.delayMs);
      if (rule.answers.some((answer) => answer.matches(normalized))) {
        return this.answer(rule, said, normalized, rule.delayMs);
      }
      this.remember(key, { rule, expiresAt: now + rule.waitMs });
      return this.reply('ask', rule.label, rule.ask, rule.delayMs);
    }
    const { picture, matchesPicture, matchesGreeting, greeting } = this.character;
    if (picture !== null && matchesPicture(normalized)) return this.reply('picture', 'picture', picture, 0);
    if (normalized === '' || matchesGreeting(normalized)) return this.reply('greeting', 'greeting', greeting, 0);
    return null;
  }

  answer(rule, said, normalized, delayMs) {
    const answer = rule.answers.find((candidate) => candidate.matches(normalized));
    const template = pick(answer ? answer.replies : rule.otherwise, this.random);
    return this.reply('answer', rule.label, fillAnswer(template, said), delayMs);
  }

  reply(kind, label, text, delayMs) {
    return { kind, label, text, delayMs };
  }

  remember(key, question) {
    this.questions.delete(key);
    this.questions.set(key, question);
    if (this.questions.size > MAX_OPEN_QUESTIONS) {
      this.questions.delete(this.questions.keys().next().value);
    }
  }

  forgetExpired(now) {
    for (const [key, question] of this.questions) {
      if (question.expiresAt <= now) this.questions.delete(key);
    }
  }
}

/**
 * `template` with `{answer}` replaced by what the user said. Broadcast mentions (`<!channel>`,
 * `<!here>`, `<!everyone>`, user groups) are defused so that repeating them pings nobody.
 */
export function fillAnswer(template, said) {
  const defused = said.replace(/<!/g, '&lt;!');
  return template.replaceAll('{answer}', defused);
}

/** Sends `reply` with `say`, after its delay (DD takes her time). Resolves once sent. */
export async function deliver(reply, say) {
  if (reply.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
  await say(reply.text);
}
