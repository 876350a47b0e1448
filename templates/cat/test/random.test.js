import assert from 'node:assert/strict';
import { test } from 'node:test';

import { pick, seededRandom } from '../src/random.js';

test('the same seed gives the same sequence, another seed another one', () => {
  const take = (random) => Array.from({ length: 8 }, random);
  assert.deepEqual(take(seededRandom(42)), take(seededRandom(42)));
  assert.notDeepEqual(take(seededRandom(42)), take(seededRandom(43)));
  for (const value of take(seededRandom(7))) assert.ok(value >= 0 && value < 1);
});

test('pick reaches every choice and stays in range', () => {
  const random = seededRandom(1);
  const seen = new Set(Array.from({ length: 200 }, () => pick(['a', 'b', 'c'], random)));
  assert.deepEqual([...seen].sort(), ['a', 'b', 'c']);
  assert.equal(pick(['x', 'y'], () => 0.9999999999), 'y');
  assert.equal(pick(['x', 'y'], () => 0), 'x');
});
