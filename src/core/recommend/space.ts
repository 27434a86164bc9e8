/**
 * The search space: one axis per knob, each with its values (index 0 is the config's own) and how a
 * value applies to a run. Trace axes change the trace (micro-batch, dimensions, precision,
 * checkpointing, attention); cheap axes are arithmetic over one trace (optimizer, EMA placement,
 * allocator, sharding). docs/recommend.md lists them.
 */
import { MemplanError } from '../errors.js';
import type { Edge } from '../estimate.js';
import { evalValue } from '../expr.js';
import type { ModelDescriptor, OptimizerName, RunConfig, Strategy } from '../model.js';
import type { Precision } from '../tracer.js';
import { budgetOnly, sameTrace, type Traces } from './traces.js';
import type { AllowSpec, KnobInfo, Target } from './types.js';

export const PRECISIONS: Precision[] = ['fp32', 'bf16-mixed', 'fp16-mixed', 'bf16', 'fp16'];
export const OPTIMIZERS: OptimizerName[] = ['sgd', 'sgd-momentum', 'adam', 'adamw', 'adafactor', 'adamw-8bit'];

export interface Axis<V = unknown> {
  knob: string;
  changesResults: boolean;
  note?: string;
  values: V[];
  apply(run: RunConfig, v: V): void;
  label(v: V): string;
  /** How far a result-changing value is from the config's (ranks the smaller change first). */
  distance?(v: V): number;
}

export interface BatchValue {
  m: number;
  a: number;
}

/** What every part of one recommend() call shares. */
export interface Ctx {
  model: ModelDescriptor;
  base: RunConfig;
  traces: Traces;
  dims: Map<string, number>;
  knobInfo: KnobInfo[];
  /** The edge of the risk band configs are held to. */
  edge: Edge;
  /**
   * The cheap path's allocator: reserved / allocated of the config as given under this run's allocator
   * settings (default, expandable segments, ...), from the full allocator simulation, one per setting.
   */
  ratioFor(run: RunConfig): number;
}

export function cloneRun(run: RunConfig): RunConfig {
  return {
    ...run,
    optimizer: { ...run.optimizer },
    ema: { ...run.ema },
    distributed: { ...run.distributed },
    allocator: { ...run.allocator },
    dims: { ...run.dims },
  };
}

/** The run on `gpus` cards: DDP when several, no strategy for one. */
export function onGpus(run: RunConfig, gpus: number): RunConfig {
  const r = cloneRun(run);
  r.distributed.gpus = gpus;
  if (gpus > 1 && r.distributed.strategy === 'none') r.distributed.strategy = 'ddp';
  if (gpus === 1) r.distributed.strategy = 'none';
  return r;
}

function divisors(x: number): number[] {
  const out: number[] = [];
  for (let d = 1; d * d <= x; d++) {
    if (x % d === 0) {
      out.push(d);
      if (d * d !== x) out.push(x / d);
    }
  }
  return out.sort((a, b) => a - b);
}

