/**
 * The analytic estimator: (model, run config, card) -> every component of one training step's
 * memory, each with bytes and its formula with the numbers filled in. Terms are small pure functions
 * over declared inputs; the peak is the largest of the step's phases (a micro-batch's forward and
 * backward, later micro-batches under accumulation, the optimizer step, the EMA update), for step 1
 * (optimizer state not yet created) and the steady state.
 */
import { DTYPE_BYTES, numel } from './graph.js';
import { assemble, type BlockInfo, type ModelDescriptor, type RunConfig } from './model.js';
import { optimizerCost } from './optimizers.js';
import { deviceRules, type DeviceRules } from './runtime/pytorch-ops.js';
import { simulatePytorch, type ActivationPeak, type SavedItem } from './runtime/pytorch-sim.js';
import { bytesOf, type Trace } from './tracer.js';
import { gib, n } from './units.js';
import { MemplanError } from './errors.js';

export interface Preset {
  id: string;
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
  gpu?: { id: string; name: string; capacity: number; context: number };
  fits?: boolean;
  headroom?: number;
  notes: string[];
}

export interface EstimateOptions {
  preset?: Preset;
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/** Largest safe byte count; anything past it is a descriptor error, not a number we can trust. */
function checkSize(bytes: number, what: string): number {
  if (!Number.isFinite(bytes) || bytes > Number.MAX_SAFE_INTEGER) {
    throw new MemplanError('E_TOO_LARGE', `${what} comes to more than 2^53 bytes`, {
      expected: 'dimensions that give tensors below 2^53 bytes (9 PB)',
      hint: 'check the dimensions for a missing division or a value in the wrong unit',
    });
  }
  return bytes;
}

export function estimate(model: ModelDescriptor, run: RunConfig, opts: EstimateOptions = {}): Estimate {
  if (run.runtime === 'tfjs') throw new MemplanError('E_CONFIG', 'use estimateTfjs for the tfjs runtime', { path: 'runtime' });
  const { trace, dims, blocks, notes } = assemble(model, run);
  const dev: DeviceRules = deviceRules(run.device, run.pytorch);
  const sim = simulatePytorch(trace, dev, model.blocks.length);
  return buildEstimate(model, run, trace, dims, blocks, notes, sim, opts);
}

function buildEstimate(
  model: ModelDescriptor,
  run: RunConfig,
  trace: Trace,
  dims: Map<string, number>,
  blocks: BlockInfo[],
  notesIn: string[],
  sim: ReturnType<typeof simulatePytorch>,
  opts: EstimateOptions,
): Estimate {
  const notes = [...notesIn];
  const preset = opts.preset;
  const N = run.distributed.gpus;
  const strat = run.distributed.strategy;
  const trainable = trace.params.filter((p) => p.requiresGrad);
  const frozen = trace.params.filter((p) => !p.requiresGrad);
  const P = sum(trainable.map((p) => numel(p.shape)));
  const Pf = sum(frozen.map((p) => numel(p.shape)));
  const pBytes = DTYPE_BYTES[trainable[0]?.dtype ?? frozen[0]?.dtype ?? 'f32'];
  const pureLowp = run.precision === 'bf16' || run.precision === 'fp16';
  const stateB = pureLowp ? pBytes : 4;
  const shardParams = strat === 'zero3' || strat === 'fsdp' ? N : 1;
  const shardGrads = strat === 'zero2' || strat === 'zero3' || strat === 'fsdp' ? N : 1;
  const shardState = strat === 'none' || strat === 'ddp' ? 1 : N;
  const sh = (k: number) => (k > 1 ? ` / ${k} GPUs` : '');

  // Persistent terms.
  const weights = checkSize(Math.ceil(((P + Pf) * pBytes) / shardParams), 'the weights');
  const weightsF = `${n(P + Pf)} params x ${pBytes} B${sh(shardParams)}${Pf ? ` (${n(Pf)} frozen)` : ''}`;
  const master = run.precision === 'fp16' ? Math.ceil((P * 4) / shardState) : 0;
  const grads = Math.ceil((P * pBytes) / shardGrads);
  const opt = optimizerCost(run.optimizer.type, run.optimizer.impl, trainable, stateB, run.optimizer.weight_decay, { device: run.device, pytorch: run.pytorch });
  const state = Math.ceil(opt.stateBytes / shardState);
  const optTemp = Math.ceil(opt.stepTempBytes / shardState);
  const emaB = DTYPE_BYTES[run.ema.dtype];
  const ema = run.ema.enabled && run.ema.device === 'gpu' ? Math.ceil((P * emaB) / shardParams) : 0;
  const inputs = sum(trace.inputs.map(bytesOf));
  const persistentTensors = trace.ops.filter((o) => o.kind === 'tensor' && o.attrs.lifetime === 'persistent');
  const buffers = sum(persistentTensors.map((o) => bytesOf(o.output)));
  const castParams = trace.ops.filter((o) => o.kind === 'cast' && o.attrs.weightCache);
  const ddpBuckets = strat === 'ddp' && N > 1 && !run.distributed.bucket_view ? grads : 0;
  let gather = 0;
  if (shardParams > 1) {
    // One unit (block) gathered in full, plus `prefetch` more in flight.
    const largestUnit = Math.max(...blocks.map((b) => (b.params / b.repeat) * pBytes));
    gather = Math.ceil(largestUnit * (1 + run.distributed.prefetch));
  }
  const persistentNoState = weights + master + ema + inputs + buffers + ddpBuckets;

  // Phases.
  const phases: PhasePeak[] = [];
  const actPeak = (p: ActivationPeak) => p.bytes + (shardGrads > 1 ? Math.ceil(p.paramGrads / shardGrads) : p.paramGrads);
  const mb1 = (withState: boolean): PhasePeak => ({
    name: `micro-batch 1 ${sim.first.phase}`,
    phase: sim.first.phase,
    step: withState ? 'steady' : 'step 1',
    microbatch: 'first',
    allocated: persistentNoState + (withState ? state : 0) + gather + actPeak(sim.first),
    at: sim.first.at,
  });
  phases.push(mb1(false), mb1(true));
  if (run.grad_accum > 1) {
    for (const withState of [false, true]) {
      phases.push({
        name: `micro-batch 2..${run.grad_accum} ${sim.later.phase}`,
        phase: sim.later.phase,
        step: withState ? 'steady' : 'step 1',
        microbatch: 'later',
        allocated: persistentNoState + (withState ? state : 0) + grads + gather + sim.later.bytes,
        at: sim.later.at,
      });
    }
  }
  const optPhase = persistentNoState + grads + state + optTemp;
  phases.push({ name: 'optimizer step', phase: 'optimizer step', step: 'step 1', microbatch: '-', allocated: optPhase });
  phases.push({ name: 'optimizer step', phase: 'optimizer step', step: 'steady', microbatch: '-', allocated: optPhase });
  const step1 = Math.max(...phases.filter((p) => p.step === 'step 1').map((p) => p.allocated));
  const steady = Math.max(...phases.filter((p) => p.step === 'steady').map((p) => p.allocated));
  const peak = phases.reduce((best, p) => (p.allocated > best.allocated || (p.allocated === best.allocated && p.step === 'steady' && best.step !== 'steady') ? p : best));
  const allocated = checkSize(peak.allocated, 'the training step');

  // Components alive at the peak.
  const comps: Component[] = [];
  const add = (key: ComponentKey, name: string, bytes: number, formula: string, level: Component['level'] = 'allocated', parts?: Component['parts']) => {
    if (bytes > 0 || key === 'weights') comps.push({ key, name, bytes, formula, level, ...(parts ? { parts } : {}) });
  };
  add('weights', `weights (${pureLowp ? run.precision : 'fp32'})`, weights, weightsF);
  add('master_weights', 'fp32 master weights', master, `${n(P)} trainable params x 4 B${sh(shardState)}`);
  add('ema', `EMA weights (${run.ema.dtype})`, ema, `${n(P)} trainable params x ${emaB} B${sh(shardParams)}`);
  add('input_batch', 'input batch', inputs, trace.inputs.map((t) => `[${t.shape.join(', ')}] x ${DTYPE_BYTES[t.dtype]} B`).join(' + '));
  add('buffers', 'persistent buffers', buffers, persistentTensors.map((o) => `${o.output.name} [${o.output.shape.join(', ')}] x ${DTYPE_BYTES[o.output.dtype]} B`).join(' + '));
  add('ddp_buckets', 'DDP gradient buckets', ddpBuckets, `a second copy of the gradients (bucket_view: false): ${n(P)} x ${pBytes} B`);
  const isOpt = peak.phase === 'optimizer step';
  const statePresent = peak.step === 'steady' || isOpt;
  if (statePresent) add('optimizer_state', `optimizer state (${run.optimizer.type})`, state, opt.stateFormula + sh(shardState));
  if (isOpt || peak.microbatch === 'later') {
    add('gradients', 'gradients', grads, `${n(P)} trainable params x ${pBytes} B${sh(shardGrads)}`);
  }
  if (isOpt) {
    add('optimizer_temps', `optimizer step temporaries (${run.optimizer.impl})`, optTemp, opt.stepTempFormula);
  } else {
    const act = peak.microbatch === 'later' ? sim.later : sim.first;
    if (peak.microbatch === 'first' && act.paramGrads > 0) {
      const pg = shardGrads > 1 ? Math.ceil(act.paramGrads / shardGrads) : act.paramGrads;
      add('gradients', 'gradients (built up so far in backward)', pg, `${gib(pg)} of ${gib(grads)} produced by the time of the peak at ${act.at}`);
    }
    // Weight copies ops saved are in saved activations; the cache itself lives only until forward ends.
    add('autocast_cache', 'autocast weight copies (cache only)', act.autocastCache, `cast cache of ${n(sum(castParams.map((o) => numel(o.output.shape))))} matmul params x ${DTYPE_BYTES[castParams[0]?.output.dtype ?? 'bf16']} B until autocast exits; ${gib(act.autocastCache)} of it not saved by any op at ${act.at}`);
    add('gather_buffers', 'FSDP/ZeRO-3 all-gather buffers', gather, `largest unit's params x ${pBytes} B x (1 + prefetch ${run.distributed.prefetch})`);
    const parts = blocks
      .map((b, i) => ({ name: b.repeat > 1 ? `${b.name} (x${b.repeat})` : b.name, bytes: act.savedByBlock[i] ?? 0, formula: '' }))
      .filter((p) => p.bytes > 0);
    for (const p of parts) {
      const items = sim.savedItems.filter((it) => blocks[it.block]?.name === p.name.replace(/ \(x\d+\)$/, ''));
      p.formula = items
        .slice(0, 3)
        .map((it) => `${it.what} [${it.shape.join(', ')}] x ${DTYPE_BYTES[it.dtype as keyof typeof DTYPE_BYTES]} B`)
        .join(' + ') + (items.length > 3 ? ` + ${items.length - 3} more` : '');
    }
    add('saved_activations', 'saved activations', act.saved - act.lossBuffers, `saved for backward, alive at ${act.phase} (${act.at})`, 'allocated', parts);
    add('loss_buffers', 'loss buffers', act.lossBuffers, 'explicit loss tensors kept for backward');
    add('activation_grads', 'activation gradients', act.grads, `gradients of activations in flight at ${act.at}`);
    add('transients', 'transients', act.transient + (peak.microbatch === 'later' ? 0 : 0), `intermediates alive at ${act.at} not kept for backward`);
  }
  const allocSum = sum(comps.map((c) => c.bytes));
  if (allocSum !== allocated) {
    // Every byte must be traceable: a mismatch is a bug in the terms above.
    throw new MemplanError('E_INTERNAL', `components sum to ${allocSum} B but the peak is ${allocated} B`);
  }

  // Allocator: reserved = allocated + fragmentation and caching allowance.
  const frag = run.allocator.fragmentation ?? (run.allocator.expandable_segments ? 0.02 : run.allocator.max_split_size_mb ? 0.06 : 0.1);
  const allocatorBytes = run.device === 'cpu' ? 0 : Math.ceil(allocated * frag);
  const reserved = allocated + allocatorBytes;
  if (allocatorBytes > 0) {
    add(
      'allocator',
      'allocator cache and fragmentation',
      allocatorBytes,
      `${(frag * 100).toFixed(0)}% of the allocated peak (${run.allocator.expandable_segments ? 'expandable_segments' : run.allocator.max_split_size_mb ? `max_split_size_mb:${run.allocator.max_split_size_mb}` : 'default allocator'}); an allowance, see docs/memory-model.md`,
      'reserved',
    );
  }
  let deviceTotal = reserved;
  if (preset) {
    const ctx = preset.context_bytes + (preset.workspace_bytes ?? 0);
    deviceTotal += ctx;
    add(
      'cuda_context',
      preset.kind === 'host' ? 'process baseline' : 'CUDA context + workspaces',
      ctx,
      preset.kind === 'host'
        ? `OS + Python/framework process baseline (assumed; preset ${preset.id})`
        : `context ${gib(preset.context_bytes)} + cuBLAS workspace ${gib(preset.workspace_bytes ?? 0)} (preset ${preset.id}; sources in presets/${preset.id}.yaml)`,
      'device',
    );
  }
  if (run.precision.startsWith('bf16') && preset && preset.bf16 === false) {
    notes.push(`${preset.name} has no native bf16 support; bf16 runs emulated or fails. Use fp16-mixed there.`);
  }
  if (N > 1) notes.push(`per-GPU memory for ${N} GPUs with ${strat}: micro-batch ${run.batch_size} on each GPU, effective batch ${run.batch_size * run.grad_accum * N}.`);

  const est: Estimate = {
    model: model.name,
    runtime: 'pytorch',
    precision: run.precision,
    batch_size: run.batch_size,
    grad_accum: run.grad_accum,
    effective_batch: run.batch_size * run.grad_accum * N,
    gpus: N,
    dims: Object.fromEntries(dims),
    params: { total: P + Pf, trainable: P, frozen: Pf },
    blocks: blocks.map((b, i) => ({ ...b, saved_bytes: sim.savedByBlock[i] ?? 0 })),
    components: comps,
    peak,
    phases,
    step1_allocated: step1,
    steady_allocated: steady,
    allocated,
    reserved,
    device_total: deviceTotal,
    forward_saved: sim.savedTotal,
    saved_items: sim.savedItems.slice(0, 50),
    notes,
  };
  if (preset) {
    est.gpu = { id: preset.id, name: preset.name, capacity: preset.capacity_bytes, context: preset.context_bytes };
    est.headroom = preset.capacity_bytes - deviceTotal;
    est.fits = est.headroom >= 0;
  }
  return est;
}
