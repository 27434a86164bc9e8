/**
 * How each memplan primitive op runs in TensorFlow.js, written ONCE against a small op namespace.
 * The probe passes real tf ops; the estimator passes the byte simulator (tfjs-sim.ts). So the
 * predicted and the measured model execute the very same tfjs op sequence and cannot drift.
 * Choices (tfjs 4.22, see docs/accuracy.md): activations as op compositions (GELU = x*sigmoid(1.702x)),
 * layer/batch norm from moments, rank>2 linear as 2-D matMul (a broadcast matMul has no reducing
 * gradient in tfjs), channels-first conv/pool transposed to tfjs's NHWC, cross entropy from a
 * precomputed one-hot target and logSoftmax.
 */
import { MemplanError } from '../errors.js';
import { numel } from '../graph.js';
import type { OpKind } from '../tracer.js';

export type TfDtype = 'float32' | 'int32' | 'bool';

export interface TfOps<X> {
  shape(x: X): readonly number[];
  matMul(a: X, b: X, transposeA: boolean, transposeB: boolean): X;
  add(a: X, b: X | number): X;
  sub(a: X, b: X): X;
  mul(a: X, b: X | number): X;
  neg(x: X): X;
  relu(x: X): X;
  sigmoid(x: X): X;
  tanh(x: X): X;
  softmax(x: X): X;
  logSoftmax(x: X): X;
  rsqrt(x: X): X;
  square(x: X): X;
  /** Sum over one axis, dims dropped. */
  sum(x: X, axis: number): X;
  /** Mean over the axes (all when omitted), dims dropped. */
  mean(x: X, axis?: number): X;
  /** tf.moments with keepDims. */
  moments(x: X, axes: number[]): { mean: X; variance: X };
  reshape(x: X, shape: number[]): X;
  transpose(x: X, perm: number[]): X;
  concat(xs: X[], axis: number): X;
  slice(x: X, begin: number[], size: number[]): X;
  gather(x: X, indices: X): X;
  unsortedSegmentSum(x: X, ids: X, segments: number): X;
  /** NHWC conv with symmetric explicit padding [ph, pw] ([0, 0] = 'valid'). */
  conv2d(x: X, filter: X, strides: [number, number], pad: [number, number]): X;
  pool(kind: 'max' | 'avg', x: X, size: [number, number], strides: [number, number]): X;
  dropout(x: X, p: number): X;
  fill(shape: number[], dtype: TfDtype): X;
}

export interface LowerCtx<X> {
  /** Chunk views: running offset along the chunked axis per source tensor. */
  sliceOffset(src: X, axis: number, len: number): number;
}

const LN_EPS = 1e-5;
export const GELU_SIGMOID = 1.702;

/** Memplan ops the tfjs runtime cannot represent, with why. */
/** The graph language's op families (unary, binary, reductions, indexing...) the tfjs runtime does not model yet. */
const GRAPH_OPS = new Set<OpKind>([
  'unary', 'binary', 'where', 'masked_fill', 'reduce', 'log_softmax', 'slice', 'index_select', 'gather', 'index_add',
  'scatter_add_axis', 'expand', 'tile', 'repeat_interleave', 'contiguous', 'detach', 'hold', 'cdist', 'compare', 'diagonal',
]);

