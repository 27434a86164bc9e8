import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Helpers from '../helpers.js';

/** Registered by ./all.test.ts, which runs every block type's cases in one process. */
export default function register(h: typeof Helpers): void {
  const { est, model, paramsOf, pre, saved } = h;
  // nn.TransformerEncoderLayer(d_model=128, nhead=4, dim_feedforward=512, dropout=0.1, relu) over [2, 150, 128].
  const B = 2, S = 150, D = 128, H = 4, F = 512;
  const X = B * S * D; //     38,400 elements: x, q, k, v, context, residual sums
  const P = B * H * S * S; // 180,000 elements: scores / probabilities
  const HID = B * S * F; //   153,600 elements: the feed-forward hidden layer
  const ROWS = B * S; //      layer-norm rows (mean and rstd, fp32)

  test('transformer_encoder: parameters of attention, two norms and the feed-forward', () => {
    const m = model([pre([B, S, D]), { type: 'transformer_encoder', heads: H }]);
    assert.equal(paramsOf(m, 1), 4 * (D * D + D) + 2 * 2 * D + (D * F + F + F * D + D));
  });

  /** fp32 saved bytes, post-norm. */
  function postNormFp32(): number {
    const attn =
      X * 4 + //        x's time-first copy, kept once for the q, k and v projections (replaces x, which nothing else keeps)
      2 * X * 4 + //    q and k (scores matmul)
      P * 4 + //        softmax output
      P * 1 + //        attention dropout mask
      P * 4 + //        dropped probabilities (probs @ v)
      X * 4 + //        v
      X * 4; //         context (out projection)
    const res1 = X * 1 + X * 4 + 2 * ROWS * 4; // residual dropout mask, norm input (x + attn), mean/rstd
    const ffn =
      X * 4 + //        fc1 input (norm1 output)
      HID * 4 + //      relu output
      HID * 1 + //      dropout mask
      HID * 4; //       fc2 input (dropped hidden)
    const res2 = X * 1 + X * 4 + 2 * ROWS * 4;
    return attn + res1 + ffn + res2;
  }

  test('post-norm (PyTorch default), eager attention (PyTorch 1.x), fp32 and bf16-mixed, by hand', () => {
    const m = model([pre([B, S, D]), { type: 'transformer_encoder', heads: H, ffn_dim: F, dropout: 0.1 }]);
    const s = saved(m, { attention: 'eager' });
    assert.deepEqual(saved(m, { pytorch: '1.13' }), s);
    assert.equal(s.fp32, postNormFp32());
    assert.equal(s.fp32, 4_312_800);
    const bf16 =
      X * 2 + //                       pre: bf16 cast of the batch
      // attention: x (already bf16: no cast, and no time-first copy under autocast), q, k, fp32 probs,
      // mask, bf16 cast of the dropped probs, v, context
      X * 2 + 2 * X * 2 + P * 4 + P * 1 + P * 2 + X * 2 + X * 2 +
      // bf16 weight copies the attention's linears save (their inputs require grad): q, k, v in-projection
      // and the out projection
      3 * D * D * 2 + D * D * 2 +
      // residual 1: mask, fp32 copy of the bf16 sum for layer_norm, mean/rstd
      X * 1 + X * 4 + 2 * ROWS * 4 +
      // feed-forward: bf16 cast of the fp32 norm output, relu output, mask, dropped hidden (all bf16)
      X * 2 + HID * 2 + HID * 1 + HID * 2 +
      // bf16 weight copies fc1 [D, F] and fc2 [F, D] save
      D * F * 2 + F * D * 2 +
      // residual 2: mask; fp32 + bf16 adds to fp32, so layer_norm needs no cast; mean/rstd
      X * 1 + X * 4 + 2 * ROWS * 4;
    assert.equal(s.bf16, bf16);
  });

  test('norm_first: the norms read the residual stream instead', () => {
    const m = model([pre([B, S, D]), { type: 'transformer_encoder', heads: H, ffn_dim: F, dropout: 0.1, norm_first: true }]);
    const norm1 = X * 4 + 2 * ROWS * 4; // x and its statistics
    const attn = X * 4 + 2 * X * 4 + P * 4 + P * 1 + P * 4 + X * 4 + X * 4; // first term: norm1 output
    const norm2 = X * 4 + 2 * ROWS * 4;
    const ffn = X * 4 + HID * 4 + HID * 1 + HID * 4;
    assert.equal(saved(m, { attention: 'eager' }).fp32, norm1 + attn + X * 1 + norm2 + ffn + X * 1);
  });

  test('repeat multiplies parameters and saved bytes; sdpa drops the s x s tensors', () => {
    const one = model([pre([B, S, D]), { type: 'transformer_encoder', heads: H }]);
    const three = model([pre([B, S, D]), { type: 'transformer_encoder', heads: H, repeat: 3 }]);
    assert.equal(paramsOf(three, 1), 3 * paramsOf(one, 1));
    assert.equal(est(three, { attention: 'eager' }).forward_saved, 3 * postNormFp32());
    const sdpa = model([pre([B, S, D]), { type: 'transformer_encoder', heads: H, attention: 'sdpa' }]);
    // sdpa: q, k, v, output, logsumexp replace q, k, probs, mask, dropped probs, v, context. On CUDA in
    // fp32 the kernel is the memory-efficient one: its logsumexp rows are padded to a multiple of 32
    // (150 -> 160), and its batch-first output is copied by the module's time-first contiguous(), which
    // out_proj saves (X more). On the CPU the output is the context (no copy) and the rows are not padded.
    const attn = X * 4 + 3 * X * 4 + X * 4 + B * H * 160 * 4 + X * 4;
    const still = model([pre([B, S, D]), { type: 'transformer_encoder', heads: H, dropout: 0, attention: 'sdpa' }]);
    assert.equal(est(still).forward_saved - est(still, { device: 'cpu' }).forward_saved, X * 4 + B * H * (160 - 150) * 4);
    // bf16: flash (empty_like(query): the query's time-first layout), so no copy, and no padding.
    assert.equal(est(still, { precision: 'bf16' }).forward_saved, est(still, { precision: 'bf16', device: 'cpu' }).forward_saved);
    const rest = postNormFp32() - (X * 4 + 2 * X * 4 + P * 4 + P * 1 + P * 4 + X * 4 + X * 4);
    assert.equal(est(sdpa).forward_saved, attn + rest);
    // PyTorch 2 on CUDA: the stock layer's nn.MultiheadAttention(need_weights=False) calls
    // scaled_dot_product_attention, a fused kernel: the default is what attention: sdpa gives.
    assert.equal(est(one).forward_saved, attn + rest);
  });

  test('PyTorch 2 on the CPU: fused sdpa without attention dropout, the math fallback with it', () => {
    const layer = (dropout: number) => model([pre([B, S, D]), { type: 'transformer_encoder', heads: H, dropout }]);
    const cpu = { device: 'cpu' };
    // Dropout 0.1 in training: at::_scaled_dot_product_attention_math scales q and k into two new
    // tensors that its matmul keeps (q, k, v stay alive too: they are slices of one in_proj output),
    // and each `x * scalar` keeps an 8-byte double on the CPU (eager scales the scores once).
    const eager = est(layer(0.1), { ...cpu, attention: 'eager' }).forward_saved;
    assert.equal(est(layer(0.1), cpu).forward_saved, eager + 2 * X * 4 + (2 - 1) * 8);
    // No dropout: the fused CPU flash kernel, as attention: sdpa.
    assert.equal(est(layer(0), cpu).forward_saved, est(layer(0), { ...cpu, attention: 'sdpa' }).forward_saved);
    // PyTorch 1.13 runs nn.MultiheadAttention eagerly.
    assert.equal(est(layer(0.1), { ...cpu, pytorch: '1.13' }).forward_saved, eager);
  });
}
