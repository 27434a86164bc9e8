import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Helpers from '../helpers.js';

/** Registered by ./all.test.ts, which runs every block type's cases in one process. */
export default function register(h: typeof Helpers): void {
  const { est, model, paramsOf, pre, saved } = h;
  test('conv2d: out*in*k*k + out parameters; saves its input', () => {
    const m = model([pre([2, 3, 8, 8]), { type: 'conv2d', out_channels: 4, kernel: 3, stride: 2, padding: 1 }, { type: 'reshape', shape: [2, 64] }]);
    assert.equal(paramsOf(m, 1), 4 * 3 * 3 * 3 + 4);
    const s = saved(m);
    assert.equal(s.fp32, 2 * 3 * 8 * 8 * 4);
    // pre's cast of the batch and the conv's cast of its input, + the conv's bf16 weight copy [4,3,3,3]
    // (its input requires grad)
    assert.equal(s.bf16, 2 * 3 * 8 * 8 * 2 * 2 + 4 * 3 * 3 * 3 * 2);
    // Output [2, 4, 4, 4] = 128 elements: the reshape to [2, 64] only works with that shape.
    assert.equal(est(m).blocks.length, 3);
  });
}
