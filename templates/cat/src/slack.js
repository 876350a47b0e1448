// The Bolt wiring: which Slack events reach the cat and how its replies go back. The cat answers
// mentions in channels (app_mention) and direct messages (message.im); it ignores bots (other
// cats included, so two cats never talk in a loop) and edits.

import { deliver } from './brain.js';

/** Registers the cat's listeners on a Bolt `app`. */
export function listen(app, cat, log) {
  app.event('app_mention', async ({ event, say }) => {
    await handleEvent(cat, log, 'app_mention', event, say);
  });
  app.message(async ({ message, say }) => {
    if (message.channel_type !== 'im') return;
    await handleEvent(cat, log, 'message.im', message, say);
  });
}

/** Answers one event and logs one line about it. Resolves once the reply (if any) is sent. */
export async function handleEvent(cat, log, kind, event, say) {
  if (event.bot_id || event.subtype) return;
  const reply = cat.respond({ channel: event.channel, user: event.user, text: event.text });
  const line = {
    event: kind,
    channel: event.channel,
    user: event.user,
    reply: reply?.kind ?? 'none',
    rule: reply && reply.kind !== reply.label ? reply.label : undefined,
    delay: reply?.delayMs ? `${reply.delayMs / 1000}s` : undefined,
  };
  if (!reply) {
    log(line);
    return;
  }
  const thread = event.thread_ts;
  const send = (text) => say(thread ? { text, thread_ts: thread } : { text });
  try {
    await deliver(reply, send);
    log(line);
  } catch (err) {
    log({ ...line, error: err.data?.error ?? err.code ?? err.message });
  }
}
