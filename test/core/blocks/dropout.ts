import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Helpers from '../helpers.js';

/** Registered by ./all.test.ts, which runs every block type's cases in one process. */
export default function register(h: typeof Helpers): void {
  const { model, paramsOf, pre, saved } = h;
  test('dropout: a 1-byte mask per element on CUDA, no parameters; p = 0 is no op', () => {
    const m = model([pre([4, 10, 16]), { type: 'dropout', p: 0.1 }]);
    assert.equal(paramsOf(m, 1), 0);
    const s = saved(m);
    assert.equal(s.fp32, 4 * 10 * 16 * 1);
    assert.equal(s.bf16, 4 * 10 * 16 * 2 + 4 * 10 * 16 * 1);
    const none = saved(model([pre([4, 10, 16]), { type: 'dropout', p: 0 }]));
    assert.equal(none.fp32, 0);
    assert.equal(none.bf16, 4 * 10 * 16 * 2);
  });
}
