/**
 * The shape-only Builder: records every op with its tensors and dtypes. Dtypes follow the precision
 * policy as PyTorch autocast does: matmul-like ops run in the low-precision type and cast their inputs
 * (the cast copy is what they save), fp32-listed ops (layer_norm, softmax, losses) cast up, others
 * keep the widest input type. Autocast caches one low-precision copy per weight per forward.
 */
import {
  type ActKind,
  type BinaryFn,
  type Builder,
  type CompareFn,
  type DType,
  DTYPE_BYTES,
  type Lifetime,
  type LossKind,
  type ParamOpts,
  type ReduceFn,
  type T,
  type UnaryFn,
  numel,
  shapeError,
  shapes,
  shapeStr,
} from './graph.js';
import { MemplanError } from './errors.js';
import { count, LIMITS } from './limits.js';

export type Precision = 'fp32' | 'bf16-mixed' | 'fp16-mixed' | 'bf16' | 'fp16';

export interface TTensor extends T {
  readonly id: number;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly name: string;
  readonly role: 'input' | 'param' | 'act' | 'explicit';
  readonly requiresGrad: boolean;
  /** Views (reshape/transpose/slices/expand) own no storage; their base does. */
  readonly alias?: TTensor;
  /** A strided view (transpose, slice off axis 0, expand): contiguous() copies it. */
  readonly strided?: boolean;
  /**
   * A dense tensor stored in a permuted axis order (a transposed view, or what an elementwise op makes
   * of one: TensorIterator keeps its input's layout): the base axis each logical axis is. Not contiguous.
   */
  readonly order?: readonly number[];
  /** An expand() view: its gradient is as large as the view, not as its base (ExpandBackward sums it). */
  readonly expanded?: boolean;
  readonly lifetime?: Lifetime;
  /** Bytes of its storage when larger than its shape says (CPU mse_loss: a 0-dim view of an N-element buffer). */
  readonly storageBytes?: number;
  /** Params only. */
  readonly matmul?: boolean;
  readonly frozen?: boolean;
  readonly init?: ParamOpts['init'];
  /** Quantised storage: the model parameters it holds (a packed 4-bit weight holds two per byte). */
  readonly logical?: number;
  /** Int inputs: ids are drawn below this (vocabulary, node count). */
  readonly maxValue?: number;
}

export type OpKind =
  | 'cast' | 'linear' | 'matmul' | 'add' | 'mul' | 'scale' | 'act' | 'softmax' | 'layer_norm' | 'batch_norm'
  | 'dropout' | 'embedding' | 'gather_rows' | 'scatter_add' | 'conv' | 'pool' | 'mean_axis' | 'reshape'
  | 'transpose' | 'concat' | 'sdpa' | 'loss' | 'tensor' | 'copy'
  | 'unary' | 'binary' | 'where' | 'masked_fill' | 'reduce' | 'log_softmax' | 'slice' | 'index_select' | 'gather'
  | 'index_add' | 'scatter_add_axis' | 'expand' | 'tile' | 'repeat_interleave' | 'contiguous' | 'detach' | 'hold'
  | 'cdist' | 'compare' | 'diagonal';

export interface OpRec {
  readonly index: number;
  readonly kind: OpKind;
  /** Scope path: `asv_encoder[2].attention`. */
  readonly scope: string;
  /** Index of the block in the descriptor (for grouping the breakdown). */
  readonly block: number;
  readonly inputs: readonly TTensor[];
  readonly output: TTensor;
  readonly attrs: Readonly<Record<string, unknown>>;
  /** Run under torch.no_grad() (or in an inference pass): records no graph, saves nothing. */
  readonly noGrad: boolean;
  /** Checkpoint segment id (ops of one segment are recomputed together in backward). */
  readonly segment: number | undefined;
  /** Part of a custom loss (a block marked `loss: true`): what it keeps counts as loss buffers. */
  readonly inLoss?: boolean;
}

export interface Trace {
  ops: OpRec[];
  params: TTensor[];
  inputs: TTensor[];
  tensors: TTensor[];
  precision: Precision;
  loss: TTensor | undefined;
  /** Traced for an inference pass: nothing trains. */
  inference?: boolean;
  /**
   * Storages whose gradient comes back non-contiguous: an op read them through a permuted view (a
   * transpose), and backward returns that op's input gradient contiguous in the view's own shape.
   */
  permutedGrads?: Set<number>;
  /**
   * The training loop divides the loss (`loss = loss / grad_accum`) before backward: the loss op's own
   * output is dropped at the end of forward (it matters where that output holds more than 4 bytes).
   */
  lossDivided?: boolean;
}

const LOWP_OPS = new Set<OpKind>(['linear', 'matmul', 'conv', 'sdpa']);
/** Ops whose output takes the layout of a same-sized input (elementwise: TensorIterator, empty_like). */
const LAYOUT_KEEPING = new Set<OpKind>(['act', 'unary', 'scale', 'dropout', 'cast', 'masked_fill', 'add', 'mul', 'binary', 'where']);
const FP32_OPS = new Set<OpKind>(['layer_norm', 'softmax', 'log_softmax', 'loss']);
/** Elementwise functions CUDA autocast runs in fp32 (PyTorch's autocast op reference: exp, log, pow, ...). */
const FP32_UNARY = new Set<UnaryFn>(['exp', 'log', 'log1p', 'pow', 'reciprocal', 'rsqrt', 'softplus']);

