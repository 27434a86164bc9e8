import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Helpers from '../helpers.js';

/** Registered by ./all.test.ts, which runs every block type's cases in one process. */
export default function register(h: typeof Helpers): void {
  const { comp, est, model, paramsOf, pre } = h;
  // Target [2, 20, 16], memory [2, 30, 16], 2 heads, ffn 32, no dropout.
  const B = 2, T = 20, M = 30, D = 16, H = 2, F = 32;

  test('transformer_decoder: self-attention, cross-attention over memory, feed-forward, three norms', () => {
    const m = model([pre([B, T, D]), { type: 'transformer_decoder', heads: H, ffn_dim: F, dropout: 0, memory: [B, M, D] }]);
    assert.equal(paramsOf(m, 1), 2 * 4 * (D * D + D) + 3 * 2 * D + (D * F + F + F * D + D));
    const X = B * T * D;
    const Y = B * M * D;
    const norm = X * 4 + 2 * B * T * 4;
    // x (its time-first copy replaces it: nothing else keeps pre's output), q, k, probs, v, context
    const self = X * 4 + 2 * X * 4 + B * H * T * T * 4 + X * 4 + X * 4;
    // Cross: q's input (norm1 output, its time-first copy), the time-first fp32 copy of the memory that
    // nn.MultiheadAttention(batch_first=True) makes and the k and v projections save (the memory itself
    // is the batch), q, k, probs, v, context.
    const cross = X * 4 + Y * 4 + X * 4 + Y * 4 + B * H * T * M * 4 + Y * 4 + X * 4;
    const ffn = X * 4 + B * T * F * 4; // fc1 input, relu output (= fc2 input)
    // Eager attention (PyTorch 1.x; PyTorch 2 fuses it, as attention: sdpa).
    const e = est(m, { attention: 'eager' });
    assert.equal(e.forward_saved, self + norm + cross + norm + ffn + norm);
    assert.equal(est(m, { pytorch: '1.13' }).forward_saved, e.forward_saved);
    // PyTorch 2 (default): sdpa keeps q, k, v, the output and a logsumexp; no s x s probabilities. On
    // CUDA in fp32 (the memory-efficient kernel) the logsumexp rows are padded to 32 (20 -> 32) and
    // out_proj saves a time-first copy of the batch-first output (X more per attention).
    const sdpaSelf = X * 4 + 3 * X * 4 + X * 4 + B * H * 32 * 4 + X * 4;
    const sdpaCross = X * 4 + Y * 4 + X * 4 + 2 * Y * 4 + X * 4 + B * H * 32 * 4 + X * 4;
    assert.equal(est(m).forward_saved, sdpaSelf + norm + sdpaCross + norm + ffn + norm);
    // The memory is part of the input batch: pre's input, the memory.
    assert.equal(comp(e, 'input_batch'), X * 4 + Y * 4);
  });
}
