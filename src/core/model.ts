/**
 * Model descriptors and run configs as data, and the assembler that turns them into one traced
 * training forward pass: dimensions resolved, blocks chained, repeats, frozen parts, chunking and
 * checkpoint segments applied.
 */
import { BLOCKS, type BlockArgs } from './blocks/index.js';
import { resolveDims, type DimSpec } from './dims.js';
import { MemplanError } from './errors.js';
import { evalValue, type NumOrExpr } from './expr.js';
import { count, LIMITS } from './limits.js';
import type { Builder, T } from './graph.js';
import { DTYPE_BYTES, numel } from './graph.js';
import { validate } from './schema.js';
import { validateClaims, type Claim } from './claim-keys.js';
import { bytesOf, Tracer, type Precision, type Trace } from './tracer.js';
import { checkLlmRun, llmSettings, normalizeLlmRun, type KvCacheSpec, type LoraSpec, type QuantSpec } from './llm.js';

export interface BlockSpec {
  type: string;
  name?: string;
  doc?: string;
  input?: NumOrExpr[];
  /** Input block(s) by name; `data` is a fresh input of the `input:` shape, `input` the enclosing group's input. */
  from?: string | string[];
  repeat?: NumOrExpr;
  /** Parameters do not require grad; activations are still saved when the input requires grad. */
  frozen?: boolean;
  /** Run under torch.no_grad(): nothing saved, no gradient flows back through it. */
  no_grad?: boolean;
  /** The output is detached (x.detach()): the graph stops here. */
  detach?: boolean;
  /** The output is the training loss (a custom loss built from op blocks); left out of inference runs. */
  loss?: boolean;
  /** The module runs in eval mode (module.eval()): dropout off, stock modules' eval fast paths. */
  eval?: boolean;
  /** Another call of an earlier block's module (its keys and its parameters: one weight, one gradient). */
  share?: string;
  checkpoint?: boolean;
  /** Earlier outputs a Python reference keeps alive until this block is done (a forward's local variables). */
  hold?: string | string[];
  chunk?: { dim: string; size: NumOrExpr; checkpoint?: boolean };
  /** Group blocks only: the blocks it holds. */
  blocks?: BlockSpec[];
  [key: string]: unknown;
}

export interface Knob {
  values: NumOrExpr[];
  changes_results?: boolean;
  note?: string;
}

export interface ModelDescriptor {
  name: string;
  description?: string;
  source?: string;
  dims?: Record<string, DimSpec>;
  blocks: BlockSpec[];
  knobs?: Record<string, Knob>;
}

export type OptimizerName = 'sgd' | 'sgd-momentum' | 'adam' | 'adamw' | 'adafactor' | 'adamw-8bit';
export type OptimizerImpl = 'foreach' | 'fused' | 'for-loop' | 'hf';
export type Strategy = 'none' | 'ddp' | 'zero1' | 'zero2' | 'zero3' | 'fsdp';

export type PytorchVersion = '2' | '1.13' | '1.10';

/** How reduced precision is run: torch.autocast over fp32 weights, FSDP MixedPrecision(param_dtype), or DeepSpeed's bf16/fp16 engine. */
export type MixedPrecisionImpl = 'autocast' | 'fsdp' | 'deepspeed';

/** PYTORCH_CUDA_ALLOC_CONF and friends; `fragmentation` replaces the allocator simulation by a fixed allowance. */
export interface AllocatorConfig {
  expandable_segments: boolean;
  max_split_size_mb?: number;
  fragmentation?: number;
  garbage_collection_threshold?: number;
  /** torch.cuda.set_per_process_memory_fraction (the garbage collection threshold acts only with it). */
  memory_fraction?: number;
  /** One number for every size bucket, or `{ "256": 1, ">": 4 }` by MiB bucket. */
  roundup_power2_divisions?: number | Record<string, number>;
  max_non_split_rounding_mb?: number;
}

export type CudaLibrary = 'cublas' | 'cudnn' | 'nccl';

export interface StackConfig {
  /** CUDA runtime `major.minor`, e.g. "12.4"; default the card preset's `cuda`, else 12.4. */
  cuda?: string;
  /** CUDA_MODULE_LOADING: lazy (default since CUDA 11.7 with PyTorch 1.13+) or eager. */
  module_loading?: 'lazy' | 'eager';
  /** Libraries initialised in the process; default cuBLAS, plus NCCL with more than one GPU. */
  libraries?: CudaLibrary[];
  /** The context measured: replaces the model. */
  context_bytes?: number;
}

