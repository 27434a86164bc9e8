import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Helpers from '../helpers.js';

/** Registered by ./all.test.ts, which runs every block type's cases in one process. */
export default function register(h: typeof Helpers): void {
  const { est, model, paramsOf, pre } = h;
  test('reshape is a view: no parameters, no memory; element counts must match', () => {
    const m = model([pre([4, 10, 16]), { type: 'reshape', shape: [40, 16] }, { type: 'linear', out: 2 }]);
    assert.equal(paramsOf(m, 1), 0);
    // The linear saves the reshaped view: the storage of pre's output, [4, 10, 16] x 4 B, once.
    assert.equal(est(m).forward_saved, 4 * 10 * 16 * 4);
    assert.throws(() => est(model([pre([4, 10, 16]), { type: 'reshape', shape: [7, 16] }])), { code: 'E_SHAPE' });
  });
}
