/**
 * The caching allocator over a whole run of a traced model: builds the run's alloc/free sequence
 * (step.ts) and replays it through the allocator (caching.ts) with the run's allocator settings.
 * Without a card the allocator never runs out; with one, a run whose cache would outgrow the card
 * is replayed again within it, so the release-and-retry path decides whether it fits.
 */
import { DTYPE_BYTES } from '../graph.js';
import type { RunConfig } from '../model.js';
import type { SimEvent } from '../runtime/pytorch-sim.js';
import type { OpRec, Trace } from '../tracer.js';
import { divisionsTable, LARGE_BUFFER, type AllocatorOptions } from './caching.js';
import { buildRunEvents, planFromTrace, replay, type ReplayResult, type StepPlan } from './step.js';

const MiB = 1024 * 1024;

export interface AllocatorReport {
  /** torch.cuda.max_memory_reserved over the simulated run. */
  reserved_peak: number;
  /** torch.cuda.max_memory_allocated: block sizes after 512 B rounding (and unsplit remainders). */
  allocated_peak: number;
  /** The peak of the tensor bytes themselves, as the event stream has them. */
  requested_peak: number;
  /** At the allocated peak. */
  at_peak: { allocated: number; reserved: number; largest_free: number; cached_free: number; fragmentation: number; at: string };
  reserved_peak_at: string;
  segments: number;
  /** num_alloc_retries when replayed within the card (cache released and the allocation retried). */
  retries: number;
  /** Out of memory even after releasing the cache (within the card). */
  oom?: { tried: number; allocated: number; reserved: number; at: string };
  /** Reserved bytes at the end of each simulated step. */
  reserved_by_step: number[];
  /** The run needed the card's limit to stay within it: this is the replay within the card. */
  limited: boolean;
  settings: string;
}

export interface RunInputs {
  trace: Trace;
  events: readonly SimEvent[];
  persistentTensors: readonly OpRec[];
  run: RunConfig;
  shardParams: number;
  gradScale: number;
  shardState: number;
  stateB: number;
  emaB: number;
  pBytes: number;
  masterPerParam: boolean;
  ddpBuckets: number;
  autocast: number;
  gather: number;
  /** Drop the autocast cache hold (sharded parameters are not cached): move each cache-only copy's free to its last use. */
  dropCache: boolean;
}

export function allocatorOptionsOf(run: RunConfig, deviceTotal: number | undefined, limit: number): Partial<AllocatorOptions> {
  const a = run.allocator;
  return {
    expandableSegments: a.expandable_segments,
    maxSplitSize: a.max_split_size_mb !== undefined ? a.max_split_size_mb * MiB : Infinity,
    maxNonSplitRounding: a.max_non_split_rounding_mb !== undefined ? a.max_non_split_rounding_mb * MiB : LARGE_BUFFER,
    roundupPower2Divisions: divisionsTable(a.roundup_power2_divisions),
    garbageCollectionThreshold: a.garbage_collection_threshold ?? 0,
    ...(a.memory_fraction !== undefined ? { memoryFraction: a.memory_fraction } : {}),
    ...(deviceTotal !== undefined ? { deviceTotal } : {}),
    limit,
  };
}

export function settingsText(run: RunConfig): string {
  const a = run.allocator;
  const parts: string[] = [];
  if (a.expandable_segments) parts.push('expandable_segments:True');
  if (a.max_split_size_mb !== undefined) parts.push(`max_split_size_mb:${a.max_split_size_mb}`);
  if (a.roundup_power2_divisions !== undefined) parts.push(`roundup_power2_divisions:${typeof a.roundup_power2_divisions === 'number' ? a.roundup_power2_divisions : JSON.stringify(a.roundup_power2_divisions)}`);
  if (a.garbage_collection_threshold !== undefined) parts.push(`garbage_collection_threshold:${a.garbage_collection_threshold}`);
  if (a.memory_fraction !== undefined) parts.push(`memory fraction ${a.memory_fraction}`);
  return parts.length ? parts.join(',') : 'default allocator';
}

