/** The accuracy table: which runs it holds, how it is written and read back (for the staleness test). */
import type { ModelDescriptor } from '../src/core/model.js';
import { OPTIMIZERS, SUITE } from './accuracy-suite.js';

export interface AccuracyCase {
  name: string;
  covers: string;
  optimizer: string;
  backend: 'wasm' | 'cpu';
  model: ModelDescriptor;
  run: Record<string, unknown>;
  /** A run config file (relative to the repository root) instead of an inline model. */
  file?: string;
}

export interface AccuracyRow {
  name: string;
  covers: string;
  optimizer: string;
  backend: string;
  step: number;
  predicted: number;
  measured: number;
}

export const MINI_PROBE = 'models/mini-transformer/probe.yaml';

export function accuracyCases(): AccuracyCase[] {
  const out: AccuracyCase[] = [];
  for (const c of SUITE) {
    for (const backend of c.backends ?? ['wasm']) {
      for (const optimizer of OPTIMIZERS) {
        // The cpu backend is 6x slower: measured there with adam only.
        if (backend === 'cpu' && optimizer !== 'adam') continue;
        out.push({ name: c.name, covers: c.covers, optimizer, backend, model: c.model, run: c.run });
      }
    }
  }
  const mlp = SUITE.find((c) => c.name === 'mlp-gelu-mse')!;
  out.push({ name: mlp.name, covers: mlp.covers, optimizer: 'sgd-momentum', backend: 'wasm', model: mlp.model, run: mlp.run });
  const mini = { name: 'mini-transformer', covers: `the README model, ${MINI_PROBE}`, model: { name: 'mini-transformer', blocks: [] }, run: {}, file: MINI_PROBE };
  for (const optimizer of OPTIMIZERS) out.push({ ...mini, optimizer, backend: 'wasm' });
  return out;
}

const HEAD = '| config | covers | optimizer | backend | step | predicted (B) | measured (B) | error % |';

export function errorPct(r: { predicted: number; measured: number }): number {
  return (100 * (r.measured - r.predicted)) / r.measured;
}

export function renderAccuracy(rows: AccuracyRow[], info: { seconds: number }): string {
  const worst = Math.max(...rows.map((r) => Math.abs(errorPct(r))));
  return [
    '# Probe accuracy: the `tfjs` runtime estimate vs TensorFlow.js',
    '',
    'Written by `npm run accuracy` (do not edit by hand); `npm test` fails when the predictions here no longer',
    'match the estimator or any error exceeds 1%. Each configuration is built in TensorFlow.js 4.22 from the same',
    'block modules as the estimate and trained for two steps with `optimizer.minimize(loss, false, varList)`',
    '(step 1 creates the optimizer state, step 2 is the steady state).',
    '',
    '- **measured** = `tf.profile(step).peakBytes - tf.memory().numBytes` before the step (bytes over the weights,',
    '  inputs and existing optimizer state; exact engine accounting on the cpu and wasm backends).',
    '- **predicted** = the `runtime: tfjs` estimate of the same quantity (`src/core/runtime/tfjs-sim.ts`).',
    `- ${rows.length} step measurements, worst error ${worst.toFixed(4)}%; suite time ${info.seconds.toFixed(0)} s.`,
    '',
    'What the probe cannot build, and how it stands in:',
    '- `attention: sdpa` (fused flash / memory-efficient attention) has no TensorFlow.js equivalent: refused; use eager.',
    '- reduced precision (bf16/fp16, mixed or pure) cannot be represented: tfjs holds float32, int32 and bool only: refused.',
    '- explicit `tensor` components are stand-in allocations (zeros of their shape and dtype): persistent ones before',
    '  the step, `saved`/`loss` ones kept for backward by a Reshape kernel, `transient` ones until the forward ends.',
    '- activation checkpointing does not exist in tfjs: ignored (noted). int64 ids are int32. AdamW runs as Adam.',
    '- `params` blocks (parameters known only by count) get no gradient in tfjs, hence no optimizer state.',
    '- wasm lacks UnsortedSegmentSum (gather\'s gradient) and Conv2DBackpropFilter: memplan registers plain-JS',
    '  kernels (the engine counts their outputs like any kernel\'s, so bytes are unchanged; rows on `cpu` cross-check).',
    '- dropout masks are random; bytes do not depend on them.',
    '',
    HEAD,
    '|---|---|---|---|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.name} | ${r.covers} | ${r.optimizer} | ${r.backend} | ${r.step} | ${r.predicted} | ${r.measured} | ${errorPct(r).toFixed(4)} |`),
    '',
  ].join('\n');
}

export function parseAccuracy(md: string): AccuracyRow[] {
  const lines = md.split('\n');
  const start = lines.indexOf(HEAD);
  if (start < 0) return [];
  const rows: AccuracyRow[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const c = line.split('|').slice(1, -1).map((s) => s.trim());
    rows.push({ name: c[0]!, covers: c[1]!, optimizer: c[2]!, backend: c[3]!, step: Number(c[4]), predicted: Number(c[5]), measured: Number(c[6]) });
  }
  return rows;
}
