import type { Builder, T } from '../graph.js';
import { MemplanError } from '../errors.js';
import type { BlockModule } from './types.js';
import { need, numOrExpr } from './types.js';

export type AttentionImpl = 'eager' | 'sdpa';

/**
 * Multi-head attention over x[batch, seq, dim] (keys/values from `kv`, or x itself).
 * eager materialises [batch, heads, s, s] scores and probabilities (softmax saves the probabilities,
 * attention dropout a mask, and probs @ V the dropped probabilities); sdpa (flash / memory-efficient)
 * saves q, k, v, the output and a per-row logsumexp. `packed`: the projections behave as
 * nn.MultiheadAttention's single in_proj matmul (one autocast copy of the input, not three).
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
  const proj = (name: string, t: T) =>
    b.linear(t, b.param(`${name}.weight`, [d, d], { matmul: true }), b.param(`${name}.bias`, [d], { init: 'zeros' }));
  const split = (t: T, len: number) => b.transpose(b.reshape(t, [n, len, heads, dh]), [0, 2, 1, 3]);
  // nn.MultiheadAttention (packed in_proj): under autocast its input is cast once for q, k and v.
  const share = packed ? b.shareCasts?.bind(b) : undefined;
  // nn.MultiheadAttention(batch_first=True) saves a contiguous [seq, batch, dim] copy of its inputs.
  const copy = packed ? b.timeFirstCopy?.bind(b) : undefined;
  const xq = copy ? copy(x) : x;
  const xkv = kv === x ? xq : copy ? copy(kv) : kv;
  const project = (): [T, T, T] => [split(proj('q', xq), s), split(proj('k', xkv), sk), split(proj('v', xkv), sk)];
  const [q, k, v] = share ? share(project) : project();
  let ctx: T;
  if (impl === 'sdpa') {
    ctx = b.sdpa(q, k, v);
  } else {
    const scores = b.scale(b.matmul(q, k, true), 1 / Math.sqrt(dh));
    const probs = b.dropout(b.softmax(scores), p);
    ctx = b.matmul(probs, v);
  }
  const merged = b.reshape(b.transpose(ctx, [0, 2, 1, 3]), [n, s, d]);
  return proj('out', merged);
}

export const attention: BlockModule = {
  type: 'attention',
  summary: 'multi-head self-attention (eager s x s, or sdpa/flash) with q, k, v and output projections',
  properties: {
    heads: numOrExpr,
    impl: { enum: ['eager', 'sdpa'] },
    dropout: { type: 'number', minimum: 0, maximum: 1 },
  },
  required: ['heads'],
  build(b, x, a) {
    const input = need(x, 'attention', a.path);
    const heads = a.num('heads', { integer: true, min: 1 });
    return multiHeadAttention(b, input, input, heads, a.get<AttentionImpl>('impl', a.attention), a.get('dropout', 0), a.path);
  },
};