export function bytesOf(t: TTensor): number {
  return t.alias ? 0 : (t.storageBytes ?? numel(t.shape) * DTYPE_BYTES[t.dtype]);
}

/**
 * Parameters that get a gradient: those the loss reaches backward through ops that record a graph
 * (what autograd's backward visits), and those no op reads at all (a `params` block known only by
 * count). A parameter read only under no_grad, or only upstream of a no_grad part or a detach, gets
 * no .grad, so the optimizer keeps no state for it.
 */
export function trainableParams(trace: Trace): TTensor[] {
  // Asked twice per traced run (the simulation and the estimator's terms): a walk over every op, memoised
  // per finished trace (keyed with its sizes and loss, so a trace still growing is walked again).
  const hit = trainableMemo.get(trace);
  if (hit && hit.ops === trace.ops.length && hit.params === trace.params.length && hit.loss === trace.loss) return [...hit.list];
  const list = walkTrainable(trace);
  trainableMemo.set(trace, { ops: trace.ops.length, params: trace.params.length, loss: trace.loss, list });
  return [...list];
}

const trainableMemo = new WeakMap<Trace, { ops: number; params: number; loss: TTensor | undefined; list: readonly TTensor[] }>();

function walkTrainable(trace: Trace): TTensor[] {
  const needs = new Set<number>();
  const read = new Set<number>();
  if (trace.loss) needs.add(storageOf(trace.loss).id);
  for (let i = trace.ops.length - 1; i >= 0; i--) {
    const op = trace.ops[i]!;
    for (const t of op.inputs) read.add(storageOf(t).id);
    if (op.noGrad || !needs.has(storageOf(op.output).id)) continue;
    for (const t of op.inputs) if (t.requiresGrad) needs.add(storageOf(t).id);
  }
  return trace.params.filter((p) => p.requiresGrad && (needs.has(p.id) || (!read.has(p.id) && !trace.inference)));
}

export function storageOf(t: TTensor): TTensor {
  let s = t;
  while (s.alias) s = s.alias;
  return s;
}

export class Tracer implements Builder {
  readonly trace: Trace;
  private nextId = 0;
  private scopes: string[] = [];
  /** scopes joined with '.', kept in step with `scopes` (every op and tensor name starts with it). */
  private prefix = '';
  private weightCache = new Map<number, TTensor>();
  /** Inside shareCasts(): one low-precision copy per activation, as a packed projection (one matmul) makes. */
  private sharedCasts: Map<number, TTensor> | undefined;
  private paramsByName = new Map<string, TTensor>();
  /** Set by the model assembler. */
  block = 0;
  /** torch.no_grad(): ops record no graph. */
  noGrad = false;
  /** Parameters made now do not require grad (`frozen: true`); ops still record a graph through them. */
  frozen = false;
  /** The module runs in eval mode (`eval: true`): dropout is the identity; stock fast paths may apply. */
  evalMode = false;
  /** `share:` parameter names under the first prefix are the second prefix's (one module called twice). */
  private paramAlias: [string, string][] = [];
  /** Inside a block marked `loss: true`. */
  inLoss = false;
  segment: number | undefined = undefined;
  readonly computeType: DType;
  readonly paramType: DType;
  readonly mixed: boolean;

  /**
   * CPU autocast (measured, torch 1.13): only the losses run in fp32; softmax and layer_norm keep their
   * input's dtype (CUDA's policy runs them in fp32).
   */
  readonly cpuAutocast: boolean;

  /** Tracing for the tfjs runtime: no PyTorch-module quirks (the probe's builder runs none). */
  readonly tfjs: boolean;

  /** An inference pass (model.eval() under torch.no_grad()): dropout off, no loss, stock modules' fast paths. */
  readonly inference: boolean;
  /** Tensors live on the CPU (CPU kernels' storage quirks apply). */
  readonly cpu: boolean;
  /** PyTorch stock-module layouts apply (not for the tfjs twin). */
  readonly quirks: boolean;
  readonly device: 'cuda' | 'cpu';

  constructor(readonly precision: Precision, opts: { device?: 'cuda' | 'cpu'; runtime?: 'pytorch' | 'tfjs'; inference?: boolean } = {}) {
    this.tfjs = opts.runtime === 'tfjs';
    this.inference = opts.inference ?? false;
    this.quirks = !this.tfjs;
    this.device = opts.device ?? 'cuda';
    // Every field set from the start (one object layout for the simulation's hot code; see make).
    this.trace = { ops: [], params: [], inputs: [], tensors: [], precision, loss: undefined, inference: opts.inference ?? false, permutedGrads: new Set(), lossDivided: false };
    this.mixed = precision === 'bf16-mixed' || precision === 'fp16-mixed';
    this.cpu = opts.device === 'cpu';
    this.cpuAutocast = this.mixed && this.cpu;
    this.computeType = precision === 'fp32' ? 'f32' : precision.startsWith('bf16') ? 'bf16' : 'f16';
    this.paramType = this.mixed || precision === 'fp32' ? 'f32' : this.computeType;
  }

  private scopeName(name: string): string {
    return this.prefix ? (name ? `${this.prefix}.${name}` : this.prefix) : name;
  }

