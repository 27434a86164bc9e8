/**
 * The whole training run's allocations and frees, in order, for the caching-allocator model: the
 * weights (one tensor per parameter), master copy, EMA, buffers and DDP buckets at setup; then steps
 * 1..3, each of its micro-batches (the input batch, micro-batch 1's alloc/free stream from the
 * liveness simulation, replayed; later micro-batches and `zero_grad(set_to_none=False)` steps turn
 * each parameter-gradient allocation into a temporary added into the resident `.grad`), the
 * optimizer step (state created lazily at step 1, the implementation's temporaries) and zero_grad.
 * `replay()` runs it through the allocator and reports reserved memory, the largest free block and
 * fragmentation at the peak.
 */
import { setToNone, type RunConfig } from '../model.js';
import type { SimEvent } from '../runtime/pytorch-sim.js';
import { bytesOf, storageOf, type Trace } from '../tracer.js';
import { stateTensors, stepSchedule, type OptimizerEnv } from '../optimizers.js';
import { CachingAllocator, type AllocatorOptions, type Block, type OomInfo } from './caching.js';

/** What the run holds and when, as the step builder needs it (every byte count already sharded). */
export interface StepPlan {
  params: { bytes: number; trainable: boolean; elems: readonly number[] }[];
  /** fp32 master copy per trainable parameter (fp16 / DeepSpeed mixed precision). */
  masterBytes: number[];
  emaBytes: number[];
  bufferBytes: number[];
  ddpBucketBytes: number[];
  inputBytes: number[];
  /** Bytes alive through each micro-batch's forward and backward (params-block autocast copy, FSDP gather buffers). */
  microBatchConstant: number[];
  events: readonly SimEvent[];
  /** Stored gradient bytes per simulated parameter-gradient byte: 1 / gradient sharding (x 2 under FSDP MixedPrecision: fp32 shards of 2-byte gradients). */
  gradScale: number;
  gradAccum: number;
  setToNone: boolean;
  /**
   * Parameters no op reads (a `params` block, known only by count): the simulation gives their
   * gradients first in backward; with `.grad` resident they are added without a traced temporary.
   */
  unreadGrads: number;
  optimizer: { state: number[][]; schedule: ReturnType<typeof stepSchedule> };
  steps: number;
}

/** One allocation (+bytes) or free (-id) of the run, with where it happened for the report. */
export interface RunEvents {
  /** ids (>= 0) and byte counts, parallel arrays; bytes < 0 marks a free of that id. */
  ids: number[];
  bytes: number[];
  /** Index into `labels` per event. */
  where: number[];
  labels: string[];
}

const MAX_MICRO_BATCHES = 3;

export function planFromTrace(
  trace: Trace,
  run: RunConfig,
  t: { shardParams: number; gradScale: number; shardState: number; stateB: number; emaB: number; pBytes: number; masterPerParam: boolean; ddpBuckets: number; autocast: number; gather: number; buffers: number[] },
  events: readonly SimEvent[],
  env: OptimizerEnv,
): StepPlan {
  const ceilDiv = (b: number, k: number) => Math.ceil(b / k);
  const trainable = trace.params.filter((p) => p.requiresGrad);
  const params = trace.params.map((p) => ({ bytes: ceilDiv(numelOf(p.shape) * t.pBytes, t.shardParams), trainable: p.requiresGrad, elems: p.shape }));
  const masterBytes = t.masterPerParam ? trainable.map((p) => ceilDiv(numelOf(p.shape) * 4, t.shardState)) : [];
  const emaBytes = run.ema.enabled && run.ema.device === 'gpu' ? trainable.map((p) => ceilDiv(numelOf(p.shape) * t.emaB, t.shardParams)) : [];
  const ddp: number[] = [];
  if (t.ddpBuckets > 0) {
    const cap = Math.max(1, Math.floor(run.distributed.bucket_cap_mb * 1024 * 1024));
    for (let left = t.ddpBuckets; left > 0; left -= cap) ddp.push(Math.min(cap, left));
  }
  const state = stateTensors(run.optimizer.type, trainable, t.stateB, env).map((ts) => ts.map((b) => ceilDiv(b, t.shardState)));
  const schedule = stepSchedule(run.optimizer.type, run.optimizer.impl, trainable, t.stateB, run.optimizer.weight_decay, env).map((o) => ({ ...o, bytes: ceilDiv(o.bytes, t.shardState) }));
  return {
    params,
    masterBytes,
    emaBytes,
    bufferBytes: t.buffers,
    ddpBucketBytes: ddp,
    inputBytes: trace.inputs.map((i) => bytesOf(storageOf(i))),
    microBatchConstant: [t.autocast, t.gather].filter((b) => b > 0),
    events,
    gradScale: t.gradScale,
    gradAccum: run.grad_accum,
    setToNone: setToNone(run),
    unreadGrads: unreadTrainable(trace),
    optimizer: { state, schedule },
    steps: 3,
  };
}

