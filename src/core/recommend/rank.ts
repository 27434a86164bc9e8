/**
 * Ranking: configs that leave the margin, then those that fit the card only (tight), then over
 * (closest first). Within a group: fewer result-changing knobs, the smaller such change, the faster
 * step (speed.ts), fewer knobs changed, more headroom. Rows that use exactly the memory of a row
 * ranked above them (same micro-batch split and result changes; only knobs that move no byte, such as
 * a fused optimizer whose temporaries fall outside the peak) are dropped as duplicates.
 */
import { headroomBytes, type Headroom } from '../check.js';
import { buildEstimate, edgeTotal, type Edge, type Estimate, type Preset } from '../estimate.js';
import type { Row, SearchOut } from './evaluate.js';
import { runFor, type Ctx } from './space.js';
import type { Candidate, Setting, Verdict } from './types.js';

/** The largest of the margins asked for (--margin, budget.headroom), in bytes; default 5% of the card. */
export function marginBytes(margin: Headroom | Headroom[] | undefined, preset: Preset): number {
  const list = margin === undefined ? [{ fraction: 0.05 }] : Array.isArray(margin) ? margin : [margin];
  return Math.max(0, ...list.map((h) => headroomBytes(h, preset.capacity_bytes)));
}

export function verdictOf(headroom: number, margin: number): Verdict {
  return headroom >= margin ? 'fits' : headroom >= 0 ? 'tight' : 'over';
}

const GROUP: Record<Verdict, number> = { fits: 0, tight: 1, over: 2 };

export function rank(rows: Row[], margin: number): Row[] {
  const r3 = (x: number) => Math.round(x * 1000);
  return rows.sort((a, b) => {
    const ga = GROUP[verdictOf(a.headroom, margin)];
    const gb = GROUP[verdictOf(b.headroom, margin)];
    if (ga !== gb) return ga - gb;
    if (ga === 2) return b.headroom - a.headroom;
    return a.changes - b.changes || r3(a.distance) - r3(b.distance) || a.time - b.time || a.changed - b.changed || b.headroom - a.headroom;
  });
}

/** Keeps the first of rows with the same micro-batch split, result-changing values and device total. */
export function dedupe(rows: Row[], s: SearchOut): { rows: Row[]; dropped: number } {
  const seen = new Set<string>();
  const changing = s.axes.map((a, i) => (a.changesResults ? i : -1)).filter((i) => i >= 0);
  const out = rows.filter((r) => {
    const key = `${r.idx[0]}|${changing.map((i) => r.idx[i]).join(',')}|${r.deviceTotal}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return { rows: out, dropped: rows.length - out.length };
}

export function toCandidate(ctx: Ctx, s: SearchOut, r: Row, margin: number, baseTime: number): Candidate {
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
    speed: Math.round((r.time / baseTime) * 1000) / 1000,
    allocated: r.allocated,
    device_total: r.deviceTotal,
    headroom: r.headroom,
    verdict: verdictOf(r.headroom, margin),
    run,
  };
}

/** Fits at an edge of the band: that edge's total within `limit`, and no out-of-memory in the allocator simulation. */
export function fitsAt(e: Estimate, edge: Edge, limit: number): boolean {
  return !e.allocator?.oom && edgeTotal(e, edge) <= limit;
}

/**
 * The configs shown, re-estimated with the full model (the caching allocator simulated, the band and
 * verdict): their numbers replace the cheap path's, and a config the full model puts past the margin
 * moves below those that leave it (stable otherwise). Returns them in that order.
 */
export function refine(ctx: Ctx, cands: Candidate[], preset: Preset, margin: number): Candidate[] {
  for (const c of cands) {
    let e: Estimate;
    try {
      e = buildEstimate(ctx.traces.full(c.run), c.run, { preset });
    } catch {
      continue; // the cheap path's numbers stand for a config the full model cannot estimate
    }
    c.allocated = e.allocated;
    c.device_total = e.device_total;
    c.headroom = preset.capacity_bytes - edgeTotal(e, ctx.edge);
    c.verdict = e.allocator?.oom ? 'over' : verdictOf(c.headroom, margin);
    if (e.band) c.band = { low: e.band.low, high: e.band.high, ...(e.verdict ? { verdict: e.verdict } : {}) };
  }
  return cands.map((c, i) => ({ c, i })).sort((a, b) => GROUP[a.c.verdict] - GROUP[b.c.verdict] || a.i - b.i).map((x) => x.c);
}