/** A run config with every default filled in. */
export interface RunConfig {
  name?: string;
  batch_size: number;
  grad_accum: number;
  precision: Precision;
  /** `paged`: bitsandbytes' paged optimizer (state in CUDA unified memory, evicted to the host under pressure). */
  optimizer: { type: OptimizerName; impl: OptimizerImpl; weight_decay: number; paged?: boolean };
  ema: { enabled: boolean; dtype: 'f32' | 'bf16' | 'f16'; device: 'gpu' | 'cpu' };
  checkpointing: boolean | string[];
  /** `auto` (default): stock modules as their PyTorch version runs them (sdpa in 2.x); hand-written attention eager. */
  attention: 'auto' | 'eager' | 'sdpa';
  runtime: 'pytorch' | 'tfjs';
  /** `inference`: model.eval() under torch.no_grad(): the forward pass only, no gradients, optimizer or loss. */
  mode: 'train' | 'inference';
  device: 'cuda' | 'cpu';
  /** PyTorch version whose rules are modelled: '2' (default), '1.13' (see docs/accuracy-pytorch.md) or '1.10' (1.13's, and softmax / log_softmax keep their input). */
  pytorch: PytorchVersion;
  distributed: { strategy: Strategy; gpus: number; bucket_view: boolean; bucket_cap_mb: number; prefetch: number; mixed_precision: MixedPrecisionImpl };
  allocator: AllocatorConfig;
  /**
   * `zero_grad(set_to_none=...)` between steps: false keeps every gradient allocated through the next forward
   * and backward; `default` is a plain `zero_grad()`, the run's PyTorch version's default (see setToNone).
   */
  set_to_none: boolean | 'default';
  /** The CUDA stack: version, module loading, libraries, or the context bytes themselves (context.ts). */
  stack: StackConfig;
  dims: Record<string, NumOrExpr>;
  gpu?: string[];
  budget?: { gpu?: string[]; headroom?: number | string; level?: 'error' | 'warn' | 'off' };
  notes?: string[];
  /** A hand-made table's numbers to check against the estimate (see claims.ts). */
  claims?: Claim[];
  /** LoRA adapters over a frozen base (PEFT), quantised base weights (bitsandbytes), an inference KV cache: see llm.ts. */
  lora?: LoraSpec;
  quantization?: QuantSpec;
  kv_cache?: KvCacheSpec;
}

/** The raw YAML shape of a run config (before defaults). */
export type RawRunConfig = Record<string, unknown> & { model: string | ModelDescriptor };

export function validateModel(data: unknown): ModelDescriptor {
  validate('model', data);
  return data as ModelDescriptor;
}

/**
 * Whether zero_grad frees the gradients: `set_to_none: default` (a plain `optimizer.zero_grad()`) follows
 * the version: set_to_none=True from PyTorch 2.0 on, False before (torch/optim/optimizer.py).
 */
export function setToNone(run: Pick<RunConfig, 'set_to_none' | 'pytorch'>): boolean {
  return run.set_to_none === 'default' ? run.pytorch === '2' : run.set_to_none;
}

