import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Helpers from '../helpers.js';

/** Registered by ./all.test.ts, which runs every block type's cases in one process. */
export default function register(h: typeof Helpers): void {
  const { comp, est, model, pre, sim } = h;
  const blocksWith = (extra: Record<string, unknown>) => model([pre([4, 10, 16]), { type: 'tensor', shape: [100, 50], ...extra }]);

  test('tensor lifetime saved: kept for backward, counted in forward_saved', () => {
    assert.equal(est(blocksWith({ lifetime: 'saved', dtype: 'f32' })).forward_saved, 100 * 50 * 4);
    assert.equal(est(blocksWith({ lifetime: 'saved', dtype: 'f32', count: 3 })).forward_saved, 3 * 100 * 50 * 4);
    // dtype act follows the precision: 4 B in fp32, 2 B under bf16-mixed (plus pre's bf16 batch cast).
    assert.equal(est(blocksWith({ lifetime: 'saved' })).forward_saved, 100 * 50 * 4);
    assert.equal(est(blocksWith({ lifetime: 'saved' }), { precision: 'bf16-mixed' }).forward_saved, 100 * 50 * 2 + 4 * 10 * 16 * 2);
  });

  test('tensor lifetime loss: a loss buffer, reported apart from saved activations', () => {
    const m = blocksWith({ lifetime: 'loss', dtype: 'f32' });
    assert.equal(sim(m).lossBuffers, 100 * 50 * 4);
    const e = est(m);
    assert.equal(comp(e, 'loss_buffers'), 100 * 50 * 4);
    assert.equal(comp(e, 'saved_activations'), 0);
  });

  test('tensor lifetime persistent: a buffer for the whole run, in every phase, counted once', () => {
    const m = blocksWith({ lifetime: 'persistent', dtype: 'i64' });
    const e = est(m);
    assert.equal(comp(e, 'buffers'), 100 * 50 * 8);
    assert.equal(e.forward_saved, 0);
    const without = est(model([pre([4, 10, 16])]));
    for (const p of e.phases) {
      const q = without.phases.find((x) => x.name === p.name && x.step === p.step)!;
      assert.equal(p.allocated - q.allocated, 100 * 50 * 8, p.name);
    }
  });

  test('tensor lifetime transient: alive only while formed, so only the forward peak sees it', () => {
    const m = blocksWith({ lifetime: 'transient', dtype: 'f32' });
    const s = sim(m);
    assert.equal(s.savedTotal, 0);
    assert.equal(s.first.phase, 'forward');
    // At that moment: the transient and pre's output [4, 10, 16] (still needed by the loss).
    assert.equal(s.first.bytes, 100 * 50 * 4 + 4 * 10 * 16 * 4);
  });
}
