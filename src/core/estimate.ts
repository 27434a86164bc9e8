/**
 * The analytic estimator: (model, run config, card) -> every component of one training step's
 * memory, each with bytes and its formula with the numbers filled in. Terms are small pure functions
 * over declared inputs; the peak is the largest of the step's phases (a micro-batch's forward and
 * backward, later micro-batches under accumulation, the optimizer step, the EMA update), for step 1
 * (optimizer state not yet created) and the steady state.
 */
import { DTYPE_BYTES, numel } from './graph.js';
import { assemble, setToNone, type BlockInfo, type ModelDescriptor, type RunConfig } from './model.js';
import { estimateTfjs } from './estimate-tfjs.js';
import { optimizerCost, pagedOptimizer, type OptimizerCost } from './optimizers.js';
import { contextModel, type ContextModel } from './context.js';
import { allocatorRun, type AllocatorReport, type RunInputs } from './allocator/run.js';
import type { Component, ComponentKey, Edge, Estimate, EstimateOptions, PhasePeak, RiskBand, Verdict } from './estimate-types.js';
import type { Preset } from './preset.js';
import { inputsOf, TERMS, type TermInputs, type TermKey } from './terms.js';
import type { SimResult } from './runtime/pytorch-sim.js';
import { pytorchRuntime } from './runtime/pytorch.js';
import { bytesOf, trainableParams, type OpRec, type Trace, type TTensor } from './tracer.js';
import { size, n } from './units.js';
import { MemplanError } from './errors.js';

// The estimate's types live in leaf modules (no import circle through this file); re-exported so
// `import { estimate, type Estimate } from './estimate.js'` keeps working for every consumer.
export type * from './estimate-types.js';
export type { Preset } from './preset.js';

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/**
 * Largest safe byte count; anything past it is a descriptor error, not a number we can trust. No
 * one tensor is that large (assemble checks each), so the error points at the block holding the
 * most: its parameters and what it saves for backward.
 */
function checkSize(bytes: number, what: string, t: Traced): number {
  if (!Number.isFinite(bytes) || bytes > Number.MAX_SAFE_INTEGER) {
    const held = t.blocks.map((b, i) => b.params * t.agg.pBytes + (t.sim.savedByBlock[i] ?? 0));
    const most = held.reduce((best, v, i) => (v > (held[best] ?? -1) ? i : best), 0);
    throw new MemplanError('E_TOO_LARGE', `${what} comes to more than 2^53 bytes (block ${t.blocks[most]?.name ?? most} holds the most)`, {
      path: `blocks[${t.blocks[most]?.index ?? most}]`,
      expected: 'dimensions that give tensors below 2^53 bytes (9 PB)',
      hint: 'check the dimensions for a missing division or a value in the wrong unit',
    });
  }
  return bytes;
}

/**
 * The expensive half of an estimate: the model traced and its activations simulated. It depends only
 * on the run settings traceKey() lists, so a search over many configs computes it once per distinct
 * combination and evaluates the cheap terms (optimizer, accumulation, EMA, sharding, allocator,
 * card) per candidate with stepMemory().
 */
export interface Traced {
  model: ModelDescriptor;
  trace: Trace;
  dims: Map<string, number>;
  blocks: BlockInfo[];
  notes: string[];
  sim: SimResult;
  /** Aggregates of the trace the cheap terms need, computed once. */
  agg: {
    trainable: TTensor[];
    P: number;
    Pf: number;
    /** Quantised weights: the parameters they hold, and their storage bytes (statistics included). */
    Pq: number;
    qBytes: number;
    pBytes: number;
    inputs: number;
    buffers: number;
    persistentTensors: OpRec[];
    castParams: OpRec[];
    autocast: number;
    /** Elements with an autocast low-precision copy (traced casts and params-block weights). */
    cachedElems: number;
    /** Params of the largest block unit (one repeat): what FSDP/ZeRO-3 gathers at once. */
    largestUnitParams: number;
  };
  /** Optimizer costs by type/impl/state dtype/weight decay (they walk the parameter list). */
  optCache: Map<string, OptimizerCost>;
  /** Context models by preset and stack (recommend's cheap path asks for the same few again and again). */
  ctxCache?: Map<Preset, Map<string, ContextModel>>;
  ctxLast?: { preset: Preset; stack: RunConfig['stack']; gpus: number; c: ContextModel };
}

/** The run settings that change the trace or its simulation; every other setting is a cheap term. */
export function traceKey(run: RunConfig): string {
  return JSON.stringify([run.batch_size, tracedPrecision(run), run.attention, run.checkpointing, run.device, run.pytorch, run.runtime, run.dims, run.mode, run.lora, run.quantization, run.kv_cache, run.grad_accum > 1]);
}

/**
 * The precision the forward pass runs in. FSDP MixedPrecision(param_dtype) and DeepSpeed's bf16/fp16
 * engine compute with 2-byte parameters and activations and no autocast (hence no cast cache); their
 * fp32 copies are terms.
 */
