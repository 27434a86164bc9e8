/**
 * The op graph: block modules describe their forward pass once, against the `Builder` interface.
 * The estimator runs it on a `Tracer` (shapes only, recording ops); the probe runs the same code on a
 * TensorFlow.js builder. So the memory rules and the measured model come from one description.
 */
import { MemplanError } from './errors.js';

/** `u8`: bitsandbytes' packed int8 / 4-bit weights and quantisation statistics (uint8 storage). */
export type DType = 'f32' | 'bf16' | 'f16' | 'i64' | 'i32' | 'bool' | 'u8';
export const DTYPE_BYTES: Record<DType, number> = { f32: 4, bf16: 2, f16: 2, i64: 8, i32: 4, bool: 1, u8: 1 };

export type ActKind = 'gelu' | 'relu' | 'silu' | 'tanh' | 'sigmoid';

/** Elementwise functions of one tensor (ops/elementwise.ts lists what each saves). */
export type UnaryFn =
  | 'exp' | 'log' | 'log1p' | 'neg' | 'sqrt' | 'rsqrt' | 'abs' | 'clamp' | 'softplus' | 'pow' | 'square'
  | 'reciprocal' | 'add_scalar' | 'cos' | 'sin' | 'erf';
/** Elementwise functions of two tensors with broadcasting (add and mul have their own methods). */
export type BinaryFn = 'sub' | 'div' | 'maximum' | 'minimum';
/** Reductions over axes. `max`/`min` are torch.max(dim).values (they keep int64 indices). */
export type ReduceFn = 'sum' | 'mean' | 'amax' | 'amin' | 'max' | 'min' | 'logsumexp' | 'norm';
/** Elementwise comparisons (a bool result, no gradient) and logical_not. */
export type CompareFn = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'logical_not';
/** The training losses a `loss` block computes (with a fresh target, or `from: [pred, target]`). */
export type LossKind = 'mse' | 'cross_entropy' | 'mean' | 'bce' | 'bce_with_logits';

/** Opaque tensor handle as a block sees it. */
export interface T {
  readonly shape: readonly number[];
}

export interface ParamOpts {
  /** Used as a matmul/conv weight: under autocast a low-precision copy is cached for the forward. */
  matmul?: boolean;
  init?: 'zeros' | 'ones' | 'normal';
  /** Storage type other than the run's parameter type (bitsandbytes' packed uint8 weights). */
  dtype?: DType;
  /** Quantised storage: how many model parameters it holds (0 for quantisation statistics). */
  logical?: number;
}

/**
 * Lifetime of an explicit `tensor` component. `activation`: a fresh tensor made in forward with no
 * graph inputs (torch.arange, a causal mask, a KV cache block), freed after its last use like any output.
 */
export type Lifetime = 'persistent' | 'saved' | 'transient' | 'loss' | 'activation';

/**
 * What a block may do. Every method is a primitive whose memory behaviour is a rule in
 * `ops/pytorch.ts` and `ops/tfjs.ts`, and whose execution is in the probe's TensorFlow.js builder.
 */
