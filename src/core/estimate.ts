/**
 * The analytic estimator: (model, run config, card) -> every component of one training step's
 * memory, each with bytes and its formula with the numbers filled in. Terms are small pure functions
 * over declared inputs; the peak is the largest of the step's phases (a micro-batch's forward and
 * backward, later micro-batches under accumulation, the optimizer step, the EMA update), for step 1
 * (optimizer state not yet created) and the steady state.
 */
import { DTYPE_BYTES, numel } from './graph.js';
import { assemble, type BlockInfo, type ModelDescriptor, type RunConfig } from './model.js';
import { checkClaims, type ClaimResult } from './claims.js';
import { estimateTfjs } from './estimate-tfjs.js';
import { optimizerCost, pagedOptimizer, type OptimizerCost } from './optimizers.js';
import { inputsOf, TERMS, type TermInputs, type TermKey } from './terms.js';
import { deviceRules, type DeviceRules } from './runtime/pytorch-ops.js';
import { simulatePytorch, type SavedItem, type SimResult } from './runtime/pytorch-sim.js';
import { bytesOf, trainableParams, type OpRec, type Trace, type TTensor } from './tracer.js';
import { size, n } from './units.js';
import { MemplanError } from './errors.js';

export interface Preset {
  id: string;
  /** Other names the card is known by (`4090`, `h100`); matched ignoring case, spaces and dashes. */
  aliases?: string[];
  name: string;
  kind: 'gpu' | 'host';
  capacity_bytes: number;
  context_bytes: number;
  workspace_bytes?: number;
  architecture?: string;
  bf16?: boolean;
  source: string;
  notes?: string;
}

export type ComponentKey =
  | 'weights' | 'master_weights' | 'gradients' | 'optimizer_state' | 'ema' | 'autocast_cache' | 'input_batch'
  | 'buffers' | 'saved_activations' | 'loss_buffers' | 'activation_grads' | 'transients' | 'optimizer_temps'
  | 'ddp_buckets' | 'gather_buffers' | 'allocator' | 'cuda_context';

export interface Component {
  key: ComponentKey;
  name: string;
  bytes: number;
  formula: string;
  /** Which level it belongs to: tensor bytes (allocated), allocator (reserved), device total. */
  level: 'allocated' | 'reserved' | 'device';
  /** Per-block split of saved activations. */
  parts?: { name: string; bytes: number; formula: string }[];
}

export type PhaseName = 'forward' | 'backward' | 'recompute' | 'optimizer step' | 'ema update';

export interface PhasePeak {
  name: string;
  phase: PhaseName;
  step: 'step 1' | 'steady';
  microbatch: 'first' | 'later' | '-';
  allocated: number;
  at?: string;
}

export interface Estimate {
  model: string;
  runtime: 'pytorch' | 'tfjs';
  /** `inference`: model.eval() under torch.no_grad() (a forward pass, nothing trains). */
  mode?: 'train' | 'inference';
  precision: string;
  batch_size: number;
  grad_accum: number;
  effective_batch: number;
  gpus: number;
  dims: Record<string, number>;
  params: { total: number; trainable: number; frozen: number };
  blocks: (BlockInfo & { saved_bytes: number })[];
  /** The components alive at the peak, summing to `device_total`. */
  components: Component[];
  peak: PhasePeak;
  phases: PhasePeak[];
  step1_allocated: number;
  steady_allocated: number;
  allocated: number;
  reserved: number;
  device_total: number;
  forward_saved: number;
  saved_items: SavedItem[];
  gpu?: { id: string; name: string; capacity: number; context: number; kind: 'gpu' | 'host' };
  /** Where the tensors live: cuda (a card) or cpu (host RAM). */
  device?: 'cuda' | 'cpu';
  fits?: boolean;
  headroom?: number;
  notes: string[];
  /** The step's persistent terms (whatever the peak phase), for claims and comparisons. */
  totals?: { weights: number; gradients: number; optimizer_state: number; ema: number; master_weights: number; loss_buffers: number };
  /** Every per-step term (terms.ts) with its bytes, its declared inputs and their values, and its formula. */
  terms?: { key: string; bytes: number; inputs: string; formula: string }[];
  /** The run config's `claims:` (a hand-made table's numbers) checked against this estimate. */
  claims?: ClaimResult[];
  /** runtime tfjs: per-step peaks over the bytes allocated at the step's start (what the probe measures). */
  tfjs?: { optimizer: string; baseline: number; steps: { step: number; peak: number; phase: string; at: string; newBytes: number }[] };
}

export interface EstimateOptions {
  preset?: Preset;
}

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
}

/** The run settings that change the trace or its simulation; every other setting is a cheap term. */
export function traceKey(run: RunConfig): string {
  return JSON.stringify([run.batch_size, run.precision, run.attention, run.checkpointing, run.device, run.pytorch, run.runtime, run.dims, run.mode, run.lora, run.quantization, run.kv_cache]);
}

