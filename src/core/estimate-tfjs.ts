/**
 * The estimate for `runtime: tfjs`: TensorFlow.js's own byte accounting of a training step
 * (`optimizer.minimize`), from the byte-exact engine simulation in runtime/tfjs-sim.ts, for step 1
 * (optimizer state created) and step 2 (steady state). tfjs has no allocator cache: reserved =
 * allocated.
 */
import { MemplanError } from './errors.js';
import type { Component, Estimate, EstimateOptions, PhasePeak } from './estimate-types.js';
import { numel } from './graph.js';
import { assemble, type ModelDescriptor, type RunConfig } from './model.js';
import { tfjsOptimizer, type TfjsRun } from './runtime/tfjs-sim.js';
import { tfjsRuntime } from './runtime/tfjs.js';
import { size, n } from './units.js';

export { checkTfjsRun } from './runtime/tfjs.js';

export interface TfjsPrediction {
  optimizer: 'sgd' | 'momentum' | 'adam';
  /** Bytes allocated before step 1 (weights, inputs, persistent stand-ins). */
  baseline: number;
  /** Per step: peak over the bytes allocated when the step starts (tf.profile peakBytes - numBytes). */
  steps: { step: number; peak: number; phase: string; at: string; newBytes: number }[];
  run: TfjsRun;
}

export function predictTfjs(model: ModelDescriptor, run: RunConfig, steps = 2): { pred: TfjsPrediction; assembled: ReturnType<typeof assemble>; notes: string[] } {
  const notes = tfjsRuntime.check(run);
  const assembled = assemble(model, run);
  const opt = tfjsOptimizer(run.optimizer.type).opt;
  const r = tfjsRuntime.simulate(assembled.trace, run, { blocks: model.blocks.length, steps });
  return {
    pred: {
      optimizer: opt,
      baseline: r.weights + r.inputs + r.buffers,
      steps: r.steps.map((s, i) => ({ step: i + 1, peak: s.peak, phase: s.phase, at: s.at, newBytes: s.newBytes })),
      run: r,
    },
    assembled,
    notes: [...notes, ...assembled.notes, ...r.notes],
  };
}

