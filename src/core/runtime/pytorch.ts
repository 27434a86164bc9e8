/** The PyTorch runtime: the liveness simulation of one micro-batch (pytorch-sim.ts) under the device's op rules. */
import { deviceRules } from './pytorch-ops.js';
import { simulatePytorch, type SimResult } from './pytorch-sim.js';
import type { Runtime } from './types.js';

export const pytorchRuntime: Runtime<SimResult> = {
  name: 'pytorch',
  // Every setting the run schema allows is modelled for PyTorch.
  check: () => [],
  simulate: (trace, run, o) => simulatePytorch(trace, deviceRules(run.device, run.pytorch), o.blocks, { events: o.events ?? false }),
};
