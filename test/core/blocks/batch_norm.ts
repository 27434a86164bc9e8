import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Helpers from '../helpers.js';

/** Registered by ./all.test.ts, which runs every block type's cases in one process. */
export default function register(h: typeof Helpers): void {
  const { model, paramsOf, pre, saved } = h;
  test('batch_norm: 2*channels parameters; saves its input plus per-channel fp32 statistics', () => {
    const m = model([pre([4, 8, 10]), { type: 'batch_norm' }]);
    assert.equal(paramsOf(m, 1), 2 * 8);
    const s = saved(m);
    assert.equal(s.fp32, 4 * 8 * 10 * 4 + 2 * 8 * 4);
    // batch_norm is not on autocast's fp32 list: it keeps the bf16 input.
    assert.equal(s.bf16, 4 * 8 * 10 * 2 + 4 * 8 * 10 * 2 + 2 * 8 * 4);
  });
}