export function tracedPrecision(run: RunConfig): RunConfig['precision'] {
  if (run.distributed.mixed_precision === 'autocast') return run.precision;
  return run.precision === 'fp16-mixed' ? 'fp16' : 'bf16';
}

/** Assembles the model for this run and simulates one PyTorch micro-batch: the costly part. */
export function traceRun(model: ModelDescriptor, run: RunConfig, opts: { events?: boolean } = {}): Traced {
  if (run.runtime === 'tfjs') throw new MemplanError('E_CONFIG', 'use estimateTfjs for the tfjs runtime', { path: 'runtime' });
  const prec = tracedPrecision(run);
  const { trace, dims, blocks, notes } = assemble(model, prec === run.precision ? run : { ...run, precision: prec });
  const sim = pytorchRuntime.simulate(trace, run, { blocks: model.blocks.length, events: opts.events ?? false });
  const trainable = trainableParams(trace);
  const trains = new Set(trainable);
  const frozenAll = trace.params.filter((p) => !trains.has(p));
  // Frozen storage in a type of its own (bitsandbytes' uint8 weights and fp32 statistics, a bf16 base
  // under fp32 LoRA adapters) is counted by its own bytes, not x pBytes.
  const pBytes = DTYPE_BYTES[trainable[0]?.dtype ?? frozenAll.find((p) => p.logical === undefined)?.dtype ?? 'f32'];
  const own = (p: TTensor) => p.logical !== undefined || DTYPE_BYTES[p.dtype] !== pBytes;
  const frozen = frozenAll.filter((p) => !own(p));
  const quant = frozenAll.filter(own);
  const persistentTensors = trace.ops.filter((o) => o.kind === 'tensor' && o.attrs.lifetime === 'persistent');
  const castParams = trace.ops.filter((o) => o.kind === 'cast' && o.attrs.weightCache);
  // Parameters known only by count (`params` block, matmul: true) feed no traced matmul, yet autocast
  // would cast them: count their 2-byte copies too.
  const mixed = prec === 'bf16-mixed' || prec === 'fp16-mixed';
  const casted = new Set(castParams.map((o) => o.inputs[0]));
  const uncastMatmul = mixed ? trainable.filter((p) => p.matmul && !casted.has(p)) : [];
  return {
    model, trace, dims, blocks, notes, sim,
    agg: {
      trainable,
      P: sum(trainable.map((p) => numel(p.shape))),
      Pf: sum(frozen.map((p) => numel(p.shape))),
      Pq: sum(quant.map((p) => p.logical ?? numel(p.shape))),
      qBytes: sum(quant.map(bytesOf)),
      pBytes,
      inputs: sum(trace.inputs.map(bytesOf)),
      buffers: sum(persistentTensors.map((o) => bytesOf(o.output))),
      persistentTensors,
      castParams,
      // Traced casts live in the simulation (cache until forward ends, saved copies until backward);
      // only the untraced params-block copies are a constant here, alive through forward and backward.
      autocast: sum(uncastMatmul.map((p) => numel(p.shape) * 2)),
      cachedElems: sum(castParams.map((o) => numel(o.output.shape))) + sum(uncastMatmul.map((p) => numel(p.shape))),
      largestUnitParams: Math.max(0, ...blocks.filter((b) => b.repeat > 0).map((b) => b.params / b.repeat)),
    },
    optCache: new Map(),
  };
}

/** A runtime's estimates of one run, one per card option: each simulates through its Runtime (runtime/types.ts). */
type Estimator = (model: ModelDescriptor, run: RunConfig, cards: readonly EstimateOptions[]) => Estimate[];

/**
 * The runtimes by the run's `runtime` key. pytorch: traceRun (pytorchRuntime) once, then the terms per
 * card; tfjs: estimate-tfjs.ts (tfjsRuntime), whose whole-step peaks need no terms and no allocator.
 */
const ESTIMATORS: Record<RunConfig['runtime'], Estimator> = {
  pytorch: (model, run, cards) => {
    const traced = traceRun(model, run, { events: true });
    return cards.map((o) => buildEstimate(traced, run, o));
  },
  tfjs: (model, run, cards) => cards.map((o) => estimateTfjs(model, run, o)),
};

function estimatorOf(run: RunConfig): Estimator {
  // A normalised run always names one; a library caller's hand-made run may not.
  const e = (ESTIMATORS as Partial<Record<string, Estimator>>)[run.runtime];
  if (!e) throw new MemplanError('E_CONFIG', `unknown runtime ${String(run.runtime)}`, { path: 'runtime', expected: Object.keys(ESTIMATORS).join(' or ') });
  return e;
}

