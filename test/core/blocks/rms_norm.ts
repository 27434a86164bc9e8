import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Helpers from '../helpers.js';

/** Registered by ./all.test.ts. RMSNorm as LlamaRMSNorm computes it, its saves falling out of the ops. */
export default function register(h: typeof Helpers): void {
  const { est, model, paramsOf, pre } = h;
  const X = 4 * 10 * 16 * 4; // pre's output [4, 10, 16] fp32
  const R = 4 * 10 * 1 * 4; // rsqrt(mean(x^2) + eps): one fp32 per row
  test('rms_norm: d parameters; saves x (pow and the product), the rsqrt per row, and the normalised x for the weight', () => {
    const m = model([pre([4, 10, 16]), { type: 'rms_norm' }]);
    assert.equal(paramsOf(m, 1), 16);
    assert.equal(est(m).forward_saved, X + R + X);
    // A frozen weight needs no normalised x: only x and the rsqrt (activations still saved: the input needs grad).
    assert.equal(est(model([pre([4, 10, 16]), { type: 'rms_norm', frozen: true }])).forward_saved, X + R);
  });
}
