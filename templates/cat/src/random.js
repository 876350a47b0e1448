// A small seedable random number generator (mulberry32), so tests can fix a cat's random choices.

/** Returns a function giving numbers in [0, 1), the same sequence for the same 32-bit seed. */
export function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One element of the non-empty `choices`, picked with `random`. */
export function pick(choices, random) {
  const index = Math.min(Math.floor(random() * choices.length), choices.length - 1);
  return choices[index];
}
