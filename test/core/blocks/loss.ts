import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Helpers from '../helpers.js';

/** Registered by ./all.test.ts, which runs every block type's cases in one process. */
export default function register(h: typeof Helpers): void {
  const { comp, est, model, pre, saved, sim } = h;
  const X = 4 * 10 * 16;

  test('mse loss saves its input (and the target, which is the batch)', () => {
    const m = model([pre([4, 10, 16]), { type: 'loss', kind: 'mse' }]);
    const s = saved(m);
    assert.equal(s.fp32, X * 4);
    // Losses run in fp32 under autocast: an fp32 copy of the bf16 prediction.
    assert.equal(s.bf16, X * 2 + X * 4);
    assert.equal(comp(est(m), 'input_batch'), X * 4 + X * 4);
  });

  test('cross_entropy saves an fp32 log_softmax of the logits and int64 targets; backward adds a logits-sized fp32 softmax', () => {
    const m = model([pre([4, 10, 16]), { type: 'loss', kind: 'cross_entropy' }]);
    const s = saved(m);
    assert.equal(s.fp32, X * 4);
    assert.equal(s.bf16, X * 2 + X * 4);
    assert.equal(comp(est(m), 'input_batch'), X * 4 + 4 * 10 * 8);
    // Peak at the loss backward: pre's output gradient (fp32), log_softmax, the softmax temporary.
    const r = sim(m);
    assert.equal(r.first.phase, 'backward');
    assert.equal(r.first.bytes, X * 4 + X * 4 + X * 4 + 4);
  });

  test('mean loss saves nothing; a model without a loss gets one', () => {
    assert.equal(est(model([pre([4, 10, 16]), { type: 'loss', kind: 'mean' }])).forward_saved, 0);
    assert.equal(est(model([pre([4, 10, 16])])).forward_saved, 0);
  });
}
