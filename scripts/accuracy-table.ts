/**
 * The tfjs accuracy table (docs/accuracy.md): which runs it holds, the predictions for them, and the
 * one function that turns (predictions, measurements) into the page. `npm run accuracy` calls it with
 * what the probe measured; the staleness test calls it with the measurements read back from the
 * committed page, so the page's predictions, error column, headline and counts are recomputed, not read.
 */
import { join } from 'node:path';
import { loadConfig, ROOT } from '../src/io/load.js';
import { predictTfjs } from '../src/core/estimate-tfjs.js';
import { normalizeRun, validateModel, type ModelDescriptor } from '../src/core/model.js';
import { TOLERANCE_PCT } from '../src/probe/probe.js';
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

/** What the probe measured for one step of one case: the data half of a row. */
export interface AccuracyMeasurement {
  name: string;
  optimizer: string;
  /** The backend that ran (the probe may report another than the one asked for). */
  backend: string;
  step: number;
  measured: number;
}

export interface AccuracyRow extends AccuracyMeasurement {
  covers: string;
  predicted: number;
}

/** Facts about the measuring run that the page prints (data, like the measured column). */
export interface AccuracyRunInfo {
  /** Wall time of the whole suite, seconds. */
  seconds: number;
  /** The TensorFlow.js version that measured. */
  tfjs: string;
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

/** The model and run of a case, as the probe and the estimate both see them. */
export function caseConfig(c: AccuracyCase): { model: ModelDescriptor; run: ReturnType<typeof normalizeRun> } {
  if (c.file) {
    const cfg = loadConfig(join(ROOT, c.file), (raw) => (raw.optimizer = c.optimizer));
    return { model: cfg.model, run: cfg.run };
  }
  return { model: validateModel(c.model), run: normalizeRun({ model: {}, ...c.run, optimizer: c.optimizer }) };
}

/** memplan's `runtime: tfjs` prediction of each step's peak for a case (the estimate, no TensorFlow.js). */
export function predictCase(c: AccuracyCase): { step: number; peak: number }[] {
  const { model, run } = caseConfig(c);
  return predictTfjs(model, { ...run, runtime: 'tfjs' }).pred.steps.map((s) => ({ step: s.step, peak: s.peak }));
}

export function errorPct(r: { predicted: number; measured: number }): number {
  return (100 * (r.measured - r.predicted)) / r.measured;
}

/**
 * Pairs each case's predicted steps with the measurements, in order. Throws when the measurements do
 * not cover exactly the suite's cases and steps (the suite changed: measure again).
 */
export function accuracyRows(cases: AccuracyCase[], measured: AccuracyMeasurement[], predict = predictCase): AccuracyRow[] {
  const rows: AccuracyRow[] = [];
  let i = 0;
  for (const c of cases) {
    for (const s of predict(c)) {
      const m = measured[i++];
      const what = `${c.name} ${c.optimizer} ${c.backend} step ${s.step}`;
      if (!m || m.name !== c.name || m.optimizer !== c.optimizer || m.step !== s.step || (c.backend === 'cpu') !== (m.backend === 'cpu')) {
        throw new Error(`accuracy: measurement ${i} is ${m ? `${m.name} ${m.optimizer} ${m.backend} step ${m.step}` : 'missing'}, the suite has ${what}: run \`npm run accuracy\``);
      }
      rows.push({ ...m, covers: c.covers, predicted: s.peak });
    }
  }
  if (i !== measured.length) throw new Error(`accuracy: ${measured.length - i} measurements more than the suite has steps: run \`npm run accuracy\``);
  return rows;
}

const HEAD = '| config | covers | optimizer | backend | step | predicted (B) | measured (B) | error % |';

export function renderAccuracy(rows: AccuracyRow[], info: AccuracyRunInfo): string {
  const worst = Math.max(...rows.map((r) => Math.abs(errorPct(r))));
  const configs = new Set(rows.map((r) => r.name)).size;
  const backends = [...new Set(rows.map((r) => r.backend))].sort().join(' and ');
  return [
    '# Probe accuracy: the `tfjs` runtime estimate vs TensorFlow.js',
    '',
    'Written by `npm run accuracy` (do not edit by hand); `npm test` recomputes every prediction, error and the',
    `headline below from the measured column and fails on any difference, or when an error exceeds ${TOLERANCE_PCT}%. Each`,
    `configuration is built in TensorFlow.js ${info.tfjs} from the same block modules as the estimate and trained for two steps`,
    'with `optimizer.minimize(loss, false, varList)` (step 1 creates the optimizer state, step 2 is the steady state).',
    '',
    '- **measured** = `tf.profile(step).peakBytes - tf.memory().numBytes` before the step (bytes over the weights,',
    '  inputs and existing optimizer state; exact engine accounting on the cpu and wasm backends).',
    '- **predicted** = the `runtime: tfjs` estimate of the same quantity (`src/core/runtime/tfjs-sim.ts`).',
    `- **${rows.length} step measurements, worst error ${worst.toFixed(4)}%**; suite time ${info.seconds.toFixed(0)} s.`,
    `- **Scope of that figure**: TensorFlow.js ${info.tfjs} in Node.js, ${backends} backends (CPU), fp32, on the ${configs} small`,
    '  configurations below, written for this suite and built from memplan\'s own block modules (the model measured is',
    '  the model memplan traced). It says the `tfjs` runtime models TensorFlow.js\'s engine; it says nothing about',
    '  PyTorch or any GPU (for PyTorch see [accuracy-pytorch.md](accuracy-pytorch.md)).',
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

/** The page for these measurements: predictions recomputed now, then rendered. */
export function accuracyDoc(measured: AccuracyMeasurement[], info: AccuracyRunInfo, cases = accuracyCases()): string {
  return renderAccuracy(accuracyRows(cases, measured), info);
}

/** Reads the data back from a committed page: the measured column (with its keys) and the run facts. */
export function parseAccuracy(md: string): { measured: AccuracyMeasurement[]; info: AccuracyRunInfo } {
  const lines = md.split('\n');
  const start = lines.indexOf(HEAD);
  const measured: AccuracyMeasurement[] = [];
  if (start >= 0) {
    for (const line of lines.slice(start + 2)) {
      if (!line.startsWith('|')) break;
      const c = line.split('|').slice(1, -1).map((s) => s.trim());
      measured.push({ name: c[0]!, optimizer: c[2]!, backend: c[3]!, step: Number(c[4]), measured: Number(c[6]) });
    }
  }
  const seconds = Number(/suite time (\d+) s\./.exec(md)?.[1] ?? NaN);
  const tfjs = /built in TensorFlow\.js (\S+) from/.exec(md)?.[1] ?? '?';
  return { measured, info: { seconds, tfjs } };
}
