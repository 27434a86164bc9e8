/**
 * The probe's Builder: runs every memplan primitive with real TensorFlow.js ops, through the same
 * lowering (core/runtime/tfjs-lower.ts) the estimator simulates. The block modules are called via
 * assemble(model, run, builder), exactly as for the estimate.
 * - Parameters are tf.variables created before the step (named by scope; frozen ones not trainable).
 * - Inputs are created before the step: float N(0,1), int ids uniform below maxValue (int32: tfjs has
 *   no int64), cross-entropy targets as float one-hot.
 * - Frozen blocks: their variables are not trained; tfjs still keeps what their kernels save.
 * - Checkpointing: tfjs has none; ignored (noted), as the tfjs runtime estimate ignores it.
 * - `tensor` components are stand-ins: persistent ones are allocated before the step, saved/loss ones
 *   are kept for backward by a Reshape kernel, transient ones live until the forward ends.
 */
import { MemplanError } from '../core/errors.js';
import { type ActKind, type Builder, type DType, type Lifetime, type LossKind, type ParamOpts, type T, shapes } from '../core/graph.js';
import { lowerOp, tfDtype, type LowerCtx, type TfOps } from '../core/runtime/tfjs-lower.js';
import { oneHotTargets, sliceOffsets } from '../core/runtime/tfjs-sim.js';
import { trainableParams, type OpKind, type Trace } from '../core/tracer.js';
import type { Tf } from './backend.js';

type Tensor = import('@tensorflow/tfjs').Tensor;
type Variable = import('@tensorflow/tfjs').Variable;

/** A tensor as blocks see it: shape plus whether a gradient flows (assemble reads requiresGrad). */
export interface BT extends T {
  readonly t: Tensor;
  readonly requiresGrad: boolean;
}

/** Real tf ops behind the lowering's namespace. */
export function tfOps(tf: Tf): TfOps<Tensor> {
  return {
    shape: (x) => x.shape,
    matMul: (a, b, ta, tb) => tf.matMul(a, b, ta, tb),
    add: (a, b) => tf.add(a, b),
    sub: (a, b) => tf.sub(a, b),
    mul: (a, b) => tf.mul(a, b),
    neg: (x) => tf.neg(x),
    relu: (x) => tf.relu(x),
    sigmoid: (x) => tf.sigmoid(x),
    tanh: (x) => tf.tanh(x),
    softmax: (x) => tf.softmax(x),
    logSoftmax: (x) => tf.logSoftmax(x),
    rsqrt: (x) => tf.rsqrt(x),
    square: (x) => tf.square(x),
    sum: (x, axis) => tf.sum(x, axis),
    mean: (x, axis) => (axis === undefined ? tf.mean(x) : tf.mean(x, axis)),
    moments: (x, axes) => tf.moments(x, axes, true),
    reshape: (x, shape) => tf.reshape(x, shape),
    transpose: (x, perm) => tf.transpose(x, perm),
    concat: (xs, axis) => tf.concat(xs, axis),
    slice: (x, begin, size) => tf.slice(x, begin, size),
    gather: (x, idx) => tf.gather(x, idx),
    unsortedSegmentSum: (x, ids, n) => tf.unsortedSegmentSum(x, ids as import('@tensorflow/tfjs').Tensor1D, n),
    conv2d: (x, f, strides, pad) =>
      tf.conv2d(x as import('@tensorflow/tfjs').Tensor4D, f as import('@tensorflow/tfjs').Tensor4D, strides,
        pad[0] === 0 && pad[1] === 0 ? 'valid' : [[0, 0], [pad[0], pad[0]], [pad[1], pad[1]], [0, 0]]),
    pool: (kind, x, size, strides) =>
      kind === 'max'
        ? tf.maxPool(x as import('@tensorflow/tfjs').Tensor4D, size, strides, 'valid')
        : tf.avgPool(x as import('@tensorflow/tfjs').Tensor4D, size, strides, 'valid'),
    dropout: (x, p) => tf.dropout(x, p),
    fill: (shape, dtype) => tf.fill(shape, 0, dtype),
  };
}

/** Tensors made before the step from the estimator's trace: variables, inputs, persistent stand-ins. */
export interface ProbeState {
  variables: Map<string, Variable>;
  /** Trainable variables in trace order (the optimizer's varList). */
  varList: Variable[];
  inputs: Map<string, Tensor[]>;
  persistent: Map<string, Tensor[]>;
  dispose(): void;
}

let probeSeq = 0;

