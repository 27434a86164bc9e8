/**
 * The largest micro-batch that leaves the margin, the config otherwise as given. With accumulation
 * fixed every phase (first micro-batch, later ones, optimizer step) is nondecreasing in the
 * micro-batch, so the device total is monotone: gallop up by doubling until past the limit, then bisect.
 */
import type { Headroom } from '../check.js';
import { MemplanError } from '../errors.js';
import { buildEstimate, stepTotals, traceRun, type Traced } from '../estimate.js';
import type { ModelDescriptor, RunConfig } from '../model.js';
import { size } from '../units.js';
import { largestComponent, type ByteFormat } from './messages.js';
import { marginBytes } from './rank.js';
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
  total?: number;
  err?: MemplanError;
  traced?: Traced;
  run: RunConfig;
}

/** Estimates at micro-batch m, memoised; past 2^53 bytes is over any card, any other error is the descriptor's. */
function evaluator(model: ModelDescriptor, base: RunConfig, target: Target): { at(m: number): Point; size(): number } {
  const seen = new Map<number, Point>();
  const budget = new Budget('--max-batch');
  return {
    at(m) {
      let e = seen.get(m);
      if (!e) {
        const r = cloneRun(base);
        r.batch_size = m;
        try {
          const traced = traceRun(model, r);
          budget.spend(traced.trace.ops.length);
          e = { total: stepTotals(traced, r, target.preset).deviceTotal, traced, run: r };
        } catch (err) {
          // Past 2^53 bytes is over any card; any other error is the descriptor's and is reported. So is
          // one at micro-batch 1: then no batch can be estimated, and `estimate` refuses the config too.
          if (!(err instanceof MemplanError) || err instanceof SearchBudgetError || err.code !== 'E_TOO_LARGE' || m === 1) throw err;
          e = { err, run: r };
        }
        seen.set(m, e);
      }
      return e;
    },
    size: () => seen.size,
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
}

export function maxBatch(model: ModelDescriptor, run: RunConfig, target: Target, opts: MaxBatchOptions = {}): MaxBatchResult {
  pytorchOnly(run);
  const fmt = opts.format ?? size;
  const cap = target.preset.capacity_bytes;
  const margin = marginBytes(opts.margin, target.preset);
  const ev = evaluator(model, onGpus(run, target.gpus), target);
  const lo = largest((m) => {
    const e = ev.at(m);
    return e.total !== undefined && e.total <= cap - margin;
  }, opts.limit ?? 2 ** 24);
  const next = ev.at(lo + 1);
  const res: MaxBatchResult = {
    gpu: { id: target.preset.id, name: target.preset.name, capacity: cap, kind: target.preset.kind },
    gpus: target.gpus,
    margin,
    max_batch: lo,
    next: { batch_size: lo + 1 },
    probes: ev.size(),
  };
  if (lo > 0) {
    const at = ev.at(lo);
    res.at = { device_total: at.total!, headroom: cap - at.total! };
    res.run = at.run;
  }
  if (next.total !== undefined && next.traced) {
    const e = buildEstimate(next.traced, next.run, { preset: target.preset });
    res.next = { batch_size: lo + 1, device_total: next.total, over_by: next.total - (cap - margin), largest: largestComponent(e, fmt) };
  } else if (next.err) {
    res.next = { batch_size: lo + 1, reason: next.err.message };
  }
  return res;
}
