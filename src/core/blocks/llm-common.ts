/**
 * The pieces of Hugging Face `transformers` layers, written once against the Builder so the saved
 * tensors fall out of the per-op rules: projections (nn.Linear, with a PEFT LoRA adapter and/or a
 * bitsandbytes quantised base weight), multi-head / grouped-query attention (eager_attention_forward
 * and sdpa_attention_forward), rotary embeddings (apply_rotary_pos_emb, rotate_half), the KV cache of
 * an inference pass (DynamicCache), RMSNorm (LlamaRMSNorm) and the gated MLP (LlamaMLP). What each
 * follows in the library source is said where it is used; docs/llm.md lists the facts and sources.
 */
import type { ActKind, Builder, DType, T } from '../graph.js';
import { MemplanError } from '../errors.js';
import { loraTargets, type LoraSpec } from '../llm.js';
import type { BlockArgs } from './types.js';

/** The assembler's builder also carries the `frozen` switch; LoRA adapters are made with it off. */
type Steerable = Builder & { frozen?: boolean };

/** The LLM blocks model PyTorch modules: the tfjs twin has none of them. */
export function pytorchOnly(a: BlockArgs, type: string): void {
  if (a.torch.runtime === 'tfjs') {
    throw new MemplanError('E_CONFIG', `${type} is a PyTorch / Hugging Face layer; the tfjs runtime does not model it`, { path: a.path, expected: 'runtime: pytorch' });
  }
}

function last(x: T): number {
  return x.shape[x.shape.length - 1]!;
}

function dtypeOf(x: T): DType {
  return (x as unknown as { dtype?: DType }).dtype ?? 'f32';
}

/**
 * nn.Linear(in, out) named `module` (the Hugging Face module path, e.g. `self_attn.q_proj`), as PEFT and
 * bitsandbytes wrap it. With `quantization` the base weight is bitsandbytes storage (int8: 1 B per
 * weight + an fp32 scale per output row; nf4/fp4: 2 weights per byte + an fp32 absmax per 64 weights,
 * or with double quantisation a uint8 absmax, an fp32 absmax per 256 of those, a 256-entry code and an
 * offset; plus the 16-entry 4-bit code). With a LoRA target the adapter adds
 * `result + lora_B(lora_A(dropout(x))) * scaling` (peft/tuners/lora/layer.py, Linear.forward).
 */
export function projection(b: Builder, a: BlockArgs, module: string, x: T, out: number, bias: boolean, opts: { quantize?: boolean } = {}): T {
  const inF = last(x);
  const quant = opts.quantize === false ? undefined : a.llm?.quant;
  let y: T;
  if (quant && b.quantLinear && b.cast) {
    const n = inF * out;
    y = b.scope(module, () => {
      const u8 = (name: string, shape: number[], logical: number) => b.param(name, shape, { dtype: 'u8', logical });
      const f32 = (name: string, shape: number[]) => b.param(name, shape, { dtype: 'f32', logical: 0 });
      let qw: T;
      if (quant.weights === 'int8') {
        qw = u8('weight', [n], n);
        f32('SCB', [out]);
      } else {
        qw = u8('weight', [Math.ceil(n / 2)], n);
        const blocks = Math.ceil(n / 64);
        if (quant.double_quant) {
          u8('absmax', [blocks], 0);
          f32('state2.absmax', [Math.ceil(blocks / 256)]);
          f32('state2.code', [256]);
          f32('offset', [1]);
        } else {
          f32('absmax', [blocks]);
        }
        f32('code', [16]);
      }
      const bt = bias ? b.param('bias', [out], { init: 'zeros' }) : undefined;
      const inType = dtypeOf(x);
      // Linear4bit.forward: x.to(compute_dtype), matmul_4bit, .to(inp_dtype).
      const compute: DType = quant.weights === 'int8' ? inType : quant.compute;
      const r = b.quantLinear!(b.cast!(x, compute), qw, [inF, out], quant.weights, bt, quant.double_quant);
      return b.cast!(r, inType);
    });
  } else {
    y = b.scope(module, () => b.linear(x, b.param('weight', [inF, out], { matmul: true }), bias ? b.param('bias', [out], { init: 'zeros' }) : undefined));
  }
  const lora = a.llm?.lora;
  if (lora && loraTargets(lora, module)) y = loraAdapter(b, lora, module, x, y, out, !!quant);
  return y;
}