export function uniq<V>(xs: V[], key: (v: V) => string = (v) => JSON.stringify(v)): V[] {
  const seen = new Set<string>();
  return xs.filter((x) => {
    const k = key(x);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Parses `token_limit=256..1024`, `precision=bf16-mixed,fp16-mixed` or a bare `spectrum_bins`. */
export function parseAllow(spec: string): AllowSpec {
  const m = /^\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*(?:=\s*(.+?)\s*)?$/.exec(spec);
  if (!m) {
    throw new MemplanError('E_OPTION', `--allow "${spec}" is not KEY, KEY=a,b or KEY=lo..hi`, {
      path: '--allow',
      expected: 'e.g. --allow token_limit=256..1024, --allow precision=bf16-mixed, --allow spectrum_bins',
    });
  }
  const key = m[1]!;
  const val = m[2];
  if (val === undefined) return { key };
  const r = /^([0-9]*\.?[0-9]+)\s*\.\.\s*([0-9]*\.?[0-9]+)$/.exec(val);
  if (r) {
    const lo = Number(r[1]);
    const hi = Number(r[2]);
    if (!(lo >= 1 && hi >= lo && Number.isInteger(lo) && Number.isInteger(hi))) {
      throw new MemplanError('E_OPTION', `--allow ${key}=${val}: the range must be whole numbers, 1 <= lo <= hi`, { path: '--allow' });
    }
    return { key, range: [lo, hi] };
  }
  const values = val.split(',').map((x) => x.trim()).filter(Boolean).map((x) => (/^[0-9]*\.?[0-9]+$/.test(x) ? Number(x) : x));
  if (!values.length) throw new MemplanError('E_OPTION', `--allow ${key}= has no values`, { path: '--allow' });
  return { key, values };
}

export function knobValues(ctx: Ctx, name: string): number[] {
  const k = ctx.model.knobs?.[name];
  if (!k) return [];
  return k.values.map((v, i) => evalValue(v, ctx.dims, `knobs.${name}.values[${i}]`, { integer: true, min: 1 }));
}

/** Halvings from the top of a range down to its bottom: 1024, 512, 256 (and the current value inside it). */
function halvings(lo: number, hi: number, current: number): number[] {
  const out: number[] = [];
  for (let v = hi; v >= lo; v = Math.floor(v / 2)) {
    out.push(v);
    if (v === 1) break;
  }
  if (!out.includes(lo)) out.push(lo);
  if (current >= lo && current <= hi) out.push(current);
  return out;
}

/** The values an --allow for a dimension stands for. */
function allowedDimValues(ctx: Ctx, a: AllowSpec, current: number): number[] {
  const declared = knobValues(ctx, a.key);
  if (a.values) {
    return a.values.map((v) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
        throw new MemplanError('E_OPTION', `--allow ${a.key}: "${v}" is not a whole number`, { path: '--allow' });
      }
      return v;
    });
  }
  if (a.range) return declared.length ? declared.filter((v) => v >= a.range![0] && v <= a.range![1]) : halvings(a.range[0], a.range[1], current);
  if (!declared.length) {
    throw new MemplanError('E_OPTION', `--allow ${a.key} needs values: the descriptor declares no knob "${a.key}"`, {
      path: '--allow',
      expected: `--allow ${a.key}=lo..hi or --allow ${a.key}=a,b`,
    });
  }
  return declared;
}

function dimAxis(ctx: Ctx, name: string, values: number[], changesResults: boolean, note?: string): Axis<number> {
  const cur = ctx.dims.get(name)!;
  return {
    knob: name,
    changesResults,
    note,
    values: uniq([cur, ...values]),
    apply: (run, v) => {
      if (v !== cur) run.dims[name] = v;
      else if (ctx.base.dims[name] !== undefined) run.dims[name] = ctx.base.dims[name]!;
      else delete run.dims[name];
    },
    label: (v) => `${name}=${v}`,
    distance: (v) => Math.abs(Math.log2(v / cur)),
  };
}

/** Drops alternatives of a trace axis that trace identically to the config's value (or fail). */
function live<V>(ctx: Ctx, axis: Axis<V>): Axis {
  const base = ctx.traces.entry(ctx.base);
  const keep = axis.values.filter((v, i) => {
    if (i === 0) return true;
    const r = cloneRun(ctx.base);
    axis.apply(r, v);
    try {
      return !sameTrace(base, ctx.traces.entry(r));
    } catch (e) {
      budgetOnly(e);
      return false;
    }
  });
  return { ...axis, values: keep } as Axis;
}

/** Every split m x a of the per-GPU batch, the config's own first. */
function batchAxis(base: RunConfig, perGpu: number): Axis<BatchValue> {
  const vals: BatchValue[] = divisors(perGpu).map((m) => ({ m, a: perGpu / m }));
  const i0 = vals.findIndex((b) => b.m === base.batch_size && b.a === base.grad_accum);
  return {
    knob: 'micro-batch',
    changesResults: false,
    values: i0 >= 0 ? [vals[i0]!, ...vals.filter((_, i) => i !== i0)] : vals,
    apply: (run, v) => {
      run.batch_size = v.m;
      run.grad_accum = v.a;
    },
    label: (v) => `${v.m} x ${v.a}`,
  };
}

function notADimension(ctx: Ctx, key: string): MemplanError {
  return new MemplanError('E_OPTION', `--allow ${key}: not a dimension or knob of ${ctx.model.name}`, {
    path: '--allow',
    expected: `precision, optimizer, or one of ${[...ctx.dims.keys()].filter((d) => d !== 'batch').join(', ')}`,
  });
}

/** Descriptor knobs (result-preserving always, result-changing when allowed), then allowed plain dimensions. */
function dimensionAxes(ctx: Ctx, allowed: Map<string, AllowSpec>): Axis[] {
  const out: Axis[] = [];
  for (const [name, k] of Object.entries(ctx.model.knobs ?? {})) {
    const changes = k.changes_results ?? true;
    const a = allowed.get(name);
    if (changes && !a) continue;
    const vals = a ? allowedDimValues(ctx, a, ctx.dims.get(name)!) : knobValues(ctx, name);
    out.push(live(ctx, dimAxis(ctx, name, vals, changes, k.note)));
  }
  for (const a of allowed.values()) {
    if (a.key === 'precision' || a.key === 'optimizer' || ctx.model.knobs?.[a.key]) continue;
    if (!ctx.dims.has(a.key) || a.key === 'batch') throw notADimension(ctx, a.key);
    out.push(live(ctx, dimAxis(ctx, a.key, allowedDimValues(ctx, a, ctx.dims.get(a.key)!), true)));
  }
  return out;
}

function precisionAxis(base: RunConfig, spec: AllowSpec, target: Target): Axis<Precision> {
  const vals = (spec.values ?? ['bf16-mixed', 'fp16-mixed']).map((v) => {
    if (!PRECISIONS.includes(v as Precision)) {
      throw new MemplanError('E_OPTION', `--allow precision: unknown precision "${v}"`, { path: '--allow', expected: PRECISIONS.join(', ') });
    }
    return v as Precision;
  });
  // A card without bf16 cannot run the bf16 variants.
  const ok = vals.filter((v) => !(v.startsWith('bf16') && target.preset.bf16 === false));
  return {
    knob: 'precision', changesResults: true, values: uniq([base.precision, ...ok]),
    apply: (r, v) => { r.precision = v; },
    label: (v) => v,
    distance: (v) => (v === base.precision ? 0 : 1),
  };
}

function checkpointAxis(base: RunConfig): Axis<RunConfig['checkpointing']> {
  const values: RunConfig['checkpointing'][] = base.checkpointing === true ? [true, false] : Array.isArray(base.checkpointing) ? [base.checkpointing, true, false] : [false, true];
  return {
    knob: 'checkpointing', changesResults: false, values,
    apply: (r, v) => { r.checkpointing = v; },
    label: (v) => (v === false ? 'no checkpointing' : v === true ? 'checkpointing' : `checkpointing ${v.join(',')}`),
  };
}

function attentionAxis(base: RunConfig): Axis<RunConfig['attention']> {
  return {
    // The config's own setting first (auto: stock modules as their PyTorch version runs them); live() drops
    // a value whose trace is the same.
    knob: 'attention', changesResults: false, values: uniq<RunConfig['attention']>([base.attention, 'sdpa', 'eager']),
    apply: (r, v) => { r.attention = v; },
    label: (v) => `${v} attention`,
  };
}

export function traceAxes(ctx: Ctx, target: Target, allow: AllowSpec[], perGpu: number): Axis[] {
  const allowed = new Map(allow.map((a) => [a.key, a]));
  const out: Axis[] = [batchAxis(ctx.base, perGpu) as Axis, ...dimensionAxes(ctx, allowed)];
  const ap = allowed.get('precision');
  if (ap) out.push(precisionAxis(ctx.base, ap, target) as Axis);
  out.push(live(ctx, checkpointAxis(ctx.base)), live(ctx, attentionAxis(ctx.base)));
  return out;
}

function optimizerAxis(base: RunConfig, spec: AllowSpec | undefined): Axis<OptimizerName> {
  const types: OptimizerName[] = [base.optimizer.type];
  if (spec) {
    const vals = spec.values ?? (base.optimizer.type === 'adam' || base.optimizer.type === 'adamw' ? ['adamw-8bit'] : []);
    if (!vals.length) {
      throw new MemplanError('E_OPTION', `--allow optimizer needs a value for ${base.optimizer.type}`, { path: '--allow', expected: OPTIMIZERS.join(', ') });
    }
    for (const v of vals) {
      if (!OPTIMIZERS.includes(v as OptimizerName)) {
        throw new MemplanError('E_OPTION', `--allow optimizer: unknown optimizer "${v}"`, { path: '--allow', expected: OPTIMIZERS.join(', ') });
      }
      types.push(v as OptimizerName);
    }
  }
  return {
    knob: 'optimizer', changesResults: true, values: uniq(types),
    apply: (r, v) => { r.optimizer.type = v; },
    label: (v) => v,
    distance: (v) => (v === base.optimizer.type ? 0 : 1),
  };
}

type Shard = { strategy: Strategy; bucket_view: boolean };

function shardingAxis(base: RunConfig, gpus: number): Axis<Shard> {
  let shards: Shard[] = [{ strategy: 'none', bucket_view: base.distributed.bucket_view }];
  if (gpus > 1) {
    const cur: Shard = { strategy: base.distributed.strategy === 'none' ? 'ddp' : base.distributed.strategy, bucket_view: base.distributed.bucket_view };
    const bv = cur.bucket_view;
    shards = uniq([cur, { strategy: 'ddp', bucket_view: false }, { strategy: 'ddp', bucket_view: true }, { strategy: 'zero1', bucket_view: bv }, { strategy: 'zero2', bucket_view: bv }, { strategy: 'fsdp', bucket_view: bv }], (s) => (s.strategy === 'ddp' ? `ddp${s.bucket_view}` : s.strategy));
  }
  return {
    knob: 'sharding', changesResults: false, values: shards,
    apply: (r, s) => {
      r.distributed.strategy = s.strategy;
      r.distributed.bucket_view = s.bucket_view;
      r.distributed.gpus = gpus;
    },
    label: (s) => (s.strategy === 'ddp' ? (s.bucket_view ? 'ddp bucket_view' : 'ddp') : s.strategy === 'fsdp' ? 'fsdp/zero3' : s.strategy),
  };
}

export function cheapAxes(base: RunConfig, target: Target, allow: AllowSpec[]): Axis[] {
  const out: Axis[] = [optimizerAxis(base, allow.find((a) => a.key === 'optimizer')) as Axis];
  out.push({
    knob: 'optimizer impl', changesResults: false, values: uniq([base.optimizer.impl, 'fused', 'foreach']),
    apply: (r, v) => { r.optimizer.impl = v as RunConfig['optimizer']['impl']; },
    label: (v) => `${v} optimizer`,
  });
  if (base.ema.enabled) {
    out.push({
      knob: 'ema', changesResults: false, values: base.ema.device === 'gpu' ? ['gpu', 'cpu'] : ['cpu', 'gpu'],
      apply: (r, v) => { r.ema.device = v as 'gpu' | 'cpu'; },
      label: (v) => `EMA on ${String(v).toUpperCase()}`,
    });
  }
  // A host-RAM run has no CUDA caching allocator to configure.
  if (base.allocator.fragmentation === undefined && base.device !== 'cpu') {
    out.push({
      knob: 'expandable_segments', changesResults: false, values: uniq([base.allocator.expandable_segments, true]),
      apply: (r, v) => { r.allocator.expandable_segments = v as boolean; },
      label: (v) => (v ? 'expandable_segments' : 'no expandable_segments'),
    });
  }
  out.push(shardingAxis(base, target.gpus) as Axis);
  return out;
}

/** Optimizer impl only matters for Adam/AdamW and SGD with weight decay: skip it elsewhere (duplicates). */
export function implMatters(r: RunConfig): boolean {
  const t = r.optimizer.type;
  return t === 'adam' || t === 'adamw' || ((t === 'sgd' || t === 'sgd-momentum') && r.optimizer.weight_decay > 0);
}

export function runFor(ctx: Ctx, axes: Axis[], idx: number[]): RunConfig {
  const r = cloneRun(ctx.base);
  axes.forEach((a, i) => a.apply(r, a.values[idx[i]!]));
  return r;
}
