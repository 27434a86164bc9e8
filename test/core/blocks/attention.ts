import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Helpers from '../helpers.js';

/** Registered by ./all.test.ts, which runs every block type's cases in one process. */
export default function register(h: typeof Helpers): void {
  const { est, model, paramsOf, saved } = h;
  // The brief's example: eager attention over [2, 150, 128] with 4 heads (head dim 32), on the data batch.
  const B = 2, S = 150, D = 128, H = 4;
  const X = B * S * D; // elements of x, q, k, v, context
  const P = B * H * S * S; // elements of the score / probability matrix

  test('attention: 4 x (d*d + d) parameters', () => {
    const m = model([{ type: 'attention', input: [B, S, D], heads: H }]);
    assert.equal(paramsOf(m, 0), 4 * (D * D + D));
  });

  test('eager attention fp32: every saved tensor by hand', () => {
    const m = model([{ type: 'attention', input: [B, S, D], heads: H }]);
    const e = est(m);
    // x is the batch (no grad): the q/k/v projections keep nothing of it.
    const q = X * 4, k = X * 4; // q @ k^T saves both operands       153,600 B each
    const probs = P * 4; //         softmax saves its output [2,4,150,150]  720,000 B, also probs @ v's left operand
    const v = X * 4; //             probs @ v saves v                       153,600 B
    const ctx = X * 4; //           the out projection saves the context    153,600 B
    assert.equal(e.forward_saved, q + k + probs + v + ctx);
    assert.equal(e.forward_saved, 1_334_400);
    const sizes = e.saved_items.map((i) => [i.what, i.shape.join('x'), i.bytes]);
    assert.deepEqual(sizes[0], ['softmax', '2x4x150x150', 720_000]);
    assert.equal(sizes.filter((s) => s[2] === 153_600).length, 4);
  });

  test('eager attention bf16-mixed: cast copies of x, bf16 q/k/v/context, fp32 probabilities and their bf16 cast', () => {
    const m = model([{ type: 'attention', input: [B, S, D], heads: H }]);
    const e = est(m, { precision: 'bf16-mixed' });
    const xCasts = 3 * X * 2; //    each projection casts x to bf16 and keeps the copy for dW
    const qkv = 3 * X * 2; //       q, k (scores) and v (probs @ v) in bf16
    const probs32 = P * 4; //       softmax runs in fp32 under autocast and saves its output
    const probs16 = P * 2; //       probs @ v casts the probabilities to bf16 and saves that copy
    const ctx = X * 2;
    const wOut = D * D * 2; //     the out projection's input (context) requires grad: it saves its bf16 weight copy
    // (the q/k/v projections read the data batch, which needs no grad: they save no weight copy)
    assert.equal(e.forward_saved, xCasts + qkv + probs32 + probs16 + ctx + wOut);
    assert.equal(e.forward_saved, 1_617_600 + 32_768);
  });

  test('attention dropout adds a 1-byte mask and a second s x s tensor (the dropped probabilities)', () => {
    const m = model([{ type: 'attention', input: [B, S, D], heads: H, dropout: 0.1 }]);
    assert.equal(est(m).forward_saved, 1_334_400 + P * 1 + P * 4);
  });

  test('sdpa (flash / memory-efficient) saves q, k, v, output and a per-row fp32 logsumexp, no s x s', () => {
    const m = model([{ type: 'attention', input: [B, S, D], heads: H, impl: 'sdpa' }]);
    const s = saved(m);
    // The out projection's saved input is the sdpa output itself (one storage). fp32 on CUDA is the
    // memory-efficient kernel: its logsumexp rows are padded to a multiple of 32 (S -> 32 * ceil(S / 32)).
    const lseRows = Math.ceil(S / 32) * 32;
    assert.equal(s.fp32, 3 * X * 4 + X * 4 + B * H * lseRows * 4);
    assert.equal(saved(m, { device: 'cpu' }).fp32, 3 * X * 4 + X * 4 + B * H * S * 4);
    // bf16: x's three casts, q/k/v, output, logsumexp, and the out projection's bf16 weight copy (its input
    // requires grad; q/k/v read the data batch and save no weight copy).
    // (bf16 is flash: rows not padded.)
    assert.equal(s.bf16, 3 * X * 2 + 3 * X * 2 + X * 2 + B * H * S * 4 + D * D * 2);
    // The run-wide attention setting picks sdpa too.
    assert.equal(est(model([{ type: 'attention', input: [B, S, D], heads: H }]), { attention: 'sdpa' }).forward_saved, s.fp32);
  });

  test('heads must divide the model dimension', () => {
    assert.throws(() => est(model([{ type: 'attention', input: [2, 10, 30], heads: 4 }])), { code: 'E_SHAPE' });
  });
}
