import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Helpers from '../helpers.js';
import type { BlockSpec } from '../../../src/core/model.js';

/** Registered by ./all.test.ts. T5's block (T5Block), its parameters and saves worked out op by op. */
export default function register(h: typeof Helpers): void {
  const { est, model, paramsOf, pre } = h;
  // x [2, 8, 16], 2 heads of 4 (inner 8), d_ff 32; the position bias a [1, 2, 8, 8] parameter (contiguous: no copy).
  const bias: BlockSpec = { name: 'bias', type: 'parameter', shape: [1, 2, 8, 8] };
  const layer = (extra: Record<string, unknown>): BlockSpec[] => [
    pre([2, 8, 16]),
    bias,
    { type: 't5_layer', heads: 2, head_dim: 4, ffn_dim: 32, dropout: 0, attention: 'eager', from: ['pre', 'bias'], ...extra },
  ];

  test('t5_layer: parameters of the encoder, gated and decoder blocks (no biases anywhere)', () => {
    // q, k, v, o: 4 x 16 x 8; wi, wo: 2 x 16 x 32; two T5LayerNorm weights of 16.
    assert.equal(paramsOf(model(layer({})), 2), 4 * 16 * 8 + 2 * 16 * 32 + 2 * 16);
    // Gated (T5DenseGatedActDense): wi_0, wi_1, wo.
    assert.equal(paramsOf(model(layer({ gated: true, activation: 'gelu_new' })), 2), 4 * 16 * 8 + 3 * 16 * 32 + 2 * 16);
    // Decoder: self- and cross-attention (8 projections), the feed-forward, three norms.
    const enc: BlockSpec = { name: 'enc', type: 'input', shape: [2, 12, 16] }; // the encoder output, 12 source tokens
    const dec = model([pre([2, 8, 16]), bias, enc, { type: 't5_layer', stack: 'decoder', heads: 2, head_dim: 4, ffn_dim: 32, from: ['pre', 'bias', 'enc'] }]);
    assert.equal(paramsOf(dec, 3), 8 * 16 * 8 + 2 * 16 * 32 + 3 * 16);
  });

  test('t5_layer (eager, fp32, no dropout): saves worked out op by op', () => {
    const X = 2 * 8 * 16 * 4; // [2, 8, 16] fp32
    const R = 2 * 8 * 1 * 4; // a [.., 1] rsqrt per row
    const P = 2 * 8 * 8 * 4; // a [2, 8, 8] projection output (q, k, v) or the merged heads
    const S = 2 * 2 * 8 * 8 * 4; // [2, 2, 8, 8] probabilities
    const F = 2 * 8 * 32 * 4; // [2, 8, 32] relu output
    // layer_norm: x (pow and x * rsqrt), rsqrt, the normalised x (weight grad); its output (q, k, v's input).
    const norm1 = X + R + X + X;
    // q and k (matmul), probabilities (softmax), v (probs @ v), the merged heads (o's input). No scaling: * 1.0 keeps nothing.
    const attn = P + P + S + P + P;
    // The residual sum (the second norm's x), rsqrt, normalised, the norm's output (wi's input), relu's output (relu and wo).
    const ff = X + R + X + X + F;
    assert.equal(est(model(layer({}))).forward_saved, norm1 + attn + ff);
  });

  test('t5_layer sdpa: CUDA keeps the bias as the fused kernel\'s mask and trains it; the CPU sends a trainable bias to the math fallback', () => {
    const X = 2 * 8 * 16 * 4, R = 2 * 8 * 1 * 4, P = 2 * 8 * 8 * 4, F = 2 * 8 * 32 * 4;
    const norm1 = X + R + X + X;
    const ff = X + R + X + X + F;
    const m = model(layer({ attention: 'sdpa' }));
    // CUDA (memory-efficient kernel: flash takes no float mask): q, k, v, the output (o reads it
    // [b, q, h, d] without a copy), a logsumexp padded to 32 rows; the mask is the bias parameter itself.
    const cuda = est(m);
    assert.equal(cuda.forward_saved, norm1 + (P + P + P + P + 2 * 2 * 32 * 4) + ff);
    assert.equal(cuda.params.frozen, 0); // the bias gets its gradient through the kernel
    // CPU, training: q * 1 and k * 1 (8-byte scalars each), the probabilities, v's contiguous copy, the merged copy.
    const cpu = est(m, { device: 'cpu' });
    assert.equal(cpu.forward_saved, norm1 + (P + P + 8 + 8 + 2 * 2 * 8 * 8 * 4 + P + P) + ff);
    assert.equal(cpu.params.frozen, 0);
  });

  test('t5_layer: a position bias of the wrong shape, or a decoder without the encoder output, is a located error', () => {
    const bad = (blocks: BlockSpec[]) => assert.throws(() => est(model(blocks)), (e: { code?: string; path?: string }) => e.code === 'E_SHAPE' && /blocks\[\d\]\.from/.test(e.path ?? ''));
    bad([pre([2, 8, 16]), { name: 'bias', type: 'parameter', shape: [1, 2, 8, 9] }, { type: 't5_layer', heads: 2, head_dim: 4, ffn_dim: 32, from: ['pre', 'bias'] }]);
    bad([pre([2, 8, 16]), bias, { type: 't5_layer', stack: 'decoder', heads: 2, head_dim: 4, ffn_dim: 32, from: ['pre', 'bias'] }]);
  });
}
