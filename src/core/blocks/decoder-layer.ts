import type { T } from '../graph.js';
import type { BlockArgs, BlockModule } from './types.js';
import { need, numOrExpr } from './types.js';
import { MemplanError } from '../errors.js';
import { HF_ACTIVATIONS } from './gated-mlp.js';
import { gatedMlp, hfActivation, hfAttention, hfImpl, layerNorm, projection, pytorchOnly, rmsNorm } from './llm-common.js';

/** Heads, kv_heads and head_dim of an attention layer over width d, checked. */
export function headsOf(a: BlockArgs, d: number): { heads: number; kvHeads: number; headDim: number } {
  const heads = a.num('heads', { integer: true, min: 1 });
  const kvHeads = a.num('kv_heads', { integer: true, min: 1, default: heads });
  const headDim = a.num('head_dim', { integer: true, min: 1, default: Math.floor(d / heads) });
  if (!a.get('head_dim', undefined) && d % heads !== 0) {
    throw new MemplanError('E_SHAPE', `dim ${d} is not divisible by heads ${heads}`, { path: `${a.path}.heads`, expected: `a divisor of ${d}, or head_dim:` });
  }
  return { heads, kvHeads, headDim };
}

function input3(x: T | undefined, a: BlockArgs, type: string): T {
  const input = need(x, type, a.path);
  if (input.shape.length !== 3) throw new MemplanError('E_SHAPE', `${type} expects [batch, seq, dim], got [${input.shape.join(', ')}]`, { path: a.path });
  return input;
}

/**
 * A decoder-only transformer layer as transformers writes it, causal self-attention and no
 * cross-attention. `style: llama` (LlamaDecoderLayer; Mistral, Qwen2): pre-norm RMSNorm, grouped-query
 * attention with rotary embeddings (`from: [h, rope]`), gated MLP, residual adds. `style: gpt2`
 * (GPT2Block): pre-norm LayerNorm, one packed c_attn projection, attention and residual dropout, a plain
 * MLP (c_fc, gelu_new, c_proj). See docs/blocks/decoder_layer.md.
 */
export const decoderLayer: BlockModule = {
  type: 'decoder_layer',
  summary: 'decoder-only transformer layer (LlamaDecoderLayer / GPT2Block): causal self-attention (GQA, rotary), RMSNorm or LayerNorm, gated or plain MLP',
  properties: {
    style: { enum: ['llama', 'gpt2'] },
    heads: numOrExpr,
    kv_heads: numOrExpr,
    head_dim: numOrExpr,
    ffn_dim: numOrExpr,
    activation: { enum: [...HF_ACTIVATIONS] },
    bias: { type: 'boolean' },
    out_bias: { type: 'boolean' },
    mlp_bias: { type: 'boolean' },
    eps: { type: 'number', exclusiveMinimum: 0 },
    dropout: { type: 'number', minimum: 0, maximum: 1 },
    attention_dropout: { type: 'number', minimum: 0, maximum: 1 },
    attention: { enum: ['auto', 'eager', 'sdpa'] },
  },
  required: ['heads', 'ffn_dim'],
  // LlamaModel.forward keeps `inputs_embeds` referenced until the layers are done.
  holdsInput: true,
  build(b, x, a) {
    pytorchOnly(a, 'decoder_layer');
    const input = input3(x, a, 'decoder_layer');
    const d = input.shape[2]!;
    const h = headsOf(a, d);
    const ffn = a.num('ffn_dim', { integer: true, min: 1 });
    const impl = hfImpl(a);
    const train = !a.inference;
    if (a.get<string>('style', 'llama') === 'gpt2') {
      const p = train ? a.get('dropout', 0.1) : 0;
      const pa = train ? a.get('attention_dropout', 0.1) : 0;
      const n1 = layerNorm(b, 'ln_1', input);
      const attn = hfAttention(b, a, n1, {
        ...h, qkvBias: true, outBias: true, causal: true, impl, dropout: pa,
        names: { q: '', k: '', v: '', o: 'attn.c_proj', packed: 'attn.c_attn' },
      });
      const hidden = b.add(b.dropout(attn, p), input);
      // Python references: the normed input lives until its sub-layer returns, the layer's input until the layer does.
      b.hold?.(n1);
      const n2 = layerNorm(b, 'ln_2', hidden);
      const f = hfActivation(b, a.get('activation', 'gelu_new'), projection(b, a, 'mlp.c_fc', n2, ffn, true));
      const out = b.add(hidden, b.dropout(projection(b, a, 'mlp.c_proj', f, d, true), p));
      b.hold?.(n2);
      b.hold?.(input);
      return out;
    }
    const eps = a.get('eps', 1e-6);
    const bias = a.get('bias', false);
    const n1 = rmsNorm(b, 'input_layernorm', input, eps);
    const attn = hfAttention(b, a, n1, {
      ...h, qkvBias: bias, outBias: a.get('out_bias', false), causal: true, impl, dropout: train ? a.get('attention_dropout', 0) : 0,
      rope: a.inputs[1], names: { q: 'self_attn.q_proj', k: 'self_attn.k_proj', v: 'self_attn.v_proj', o: 'self_attn.o_proj' },
    });
    b.hold?.(n1);
    const hidden = b.add(input, attn);
    const n2 = rmsNorm(b, 'post_attention_layernorm', hidden, eps);
    const m = gatedMlp(b, a, n2, ffn, a.get('activation', 'silu'), a.get('mlp_bias', false));
    b.hold?.(n2);
    const out = b.add(hidden, m);
    b.hold?.(input);
    return out;
  },
};

