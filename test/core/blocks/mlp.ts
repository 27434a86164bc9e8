import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Helpers from '../helpers.js';

/** Registered by ./all.test.ts, which runs every block type's cases in one process. */
export default function register(h: typeof Helpers): void {
  const { model, paramsOf, pre, saved } = h;
  test('mlp: two linears; saves x, the activation input, a mask, fc2 input and the output mask', () => {
    const m = model([pre([4, 10, 16]), { type: 'mlp', hidden: 64, activation: 'gelu', dropout: 0.1 }]);
    assert.equal(paramsOf(m, 1), 16 * 64 + 64 + 64 * 16 + 16);
    const x = 4 * 10 * 16; // elements of the block input and output
    const h = 4 * 10 * 64; // elements of the hidden layer
    const s = saved(m);
    // fc1 input x, gelu input h, dropout mask h (1 B), fc2 input (dropped h), output dropout mask x (1 B).
    assert.equal(s.fp32, x * 4 + h * 4 + h * 1 + h * 4 + x * 1);
    // pre's bf16 batch cast, then the same tensors in 2 bytes (linear outputs are bf16), masks still 1 B,
    // and the bf16 weight copies fc1 [16, 64] and fc2 [64, 16] save (their inputs require grad).
    assert.equal(s.bf16, x * 2 + (x * 2 + h * 2 + h * 1 + h * 2 + x * 1) + (16 * 64 + 64 * 16) * 2);
  });

  test('mlp with out and no bias, dropout 0', () => {
    const m = model([pre([4, 10, 16]), { type: 'mlp', hidden: 32, out: 8, bias: false, activation: 'relu' }]);
    assert.equal(paramsOf(m, 1), 16 * 32 + 32 * 8);
    // fc1 input, relu output (also fc2's input: one storage, saved once).
    assert.equal(saved(m).fp32, 4 * 10 * 16 * 4 + 4 * 10 * 32 * 4);
  });
}