/**
 * The LoRA adapter of one projection. Its weights train (made with the builder's frozen switch off);
 * over a quantised base they stay fp32 (PEFT does not cast adapters to an integer base type), and the
 * input is cast to their type first (`_cast_input_dtype`).
 */
function loraAdapter(b: Builder, lora: LoraSpec, module: string, x: T, y: T, out: number, fp32: boolean): T {
  const s = b as Steerable;
  const was = s.frozen;
  s.frozen = false;
  try {
    return b.scope(module, () => {
      const inF = last(x);
      const dtype: DType | undefined = fp32 ? 'f32' : undefined;
      const A = b.param('lora_A.weight', [inF, lora.r], { matmul: true, ...(dtype ? { dtype } : {}) });
      const B = b.param('lora_B.weight', [lora.r, out], { matmul: true, init: 'zeros', ...(dtype ? { dtype } : {}) });
      const xa = dtype && b.cast ? b.cast(x, dtype) : x;
      const h = b.linear(b.linear(b.dropout(xa, lora.dropout), A), B);
      const sum = b.add(y, b.scale(h, lora.alpha / lora.r));
      // result.to(torch_result_dtype)
      return b.cast ? b.cast(sum, dtypeOf(y)) : sum;
    });
  } finally {
    s.frozen = was;
  }
}

/** LlamaRMSNorm / T5LayerNorm: x.to(float32), x * rsqrt(mean(x^2) + eps), .to(input dtype), weight * x. */
export function rmsNorm(b: Builder, name: string, x: T, eps = 1e-6): T {
  return b.scope(name, () => {
    const w = b.param('weight', [last(x)], { init: 'ones' });
    const inType = dtypeOf(x);
    const xf = b.cast ? b.cast(x, 'f32') : x;
    const variance = b.reduce('mean', b.unary('pow', xf, { exponent: 2 }), [x.shape.length - 1], true);
    const h = b.mul(xf, b.unary('rsqrt', b.unary('add_scalar', variance, { value: eps })));
    return b.mul(w, b.cast ? b.cast(h, inType) : h);
  });
}

/** nn.LayerNorm over the last axis, with Hugging Face's parameter names. */
export function layerNorm(b: Builder, name: string, x: T): T {
  const d = last(x);
  return b.scope(name, () => b.layerNorm(x, b.param('weight', [d], { init: 'ones' }), b.param('bias', [d], { init: 'zeros' })));
}

/**
 * An activation as Hugging Face's ACT2FN runs it: `silu`, `gelu` (exact, F.gelu), `relu` are one op;
 * `gelu_new` (GPT-2's NewGELUActivation) is Python arithmetic:
 * 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3))), each step a tensor of its own.
 */
export function hfActivation(b: Builder, kind: string, x: T): T {
  // The Python function's argument keeps x alive until it returns (b.hold).
  if (kind === 'gelu_new' || kind === 'gelu_fast') {
    // Python evaluates 0.5 * input first.
    const half = b.scale(x, 0.5);
    const inner = b.scale(b.add(x, b.scale(b.unary('pow', x, { exponent: 3 }), 0.044715)), Math.sqrt(2 / Math.PI));
    const y = b.mul(half, b.unary('add_scalar', b.act('tanh', inner), { value: 1 }));
    b.hold?.(x);
    return y;
  }
  if (kind === 'gelu_erf') {
    // ESM's own gelu: x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0))) (modeling_esm.py).
    const half = b.scale(x, 0.5);
    const y = b.mul(half, b.unary('add_scalar', b.unary('erf', b.scale(x, Math.SQRT1_2)), { value: 1 }));
    b.hold?.(x);
    return y;
  }
  const act: ActKind = kind === 'silu' || kind === 'swish' ? 'silu' : kind === 'relu' ? 'relu' : kind === 'tanh' ? 'tanh' : 'gelu';
  return b.act(act, x);
}

/** LlamaMLP: down_proj(act(gate_proj(x)) * up_proj(x)). */
export function gatedMlp(b: Builder, a: BlockArgs, x: T, ffn: number, act: string, bias: boolean, prefix = 'mlp'): T {
  const d = last(x);
  const g = hfActivation(b, act, projection(b, a, `${prefix}.gate_proj`, x, ffn, bias));
  const u = projection(b, a, `${prefix}.up_proj`, x, ffn, bias);
  return projection(b, a, `${prefix}.down_proj`, b.mul(g, u), d, bias);
}