/** The estimate of `run` (without its claims: claims.ts withClaims reads the finished estimate). */
export function estimate(model: ModelDescriptor, run: RunConfig, opts: EstimateOptions = {}): Estimate {
  return estimatorOf(run)(model, run, [opts])[0]!;
}

/** One estimate per card: the model is traced and simulated once; only the card's terms differ. */
export function estimateOn(model: ModelDescriptor, run: RunConfig, presets: readonly Preset[]): Estimate[] {
  return estimatorOf(run)(model, run, presets.map((preset) => ({ preset })));
}

/** The numbers of one training step for a traced model under `run`'s cheap settings (no strings). */
export interface StepTotals {
  /** The named inputs the persistent terms read (terms.ts). */
  inputs: TermInputs;
  N: number;
  shardParams: number;
  shardGrads: number;
  shardState: number;
  pureLowp: boolean;
  weights: number;
  master: number;
  grads: number;
  opt: OptimizerCost;
  state: number;
  optTemp: number;
  emaB: number;
  ema: number;
  ddpBuckets: number;
  gather: number;
  persistentNoState: number;
  /** Allocated bytes of each phase: first micro-batch (step 1, steady), later ones (0 without accumulation), optimizer step. */
  firstStep1: number;
  firstSteady: number;
  laterStep1: number;
  laterSteady: number;
  optPhase: number;
  allocated: number;
  /** Micro-batch 1 of the steady state runs with every gradient resident (zero_grad(set_to_none=False)). */
  gradsKept: boolean;
  /** Stored gradient bytes per simulated parameter-gradient byte (sharding, FSDP's fp32 shards). */
  gradScale: number;
  /** The params-block autocast copy charged through forward and backward (0 when the cache is dropped). */
  autocastConst: number;
  /** The autocast cache-only copies left out: sharded parameters are gathered one unit at a time and their casts are not cached. */
  cacheDropped: boolean;
  /**
   * The allocator here is the ranking approximation (reserved = allocated x ratio: the ratio the full
   * simulation found for a reference config, or the fixed `allocator.fragmentation`); estimate()
   * replaces it with the simulation of the whole run.
   */
  frag: number;
  allocatorBytes: number;
  reserved: number;
  /** CUDA context + workspaces of the card (0 without one). */
  context: number;
  contextModel?: ContextModel;
  deviceTotal: number;
  /** Device totals at the band's edges (the cheap path's approximation of the band). */
  deviceLow: number;
  deviceHigh: number;
}

export interface StepTotalsOptions {
  /** reserved / allocated to assume (from a full simulation of a reference config); default 1.1, 1.06 with max_split_size_mb, 1.02 with expandable segments. */
  reservedRatio?: number;
}

/** The allocator margin on the band's high edge: allocation-order effects the simulation cannot see (a planning choice, docs/memory-model.md). */
export const ALLOCATOR_MARGIN = { uncalibrated: 0.05, calibrated: 0.01 } as const;

/** The stack's high edge for models with convolutions: cuDNN workspaces (a planning margin). */
export const STACK_CONV_MARGIN = 0.05;

/** FITS when the high edge fits, OVER when the expected total does not (or the allocator runs out), AT RISK between. */
export function verdictOf(band: { expected: number; high: number }, capacity: number, oom = false): Verdict {
  if (oom || band.expected > capacity) return 'OVER';
  return band.high > capacity ? 'AT RISK' : 'FITS';
}

/** The device total at an edge of the band. */
export function edgeTotal(e: { device_total: number; band?: RiskBand }, edge: Edge): number {
  if (!e.band) return e.device_total;
  return edge === 'low' ? e.band.low : edge === 'high' ? e.band.high : e.band.expected;
}

export function defaultReservedRatio(run: RunConfig): number {
  return 1 + (run.allocator.expandable_segments ? 0.02 : run.allocator.max_split_size_mb ? 0.06 : 0.1);
}

export interface StepMemory extends StepTotals {
  phases: PhasePeak[];
  step1: number;
  steady: number;
  peak: PhasePeak;
}

/**
 * The cheap half as plain numbers: persistent terms, the allocated bytes of each phase, the peak,
 * allocator and device total. Arithmetic over the trace's aggregates (about a microsecond): the
 * recommend search calls it per candidate, and stepMemory() (hence estimate()) builds on it, so
 * both give the same bytes for the same config.
 */