/** Assembles the model for this run and simulates one PyTorch micro-batch: the costly part. */
export function traceRun(model: ModelDescriptor, run: RunConfig): Traced {
  if (run.runtime === 'tfjs') throw new MemplanError('E_CONFIG', 'use estimateTfjs for the tfjs runtime', { path: 'runtime' });
  const { trace, dims, blocks, notes } = assemble(model, run);
  const dev: DeviceRules = deviceRules(run.device, run.pytorch);
  const sim = simulatePytorch(trace, dev, model.blocks.length);
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
  const mixed = run.precision === 'bf16-mixed' || run.precision === 'fp16-mixed';
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

export function estimate(model: ModelDescriptor, run: RunConfig, opts: EstimateOptions = {}): Estimate {
  if (run.runtime === 'tfjs') return estimateTfjs(model, run, opts);
  return buildEstimate(traceRun(model, run), run, opts);
}

/** One estimate per card: the model is traced and simulated once; only the card's terms differ. */
export function estimateOn(model: ModelDescriptor, run: RunConfig, presets: readonly Preset[]): Estimate[] {
  if (run.runtime === 'tfjs') return presets.map((preset) => estimateTfjs(model, run, { preset }));
  const traced = traceRun(model, run);
  return presets.map((preset) => buildEstimate(traced, run, { preset }));
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
  frag: number;
  allocatorBytes: number;
  reserved: number;
  /** CUDA context + workspaces of the card (0 without one). */
  context: number;
  deviceTotal: number;
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
export function stepTotals(t: Traced, run: RunConfig, preset?: Preset): StepTotals {
  const { sim, agg } = t;
  const { P, Pf, pBytes, inputs, buffers, autocast } = agg;
  const N = run.distributed.gpus;
  const strat = run.distributed.strategy;
  const pureLowp = run.precision === 'bf16' || run.precision === 'fp16';
  // An inference pass: the forward only (no gradients, optimizer step, EMA update or later micro-batches).
  const inference = run.mode === 'inference';
  // Pure bf16 keeps optimizer state in bf16; fp16 steps its fp32 master copy, so its state is fp32 too.
  const stateB = run.precision === 'bf16' ? pBytes : 4;
  const shardParams = strat === 'zero3' || strat === 'fsdp' ? N : 1;
  const shardGrads = strat === 'zero2' || strat === 'zero3' || strat === 'fsdp' ? N : 1;
  const shardState = strat === 'none' || strat === 'ddp' ? 1 : N;

  // Persistent terms (terms.ts: each declares its inputs; here only their bytes are computed).
  const optKey = `${run.optimizer.type}|${run.optimizer.impl}|${stateB}|${run.optimizer.weight_decay}|${run.device}|${run.pytorch}|${run.optimizer.paged ?? false}`;
  let opt = t.optCache.get(optKey);
  if (!opt) {
    opt = optimizerCost(run.optimizer.type, run.optimizer.impl, agg.trainable, stateB, run.optimizer.weight_decay, { device: run.device, pytorch: run.pytorch });
    if (run.optimizer.paged) opt = pagedOptimizer(opt);
    t.optCache.set(optKey, opt);
  }
  const inputsT: TermInputs = {
    P, Pf, qBytes: agg.qBytes, pBytes, stateB, emaB: DTYPE_BYTES[run.ema.dtype], precision: run.precision, N, shardParams, shardGrads, shardState,
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
  const firstAct = sim.first.bytes + (shardGrads > 1 ? Math.ceil(sim.first.paramGrads / shardGrads) : sim.first.paramGrads);
  const firstStep1 = persistentNoState + autocast + gather + firstAct;
  const firstSteady = firstStep1 + state;
  const laterStep1 = run.grad_accum > 1 && !inference ? persistentNoState + grads + autocast + gather + sim.later.bytes : 0;
  const laterSteady = laterStep1 ? laterStep1 + state : 0;
  const optPhase = inference ? 0 : persistentNoState + grads + state + optTemp;
  const allocated = checkSize(Math.max(firstSteady, laterSteady, optPhase), 'the training step', t);

  // Allocator: reserved = allocated + fragmentation and caching allowance.
  const frag = run.allocator.fragmentation ?? (run.allocator.expandable_segments ? 0.02 : run.allocator.max_split_size_mb ? 0.06 : 0.1);
  const allocatorBytes = run.device === 'cpu' ? 0 : Math.ceil(allocated * frag);
  const reserved = allocated + allocatorBytes;
  const context = preset ? preset.context_bytes + (preset.workspace_bytes ?? 0) : 0;
  return {
    inputs: inputsT, N, shardParams, shardGrads, shardState, pureLowp, weights, master, grads, opt, state, optTemp, emaB, ema, ddpBuckets, gather,
    persistentNoState, firstStep1, firstSteady, laterStep1, laterSteady, optPhase, allocated, frag, allocatorBytes, reserved, context,
    deviceTotal: reserved + context,
  };
}

/** stepTotals plus the named phases and the one at the peak, for the breakdown. */
export function stepMemory(t: Traced, run: RunConfig, preset?: Preset): StepMemory {
  const s = stepTotals(t, run, preset);
  const { sim } = t;
  const phases: PhasePeak[] = [];
  const mb1 = (withState: boolean): PhasePeak => ({
    name: `micro-batch 1 ${sim.first.phase}`,
    phase: sim.first.phase,
    step: withState ? 'steady' : 'step 1',
    microbatch: 'first',
    allocated: withState ? s.firstSteady : s.firstStep1,
    at: sim.first.at,
  });
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
  const { N, shardGrads, pureLowp, weights, master, grads, state, optTemp, ema, ddpBuckets, gather, peak, allocated } = m;
  const f = (k: TermKey) => TERMS[k].formula(m.inputs);
  const { P, Pf, inputs, buffers, autocast, persistentTensors, castParams, cachedElems } = t.agg;
  const strat = run.distributed.strategy;

  // Components alive at the peak.
  const comps: Component[] = [];
  const add = (key: ComponentKey, name: string, bytes: number, formula: string, level: Component['level'] = 'allocated', parts?: Component['parts']) => {
    if (bytes > 0 || key === 'weights') comps.push({ key, name, bytes, formula, level, ...(parts ? { parts } : {}) });
  };
  add('weights', `weights (${pureLowp ? run.precision : 'fp32'})`, weights, f('weights'));
  add('master_weights', 'fp32 master weights', master, f('master_weights'));
  add('ema', `EMA weights (${run.ema.dtype})`, ema, f('ema'));
  add('input_batch', 'input batch', inputs, trace.inputs.map((t) => `[${t.shape.join(', ')}] x ${DTYPE_BYTES[t.dtype]} B`).join(' + '));
  add('buffers', 'persistent buffers', buffers, persistentTensors.map((o) => `${o.output.name} [${o.output.shape.join(', ')}] x ${DTYPE_BYTES[o.output.dtype]} B`).join(' + '));
  add('ddp_buckets', 'DDP gradient buckets', ddpBuckets, f('ddp_buckets'));
  const isOpt = peak.phase === 'optimizer step';
  const statePresent = peak.step === 'steady' || isOpt;
  if (statePresent) add('optimizer_state', `optimizer state (${run.optimizer.type})`, state, f('optimizer_state'));
  if (isOpt || peak.microbatch === 'later') add('gradients', 'gradients', grads, f('gradients'));
  if (isOpt) {
    add('optimizer_temps', `optimizer step temporaries (${run.optimizer.impl})`, optTemp, f('optimizer_temps'));
  } else {
    const act = peak.microbatch === 'later' ? sim.later : sim.first;
    if (peak.microbatch === 'first' && act.paramGrads > 0) {
      const pg = shardGrads > 1 ? Math.ceil(act.paramGrads / shardGrads) : act.paramGrads;
      add('gradients', 'gradients (built up so far in backward)', pg, `${size(pg)} of ${size(grads)} produced by the time of the peak at ${act.at}`);
    }
    // Weight copies ops saved are in saved activations; the cache itself lives only until forward ends.
    // Parameters known only by count (a `params` block) have no traced cast: their copy is counted whole.
    const cacheBytes = act.autocastCache + autocast;
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
  }
  const allocSum = sum(comps.map((c) => c.bytes));
  if (allocSum !== allocated) {
    // Every byte must be traceable: a mismatch is a bug in the terms above.
    throw new MemplanError('E_INTERNAL', `components sum to ${allocSum} B but the peak is ${allocated} B`);
  }

  const { frag, allocatorBytes, reserved } = m;
  if (allocatorBytes > 0) {
    add(
      'allocator',
      'allocator cache and fragmentation',
      allocatorBytes,
      `${(frag * 100).toFixed(0)}% of the allocated peak (${run.allocator.expandable_segments ? 'expandable_segments' : run.allocator.max_split_size_mb ? `max_split_size_mb:${run.allocator.max_split_size_mb}` : 'default allocator'}); an allowance, see docs/memory-model.md`,
      'reserved',
    );
  }
  const deviceTotal = m.deviceTotal;
  if (preset) {
    const ctx = m.context;
    add(
      'cuda_context',
      preset.kind === 'host' ? 'process baseline' : 'CUDA context + workspaces',
      ctx,
      preset.kind === 'host'
        ? `OS + Python/framework process baseline (assumed; preset ${preset.id})`
        : `context ${size(preset.context_bytes)} + cuBLAS workspace ${size(preset.workspace_bytes ?? 0)} (preset ${preset.id}; sources in presets/${preset.id}.yaml)`,
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
  if (run.claims?.length) est.claims = checkClaims(est, run.claims);
  if (preset) {
    est.gpu = { id: preset.id, name: preset.name, capacity: preset.capacity_bytes, context: preset.context_bytes, kind: preset.kind };
    est.headroom = preset.capacity_bytes - deviceTotal;
    est.fits = est.headroom >= 0;
  }
  return est;
}