/** Validates a raw run config (without its model) and fills in defaults. */
export function normalizeRun(raw: Record<string, unknown>): RunConfig {
  validate('run', raw);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- validated just above; the schema, not a TS type, says what it holds
  const r = raw as Record<string, any>;
  const opt = typeof r.optimizer === 'string' ? { type: r.optimizer } : (r.optimizer ?? { type: 'adamw' });
  const ema = typeof r.ema === 'boolean' ? { enabled: r.ema } : (r.ema ?? { enabled: false });
  const dist = r.distributed ?? {};
  const list = (v: unknown) => (v === undefined ? undefined : Array.isArray(v) ? (v as string[]) : [v as string]);
  const run: RunConfig = {
    name: r.name,
    batch_size: r.batch_size ?? 1,
    grad_accum: r.grad_accum ?? 1,
    precision: r.precision ?? 'fp32',
    optimizer: { type: opt.type, impl: opt.impl ?? 'foreach', weight_decay: opt.weight_decay ?? 0, ...(opt.paged ? { paged: true } : {}) },
    ema: { enabled: ema.enabled ?? true, dtype: ema.dtype ?? 'f32', device: ema.device ?? 'gpu' },
    checkpointing: r.checkpointing ?? false,
    attention: r.attention ?? 'auto',
    runtime: r.runtime ?? 'pytorch',
    mode: r.mode ?? 'train',
    device: r.device ?? 'cuda',
    pytorch: r.pytorch === undefined ? '2' : (String(r.pytorch) as PytorchVersion),
    distributed: {
      strategy: dist.strategy ?? 'none',
      gpus: dist.gpus ?? 1,
      bucket_view: dist.bucket_view ?? false,
      bucket_cap_mb: dist.bucket_cap_mb ?? 25,
      prefetch: dist.prefetch ?? 1,
      mixed_precision: dist.mixed_precision ?? 'autocast',
    },
    allocator: { expandable_segments: false, ...(r.allocator ?? {}) },
    set_to_none: r.set_to_none ?? true,
    stack: { ...(r.stack ?? {}) },
    dims: r.dims ?? {},
    gpu: list(r.gpu),
    budget: r.budget ? { ...r.budget, gpu: list(r.budget.gpu) } : undefined,
    notes: r.notes,
    claims: r.claims,
    ...normalizeLlmRun(r),
  };
  if (run.distributed.strategy === 'none' && run.distributed.gpus > 1) run.distributed.strategy = 'ddp';
  checkLlmRun(run);
  validateClaims(run.claims);
  if (run.optimizer.paged && run.optimizer.type !== 'adamw' && run.optimizer.type !== 'adam' && run.optimizer.type !== 'adamw-8bit') {
    throw new MemplanError('E_CONFIG', `optimizer ${run.optimizer.type} has no paged version here`, { path: 'optimizer.paged', expected: 'adam, adamw or adamw-8bit (bitsandbytes Paged(Adam|AdamW)(8bit))' });
  }
  checkMixedPrecision(run);
  if (run.runtime === 'tfjs' && run.precision !== 'fp32') {
    throw new MemplanError('E_CONFIG', `the tfjs runtime holds float32 only; precision ${run.precision} cannot be modelled there`, {
      path: 'precision',
      expected: 'fp32 with runtime: tfjs',
      hint: 'use runtime: pytorch to model mixed or low precision',
    });
  }
  return run;
}

/** FSDP's and DeepSpeed's own mixed precision need their strategy and a reduced precision to cast to. */
function checkMixedPrecision(run: RunConfig): void {
  const mp = run.distributed.mixed_precision;
  if (mp === 'autocast') return;
  const strat = run.distributed.strategy;
  const ok = mp === 'fsdp' ? strat === 'fsdp' : strat === 'zero1' || strat === 'zero2' || strat === 'zero3' || strat === 'ddp' || strat === 'none';
  if (!ok) {
    throw new MemplanError('E_CONFIG', `distributed.mixed_precision: ${mp} needs ${mp === 'fsdp' ? 'strategy fsdp' : 'a DeepSpeed strategy (none or ddp for ZeRO stage 0, zero1, zero2, zero3)'}, not ${strat}`, {
      path: 'distributed.mixed_precision',
      expected: mp === 'fsdp' ? 'distributed.strategy: fsdp' : 'distributed.strategy: none | ddp | zero1 | zero2 | zero3',
    });
  }
  if (run.precision !== 'bf16-mixed' && run.precision !== 'fp16-mixed') {
    throw new MemplanError('E_CONFIG', `distributed.mixed_precision: ${mp} casts to bf16 or fp16; precision ${run.precision} gives it nothing to cast to`, {
      path: 'precision',
      expected: 'precision: bf16-mixed or fp16-mixed (the reduced dtype FSDP / DeepSpeed computes in)',
    });
  }
}

export interface BlockInfo {
  index: number;
  name: string;
  type: string;
  repeat: number;
  params: number;
  frozen: boolean;
  checkpointed: boolean;
  chunks: number;
  chunkDim?: string;
}

export interface Assembled {
  trace: Trace;
  dims: Map<string, number>;
  blocks: BlockInfo[];
  notes: string[];
}

/**
 * One tensor past 2^53 bytes makes every later sum inexact; name the block that made it (the
 * estimator's own total check cannot say where the size came from).
 */
function checkTensorSizes(tr: Trace | undefined, ops: number, params: number, inputs: number, path: string): void {
  if (!tr) return;
  const made = [...tr.ops.slice(ops).map((o) => o.output), ...tr.params.slice(params), ...tr.inputs.slice(inputs)];
  const big = made.find((t) => !(bytesOf(t) <= Number.MAX_SAFE_INTEGER));
  if (big) {
    throw new MemplanError('E_TOO_LARGE', `tensor ${big.name} [${big.shape.join(', ')}] x ${DTYPE_BYTES[big.dtype]} B is past 2^53 bytes`, {
      path,
      expected: 'tensors below 2^53 bytes (9 PB)',
      hint: 'check the dimensions for a missing division or a value in the wrong unit',
    });
  }
}