export function stepTotals(t: Traced, run: RunConfig, preset?: Preset, o: StepTotalsOptions = {}): StepTotals {
  const { sim, agg } = t;
  const { P, Pf, inputs, buffers } = agg;
  const N = run.distributed.gpus;
  const strat = run.distributed.strategy;
  const mp = run.distributed.mixed_precision;
  const pureLowp = run.precision === 'bf16' || run.precision === 'fp16';
  // An inference pass: the forward only (no gradients, optimizer step, EMA update or later micro-batches).
  const inference = run.mode === 'inference';
  // The parameters as computed with (the trace's dtype) and as stored: FSDP MixedPrecision keeps its
  // sharded flat parameters in fp32 and gathers a 2-byte copy per unit; DeepSpeed keeps 2-byte
  // weights and gradients plus an fp32 master copy in the optimizer (as `fp16` does).
  const computeB = agg.pBytes;
  const pBytes = mp === 'fsdp' ? 4 : computeB;
  const termPrecision = mp === 'deepspeed' ? 'fp16' : run.precision;
  // Pure bf16 keeps optimizer state in bf16; fp16 steps its fp32 master copy, so its state is fp32 too.
  const stateB = run.precision === 'bf16' ? pBytes : 4;
  const shardParams = strat === 'zero3' || strat === 'fsdp' ? N : 1;
  const shardGrads = strat === 'zero2' || strat === 'zero3' || strat === 'fsdp' ? N : 1;
  const shardState = strat === 'none' || strat === 'ddp' ? 1 : N;
  // A sharded unit is gathered, used and freed: autocast does not cache the casts of its (non-leaf) gathered weights.
  const cacheDropped = shardParams > 1 && (run.precision === 'bf16-mixed' || run.precision === 'fp16-mixed') && mp === 'autocast';
  const autocast = cacheDropped ? 0 : agg.autocast;

  // Persistent terms (terms.ts: each declares its inputs; here only their bytes are computed).
  const optKey = `${run.optimizer.type}|${run.optimizer.impl}|${stateB}|${run.optimizer.weight_decay}|${run.device}|${run.pytorch}|${run.optimizer.paged ?? false}`;
  let opt = t.optCache.get(optKey);
  if (!opt) {
    opt = optimizerCost(run.optimizer.type, run.optimizer.impl, agg.trainable, stateB, run.optimizer.weight_decay, { device: run.device, pytorch: run.pytorch });
    if (run.optimizer.paged) opt = pagedOptimizer(opt);
    t.optCache.set(optKey, opt);
  }
  const inputsT: TermInputs = {
    P, Pf, qBytes: agg.qBytes, pBytes, gatherB: computeB, stateB, emaB: DTYPE_BYTES[run.ema.dtype], precision: termPrecision, N, shardParams, shardGrads, shardState,
    ddp: strat === 'ddp' && !inference, bucketView: run.distributed.bucket_view, emaOnGpu: !inference && run.ema.enabled && run.ema.device === 'gpu',
    largestUnitParams: agg.largestUnitParams, prefetch: run.distributed.prefetch, opt,
  };
  const weights = checkSize(TERMS.weights.bytes(inputsT), 'the weights', t);
  const master = TERMS.master_weights.bytes(inputsT);
  const grads = TERMS.gradients.bytes(inputsT);
  const state = TERMS.optimizer_state.bytes(inputsT);
  const optTemp = TERMS.optimizer_temps.bytes(inputsT);
  const emaB = inputsT.emaB;
  const ema = TERMS.ema.bytes(inputsT);
  const ddpBuckets = TERMS.ddp_buckets.bytes(inputsT);
  const gather = TERMS.gather_buffers.bytes(inputsT);
  const persistentNoState = weights + master + ema + inputs + buffers + ddpBuckets;

  // Phases: micro-batch 1 (no gradients yet but those built up in its backward), later micro-batches
  // under accumulation (all gradients resident), the optimizer step; each for step 1 (no optimizer
  // state yet) and the steady state.
  // Parameter gradients as stored: FSDP keeps fp32 shards of what backward made in 2 bytes.
  const gradScale = (pBytes / computeB) / shardGrads;
  const scaleGrads = (b: number) => (gradScale === 1 ? b : Math.ceil(b * gradScale));
  const fwdCache = (a: typeof sim.first) => (cacheDropped && a.phase === 'forward' ? a.autocastCache : 0);
  const firstAct = sim.first.bytes - fwdCache(sim.first) + scaleGrads(sim.first.paramGrads);
  const firstStep1 = persistentNoState + autocast + gather + firstAct;
  const laterAct = sim.later.bytes - fwdCache(sim.later);
  const gradsKept = !setToNone(run) && !inference;
  // zero_grad(set_to_none=False): from step 2 on, micro-batch 1 runs like a later micro-batch (every .grad resident, new gradients added into it).
  const firstSteady = gradsKept ? persistentNoState + grads + autocast + gather + laterAct + state : firstStep1 + state;
  const laterStep1 = run.grad_accum > 1 && !inference ? persistentNoState + grads + autocast + gather + laterAct : 0;
  const laterSteady = laterStep1 ? laterStep1 + state : 0;
  const optPhase = inference ? 0 : persistentNoState + grads + state + optTemp;
  const allocated = checkSize(Math.max(firstSteady, laterSteady, optPhase), 'the training step', t);

  // Allocator (ranking approximation; estimate() simulates the caching allocator over the run instead).
  const frag = run.allocator.fragmentation ?? (o.reservedRatio !== undefined ? o.reservedRatio - 1 : defaultReservedRatio(run) - 1);
  const allocatorBytes = run.device === 'cpu' ? 0 : Math.ceil(allocated * frag);
  const reserved = allocated + allocatorBytes;
  const ctx = preset ? cachedContext(t, preset, run) : undefined;
  const context = ctx?.bytes ?? 0;
  const margin = run.device === 'cpu' ? 0 : Math.ceil(allocated * (preset?.calibration ? ALLOCATOR_MARGIN.calibrated : ALLOCATOR_MARGIN.uncalibrated));
  return {
    inputs: inputsT, N, shardParams, shardGrads, shardState, pureLowp, weights, master, grads, opt, state, optTemp, emaB, ema, ddpBuckets, gather,
    persistentNoState, firstStep1, firstSteady, laterStep1, laterSteady, optPhase, allocated, gradsKept, gradScale, autocastConst: autocast, cacheDropped, frag, allocatorBytes, reserved, context,
    ...(ctx ? { contextModel: ctx } : {}),
    deviceTotal: reserved + context,
    deviceLow: allocated + (ctx?.low ?? 0),
    deviceHigh: reserved + margin + (ctx?.high ?? 0),
  };
}