  private make(t: Omit<TTensor, 'id'>): TTensor {
    for (const d of t.shape) {
      if (!Number.isInteger(d) || d < 0) throw shapeError(`${t.name}: dimension ${d} in ${shapeStr(t.shape)} is not a non-negative integer`);
    }
    // Every tensor gets one object layout, every field set (undefined where absent): callers pass
    // objects of many shapes, and the tracer's and simulation's hot functions stay monomorphic only if
    // the tensors they read share a hidden class (docs/recommend.md, the CLI's own time).
    const tensor: TTensor = {
      id: this.nextId++,
      shape: t.shape,
      dtype: t.dtype,
      name: t.name,
      role: t.role,
      requiresGrad: t.requiresGrad,
      alias: t.alias,
      strided: t.strided,
      order: t.order,
      expanded: t.expanded,
      lifetime: t.lifetime,
      storageBytes: t.storageBytes,
      matmul: t.matmul,
      frozen: t.frozen,
      init: t.init,
      logical: t.logical,
      maxValue: t.maxValue,
    };
    this.trace.tensors.push(tensor);
    return tensor;
  }

  private op(
    kind: OpKind,
    inputs: TTensor[],
    out: Omit<TTensor, 'id' | 'name' | 'role' | 'requiresGrad'> & { name?: string },
    attrs: Record<string, unknown> = {},
    inGraph = false,
  ): TTensor {
    // A budget on the trace: repeats, chunks and blocks together never make tracing take seconds.
    if (this.trace.ops.length >= LIMITS.ops) {
      throw new MemplanError('E_TOO_LARGE', `the model traces to more than ${count(LIMITS.ops)} ops, the limit`, {
        expected: `at most ${count(LIMITS.ops)} ops in one forward pass`,
        hint: 'lower a repeat or the number of chunks; docs/security.md lists the limits',
      });
    }
    const requiresGrad = !this.noGrad && (inGraph || inputs.some((i) => i.requiresGrad));
    // An elementwise op over a permuted dense input writes its output in that layout (empty_like).
    const src = !out.alias && LAYOUT_KEEPING.has(kind) ? inputs.find((t) => t.order && numel(t.shape) === numel(out.shape)) : undefined;
    const layout = src ? { strided: true, order: src.order } : {};
    if (!out.alias) {
      for (const t of inputs) {
        if (t.alias && t.order) this.trace.permutedGrads!.add(storageOf(t).id);
      }
    }
    const output = this.make({ role: 'act', requiresGrad, name: this.scopeName(out.name ?? kind), ...layout, ...out });
    this.trace.ops.push({
      index: this.trace.ops.length,
      kind,
      scope: this.prefix,
      block: this.block,
      inputs,
      output,
      attrs,
      noGrad: this.noGrad,
      segment: this.segment,
      inLoss: this.inLoss, // always set: one OpRec layout (see make)
    });
    return output;
  }

  private widest(ts: TTensor[]): DType {
    let best: DType = ts[0]?.dtype ?? this.computeType;
    for (const t of ts) if (DTYPE_BYTES[t.dtype] > DTYPE_BYTES[best] && t.dtype !== 'i64' && t.dtype !== 'i32') best = t.dtype;
    return best;
  }

  /** Autocast input casting: returns the tensor the op really consumes (a cast copy when types differ). */
  private castTo(x: TTensor, dtype: DType): TTensor {
    if (!this.mixed || x.dtype === dtype || x.dtype === 'i64' || x.dtype === 'i32' || x.dtype === 'bool') return x;
    if (x.role === 'param') {
      // Autocast caches the cast of a leaf that requires grad (autocast_mode.cpp, can_try_cache), under
      // no_grad too; a frozen weight is cast again at every use, and that copy is what the op saves.
      if (!x.requiresGrad) return this.op('cast', [x], { shape: x.shape, dtype, name: `${x.name}:cast` }, { weightCache: false });
      const hit = this.weightCache.get(x.id);
      if (hit) return hit;
      const c = this.op('cast', [x], { shape: x.shape, dtype, name: `${x.name}:autocast` }, { weightCache: true });
      this.weightCache.set(x.id, c);
      return c;
    }
    const key = x.id * 8 + (dtype === 'f32' ? 0 : dtype === 'bf16' ? 1 : 2);
    const shared = this.sharedCasts?.get(key);
    if (shared) return shared;
    const c = this.op('cast', [x], { shape: x.shape, dtype, name: `${x.name}:cast` });
    this.sharedCasts?.set(key, c);
    return c;
  }

  /**
   * nn.MultiheadAttention(batch_first=True) transposes its input to [seq, batch, dim]; the in-projection
   * reshapes that view, which copies it, and saves the copy (measured). When the input is also kept by
   * something else (the data batch, a checkpointed segment's input) the copy is extra memory. Under
   * autocast the saved tensor is the low-precision cast copy, which the cast already models.
   */
  timeFirstCopy(x: T): T {
    const xt = x as TTensor;
    if (this.mixed || this.noGrad || this.tfjs) return x;
    return this.op('copy', [xt], { shape: xt.shape, dtype: xt.dtype, name: 'time_first_copy' });
  }