export function estimateTfjs(model: ModelDescriptor, run: RunConfig, opts: EstimateOptions = {}): Estimate {
  const { pred, assembled, notes } = predictTfjs(model, run, 2);
  const { trace, dims, blocks } = assembled;
  const r = pred.run;
  const [s1, s2] = [r.steps[0]!, r.steps[1]!];
  const state = s1.newBytes;
  const trainable = trace.params.filter((p) => p.requiresGrad);
  const P = trainable.reduce((a, p) => a + numel(p.shape), 0);
  const Pall = trace.params.reduce((a, p) => a + numel(p.shape), 0);
  const base = pred.baseline;
  const phases: PhasePeak[] = [];
  for (const [s, label, extra] of [[s1, 'step 1', 0], [s2, 'steady', state]] as const) {
    phases.push({ name: 'forward', phase: 'forward', step: label, microbatch: 'first', allocated: base + extra + s.forward });
    phases.push({ name: 'backward', phase: 'backward', step: label, microbatch: 'first', allocated: base + extra + s.backward });
    phases.push({ name: 'optimizer step', phase: 'optimizer step', step: label, microbatch: '-', allocated: base + extra + s.optimizer });
  }
  const step1 = base + s1.peak;
  const steady = base + state + s2.peak;
  const isSteady = steady >= step1;
  const s = isSteady ? s2 : s1;
  const allocated = isSteady ? steady : step1;
  const peak: PhasePeak = { ...phases.find((p) => p.step === (isSteady ? 'steady' : 'step 1') && p.phase === s.phase)!, at: s.at };
  peak.allocated = allocated;

  const comps: Component[] = [];
  const add = (key: Component['key'], name: string, bytes: number, formula: string, level: Component['level'] = 'allocated') => {
    if (bytes > 0 || key === 'weights') comps.push({ key, name, bytes, formula, level });
  };
  add('weights', 'weights (float32 tf.variables)', r.weights, `${n(Pall)} params x 4 B`);
  add('input_batch', 'input batch (as tfjs holds it)', r.inputs, 'int ids as int32; cross-entropy targets as float32 one-hot [..., classes]');
  add('buffers', 'persistent stand-ins', r.buffers, 'explicit `tensor` components with lifetime persistent');
  const stateName = `optimizer state (tf.train.${pred.optimizer})`;
  const stateF = pred.optimizer === 'adam' ? `m and v: 2 x ${n(r.trainedParams)} params x 4 B` : pred.optimizer === 'momentum' ? `accumulator: ${n(r.trainedParams)} params x 4 B` : 'none';
  if (isSteady) add('optimizer_state', stateName, state, stateF);
  const over = s.peak;
  if (s.phase === 'optimizer step') {
    const grads = r.trainedParams * 4;
    const created = isSteady ? 0 : state;
    add('gradients', 'gradients', grads, `${n(r.trainedParams)} params x 4 B`);
    if (!isSteady) add('optimizer_state', stateName, created, `${stateF}, created during step 1`);
    add(
      'optimizer_temps',
      'optimizer step temporaries',
      over - grads - created,
      pred.optimizer === 'adam'
        ? `tf.train.adam keeps ~14 parameter-sized tensors per variable until its tidy ends: ${size(over - grads - created)}`
        : `one variable at a time: the largest variable's update tensors + loss scalar`,
    );
  } else {
    add('saved_activations', 'saved for backward (kernel input/output clones)', s.savedAtPeak, `clones kept by each kernel until backward ends, alive at ${s.phase} (${s.at})`);
    add('transients', 'forward intermediates and gradients', over - s.savedAtPeak, `tfjs frees forward tensors when the forward scope ends and backward tensors when backward ends; alive at ${s.at}`);
  }
  const sum = comps.reduce((a, c) => a + c.bytes, 0);
  if (sum !== allocated) throw new MemplanError('E_INTERNAL', `tfjs components sum to ${sum} B but the peak is ${allocated} B`);
  let deviceTotal = allocated;
  const preset = opts.preset;
  if (preset) {
    const ctx = preset.context_bytes + (preset.workspace_bytes ?? 0);
    deviceTotal += ctx;
    add('cuda_context', preset.kind === 'host' ? 'process baseline' : 'CUDA context + workspaces', ctx, `preset ${preset.id} (tfjs-node-gpu runs on TensorFlow's allocator, not modelled)`, 'device');
  }
  notes.push('runtime tfjs: TensorFlow.js byte accounting (tf.memory / tf.profile), exact on the cpu and wasm backends; check it with `memplan probe`');
  const est: Estimate = {
    model: model.name,
    runtime: 'tfjs',
    precision: run.precision,
    batch_size: run.batch_size,
    grad_accum: run.grad_accum,
    effective_batch: run.batch_size * run.grad_accum,
    gpus: 1,
    dims: Object.fromEntries(dims),
    params: { total: Pall, trainable: P, frozen: Pall - P },
    blocks: blocks.map((b, i) => ({ ...b, saved_bytes: s1.savedByBlock[i] ?? 0 })),
    components: comps,
    peak,
    phases,
    step1_allocated: step1,
    steady_allocated: steady,
    allocated,
    reserved: allocated,
    device_total: deviceTotal,
    forward_saved: s1.savedAfterForward,
    saved_items: s1.savedItems.map((it) => ({ block: it.block, scope: '', what: it.what, shape: it.shape, dtype: it.dtype, bytes: it.bytes, loss: false })),
    notes,
    tfjs: { optimizer: pred.optimizer, baseline: base, steps: pred.steps },
  };
  if (preset) {
    est.gpu = { id: preset.id, name: preset.name, capacity: preset.capacity_bytes, context: preset.context_bytes, kind: preset.kind };
    est.headroom = preset.capacity_bytes - deviceTotal;
    est.fits = est.headroom >= 0;
  }
  return est;
}