/** contextModel, memoised per trace, preset object and the run keys it reads (stack, GPU count). */
function cachedContext(t: Traced, preset: Preset, run: RunConfig): ContextModel {
  // The last answer first: recommend's candidates share the preset and the stack object, and vary the GPUs rarely.
  const last = t.ctxLast;
  if (last && last.preset === preset && last.stack === run.stack && last.gpus === run.distributed.gpus) return last.c;
  t.ctxCache ??= new Map();
  let byStack = t.ctxCache.get(preset);
  if (!byStack) {
    byStack = new Map();
    t.ctxCache.set(preset, byStack);
  }
  // Keyed by value (recommend's candidates share few stacks); the string is built only from the few keys read.
  const s = run.stack;
  const key = `${s.cuda}|${s.module_loading}|${s.libraries?.join(',')}|${s.context_bytes}|${run.distributed.gpus}`;
  let c = byStack.get(key);
  if (!c) {
    c = contextModel(preset, run);
    byStack.set(key, c);
  }
  t.ctxLast = { preset, stack: run.stack, gpus: run.distributed.gpus, c };
  return c;
}

/** What the allocator model needs of a traced run (traced with events). */
export function allocatorInputs(t: Traced, run: RunConfig, m: StepTotals): RunInputs {
  if (!t.sim.events) throw new MemplanError('E_INTERNAL', 'the allocator model needs the simulation\'s event stream (traceRun with events)');
  return {
    trace: t.trace, events: t.sim.events, persistentTensors: t.agg.persistentTensors, run, shardParams: m.shardParams, gradScale: m.gradScale,
    shardState: m.shardState, stateB: m.inputs.stateB, emaB: m.inputs.emaB, pBytes: m.inputs.pBytes, masterPerParam: m.master > 0,
    ddpBuckets: m.ddpBuckets, autocast: m.autocastConst, gather: m.gather, dropCache: m.cacheDropped,
  };
}

/** stepTotals plus the named phases and the one at the peak, for the breakdown. */
export function stepMemory(t: Traced, run: RunConfig, preset?: Preset): StepMemory {
  const s = stepTotals(t, run, preset);
  const { sim } = t;
  const phases: PhasePeak[] = [];
  const mb1 = (withState: boolean): PhasePeak => {
    // With gradients kept between steps, micro-batch 1 of the steady state runs like a later micro-batch.
    const a = withState && s.gradsKept ? sim.later : sim.first;
    return {
      name: `micro-batch 1 ${a.phase}${withState && s.gradsKept ? ' (gradients kept by zero_grad(set_to_none=False))' : ''}`,
      phase: a.phase,
      step: withState ? 'steady' : 'step 1',
      microbatch: 'first',
      allocated: withState ? s.firstSteady : s.firstStep1,
      at: a.at,
    };
  };
  if (run.mode === 'inference') {
    for (const step of ['step 1', 'steady'] as const) {
      phases.push({ name: 'inference forward', phase: 'forward', step, microbatch: 'first', allocated: s.firstSteady, at: sim.first.at });
    }
  } else {
    phases.push(mb1(false), mb1(true));
  }
  if (run.grad_accum > 1 && run.mode !== 'inference') {
    for (const withState of [false, true]) {
      phases.push({
        name: `micro-batch ${run.grad_accum === 2 ? '2' : `2..${run.grad_accum}`} ${sim.later.phase}`,
        phase: sim.later.phase,
        step: withState ? 'steady' : 'step 1',
        microbatch: 'later',
        allocated: withState ? s.laterSteady : s.laterStep1,
        at: sim.later.at,
      });
    }
  }
  if (run.mode !== 'inference') {
    phases.push({ name: 'optimizer step', phase: 'optimizer step', step: 'step 1', microbatch: '-', allocated: s.optPhase });
    phases.push({ name: 'optimizer step', phase: 'optimizer step', step: 'steady', microbatch: '-', allocated: s.optPhase });
  }
  const step1 = Math.max(...phases.filter((p) => p.step === 'step 1').map((p) => p.allocated));
  const steady = Math.max(...phases.filter((p) => p.step === 'steady').map((p) => p.allocated));
  const peak = phases.reduce((best, p) => (p.allocated > best.allocated || (p.allocated === best.allocated && p.step === 'steady' && best.step !== 'steady') ? p : best));
  if (peak.allocated !== s.allocated) throw new MemplanError('E_INTERNAL', `peak phase ${peak.allocated} B differs from the step total ${s.allocated} B`);
  return { ...s, phases, step1, steady, peak };
}

