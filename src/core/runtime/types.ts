/**
 * What a runtime is to the estimate: a simulator over the traced model that gives the phases' peaks
 * (and what is alive at them) for the estimate's terms to build on. Types only, in a leaf module, so
 * the estimate and every runtime import it and not each other.
 */
import type { RunConfig } from '../model.js';
import type { Trace } from '../tracer.js';

export interface SimulateOptions {
  /** Top-level blocks of the descriptor (saved bytes are split per block). */
  blocks: number;
  /** Record every allocation and free in order (pytorch: for the allocator model and the timeline). */
  events?: boolean;
  /** Training steps to simulate (tfjs: step 1 creates the optimizer state; default 2). */
  steps?: number;
}

/** `Sim` is the runtime's own result: its phases and peaks, as detailed as its estimate needs. */
export interface Runtime<Sim> {
  /** The run config's `runtime` key that selects it. */
  readonly name: RunConfig['runtime'];
  /** Refuses the run settings the runtime cannot model (a located E_CONFIG); notes for those it ignores. */
  check(run: RunConfig): string[];
  /** Simulates the assembled trace under `run`: trace in, phases and peaks out. */
  simulate(trace: Trace, run: RunConfig, opts: SimulateOptions): Sim;
}
