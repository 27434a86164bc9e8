import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Helpers from '../helpers.js';

/** Registered by ./all.test.ts, which runs every block type's cases in one process. */
export default function register(h: typeof Helpers): void {
  const { est, model, paramsOf, pre, saved } = h;
  test('linear: parameters in*out + out, and it saves its input', () => {
    const m = model([pre([4, 10, 16]), { type: 'linear', out: 32 }]);
    assert.equal(paramsOf(m, 1), 16 * 32 + 32);
    assert.equal(paramsOf(m, 0), 16 * 16 + 16);
    const s = saved(m);
    assert.equal(s.fp32, 4 * 10 * 16 * 4);
    // bf16-mixed: pre saves the bf16 cast of the batch; this linear saves pre's bf16 output, and its
    // bf16 weight copy (its input requires grad, so dX needs W).
    assert.equal(s.bf16, 4 * 10 * 16 * 2 + 4 * 10 * 16 * 2 + 16 * 32 * 2);
  });

  test('linear without bias; on the data batch it saves nothing in fp32', () => {
    const m = model([{ type: 'linear', input: ['batch', 16], out: 8, bias: false }]);
    assert.equal(paramsOf(m, 0), 16 * 8);
    assert.equal(est(m, { batch_size: 5 }).forward_saved, 0);
    // The 2-byte cast copy of the batch is what autocast's linear keeps for dW; no weight copy is saved
    // (the batch needs no grad).
    assert.equal(est(m, { batch_size: 5, precision: 'bf16-mixed' }).forward_saved, 5 * 16 * 2);
  });
}
