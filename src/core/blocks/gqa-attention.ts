import type { BlockModule } from './types.js';
import { need, numOrExpr } from './types.js';
import { MemplanError } from '../errors.js';
import { hfAttention, hfImpl, pytorchOnly } from './llm-common.js';

/**
 * Multi-head, grouped-query (kv_heads < heads) or multi-query (kv_heads: 1) self-attention as
 * transformers' LlamaAttention runs it: q, k, v, o projections (k and v are kv_heads x head_dim wide),
 * rotary embeddings from `from: [x, rope]`, the KV cache in inference, then sdpa (default) or eager
 * attention; causal by default. See docs/blocks/gqa_attention.md.
 */
export const gqaAttention: BlockModule = {
  type: 'gqa_attention',
  summary: 'grouped-query / multi-query self-attention (LlamaAttention): kv_heads, rotary (from: [x, rope]), eager or sdpa, KV cache',
  properties: {
    heads: numOrExpr,
    kv_heads: numOrExpr,
    head_dim: numOrExpr,
    bias: { type: 'boolean' },
    out_bias: { type: 'boolean' },
    causal: { type: 'boolean' },
    dropout: { type: 'number', minimum: 0, maximum: 1 },
    attention: { enum: ['auto', 'eager', 'sdpa'] },
  },
  required: ['heads'],
  build(b, x, a) {
    pytorchOnly(a, 'gqa_attention');
    const input = need(x, 'gqa_attention', a.path);
    if (input.shape.length !== 3) throw new MemplanError('E_SHAPE', `gqa_attention expects [batch, seq, dim], got [${input.shape.join(', ')}]`, { path: a.path });
    const d = input.shape[2]!;
    const heads = a.num('heads', { integer: true, min: 1 });
    const bias = a.get('bias', false);
    return hfAttention(b, a, input, {
      heads,
      kvHeads: a.num('kv_heads', { integer: true, min: 1, default: heads }),
      headDim: a.num('head_dim', { integer: true, min: 1, default: Math.floor(d / heads) }),
      qkvBias: bias,
      outBias: a.get('out_bias', bias),
      causal: a.get('causal', true),
      impl: hfImpl(a),
      dropout: a.inference ? 0 : a.get('dropout', 0),
      rope: a.inputs[1],
      names: { q: 'q_proj', k: 'k_proj', v: 'v_proj', o: 'o_proj' },
    });
  },
};
