import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Helpers from '../helpers.js';

/** Registered by ./all.test.ts, which runs every block type's cases in one process. */
export default function register(h: typeof Helpers): void {
  const { comp, est, model } = h;
  test('params: weights, gradients, optimizer state and EMA by count; no activations', () => {
    const m = model([{ type: 'params', count: '12.5 * 1000000' }]);
    const P = 12_500_000;
    const e = est(m, { optimizer: 'adamw', ema: true });
    assert.equal(e.params.trainable, P);
    assert.equal(e.forward_saved, 0);
    assert.equal(comp(e, 'weights'), P * 4);
    assert.equal(comp(e, 'ema'), P * 4);
    // Nothing to back-propagate through: the peak is the optimizer step with gradients, m, v and foreach's sqrt(v).
    assert.equal(e.peak.phase, 'optimizer step');
    assert.equal(e.allocated, P * 4 + P * 4 + P * 4 + 2 * P * 4 + P * 4);
    // matmul: true (default) means autocast caches a 2-byte copy.
    assert.equal(comp(est(m, { precision: 'bf16-mixed', optimizer: 'sgd' }), 'autocast_cache'), 0); // not at the optimizer-step peak
    const bf = est(m, { precision: 'bf16-mixed' });
    const mb1 = bf.phases.find((p) => p.microbatch === 'first' && p.step === 'step 1')!;
    assert.equal(mb1.allocated, P * 4 + P * 2);
  });
}