/**
 * Errors raised while a block is traced (the graph's shape helpers, the tracer's op budget) know no
 * place in the descriptor: they get the path of the block being traced.
 */
function withBlockPath<R>(path: string, fn: () => R): R {
  try {
    return fn();
  } catch (e) {
    if (e instanceof MemplanError && e.path === undefined) e.path = path;
    throw e;
  }
}

/** The dimension the run's batch size fills in expressions. */
export const BATCH_DIM = 'batch';

/** A Builder the assembler can steer: which block is traced, grad mode, frozen parameters, checkpoint segment. */
export type AssemblyBuilder = Builder & { block: number; noGrad: boolean; frozen?: boolean; evalMode?: boolean; inLoss?: boolean; segment: number | undefined };

/** Block outputs visible by name: a group's own blocks (this repeat), then the enclosing levels. */
interface Names {
  outputs: Map<string, T>;
  /** The enclosing group's input (`from: input`). */
  input?: T;
  parent?: Names;
}

function lookup(names: Names, ref: string): T | undefined {
  for (let n: Names | undefined = names; n; n = n.parent) {
    if (ref === 'input' && n.input) return n.input;
    const t = n.outputs.get(ref);
    if (t) return t;
  }
  return undefined;
}

function visible(names: Names): string[] {
  const out: string[] = [];
  for (let n: Names | undefined = names; n; n = n.parent) {
    out.push(...n.outputs.keys());
    if (n.input) out.push('input');
  }
  return [...new Set(out)];
}

/** Grad state a block inherits from the groups around it. */
interface Mode {
  frozen: boolean;
  noGrad: boolean;
  /** module.eval(): dropout off, stock fast paths (an inference pass, or `eval: true`). */
  eval: boolean;
  /** Inside a checkpointed group's segment: inner checkpoint keys do not open segments of their own. */
  inSegment: boolean;
}

/** Everything one assembly shares while it walks the (nested) blocks. */
interface Ctx {
  b: AssemblyBuilder;
  tracer: Tracer | undefined;
  run: RunConfig;
  dims: Map<string, number>;
  notes: string[];
  /** Checkpoint segment ids, shared by every level. */
  segments: { next: number };
  ckptAll: boolean;
  ckptNames: Set<string>;
  /** Parameters each named block made, for `tie:`. */
  paramsOf: Map<string, T[]>;
  /** Each named block's spec and the scope path of each of its repeats, for `share:`. */
  shared: Map<string, { spec: BlockSpec; scopes: string[] }>;
  inference: boolean;
  /** Tensors the model's output keeps referenced (BlockArgs.keepUntilOutput): held once every block has run. */
  untilOutput: T[];
}

/**
 * Traces the model's training forward pass for this run on `builder` (a Tracer unless probing), or
 * its inference forward (`mode: inference`: model.eval() under torch.no_grad(), no loss).
 */
export function assemble(model: ModelDescriptor, run: RunConfig, builder?: AssemblyBuilder): Assembled {
  const dims = resolveDims(model.dims ?? {}, run.dims, { [BATCH_DIM]: run.batch_size });
  const inference = run.mode === 'inference';
  const tracer = builder ? undefined : new Tracer(run.precision, { device: run.device, runtime: run.runtime, inference });
  const b: AssemblyBuilder = builder ?? tracer!;
  const traced = tracer?.trace ?? (b instanceof Tracer ? b.trace : undefined);
  if (traced && run.grad_accum > 1 && !inference) traced.lossDivided = true;
  const ctx: Ctx = {
    b, tracer: b instanceof Tracer ? b : tracer, run, dims, notes: [], segments: { next: 0 },
    ckptAll: run.checkpointing === true,
    ckptNames: Array.isArray(run.checkpointing) ? new Set(run.checkpointing) : new Set<string>(),
    paramsOf: new Map(), shared: new Map(), inference, untilOutput: [],
  };
  const allNames = new Set<string>();
  collectNames(model.blocks, allNames);
  for (const n of ctx.ckptNames) {
    if (!allNames.has(n)) {
      throw new MemplanError('E_CONFIG', `checkpointing names block "${n}", which the model does not have`, {
        path: 'checkpointing',
        expected: `block names: ${[...allNames].join(', ')}`,
      });
    }
  }
  const infos: BlockInfo[] = [];
  const top: Names = { outputs: new Map() };
  let prev: T | undefined;
  model.blocks.forEach((spec, index) => {
    b.block = index;
    const paramsBefore = paramCount(b);
    const mark = traced ? { ops: traced.ops.length, params: traced.params.length, inputs: traced.inputs.length } : undefined;
    // LoRA (PEFT) freezes the whole base model; only the adapters the blocks add train.
    const r = withBlockPath(`blocks[${index}]`, () => runBlock(ctx, spec, index, `blocks[${index}]`, top, prev, { frozen: !!run.lora, noGrad: inference, eval: inference, inSegment: false }, true));
    if (traced && mark) checkTensorSizes(traced, mark.ops, mark.params, mark.inputs, `blocks[${index}]`);
    infos.push({ ...r.info, params: paramsAdded(b, paramsBefore) });
    if (r.out) prev = r.out;
  });
  // What the forward's output object references (T5's cache in Seq2SeqLMOutput) lives until the forward is done.
  for (const t of ctx.untilOutput) b.hold?.(t);

  const tr = traced as Trace;
  // No explicit loss: a scalar that needs grad is the loss (a custom loss built from ops), anything else gets a mean.
  const last = prev as { requiresGrad?: boolean; shape: readonly number[] } | undefined;
  if (tr && !tr.loss && !inference && last?.requiresGrad) {
    b.block = model.blocks.length - 1;
    if (last.shape.length === 0) b.markLoss(prev!);
    else withBlockPath(`blocks[${model.blocks.length - 1}]`, () => b.scope('loss', () => b.loss('mean', prev!)));
  }
  return { trace: tr, dims, blocks: infos, notes: ctx.notes };
}