function unreadTrainable(trace: Trace): number {
  const read = new Set<number>();
  for (const o of trace.ops) for (const t of o.inputs) read.add(storageOf(t).id);
  return trace.params.filter((p) => p.requiresGrad && !read.has(p.id)).length;
}

function numelOf(s: readonly number[]): number {
  return s.reduce((a, b) => a * b, 1);
}

/** Lays the run out as one event list (allocation ids are unique over the whole run). */
export function buildRunEvents(p: StepPlan): RunEvents {
  const b = new RunBuilder();
  b.setup(p);
  for (let step = 1; step <= p.steps; step++) b.step(p, step);
  return b.out;
}

/**
 * Builds a run's events step by step, so a sweep can run different shapes (each its own plan, same
 * parameters) one after another through one allocator: the cache carries over, as in a real epoch.
 */
export class RunBuilder {
  readonly out: RunEvents = { ids: [], bytes: [], where: [], labels: [] };
  private next = 0;
  private label = 0;
  /** Resident parameter gradients, by the simulation's event id. */
  private readonly grads = new Map<number, { id: number; bytes: number }>();
  private stateIds: { id: number; bytes: number }[] | undefined;
  private inputs: { id: number; bytes: number }[] = [];

  setLabel(s: string): void {
    this.out.labels.push(s);
    this.label = this.out.labels.length - 1;
  }

  alloc(bytes: number): number {
    const id = this.next++;
    if (bytes > 0) {
      this.out.ids.push(id);
      this.out.bytes.push(bytes);
      this.out.where.push(this.label);
    }
    return id;
  }

  free(id: number, bytes: number): void {
    if (bytes <= 0) return;
    this.out.ids.push(id);
    this.out.bytes.push(-bytes);
    this.out.where.push(this.label);
  }

  setup(p: StepPlan): void {
    this.setLabel('setup: weights, master copy, EMA, buffers, DDP buckets');
    for (const w of p.params) this.alloc(w.bytes);
    for (const b of p.masterBytes) this.alloc(b);
    for (const b of p.emaBytes) this.alloc(b);
    for (const b of p.bufferBytes) this.alloc(b);
    for (const b of p.ddpBucketBytes) this.alloc(b);
  }

  /** One optimizer step of `p`: its micro-batches, the optimizer (state created the first time), zero_grad. */
  step(p: StepPlan, step: number, tag = ''): void {
    const mbs = Math.min(p.gradAccum, MAX_MICRO_BATCHES);
    const alloc = (b: number) => this.alloc(b);
    const free = (id: number, b: number) => this.free(id, b);
    for (let m = 1; m <= mbs; m++) {
      const mbName = m === 1 ? 'micro-batch 1' : p.gradAccum === 2 ? 'micro-batch 2' : `micro-batch 2..${p.gradAccum}`;
      this.setLabel(`step ${step}${tag}, ${mbName}: input batch`);
      for (const i of this.inputs) this.free(i.id, i.bytes);
      this.inputs = p.inputBytes.map((b) => ({ id: this.alloc(b), bytes: b }));
      const constant = p.microBatchConstant.map((b) => ({ id: this.alloc(b), bytes: b }));
      replayMicroBatch(p, this.grads, alloc, free, (phase) => this.setLabel(`step ${step}${tag}, ${mbName} ${phase}`));
      for (const c of constant) this.free(c.id, c.bytes);
    }
    this.setLabel(`step ${step}${tag}, optimizer step`);
    if (!this.stateIds) this.stateIds = p.optimizer.state.flat().map((b) => ({ id: this.alloc(b), bytes: b }));
    const keys = new Map<number, number>();
    for (const o of p.optimizer.schedule) {
      if (o.kind === 'alloc') keys.set(o.key, this.alloc(o.bytes));
      else this.free(keys.get(o.key)!, o.bytes);
    }
    this.setLabel(`step ${step}${tag}, zero_grad`);
    if (p.setToNone) {
      for (const g of this.grads.values()) this.free(g.id, g.bytes);
      this.grads.clear();
    }
  }
}

/**
 * Micro-batch 1's stream with fresh ids. A parameter-gradient allocation creates `.grad` when it does
 * not exist yet; when it does (a later micro-batch, or gradients zeroed rather than freed) it is a
 * temporary added into `.grad`, alive with the op's other gradients until the op releases its saves.
 */