  /**
   * nn.MultiheadAttention works time-first ([seq, batch, ...] q, k, v) and after SDPA takes
   * `attn_output.permute(2, 0, 1, 3).contiguous()` for out_proj. On CUDA the memory-efficient kernel
   * (4-byte inputs; flash takes only fp16 / bf16) allocates its output batch-first
   * (`_efficient_attention_forward`: empty(B, M, heads, Kv)), so that contiguous() copies and out_proj
   * saves the copy while SDPA keeps its own output. Flash allocates `empty_like(query)` and the CPU
   * kernels follow the query's layout (measured, torch 2.13: out_proj saves SDPA's output storage):
   * no copy there.
   */
  sdpaTimeFirst(ctx: T): T {
    const xt = ctx as TTensor;
    if (this.tfjs || this.device !== 'cuda' || DTYPE_BYTES[xt.dtype] !== 4) return ctx;
    return this.op('contiguous', [xt], { shape: xt.shape, dtype: xt.dtype, name: 'mem_efficient_output_copy' });
  }

  /**
   * Runs `fn` with activation casts shared: nn.MultiheadAttention projects q, k and v with one packed
   * in_proj matmul, so autocast makes one low-precision copy of the input, not one per projection.
   */
  shareCasts<R>(fn: () => R): R {
    const prev = this.sharedCasts;
    this.sharedCasts = new Map();
    try {
      return fn();
    } finally {
      this.sharedCasts = prev;
    }
  }

  private aliased(full: string): string {
    for (const [from, to] of this.paramAlias) if (full === from || full.startsWith(`${from}.`)) return to + full.slice(from.length);
    return full;
  }

  /** The current scope path (what a block's parameter names start with). */
  get scopePath(): string {
    return this.prefix;
  }

  /** Runs `fn` with parameters made under the current scope taken from `target`'s (the same module called again). */
  shareParams<R>(target: string, fn: () => R): R {
    this.paramAlias.unshift([this.prefix, target]);
    try {
      return fn();
    } finally {
      this.paramAlias.shift();
    }
  }

  private lowp(xs: TTensor[]): TTensor[] {
    return xs.map((x) => this.castTo(x, this.computeType));
  }

  private fp32(xs: TTensor[]): TTensor[] {
    return xs.map((x) => this.castTo(x, 'f32'));
  }

  input(name: string, shape: number[], dtype: 'float' | 'int' | 'bool' = 'float', maxValue?: number, shared = false): T {
    const hit = shared ? this.trace.inputs.find((i) => i.name === name) : undefined;
    if (hit && hit.shape.length === shape.length && hit.shape.every((d, k) => d === shape[k])) return hit;
    const t = this.make({ name: shared && !hit ? name : this.scopeName(name), shape, dtype: dtype === 'int' ? 'i64' : dtype === 'bool' ? 'bool' : 'f32', role: 'input', requiresGrad: false, maxValue });
    this.trace.inputs.push(t);
    return t;
  }

  param(name: string, shape: number[], opts: ParamOpts = {}): T {
    // Chunks of one block run the same module again: they share its parameters; so does a `share:` block.
    const full = this.aliased(this.scopeName(name));
    const existing = this.paramsByName.get(full);
    if (existing) {
      if (existing.shape.length !== shape.length || existing.shape.some((d, i) => d !== shape[i])) {
        throw shapeError(`${full}: a shared module needs ${shapeStr(shape)} here but the parameter is ${shapeStr(existing.shape)}`);
      }
      return existing;
    }
    if (full !== this.scopeName(name)) throw shapeError(`share: the shared module has no parameter ${full} (the two blocks differ)`);
    const t = this.make({
      name: full,
      shape,
      dtype: opts.dtype ?? this.paramType,
      role: 'param',
      requiresGrad: !this.frozen,
      matmul: opts.matmul ?? false,
      frozen: this.frozen,
      init: opts.init,
      ...(opts.logical !== undefined ? { logical: opts.logical } : {}),
    });
    this.trace.params.push(t);
    this.paramsByName.set(t.name, t);
    return t;
  }

  linear(x: T, w: T, b?: T, wT = false): T {
    const [xc, wc] = this.lowp([x as TTensor, w as TTensor]) as [TTensor, TTensor];
    const ins = b ? [xc, wc, ...this.lowp([b as TTensor])] : [xc, wc];
    const wShape = wT ? [w.shape[1]!, w.shape[0]!] : w.shape;
    return this.op('linear', ins, { shape: shapes.linear(x.shape, wShape), dtype: this.computeType }, { bias: !!b, ...(wT ? { wT } : {}) });
  }

  matmul(a: T, b: T, transposeB = false): T {
    const ins = this.lowp([a as TTensor, b as TTensor]);
    return this.op('matmul', ins, { shape: shapes.matmul(a.shape, b.shape, transposeB), dtype: this.computeType }, { transposeB });
  }

  add(a: T, b: T): T {
    const ins = [a as TTensor, b as TTensor];
    return this.op('add', ins, { shape: shapes.broadcast(a.shape, b.shape), dtype: this.widest(ins) });
  }

  mul(a: T, b: T): T {
    const ins = [a as TTensor, b as TTensor];
    return this.op('mul', ins, { shape: shapes.broadcast(a.shape, b.shape), dtype: this.widest(ins) });
  }

  scale(x: T, c: number): T {
    return this.op('scale', [x as TTensor], { shape: x.shape, dtype: (x as TTensor).dtype }, { c });
  }

