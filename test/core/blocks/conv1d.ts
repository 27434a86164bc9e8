import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Helpers from '../helpers.js';

/** Registered by ./all.test.ts, which runs every block type's cases in one process. */
export default function register(h: typeof Helpers): void {
  const { est, model, paramsOf, pre, saved } = h;
  test('conv1d: out*in*k + out parameters; saves its input', () => {
    const m = model([pre([2, 4, 32]), { type: 'conv1d', out_channels: 8, kernel: 3, padding: 1 }]);
    assert.equal(paramsOf(m, 1), 8 * 4 * 3 + 8);
    const s = saved(m);
    assert.equal(s.fp32, 2 * 4 * 32 * 4);
    // pre's cast of the batch, the conv's cast of its input, and the conv's bf16 weight copy [8,4,3]
    // (its input requires grad, so dX needs W)
    assert.equal(s.bf16, 2 * 4 * 32 * 2 + 2 * 4 * 32 * 2 + 8 * 4 * 3 * 2);
    assert.equal(paramsOf(model([pre([2, 4, 32]), { type: 'conv1d', out_channels: 8, kernel: 3, bias: false }]), 1), 8 * 4 * 3);
  });

  test('conv1d output length floor((L + 2p - k) / s) + 1 feeds the next block', () => {
    // [2, 4, 32] -> k=5, stride 2, no padding -> length 14; a linear over it needs 14 inputs.
    const m = model([pre([2, 4, 32]), { type: 'conv1d', out_channels: 8, kernel: 5, stride: 2 }, { type: 'linear', out: 3 }]);
    assert.equal(est(m).blocks[2]!.params, 14 * 3 + 3);
  });
}