function replayMicroBatch(
  p: StepPlan,
  grads: Map<number, { id: number; bytes: number }>,
  alloc: (b: number) => number,
  free: (id: number, b: number) => void,
  phaseLabel: (phase: string) => void,
): void {
  const ids = new Map<number, number>();
  let pending: { id: number; bytes: number }[] = [];
  let pendingOp = -1;
  let phase = '';
  let gradEvents = 0;
  const flush = () => {
    for (const t of pending) free(t.id, t.bytes);
    pending = [];
  };
  for (const e of p.events) {
    if (e.phase !== phase) {
      phase = e.phase;
      phaseLabel(phase);
    }
    if (pending.length && (e.op !== pendingOp || (e.kind === 'free' && e.what !== 'temp'))) flush();
    if (e.what === 'param_grad') {
      const bytes = p.gradScale === 1 ? e.bytes : Math.ceil(e.bytes * p.gradScale);
      if (e.kind !== 'alloc') continue;
      const unread = gradEvents++ < p.unreadGrads;
      if (!grads.has(e.id)) {
        grads.set(e.id, { id: alloc(bytes), bytes });
      } else if (!unread) {
        pending.push({ id: alloc(bytes), bytes });
        pendingOp = e.op;
      }
      continue;
    }
    if (e.kind === 'alloc') ids.set(e.id, alloc(e.bytes));
    else {
      const id = ids.get(e.id);
      if (id !== undefined) {
        free(id, e.bytes);
        ids.delete(e.id);
      }
    }
  }
  flush();
}

export interface ReplayResult {
  /** Peak of the tensor bytes requested (the analytic "allocated"). */
  requestedPeak: number;
  /** torch.cuda.max_memory_allocated: block sizes (512 B rounding, unsplit remainders). */
  allocatedPeak: number;
  /** torch.cuda.max_memory_reserved. */
  reservedPeak: number;
  /** Where reserved memory reached its peak. */
  reservedPeakAt: string;
  /** At the allocated peak: reserved bytes, the largest cached free block, and the free bytes cached. */
  atPeak: { allocated: number; reserved: number; largestFree: number; cachedFree: number; fragmentation: number; at: string };
  /** Segments held (cudaMalloc'd) at the allocated peak. */
  segments: number;
  numAllocRetries: number;
  oom?: OomInfo & { at: string };
  /** Reserved after each step (reserved grows while allocated repeats: the cache keeps the largest shapes). */
  reservedByStep: number[];
  /** The tensor-byte peak within each step. */
  requestedByStep: number[];
}

/** Replays the run through the caching allocator. */
export function replay(ev: RunEvents, opts: Partial<AllocatorOptions>): ReplayResult {
  const a = new CachingAllocator(opts);
  const blocks: (Block | undefined)[] = [];
  let atPeak = { allocated: 0, reserved: 0, largestFree: 0, cachedFree: 0, fragmentation: 0, at: '' };
  let segmentsAtPeak = 0;
  let reservedPeakAt = '';
  let lastReservedPeak = 0;
  let oom: ReplayResult['oom'];
  const reservedByStep: number[] = [];
  const requestedByStep: number[] = [];
  let stepPeak = 0;
  let lastStepLabel = '';
  const stepOf = ev.labels.map((l) => /^step \d+/.exec(l)?.[0] ?? '');
  for (let i = 0; i < ev.ids.length; i++) {
    const id = ev.ids[i]!;
    const b = ev.bytes[i]!;
    const w = ev.where[i]!;
    const stepLabel = stepOf[w]!;
    if (stepLabel !== lastStepLabel) {
      if (lastStepLabel) {
        reservedByStep.push(a.stats.reserved);
        requestedByStep.push(stepPeak);
      }
      lastStepLabel = stepLabel;
      stepPeak = a.stats.requested;
    }
    const where = ev.labels[w]!;
    if (b > 0) {
      const blk = a.malloc(b);
      if (!blk) {
        oom ??= { ...a.oom!, at: where };
        break;
      }
      blocks[id] = blk;
      if (a.stats.requested > stepPeak) stepPeak = a.stats.requested;
      if (a.stats.reservedPeak > lastReservedPeak) {
        lastReservedPeak = a.stats.reservedPeak;
        reservedPeakAt = where;
      }
      if (a.stats.requested >= atPeak.allocated && a.stats.requested === a.stats.requestedPeak) {
        const cachedFree = a.stats.reserved - a.stats.allocated;
        const largestFree = a.largestFree();
        atPeak = {
          allocated: a.stats.requested,
          reserved: a.stats.reserved,
          largestFree,
          cachedFree,
          fragmentation: cachedFree > 0 ? 1 - largestFree / cachedFree : 0,
          at: where,
        };
        segmentsAtPeak = a.stats.segments;
      }
    } else {
      const blk = blocks[id];
      if (blk) {
        a.free(blk);
        blocks[id] = undefined;
      }
    }
  }
  if (lastStepLabel) {
    reservedByStep.push(a.stats.reserved);
    requestedByStep.push(stepPeak);
  }
  return {
    requestedPeak: a.stats.requestedPeak,
    allocatedPeak: a.stats.allocatedPeak,
    reservedPeak: a.stats.reservedPeak,
    reservedPeakAt,
    atPeak,
    segments: segmentsAtPeak,
    numAllocRetries: a.stats.numAllocRetries,
    ...(oom ? { oom } : {}),
    reservedByStep,
    requestedByStep,
  };
}
