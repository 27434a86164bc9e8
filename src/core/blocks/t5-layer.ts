/**
 * T5's block (transformers 5.24 models/t5/modeling_t5.py, T5Block), written op by op against the
 * Builder so the saved tensors fall out of the per-op rules. See docs/blocks/t5_layer.md.
 */
import type { Builder, DType, T } from '../graph.js';
import type { BlockArgs, BlockModule } from './types.js';
import { need, numOrExpr } from './types.js';
import { MemplanError } from '../errors.js';
import { HF_ACTIVATIONS } from './gated-mlp.js';
import { hfActivation, hfImpl, projection, pytorchOnly, type HfAttentionImpl } from './llm-common.js';

function dtypeOf(x: T): DType {
  return (x as unknown as { dtype?: DType }).dtype ?? 'f32';
}

/**
 * T5LayerNorm: variance = x.to(float32).pow(2).mean(-1, keepdim=True); x * rsqrt(variance + eps) (x in
 * its own type: a bf16 x times the fp32 rsqrt promotes to fp32); .to(weight dtype) when the weight is
 * half precision; weight * x. Unlike LlamaRMSNorm, x itself is not upcast (the product keeps x, not a copy).
 */
export function t5LayerNorm(b: Builder, name: string, x: T, eps: number): T {
  return b.scope(name, () => {
    const d = x.shape[x.shape.length - 1]!;
    const w = b.param('weight', [d], { init: 'ones' });
    const xf = b.cast ? b.cast(x, 'f32') : x;
    const variance = b.reduce('mean', b.unary('pow', xf, { exponent: 2 }), [x.shape.length - 1], true);
    let h = b.mul(x, b.unary('rsqrt', b.unary('add_scalar', variance, { value: eps })));
    const wt = dtypeOf(w);
    if ((wt === 'bf16' || wt === 'f16') && b.cast) h = b.cast(h, wt);
    return b.mul(w, h);
  });
}

/** The fp16 clamp after each sub-layer (T5Block.forward): torch.isinf(x).any() and torch.clamp, a new tensor. */
function clampF16(b: Builder, x: T): T {
  if (dtypeOf(x) !== 'f16') return x;
  b.tensor('isinf', [...x.shape], 'bool', 'transient');
  return b.unary('clamp', x, { min: -65504, max: 65504 });
}

interface T5AttnOpts {
  heads: number;
  headDim: number;
  impl: HfAttentionImpl;
  dropout: number;
  /** The position bias as the stack passes it: [1, heads, q, k] (a permuted view, a where() result, or zeros). */
  bias: T;
  /** Decoder self-attention: sdpa's causal mask is folded into the bias with torch.where (create_position_bias_mask). */
  causal: boolean;
  /** Cross-attention: keys and values from the encoder output. */
  kv?: T;
  /**
   * The decoder's EncoderDecoderCache (use_cache, on by default): k and v are torch.cat([empty, k])
   * copies, which Seq2SeqLMOutput returns: they live until the forward is done.
   */
  cache: boolean;
  module: string;
}

/**
 * T5Attention.forward: q, k, v projections without bias, no 1/sqrt(d) scaling (scaling = 1.0), the
 * relative position bias added to the scores, then
 * - sdpa (sdpa_attention_forward): create_position_bias_mask makes the bias the float attn_mask
 *   (`.contiguous()`: a copy of the permuted view in the encoder; torch.where with the causal mask in the
 *   decoder, a new tensor; the cross-attention zeros as they are). On the CPU in training with dropout
 *   or with a bias that requires grad, PyTorch's math fallback: q * 1 and k * 1 (new tensors, kept), scores, `attn.add_(mask)` in place,
 *   softmax, dropout, probs @ v (v made contiguous, kept). Otherwise a fused kernel (no s x s tensor)
 *   that keeps the mask; on CUDA the memory-efficient one (flash takes no float mask), whose backward
 *   makes the mask's gradient, so the relative-position tables train.
 * - eager (T5's eager_attention_forward): matmul(q, k^T) * 1.0, + position_bias (+ the decoder's causal
 *   mask), softmax, dropout, probs @ v, transpose(1, 2).contiguous().
 * The output goes through o (reshape(...).contiguous() of the kernel's [b, q, h, d] output is free).
 */