function collectNames(specs: readonly BlockSpec[], into: Set<string>): void {
  specs.forEach((s, i) => {
    into.add(s.name ?? `${s.type}_${i}`);
    if (Array.isArray(s.blocks)) collectNames(s.blocks as BlockSpec[], into);
  });
}

function paramCount(b: AssemblyBuilder): number {
  return ((b as unknown as { trace?: { params: unknown[] } }).trace?.params ?? []).length;
}

function paramsAdded(b: AssemblyBuilder, before: number): number {
  const ps = ((b as unknown as { trace?: { params: { shape: readonly number[] }[] } }).trace?.params ?? []).slice(before);
  return ps.reduce((a, p) => a + numel(p.shape), 0);
}

/** A block's `from:` inputs, resolved; `data` and a declared `input:` shape make a fresh input. */
function blockInputs(ctx: Ctx, spec: BlockSpec, path: string, names: Names, prev: T | undefined, name: string, source: boolean): T[] {
  const refs = spec.from === undefined ? [] : Array.isArray(spec.from) ? spec.from : [spec.from];
  const xs: T[] = [];
  refs.forEach((ref, j) => {
    if (ref === 'data') return;
    const t = lookup(names, ref);
    if (!t) {
      const known = visible(names);
      throw new MemplanError('E_CONFIG', `from: "${ref}" names no earlier block`, {
        path: `${path}.from${Array.isArray(spec.from) ? `[${j}]` : ''}`,
        expected: `one of ${known.join(', ') || '(no earlier blocks)'}`,
        hint: 'name an earlier block (or `input`, the enclosing group\'s input); blocks see earlier blocks only',
      });
    }
    xs.push(t);
  });
  if (!refs.length && prev && !source) xs.push(prev);
  const declared = source ? undefined : shapeAt(spec.input, ctx.dims, `${path}.input`);
  if (declared) {
    const x = xs[0];
    if (refs.includes('data') || !x) {
      const fresh = ctx.b.scope(name, () => ctx.b.input('input', declared, 'float'));
      if (xs.length) xs[0] = fresh;
      else xs.push(fresh);
    } else if (numel(x.shape) === numel(declared)) {
      xs[0] = ctx.b.reshape(x, declared);
    } else {
      throw new MemplanError('E_SHAPE', `input [${declared.join(', ')}] does not match the previous output [${x.shape.join(', ')}]`, {
        path: `${path}.input`,
        expected: `a shape with ${numel(x.shape)} elements, or from: data for a fresh input`,
        hint: 'add a mean_pool or reshape block between them, or set `from: data` if this block reads the batch directly',
      });
    }
  }
  return xs;
}

function shapeAt(v: unknown, scope: ReadonlyMap<string, number>, path: string): number[] | undefined {
  if (!Array.isArray(v)) return undefined;
  return v.map((e, j) => evalValue(e as NumOrExpr, scope, `${path}[${j}]`, { integer: true, min: 1 }));
}