  act(kind: ActKind, x: T): T {
    return this.op('act', [x as TTensor], { shape: x.shape, dtype: (x as TTensor).dtype, name: kind }, { act: kind });
  }

  softmax(x: T): T {
    return this.softmaxAxis(x, x.shape.length - 1);
  }

  softmaxAxis(x: T, axis: number): T {
    const attrs = axis === x.shape.length - 1 ? {} : { axis };
    if (this.cpuAutocast) return this.op('softmax', [x as TTensor], { shape: x.shape, dtype: (x as TTensor).dtype }, attrs);
    return this.op('softmax', this.fp32([x as TTensor]), { shape: x.shape, dtype: this.mixed ? 'f32' : (x as TTensor).dtype }, attrs);
  }

  logSoftmax(x: T, axis: number): T {
    if (this.cpuAutocast) return this.op('log_softmax', [x as TTensor], { shape: x.shape, dtype: (x as TTensor).dtype }, { axis });
    return this.op('log_softmax', this.fp32([x as TTensor]), { shape: x.shape, dtype: this.mixed ? 'f32' : (x as TTensor).dtype }, { axis });
  }

  unary(fn: UnaryFn, x: T, opts: { exponent?: number; min?: number; max?: number; value?: number } = {}): T {
    const xt = x as TTensor;
    // CUDA autocast runs exp, log, pow, rsqrt, softplus... in fp32; on the CPU they keep the input type.
    const up = this.mixed && !this.cpuAutocast && FP32_UNARY.has(fn);
    const ins = up ? this.fp32([xt]) : [xt];
    return this.op('unary', ins, { shape: x.shape, dtype: up ? 'f32' : xt.dtype, name: fn }, { fn, ...opts });
  }

  binary(fn: BinaryFn, a: T, b: T): T {
    const ins = [a as TTensor, b as TTensor];
    return this.op('binary', ins, { shape: shapes.broadcast(a.shape, b.shape), dtype: this.widest(ins), name: fn }, { fn });
  }

  where(cond: T, a: T, b: T): T {
    const ins = [cond as TTensor, a as TTensor, b as TTensor];
    const shape = shapes.broadcast(shapes.broadcast(cond.shape, a.shape), b.shape);
    return this.op('where', ins, { shape, dtype: this.widest([a as TTensor, b as TTensor]) });
  }

  maskedFill(x: T, mask: T): T {
    const xt = x as TTensor;
    return this.op('masked_fill', [xt, mask as TTensor], { shape: shapes.broadcast(x.shape, mask.shape), dtype: xt.dtype });
  }

  reduce(fn: ReduceFn, x: T, axes: number[], keepdim: boolean): T {
    const xt = x as TTensor;
    // CUDA autocast lists sum and norm among its fp32 ops.
    const up = (fn === 'sum' || fn === 'norm') && this.mixed && !this.cpuAutocast;
    const ins = up ? this.fp32([xt]) : [xt];
    return this.op('reduce', ins, { shape: shapes.reduce(x.shape, axes, keepdim), dtype: up ? 'f32' : xt.dtype, name: fn }, { fn, axes, keepdim });
  }

  slice(x: T, axis: number, start: number, length: number, select = false): T {
    const xt = x as TTensor;
    const shape = shapes.slice(x.shape, axis, start, length, select);
    // Only a slice of the leading axis (or a whole-axis slice) stays contiguous.
    const strided = xt.strided || (axis > 0 && !(length === x.shape[axis] && !select));
    return this.op('slice', [xt], { shape, dtype: xt.dtype, alias: storageOf(xt), strided, name: select ? 'select' : 'slice' }, { axis, start, length, select });
  }

  indexSelect(x: T, axis: number, index: T): T {
    const xt = x as TTensor;
    return this.op('index_select', [xt, index as TTensor], { shape: shapes.indexSelect(x.shape, axis, index.shape), dtype: xt.dtype }, { axis });
  }

  gather(x: T, axis: number, index: T): T {
    const xt = x as TTensor;
    return this.op('gather', [xt, index as TTensor], { shape: shapes.gather(x.shape, axis, index.shape), dtype: xt.dtype }, { axis });
  }

  /** The target of an index_add / scatter_add: a traced tensor, or fresh zeros of a shape (not an input of the op). */
  private baseOf(base: T | number[]): { ins: TTensor[]; shape: readonly number[] } {
    return Array.isArray(base) ? { ins: [], shape: base } : { ins: [base as TTensor], shape: base.shape };
  }

  indexAdd(base: T | number[], axis: number, index: T, src: T): T {
    const st = src as TTensor;
    const { ins, shape } = this.baseOf(base);
    if (index.shape.length !== 1 || src.shape[axis] !== index.shape[0]) throw shapeError(`index_add: index ${shapeStr(index.shape)} does not match source ${shapeStr(src.shape)} on axis ${axis}`);
    if (shape.length !== src.shape.length || shape.some((d, i) => i !== axis && d !== src.shape[i])) throw shapeError(`index_add: source ${shapeStr(src.shape)} does not fit ${shapeStr(shape)} off axis ${axis}`);
    return this.op('index_add', [...ins, index as TTensor, st], { shape, dtype: st.dtype }, { axis, base: ins.length > 0 });
  }

