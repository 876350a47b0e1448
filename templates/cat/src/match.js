// How a message is matched against trigger words. A message is normalised (Slack mentions
// removed, entities decoded, lower case); an ASCII trigger must stand as a word of its own ("hi"
// is not in "this", "deploy" is not in "redeploy"), a Korean or other non-ASCII trigger may be
// part of a word ("디디야", "밥먹자").

const ENTITIES = { '&amp;': '&', '&lt;': '<', '&gt;': '>' };

/** Removes user and channel mentions (`<@U123>`, `<#C1|general>`) and surrounding space. */
export function stripMentions(text) {
  return (text ?? '').replace(/<[@#][^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
}

/** The text a trigger is looked for in. */
export function normalize(text) {
  return stripMentions(text)
    .replace(/&(amp|lt|gt);/g, (entity) => ENTITIES[entity])
    .normalize('NFC')
    .toLowerCase();
}

/** A predicate telling whether a normalised text contains `trigger`. */
export function compileTrigger(trigger) {
  const wanted = normalize(trigger);
  if (!/^[\x20-\x7e]+$/.test(wanted)) return (text) => text.includes(wanted);
  const escaped = wanted.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`(?<![a-z0-9])${escaped}(?![a-z0-9])`);
  return (text) => pattern.test(text);
}

/** A predicate telling whether a normalised text contains any of `triggers`. */
export function compileTriggers(triggers) {
  const predicates = triggers.map(compileTrigger);
  return (text) => predicates.some((matches) => matches(text));
}