export function createProbeState(tf: Tf, trace: Trace): ProbeState {
  const prefix = `memplan${probeSeq++}/`;
  const variables = new Map<string, Variable>();
  const varList: Variable[] = [];
  const trains = new Set(trainableParams(trace));
  for (const p of trace.params) {
    const v = tf.tidy(() => {
      const init = p.init === 'zeros' ? tf.zeros(p.shape as number[]) : p.init === 'ones' ? tf.ones(p.shape as number[]) : tf.randomNormal(p.shape as number[], 0, 0.02);
      return tf.variable(init, trains.has(p), prefix + p.name);
    });
    variables.set(p.name, v);
    if (trains.has(p)) varList.push(v);
  }
  const oneHot = oneHotTargets(trace);
  const inputs = new Map<string, Tensor[]>();
  for (const t of trace.inputs) {
    const classes = oneHot.get(t.id);
    const shape = t.shape as number[];
    const x = tf.tidy(() => {
      if (classes) return tf.oneHot(tf.randomUniform(shape, 0, classes, 'int32'), classes).toFloat();
      if (t.dtype === 'i64' || t.dtype === 'i32') return tf.randomUniform(shape, 0, t.maxValue ?? 2, 'int32');
      return tf.randomNormal(shape);
    });
    inputs.set(t.name, [...(inputs.get(t.name) ?? []), x]);
  }
  const persistent = new Map<string, Tensor[]>();
  for (const op of trace.ops) {
    if (op.kind === 'tensor' && op.attrs.lifetime === 'persistent') {
      const x = tf.zeros(op.output.shape as number[], tfDtype(op.output.dtype));
      persistent.set(op.output.name, [...(persistent.get(op.output.name) ?? []), x]);
    }
  }
  return {
    variables,
    varList,
    inputs,
    persistent,
    dispose() {
      for (const v of variables.values()) v.dispose();
      for (const l of [...inputs.values(), ...persistent.values()]) for (const x of l) x.dispose();
    },
  };
}

export class TfjsBuilder implements Builder {
  block = 0;
  noGrad = false;
  segment: number | undefined = undefined;
  /** What assemble() reads: parameter list (per block counts) and the loss. */
  trace: { params: { shape: readonly number[] }[]; loss: BT | undefined } = { params: [], loss: undefined };
  private scopes: string[] = [];
  private ops: TfOps<Tensor>;
  private ctx: LowerCtx<Tensor> = sliceOffsets<Tensor>();
  private seen = new Map<string, number>();

  constructor(
    private readonly tf: Tf,
    private readonly state: ProbeState,
  ) {
    this.ops = tfOps(tf);
  }

  /** Before each forward: the assembler runs the blocks again from the start. */
  reset(): void {
    this.trace = { params: [], loss: undefined };
    this.scopes = [];
    this.ctx = sliceOffsets<Tensor>();
    this.seen = new Map();
  }

  private scopeName(name: string): string {
    return [...this.scopes, name].filter(Boolean).join('.');
  }

  private nth(map: Map<string, Tensor[]>, name: string, what: string): Tensor {
    const k = `${what}:${name}`;
    const i = this.seen.get(k) ?? 0;
    this.seen.set(k, i + 1);
    const t = map.get(name)?.[i];
    if (!t) throw new MemplanError('E_INTERNAL', `probe: ${what} ${name} was not prepared from the trace`);
    return t;
  }

  private wrap(t: Tensor, requiresGrad: boolean, expect: readonly number[]): BT {
    if (t.shape.length !== expect.length || t.shape.some((d, i) => d !== expect[i])) {
      throw new MemplanError('E_INTERNAL', `probe: tfjs produced [${t.shape.join(', ')}] where the tracer has [${expect.join(', ')}]`);
    }
    return { shape: t.shape, t, requiresGrad };
  }

  private exec(kind: OpKind, ins: T[], attrs: Record<string, unknown>, outShape: readonly number[], outDtype: DType = 'f32'): BT {
    const bts = ins as BT[];
    const out = lowerOp<Tensor>(this.ops, this.ctx, kind, bts.map((b) => b.t), attrs, outShape, outDtype);
    return this.wrap(out, !this.noGrad && bts.some((b) => b.requiresGrad), outShape);
  }