function t5Attention(b: Builder, a: BlockArgs, x: T, o: T5AttnOpts): T {
  const [n, s, d] = x.shape as [number, number, number];
  const { heads: H, headDim: hd } = o;
  const src = o.kv ?? x;
  const L = src.shape[1]!;
  const split = (t: T, len: number) => b.transpose(b.reshape(t, [n, len, H, hd]), [0, 2, 1, 3]);
  const q = split(projection(b, a, `${o.module}.q`, x, H * hd, false), s);
  let k = split(projection(b, a, `${o.module}.k`, src, H * hd, false), L);
  let v = split(projection(b, a, `${o.module}.v`, src, H * hd, false), L);
  // DynamicLayer.update: torch.cat([empty, k], dim=-2), a new contiguous tensor the cache holds.
  // The model's output returns the cache: both live until the forward is done.
  if (o.cache) {
    k = b.contiguous(k);
    v = b.contiguous(v);
    a.keepUntilOutput?.(k);
    a.keepUntilOutput?.(v);
  }
  let ctx: T;
  let fusedOut = false;
  const train = !a.inference;
  if (o.impl === 'sdpa') {
    let mask: T;
    if (o.causal) {
      // torch.arange(q)[:, None] >= torch.arange(k)[None, :]: a bool [1, 1, q, k]; torch.where(causal, bias, min).
      mask = b.where(b.tensor('causal_mask', [1, 1, s, L], 'bool', 'activation'), o.bias, b.tensor('min_dtype', [1], dtypeOf(o.bias), 'activation'));
    } else {
      mask = b.contiguous(o.bias);
    }
    // PyTorch's CPU kernel takes neither dropout nor a mask that requires grad (measured, torch 2.13: a
    // trainable bias goes through the math fallback); CUDA's memory-efficient kernel takes both.
    const maskGrad = train && (b.requiresGrad?.(mask) ?? true);
    const fused = !(a.torch.device === 'cpu' && train && (o.dropout > 0 || maskGrad));
    if (fused) {
      ctx = b.sdpa(q, k, v, mask);
      fusedOut = true;
    } else {
      const scores = b.matmul(b.scale(q, 1), b.scale(k, 1), true);
      const masked = b.inplace ? b.inplace('add', scores, mask) : b.add(scores, mask);
      ctx = b.matmul(b.dropout(b.softmax(masked), o.dropout), b.contiguous(v));
    }
    b.hold?.(mask);
  } else {
    let scores = b.add(b.scale(b.matmul(q, k, true), 1), o.bias);
    if (o.causal) scores = b.add(scores, b.tensor('causal_mask', [n, 1, s, L], dtypeOf(q), 'activation'));
    ctx = b.matmul(b.dropout(b.softmax(scores), o.dropout), v);
  }
  // The fused kernels write their output [b, q, h, d] (query-major, as q was projected), so
  // transpose(1, 2).contiguous() is free there; after the math path's matmul it copies.
  const heads = b.transpose(ctx, [0, 2, 1, 3]);
  const merged = b.reshape(fusedOut ? heads : b.contiguous(heads), [n, s, H * hd]);
  const out = projection(b, a, `${o.module}.o`, merged, d, false);
  // query_states, key_states, value_states are the forward's locals until it returns.
  for (const t of [q, k, v]) b.hold?.(t);
  return out;
}

/**
 * One T5Block: `stack: encoder` (T5LayerSelfAttention, T5LayerFF; `from: [h, position_bias]`) or
 * `stack: decoder` (causal self-attention, T5LayerCrossAttention over the encoder output, T5LayerFF;
 * `from: [h, position_bias, encoder_output]`). The cross-attention has no relative bias: the first
 * decoder layer makes torch.zeros([1, heads, q, k]) and the stack passes it on; here each layer makes
 * its own, one alive at a time either way. Pre-norm T5LayerNorm sub-layers with residual
 * dropout; the feed-forward is T5DenseActDense (wi, act, dropout, wo) or with `gated: true`
 * T5DenseGatedActDense (act(wi_0(x)) * wi_1(x), dropout, wo).
 */
