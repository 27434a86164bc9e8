/**
 * Model descriptors and run configs as data, and the assembler that turns them into one traced
 * training forward pass: dimensions resolved, blocks chained, repeats, frozen parts, chunking and
 * checkpoint segments applied.
 */
import { BLOCKS, type BlockArgs } from './blocks/index.js';
import { resolveDims, type DimSpec } from './dims.js';
import { MemplanError } from './errors.js';
import { evalValue, type NumOrExpr } from './expr.js';
import type { Builder, T } from './graph.js';
import { DTYPE_BYTES, numel } from './graph.js';
import { validate } from './schema.js';
import type { Claim } from './claims.js';
import { bytesOf, Tracer, type Precision, type Trace } from './tracer.js';

export interface BlockSpec {
  type: string;
  name?: string;
  doc?: string;
  input?: NumOrExpr[];
  from?: string;
  repeat?: NumOrExpr;
  frozen?: boolean;
  checkpoint?: boolean;
  chunk?: { dim: string; size: NumOrExpr; checkpoint?: boolean };
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
export type OptimizerImpl = 'foreach' | 'fused' | 'for-loop';
export type Strategy = 'none' | 'ddp' | 'zero1' | 'zero2' | 'zero3' | 'fsdp';

/** A run config with every default filled in. */
export interface RunConfig {
  name?: string;
  batch_size: number;
  grad_accum: number;
  precision: Precision;
  optimizer: { type: OptimizerName; impl: OptimizerImpl; weight_decay: number };
  ema: { enabled: boolean; dtype: 'f32' | 'bf16' | 'f16'; device: 'gpu' | 'cpu' };
  checkpointing: boolean | string[];
  attention: 'eager' | 'sdpa';
  runtime: 'pytorch' | 'tfjs';
  device: 'cuda' | 'cpu';
  /** PyTorch major version whose optimizer code is modelled: '2' (default) or '1.13' (see docs/accuracy-pytorch.md). */
  pytorch: '2' | '1.13';
  distributed: { strategy: Strategy; gpus: number; bucket_view: boolean; bucket_cap_mb: number; prefetch: number };
  allocator: { expandable_segments: boolean; max_split_size_mb?: number; fragmentation?: number };
  dims: Record<string, NumOrExpr>;
  gpu?: string[];
  budget?: { gpu?: string[]; headroom?: number | string; level?: 'error' | 'warn' | 'off' };
  notes?: string[];
  /** A hand-made table's numbers to check against the estimate (see claims.ts). */
  claims?: Claim[];
}

/** The raw YAML shape of a run config (before defaults). */
export type RawRunConfig = Record<string, unknown> & { model: string | ModelDescriptor };

export function validateModel(data: unknown): ModelDescriptor {
  validate('model', data);
  return data as ModelDescriptor;
}

/** Validates a raw run config (without its model) and fills in defaults. */
export function normalizeRun(raw: Record<string, unknown>): RunConfig {
  validate('run', raw);
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
    optimizer: { type: opt.type, impl: opt.impl ?? 'foreach', weight_decay: opt.weight_decay ?? 0 },
    ema: { enabled: ema.enabled ?? true, dtype: ema.dtype ?? 'f32', device: ema.device ?? 'gpu' },
    checkpointing: r.checkpointing ?? false,
    attention: r.attention ?? 'eager',
    runtime: r.runtime ?? 'pytorch',
    device: r.device ?? 'cuda',
    pytorch: r.pytorch === undefined ? '2' : (String(r.pytorch) as '2' | '1.13'),
    distributed: {
      strategy: dist.strategy ?? 'none',
      gpus: dist.gpus ?? 1,
      bucket_view: dist.bucket_view ?? false,
      bucket_cap_mb: dist.bucket_cap_mb ?? 25,
      prefetch: dist.prefetch ?? 1,
    },
    allocator: { expandable_segments: false, ...(r.allocator ?? {}) },
    dims: r.dims ?? {},
    gpu: list(r.gpu),
    budget: r.budget ? { ...r.budget, gpu: list(r.budget.gpu) } : undefined,
    notes: r.notes,
    claims: r.claims,
  };
  if (run.distributed.strategy === 'none' && run.distributed.gpus > 1) run.distributed.strategy = 'ddp';
  if (run.runtime === 'tfjs' && run.precision !== 'fp32') {
    throw new MemplanError('E_CONFIG', `the tfjs runtime holds float32 only; precision ${run.precision} cannot be modelled there`, {
      path: 'precision',
      expected: 'fp32 with runtime: tfjs',
      hint: 'use runtime: pytorch to model mixed or low precision',
    });
  }
  return run;
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

/** The dimension the run's batch size fills in expressions. */
export const BATCH_DIM = 'batch';

/** Traces the model's training forward pass for this run on `builder` (a Tracer unless probing). */
export function assemble(model: ModelDescriptor, run: RunConfig, builder?: Builder & { block: number; noGrad: boolean; segment: number | undefined }): Assembled {
  const dims = resolveDims(model.dims ?? {}, run.dims, { [BATCH_DIM]: run.batch_size });
  const tracer = builder ?? new Tracer(run.precision, { device: run.device, runtime: run.runtime });
  const b = tracer;
  const notes: string[] = [];
  const infos: BlockInfo[] = [];
  const outputs = new Map<string, T>();
  let prev: T | undefined;
  let segment = 0;
  const ckptAll = run.checkpointing === true;
  const ckptNames = Array.isArray(run.checkpointing) ? new Set(run.checkpointing) : new Set<string>();
  const names = new Set(model.blocks.map((blk, i) => blk.name ?? `${blk.type}_${i}`));
  for (const n of ckptNames) {
    if (!names.has(n)) {
      throw new MemplanError('E_CONFIG', `checkpointing names block "${n}", which the model does not have`, {
        path: 'checkpointing',
        expected: `block names: ${[...names].join(', ')}`,
      });
    }
  }

  model.blocks.forEach((spec, index) => {
    const path = `blocks[${index}]`;
    const mod = BLOCKS.get(spec.type)!;
    const name = spec.name ?? `${spec.type}_${index}`;
    // repeat: 0 leaves the block out (a dimension can switch an optional block off: `repeat: use_layer_norm * layers`).
    const repeat = spec.repeat === undefined ? 1 : evalValue(spec.repeat, dims, `${path}.repeat`, { integer: true, min: 0 });
    const frozen = spec.frozen ?? false;
    const checkpointed = !frozen && (spec.checkpoint ?? (ckptAll || ckptNames.has(name))) && !mod.source;
    const shapeOf = (key: string, scope: ReadonlyMap<string, number>): number[] | undefined => {
      const v = spec[key];
      if (!Array.isArray(v)) return undefined;
      return v.map((e, j) => evalValue(e as NumOrExpr, scope, `${path}.${key}[${j}]`, { integer: true, min: 1 }));
    };
    const args = (scope: ReadonlyMap<string, number>): BlockArgs => ({
      num: (key, o = {}) => {
        const v = spec[key] as NumOrExpr | undefined;
        if (v === undefined) {
          if (o.default === undefined) throw new MemplanError('E_SCHEMA', `missing required key "${key}"`, { path: `${path}.${key}`, expected: `a value for ${key}` });
          return evalValue(o.default, scope, `${path}.${key}`, o);
        }
        return evalValue(v, scope, `${path}.${key}`, o);
      },
      get: <V>(key: string, fallback: V) => (spec[key] === undefined ? fallback : (spec[key] as V)),
      shape: (key) => shapeOf(key, scope),
      attention: run.attention,
      path,
    });

    // The block's input.
    let x: T | undefined = prev;
    const declared = mod.source ? undefined : shapeOf('input', dims);
    if (spec.from && spec.from !== 'data') {
      x = outputs.get(spec.from);
      if (!x) {
        throw new MemplanError('E_CONFIG', `from: "${spec.from}" names no earlier block`, { path: `${path}.from`, expected: `one of ${[...outputs.keys()].join(', ') || '(no earlier blocks)'}` });
      }
    }
    if (declared) {
      if (spec.from === 'data' || !x) {
        x = b.scope(name, () => b.input('input', declared, 'float'));
      } else if (numel(x.shape) === numel(declared)) {
        x = b.reshape(x, declared);
      } else {
        throw new MemplanError('E_SHAPE', `input [${declared.join(', ')}] does not match the previous output [${x.shape.join(', ')}]`, {
          path: `${path}.input`,
          expected: `a shape with ${numel(x.shape)} elements, or from: data for a fresh input`,
          hint: 'add a mean_pool or reshape block between them, or set `from: data` if this block reads the batch directly',
        });
      }
    }

    tracer.block = index;
    tracer.noGrad = frozen;
    const paramsBefore = (tracer as Tracer).trace?.params.length ?? 0;
    const traced = tracer instanceof Tracer ? tracer.trace : undefined;
    const opsBefore = traced?.ops.length ?? 0;
    const inputsBefore = traced?.inputs.length ?? 0;
    let chunks = 1;
    const runOnce = (input: T | undefined, scope: ReadonlyMap<string, number>, seg: boolean): T => {
      let h = input;
      for (let r = 0; r < repeat; r++) {
        tracer.segment = seg || (checkpointed && !spec.chunk) ? segment++ : undefined;
        const layer = repeat > 1 ? `${name}[${r}]` : name;
        h = b.scope(layer, () => mod.build(b, h, args(scope)));
      }
      // The next chunk's slice and the final concat belong to no checkpoint segment.
      tracer.segment = undefined;
      return h as T;
    };
    let out: T;
    if (spec.chunk) {
      const c = spec.chunk;
      if (!dims.has(c.dim)) {
        throw new MemplanError('E_UNDECLARED_SYMBOL', `chunk.dim "${c.dim}" is not a declared dimension`, { path: `${path}.chunk.dim`, expected: [...dims.keys()].join(', ') });
      }
      if (!declared || !x) {
        throw new MemplanError('E_CONFIG', 'a chunked block needs an `input:` shape that uses the chunked dimension', { path: `${path}.input`, expected: `input: [...] with ${c.dim} in it` });
      }
      const full = dims.get(c.dim)!;
      const size = Math.min(evalValue(c.size, dims, `${path}.chunk.size`, { integer: true, min: 1 }), full);
      chunks = Math.ceil(full / size);
      const perChunk = (c.checkpoint ?? checkpointed) && !frozen;
      const outs: T[] = [];
      let axis = 0;
      for (let k = 0; k < chunks; k++) {
        const len = Math.min(size, full - k * size);
        const scope = new Map(dims).set(c.dim, len);
        const shape = shapeOf('input', scope)!;
        axis = Math.max(0, shape.findIndex((d, j) => d !== declared[j]));
        const view = (b as Tracer).chunkView ? (b as Tracer).chunkView(x, shape) : x;
        outs.push(runOnce(view, scope, perChunk));
      }
      out = chunks === 1 ? outs[0]! : b.concat(outs, axis);
      if (!perChunk && chunks > 1 && !frozen) {
        notes.push(
          `${name}: chunking ${c.dim} into ${chunks} chunks of ${size} does not shrink saved activations in training: ` +
            'every chunk keeps what its backward needs until backward. It lowers transient peaks only. ' +
            'Set chunk.checkpoint: true (recompute per chunk) to cut saved activations.',
        );
      }
    } else {
      out = runOnce(x, dims, false);
    }
    tracer.noGrad = false;
    tracer.segment = undefined;
    checkTensorSizes(traced, opsBefore, paramsBefore, inputsBefore, path);
    const params = ((tracer as Tracer).trace?.params ?? []).slice(paramsBefore).reduce((a, p) => a + numel(p.shape), 0);
    infos.push({ index, name, type: spec.type, repeat, params, frozen, checkpointed, chunks, chunkDim: spec.chunk?.dim });
    if (!mod.source) prev = out;
    else if (out) prev = out;
    if (prev) outputs.set(name, prev);
  });

  const tr = (tracer as Tracer).trace;
  if (tr && !tr.loss && prev && (prev as { requiresGrad?: boolean }).requiresGrad) {
    tracer.block = model.blocks.length - 1;
    b.scope('loss', () => b.loss('mean', prev!));
  }
  return { trace: tr, dims, blocks: infos, notes };
}
