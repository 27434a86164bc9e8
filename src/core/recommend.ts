/**
 * `recommend`: the configs that fit a card at a target effective batch, ranked; and `maxBatch`, the
 * largest micro-batch that fits. Pure: the caller passes the model, the run and the card presets.
 *
 * The search is a product of knobs (axes). Axes that change the trace (micro-batch, dimensions,
 * precision, checkpointing, attention) form the outer loops; each distinct trace is computed once
 * (traceRun, cached by traceKey) and every combination of the cheap axes (optimizer, EMA placement,
 * allocator, sharding, accumulation) is evaluated from it with stepMemory(), which is arithmetic.
 * See docs/recommend.md for the search space and the ranking.
 */
import { MemplanError } from './errors.js';
import { buildEstimate, stepTotals, traceKey, traceRun, type Estimate, type Preset, type Traced } from './estimate.js';
import { evalValue } from './expr.js';
import type { ModelDescriptor, OptimizerName, RunConfig, Strategy } from './model.js';
import type { Precision } from './tracer.js';
import { gib } from './units.js';

/** A card and how many of them (data parallel, one micro-batch per GPU). */
export interface Target {
  preset: Preset;
  gpus: number;
}

/** A result-changing knob the user allows memplan to vary: `token_limit=256..1024`, `precision=bf16-mixed`. */
export interface AllowSpec {
  key: string;
  values?: (number | string)[];
  range?: [number, number];
}

export interface RecommendOptions {
  targets: Target[];
  /** Samples per optimizer step over all GPUs; default: the config's batch_size x grad_accum x gpus. */
  effectiveBatch?: number;
  allow?: AllowSpec[];
  /** How many ranked configs to return per target (default 10). */
  top?: number;
  /** Headroom below which a fitting config is `tight`: bytes, or a fraction of the card (default 5%). */
  margin?: { bytes: number } | { fraction: number };
}

export interface Setting {
  knob: string;
  /** `checkpointing`, `token_limit=512`, `EMA on CPU`. */
  label: string;
  changesResults: boolean;
  note?: string;
}

export interface Candidate {
  batch_size: number;
  grad_accum: number;
  gpus: number;
  /** The knobs set differently from the config (micro-batch and accumulation aside). */
  settings: Setting[];
  changes_results: boolean;
  /** Relative time per optimizer step (1 = the config's step time without accumulation or recompute). */
  speed: number;
  allocated: number;
  device_total: number;
  headroom: number;
  verdict: 'fits' | 'tight' | 'over';
  /** The full run config of this candidate (for `estimate` or a YAML dump). */
  run: RunConfig;
}

export interface KnobInfo {
  name: string;
  values: number[];
  changes_results: boolean;
  note?: string;
  /** Whether the search varied it (result-changing knobs only with --allow). */
  varied: boolean;
}

export interface Suggestion {
  /** What to pass: `--allow spectrum_bins=10000`. */
  allow: string;
  note?: string;
  best: Candidate;
}

export interface TargetResult {
  gpu: { id: string; name: string; capacity: number };
  gpus: number;
  effective_batch: number;
  margin: number;
  /** Candidates evaluated, skipped by monotonicity (larger micro-batches of an over family), invalid, and the traces computed (not those already cached by an earlier card). */
  searched: { evaluated: number; pruned: number; invalid: number; traces: number };
  fitting: number;
  ranked: Candidate[];
  best?: Candidate;
  as_configured: Candidate;
  closest?: Candidate;
  /** One line on the top choice (or on the closest one when nothing fits). */
  summary: string;
  /** When nothing fits: not-yet-allowed knobs that would make something fit. */
  suggestions: Suggestion[];
  notes: string[];
}

export interface RecommendResult {
  model: string;
  knobs: KnobInfo[];
  targets: TargetResult[];
  fits: boolean;
}

const PRECISIONS: Precision[] = ['fp32', 'bf16-mixed', 'fp16-mixed', 'bf16', 'fp16'];
const OPTIMIZERS: OptimizerName[] = ['sgd', 'sgd-momentum', 'adam', 'adamw', 'adafactor', 'adamw-8bit'];

/**
 * Speed proxy factors (docs/recommend.md). Accumulation: 1 + 0.1 log2(steps), fitted to seed 004's
 * "48 x 2 ~10% slower, 32 x 3 ~15% slower than 96 x 1". Full recompute: one extra forward, about a
 * third of forward + backward. EMA on the CPU: a device-to-host copy of the weights per step.
 * ZeRO-3/FSDP: parameters all-gathered in forward and again in backward, 1.5x DDP's traffic.
 */
export const SPEED = { accumPerDoubling: 0.1, recompute: 1.33, emaCpu: 1.05, paramSharding: 1.1 } as const;

