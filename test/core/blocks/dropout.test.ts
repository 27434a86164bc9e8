import { test } from 'node:test';
import assert from 'node:assert/strict';
import { model, paramsOf, pre, saved } from '../helpers.js';

test('dropout: a 1-byte mask per element on CUDA, no parameters; p = 0 is no op', () => {
  const m = model([pre([4, 10, 16]), { type: 'dropout', p: 0.1 }]);
  assert.equal(paramsOf(m, 1), 0);
  const s = saved(m);
  assert.equal(s.fp32, 4 * 10 * 16 * 1);
  assert.equal(s.bf16, 4 * 10 * 16 * 2 + 4 * 10 * 16 * 1);
  const none = saved(model([pre([4, 10, 16]), { type: 'dropout', p: 0 }]));
  assert.equal(none.fp32, 0);
  assert.equal(none.bf16, 4 * 10 * 16 * 2);
});