function blockArgs(ctx: Ctx, spec: BlockSpec, path: string, scope: ReadonlyMap<string, number>, inputs: T[], mode: Mode): BlockArgs {
  return {
    num: (key, o = {}) => {
      const v = spec[key] as NumOrExpr | undefined;
      if (v === undefined) {
        if (o.default === undefined) throw new MemplanError('E_SCHEMA', `missing required key "${key}"`, { path: `${path}.${key}`, expected: `a value for ${key}` });
        return evalValue(o.default, scope, `${path}.${key}`, o);
      }
      return evalValue(v, scope, `${path}.${key}`, o);
    },
    get: <V>(key: string, fallback: V) => (spec[key] === undefined ? fallback : (spec[key] as V)),
    shape: (key) => shapeAt(spec[key], scope, `${path}.${key}`),
    attention: ctx.run.attention,
    torch: { version: ctx.run.pytorch, device: ctx.run.device, runtime: ctx.run.runtime },
    path,
    inputs,
    tied: () => {
      const target = spec.tie as string | undefined;
      if (target === undefined) return undefined;
      const ps = ctx.paramsOf.get(target)?.filter((p) => p.shape.length === 2);
      if (!ps?.length) {
        throw new MemplanError('E_CONFIG', `tie: "${target}" names no earlier block with a weight matrix`, {
          path: `${path}.tie`,
          expected: `an earlier embedding or linear block: ${[...ctx.paramsOf.keys()].join(', ') || '(none)'}`,
        });
      }
      return ps[0];
    },
    inference: ctx.inference,
    llm: llmSettings(ctx.run, scope, path),
    keepUntilOutput: (t) => ctx.untilOutput.push(t),
    eval: mode.eval,
    noGrad: mode.noGrad,
    frozen: mode.frozen,
  };
}

/**
 * Traces one block (a module or a group), with its repeats, chunks, checkpoint segments and grad
 * mode. Returns its output (undefined for a source block that passes nothing on).
 */
