import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Helpers from '../helpers.js';

/** Registered by ./all.test.ts, which runs every block type's cases in one process. */
export default function register(h: typeof Helpers): void {
  const { est, model, paramsOf, pre, saved } = h;
  test('mean_pool saves nothing and drops the axis', () => {
    const m = model([pre([4, 10, 16]), { type: 'mean_pool', axis: 1 }, { type: 'linear', out: 2 }]);
    assert.equal(paramsOf(m, 1), 0);
    // Only the following linear saves its input, the pooled [4, 16].
    assert.equal(saved(m).fp32, 4 * 16 * 4);
    assert.equal(est(model([pre([4, 10, 16]), { type: 'mean_pool', axis: -1 }])).forward_saved, 0);
    assert.throws(() => est(model([pre([4, 10, 16]), { type: 'mean_pool', axis: 3 }])), { code: 'E_SHAPE' });
  });
}