  scatterAddAxis(base: T | number[], axis: number, index: T, src: T): T {
    const st = src as TTensor;
    const { ins, shape } = this.baseOf(base);
    if (index.shape.length !== src.shape.length || index.shape.some((d, i) => d !== src.shape[i])) throw shapeError(`scatter_add: index ${shapeStr(index.shape)} must have the source's shape ${shapeStr(src.shape)}`);
    if (shape.length !== src.shape.length) throw shapeError(`scatter_add: source ${shapeStr(src.shape)} and target ${shapeStr(shape)} differ in rank`);
    return this.op('scatter_add_axis', [...ins, index as TTensor, st], { shape, dtype: st.dtype }, { axis, base: ins.length > 0 });
  }

  expand(x: T, shape: number[]): T {
    const xt = x as TTensor;
    return this.op('expand', [xt], { shape: shapes.expand(x.shape, shape), dtype: xt.dtype, alias: storageOf(xt), strided: true, expanded: true });
  }

  tile(x: T, reps: number[]): T {
    const xt = x as TTensor;
    return this.op('tile', [xt], { shape: shapes.tile(x.shape, reps), dtype: xt.dtype }, { reps });
  }

  repeatInterleave(x: T, repeats: number, axis: number): T {
    const xt = x as TTensor;
    const shape = x.shape.map((d, i) => (i === axis ? d * repeats : d));
    return this.op('repeat_interleave', [xt], { shape, dtype: xt.dtype }, { repeats, axis });
  }

  contiguous(x: T): T {
    const xt = x as TTensor;
    if (!xt.strided) return x;
    return this.op('contiguous', [xt], { shape: x.shape, dtype: xt.dtype });
  }

  stack(xs: T[], axis: number): T {
    const ins = xs as TTensor[];
    return this.op('concat', ins, { shape: shapes.stack(xs.map((x) => x.shape), axis), dtype: this.widest(ins), name: 'stack' }, { axis, stack: true });
  }

  detach(x: T): T {
    const xt = x as TTensor;
    const prev = this.noGrad;
    this.noGrad = true;
    try {
      return this.op('detach', [xt], { shape: x.shape, dtype: xt.dtype, alias: storageOf(xt), ...(xt.strided ? { strided: true } : {}), ...(xt.order ? { order: xt.order } : {}) });
    } finally {
      this.noGrad = prev;
    }
  }

  hold(x: T): void {
    const xt = x as TTensor;
    if (this.tfjs) return;
    const prev = this.noGrad;
    this.noGrad = true;
    try {
      this.op('hold', [xt], { shape: x.shape, dtype: xt.dtype, alias: storageOf(xt), name: 'hold' });
    } finally {
      this.noGrad = prev;
    }
  }

  /**
   * PyTorch 2's scaled_dot_product_attention math fallback (the CPU with attention dropout): it runs
   * below autocast, upcasts bf16/fp16 q, k and v to fp32 on the CPU, scales q and k into new tensors,
   * and casts the result back (measured, torch 2.13 CPU: q, k, v, probabilities, mask and dropped
   * probabilities are all kept in fp32 under bf16 autocast).
   */
  sdpaMath(q: T, k: T, v: T, p: number, c: number): T {
    const [qt, kt, vt] = [q as TTensor, k as TTensor, v as TTensor];
    const up = (t: TTensor) => (t.dtype === 'bf16' || t.dtype === 'f16' ? this.op('cast', [t], { shape: t.shape, dtype: 'f32', name: `${t.name}:float` }) : t);
    const [qa, ka, va] = [up(qt), up(kt), up(vt)];
    const scaled = (t: TTensor) => this.op('scale', [t], { shape: t.shape, dtype: t.dtype }, { c });
    const qs = scaled(qa);
    const ks = scaled(ka);
    const scores = this.op('matmul', [qs, ks], { shape: shapes.matmul(qs.shape, ks.shape, true), dtype: qs.dtype }, { transposeB: true });
    const probs = this.op('softmax', [scores], { shape: scores.shape, dtype: scores.dtype });
    const dropped = this.dropout(probs, p) as TTensor;
    const out = this.op('matmul', [dropped, va], { shape: shapes.matmul(dropped.shape, va.shape, false), dtype: dropped.dtype }, { transposeB: false });
    return out.dtype === qt.dtype ? out : this.op('cast', [out], { shape: out.shape, dtype: qt.dtype, name: 'sdpa:cast' });
  }

  cast(x: T, dtype: DType): T {
    const xt = x as TTensor;
    if (xt.dtype === dtype) return x;
    return this.op('cast', [xt], { shape: xt.shape, dtype, name: `${xt.name}:to_${dtype}` });
  }

  quantLinear(x: T, qw: T, shape: [number, number], kind: 'int8' | 'nf4' | 'fp4', bias?: T, nested = false): T {
    // The block casts x to the compute type first (Linear4bit's x.to(compute_dtype)); the output has x's type.
    const xt = x as TTensor;
    const ins = bias ? [xt, qw as TTensor, bias as TTensor] : [xt, qw as TTensor];
    return this.op('linear', ins, { shape: shapes.linear(x.shape, shape), dtype: xt.dtype }, { bias: !!bias, quantized: kind, weightShape: shape, nested });
  }