/** Autocast cache-only copies freed right after their last use instead of when forward ends. */
export function dropCacheHold(trace: Trace, events: readonly SimEvent[]): SimEvent[] {
  const cast = new Set<number>();
  for (const o of trace.ops) if (o.kind === 'cast' && o.attrs.weightCache) cast.add(o.output.id);
  if (!cast.size) return [...events];
  const lastUse = new Map<number, number>();
  for (const o of trace.ops) for (const t of o.inputs) if (cast.has(t.id)) lastUse.set(t.id, o.index);
  // A copy freed in forward's last moment (op index = the last forward op) was held by the cache only.
  let lastFwd = -1;
  for (const e of events) if (e.phase === 'forward') lastFwd = Math.max(lastFwd, e.op);
  const moved = new Map<number, SimEvent>();
  const out: SimEvent[] = [];
  for (const e of events) {
    if (e.kind === 'free' && e.what === 'act' && cast.has(e.id) && e.phase === 'forward' && e.op === lastFwd && (lastUse.get(e.id) ?? lastFwd) < lastFwd) {
      moved.set(e.id, e);
      continue;
    }
    out.push(e);
  }
  if (!moved.size) return out;
  // Re-insert each moved free after the last forward event of its last-use op.
  const byOp = new Map<number, SimEvent[]>();
  for (const [id, e] of moved) {
    const op = lastUse.get(id)!;
    byOp.set(op, [...(byOp.get(op) ?? []), { ...e, op }]);
  }
  const res: SimEvent[] = [];
  for (let i = 0; i < out.length; i++) {
    const e = out[i]!;
    res.push(e);
    const next = out[i + 1];
    if (e.phase === 'forward' && byOp.has(e.op) && (!next || next.op !== e.op || next.phase !== 'forward')) {
      res.push(...byOp.get(e.op)!);
      byOp.delete(e.op);
    }
  }
  return res;
}

/** The step plan of a traced run (what step.ts lays out). */
export function planOf(x: RunInputs): StepPlan {
  const events = x.dropCache ? dropCacheHold(x.trace, x.events) : x.events;
  const buffers = x.persistentTensors.map((o) => o.output.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[o.output.dtype]);
  return planFromTrace(
    x.trace,
    x.run,
    { shardParams: x.shardParams, gradScale: x.gradScale, shardState: x.shardState, stateB: x.stateB, emaB: x.emaB, pBytes: x.pBytes, masterPerParam: x.masterPerParam, ddpBuckets: x.ddpBuckets, autocast: x.autocast, gather: x.gather, buffers },
    events,
    { device: x.run.device, pytorch: x.run.pytorch },
  );
}

/** Simulates the caching allocator over the run; `card` gives the capacity and the context outside it. */
export function allocatorRun(x: RunInputs, card?: { capacity: number; context: number }): AllocatorReport {
  const ev = buildRunEvents(planOf(x));
  let r: ReplayResult = replay(ev, allocatorOptionsOf(x.run, card?.capacity, Infinity));
  let limited = false;
  let retries = 0;
  if (card && r.reservedPeak + card.context > card.capacity) {
    const within = replay(ev, allocatorOptionsOf(x.run, card.capacity, Math.max(0, card.capacity - card.context)));
    limited = true;
    retries = within.numAllocRetries;
    // Out of memory within the card: report the unlimited run's numbers (what the run would need) with the OOM.
    r = within.oom ? { ...r, oom: within.oom } : within;
  }
  return {
    reserved_peak: r.reservedPeak,
    allocated_peak: r.allocatedPeak,
    requested_peak: r.requestedPeak,
    at_peak: {
      allocated: r.atPeak.allocated,
      reserved: r.atPeak.reserved,
      largest_free: r.atPeak.largestFree,
      cached_free: r.atPeak.cachedFree,
      fragmentation: r.atPeak.fragmentation,
      at: r.atPeak.at,
    },
    reserved_peak_at: r.reservedPeakAt,
    segments: r.segments,
    retries,
    ...(r.oom ? { oom: { tried: r.oom.tried, allocated: r.oom.allocated, reserved: r.oom.reserved, at: r.oom.at } } : {}),
    reserved_by_step: r.reservedByStep,
    limited,
    settings: settingsText(x.run),
  };
}