/** cos and sin of a rotary block's output [2, 1, seq, head_dim], as [1, 1, seq, head_dim] views (unsqueeze(1)). */
function cosSin(b: Builder, rope: T): [T, T] {
  const [, , s, hd] = rope.shape as [number, number, number, number];
  const pick = (i: number) => b.reshape(b.slice(rope, 0, i, 1, true), [1, 1, s, hd]);
  return [pick(0), pick(1)];
}

/** apply_rotary_pos_emb for one of q / k: (x * cos) + (rotate_half(x) * sin), rotate_half = cat(-x2, x1). */
function applyRotary(b: Builder, x: T, cos: T, sin: T): T {
  const hd = last(x);
  const h = hd / 2;
  const ax = x.shape.length - 1;
  const rotated = b.concat([b.unary('neg', b.slice(x, ax, h, h)), b.slice(x, ax, 0, h)], ax);
  return b.add(b.mul(x, cos), b.mul(rotated, sin));
}

export type HfAttentionImpl = 'eager' | 'sdpa';

export interface AttentionOpts {
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Bias on q, k, v (Qwen2, BERT, GPT-2), and on the output projection. */
  qkvBias: boolean;
  outBias: boolean;
  causal: boolean;
  impl: HfAttentionImpl;
  /** Attention-probability dropout in training. */
  dropout: number;
  /** The rotary block's cos/sin ([2, 1, seq, head_dim]) when the model is rotary. */
  rope?: T;
  /** Module names: q, k, v, o, or `packed` (GPT-2's c_attn, one projection split three ways). */
  names: { q: string; k: string; v: string; o: string; packed?: string };
  /** ESM scales q by head_dim^-0.5 before the rotary embedding (and attends with scale 1). */
  scaleQueryFirst?: boolean;
}

/**
 * One attention sub-layer as the Hugging Face modules run it: projections, heads (view + transpose),
 * rotary, the KV cache (inference), then
 * - `sdpa` (sdpa_attention_forward): F.scaled_dot_product_attention; grouped-query heads go in as they
 *   are (enable_gqa: no repeat_kv copy when there is no mask); on the CPU with attention dropout in
 *   training PyTorch runs its math fallback (s x s probabilities, dropout mask); fused kernels keep q,
 *   k, v, the output and a logsumexp. Their output is laid out [b, s, h, d], so the transpose back is free.
 * - `eager` (eager_attention_forward): repeat_kv (expand + reshape: a copy per k and v with GQA),
 *   q k^T * scaling, + the causal mask (a [b, 1, s, kv] float tensor), softmax in fp32, dropout,
 *   probs @ v, transpose(1, 2).contiguous() (a copy).
 */
