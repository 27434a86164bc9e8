import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Helpers from '../helpers.js';

/** Registered by ./all.test.ts. Decoder-only layers (Llama, GPT-2 styles) and the KV cache of inference. */
export default function register(h: typeof Helpers): void {
  const { comp, est, model, pre } = h;
  const llama = { type: 'decoder_layer', heads: 4, kv_heads: 2, head_dim: 8, ffn_dim: 64 };
  test('decoder_layer: parameters of the Llama and GPT-2 layouts', () => {
    // q, k, v, o (no bias) + gate, up, down + two RMSNorm weights.
    assert.equal(est(model([pre([2, 8, 32]), llama])).blocks[1]!.params, 32 * 32 * 2 + 32 * 16 * 2 + 3 * 32 * 64 + 2 * 32);
    // ln_1, c_attn (3d, bias), c_proj, ln_2, c_fc, c_proj, all with bias.
    const gpt2 = est(model([pre([2, 8, 32]), { type: 'decoder_layer', style: 'gpt2', heads: 4, ffn_dim: 128 }]));
    assert.equal(gpt2.blocks[1]!.params, 2 * 32 + (32 * 96 + 96) + (32 * 32 + 32) + 2 * 32 + (32 * 128 + 128) + (128 * 32 + 32));
  });

  test('the KV cache: batch x layers x 2 x kv_heads x head_dim x context x bytes, held as buffers; decode saves nothing', () => {
    const m = model([pre([3, 'seq', 32]), { ...llama, repeat: 2 }], { seq: 8 });
    const decode = est(m, { mode: 'inference', batch_size: 3, dims: { seq: 1 }, kv_cache: 100 });
    assert.equal(comp(decode, 'buffers'), 3 * 2 * 2 * 2 * 8 * 100 * 4);
    assert.equal(decode.forward_saved, 0);
    // bf16 weights and activations: a bf16 cache.
    assert.equal(comp(est(m, { mode: 'inference', batch_size: 3, precision: 'bf16', dims: { seq: 1 }, kv_cache: 100 }), 'buffers'), 3 * 2 * 2 * 2 * 8 * 100 * 2);
    assert.throws(() => est(m, { mode: 'inference', batch_size: 3, kv_cache: 4 }), { code: 'E_CONFIG' }); // shorter than the 8 new tokens
    assert.throws(() => est(m, { kv_cache: 100 }), { code: 'E_CONFIG' }); // a cache is an inference setting
  });
}
