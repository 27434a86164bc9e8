/**
 * `recommend`: the configs that fit a card at a target effective batch, ranked; and `maxBatch`, the
 * largest micro-batch that fits. Pure: the caller passes the model, the run and the card presets.
 * The parts live under recommend/: the search space (space.ts), the trace cache (traces.ts),
 * evaluation (evaluate.ts), the step-time proxy (speed.ts), ranking (rank.ts), max-batch and the
 * messages. See docs/recommend.md.
 */
import { MemplanError } from './errors.js';
import { buildEstimate, edgeTotal, stepTotals } from './estimate.js';
import type { AllocatorConfig, ModelDescriptor, RunConfig } from './model.js';
import { size } from './units.js';
import { search, timeOf, type SearchOut } from './recommend/evaluate.js';
import { pytorchOnly } from './recommend/max-batch.js';
import { bestLine, largerLine, nothingLine, type ByteFormat } from './recommend/messages.js';
import { dedupe, marginBytes, rank, refine, toCandidate, verdictOf } from './recommend/rank.js';
import { knobValues, onGpus, runFor, type BatchValue, type Ctx } from './recommend/space.js';
import { Budget, Traces } from './recommend/traces.js';
import { LIMITS } from './limits.js';
import type { AllowSpec, Candidate, RecommendOptions, RecommendResult, Suggestion, Target, TargetResult } from './recommend/types.js';

export type * from './recommend/types.js';
export { parseAllow } from './recommend/space.js';
export { maxBatch, type MaxBatchOptions } from './recommend/max-batch.js';
export { largestComponent, type ByteFormat } from './recommend/messages.js';
export { SPEED, accumFactor, stepTime, workOf, type Work, type StepBytes } from './recommend/speed.js';

/** Checks the --allow keys and the descriptor's knobs against the model's dimensions; lists the knobs. */
function knobInfo(ctx: Ctx, allow: AllowSpec[]): void {
  for (const a of allow) {
    if (a.key !== 'precision' && a.key !== 'optimizer' && !ctx.dims.has(a.key)) {
      throw new MemplanError('E_OPTION', `--allow ${a.key}: not a dimension or knob of ${ctx.model.name}`, {
        path: '--allow',
        expected: `precision, optimizer, or one of ${[...ctx.dims.keys()].filter((d) => d !== 'batch').join(', ')}`,
      });
    }
  }
  for (const [name, k] of Object.entries(ctx.model.knobs ?? {})) {
    if (!ctx.dims.has(name) || name === 'batch') {
      throw new MemplanError('E_CONFIG', `knob "${name}" is not a dimension of the model`, { path: `knobs.${name}`, expected: 'a name declared under dims:' });
    }
    const changes = k.changes_results ?? true;
    ctx.knobInfo.push({ name, values: knobValues(ctx, name), changes_results: changes, ...(k.note ? { note: k.note } : {}), varied: !changes || allow.some((a) => a.key === name) });
  }
}

/** The config as given on this target (the full model's numbers), and its step-time proxy (the unit of every row's speed). */
function asConfigured(ctx: Ctx, target: Target, margin: number): { cand: Candidate; time: number } {
  const run = onGpus(ctx.base, target.gpus);
  const entry = ctx.traces.entry(run);
  const mem = stepTotals(entry.traced, run, target.preset, { reservedRatio: ctx.ratioFor(run) });
  const e = buildEstimate(ctx.traces.full(run), run, { preset: target.preset });
  const headroom = target.preset.capacity_bytes - edgeTotal(e, ctx.edge);
  const cand: Candidate = {
    batch_size: run.batch_size, grad_accum: run.grad_accum, gpus: target.gpus, settings: [], changes_results: false, speed: 1,
    allocated: e.allocated, device_total: e.device_total, headroom, verdict: e.allocator?.oom ? 'over' : verdictOf(headroom, margin), run,
    ...(e.band ? { band: { low: e.band.low, high: e.band.high, ...(e.verdict ? { verdict: e.verdict } : {}) } } : {}),
  };
  return { cand, time: timeOf(entry.work, entry.traced, run, mem) };
}