export const t5Layer: BlockModule = {
  type: 't5_layer',
  summary: 'T5 block (T5Block): RMS-norm self-attention with relative position bias, cross-attention (decoder), relu or gated-gelu feed-forward',
  properties: {
    stack: { enum: ['encoder', 'decoder'] },
    heads: numOrExpr,
    head_dim: numOrExpr,
    ffn_dim: numOrExpr,
    gated: { type: 'boolean' },
    activation: { enum: [...HF_ACTIVATIONS] },
    dropout: { type: 'number', minimum: 0, maximum: 1 },
    eps: { type: 'number', exclusiveMinimum: 0 },
    cache: { type: 'boolean' },
    attention: { enum: ['auto', 'eager', 'sdpa'] },
  },
  required: ['heads', 'head_dim', 'ffn_dim'],
  // T5Stack.forward's loop variable keeps a layer's input referenced until the layer returns.
  holdsInput: true,
  build(b, x, a) {
    pytorchOnly(a, 't5_layer');
    const input = need(x, 't5_layer', a.path);
    if (input.shape.length !== 3) throw new MemplanError('E_SHAPE', `t5_layer expects [batch, seq, dim], got [${input.shape.join(', ')}]`, { path: a.path });
    const [n, s, d] = input.shape as [number, number, number];
    const decoder = a.get<'encoder' | 'decoder'>('stack', 'encoder') === 'decoder';
    const heads = a.num('heads', { integer: true, min: 1 });
    const headDim = a.num('head_dim', { integer: true, min: 1 });
    const ffn = a.num('ffn_dim', { integer: true, min: 1 });
    const eps = a.get('eps', 1e-6);
    const train = !a.inference;
    const p = train ? a.get('dropout', 0.1) : 0;
    const impl = hfImpl(a);
    const bias = a.inputs[1];
    const want = decoder ? 'from: [h, position_bias, encoder_output]' : 'from: [h, position_bias]';
    const checkBias = (t: T | undefined, q: number, k: number, what: string): T => {
      const ok = t && t.shape.length === 4 && t.shape[0] === 1 && t.shape[1] === heads && t.shape[2] === q && t.shape[3] === k;
      if (!ok) {
        throw new MemplanError('E_SHAPE', `t5_layer needs ${what} [1, ${heads}, ${q}, ${k}], got ${t ? `[${t.shape.join(', ')}]` : 'none'}`, { path: `${a.path}.from`, expected: want });
      }
      return t;
    };
    const selfBias = checkBias(bias, s, s, 'the position bias');
    let enc: T | undefined;
    let crossBias: T | undefined;
    if (decoder) {
      enc = a.inputs[2];
      if (!enc || enc.shape.length !== 3 || enc.shape[0] !== n || enc.shape[2] !== d) {
        throw new MemplanError('E_SHAPE', `t5_layer (decoder) needs the encoder output [${n}, src, ${d}]`, { path: `${a.path}.from`, expected: want });
      }
      crossBias = b.tensor('cross_position_bias', [1, heads, s, enc.shape[1]!], dtypeOf(input), 'activation');
    }
    const cache = decoder && a.get('cache', true);
    const attn = { heads, headDim, impl, dropout: p, cache };
    // T5LayerSelfAttention: normed = layer_norm(h); h + dropout(SelfAttention(normed)).
    const n1 = t5LayerNorm(b, 'layer.0.layer_norm', input, eps);
    let h = b.add(input, b.dropout(t5Attention(b, a, n1, { ...attn, bias: selfBias, causal: decoder, module: 'layer.0.SelfAttention' }), p));
    b.hold?.(n1);
    h = clampF16(b, h);
    if (decoder) {
      const n2 = t5LayerNorm(b, 'layer.1.layer_norm', h, eps);
      const before = h;
      h = b.add(before, b.dropout(t5Attention(b, a, n2, { ...attn, bias: crossBias!, causal: false, kv: enc, module: 'layer.1.EncDecAttention' }), p));
      b.hold?.(n2);
      b.hold?.(before);
      b.hold?.(crossBias!);
      h = clampF16(b, h);
    }
    // T5LayerFF: forwarded = layer_norm(h); forwarded = DenseReluDense(forwarded); h + dropout(forwarded).
    const ff = decoder ? 'layer.2' : 'layer.1';
    const n3 = t5LayerNorm(b, `${ff}.layer_norm`, h, eps);
    const act = a.get('activation', a.get('gated', false) ? 'gelu_new' : 'relu');
    let inner: T;
    if (a.get('gated', false)) {
      const g = hfActivation(b, act, projection(b, a, `${ff}.DenseReluDense.wi_0`, n3, ffn, false));
      const lin = projection(b, a, `${ff}.DenseReluDense.wi_1`, n3, ffn, false);
      inner = b.mul(g, lin);
      b.hold?.(g);
      b.hold?.(lin);
    } else {
      inner = hfActivation(b, act, projection(b, a, `${ff}.DenseReluDense.wi`, n3, ffn, false));
    }
    inner = b.dropout(inner, p);
    const f = projection(b, a, `${ff}.DenseReluDense.wo`, inner, d, false);
    b.hold?.(n3);
    const out = clampF16(b, b.add(h, b.dropout(f, p)));
    b.hold?.(h);
    return out;
  },
};
