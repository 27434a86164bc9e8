/**
 * Evaluation: every combination of the axes, each distinct trace computed once and every cheap
 * combination evaluated from it with stepTotals() (arithmetic). Larger micro-batches of a family (the
 * same values of the other trace axes) are skipped once one is over the card for every cheap
 * combination: the first micro-batch and the optimizer step only grow with the micro-batch.
 */
import { budgetOnly } from './traces.js';
import { stepTotals, type Edge, type StepTotals, type Traced } from '../estimate.js';
import type { RunConfig } from '../model.js';
import { cheapAxes, implMatters, runFor, traceAxes, type Axis, type BatchValue, type Ctx } from './space.js';
import { stepTime, type Work } from './speed.js';
import type { AllowSpec, Target } from './types.js';

export interface Row {
  idx: number[];
  allocated: number;
  deviceTotal: number;
  headroom: number;
  /** Step-time proxy (speed.ts), absolute. */
  time: number;
  /** Result-changing knobs changed, their summed distance, and knobs changed in all. */
  changes: number;
  distance: number;
  changed: number;
}

export interface SearchOut {
  rows: Row[];
  axes: Axis[];
  evaluated: number;
  pruned: number;
  invalid: number;
  invalidReason?: string;
}

/**
 * The step-time proxy of a run from its trace's work and its step terms. Sharded state and
 * gradients count whole: ZeRO's smaller update is paid back in the all-gather after it.
 */
export function timeOf(work: Work, traced: Traced, run: RunConfig, mem: StepTotals): number {
  return stepTime(work, run, { weights: mem.weights * mem.shardParams, grads: mem.grads * mem.shardGrads, state: mem.state * mem.shardState, ema: mem.ema, paramTensors: traced.agg.trainable.length });
}

/** The cheap path's device total at an edge of the band. */
export function cheapEdge(mem: StepTotals, edge: Edge): number {
  return edge === 'high' ? mem.deviceHigh : edge === 'low' ? mem.deviceLow : mem.deviceTotal;
}

/** The context at an edge of its band. */
function ctxAt(mem: StepTotals, edge: Edge): number {
  const c = mem.contextModel;
  if (!c) return mem.context;
  return edge === 'high' ? c.high : edge === 'low' ? c.low : c.bytes;
}

/** Sets idx[offset..] to the c-th combination of `axes` (mixed radix, last axis fastest). */
function decode(c: number, axes: Axis[], idx: number[], offset: number): void {
  let rem = c;
  for (let i = axes.length - 1; i >= 0; i--) {
    const len = axes[i]!.values.length;
    idx[offset + i] = rem % len;
    rem = Math.floor(rem / len);
  }
}

function scoreRow(axes: Axis[], idx: number[], distOf: number[][]): Pick<Row, 'changes' | 'distance' | 'changed'> {
  let changes = 0;
  let distance = 0;
  let changed = 0;
  for (let i = 1; i < axes.length; i++) {
    const j = idx[i]!;
    if (j === 0) continue;
    changed++;
    if (axes[i]!.changesResults) {
      changes++;
      distance += distOf[i]![j]!;
    }
  }
  // A different micro-batch split is a change too (the config's own split ranks first among equals).
  if (idx[0]! > 0) changed++;
  return { changes, distance, changed };
}

/** Exhaustive over the product, with the trace cached and larger micro-batches pruned once a family cannot fit. */
export function search(ctx: Ctx, target: Target, allow: AllowSpec[], perGpu: number): SearchOut {
  const trace = traceAxes(ctx, target, allow, perGpu);
  const cheap = cheapAxes(ctx.base, target, allow);
  const axes = [...trace, ...cheap];
  const nt = trace.length;
  const cap = target.preset.capacity_bytes;
  const out: SearchOut = { rows: [], axes, evaluated: 0, pruned: 0, invalid: 0 };
  const cheapCount = cheap.reduce((a, x) => a * x.values.length, 1);
  const implAxis = axes.findIndex((a) => a.knob === 'optimizer impl');
  const batches = trace[0]!.values as BatchValue[];
  const batchOrder = batches.map((_, i) => i).sort((i, j) => batches[i]!.m - batches[j]!.m);
  const distOf = axes.map((a) => a.values.map((v) => a.distance?.(v) ?? 1));
  const idx = new Array<number>(axes.length).fill(0);
  const familyAxes = trace.slice(1);
  const famCount = familyAxes.reduce((a, x) => a * x.values.length, 1);
  for (let f = 0; f < famCount; f++) {
    decode(f, familyAxes, idx, 1);
    for (let bi = 0; bi < batchOrder.length; bi++) {
      idx[0] = batchOrder[bi]!;
      const run = runFor(ctx, axes.slice(0, nt), idx);
      let entry;
      try {
        entry = ctx.traces.entry(run);
      } catch (e) {
        budgetOnly(e);
        out.invalid += cheapCount;
        out.invalidReason ??= (e as Error).message;
        continue;
      }
      let anyBelow = false;
      for (let c = 0; c < cheapCount; c++) {
        decode(c, cheap, idx, nt);
        for (let i = 0; i < cheap.length; i++) cheap[i]!.apply(run, cheap[i]!.values[idx[nt + i]!]);
        if (idx[implAxis]! > 0 && !implMatters(run)) continue;
        // The cheap path: reserved is allocated x the config's own simulated reserved/allocated ratio (per allocator setting).
        const mem = stepTotals(entry.traced, run, target.preset, { reservedRatio: ctx.ratioFor(run) });
        out.evaluated++;
        // The first micro-batch and the optimizer step do not depend on accumulation, and the first grows
        // with the micro-batch: a lower bound for every larger micro-batch of this family.
        const bound = Math.max(mem.firstSteady, mem.optPhase);
        if (bound + (run.device === 'cpu' ? 0 : Math.ceil(bound * mem.frag)) + ctxAt(mem, ctx.edge) <= cap) anyBelow = true;
        const time = timeOf(entry.work, entry.traced, run, mem);
        out.rows.push({ idx: idx.slice(), allocated: mem.allocated, deviceTotal: mem.deviceTotal, headroom: cap - cheapEdge(mem, ctx.edge), time, ...scoreRow(axes, idx, distOf) });
      }
      if (!anyBelow) {
        out.pruned += (batchOrder.length - bi - 1) * cheapCount;
        break;
      }
    }
  }
  return out;
}