  inplace(kind: 'relu' | 'gelu' | 'softmax' | 'add', x: T, other?: T): T {
    const xt = x as TTensor;
    const ins = other ? [xt, other as TTensor] : [xt];
    const opKind: OpKind = kind === 'add' ? 'add' : kind === 'softmax' ? 'softmax' : 'act';
    return this.op(opKind, ins, { shape: x.shape, dtype: xt.dtype, alias: storageOf(xt), name: `${kind}_` }, { inplace: true, ...(opKind === 'act' ? { act: kind } : {}) });
  }

  matmulInto(a: T, b: T, into: T): T {
    const ins = this.lowp([a as TTensor, b as TTensor]);
    return this.op('matmul', ins, { shape: shapes.matmul(a.shape, b.shape, false), dtype: this.computeType, alias: storageOf(into as TTensor), name: 'matmul_into' }, { transposeB: false, inplace: true });
  }

  nestedSoftmax(x: T): T {
    const xt = x as TTensor;
    return this.op('softmax', [xt], { shape: x.shape, dtype: xt.dtype }, { nested: true });
  }

  markLoss(x: T): void {
    this.trace.loss = x as TTensor;
  }

  layerNorm(x: T, gamma: T, beta: T): T {
    const d = x.shape[x.shape.length - 1];
    if (gamma.shape.length !== 1 || gamma.shape[0] !== d) throw shapeError(`layer_norm: gamma ${shapeStr(gamma.shape)} does not match ${shapeStr(x.shape)}`);
    if (this.cpuAutocast) return this.op('layer_norm', [x as TTensor, gamma as TTensor, beta as TTensor], { shape: x.shape, dtype: (x as TTensor).dtype });
    const ins = this.fp32([x as TTensor, gamma as TTensor, beta as TTensor]);
    return this.op('layer_norm', ins, { shape: x.shape, dtype: this.mixed ? 'f32' : (x as TTensor).dtype });
  }

  batchNorm(x: T, gamma: T, beta: T, axis: number): T {
    if (gamma.shape[0] !== x.shape[axis]) throw shapeError(`batch_norm: ${shapeStr(gamma.shape)} does not match channel axis of ${shapeStr(x.shape)}`);
    return this.op('batch_norm', [x as TTensor, gamma as TTensor, beta as TTensor], { shape: x.shape, dtype: (x as TTensor).dtype }, { axis });
  }

  dropout(x: T, p: number): T {
    // model.eval(): dropout is the identity.
    if (p <= 0 || this.inference || this.evalMode) return x;
    return this.op('dropout', [x as TTensor], { shape: x.shape, dtype: (x as TTensor).dtype, name: 'dropout' }, { p });
  }

  embedding(table: T, ids: T): T {
    const tt = table as TTensor;
    return this.op('embedding', [tt, ids as TTensor], { shape: [...ids.shape, table.shape[1]!], dtype: this.mixed ? 'f32' : tt.dtype });
  }

  gatherRows(x: T, index: T): T {
    return this.op('gather_rows', [x as TTensor, index as TTensor], { shape: [index.shape[0]!, ...x.shape.slice(1)], dtype: (x as TTensor).dtype });
  }

  scatterAdd(src: T, index: T, segments: number): T {
    return this.op('scatter_add', [src as TTensor, index as TTensor], { shape: [segments, ...src.shape.slice(1)], dtype: (src as TTensor).dtype }, { segments });
  }

  conv(x: T, w: T, b: T | undefined, stride: number, padding: number, transposed?: { outputPadding: number }): T {
    const ins = this.lowp(b ? [x as TTensor, w as TTensor, b as TTensor] : [x as TTensor, w as TTensor]);
    const shape = shapes.conv(x.shape, w.shape, stride, padding, transposed);
    return this.op('conv', ins, { shape, dtype: this.computeType }, { stride, padding, bias: !!b, ...(transposed ? { transposed: true } : {}) });
  }

  pool(kind: 'max' | 'avg', x: T, size: number, stride: number, padding = 0): T {
    return this.op('pool', [x as TTensor], { shape: shapes.pool(x.shape, size, stride, padding), dtype: (x as TTensor).dtype }, { pool: kind, size, stride, ...(padding ? { padding } : {}) });
  }

  /**
   * torch.cdist(a, b), p = 2: the mm-based Euclidean path (_euclidean_dist) reads contiguous inputs, so
   * a strided view (a slice of a wider tensor) is copied first, and those copies are what it keeps
   * (measured, bench program p03: two [2, 128, 3] copies of one sliced view).
   */
  cdist(a: T, b: T): T {
    const [at, bt] = [this.contiguous(a) as TTensor, this.contiguous(b) as TTensor];
    // Under autocast cdist runs in fp32 (CUDA's fp32 list; the CPU keeps the widest input type).
    const ins = this.mixed && !this.cpuAutocast ? this.fp32([at, bt]) : [at, bt];
    return this.op('cdist', ins, { shape: shapes.cdist(a.shape, b.shape), dtype: this.widest(ins) });
  }

  /** Comparisons and logical_not record no graph: their bool result never requires grad. */
  compare(fn: CompareFn, a: T, b?: T | number): T {
    const at = a as TTensor;
    const ins = b !== undefined && typeof b !== 'number' ? [at, b as TTensor] : [at];
    const shape = ins.length === 2 ? shapes.broadcast(a.shape, ins[1]!.shape) : a.shape;
    const prev = this.noGrad;
    this.noGrad = true;
    try {
      return this.op('compare', ins, { shape, dtype: 'bool', name: fn }, { fn, ...(typeof b === 'number' ? { value: b } : {}) });
    } finally {
      this.noGrad = prev;
    }
  }

