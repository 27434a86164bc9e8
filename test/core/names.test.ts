import { test } from 'node:test';
import assert from 'node:assert/strict';
import { didYouMean, editDistance } from '../../src/core/names.js';

test('editDistance: a swap is one edit (optimal string alignment), two with swaps off (Levenshtein)', () => {
  assert.equal(editDistance('modle', 'model'), 1); // l and e swapped
  assert.equal(editDistance('modle', 'model', false), 2); // delete l, insert l
  assert.equal(editDistance('kitten', 'sitting'), 3); // k->s, e->i, +g
  assert.equal(editDistance('kitten', 'sitting', false), 3);
  assert.equal(editDistance('', 'abc'), 3);
});

test('didYouMean: the closest option within a third of the word, case-insensitive', () => {
  assert.equal(didYouMean('RTX-4O90', ['rtx-4090', 'rtx-3090']), 'rtx-4090'); // one substitution (O for 0)
  assert.equal(didYouMean('zzzzzz', ['rtx-4090', 'a100-80']), undefined);
});