  input(name: string, shape: number[], _dtype?: 'float' | 'int' | 'bool', _maxValue?: number, shared = false): T {
    // Mirrors Tracer.input: a shared input is traced once, under its unscoped name.
    const one = shared ? this.state.inputs.get(name)?.[0] : undefined;
    if (one && one.shape.length === shape.length && one.shape.every((d, k) => d === shape[k])) return this.wrap(one, false, shape);
    return this.wrap(this.nth(this.state.inputs, this.scopeName(name), 'input'), false, shape);
  }
  param(name: string, shape: number[], _opts?: ParamOpts): T {
    const full = this.scopeName(name);
    const v = this.state.variables.get(full);
    if (!v) throw new MemplanError('E_INTERNAL', `probe: parameter ${full} was not prepared from the trace`);
    this.trace.params.push({ shape });
    return this.wrap(v, v.trainable && !this.noGrad, shape);
  }
  linear(x: T, w: T, b?: T, wT = false): T {
    const wShape = wT ? [w.shape[1]!, w.shape[0]!] : w.shape;
    return this.exec('linear', b ? [x, w, b] : [x, w], { bias: !!b, ...(wT ? { wT } : {}) }, shapes.linear(x.shape, wShape));
  }
  matmul(a: T, b: T, transposeB = false): T {
    return this.exec('matmul', [a, b], { transposeB }, shapes.matmul(a.shape, b.shape, transposeB));
  }
  add(a: T, b: T): T {
    return this.exec('add', [a, b], {}, shapes.broadcast(a.shape, b.shape));
  }
  mul(a: T, b: T): T {
    return this.exec('mul', [a, b], {}, shapes.broadcast(a.shape, b.shape));
  }
  scale(x: T, c: number): T {
    return this.exec('scale', [x], { c }, x.shape);
  }
  act(kind: ActKind, x: T): T {
    return this.exec('act', [x], { act: kind }, x.shape);
  }
  softmax(x: T): T {
    return this.exec('softmax', [x], {}, x.shape);
  }
  layerNorm(x: T, gamma: T, beta: T): T {
    return this.exec('layer_norm', [x, gamma, beta], {}, x.shape);
  }
  batchNorm(x: T, gamma: T, beta: T, axis: number): T {
    return this.exec('batch_norm', [x, gamma, beta], { axis }, x.shape);
  }
  dropout(x: T, p: number): T {
    if (p <= 0) return x;
    return this.exec('dropout', [x], { p }, x.shape);
  }
  embedding(table: T, ids: T): T {
    return this.exec('embedding', [table, ids], {}, [...ids.shape, table.shape[1]!]);
  }
  gatherRows(x: T, index: T): T {
    return this.exec('gather_rows', [x, index], {}, [index.shape[0]!, ...x.shape.slice(1)]);
  }
  scatterAdd(src: T, index: T, segments: number): T {
    return this.exec('scatter_add', [src, index], { segments }, [segments, ...src.shape.slice(1)]);
  }
  conv(x: T, w: T, b: T | undefined, stride: number, padding: number, transposed?: { outputPadding: number }): T {
    return this.exec('conv', b ? [x, w, b] : [x, w], { stride, padding, bias: !!b, ...(transposed ? { transposed: true } : {}) }, shapes.conv(x.shape, w.shape, stride, padding, transposed));
  }
  cdist(a: T, b: T): T {
    return this.exec('cdist', [a, b], {}, shapes.cdist(a.shape, b.shape));
  }
  compare(fn: string, a: T, b?: T | number): T {
    return this.exec('compare', typeof b === 'object' ? [a, b] : [a], { fn }, typeof b === 'object' ? shapes.broadcast(a.shape, b.shape) : a.shape);
  }
  diagonal(x: T): T {
    return this.exec('diagonal', [x], {}, shapes.diagonal(x.shape));
  }
  pool(kind: 'max' | 'avg', x: T, size: number, stride: number, padding = 0): T {
    return this.exec('pool', [x], { pool: kind, size, stride, ...(padding ? { padding } : {}) }, shapes.pool(x.shape, size, stride, padding));
  }
  meanAxis(x: T, axis: number): T {
    return this.exec('mean_axis', [x], { axis }, shapes.meanAxis(x.shape, axis));
  }
  reshape(x: T, shape: number[]): T {
    return this.exec('reshape', [x], {}, shapes.reshape(x.shape, shape));
  }
  /** A chunk of x along the chunked axis (assemble calls this for `chunk:` blocks). */
  chunkView(x: T, shape: number[]): T {
    return this.exec('reshape', [x], { slice: true }, shape);
  }
  transpose(x: T, perm: number[]): T {
    return this.exec('transpose', [x], { perm }, shapes.transpose(x.shape, perm));
  }
  concat(xs: T[], axis: number): T {
    return this.exec('concat', xs, { axis }, shapes.concat(xs.map((x) => x.shape), axis));
  }
  // The graph language's op families: refused by the tfjs lowering (tfjsUnsupported), which names the op.
  unary(fn: string, x: T): T {
    return this.exec('unary', [x], { fn }, x.shape);
  }
  binary(fn: string, a: T, b: T): T {
    return this.exec('binary', [a, b], { fn }, shapes.broadcast(a.shape, b.shape));
  }
  where(cond: T, a: T, b: T): T {
    return this.exec('where', [cond, a, b], {}, a.shape);
  }
  maskedFill(x: T, mask: T): T {
    return this.exec('masked_fill', [x, mask], {}, x.shape);
  }
  reduce(fn: string, x: T, axes: number[], keepdim: boolean): T {
    return this.exec('reduce', [x], { fn }, shapes.reduce(x.shape, axes, keepdim));
  }
  logSoftmax(x: T): T {
    return this.exec('log_softmax', [x], {}, x.shape);
  }
  softmaxAxis(x: T, axis: number): T {
    if (axis === x.shape.length - 1) return this.softmax(x);
    return this.exec('log_softmax', [x], {}, x.shape);
  }
  slice(x: T, axis: number, start: number, length: number, select = false): T {
    return this.exec('slice', [x], {}, shapes.slice(x.shape, axis, start, length, select));
  }
  indexSelect(x: T, axis: number, index: T): T {
    return this.exec('index_select', [x, index], {}, shapes.indexSelect(x.shape, axis, index.shape));
  }
  gather(x: T, _axis: number, index: T): T {
    return this.exec('gather', [x, index], {}, index.shape);
  }
  indexAdd(_base: T | number[], _axis: number, index: T, src: T): T {
    return this.exec('index_add', [index, src], {}, src.shape);
  }
  scatterAddAxis(_base: T | number[], _axis: number, index: T, src: T): T {
    return this.exec('scatter_add_axis', [index, src], {}, src.shape);
  }
  expand(x: T, shape: number[]): T {
    return this.exec('expand', [x], {}, shape);
  }
  tile(x: T, reps: number[]): T {
    return this.exec('tile', [x], {}, shapes.tile(x.shape, reps));
  }
  repeatInterleave(x: T): T {
    return this.exec('repeat_interleave', [x], {}, x.shape);
  }
  contiguous(x: T): T {
    return x;
  }
  stack(xs: T[], axis: number): T {
    return this.exec('tile', xs, {}, shapes.stack(xs.map((x) => x.shape), axis));
  }
  detach(x: T): T {
    return this.exec('detach', [x], {}, x.shape);
  }
  markLoss(x: T): void {
    this.trace.loss = x as BT;
  }
  sdpa(): T {
    throw new MemplanError('E_PROBE', 'fused attention (sdpa) has no TensorFlow.js equivalent', { path: 'attention', hint: 'probe with attention: eager' });
  }
  loss(kind: LossKind, x: T): T {
    const ins: T[] = [x];
    if (kind !== 'mean') {
      const target = this.nth(this.state.inputs, this.scopeName('target'), 'input');
      ins.push({ shape: target.shape, t: target, requiresGrad: false } as BT);
    }
    const out = this.exec('loss', ins, { loss: kind }, []);
    this.trace.loss = out;
    return out;
  }
  tensor(name: string, shape: number[], dtype: 'act' | DType, lifetime: Lifetime): T {
    const dt: DType = dtype === 'act' ? 'f32' : dtype;
    if (dt === 'bf16' || dt === 'f16') {
      throw new MemplanError('E_PROBE', `tensor ${this.scopeName(name)}: ${dt} cannot be represented (tfjs holds float32, int32 and bool only)`);
    }
    // Keyed as the tracer names the op output: the bare name (its op() lets out.name override the scoped one).
    const ins: T[] = lifetime === 'persistent' ? [{ shape, t: this.nth(this.state.persistent, name, 'tensor'), requiresGrad: false } as BT] : [];
    return this.exec('tensor', ins, { lifetime }, shape, dt);
  }
  scope<R>(name: string, fn: () => R): R {
    this.scopes.push(name);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  /** The scalar loss of the forward just built. */
  lossTensor(): import('@tensorflow/tfjs').Scalar {
    if (!this.trace.loss) throw new MemplanError('E_PROBE', 'the model built no loss');
    return this.trace.loss.t as import('@tensorflow/tfjs').Scalar;
  }
  get tfjs(): Tf {
    return this.tf;
  }
}
