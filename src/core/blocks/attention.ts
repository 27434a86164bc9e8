import type { Builder, T } from '../graph.js';
import { MemplanError } from '../errors.js';
import type { BlockArgs, BlockModule } from './types.js';
import { need, numOrExpr } from './types.js';

/**
 * `eager`: q k^T, softmax, dropout, @ v as written out (PyTorch 1.x nn.MultiheadAttention, and
 * hand-written attention); `math`: PyTorch 2's scaled_dot_product_attention fallback (CPU with
 * attention dropout in training), which also scales q and k into new tensors; `sdpa`: the fused
 * kernels (flash / memory-efficient on CUDA, flash on CPU): q, k, v, the output and a logsumexp.
 */
export type AttentionImpl = 'eager' | 'sdpa' | 'math';

/**
 * What a stock nn.MultiheadAttention (need_weights=False, as nn.TransformerEncoderLayer calls it) runs:
 * PyTorch 2 routes it through scaled_dot_product_attention, fused on CUDA, and on the CPU fused unless
 * attention dropout is active (then the math fallback); PyTorch 1.13 runs it eagerly (measured, see
 * docs/memory-model.md). An explicit block or run setting wins.
 */
export function stockAttention(a: BlockArgs, p: number): AttentionImpl {
  const own = a.get<'auto' | 'eager' | 'sdpa'>('attention', 'auto');
  const set = own !== 'auto' ? own : a.attention;
  if (set !== 'auto') return set;
  if (a.torch.runtime === 'tfjs' || a.torch.version !== '2') return 'eager';
  if (a.torch.device === 'cuda') return 'sdpa';
  // In eval mode (inference, or `eval: true`) attention dropout is off: the fused kernel.
  return p > 0 && !a.eval ? 'math' : 'sdpa';
}

/** Hand-written attention (the `attention` block): eager unless sdpa is asked for. */
export function handAttention(a: BlockArgs): AttentionImpl {
  const own = a.get<'auto' | 'eager' | 'sdpa'>('impl', 'auto');
  const set = own !== 'auto' ? own : a.attention;
  return set === 'sdpa' ? 'sdpa' : 'eager';
}

/**
 * Multi-head attention over x[batch, seq, dim] (keys/values from `kv`, or x itself). eager
 * materialises [batch, heads, s, s] scores and probabilities (softmax saves the probabilities,
 * attention dropout a mask, and probs @ V the dropped probabilities); sdpa saves q, k, v, the output
 * and a per-row logsumexp. `packed`: nn.MultiheadAttention's single in_proj matmul: q, k and v are
 * slices of one [.., 3 * dim] tensor (one autocast copy of the input, and whatever keeps one of them
 * keeps all three), a time-first copy of a batch_first input.
 */
export function multiHeadAttention(b: Builder, x: T, kv: T, heads: number, impl: AttentionImpl, p: number, path: string, packed = false): T {
  const [n, s, d] = x.shape as [number, number, number];
  const sk = kv.shape[1]!;
  if (x.shape.length !== 3) {
    throw new MemplanError('E_SHAPE', `attention expects [batch, seq, dim], got [${x.shape.join(', ')}]`, { path });
  }
  if (d % heads !== 0) {
    throw new MemplanError('E_SHAPE', `attention: dim ${d} is not divisible by heads ${heads}`, {
      path: `${path}.heads`,
      expected: `a divisor of ${d}`,
    });
  }
  const dh = d / heads;
  const proj = (name: string, t: T, width = d) =>
    b.linear(t, b.param(`${name}.weight`, [d, width], { matmul: true }), b.param(`${name}.bias`, [width], { init: 'zeros' }));
  const split = (t: T, len: number) => b.transpose(b.reshape(t, [n, len, heads, dh]), [0, 2, 1, 3]);
  // nn.MultiheadAttention(batch_first=True) saves a contiguous [seq, batch, dim] copy of its inputs.
  const copy = packed ? b.timeFirstCopy?.bind(b) : undefined;
  const xq = copy ? copy(x) : x;
  const xkv = kv === x ? xq : copy ? copy(kv) : kv;
  let q: T, k: T, v: T;
  if (packed && b.quirks) {
    // One in_proj matmul (q, k, v as slices of it), or for cross-attention q alone and k, v packed.
    const cut = (t: T, i: number) => b.slice(t, 2, i * d, d);
    if (kv === x) {
      const qkv = proj('in_proj', xq, 3 * d);
      [q, k, v] = [split(cut(qkv, 0), s), split(cut(qkv, 1), sk), split(cut(qkv, 2), sk)];
    } else {
      const kvp = proj('in_proj_kv', xkv, 2 * d);
      [q, k, v] = [split(proj('in_proj_q', xq), s), split(cut(kvp, 0), sk), split(cut(kvp, 1), sk)];
    }
  } else {
    // nn.MultiheadAttention (packed in_proj): under autocast its input is cast once for q, k and v.
    const share = packed ? b.shareCasts?.bind(b) : undefined;
    const project = (): [T, T, T] => [split(proj('q', xq), s), split(proj('k', xkv), sk), split(proj('v', xkv), sk)];
    [q, k, v] = share ? share(project) : project();
  }
  let ctx: T;
  if (impl === 'sdpa') {
    ctx = b.sdpa(q, k, v);
  } else if (impl === 'math') {
    // at::_scaled_dot_product_attention_math: q and k each scaled by sqrt(1/sqrt(dh)) into new tensors.
    const c = Math.sqrt(1 / Math.sqrt(dh));
    if (b.sdpaMath) {
      ctx = b.sdpaMath(q, k, v, p, c);
    } else {
      const probs = b.dropout(b.softmax(b.matmul(b.scale(q, c), b.scale(k, c), true)), p);
      ctx = b.matmul(probs, v);
    }
  } else {
    const scores = b.scale(b.matmul(q, k, true), 1 / Math.sqrt(dh));
    const probs = b.dropout(b.softmax(scores), p);
    ctx = b.matmul(probs, v);
  }
  // The stock module's contiguous() copies the memory-efficient kernel's batch-first output (CUDA).
  if (packed && impl === 'sdpa' && b.sdpaTimeFirst) ctx = b.sdpaTimeFirst(ctx);
  const merged = b.reshape(b.transpose(ctx, [0, 2, 1, 3]), [n, s, d]);
  return proj(packed && b.quirks ? 'out_proj' : 'out', merged);
}

export const attention: BlockModule = {
  type: 'attention',
  summary: 'multi-head self-attention written out (eager s x s, or sdpa/flash) with q, k, v and output projections',
  properties: {
    heads: numOrExpr,
    impl: { enum: ['auto', 'eager', 'sdpa'] },
    dropout: { type: 'number', minimum: 0, maximum: 1 },
  },
  required: ['heads'],
  build(b, x, a) {
    const input = need(x, 'attention', a.path);
    const heads = a.num('heads', { integer: true, min: 1 });
    return multiHeadAttention(b, input, input, heads, handAttention(a), a.get('dropout', 0), a.path);
  },
};