function runBlock(ctx: Ctx, own: BlockSpec, index: number, path: string, names: Names, prev: T | undefined, outer: Mode, topLevel: boolean): { out: T | undefined; info: BlockInfo } {
  const b = ctx.b;
  const target = own.share === undefined ? undefined : sharedTarget(ctx, own, path);
  // A shared block is the target's module called again: the target's keys, its own name and wiring.
  const spec: BlockSpec = target ? { ...target.spec, ...own } : own;
  const isGroup = spec.type === 'group';
  const mod = isGroup ? undefined : BLOCKS.get(spec.type)!;
  const name = spec.name ?? `${spec.type}_${index}`;
  const info: BlockInfo = { index, name, type: spec.type, repeat: 1, params: 0, frozen: false, checkpointed: false, chunks: 1, chunkDim: spec.chunk?.dim };
  // In an inference pass a loss (a `loss` block, or a block or group marked `loss: true`) is not run.
  if (ctx.inference && (spec.type === 'loss' || spec.loss === true)) return { out: prev, info: { ...info, repeat: 0 } };
  // repeat: 0 leaves the block out (a dimension can switch an optional block off: `repeat: use_layer_norm * layers`).
  const repeat = spec.repeat === undefined ? 1 : evalValue(spec.repeat, ctx.dims, `${path}.repeat`, { integer: true, min: 0, max: LIMITS.repeat });
  const mode: Mode = { frozen: outer.frozen || spec.frozen === true, noGrad: outer.noGrad || spec.no_grad === true, eval: outer.eval || spec.eval === true, inSegment: outer.inSegment };
  const source = !!mod?.source;
  const wantsCkpt = spec.checkpoint ?? ((topLevel && ctx.ckptAll) || ctx.ckptNames.has(name));
  const checkpointed = wantsCkpt && !mode.noGrad && !mode.inSegment && !source;
  Object.assign(info, { repeat, frozen: mode.frozen, checkpointed });
  if (wantsCkpt && mode.inSegment && spec.checkpoint) {
    ctx.notes.push(`${name}: inside a checkpointed group already; its own checkpoint adds no segment (the group's segment recomputes it).`);
  }
  const inputs = blockInputs(ctx, spec, path, names, prev, name, source);
  const x = inputs[0];

  const saved = { frozen: b.frozen, noGrad: b.noGrad, evalMode: b.evalMode, segment: b.segment, inLoss: b.inLoss };
  b.frozen = mode.frozen;
  b.noGrad = mode.noGrad;
  b.evalMode = mode.eval;
  const tracer = b instanceof Tracer ? b : undefined;
  const scopes: string[] = [];
  // A custom loss: what it keeps for backward is reported as loss buffers.
  if (spec.loss === true) b.inLoss = true;
  const madeBefore = paramCount(b);
  // One pass of the block over `input` (repeats chained); each repeat is one segment when checkpointed per repeat.
  const runOnce = (input: T | undefined, scope: ReadonlyMap<string, number>, segPerCall: boolean): T | undefined => {
    let h = input;
    for (let r = 0; r < repeat; r++) {
      const seg = segPerCall || (checkpointed && !spec.chunk);
      if (seg) b.segment = ctx.segments.next++;
      const inner: Mode = { ...mode, inSegment: mode.inSegment || seg };
      const layer = repeat > 1 ? `${name}[${r}]` : name;
      // Repeats chain the first input; the others stay the same for every repeat.
      const ins = h ? [h, ...inputs.slice(1)] : inputs.slice(1);
      const build = () => (isGroup ? runGroup(ctx, spec, path, names, h, scope, inner) : mod!.build(b, h, blockArgs(ctx, spec, path, scope, ins, inner)));
      h = withBlockPath(path, () =>
        b.scope(layer, () => {
          if (tracer && scopes.length === r) scopes.push(tracer.scopePath);
          const to = target?.scopes[r];
          return to !== undefined && tracer ? tracer.shareParams(to, build) : build();
        }),
      );
      if (seg) b.segment = saved.segment;
    }
    return h;
  };

  let out: T | undefined;
  if (spec.chunk) {
    const c = spec.chunk;
    if (!ctx.dims.has(c.dim)) {
      throw new MemplanError('E_UNDECLARED_SYMBOL', `chunk.dim "${c.dim}" is not a declared dimension`, { path: `${path}.chunk.dim`, expected: [...ctx.dims.keys()].join(', ') });
    }
    const declared = shapeAt(spec.input, ctx.dims, `${path}.input`);
    if (!declared || !x) {
      throw new MemplanError('E_CONFIG', 'a chunked block needs an `input:` shape that uses the chunked dimension', { path: `${path}.input`, expected: `input: [...] with ${c.dim} in it` });
    }
    const full = ctx.dims.get(c.dim)!;
    const size = Math.min(evalValue(c.size, ctx.dims, `${path}.chunk.size`, { integer: true, min: 1 }), full);
    const chunks = Math.ceil(full / size);
    if (chunks > LIMITS.chunks) {
      throw new MemplanError('E_TOO_LARGE', `${c.dim} = ${full} in chunks of ${size} makes ${count(chunks)} chunks, past the limit of ${count(LIMITS.chunks)}`, {
        path: `${path}.chunk.size`,
        expected: `a chunk size of at least ${Math.ceil(full / LIMITS.chunks)}`,
        hint: 'docs/security.md lists the limits',
      });
    }
    const perChunk = (c.checkpoint ?? checkpointed) && !mode.noGrad && !mode.inSegment;
    info.chunks = chunks;
    info.checkpointed = perChunk || checkpointed;
    const outs: T[] = [];
    let axis = 0;
    for (let k = 0; k < chunks; k++) {
      const len = Math.min(size, full - k * size);
      const scope = new Map(ctx.dims).set(c.dim, len);
      const shape = shapeAt(spec.input, scope, `${path}.input`)!;
      axis = Math.max(0, shape.findIndex((d, j) => d !== declared[j]));
      const view = (b as Tracer).chunkView ? (b as Tracer).chunkView(x, shape) : x;
      // The slice and the final concat belong to no checkpoint segment; one segment per chunk spans the whole block or group.
      if (perChunk) b.segment = ctx.segments.next++;
      outs.push(runOnce(view, scope, false)!);
      if (perChunk) b.segment = saved.segment;
    }
    out = chunks === 1 ? outs[0]! : withBlockPath(path, () => b.concat(outs, axis));
    if (!perChunk && chunks > 1 && !mode.noGrad && !mode.inSegment) {
      ctx.notes.push(
        `${name}: chunking ${c.dim} into ${chunks} chunks of ${size} does not shrink saved activations in training: ` +
          'every chunk keeps what its backward needs until backward. It lowers transient peaks only. ' +
          'Set chunk.checkpoint: true (recompute per chunk) to cut saved activations.',
      );
    }
  } else {
    out = runOnce(x, ctx.dims, false);
  }
  // A stock module that keeps a Python reference to its input until it returns (nn.TransformerEncoder).
  if (mod?.holdsInput && x && repeat > 0) b.hold?.(x);
  // `hold:` earlier outputs a forward's local variables keep referenced until this block is done.
  const holds = spec.hold === undefined ? [] : Array.isArray(spec.hold) ? spec.hold : [spec.hold];
  holds.forEach((ref, j) => {
    const t = lookup(names, ref);
    if (!t) {
      throw new MemplanError('E_CONFIG', `hold: "${ref}" names no earlier block`, { path: `${path}.hold${Array.isArray(spec.hold) ? `[${j}]` : ''}`, expected: `one of ${visible(names).join(', ')}` });
    }
    b.hold?.(t);
  });
  if (spec.detach === true && out) out = b.detach(out);
  if (spec.loss === true && out) b.markLoss(out);
  b.frozen = saved.frozen;
  b.noGrad = saved.noGrad;
  b.evalMode = saved.evalMode;
  b.segment = saved.segment;
  b.inLoss = saved.inLoss;

  const made = ((b as unknown as { trace?: { params: T[] } }).trace?.params ?? []).slice(madeBefore);
  if (made.length) ctx.paramsOf.set(name, made);
  if (target && ctx.paramsOf.has(own.share!)) ctx.paramsOf.set(name, ctx.paramsOf.get(own.share!)!);
  ctx.shared.set(name, { spec, scopes });
  if (mode.frozen && !ctx.run.lora && !mode.noGrad && !ctx.inference && x && (x as { requiresGrad?: boolean }).requiresGrad && made.length) {
    ctx.notes.push(
      `${name}: frozen (its parameters get no gradient), but its input requires grad, so it still saves its activations for backward: ` +
        'autograd needs them to pass the gradient on to the trainable blocks before it. Only `no_grad: true` (torch.no_grad()) saves nothing.',
    );
  }
  // A source block that passes nothing on (params, tensor) leaves the previous output current.
  const result = out ?? prev;
  if (result) names.outputs.set(name, result);
  return { out: result, info };
}