export function accumFactor(steps: number): number {
  return 1 + SPEED.accumPerDoubling * Math.log2(steps);
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

/**
 * One knob of the search: its values (index 0 is the config's own), how each applies to a run.
 * buildAxes returns the knobs that change the trace and the cheap ones in separate lists.
 */
interface Axis<V = unknown> {
  knob: string;
  changesResults: boolean;
  note?: string;
  values: V[];
  apply(run: RunConfig, v: V): void;
  label(v: V): string;
  speed?(v: V): number;
  /** How far a result-changing value is from the config's (ranks the smaller change first). */
  distance?(v: V): number;
}

interface BatchValue {
  m: number;
  a: number;
}

function cloneRun(run: RunConfig): RunConfig {
  return {
    ...run,
    optimizer: { ...run.optimizer },
    ema: { ...run.ema },
    distributed: { ...run.distributed },
    allocator: { ...run.allocator },
    dims: { ...run.dims },
  };
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

function uniq<V>(xs: V[], key: (v: V) => string = (v) => JSON.stringify(v)): V[] {
  const seen = new Set<string>();
  return xs.filter((x) => {
    const k = key(x);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * Trace cache shared by every search of one recommend() call. It keeps only what stepTotals reads
 * (the simulation's peaks and the aggregates), not the op list: thousands of full traces would
 * spend the search's time in the garbage collector. full() re-traces for a breakdown.
 */
class Traces {
  private cache = new Map<string, Traced | MemplanError>();
  computed = 0;
  constructor(private model: ModelDescriptor) {}
  get(run: RunConfig): Traced {
    // fp16 and bf16 have the same sizes: one simulation serves both (fp16's master weights are a cheap term).
    const p = run.precision === 'fp16-mixed' ? 'bf16-mixed' : run.precision === 'fp16' ? 'bf16' : run.precision;
    const key = traceKey(p === run.precision ? run : { ...run, precision: p });
    let t = this.cache.get(key);
    if (!t) {
      try {
        const full = traceRun(this.model, run);
        this.computed++;
        t = { ...full, trace: undefined as never, sim: { ...full.sim, savedItems: [] }, agg: { ...full.agg, persistentTensors: [], castParams: [] } };
      } catch (e) {
        if (!(e instanceof MemplanError)) throw e;
        t = e;
      }
      this.cache.set(key, t);
    }
    if (t instanceof MemplanError) throw t;
    return t;
  }
  /** The full trace, for buildEstimate (a breakdown of one config). */
  full(run: RunConfig): Traced {
    this.get(run);
    return traceRun(this.model, run);
  }
}

/** Same activation-side simulation: the knob changed nothing for this model (e.g. sdpa without attention). */
function sameSim(a: Traced, b: Traced): boolean {
  const x = a.sim;
  const y = b.sim;
  return x.first.bytes === y.first.bytes && x.later.bytes === y.later.bytes && x.savedTotal === y.savedTotal && x.first.paramGrads === y.first.paramGrads && x.first.at === y.first.at;
}

interface Ctx {
  model: ModelDescriptor;
  base: RunConfig;
  baseTraced: Traced;
  traces: Traces;
  knobInfo: KnobInfo[];
}

function knobValues(ctx: Ctx, name: string): number[] {
  const k = ctx.model.knobs?.[name];
  if (!k) return [];
  return k.values.map((v, i) => evalValue(v, ctx.baseTraced.dims, `knobs.${name}.values[${i}]`, { integer: true, min: 1 }));
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
  if (a.range) {
    const [lo, hi] = a.range;
    if (declared.length) return declared.filter((v) => v >= lo && v <= hi);
    // Halvings from the top of the range down to its bottom: 1024, 512, 256.
    const out: number[] = [];
    for (let v = hi; v >= lo; v = Math.floor(v / 2)) {
      out.push(v);
      if (v === 1) break;
    }
    if (!out.includes(lo)) out.push(lo);
    if (current >= lo && current <= hi) out.push(current);
    return out;
  }
  if (!declared.length) {
    throw new MemplanError('E_OPTION', `--allow ${a.key} needs values: the descriptor declares no knob "${a.key}"`, {
      path: '--allow',
      expected: `--allow ${a.key}=lo..hi or --allow ${a.key}=a,b`,
    });
  }
  return declared;
}

function dimAxis(ctx: Ctx, name: string, values: number[], changesResults: boolean, note?: string): Axis<number> {
  const cur = ctx.baseTraced.dims.get(name)!;
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

/** Drops alternatives of a trace axis that simulate identically to the config's value (or fail). */
function live<V>(ctx: Ctx, axis: Axis<V>): Axis<V> {
  const keep = axis.values.filter((v, i) => {
    if (i === 0) return true;
    const r = cloneRun(ctx.base);
    axis.apply(r, v);
    try {
      return !sameSim(ctx.baseTraced, ctx.traces.get(r));
    } catch {
      return false;
    }
  });
  return { ...axis, values: keep };
}

function buildAxes(ctx: Ctx, target: Target, allow: AllowSpec[], perGpu: number): { trace: Axis[]; cheap: Axis[] } {
  const { base, model } = ctx;
  const allowed = new Map(allow.map((a) => [a.key, a]));
  const trace: Axis[] = [];
  const cheap: Axis[] = [];

  // Micro-batch x accumulation: every split of the per-GPU batch, largest micro-batch last (the search
  // walks upwards and stops a family at its first micro-batch that cannot fit).
  const batchVals: BatchValue[] = divisors(perGpu).map((m) => ({ m, a: perGpu / m }));
  const baseIdx = batchVals.findIndex((b) => b.m === base.batch_size && b.a === base.grad_accum);
  const batch: Axis<BatchValue> = {
    knob: 'micro-batch',
    changesResults: false,
    values: baseIdx >= 0 ? [batchVals[baseIdx]!, ...batchVals.filter((_, i) => i !== baseIdx)] : batchVals,
    apply: (run, v) => {
      run.batch_size = v.m;
      run.grad_accum = v.a;
    },
    label: (v) => `${v.m} x ${v.a}`,
    speed: (v) => accumFactor(v.a),
  };
  trace.push(batch as Axis);

  // Descriptor knobs: result-preserving ones always, result-changing ones when allowed.
  for (const [name, k] of Object.entries(model.knobs ?? {})) {
    const changes = k.changes_results ?? true;
    const a = allowed.get(name);
    if (changes && !a) continue;
    const vals = a ? allowedDimValues(ctx, a, ctx.baseTraced.dims.get(name)!) : knobValues(ctx, name);
    trace.push(live(ctx, dimAxis(ctx, name, vals, changes, k.note)) as Axis);
  }
  // Allowed dimensions the descriptor has no knob for (token_limit, model size).
  for (const a of allow) {
    if (a.key === 'precision' || a.key === 'optimizer' || model.knobs?.[a.key]) continue;
    if (!ctx.baseTraced.dims.has(a.key) || a.key === 'batch') {
      throw new MemplanError('E_OPTION', `--allow ${a.key}: not a dimension or knob of ${model.name}`, {
        path: '--allow',
        expected: `precision, optimizer, or one of ${[...ctx.baseTraced.dims.keys()].filter((d) => d !== 'batch').join(', ')}`,
      });
    }
    trace.push(live(ctx, dimAxis(ctx, a.key, allowedDimValues(ctx, a, ctx.baseTraced.dims.get(a.key)!), true)) as Axis);
  }

  const ap = allowed.get('precision');
  if (ap) {
    const vals = (ap.values ?? ['bf16-mixed', 'fp16-mixed']).map((v) => {
      if (!PRECISIONS.includes(v as Precision)) {
        throw new MemplanError('E_OPTION', `--allow precision: unknown precision "${v}"`, { path: '--allow', expected: PRECISIONS.join(', ') });
      }
      return v as Precision;
    });
    // A card without bf16 cannot run the bf16 variants.
    const ok = vals.filter((v) => !(v.startsWith('bf16') && target.preset.bf16 === false));
    trace.push({
      knob: 'precision', changesResults: true, values: uniq([base.precision, ...ok]),
      apply: (r, v) => { r.precision = v as Precision; },
      label: (v) => String(v),
      distance: (v) => (v === base.precision ? 0 : 1),
    });
  }

  const ckAlts: RunConfig['checkpointing'][] = base.checkpointing === true ? [true, false] : Array.isArray(base.checkpointing) ? [base.checkpointing, true, false] : [false, true];
  trace.push(live(ctx, {
    knob: 'checkpointing', changesResults: false, values: ckAlts,
    apply: (r, v) => { r.checkpointing = v as RunConfig['checkpointing']; },
    label: (v) => (v === false ? 'no checkpointing' : v === true ? 'checkpointing' : `checkpointing ${(v as string[]).join(',')}`),
    speed: (v) => (v === false ? 1 : SPEED.recompute),
  }) as Axis);
  trace.push(live(ctx, {
    knob: 'attention', changesResults: false, values: base.attention === 'eager' ? ['eager', 'sdpa'] : ['sdpa', 'eager'],
    apply: (r, v) => { r.attention = v as RunConfig['attention']; },
    label: (v) => `${v} attention`,
  }) as Axis);

  // Cheap axes.
  const ao = allowed.get('optimizer');
  const optTypes: OptimizerName[] = [base.optimizer.type];
  if (ao) {
    const vals = ao.values ?? (base.optimizer.type === 'adam' || base.optimizer.type === 'adamw' ? ['adamw-8bit'] : []);
    if (!vals.length) {
      throw new MemplanError('E_OPTION', `--allow optimizer needs a value for ${base.optimizer.type}`, { path: '--allow', expected: OPTIMIZERS.join(', ') });
    }
    for (const v of vals) {
      if (!OPTIMIZERS.includes(v as OptimizerName)) {
        throw new MemplanError('E_OPTION', `--allow optimizer: unknown optimizer "${v}"`, { path: '--allow', expected: OPTIMIZERS.join(', ') });
      }
      optTypes.push(v as OptimizerName);
    }
  }
  cheap.push({
    knob: 'optimizer', changesResults: true, values: uniq(optTypes),
    apply: (r, v) => { r.optimizer.type = v as OptimizerName; },
    label: (v) => String(v),
    distance: (v) => (v === base.optimizer.type ? 0 : 1),
  });
  cheap.push({
    knob: 'optimizer impl', changesResults: false, values: uniq([base.optimizer.impl, 'fused', 'foreach']),
    apply: (r, v) => { r.optimizer.impl = v as RunConfig['optimizer']['impl']; },
    label: (v) => `${v} optimizer`,
  });
  if (base.ema.enabled) {
    cheap.push({
      knob: 'ema', changesResults: false, values: base.ema.device === 'gpu' ? ['gpu', 'cpu'] : ['cpu', 'gpu'],
      apply: (r, v) => { r.ema.device = v as 'gpu' | 'cpu'; },
      label: (v) => `EMA on ${String(v).toUpperCase()}`,
      speed: (v) => (v === 'cpu' ? SPEED.emaCpu : 1),
    });
  }
  if (base.allocator.fragmentation === undefined) {
    cheap.push({
      knob: 'expandable_segments', changesResults: false, values: uniq([base.allocator.expandable_segments, true]),
      apply: (r, v) => { r.allocator.expandable_segments = v as boolean; },
      label: (v) => (v ? 'expandable_segments' : 'no expandable_segments'),
    });
  }
  type Shard = { strategy: Strategy; bucket_view: boolean };
  let shards: Shard[];
  if (target.gpus > 1) {
    const cur: Shard = { strategy: base.distributed.strategy === 'none' ? 'ddp' : base.distributed.strategy, bucket_view: base.distributed.bucket_view };
    shards = uniq([cur, { strategy: 'ddp', bucket_view: false }, { strategy: 'ddp', bucket_view: true }, { strategy: 'zero1', bucket_view: cur.bucket_view }, { strategy: 'zero2', bucket_view: cur.bucket_view }, { strategy: 'fsdp', bucket_view: cur.bucket_view }], (s) => (s.strategy === 'ddp' ? `ddp${s.bucket_view}` : s.strategy));
  } else {
    shards = [{ strategy: 'none', bucket_view: base.distributed.bucket_view }];
  }
  cheap.push({
    knob: 'sharding', changesResults: false, values: shards,
    apply: (r, v) => {
      const s = v as Shard;
      r.distributed.strategy = s.strategy;
      r.distributed.bucket_view = s.bucket_view;
      r.distributed.gpus = target.gpus;
    },
    label: (v) => {
      const s = v as Shard;
      return s.strategy === 'ddp' ? (s.bucket_view ? 'ddp bucket_view' : 'ddp') : s.strategy === 'fsdp' ? 'fsdp/zero3' : s.strategy;
    },
    speed: (v) => ((v as Shard).strategy === 'fsdp' || (v as Shard).strategy === 'zero3' ? SPEED.paramSharding : 1),
  });
  return { trace, cheap };
}

/** Optimizer impl only matters for Adam/AdamW and SGD with weight decay: skip it elsewhere (duplicates). */
function implMatters(r: RunConfig): boolean {
  const t = r.optimizer.type;
  return t === 'adam' || t === 'adamw' || ((t === 'sgd' || t === 'sgd-momentum') && r.optimizer.weight_decay > 0);
}

interface Row {
  idx: number[];
  allocated: number;
  deviceTotal: number;
  headroom: number;
  speed: number;
  changes: number;
  distance: number;
  changed: number;
}

interface SearchOut {
  rows: Row[];
  axes: Axis[];
  evaluated: number;
  pruned: number;
  invalid: number;
  invalidReason?: string;
}

function runFor(ctx: Ctx, axes: Axis[], idx: number[]): RunConfig {
  const r = cloneRun(ctx.base);
  axes.forEach((a, i) => a.apply(r, a.values[idx[i]!]));
  return r;
}

/** Exhaustive over the product, with the trace cached and larger micro-batches pruned once a family cannot fit. */
function search(ctx: Ctx, target: Target, allow: AllowSpec[], perGpu: number): SearchOut {
  const { trace, cheap } = buildAxes(ctx, target, allow, perGpu);
  const axes = [...trace, ...cheap];
  const nt = trace.length;
  const cap = target.preset.capacity_bytes;
  const rows: Row[] = [];
  let evaluated = 0;
  let pruned = 0;
  let invalid = 0;
  let invalidReason: string | undefined;
  const cheapCount = cheap.reduce((a, x) => a * x.values.length, 1);
  const implAxis = axes.findIndex((a) => a.knob === 'optimizer impl');
  const batchOrder = trace[0]!.values.map((_, i) => i).sort((i, j) => (trace[0]!.values[i] as BatchValue).m - (trace[0]!.values[j] as BatchValue).m);

  const speedOf = axes.map((a) => a.values.map((v) => (a.speed ? a.speed(v) : 1)));
  const distOf = axes.map((a) => a.values.map((v) => a.distance?.(v) ?? 1));
  const idx = new Array<number>(axes.length).fill(0);
  // Families: every combination of the trace axes but the micro-batch.
  const familyAxes = trace.slice(1);
  const famCount = familyAxes.reduce((a, x) => a * x.values.length, 1);
  for (let f = 0; f < famCount; f++) {
    let rem = f;
    for (let i = familyAxes.length - 1; i >= 0; i--) {
      const len = familyAxes[i]!.values.length;
      idx[i + 1] = rem % len;
      rem = Math.floor(rem / len);
    }
    for (let bi = 0; bi < batchOrder.length; bi++) {
      idx[0] = batchOrder[bi]!;
      const run = runFor(ctx, axes.slice(0, nt), idx);
      let traced: Traced;
      try {
        traced = ctx.traces.get(run);
      } catch (e) {
        invalid += cheapCount;
        invalidReason ??= (e as Error).message;
        continue;
      }
      let anyBelow = false;
      for (let c = 0; c < cheapCount; c++) {
        let crem = c;
        for (let i = cheap.length - 1; i >= 0; i--) {
          const len = cheap[i]!.values.length;
          idx[nt + i] = crem % len;
          crem = Math.floor(crem / len);
        }
        for (let i = 0; i < cheap.length; i++) cheap[i]!.apply(run, cheap[i]!.values[idx[nt + i]!]);
        if (idx[implAxis]! > 0 && !implMatters(run)) continue;
        const mem = stepTotals(traced, run, target.preset);
        evaluated++;
        // The first micro-batch and the optimizer step do not depend on accumulation, and the first grows
        // with the micro-batch: a lower bound for every larger micro-batch of this family.
        const bound = Math.max(mem.firstSteady, mem.optPhase);
        if (bound + (run.device === 'cpu' ? 0 : Math.ceil(bound * mem.frag)) + mem.context <= cap) anyBelow = true;
        let speed = 1;
        let changes = 0;
        let distance = 0;
        let changed = 0;
        for (let i = 0; i < axes.length; i++) {
          const j = idx[i]!;
          speed *= speedOf[i]![j]!;
          if (j > 0) {
            changed++;
            if (axes[i]!.changesResults) {
              changes++;
              distance += distOf[i]![j]!;
            }
          }
        }
        rows.push({ idx: idx.slice(), allocated: mem.allocated, deviceTotal: mem.deviceTotal, headroom: cap - mem.deviceTotal, speed, changes, distance, changed });
      }
      if (!anyBelow) {
        pruned += (batchOrder.length - bi - 1) * cheapCount;
        break;
      }
    }
  }
  return { rows, axes, evaluated, pruned, invalid, invalidReason };
}

function marginBytes(opts: RecommendOptions, preset: Preset): number {
  const m = opts.margin ?? { fraction: 0.05 };
  return 'bytes' in m ? m.bytes : Math.round(m.fraction * preset.capacity_bytes);
}

/** Ranking: safe fits, then tight fits, then over; within them, fewer result changes, faster, fewer changes, more headroom. */
function rank(rows: Row[], margin: number): Row[] {
  const group = (r: Row) => (r.headroom >= margin ? 0 : r.headroom >= 0 ? 1 : 2);
  const r3 = (x: number) => Math.round(x * 1000);
  return rows.sort((a, b) => {
    const ga = group(a);
    const gb = group(b);
    if (ga !== gb) return ga - gb;
    if (ga === 2) return b.headroom - a.headroom;
    return a.changes - b.changes || r3(a.distance) - r3(b.distance) || r3(a.speed) - r3(b.speed) || a.changed - b.changed || b.headroom - a.headroom;
  });
}

function toCandidate(ctx: Ctx, s: SearchOut, r: Row, margin: number): Candidate {
  const run = runFor(ctx, s.axes, r.idx);
  const settings: Setting[] = [];
  s.axes.forEach((a, i) => {
    if (i === 0 || r.idx[i] === 0) return;
    settings.push({ knob: a.knob, label: a.label(a.values[r.idx[i]!]), changesResults: a.changesResults, ...(a.note ? { note: a.note } : {}) });
  });
  return {
    batch_size: run.batch_size,
    grad_accum: run.grad_accum,
    gpus: run.distributed.gpus,
    settings,
    changes_results: r.changes > 0,
    speed: Math.round(r.speed * 1000) / 1000,
    allocated: r.allocated,
    device_total: r.deviceTotal,
    headroom: r.headroom,
    verdict: r.headroom >= margin ? 'fits' : r.headroom >= 0 ? 'tight' : 'over',
    run,
  };
}

/** `saved activations 9.1 GiB (most in spectrum_loss: 7.2 GiB)`: what to look at when a config is over. */
export function largestComponent(e: Estimate): string {
  const comps = e.components.filter((c) => c.level === 'allocated');
  const top = comps.reduce((a, c) => (c.bytes > a.bytes ? c : a), comps[0]!);
  const part = top.parts?.reduce((a, p) => (p.bytes > a.bytes ? p : a), top.parts[0]!);
  return `${top.name} ${gib(top.bytes)}${part && top.parts!.length > 1 ? ` (most in ${part.name}: ${gib(part.bytes)})` : ''}`;
}

function describe(c: Candidate): string {
  const s = c.settings.map((x) => x.label).join(', ');
  return `${c.batch_size} x ${c.grad_accum}${s ? ` (${s})` : ''}`;
}

export function recommend(model: ModelDescriptor, run: RunConfig, opts: RecommendOptions): RecommendResult {
  if (run.runtime === 'tfjs') {
    throw new MemplanError('E_CONFIG', 'recommend searches the pytorch runtime (what training runs on); runtime: tfjs is the probe\'s model', {
      path: 'runtime',
      expected: 'runtime: pytorch',
      hint: 'use `memplan probe --scale F` to shrink a tfjs probe, or --set runtime=pytorch',
    });
  }
  if (!opts.targets.length) throw new MemplanError('E_OPTION', 'no card to recommend for', { path: '--gpu', hint: 'pass --gpu ID (memplan gpus lists them)' });
  const traces = new Traces(model);
  const baseTraced = traces.get(run);
  const allow = opts.allow ?? [];
  const ctx: Ctx = { model, base: run, baseTraced, traces, knobInfo: [] };
  for (const a of allow) {
    if (a.key !== 'precision' && a.key !== 'optimizer' && !baseTraced.dims.has(a.key)) {
      throw new MemplanError('E_OPTION', `--allow ${a.key}: not a dimension or knob of ${model.name}`, {
        path: '--allow',
        expected: `precision, optimizer, or one of ${[...baseTraced.dims.keys()].filter((d) => d !== 'batch').join(', ')}`,
      });
    }
  }
  for (const [name, k] of Object.entries(model.knobs ?? {})) {
    if (!baseTraced.dims.has(name) || name === 'batch') {
      throw new MemplanError('E_CONFIG', `knob "${name}" is not a dimension of the model`, { path: `knobs.${name}`, expected: 'a name declared under dims:' });
    }
    const changes = k.changes_results ?? true;
    ctx.knobInfo.push({ name, values: knobValues(ctx, name), changes_results: changes, ...(k.note ? { note: k.note } : {}), varied: !changes || allow.some((a) => a.key === name) });
  }
  const top = opts.top ?? 10;
  const E = opts.effectiveBatch ?? run.batch_size * run.grad_accum * run.distributed.gpus;
  if (!Number.isInteger(E) || E < 1) throw new MemplanError('E_OPTION', `effective batch ${E} is not a whole number >= 1`, { path: '--effective-batch' });

  const targets: TargetResult[] = opts.targets.map((target) => {
    if (E % target.gpus !== 0) {
      throw new MemplanError('E_OPTION', `effective batch ${E} does not divide over ${target.gpus} GPUs`, {
        path: '--effective-batch',
        expected: `a multiple of ${target.gpus}`,
      });
    }
    const perGpu = E / target.gpus;
    const margin = marginBytes(opts, target.preset);
    const tracesBefore = traces.computed;
    const s = search(ctx, target, allow, perGpu);
    const tracesUsed = traces.computed - tracesBefore;
    const ranked = rank(s.rows, margin);
    const fitting = ranked.filter((r) => r.headroom >= 0).length;
    const cands = ranked.slice(0, top).map((r) => toCandidate(ctx, s, r, margin));

    // The config as given, on this target.
    const asRun = cloneRun(run);
    asRun.distributed.gpus = target.gpus;
    if (target.gpus > 1 && asRun.distributed.strategy === 'none') asRun.distributed.strategy = 'ddp';
    if (target.gpus === 1) asRun.distributed.strategy = 'none';
    const asMem = stepTotals(traces.get(asRun), asRun, target.preset);
    const asHead = target.preset.capacity_bytes - asMem.deviceTotal;
    const asConfigured: Candidate = {
      batch_size: asRun.batch_size, grad_accum: asRun.grad_accum, gpus: target.gpus, settings: [], changes_results: false,
      speed: Math.round(accumFactor(asRun.grad_accum) * (asRun.checkpointing === false ? 1 : SPEED.recompute) * 1000) / 1000,
      allocated: asMem.allocated, device_total: asMem.deviceTotal, headroom: asHead,
      verdict: asHead >= margin ? 'fits' : asHead >= 0 ? 'tight' : 'over', run: asRun,
    };

    const notes: string[] = [];
    if (s.invalid) notes.push(`${s.invalid} candidate configs skipped as invalid for this model (first: ${s.invalidReason})`);
    const res: TargetResult = {
      gpu: { id: target.preset.id, name: target.preset.name, capacity: target.preset.capacity_bytes },
      gpus: target.gpus,
      effective_batch: E,
      margin,
      searched: { evaluated: s.evaluated, pruned: s.pruned, invalid: s.invalid, traces: tracesUsed },
      fitting,
      ranked: cands,
      as_configured: asConfigured,
      summary: '',
      suggestions: [],
      notes,
    };
    if (fitting > 0) {
      const best = cands[0]!;
      res.best = best;
      res.summary = `${describe(best)} fits with ${gib(best.headroom)} headroom${best.verdict === 'tight' ? ` (below the ${gib(margin)} margin)` : ''}`;
      // The same config one step faster (the next larger micro-batch): why it was not chosen.
      const bestRow = ranked[0]!;
      const bVals = s.axes[0]!.values as BatchValue[];
      const cur = bVals[bestRow.idx[0]!]!;
      const larger = bVals.map((v, i) => ({ v, i })).filter((x) => x.v.m > cur.m).sort((a, b) => a.v.m - b.v.m)[0];
      if (larger) {
        const idx = [...bestRow.idx];
        idx[0] = larger.i;
        const r2 = runFor(ctx, s.axes, idx);
        try {
          const e2 = buildEstimate(traces.full(r2), r2, { preset: target.preset });
          const h2 = e2.headroom!;
          res.summary += h2 < 0
            ? `; ${larger.v.m} x ${larger.v.a} is over by ${gib(-h2)}: largest component ${largestComponent(e2)}`
            : `; ${larger.v.m} x ${larger.v.a} leaves only ${gib(h2)} (margin ${gib(margin)})`;
        } catch {
          // The larger micro-batch is invalid for the model: nothing to compare with.
        }
      } else if (best.grad_accum === 1) {
        res.summary += '; no accumulation needed';
      }
    } else {
      const closest = ranked[0] ? toCandidate(ctx, s, ranked[0], margin) : undefined;
      res.closest = closest;
      let why = '';
      if (closest) {
        const e = buildEstimate(traces.full(closest.run), closest.run, { preset: target.preset });
        why = `; closest: ${describe(closest)}, over by ${gib(-closest.headroom)}: largest component ${largestComponent(e)}`;
      }
      res.summary = `nothing fits on ${target.preset.name}${target.gpus > 1 ? ` x ${target.gpus}` : ''} at effective batch ${E}${why}`;
      res.suggestions = suggest(ctx, target, allow, perGpu, margin);
    }
    return res;
  });
  return { model: model.name, knobs: ctx.knobInfo, targets, fits: targets.some((t) => t.fitting > 0) };
}

/** Not-yet-allowed result-changing knobs, one at a time, then together: which would make something fit. */
function suggest(ctx: Ctx, target: Target, allow: AllowSpec[], perGpu: number, margin: number): Suggestion[] {
  const have = new Set(allow.map((a) => a.key));
  const extra: { spec: AllowSpec; text: string; note?: string }[] = [];
  for (const k of ctx.knobInfo) {
    if (k.changes_results && !have.has(k.name)) extra.push({ spec: { key: k.name }, text: `${k.name}=${k.values.join(',')}`, note: k.note });
  }
  if (!have.has('precision') && ctx.base.precision === 'fp32') {
    const p = target.preset.bf16 === false ? 'fp16-mixed' : 'bf16-mixed';
    extra.push({ spec: { key: 'precision', values: [p] }, text: `precision=${p}` });
  }
  if (!have.has('optimizer') && (ctx.base.optimizer.type === 'adam' || ctx.base.optimizer.type === 'adamw')) {
    extra.push({ spec: { key: 'optimizer', values: ['adamw-8bit'] }, text: 'optimizer=adamw-8bit' });
  }
  const out: Suggestion[] = [];
  const tryAllow = (specs: typeof extra): Suggestion | undefined => {
    const s = search(ctx, target, [...allow, ...specs.map((x) => x.spec)], perGpu);
    const ranked = rank(s.rows, margin);
    if (!ranked[0] || ranked[0].headroom < 0) return undefined;
    const notes = specs.map((x) => x.note).filter(Boolean);
    return { allow: specs.map((x) => `--allow ${x.text}`).join(' '), ...(notes.length ? { note: notes.join('; ') } : {}), best: toCandidate(ctx, s, ranked[0], margin) };
  };
  for (const x of extra) {
    const sg = tryAllow([x]);
    if (sg) out.push(sg);
  }
  if (!out.length && extra.length > 1) {
    const sg = tryAllow(extra);
    if (sg) out.push(sg);
  }
  return out;
}

export interface MaxBatchResult {
  gpu: { id: string; name: string; capacity: number };
  gpus: number;
  /** Largest micro-batch per GPU that fits (0: not even 1). */
  max_batch: number;
  at?: { device_total: number; headroom: number };
  /** The micro-batch one above: over budget, by how much, and why. */
  next: { batch_size: number; device_total?: number; over_by?: number; largest?: string; reason?: string };
  /** Micro-batches evaluated by the search. */
  probes: number;
}

/**
 * The largest micro-batch that fits, the config otherwise as given. With accumulation fixed every
 * phase (first micro-batch, later ones, optimizer step) is nondecreasing in the micro-batch, so the
 * device total is monotone: gallop up by doubling until over, then bisect.
 */
export function maxBatch(model: ModelDescriptor, run: RunConfig, target: Target, limit = 2 ** 24): MaxBatchResult {
  if (run.runtime === 'tfjs') {
    throw new MemplanError('E_CONFIG', 'recommend searches the pytorch runtime (what training runs on); runtime: tfjs is the probe\'s model', {
      path: 'runtime',
      expected: 'runtime: pytorch',
      hint: 'use `memplan probe --scale F` to shrink a tfjs probe, or --set runtime=pytorch',
    });
  }
  const base = cloneRun(run);
  base.distributed.gpus = target.gpus;
  if (target.gpus > 1 && base.distributed.strategy === 'none') base.distributed.strategy = 'ddp';
  if (target.gpus === 1) base.distributed.strategy = 'none';
  const cap = target.preset.capacity_bytes;
  const seen = new Map<number, { total?: number; err?: MemplanError; traced?: Traced; run: RunConfig }>();
  const evalAt = (m: number) => {
    let e = seen.get(m);
    if (!e) {
      const r = cloneRun(base);
      r.batch_size = m;
      try {
        const traced = traceRun(model, r);
        e = { total: stepTotals(traced, r, target.preset).deviceTotal, traced, run: r };
      } catch (err) {
        // Past 2^53 bytes is over any card; any other error is the descriptor's and is reported.
        if (!(err instanceof MemplanError) || err.code !== 'E_TOO_LARGE') throw err;
        e = { err, run: r };
      }
      seen.set(m, e);
    }
    return e;
  };
  const fits = (m: number) => {
    const e = evalAt(m);
    return e.total !== undefined && e.total <= cap;
  };
  let lo = 0;
  let hi = 1;
  while (hi <= limit && fits(hi)) {
    lo = hi;
    hi *= 2;
  }
  if (hi > limit) {
    throw new MemplanError('E_CONFIG', `micro-batch ${limit} still fits: the model's memory does not grow with the batch`, {
      hint: 'check that the descriptor uses the `batch` dimension in its input shapes',
    });
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  const next = evalAt(lo + 1);
  const res: MaxBatchResult = {
    gpu: { id: target.preset.id, name: target.preset.name, capacity: cap },
    gpus: target.gpus,
    max_batch: lo,
    next: { batch_size: lo + 1 },
    probes: seen.size,
  };
  if (lo > 0) {
    const at = evalAt(lo);
    res.at = { device_total: at.total!, headroom: cap - at.total! };
  }
  if (next.total !== undefined && next.traced) {
    const e = buildEstimate(next.traced, next.run, { preset: target.preset });
    res.next = { batch_size: lo + 1, device_total: next.total, over_by: next.total - cap, largest: largestComponent(e) };
  } else if (next.err) {
    res.next = { batch_size: lo + 1, reason: next.err.message };
  }
  return res;
}
