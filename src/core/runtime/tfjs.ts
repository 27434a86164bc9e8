/** The TensorFlow.js runtime: the byte-exact engine simulation of whole training steps (tfjs-sim.ts). */
import { MemplanError } from '../errors.js';
import type { RunConfig } from '../model.js';
import { simulateTfjs, tfjsOptimizer, type TfjsRun } from './tfjs-sim.js';
import type { Runtime } from './types.js';

/** Refuses the run settings tfjs cannot do (the probe refuses the same). */
export function checkTfjsRun(run: RunConfig): string[] {
  const bad = (path: string, what: string) => new MemplanError('E_CONFIG', `runtime tfjs: ${what}`, { path, hint: 'use runtime: pytorch for this setting' });
  if (run.precision !== 'fp32') throw bad('precision', `precision ${run.precision} cannot be represented: tfjs holds float32, int32 and bool only`);
  if (run.grad_accum > 1) throw bad('grad_accum', 'gradient accumulation is not modelled for tfjs');
  if (run.distributed.gpus > 1) throw bad('distributed', 'tfjs trains on one device');
  if (run.ema.enabled) throw bad('ema', 'tfjs has no EMA of the weights');
  const notes: string[] = [];
  if (run.checkpointing !== false && !(Array.isArray(run.checkpointing) && run.checkpointing.length === 0)) {
    notes.push('tfjs has no activation checkpointing: ignored (everything is kept, as the probe runs it)');
  }
  const o = tfjsOptimizer(run.optimizer.type);
  if (o.note) notes.push(o.note);
  return notes;
}

export const tfjsRuntime: Runtime<TfjsRun> = {
  name: 'tfjs',
  check: checkTfjsRun,
  // Whole steps, not one micro-batch: tfjs's per-step peaks include the optimizer step.
  simulate: (trace, run, o) => simulateTfjs(trace, tfjsOptimizer(run.optimizer.type).opt, o.steps ?? 2),
};