/** The earlier block a `share:` names: the same type, repeated as often; its spec and scopes. */
function sharedTarget(ctx: Ctx, own: BlockSpec, path: string): { spec: BlockSpec; scopes: string[] } {
  const t = ctx.shared.get(own.share!);
  if (!t) {
    throw new MemplanError('E_CONFIG', `share: "${own.share}" names no earlier block`, {
      path: `${path}.share`,
      expected: `an earlier block: ${[...ctx.shared.keys()].join(', ') || '(none)'}`,
      hint: 'a block can share the module of a block before it (siamese towers, a predictor applied twice)',
    });
  }
  if (t.spec.type !== own.type) {
    throw new MemplanError('E_CONFIG', `share: "${own.share}" is a ${t.spec.type} block, this one a ${own.type}`, { path: `${path}.share`, expected: `type: ${t.spec.type}` });
  }
  // The call's own wiring and grad mode stay its own; everything that defines the module comes from the target.
  const { name: _n, doc: _d, from: _f, input: _i, share: _s, ...module } = t.spec;
  for (const k of Object.keys(own)) {
    if (k in module && !['type', 'frozen', 'no_grad', 'detach', 'loss', 'eval', 'checkpoint', 'chunk'].includes(k) && JSON.stringify(module[k]) !== JSON.stringify(own[k])) {
      throw new MemplanError('E_CONFIG', `share: "${k}" differs from "${own.share}"'s; a shared module has the target's keys`, { path: `${path}.${k}`, hint: `drop "${k}" (it comes from "${own.share}")` });
    }
  }
  return { spec: module as BlockSpec, scopes: t.scopes };
}

/** A group's blocks in order over input x, with names scoped to the group (and to this repeat). */
function runGroup(ctx: Ctx, spec: BlockSpec, path: string, names: Names, x: T | undefined, scope: ReadonlyMap<string, number>, mode: Mode): T | undefined {
  const blocks = (spec.blocks ?? []) as BlockSpec[];
  const inner: Names = { outputs: new Map(), input: x, parent: names };
  // Inside a chunk the chunked dimension has the chunk's length.
  const sub: Ctx = scope === ctx.dims ? ctx : { ...ctx, dims: new Map(scope) };
  let h = x;
  // What the group reads from outside (its input, earlier blocks by name): the caller's variables, which
  // a module call (or a function) keeps referenced until it returns (bench program p04: the edge
  // embedding passed to every layer stays alive to the end of the last one, 4 MB past its last use).
  const outside = new Set<T>(x ? [x] : []);
  blocks.forEach((child, i) => {
    const refs = child.from === undefined ? [] : Array.isArray(child.from) ? child.from : [child.from];
    for (const ref of refs) {
      if (ref === 'data' || inner.outputs.has(ref)) continue;
      const t = lookup(inner, ref);
      if (t) outside.add(t);
    }
    h = runBlock(sub, child, i, `${path}.blocks[${i}]`, inner, h, mode, false).out;
  });
  for (const t of outside) ctx.b.hold?.(t);
  return h;
}
