import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Helpers from '../helpers.js';

/** Registered by ./all.test.ts. BERT / ViT / ESM encoder layers. */
export default function register(h: typeof Helpers): void {
  const { est, model, pre } = h;
  const layer = (extra: Record<string, unknown> = {}) => ({ type: 'encoder_layer', heads: 4, ffn_dim: 128, ...extra });
  test('encoder_layer: q, k, v, o with biases, two LayerNorms, a two-layer GELU MLP, in every style', () => {
    const P = 4 * (32 * 32 + 32) + 2 * 2 * 32 + (32 * 128 + 128) + (128 * 32 + 32);
    for (const style of ['bert', 'vit', 'esm']) assert.equal(est(model([pre([2, 8, 32]), layer({ style })])).blocks[1]!.params, P, style);
    assert.equal(est(model([pre([2, 8, 32]), layer({ style: 'vit', bias: false })])).blocks[1]!.params, P - 3 * 32);
  });

  test('bert in training on CUDA: sdpa with dropout is fused (no s x s); without dropout the same', () => {
    const a = est(model([pre([2, 8, 32]), layer({ dropout: 0, attention_dropout: 0 })])).forward_saved;
    const X = 2 * 8 * 32 * 4, F = 2 * 8 * 128 * 4, LN = 2 * 16 * 4;
    // x (q, k, v), q, k, v, output, logsumexp, LayerNorm input + stats, its output (intermediate, residual),
    // the intermediate output (gelu), the gelu output (output.dense), the second LayerNorm input + stats.
    // (fp32 on CUDA: the memory-efficient kernel pads the logsumexp rows to 32.)
    assert.equal(a, X + 3 * X + X + 2 * 4 * 32 * 4 + X + LN + X + F + F + X + LN);
  });
}