export function hfAttention(b: Builder, a: BlockArgs, x: T, o: AttentionOpts): T {
  const [n, s, d] = x.shape as [number, number, number];
  const { heads: H, kvHeads: KV, headDim: hd } = o;
  if (H % KV !== 0) {
    throw new MemplanError('E_SHAPE', `heads ${H} is not a multiple of kv_heads ${KV}`, { path: `${a.path}.kv_heads`, expected: `a divisor of ${H}` });
  }
  const split = (t: T, h: number) => b.transpose(b.reshape(t, [n, s, h, hd]), [0, 2, 1, 3]);
  let q: T, k: T, v: T;
  if (o.names.packed) {
    const qkv = projection(b, a, o.names.packed, x, (H + 2 * KV) * hd, o.qkvBias);
    const cut = (i: number, w: number) => b.slice(qkv, 2, i, w);
    [q, k, v] = [split(cut(0, H * hd), H), split(cut(H * hd, KV * hd), KV), split(cut((H + KV) * hd, KV * hd), KV)];
  } else {
    q = split(projection(b, a, o.names.q, x, H * hd, o.qkvBias), H);
    k = split(projection(b, a, o.names.k, x, KV * hd, o.qkvBias), KV);
    v = split(projection(b, a, o.names.v, x, KV * hd, o.qkvBias), KV);
  }
  if (o.scaleQueryFirst) q = b.scale(q, hd ** -0.5);
  if (o.rope) {
    const [cos, sin] = cosSin(b, o.rope);
    q = applyRotary(b, q, cos, sin);
    k = applyRotary(b, k, cos, sin);
  }
  // DynamicCache.update: cat(cache, new) along the sequence: a new tensor of `context` tokens per k and v,
  // held by the cache for the rest of the generation; the previous one goes after the cat.
  const kv = a.llm?.kv;
  let L = s;
  if (kv && a.inference) {
    const past = kv.context - s;
    if (past < 0) {
      throw new MemplanError('E_CONFIG', `kv_cache.context ${kv.context} is shorter than the ${s} tokens of this pass`, { path: 'kv_cache.context', expected: `at least ${s} (the sequence of this pass)` });
    }
    const dt = kv.dtype ?? dtypeOf(k);
    const cached = (name: string) => {
      if (past > 0) b.tensor(`${name}_cache_before`, [n, KV, past, hd], dt, 'transient');
      return b.tensor(`${name}_cache`, [n, KV, kv.context, hd], dt, 'persistent');
    };
    k = cached('key');
    v = cached('value');
    L = kv.context;
  }
  const scaling = o.scaleQueryFirst ? 1 : hd ** -0.5;
  const rep = H / KV;
  let merged: T;
  const fused = o.impl === 'sdpa' && !(a.torch.device === 'cpu' && o.dropout > 0 && !a.inference);
  if (o.impl === 'sdpa') {
    // Grouped-query heads: sdpa reads the kv_heads tensors (enable_gqa), modelled as a view; the math
    // fallback repeats them (repeat_interleave, a copy).
    const widen = (t: T, copy: boolean) => {
      if (rep === 1) return t;
      const e = b.expand(b.reshape(t, [n, KV, 1, L, hd]), [n, KV, rep, L, hd]);
      return b.reshape(copy ? b.contiguous(e) : e, [n, H, L, hd]);
    };
    if (fused) {
      const ctx = b.sdpa(q, widen(k, false), widen(v, false));
      merged = b.reshape(b.transpose(ctx, [0, 2, 1, 3]), [n, s, H * hd]);
    } else {
      const c = Math.sqrt(scaling);
      // probs @ v reshapes a strided v (a transposed view) into a copy, which is what it keeps for backward.
      const kk = widen(k, true), vv = b.contiguous(widen(v, true));
      const ctx = b.sdpaMath ? b.sdpaMath(q, kk, vv, o.dropout, c) : b.matmul(b.dropout(b.softmax(b.matmul(b.scale(q, c), b.scale(kk, c), true)), o.dropout), vv);
      merged = b.reshape(b.contiguous(b.transpose(ctx, [0, 2, 1, 3])), [n, s, H * hd]);
    }
  } else {
    const repeat = (t: T) => (rep === 1 ? t : b.reshape(b.contiguous(b.expand(b.reshape(t, [n, KV, 1, L, hd]), [n, KV, rep, L, hd])), [n, H, L, hd]));
    // repeat_kv is a copy when 1 < kv_heads < heads; with one kv head (multi-query) it is a stride-0 view and
    // the copy happens inside each matmul (torch.matmul folds the batch axes), so v is repeated only at probs @ v.
    const mqa = KV === 1;
    const kr = repeat(k);
    let vr = mqa ? v : repeat(v);
    let scores = b.matmul(q, kr, true);
    if (scaling !== 1) scores = b.scale(scores, scaling);
    if (o.causal) scores = b.add(scores, b.tensor('causal_mask', [n, 1, s, L], dtypeOf(q), 'activation'));
    const qType = dtypeOf(q);
    const probs = b.cast ? b.cast(b.softmax(b.cast(scores, 'f32')), qType) : b.softmax(scores);
    if (mqa) vr = repeat(v);
    const ctx = b.matmul(b.dropout(probs, o.dropout), vr);
    merged = b.reshape(b.contiguous(b.transpose(ctx, [0, 2, 1, 3])), [n, s, H * hd]);
  }
  const out = projection(b, a, o.names.o, merged, d, o.outBias);
  // The attention forward's locals (query_states, key_states, value_states) live until it returns; with a
  // cache, key_states / value_states are the cache's tensors.
  for (const t of kv && a.inference ? [q] : [q, k, v]) b.hold?.(t);
  return out;
}

/** The attention implementation: the block's `attention`, else the run's, else sdpa (transformers' default). */
export function hfImpl(a: BlockArgs): HfAttentionImpl {
  const own = a.get<'auto' | 'eager' | 'sdpa'>('attention', 'auto');
  const set = own !== 'auto' ? own : a.attention;
  return set === 'eager' ? 'eager' : 'sdpa';
}