/** The top choice against the next larger micro-batch with the same knobs: why that one was not chosen. */
function bestSummary(ctx: Ctx, s: SearchOut, best: Candidate, bestIdx: number[], target: Target, margin: number, fmt: ByteFormat): string {
  let line = bestLine(best, margin, fmt);
  const bVals = s.axes[0]!.values as BatchValue[];
  const cur = bVals[bestIdx[0]!]!;
  const larger = bVals.map((v, i) => ({ v, i })).filter((x) => x.v.m > cur.m).sort((a, b) => a.v.m - b.v.m)[0];
  if (!larger) return best.grad_accum === 1 ? `${line}; no accumulation needed` : line;
  const idx = [...bestIdx];
  idx[0] = larger.i;
  const run = runFor(ctx, s.axes, idx);
  try {
    line += largerLine(larger.v.m, larger.v.a, buildEstimate(ctx.traces.full(run), run, { preset: target.preset }), margin, fmt);
  } catch {
    // The larger micro-batch is invalid for the model: nothing to compare with.
  }
  return line;
}

function forTarget(ctx: Ctx, target: Target, allow: AllowSpec[], E: number, opts: RecommendOptions, fmt: ByteFormat): TargetResult {
  if (E % target.gpus !== 0) {
    throw new MemplanError('E_OPTION', `effective batch ${E} does not divide over ${target.gpus} GPUs`, { path: '--effective-batch', expected: `a multiple of ${target.gpus}` });
  }
  const perGpu = E / target.gpus;
  const margin = marginBytes(opts.margin, target.preset);
  const tracesBefore = ctx.traces.computed;
  const base = asConfigured(ctx, target, margin);
  const s = search(ctx, target, allow, perGpu);
  const { rows, dropped } = dedupe(rank(s.rows, margin), s);
  const fitting = rows.filter((r) => r.headroom >= margin).length;
  // Speeds are relative to the fastest config that leaves the margin (else to the fastest found).
  const unit = Math.min(...(fitting ? rows.filter((r) => r.headroom >= margin) : rows).map((r) => r.time), Infinity);
  const unitTime = Number.isFinite(unit) ? unit : base.time;
  base.cand.speed = Math.round((base.time / unitTime) * 1000) / 1000;
  // The rows shown are re-estimated with the full model (allocator simulated); their numbers and fit are those.
  const shown = rows.slice(0, opts.top ?? 10);
  const rowOf = new Map<Candidate, (typeof rows)[number]>();
  const ranked = refine(ctx, shown.map((r) => {
    const c = toCandidate(ctx, s, r, margin, unitTime);
    rowOf.set(c, r);
    return c;
  }), target.preset, margin);
  // Configs the cheap path told apart can need the same bytes in the full model: keep the first of each.
  const seenFull = new Set<string>();
  const shownUnique = ranked.filter((c) => {
    const key = `${c.batch_size}x${c.grad_accum}|${c.settings.filter((x) => x.changesResults).map((x) => x.label)}|${c.device_total}`;
    if (seenFull.has(key)) return false;
    seenFull.add(key);
    return true;
  });
  const droppedFull = ranked.length - shownUnique.length;
  const droppedFits = ranked.filter((c) => c.verdict === 'fits').length - shownUnique.filter((c) => c.verdict === 'fits').length;
  ranked.splice(0, ranked.length, ...shownUnique);
  // What the full model moved past the margin no longer counts as fitting.
  const demoted = shown.filter((r) => r.headroom >= margin).length - ranked.filter((c) => c.verdict === 'fits').length - droppedFits;
  const notes = s.invalid ? [`${s.invalid} candidate configs skipped as invalid for this model (first: ${s.invalidReason})`] : [];
  const res: TargetResult = {
    gpu: { id: target.preset.id, name: target.preset.name, capacity: target.preset.capacity_bytes, kind: target.preset.kind },
    gpus: target.gpus, effective_batch: E, margin,
    searched: { evaluated: s.evaluated, pruned: s.pruned, invalid: s.invalid, traces: ctx.traces.computed - tracesBefore, duplicates: dropped + droppedFull },
    fitting: Math.max(0, fitting - demoted - droppedFits), ranked, as_configured: base.cand, summary: '', suggestions: [], notes,
  };
  if (ranked[0]?.verdict === 'fits') {
    res.best = ranked[0];
    res.summary = bestSummary(ctx, s, res.best, rowOf.get(res.best)!.idx, target, margin, fmt);
  } else {
    res.fitting = 0;
    const closest = ranked[0];
    res.closest = closest;
    const e = closest && buildEstimate(ctx.traces.full(closest.run), closest.run, { preset: target.preset });
    res.summary = nothingLine(target.preset.name, target.gpus, E, margin, closest, e, fmt);
    res.suggestions = suggest(ctx, target, allow, perGpu, margin, unitTime);
  }
  return res;
}