/** The full estimate (components, formulas, notes) of a traced model under `run`. */
export function buildEstimate(t: Traced, run: RunConfig, opts: EstimateOptions = {}): Estimate {
  const { model, trace, dims, blocks, sim } = t;
  // The run config's own notes come first: they say what the config is about.
  const notes = [...(run.notes ?? []), ...t.notes];
  const preset = opts.preset;
  const m = stepMemory(t, run, preset);
  const { N, pureLowp, weights, master, grads, state, optTemp, ema, ddpBuckets, gather, peak, allocated } = m;
  const f = (k: TermKey) => TERMS[k].formula(m.inputs);
  const { P, Pf, inputs, buffers, persistentTensors, castParams, cachedElems } = t.agg;
  const autocast = m.autocastConst;
  const strat = run.distributed.strategy;
  const kept = peak.microbatch === 'first' && peak.step === 'steady' && m.gradsKept;

  // Components alive at the peak.
  const comps: Component[] = [];
  const add = (key: ComponentKey, name: string, bytes: number, formula: string, level: Component['level'] = 'allocated', parts?: Component['parts']) => {
    if (bytes > 0 || key === 'weights') comps.push({ key, name, bytes, formula, level, ...(parts ? { parts } : {}) });
  };
  const wDtype = m.inputs.pBytes === 4 ? 'fp32' : run.precision.startsWith('fp16') ? 'fp16' : 'bf16';
  add('weights', `weights (${pureLowp ? run.precision : wDtype})`, weights, f('weights'));
  add('master_weights', 'fp32 master weights', master, f('master_weights'));
  add('ema', `EMA weights (${run.ema.dtype})`, ema, f('ema'));
  add('input_batch', 'input batch', inputs, trace.inputs.map((t) => `[${t.shape.join(', ')}] x ${DTYPE_BYTES[t.dtype]} B`).join(' + '));
  add('buffers', 'persistent buffers', buffers, persistentTensors.map((o) => `${o.output.name} [${o.output.shape.join(', ')}] x ${DTYPE_BYTES[o.output.dtype]} B`).join(' + '));
  add('ddp_buckets', 'DDP gradient buckets', ddpBuckets, f('ddp_buckets'));
  const isOpt = peak.phase === 'optimizer step';
  const statePresent = peak.step === 'steady' || isOpt;
  if (statePresent) add('optimizer_state', `optimizer state (${run.optimizer.type})`, state, f('optimizer_state'));
  if (isOpt || peak.microbatch === 'later' || kept) add('gradients', kept ? 'gradients (kept between steps: zero_grad(set_to_none=False))' : 'gradients', grads, f('gradients'));
  if (isOpt) {
    add('optimizer_temps', `optimizer step temporaries (${run.optimizer.impl})`, optTemp, f('optimizer_temps'));
  } else {
    const act = peak.microbatch === 'later' || kept ? sim.later : sim.first;
    if (peak.microbatch === 'first' && !kept && act.paramGrads > 0) {
      const pg = m.gradScale === 1 ? act.paramGrads : Math.ceil(act.paramGrads * m.gradScale);
      add('gradients', 'gradients (built up so far in backward)', pg, `${size(pg)} of ${size(grads)} produced by the time of the peak at ${act.at}`);
    }
    // Weight copies ops saved are in saved activations; the cache itself lives only until forward ends.
    // Parameters known only by count (a `params` block) have no traced cast: their copy is counted whole.
    // Sharded units (FSDP, ZeRO-3) are gathered one at a time and their casts are not cached.
    const cacheOnly = m.cacheDropped && act.phase === 'forward' ? 0 : act.autocastCache;
    const cacheBytes = cacheOnly + autocast;
    add('autocast_cache', 'autocast weight copies (cache only)', cacheBytes, `cast cache of ${n(cachedElems)} matmul params x ${DTYPE_BYTES[castParams[0]?.output.dtype ?? 'bf16']} B until autocast exits; ${size(cacheBytes)} of it not saved by any op at ${act.at}`);
    add('gather_buffers', 'FSDP/ZeRO-3 all-gather buffers', gather, f('gather_buffers'));
    // Per-block parts: saved activations and loss buffers apart, each summing to its component.
    const partsOf = (loss: boolean) => {
      const parts = blocks
        .map((b, i) => {
          const l = act.lossByBlock[i] ?? 0;
          return { name: b.repeat > 1 ? `${b.name} (x${b.repeat})` : b.name, bytes: loss ? l : (act.savedByBlock[i] ?? 0) - l, formula: '', index: i };
        })
        .filter((p) => p.bytes > 0);
      for (const p of parts) {
        // Repeated layers save the same tensors: group them as `4 x softmax [..] x 4 B`, largest first.
        const groups = new Map<string, { text: string; count: number; bytes: number }>();
        for (const it of sim.savedItems) {
          if (it.block !== p.index || it.loss !== loss) continue;
          const text = `${it.what} [${it.shape.join(', ')}] x ${DTYPE_BYTES[it.dtype as keyof typeof DTYPE_BYTES]} B`;
          const g = groups.get(text) ?? { text, count: 0, bytes: 0 };
          g.count++;
          g.bytes += it.bytes;
          groups.set(text, g);
        }
        const items = [...groups.values()].sort((a, b) => b.bytes - a.bytes);
        p.formula = items
          .slice(0, 3)
          .map((g) => (g.count > 1 ? `${g.count} x ${g.text}` : g.text))
          .join(' + ') + (items.length > 3 ? ` + ${items.length - 3} more kinds` : '');
      }
      return parts.map(({ name, bytes, formula }) => ({ name, bytes, formula }));
    };
    add('saved_activations', 'saved activations', act.saved - act.lossBuffers, `saved for backward, alive at ${act.phase} (${act.at})`, 'allocated', partsOf(false));
    add('loss_buffers', 'loss buffers', act.lossBuffers, 'what the loss keeps for backward (explicit loss tensors, blocks marked loss: true)', 'allocated', partsOf(true));
    add('activation_grads', 'activation gradients', act.grads, `gradients of activations in flight at ${act.at}`);
    add('transients', 'transients', act.transient, `intermediates alive at ${act.at} not kept for backward`);
    if (m.cacheDropped && act.phase === 'forward' && act.autocastCache > 0) {
      notes.push(`${strat}: sharded parameters are gathered one unit at a time; autocast does not cache their casts, so the ${size(act.autocastCache)} cache-only copies the unsharded model would hold at ${act.at} are not charged.`);
    }
  }
  const allocSum = sum(comps.map((c) => c.bytes));
  if (allocSum !== allocated) {
    // Every byte must be traceable: a mismatch is a bug in the terms above.
    throw new MemplanError('E_INTERNAL', `components sum to ${allocSum} B but the peak is ${allocated} B`);
  }

  // Reserved: the caching allocator simulated over the whole run (or a fixed allowance the run gives).
  const ctxModel = m.contextModel;
  const card = preset && preset.kind === 'gpu' ? { capacity: preset.capacity_bytes, context: m.context } : undefined;
  let reserved: number;
  let report: AllocatorReport | undefined;
  let allocatorFormula = '';
  const calibration = preset?.calibration;
  const margin = Math.ceil(allocated * (calibration ? ALLOCATOR_MARGIN.calibrated : ALLOCATOR_MARGIN.uncalibrated));
  let allocLow = 0;
  let allocHigh = 0;
  if (run.device === 'cpu') {
    reserved = allocated;
  } else if (run.allocator.fragmentation !== undefined || !sim.events) {
    reserved = m.reserved;
    allocatorFormula = run.allocator.fragmentation !== undefined
      ? `${(m.frag * 100).toFixed(0)}% of the allocated peak (allocator.fragmentation as given; the allocator simulation is skipped)`
      : `${(m.frag * 100).toFixed(0)}% of the allocated peak (the ranking approximation; no event stream was recorded)`;
    allocLow = Math.max(0, reserved - allocated - margin);
    allocHigh = reserved - allocated + margin;
  } else {
    report = allocatorRun(allocatorInputs(t, run, m), card);
    let rp = report.reserved_peak;
    if (calibration) rp = Math.max(report.allocated_peak, Math.round(rp * calibration.reserved_ratio));
    reserved = Math.max(allocated, rp);
    const ap = report.at_peak;
    allocatorFormula =
      `caching allocator simulated over 3 steps (${report.settings}): reserved peak ${size(report.reserved_peak)} in ${report.segments} segments` +
      `${calibration ? ` x ${calibration.reserved_ratio.toFixed(3)} (calibrated)` : ''}; at the allocated peak ${size(ap.reserved)} reserved, ` +
      `largest free block ${size(ap.largest_free)} of ${size(ap.cached_free)} cached free (fragmentation ${(ap.fragmentation * 100).toFixed(0)}%)` +
      `${report.allocated_peak > allocated ? `; max_memory_allocated ${size(report.allocated_peak)} (512 B rounding, unsplit blocks)` : ''}`;
    allocLow = Math.max(Math.min(reserved, report.allocated_peak) - allocated, reserved - allocated - margin, 0);
    allocHigh = reserved - allocated + margin;
    if (report.oom) {
      notes.push(`out of memory on ${preset!.name} even after the allocator frees its cache: it tried to allocate ${size(report.oom.tried)} at ${report.oom.at} with ${size(report.oom.allocated)} allocated and ${size(report.oom.reserved)} reserved.`);
    } else if (report.limited && report.retries > 0) {
      notes.push(`the cache outgrows ${preset!.name}: the allocator releases cached segments and retries (${report.retries} retries per 3 steps; slow, and a sign the run is at its limit).`);
    }
  }
  add('allocator', 'allocator cache and fragmentation', reserved - allocated, allocatorFormula, 'reserved');
  const deviceTotal = reserved + m.context;
  if (preset) {
    add(
      'cuda_context',
      preset.kind === 'host' ? 'process baseline' : 'CUDA context + workspaces',
      m.context,
      ctxModel?.formula ?? '',
      'device',
    );
  }
  if (run.precision.startsWith('bf16') && preset && preset.bf16 === false) {
    notes.push(`${preset.name} has no native bf16 support; bf16 runs emulated or fails. Use fp16-mixed there.`);
  }
  if (run.mode === 'inference') {
    notes.push('inference: model.eval() under torch.no_grad(): the forward pass only (no gradients, optimizer state, EMA or loss; dropout off).');
  }
  if (N > 1) notes.push(`per-GPU memory for ${N} GPUs with ${strat}: micro-batch ${run.batch_size} on each GPU, effective batch ${run.batch_size * run.grad_accum * N}.`);

  const est: Estimate = {
    model: model.name,
    runtime: 'pytorch',
    mode: run.mode,
    device: run.device,
    precision: run.precision,
    batch_size: run.batch_size,
    grad_accum: run.grad_accum,
    effective_batch: run.batch_size * run.grad_accum * N,
    gpus: N,
    dims: Object.fromEntries(dims),
    params: { total: P + Pf + t.agg.Pq, trainable: P, frozen: Pf + t.agg.Pq },
    blocks: blocks.map((b, i) => ({ ...b, saved_bytes: sim.savedByBlock[i] ?? 0 })),
    components: comps,
    peak,
    phases: m.phases,
    step1_allocated: m.step1,
    steady_allocated: m.steady,
    allocated,
    reserved,
    device_total: deviceTotal,
    forward_saved: sim.savedTotal,
    saved_items: sim.savedItems.slice(0, 50),
    notes,
    totals: { weights, gradients: grads, optimizer_state: state, ema, master_weights: master, loss_buffers: sim.lossBuffers },
    terms: (Object.keys(TERMS) as TermKey[]).map((k) => ({
      key: k,
      bytes: TERMS[k].bytes(m.inputs),
      inputs: inputsOf(TERMS[k], m.inputs),
      formula: TERMS[k].formula(m.inputs),
    })),
  };
  if (report) est.allocator = report;
  if (preset) {
    est.gpu = { id: preset.id, name: preset.name, capacity: preset.capacity_bytes, context: m.context, kind: preset.kind };
    est.headroom = preset.capacity_bytes - deviceTotal;
    est.fits = est.headroom >= 0;
    if (ctxModel) est.context = ctxModel;
    const hasConv = blocks.some((b) => b.type === 'conv1d' || b.type === 'conv2d');
    const stackHigh = run.device !== 'cpu' && hasConv ? Math.ceil(allocated * STACK_CONV_MARGIN) : 0;
    const c = ctxModel ?? { low: m.context, bytes: m.context, high: m.context, formula: '' };
    const band: RiskBand = {
      low: allocated + allocLow + c.low,
      expected: deviceTotal,
      high: allocated + allocHigh + c.high + stackHigh,
      parts: [
        { part: 'context', low: c.low, expected: c.bytes, high: c.high, why: ctxModel?.exact ? 'measured (no spread)' : 'the spread of published contexts for this stack' },
        { part: 'allocator', low: allocLow, expected: reserved - allocated, high: allocHigh, why: `the simulation +- ${calibration ? '1%' : '5%'} of the allocated peak (allocation-order effects it cannot see)` },
        { part: 'stack', low: 0, expected: 0, high: stackHigh, why: stackHigh ? 'cuDNN convolution workspaces (algorithm-dependent): 5% of the allocated peak' : 'nothing known beyond the context' },
      ],
      calibrated: !!calibration || !!ctxModel?.exact,
    };
    est.band = band;
    est.verdict = verdictOf(band, preset.capacity_bytes, report?.oom !== undefined);
  }
  return est;
}
