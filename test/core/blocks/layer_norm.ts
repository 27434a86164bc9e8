import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Helpers from '../helpers.js';

/** Registered by ./all.test.ts, which runs every block type's cases in one process. */
export default function register(h: typeof Helpers): void {
  const { model, paramsOf, pre, saved } = h;
  test('layer_norm: 2*d parameters; saves its input plus fp32 mean and rstd per row', () => {
    const m = model([pre([4, 10, 16]), { type: 'layer_norm' }]);
    assert.equal(paramsOf(m, 1), 2 * 16);
    const rows = 4 * 10;
    const s = saved(m);
    assert.equal(s.fp32, 4 * 10 * 16 * 4 + 2 * rows * 4);
    // Autocast runs layer_norm in fp32: it saves an fp32 copy of its bf16 input (plus pre's bf16 cast).
    assert.equal(s.bf16, 4 * 10 * 16 * 2 + 4 * 10 * 16 * 4 + 2 * rows * 4);
  });
}