export function tfjsUnsupported(kind: OpKind, rank?: number, dtype?: string, attrs: Readonly<Record<string, unknown>> = {}): string | undefined {
  if (GRAPH_OPS.has(kind)) return `the ${kind.replace(/_/g, ' ')} op is not modelled by the tfjs runtime (the probe covers the layer blocks only)`;
  if (kind === 'conv' && attrs.transposed) return 'a transposed convolution is not modelled by the tfjs runtime';
  if (kind === 'pool' && attrs.padding) return 'a padded pooling window is not modelled by the tfjs runtime';
  if (kind === 'loss' && (attrs.loss === 'bce' || attrs.loss === 'bce_with_logits')) return `the ${String(attrs.loss)} loss is not modelled by the tfjs runtime`;
  if (kind === 'sdpa') return 'fused attention (sdpa) has no TensorFlow.js equivalent; use attention: eager';
  if (kind === 'cast') return 'reduced precision cannot be represented: tfjs holds float32, int32 and bool only';
  if ((kind === 'conv' || kind === 'pool') && rank !== undefined && rank !== 3 && rank !== 4) {
    return `${kind} over ${rank - 2} spatial axes: the tfjs builder handles 1-d and 2-d only`;
  }
  if (dtype === 'bf16' || dtype === 'f16') {
    return 'reduced precision cannot be represented: tfjs holds float32, int32 and bool only';
  }
  return undefined;
}

/**
 * Runs one memplan op on `o`. `ins` are the op's inputs in trace order; for cross_entropy the target
 * must already be the float one-hot [..., classes] (made outside the step, like any input), and for
 * a persistent `tensor` ins[0] is its pre-allocated stand-in.
 */