export interface Builder {
  /**
   * Data fed to the model (token ids, features). Integer inputs never require grad. A `shared` input
   * (a graph's edge list) is one tensor for every layer that asks for it by the same name and shape.
   */
  input(name: string, shape: number[], dtype?: 'float' | 'int' | 'bool', maxValue?: number, shared?: boolean): T;
  param(name: string, shape: number[], opts?: ParamOpts): T;
  /** x[..., in] @ w[in, out] (+ b[out]); with `wT` w is [out, in] (a weight tied to an embedding table). */
  linear(x: T, w: T, b?: T, wT?: boolean): T;
  /** Batched a @ b (or a @ b^T): both operands are activations. */
  matmul(a: T, b: T, transposeB?: boolean): T;
  add(a: T, b: T): T;
  mul(a: T, b: T): T;
  scale(x: T, c: number): T;
  act(kind: ActKind, x: T): T;
  softmax(x: T): T;
  layerNorm(x: T, gamma: T, beta: T): T;
  /** Normalises over every axis but `axis` (channels). */
  batchNorm(x: T, gamma: T, beta: T, axis: number): T;
  dropout(x: T, p: number): T;
  /** table[vocab, d] indexed by integer ids. */
  embedding(table: T, ids: T): T;
  /** Rows of x[n, d] picked by integer index[e]: [e, d]. */
  gatherRows(x: T, index: T): T;
  /** Sums rows of src[e, d] into [segments, d] by integer index[e]. */
  scatterAdd(src: T, index: T, segments: number): T;
  /**
   * x[n, c, l] (or [n, c, h, w]) with w[out, c, k...]: channels-first, stride, symmetric padding. With
   * `transposed` (ConvTranspose) w is [c, out, k...] and each spatial size becomes
   * (n - 1) * stride - 2 * padding + k + outputPadding.
   */
  conv(x: T, w: T, b: T | undefined, stride: number, padding: number, transposed?: { outputPadding: number }): T;
  pool(kind: 'max' | 'avg', x: T, size: number, stride: number, padding?: number): T;
  /** Mean over one axis (sequence pooling). */
  meanAxis(x: T, axis: number): T;
  reshape(x: T, shape: number[]): T;
  transpose(x: T, perm: number[]): T;
  concat(xs: T[], axis: number): T;
  /**
   * Fused attention (flash / memory-efficient SDPA): q, k, v [b, h, s, d]. Never materialises s x s.
   * `mask`: a float attn_mask (T5's position bias): the kernel keeps it, and where it requires grad the
   * memory-efficient kernel's backward makes a gradient of its size.
   */
  sdpa(q: T, k: T, v: T, mask?: T): T;
  /** Whether x requires grad (tracer only: the probe's builder does not know). */
  requiresGrad?(x: T): boolean;
  /** A loss against a fresh target input (part of the batch), or against `target` when given. */
  loss(kind: LossKind, x: T, classes?: number, target?: T): T;
  /** torch.cdist(a, b) (p = 2): [..., Pa, M] x [..., Pb, M] -> [..., Pa, Pb]. */
  cdist(a: T, b: T): T;
  /** a (op) b, or a (op) a scalar, elementwise: a bool tensor that needs no gradient; logical_not takes one. */
  compare(fn: CompareFn, a: T, b?: T | number): T;
  /** x.diagonal() of the last two axes: a strided view. */
  diagonal(x: T): T;
  /** A tensor no block covers (seed 004's spectrum rendering): shape, dtype, lifetime. */
  tensor(name: string, shape: number[], dtype: 'act' | DType, lifetime: Lifetime): T;
  /** Elementwise function of x: `exponent` for pow, `min`/`max` for clamp, `value` for add_scalar. */
  unary(fn: UnaryFn, x: T, opts?: { exponent?: number; min?: number; max?: number; value?: number }): T;
  /** Elementwise a (op) b with broadcasting. */
  binary(fn: BinaryFn, a: T, b: T): T;
  /** torch.where(cond, a, b): cond is a bool tensor. */
  where(cond: T, a: T, b: T): T;
  /** x.masked_fill(mask, value). */
  maskedFill(x: T, mask: T): T;
  /** Reduction over `axes` (non-negative, sorted); keepdim keeps them as size 1. */
  reduce(fn: ReduceFn, x: T, axes: number[], keepdim: boolean): T;
  /** log_softmax over `axis`. */
  logSoftmax(x: T, axis: number): T;
  /** softmax over a given axis (softmax() is the last axis). */
  softmaxAxis(x: T, axis: number): T;
  /** x.narrow(axis, start, len) / x[..., start:end] (a view); `select` drops the axis (x[:, i]). */
  slice(x: T, axis: number, start: number, length: number, select?: boolean): T;
  /** x.index_select(axis, index[k]) and x.gather(axis, index[same rank]). */
  indexSelect(x: T, axis: number, index: T): T;
  gather(x: T, axis: number, index: T): T;
  /** base.index_add(axis, index[k], src) with base a tensor, or zeros of `base` shape (segment sum). */
  indexAdd(base: T | number[], axis: number, index: T, src: T): T;
  /** base.scatter_add(axis, index, src), index of src's shape; base a tensor or zeros of that shape. */
  scatterAddAxis(base: T | number[], axis: number, index: T, src: T): T;
  /** x.expand(shape): a broadcast view that owns no memory. */
  expand(x: T, shape: number[]): T;
  /** x.repeat(reps) (torch.tile) and x.repeat_interleave(n, dim=axis): new tensors. */
  tile(x: T, reps: number[]): T;
  repeatInterleave(x: T, repeats: number, axis: number): T;
  /** x.contiguous(): a copy when x is a strided view (transpose, expand, slice off axis 0), else x itself. */
  contiguous(x: T): T;
  /** torch.stack(xs, axis). */
  stack(xs: T[], axis: number): T;
  /** x.detach(): the same storage, cut from the graph. */
  detach(x: T): T;
  /** Marks a scalar as the training loss (a custom loss built from ops). */
  markLoss(x: T): void;
  /** Scopes subsequent ops/params under a name (for breakdowns and probe variable names). */
  scope<R>(name: string, fn: () => R): R;
  /**
   * PyTorch-module memory quirks, for the tracer only (the probe's builder has neither):
   * nn.MultiheadAttention's packed in-projection casts its input once under autocast, and with
   * batch_first=True it saves a time-first copy of its input.
   */
  shareCasts?<R>(fn: () => R): R;
  timeFirstCopy?(x: T): T;
  /** nn.MultiheadAttention's `attn_output.permute(2, 0, 1, 3).contiguous()` after a fused SDPA kernel: a copy where the kernel's output is batch-first. */
  sdpaTimeFirst?(ctx: T): T;
  /**
   * A Python reference that keeps x alive until this point (a stock module holding its input to the
   * end of forward). Tracer only: it changes lifetimes, not values.
   */
  hold?(x: T): void;
  /** True when the run is an inference pass (model.eval() under torch.no_grad()). */
  readonly inference?: boolean;
  /**
   * PyTorch stock-module layout (the tracer for the pytorch runtime): nn.MultiheadAttention's packed
   * in-projection, in-place ops of the eval fast path. The tfjs twin builds the plain layout.
   */
  readonly quirks?: boolean;
  /** PyTorch 2's sdpa math fallback (below autocast; fp32 on the CPU). Tracer only. */
  sdpaMath?(q: T, k: T, v: T, p: number, c: number): T;
  /** x.to(dtype): a copy when the type differs (HF's RMSNorm upcast, a 4-bit layer's input cast). Tracer only. */
  cast?(x: T, dtype: DType): T;
  /**
   * A bitsandbytes linear over a frozen quantised weight `qw` (packed uint8) of logical shape [in, out]:
   * the weight is dequantised to the compute type for the matmul (a transient) and again in backward;
   * `int8` (LLM.int8) keeps its input for backward, `nf4`/`fp4` (MatMul4Bit) keeps only the packed weight.
   * Tracer only.
   */
  quantLinear?(x: T, qw: T, shape: [number, number], kind: 'int8' | 'nf4' | 'fp4', bias?: T, nested?: boolean): T;
  /** An in-place op (relu_, softmax in place, add_): the result reuses x's storage. Tracer only. */
  inplace?(kind: 'relu' | 'gelu' | 'softmax' | 'add', x: T, other?: T): T;
  /** a @ b written into `into`'s storage (the native MHA's bmm_nn reuses q's). Tracer only. */
  matmulInto?(a: T, b: T, into: T): T;
  /** The native MHA's softmax of padded scores for a nested query (a new output, per-sequence temporaries). Tracer only. */
  nestedSoftmax?(x: T): T;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Shape errors are raised where a block wires ops together badly (a descriptor error, not a bug). */
export function shapeError(what: string, path?: string): MemplanError {
  return new MemplanError('E_SHAPE', what, {
    path,
    hint: 'check the dimensions the block declares against the shape it receives',
  });
}

/** Output shape helpers shared by the tracer and the probe builder, so both agree. */
export const shapes = {
  linear(x: readonly number[], w: readonly number[]): number[] {
    const inF = x[x.length - 1];
    if (w.length !== 2 || inF !== w[0]) throw shapeError(`linear: input ${shapeStr(x)} does not match weight ${shapeStr(w)}`);
    return [...x.slice(0, -1), w[1]!];
  },
  matmul(a: readonly number[], b: readonly number[], transposeB: boolean): number[] {
    const k = a[a.length - 1];
    const kb = transposeB ? b[b.length - 1] : b[b.length - 2];
    const n = transposeB ? b[b.length - 2]! : b[b.length - 1]!;
    if (a.length < 2 || b.length < 2 || k !== kb) throw shapeError(`matmul: ${shapeStr(a)} @ ${shapeStr(b)}${transposeB ? '^T' : ''} do not fit`);
    // Batch axes broadcast as torch.matmul does ([b, s, k] @ [k, n] -> [b, s, n]).
    const batch = shapes.broadcast(a.slice(0, -2), b.slice(0, -2));
    return [...batch, a[a.length - 2]!, n];
  },
  broadcast(a: readonly number[], b: readonly number[]): number[] {
    const n = Math.max(a.length, b.length);
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const da = a[a.length - n + i] ?? 1;
      const db = b[b.length - n + i] ?? 1;
      if (da !== db && da !== 1 && db !== 1) throw shapeError(`cannot broadcast ${shapeStr(a)} with ${shapeStr(b)}`);
      out.push(Math.max(da, db));
    }
    return out;
  },
  conv(x: readonly number[], w: readonly number[], stride: number, padding: number, transposed?: { outputPadding: number }): number[] {
    const spatial = x.length - 2;
    // nn.ConvNd's weight is [out, in, k...]; nn.ConvTransposeNd's is [in, out, k...].
    const [inAxis, outAxis] = transposed ? [0, 1] : [1, 0];
    if (w.length !== x.length || w[inAxis] !== x[1]) throw shapeError(`conv: input ${shapeStr(x)} does not match weight ${shapeStr(w)}`);
    const out = [x[0]!, w[outAxis]!];
    for (let i = 0; i < spatial; i++) {
      const size = transposed
        ? (x[2 + i]! - 1) * stride - 2 * padding + w[2 + i]! + transposed.outputPadding
        : Math.floor((x[2 + i]! + 2 * padding - w[2 + i]!) / stride) + 1;
      if (size <= 0) throw shapeError(`conv: kernel ${w[2 + i]} larger than padded input ${x[2 + i]}`);
      out.push(size);
    }
    return out;
  },
  pool(x: readonly number[], size: number, stride: number, padding = 0): number[] {
    const out = x.slice(0, 2);
    // PyTorch pads at most half the window (larger is an error there too).
    if (2 * padding > size) throw shapeError(`pool: padding ${padding} is more than half the window ${size}`);
    for (let i = 2; i < x.length; i++) {
      const s = Math.floor((x[i]! + 2 * padding - size) / stride) + 1;
      if (s <= 0) throw shapeError(`pool: window ${size} larger than input ${x[i]}`);
      out.push(s);
    }
    return out;
  },
  reshape(x: readonly number[], shape: number[]): number[] {
    if (numel(x) !== numel(shape)) throw shapeError(`reshape: ${shapeStr(x)} has ${numel(x)} elements, ${shapeStr(shape)} has ${numel(shape)}`);
    return shape;
  },
  transpose(x: readonly number[], perm: number[]): number[] {
    if (perm.length !== x.length) throw shapeError(`transpose: permutation ${shapeStr(perm)} for ${shapeStr(x)}`);
    return perm.map((p) => x[p]!);
  },
  concat(xs: (readonly number[])[], axis: number): number[] {
    const first = xs[0]!;
    const out = [...first];
    out[axis] = 0;
    for (const s of xs) {
      if (s.length !== first.length || s.some((d, i) => i !== axis && d !== first[i])) throw shapeError('concat: shapes differ off the concat axis');
      out[axis] = (out[axis] ?? 0) + s[axis]!;
    }
    return out;
  },
  meanAxis(x: readonly number[], axis: number): number[] {
    return x.filter((_, i) => i !== axis);
  },
  reduce(x: readonly number[], axes: readonly number[], keepdim: boolean): number[] {
    for (const a of axes) if (a < 0 || a >= x.length) throw shapeError(`reduce: axis ${a} out of range for ${shapeStr(x)}`);
    return keepdim ? x.map((d, i) => (axes.includes(i) ? 1 : d)) : x.filter((_, i) => !axes.includes(i));
  },
  slice(x: readonly number[], axis: number, start: number, length: number, select: boolean): number[] {
    const d = x[axis];
    if (d === undefined) throw shapeError(`slice: axis ${axis} out of range for ${shapeStr(x)}`);
    if (start < 0 || length < 1 || start + length > d) throw shapeError(`slice: [${start}, ${start + length}) is outside axis ${axis} of ${shapeStr(x)}`);
    if (select) return x.filter((_, i) => i !== axis);
    return x.map((v, i) => (i === axis ? length : v));
  },
  indexSelect(x: readonly number[], axis: number, index: readonly number[]): number[] {
    if (x[axis] === undefined) throw shapeError(`index_select: axis ${axis} out of range for ${shapeStr(x)}`);
    if (index.length !== 1) throw shapeError(`index_select: the index must be 1-d, got ${shapeStr(index)}`);
    return x.map((v, i) => (i === axis ? index[0]! : v));
  },
  gather(x: readonly number[], axis: number, index: readonly number[]): number[] {
    if (index.length !== x.length || x[axis] === undefined) throw shapeError(`gather: index ${shapeStr(index)} must have the rank of ${shapeStr(x)}`);
    return [...index];
  },
  cdist(a: readonly number[], b: readonly number[]): number[] {
    const m = a[a.length - 1];
    if (a.length < 2 || b.length < 2 || m !== b[b.length - 1]) throw shapeError(`cdist: ${shapeStr(a)} and ${shapeStr(b)} need the same last axis`);
    const batch = shapes.broadcast(a.slice(0, -2), b.slice(0, -2));
    return [...batch, a[a.length - 2]!, b[b.length - 2]!];
  },
  diagonal(x: readonly number[]): number[] {
    if (x.length < 2) throw shapeError(`diagonal: ${shapeStr(x)} has fewer than two axes`);
    return [...x.slice(0, -2), Math.min(x[x.length - 2]!, x[x.length - 1]!)];
  },
  expand(x: readonly number[], shape: readonly number[]): number[] {
    const out = shapes.broadcast(x, shape);
    if (out.length !== shape.length || out.some((d, i) => d !== shape[i])) throw shapeError(`expand: ${shapeStr(x)} cannot expand to ${shapeStr(shape)}`);
    return out;
  },
  tile(x: readonly number[], reps: readonly number[]): number[] {
    if (reps.length < x.length) throw shapeError(`repeat: ${reps.length} repeats for ${shapeStr(x)} (one per axis at least)`);
    const padded = [...Array<number>(reps.length - x.length).fill(1), ...x];
    return padded.map((d, i) => d * reps[i]!);
  },
  stack(xs: (readonly number[])[], axis: number): number[] {
    const first = xs[0]!;
    if (xs.some((s) => s.length !== first.length || s.some((d, i) => d !== first[i]))) throw shapeError('stack: every tensor must have the same shape');
    if (axis < 0 || axis > first.length) throw shapeError(`stack: axis ${axis} out of range`);
    return [...first.slice(0, axis), xs.length, ...first.slice(axis)];
  },
};

/** A negative axis counts from the end (-1 is the last), as in PyTorch; `rank + 1` for stack/unsqueeze. */
export function normAxis(axis: number, rank: number, what: string, path?: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw shapeError(`${what}: axis ${axis} out of range for rank ${rank}`, path);
  return a;
}