  diagonal(x: T): T {
    const xt = x as TTensor;
    return this.op('diagonal', [xt], { shape: shapes.diagonal(x.shape), dtype: xt.dtype, alias: storageOf(xt), strided: true });
  }

  meanAxis(x: T, axis: number): T {
    return this.op('mean_axis', [x as TTensor], { shape: shapes.meanAxis(x.shape, axis), dtype: (x as TTensor).dtype }, { axis });
  }

  reshape(x: T, shape: number[]): T {
    const xt = x as TTensor;
    return this.op('reshape', [xt], { shape: shapes.reshape(x.shape, shape), dtype: xt.dtype, alias: storageOf(xt) });
  }

  transpose(x: T, perm: number[]): T {
    // A transposed view; the next matmul/linear reads it strided (PyTorch) without a copy. Over a dense
    // tensor it is a permuted layout, contiguous again when the permutations cancel.
    const xt = x as TTensor;
    const dense = !xt.strided || !!xt.order;
    const order = dense ? perm.map((p) => (xt.order ? xt.order[p]! : p)) : undefined;
    const contiguous = !!order && order.every((p, i) => p === i);
    const layout = contiguous ? {} : order ? { strided: true, order } : { strided: true };
    return this.op('transpose', [xt], { shape: shapes.transpose(x.shape, perm), dtype: xt.dtype, alias: storageOf(xt), ...layout }, { perm });
  }

  concat(xs: T[], axis: number): T {
    const ins = xs as TTensor[];
    return this.op('concat', ins, { shape: shapes.concat(xs.map((x) => x.shape), axis), dtype: this.widest(ins) }, { axis });
  }

  sdpa(q: T, k: T, v: T, mask?: T): T {
    // Autocast casts every floating argument of scaled_dot_product_attention, the mask too.
    const ins = this.lowp(mask ? [q as TTensor, k as TTensor, v as TTensor, mask as TTensor] : [q as TTensor, k as TTensor, v as TTensor]);
    // softmax(q k^T) v: [b, h, s_q, d] x [b, h, s_k, d]^T -> [b, h, s_q, s_k], then @ v [b, h, s_k, d_v].
    const scores = shapes.matmul(q.shape, k.shape, true);
    return this.op('sdpa', ins, { shape: shapes.matmul(scores, v.shape, false), dtype: this.computeType }, mask ? { bias: true } : {});
  }

  requiresGrad(x: T): boolean {
    return (x as TTensor).requiresGrad;
  }

  loss(kind: LossKind, x: T, classes?: number, target?: T): T {
    // mse, cross entropy and the BCE losses are autocast to fp32 on both devices; a plain mean is not on CPU.
    const ins = this.cpuAutocast && kind === 'mean' ? [x as TTensor] : this.fp32([x as TTensor]);
    if (target) {
      ins.push(...this.fp32([target as TTensor]));
    } else if (kind !== 'mean') {
      const target = this.input(
        'target',
        kind === 'cross_entropy' ? x.shape.slice(0, -1) : [...x.shape],
        kind === 'cross_entropy' ? 'int' : 'float',
        classes ?? x.shape[x.shape.length - 1],
      ) as TTensor;
      ins.push(target);
    }
    // On the CPU, mse_loss and binary_cross_entropy (mean) return a 0-dim view of their elementwise
    // buffer: the loss holds 4 B per input element until it is freed (measured, torch 1.13 and 2.13).
    const whole = this.cpu && (kind === 'mse' || kind === 'bce') ? { storageBytes: numel(x.shape) * 4 } : {};
    const out = this.op('loss', ins, { shape: [], dtype: 'f32', name: `loss:${kind}`, ...whole }, { loss: kind });
    this.trace.loss = out;
    return out;
  }

  tensor(name: string, shape: number[], dtype: 'act' | DType, lifetime: Lifetime): T {
    const dt: DType = dtype === 'act' ? this.computeType : dtype;
    // A saved or loss tensor belongs to the autograd graph (it is kept until backward reaches it),
    // although no traced input carries grad into it.
    const inGraph = lifetime === 'saved' || lifetime === 'loss';
    return this.op('tensor', [], { shape, dtype: dt, name, lifetime }, { lifetime }, inGraph);
  }

  scope<R>(name: string, fn: () => R): R {
    const outer = this.prefix;
    this.scopes.push(name);
    if (name) this.prefix = outer ? `${outer}.${name}` : name;
    try {
      return fn();
    } finally {
      this.scopes.pop();
      this.prefix = outer;
    }
  }

  /** A view of part of x (chunked processing reads slices of its input without copying). */
  chunkView(x: T, shape: number[]): T {
    const xt = x as TTensor;
    return this.op('reshape', [xt], { shape, dtype: xt.dtype, alias: storageOf(xt), name: 'chunk' }, { slice: true });
  }

  /** Forgets cached autocast weights (a new forward pass, e.g. a checkpoint recompute, casts again). */
  resetWeightCache(): void {
    this.weightCache.clear();
  }
}

export function isFp32Op(kind: OpKind): boolean {
  return FP32_OPS.has(kind);
}
export function isLowpOp(kind: OpKind): boolean {
  return LOWP_OPS.has(kind);
}