/**
 * An encoder transformer layer as transformers writes BERT / RoBERTa / XLM-R (`style: bert`: post-norm,
 * BertLayer), ViT (`style: vit`: pre-norm, ViTLayer) and ESM (`style: esm`: pre-norm with rotary
 * embeddings from `from: [h, rope]` and q scaled before them, EsmLayer): separate query / key / value
 * projections with biases, bidirectional attention (sdpa by default; with attention dropout on the CPU
 * PyTorch's math fallback), dense + dropout + residual, a GELU MLP. See docs/blocks/encoder_layer.md.
 */
export const encoderLayer: BlockModule = {
  type: 'encoder_layer',
  summary: 'encoder transformer layer (BertLayer, ViTLayer, EsmLayer): bidirectional self-attention, LayerNorm (post- or pre-norm), GELU MLP',
  properties: {
    style: { enum: ['bert', 'vit', 'esm'] },
    heads: numOrExpr,
    bias: { type: 'boolean' },
    head_dim: numOrExpr,
    ffn_dim: numOrExpr,
    activation: { enum: [...HF_ACTIVATIONS] },
    dropout: { type: 'number', minimum: 0, maximum: 1 },
    attention_dropout: { type: 'number', minimum: 0, maximum: 1 },
    attention: { enum: ['auto', 'eager', 'sdpa'] },
  },
  required: ['heads', 'ffn_dim'],
  // The model's forward keeps the embedding output referenced until the encoder returns.
  holdsInput: true,
  build(b, x, a) {
    pytorchOnly(a, 'encoder_layer');
    const input = input3(x, a, 'encoder_layer');
    const d = input.shape[2]!;
    const h = headsOf(a, d);
    const ffn = a.num('ffn_dim', { integer: true, min: 1 });
    const style = a.get<'bert' | 'vit' | 'esm'>('style', 'bert');
    const train = !a.inference;
    const p = train ? a.get('dropout', 0.1) : 0;
    const pa = train ? a.get('attention_dropout', 0.1) : 0;
    const act = a.get('activation', 'gelu');
    // transformers 5 writes ViT's attention as q_proj/k_proj/v_proj/o_proj and its MLP as mlp.fc1/fc2.
    const names =
      style === 'vit'
        ? { q: 'attention.q_proj', k: 'attention.k_proj', v: 'attention.v_proj', o: 'attention.o_proj', fc1: 'mlp.fc1', fc2: 'mlp.fc2' }
        : { q: 'attention.self.query', k: 'attention.self.key', v: 'attention.self.value', o: 'attention.output.dense', fc1: 'intermediate.dense', fc2: 'output.dense' };
    const attend = (t: T) =>
      hfAttention(b, a, t, {
        ...h, kvHeads: h.heads, qkvBias: a.get('bias', true), outBias: true, causal: false, impl: hfImpl(a), dropout: pa,
        rope: style === 'esm' ? a.inputs[1] : undefined, scaleQueryFirst: style === 'esm', names,
      });
    const ffnOut = (t: T) => b.dropout(projection(b, a, names.fc2, hfActivation(b, act, projection(b, a, names.fc1, t, ffn, true)), d, true), p);
    // Python references: the layer's argument lives until the layer returns (the encoder loop's variable),
    // the feed-forward's normed input until the feed-forward returns.
    let out: T;
    if (style === 'bert') {
      const hidden = layerNorm(b, 'attention.output.LayerNorm', b.add(b.dropout(attend(input), p), input));
      out = layerNorm(b, 'output.LayerNorm', b.add(ffnOut(hidden), hidden));
    } else {
      const [ln1, ln2] = style === 'vit' ? ['layernorm_before', 'layernorm_after'] : ['attention.LayerNorm', 'LayerNorm'];
      const hidden = b.add(b.dropout(attend(layerNorm(b, ln1, input)), p), input);
      const normed = layerNorm(b, ln2, hidden);
      out = b.add(ffnOut(normed), hidden);
      b.hold?.(normed);
    }
    b.hold?.(input);
    return out;
  },
};
