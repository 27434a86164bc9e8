import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Helpers from '../helpers.js';

/** Registered by ./all.test.ts, which runs every block type's cases in one process. */
export default function register(h: typeof Helpers): void {
  const { model, paramsOf, pre, saved } = h;
  test('max pool saves its input and int64 indices of the output; avg pool its input', () => {
    const max = model([pre([2, 4, 8, 8]), { type: 'pool', kind: 'max', size: 2 }]);
    assert.equal(paramsOf(max, 1), 0);
    const out = 2 * 4 * 4 * 4;
    const s = saved(max);
    assert.equal(s.fp32, 2 * 4 * 8 * 8 * 4 + out * 8);
    assert.equal(s.bf16, 2 * 4 * 8 * 8 * 2 + 2 * 4 * 8 * 8 * 2 + out * 8);
    const avg = model([pre([2, 4, 8, 8]), { type: 'pool', kind: 'avg', size: 2 }]);
    assert.equal(saved(avg).fp32, 2 * 4 * 8 * 8 * 4);
  });
}