export function recommend(model: ModelDescriptor, run: RunConfig, opts: RecommendOptions & { format?: ByteFormat }): RecommendResult {
  pytorchOnly(run);
  if (!opts.targets.length) throw new MemplanError('E_OPTION', 'no card to recommend for', { path: '--gpu', hint: 'pass --gpu ID (memplan gpus lists them)' });
  // Where a search that ran out of budget points: what widened it most.
  const widest = opts.allow?.length ? '--allow' : opts.targets.length > 1 ? '--gpu' : opts.effectiveBatch !== undefined ? '--effective-batch' : model.knobs ? 'knobs' : '--gpu';
  const traces = new Traces(model, new Budget(widest));
  // The cheap path's allocator: the config's own reserved / allocated from the full simulation (not a fixed
  // percentage), once per allocator setting the search tries (default, expandable segments).
  // The search asks once per candidate and its cheap axes change the allocator settings in place: compare by
  // value, field by field (a handful of settings at most per search).
  const ratios: { a: AllocatorConfig; v: number }[] = [];
  const same = (x: AllocatorConfig, y: AllocatorConfig) =>
    x.expandable_segments === y.expandable_segments && x.max_split_size_mb === y.max_split_size_mb && x.fragmentation === y.fragmentation &&
    x.garbage_collection_threshold === y.garbage_collection_threshold && x.memory_fraction === y.memory_fraction &&
    x.max_non_split_rounding_mb === y.max_non_split_rounding_mb && JSON.stringify(x.roundup_power2_divisions) === JSON.stringify(y.roundup_power2_divisions);
  const ratioFor = (r: RunConfig): number => {
    for (const e of ratios) if (same(e.a, r.allocator)) return e.v;
    const base = { ...run, allocator: { ...r.allocator } };
    const ref = buildEstimate(traces.full(base), base);
    const v = ref.allocated > 0 ? ref.reserved / ref.allocated : 1;
    ratios.push({ a: { ...r.allocator }, v });
    return v;
  };
  const ctx: Ctx = { model, base: run, traces, dims: traces.get(run).dims, knobInfo: [], edge: opts.edge ?? 'high', ratioFor };
  const allow = opts.allow ?? [];
  knobInfo(ctx, allow);
  const E = opts.effectiveBatch ?? run.batch_size * run.grad_accum * run.distributed.gpus;
  if (!Number.isInteger(E) || E < 1) throw new MemplanError('E_OPTION', `effective batch ${E} is not a whole number >= 1`, { path: '--effective-batch' });
  // The splits of E into micro-batch x accumulation are found by trial division up to sqrt(E).
  if (E > LIMITS.dimension) {
    throw new MemplanError('E_TOO_LARGE', `effective batch ${E} is past 2^40, the dimension limit`, {
      path: opts.effectiveBatch !== undefined ? '--effective-batch' : 'grad_accum',
      expected: 'an effective batch of at most 2^40',
    });
  }
  const targets = opts.targets.map((t) => forTarget(ctx, t, allow, E, opts, opts.format ?? size));
  return { model: model.name, knobs: ctx.knobInfo, targets, fits: targets.some((t) => t.fitting > 0) };
}

/** Not-yet-allowed result-changing knobs, one at a time, then together: which would make something fit. */
function suggest(ctx: Ctx, target: Target, allow: AllowSpec[], perGpu: number, margin: number, baseTime: number): Suggestion[] {
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
  const tryAllow = (specs: typeof extra): Suggestion | undefined => {
    const s = search(ctx, target, [...allow, ...specs.map((x) => x.spec)], perGpu);
    const top = rank(s.rows, margin)[0];
    if (!top || top.headroom < margin) return undefined;
    const best = refine(ctx, [toCandidate(ctx, s, top, margin, baseTime)], target.preset, margin)[0]!;
    if (best.verdict !== 'fits') return undefined;
    const notes = specs.map((x) => x.note).filter(Boolean);
    return { allow: specs.map((x) => `--allow ${x.text}`).join(' '), ...(notes.length ? { note: notes.join('; ') } : {}), best };
  };
  const out = extra.map((x) => tryAllow([x])).filter((x): x is Suggestion => !!x);
  if (!out.length && extra.length > 1) {
    const all = tryAllow(extra);
    if (all) out.push(all);
  }
  return out;
}
