/**
 * The trace cache shared by every search of one recommend() call. It keeps only what stepTotals reads
 * (the simulation's peaks and the aggregates) and the step-time proxy's work, not the op list:
 * thousands of full traces would spend the search's time in the garbage collector. full() re-traces
 * for a breakdown.
 */
import { MemplanError } from '../errors.js';
import { traceKey, traceRun, type Traced } from '../estimate.js';
import type { ModelDescriptor, RunConfig } from '../model.js';
import { workOf, type Work } from './speed.js';
import { count, LIMITS } from '../limits.js';

/**
 * The search's work budget ran out: raised past every catch that takes a candidate's own error as
 * "invalid config", so a search never quietly shrinks to what fitted in the budget.
 */
export class SearchBudgetError extends MemplanError {}

/** Counts the ops a search traces, and stops it at LIMITS.searchOps (docs/security.md). */
export class Budget {
  ops = 0;
  constructor(private path: string) {}
  spend(ops: number): void {
    this.ops += ops;
    if (this.ops > LIMITS.searchOps) {
      throw new SearchBudgetError('E_TOO_LARGE', `the search traced more than ${count(LIMITS.searchOps)} ops, its limit`, {
        path: this.path,
        expected: `a search of at most ${count(LIMITS.searchOps)} traced ops (configurations x ops per trace)`,
        hint: 'narrow it: fewer cards or --allow knobs or values, a smaller --effective-batch, or check one config with `memplan estimate`',
      });
    }
  }
}

/** Rethrows a search's budget error; any other error is the candidate's own. */
export function budgetOnly(e: unknown): void {
  if (e instanceof SearchBudgetError) throw e;
}

export interface Cached {
  traced: Traced;
  work: Work;
}

export class Traces {
  private cache = new Map<string, Cached | MemplanError>();
  computed = 0;
  constructor(private model: ModelDescriptor, private budget: Budget = new Budget('--gpu')) {}

  entry(run: RunConfig): Cached {
    // fp16 and bf16 have the same sizes: one simulation serves both (fp16's master weights are a cheap term).
    const p = run.precision === 'fp16-mixed' ? 'bf16-mixed' : run.precision === 'fp16' ? 'bf16' : run.precision;
    const key = traceKey(p === run.precision ? run : { ...run, precision: p });
    let t = this.cache.get(key);
    if (!t) {
      try {
        const full = traceRun(this.model, run);
        this.budget.spend(full.trace.ops.length);
        this.computed++;
        const traced = { ...full, trace: undefined as never, sim: { ...full.sim, savedItems: [] }, agg: { ...full.agg, persistentTensors: [], castParams: [] } };
        t = { traced, work: workOf(full.trace) };
      } catch (e) {
        if (!(e instanceof MemplanError) || e instanceof SearchBudgetError) throw e;
        t = e;
      }
      this.cache.set(key, t);
    }
    if (t instanceof MemplanError) throw t;
    return t;
  }

  get(run: RunConfig): Traced {
    return this.entry(run).traced;
  }

  private fulls = new Map<string, Traced>();

  /**
   * The full trace with its alloc/free events, for buildEstimate (a breakdown of one config, with the
   * caching allocator simulated). A few are kept: the rows shown and the summary ask for the same ones.
   */
  full(run: RunConfig): Traced {
    this.get(run);
    const key = traceKey(run);
    let t = this.fulls.get(key);
    if (!t) {
      t = traceRun(this.model, run, { events: true });
      if (this.fulls.size >= 16) this.fulls.delete(this.fulls.keys().next().value!);
      this.fulls.set(key, t);
    }
    return t;
  }
}

/** Same simulation and same work: the knob changed nothing for this model (e.g. sdpa without attention). */
export function sameTrace(a: Cached, b: Cached): boolean {
  const x = a.traced.sim;
  const y = b.traced.sim;
  return x.first.bytes === y.first.bytes && x.later.bytes === y.later.bytes && x.savedTotal === y.savedTotal
    && x.first.paramGrads === y.first.paramGrads && x.first.at === y.first.at
    && a.work.forward === b.work.forward && a.work.recompute === b.work.recompute;
}