export function lowerOp<X>(
  o: TfOps<X>,
  ctx: LowerCtx<X>,
  kind: OpKind,
  ins: readonly X[],
  attrs: Readonly<Record<string, unknown>>,
  outShape: readonly number[],
  outDtype = 'f32',
): X {
  const a = (i: number): X => ins[i] as X;
  const rankOf = (x: X) => o.shape(x).length;
  const refused = tfjsUnsupported(kind, undefined, undefined, attrs);
  if (refused && !GRAPH_OPS.has(kind)) throw new MemplanError('E_CONFIG', refused, { hint: 'use runtime: pytorch for this model' });
  switch (kind) {
    case 'linear': {
      const x = a(0);
      const xs = o.shape(x);
      const inF = xs[xs.length - 1]!;
      const flat = xs.length > 2;
      let y = o.matMul(flat ? o.reshape(x, [numel(xs) / inF, inF]) : x, a(1), false, !!attrs.wT);
      if (attrs.bias) y = o.add(y, a(2));
      return flat ? o.reshape(y, [...outShape]) : y;
    }
    case 'matmul':
      return o.matMul(a(0), a(1), false, !!attrs.transposeB);
    case 'add':
      return o.add(a(0), a(1));
    case 'mul':
      return o.mul(a(0), a(1));
    case 'scale':
      return o.mul(a(0), attrs.c as number);
    case 'act': {
      const x = a(0);
      switch (attrs.act) {
        case 'relu': return o.relu(x);
        case 'sigmoid': return o.sigmoid(x);
        case 'tanh': return o.tanh(x);
        case 'silu': return o.mul(x, o.sigmoid(x));
        default: return o.mul(x, o.sigmoid(o.mul(x, GELU_SIGMOID)));
      }
    }
    case 'softmax':
      return o.softmax(a(0));
    case 'layer_norm': {
      const x = a(0);
      const { mean, variance } = o.moments(x, [rankOf(x) - 1]);
      return o.add(o.mul(o.mul(o.sub(x, mean), o.rsqrt(o.add(variance, LN_EPS))), a(1)), a(2));
    }
    case 'batch_norm': {
      const x = a(0);
      const r = rankOf(x);
      const axis = attrs.axis as number;
      const axes = [...Array(r).keys()].filter((i) => i !== axis);
      const { mean, variance } = o.moments(x, axes);
      const c = o.shape(x)[axis]!;
      // gamma/beta [C] broadcast from the channel axis: [C, 1, ...] unless channels are last.
      const chan = (p: X) => (axis === r - 1 ? p : o.reshape(p, [c, ...Array<number>(r - 1 - axis).fill(1)]));
      return o.add(o.mul(o.mul(o.sub(x, mean), o.rsqrt(o.add(variance, LN_EPS))), chan(a(1))), chan(a(2)));
    }
    case 'dropout':
      return o.dropout(a(0), attrs.p as number);
    case 'embedding':
    case 'gather_rows':
      return o.gather(a(0), a(1));
    case 'scatter_add':
      return o.unsortedSegmentSum(a(0), a(1), attrs.segments as number);
    case 'conv': {
      const x = a(0);
      const s = attrs.stride as number;
      const p = attrs.padding as number;
      const xs = o.shape(x);
      const ws = o.shape(a(1));
      if (xs.length === 3) {
        const [n, c, len] = xs as [number, number, number];
        const [out, , k] = ws as [number, number, number];
        const x4 = o.reshape(o.transpose(x, [0, 2, 1]), [n, 1, len, c]);
        const f4 = o.reshape(o.transpose(a(1), [2, 1, 0]), [1, k, c, out]);
        let y = o.reshape(o.conv2d(x4, f4, [1, s], [0, p]), [n, outShape[2]!, out]);
        if (attrs.bias) y = o.add(y, a(2));
        return o.transpose(y, [0, 2, 1]);
      }
      let y = o.conv2d(o.transpose(x, [0, 2, 3, 1]), o.transpose(a(1), [2, 3, 1, 0]), [s, s], [p, p]);
      if (attrs.bias) y = o.add(y, a(2));
      return o.transpose(y, [0, 3, 1, 2]);
    }
    case 'pool': {
      const x = a(0);
      const kindP = attrs.pool as 'max' | 'avg';
      const size = attrs.size as number;
      const s = attrs.stride as number;
      const xs = o.shape(x);
      if (xs.length === 3) {
        const [n, c, len] = xs as [number, number, number];
        const y = o.pool(kindP, o.reshape(o.transpose(x, [0, 2, 1]), [n, 1, len, c]), [1, size], [1, s]);
        return o.transpose(o.reshape(y, [n, outShape[2]!, c]), [0, 2, 1]);
      }
      return o.transpose(o.pool(kindP, o.transpose(x, [0, 2, 3, 1]), [size, size], [s, s]), [0, 3, 1, 2]);
    }
    case 'mean_axis':
      return o.mean(a(0), attrs.axis as number);
    case 'reshape': {
      if (!attrs.slice) return o.reshape(a(0), [...outShape]);
      // A chunk view: the slice of the chunked axis (the first axis whose length differs).
      const xs = o.shape(a(0));
      const axis = Math.max(0, outShape.findIndex((d, i) => d !== xs[i]));
      const begin = xs.map(() => 0);
      begin[axis] = ctx.sliceOffset(a(0), axis, outShape[axis]!);
      return o.slice(a(0), begin, [...outShape]);
    }
    case 'transpose':
      return o.transpose(a(0), attrs.perm as number[]);
    case 'concat':
      return o.concat([...ins], attrs.axis as number);
    case 'loss': {
      const x = a(0);
      if (attrs.loss === 'mse') return o.mean(o.square(o.sub(x, a(1))));
      if (attrs.loss === 'cross_entropy') return o.neg(o.mean(o.sum(o.mul(a(1), o.logSoftmax(x)), -1)));
      return o.mean(x);
    }
    case 'tensor': {
      if (attrs.lifetime === 'persistent') return a(0);
      const dtype = tfDtype(outDtype);
      const t = o.fill([...outShape], dtype);
      // transient: alive until the forward ends; saved/loss: a Reshape kernel keeps a clone for backward.
      return attrs.lifetime === 'transient' ? t : o.reshape(t, [...outShape]);
    }
    default: {
      const why = tfjsUnsupported(kind);
      throw new MemplanError('E_CONFIG', why ?? `op ${kind} has no TensorFlow.js lowering`, {
        hint: 'use runtime: pytorch for this model',
      });
    }
  }
}

/** The tfjs dtype a memplan dtype is held in (int64 ids become int32: tfjs has no int64). */
export function tfDtype(d: string): TfDtype {
  if (d === 'i64' || d === 'i32') return 'int32';
  if (d === 'bool') return 'bool';
  return 'float32';
}
