/**
 * The largest micro-batch that leaves the margin, the config otherwise as given. With accumulation
 * fixed every phase (first micro-batch, later ones, optimizer step) is nondecreasing in the
 * micro-batch, so the device total is monotone: gallop up by doubling until past the limit, then bisect.
 * The search runs on the cheap path (reserved = allocated x a reserved/allocated ratio, the band's
 * edges from the same margins): first with the ratio of the config as given, then with the full
 * model's at the answer (at most three rounds); the full model (the caching allocator simulated) then
 * checks the answer and the one above it, and only where they still disagree searches on its own.
 */
import type { Headroom } from '../check.js';
import { MemplanError } from '../errors.js';
import { buildEstimate, edgeTotal, stepTotals, traceRun, type Edge, type Estimate, type Traced } from '../estimate.js';
import type { ModelDescriptor, RunConfig } from '../model.js';
import { size } from '../units.js';
import { largestComponent, type ByteFormat } from './messages.js';
import { cheapEdge } from './evaluate.js';
import { fitsAt, marginBytes } from './rank.js';
import { cloneRun, onGpus } from './space.js';
import { Budget, SearchBudgetError } from './traces.js';
import type { MaxBatchResult, Target } from './types.js';

export function pytorchOnly(run: RunConfig): void {
  if (run.runtime === 'tfjs') {
    throw new MemplanError('E_CONFIG', 'recommend searches the pytorch runtime (what training runs on); runtime: tfjs is the probe\'s model', {
      path: 'runtime',
      expected: 'runtime: pytorch',
      hint: 'use `memplan probe --scale F` to shrink a tfjs probe, or --set runtime=pytorch',
    });
  }
}

interface Point {
  traced?: Traced;
  err?: MemplanError;
  run: RunConfig;
}

/** Traces at micro-batch m, memoised, within the search's op budget; past 2^53 bytes is over any card, any other error is the descriptor's. */
function tracer(model: ModelDescriptor, base: RunConfig): (m: number) => Point {
  const seen = new Map<number, Point>();
  const budget = new Budget('--max-batch');
  return (m) => {
    let e = seen.get(m);
    if (!e) {
      const r = cloneRun(base);
      r.batch_size = m;
      try {
        const traced = traceRun(model, r, { events: true });
        budget.spend(traced.trace.ops.length);
        e = { traced, run: r };
      } catch (err) {
        // Past 2^53 bytes is over any card; any other error is the descriptor's and is reported. So is
        // one at micro-batch 1: then no batch can be estimated, and `estimate` refuses the config too.
        if (!(err instanceof MemplanError) || err instanceof SearchBudgetError || err.code !== 'E_TOO_LARGE' || m === 1) throw err;
        e = { err, run: r };
      }
      seen.set(m, e);
    }
    return e;
  };
}

/** Largest m in [0, limit] with ok(m), ok monotone decreasing: galloping, then bisection. */
function largest(ok: (m: number) => boolean, limit: number): number {
  let lo = 0;
  let hi = 1;
  while (hi <= limit && ok(hi)) {
    lo = hi;
    hi *= 2;
  }
  if (hi > limit) {
    throw new MemplanError('E_CONFIG', `micro-batch ${limit} still fits: the model's memory does not grow with the batch`, {
      path: '--max-batch',
      hint: 'check that the descriptor uses the `batch` dimension in its input shapes',
    });
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (ok(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

export interface MaxBatchOptions {
  /** Headroom to leave (as recommend's margin; default 5% of the card). */
  margin?: Headroom | Headroom[];
  limit?: number;
  format?: ByteFormat;
  /** The edge of the risk band held to the card (default high). */
  edge?: Edge;
}

export function maxBatch(model: ModelDescriptor, run: RunConfig, target: Target, opts: MaxBatchOptions = {}): MaxBatchResult {
  pytorchOnly(run);
  const fmt = opts.format ?? size;
  const edge = opts.edge ?? 'high';
  const cap = target.preset.capacity_bytes;
  const margin = marginBytes(opts.margin, target.preset);
  const limit = opts.limit ?? 2 ** 24;
  const traceAt = tracer(model, onGpus(run, target.gpus));
  let probes = 0;
  const cheapSearch = (reservedRatio: number): number => {
    const memo = new Map<number, boolean>();
    return largest((m) => {
      if (!memo.has(m)) {
        probes++;
        const p = traceAt(m);
        memo.set(m, p.traced !== undefined && cheapEdge(stepTotals(p.traced, p.run, target.preset, { reservedRatio }), edge) <= cap - margin);
      }
      return memo.get(m)!;
    }, limit);
  };
  const fulls = new Map<number, Estimate | undefined>();
  const full = (m: number): Estimate | undefined => {
    if (!fulls.has(m)) {
      const p = traceAt(m);
      fulls.set(m, p.traced ? buildEstimate(p.traced, p.run, { preset: target.preset }) : undefined);
    }
    return fulls.get(m);
  };
  const fullFits = (m: number) => {
    const e = full(m);
    return e !== undefined && fitsAt(e, edge, cap - margin);
  };
  const ratioAt = (m: number) => {
    const e = full(Math.max(1, m));
    return e && e.allocated > 0 ? e.reserved / e.allocated : 1;
  };
  let lo = cheapSearch(ratioAt(onGpus(run, target.gpus).batch_size));
  for (let round = 0; round < 2; round++) {
    const again = cheapSearch(ratioAt(lo));
    if (again === lo) break;
    lo = again;
  }
  if (!(lo === 0 || fullFits(lo)) || fullFits(lo + 1)) {
    // Still apart: search with the full model, galloping from the cheap answer.
    let hi: number;
    if (lo > 0 && !fullFits(lo)) {
      let d = 1;
      hi = lo;
      while (lo > 0 && !fullFits(lo)) {
        hi = lo;
        lo = Math.max(0, lo - d);
        d *= 2;
      }
    } else {
      let d = 1;
      hi = lo + 1;
      while (hi <= limit && fullFits(hi)) {
        lo = hi;
        d *= 2;
        hi = lo + d;
      }
    }
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (fullFits(mid)) lo = mid;
      else hi = mid;
    }
  }
  const res: MaxBatchResult = {
    gpu: { id: target.preset.id, name: target.preset.name, capacity: cap, kind: target.preset.kind },
    gpus: target.gpus,
    margin,
    max_batch: lo,
    next: { batch_size: lo + 1 },
    probes: probes + fulls.size,
    edge,
  };
  if (lo > 0) {
    const e = full(lo)!;
    res.at = { device_total: e.device_total, headroom: cap - edgeTotal(e, edge), ...(e.band ? { band: { low: e.band.low, high: e.band.high, ...(e.verdict ? { verdict: e.verdict } : {}) } } : {}) };
    res.run = traceAt(lo).run;
  }
  const ne = full(lo + 1);
  if (ne) {
    res.next = { batch_size: lo + 1, device_total: ne.device_total, over_by: edgeTotal(ne, edge) - (cap - margin), largest: largestComponent(ne, fmt) };
  } else {
    const next = traceAt(lo + 1);
    if (next.err) res.next = { batch_size: lo + 1, reason: next.err.message };
  }
  return res;
}
