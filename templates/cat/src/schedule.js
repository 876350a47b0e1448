// Feeding time: `[[character.schedule]]` entries, each a message the cat posts by itself at a set
// time of day (`at = "18:00"`, in `time_zone`, UTC by default) in a channel it is a member of.
// A tick every 20 seconds compares the wall clock of each entry's time zone with `at`; an entry
// fires at most once per day, also across daylight-saving changes.

import { pick } from './random.js';

const TICK_MS = 20_000;

/** "HH:MM" and "YYYY-MM-DD" of instant `ms` in `timeZone`. */
export function wallClock(ms, timeZone) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    })
      .formatToParts(new Date(ms))
      .map((part) => [part.type, part.value]),
  );
  return { time: `${parts.hour}:${parts.minute}`, day: `${parts.year}-${parts.month}-${parts.day}` };
}

/** The entries due at instant `ms` that have not fired today; marks them as fired. */
export function due(entries, ms, fired) {
  const out = [];
  entries.forEach((entry, index) => {
    const { time, day } = wallClock(ms, entry.timeZone);
    if (time === entry.at && fired.get(index) !== day) {
      fired.set(index, day);
      out.push(entry);
    }
  });
  return out;
}

/**
 * Posts each due entry of `cat.schedule` with `post({ channel, text })`; logs one line each.
 * Returns a function that stops the schedule.
 */
export function startSchedule({ cat, post, log, now = Date.now, random = Math.random, tickMs = TICK_MS }) {
  const entries = cat.schedule ?? [];
  if (entries.length === 0) return () => {};
  const fired = new Map();
  const tick = () => {
    for (const entry of due(entries, now(), fired)) {
      const line = { schedule: entry.label, channel: entry.channel };
      post({ channel: entry.channel, text: pick(entry.replies, random) }).then(
        () => log(line),
        (err) => log({ ...line, error: err?.data?.error ?? err?.code ?? err?.message }),
      );
    }
  };
  const timer = setInterval(tick, tickMs);
  timer.unref?.();
  tick();
  return () => clearInterval(timer);
}
