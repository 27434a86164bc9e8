/**
 * A shape sweep: batches of different sizes (graph sizes, sequence lengths) one after another through
 * one caching allocator, one optimizer step each, as an epoch runs them. Allocated memory follows each
 * batch; reserved memory keeps the segments carved for the largest and most awkward shapes so far, so it
 * grows while allocated does not: fragmentation, not a leak (seed 001).
 */
import { allocatorOptionsOf, settingsText } from './allocator/run.js';
import { planOf } from './allocator/run.js';
import { replay, RunBuilder } from './allocator/step.js';
import { MemplanError } from './errors.js';
import { allocatorInputs, estimate, stepTotals, traceRun, type Preset } from './estimate.js';
import type { ModelDescriptor, RunConfig } from './model.js';

export interface SweepRow {
  shape: Record<string, number>;
  /** The tensor-byte peak of this batch's step. */
  allocated: number;
  /** Reserved after this batch, in the sweep (the cache carried over from the batches before). */
  reserved: number;
  /** Reserved if this batch ran alone (a fresh process, three steps of it). */
  reserved_alone: number;
}

export interface SweepResult {
  rows: SweepRow[];
  /** The largest allocated peak of any batch, and the largest reserved any batch needs alone. */
  allocated_max: number;
  reserved_alone_max: number;
  /** Reserved at the end of the sweep. */
  reserved_final: number;
  settings: string;
}

/** Runs `shapes` (dimension overrides, in order) one step each through one simulated allocator. */
export function shapeSweep(model: ModelDescriptor, run: RunConfig, shapes: Record<string, number>[], preset?: Preset): SweepResult {
  if (!shapes.length) throw new MemplanError('E_OPTION', 'a shape sweep needs at least one shape', { path: '--shapes' });
  if (run.device === 'cpu' || run.allocator.fragmentation !== undefined) {
    throw new MemplanError('E_CONFIG', 'a shape sweep simulates the CUDA caching allocator: not with device: cpu or a fixed allocator.fragmentation', { path: run.device === 'cpu' ? 'device' : 'allocator.fragmentation' });
  }
  const builder = new RunBuilder();
  const rows: SweepRow[] = [];
  let params: number | undefined;
  shapes.forEach((shape, i) => {
    const r: RunConfig = { ...run, dims: { ...run.dims, ...shape } };
    const t = traceRun(model, r, { events: true });
    const p = t.agg.P + t.agg.Pf;
    if (params !== undefined && p !== params) {
      throw new MemplanError('E_OPTION', `shape ${i + 1} (${Object.entries(shape).map(([k, v]) => `${k}=${v}`).join(', ')}) changes the parameter count: a sweep varies batch shapes, not the model`, { path: '--shapes' });
    }
    params = p;
    const plan = planOf(allocatorInputs(t, r, stepTotals(t, r, preset)));
    if (i === 0) builder.setup(plan);
    builder.step(plan, i + 1);
    rows.push({ shape, allocated: 0, reserved: 0, reserved_alone: estimate(model, r).reserved });
  });
  const res = replay(builder.out, allocatorOptionsOf(run, preset?.capacity_bytes, Infinity));
  rows.forEach((row, i) => {
    row.allocated = res.requestedByStep[i] ?? 0;
    row.reserved = res.reservedByStep[i] ?? 0;
  });
  return {
    rows,
    allocated_max: Math.max(...rows.map((r) => r.allocated)),
    reserved_alone_max: Math.max(...rows.map((r) => r.reserved_alone)),
    reserved_final: res.reservedByStep[res.reservedByStep.length - 1] ?? 0,
    settings: settingsText(run),
  };
}
