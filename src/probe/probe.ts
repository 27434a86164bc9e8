/**
 * The probe: builds the described model in TensorFlow.js from the same block modules, runs training
 * step 1 (optimizer state created) and step 2 (steady state) with a real optimizer, and measures
 * `tf.profile(step).peakBytes - tf.memory().numBytes` before each step: exactly what the tfjs
 * runtime estimate predicts. TensorFlow.js is imported here only, dynamically.
 */
import { execFileSync } from 'node:child_process';
import { freemem, totalmem } from 'node:os';
import { MemplanError } from '../core/errors.js';
import { predictTfjs, type TfjsPrediction } from '../core/estimate-tfjs.js';
import { assemble, BATCH_DIM, type ModelDescriptor, type RunConfig } from '../core/model.js';
import { compileExpr } from '../core/expr.js';
import { resolveDims } from '../core/dims.js';
import type { Trace } from '../core/tracer.js';
import { loadBackend, WASM_MISSING, type BackendChoice, type Tf } from './backend.js';
import { createProbeState, TfjsBuilder } from './tfjs-builder.js';

export interface ProbeOptions {
  backend?: BackendChoice;
  steps?: number;
  /** Shrinks batch (then sequence-like dimensions) by this factor before probing. */
  scale?: number;
  /** Progress lines for long runs (the CLI writes them to stderr). */
  onProgress?: (line: string) => void;
  /** Overrides the backend's byte limit (tests). */
  limitBytes?: number;
}

export interface ProbeStep {
  step: number;
  predicted: number;
  measured: number;
  /** (measured - predicted) / measured, in percent. */
  errorPct: number;
  predictedNewBytes: number;
  measuredNewBytes: number;
  ms: number;
}

export interface ProbeResult {
  model: string;
  backend: string;
  backendChoice: BackendChoice;
  optimizer: string;
  batch_size: number;
  dims: Record<string, number>;
  scale: number;
  baseline: { predicted: number; measured: number };
  steps: ProbeStep[];
  /** Largest step error in percent (absolute). */
  maxErrorPct: number;
  ok: boolean;
  device?: { usedBeforeMiB: number; usedAfterMiB: number };
  notes: string[];
}

/** Acceptance: the tfjs runtime prediction within 1% of the measured peak. */
export const TOLERANCE_PCT = 1;

const GiB = 1024 ** 3;
/** wasm32's heap stops at 4 GiB and fails badly near it; keep a margin. */
const WASM_LIMIT = 3 * GiB;
const SEQ_DIMS = ['seq', 'seq_len', 'tokens', 'length', 'len', 'time', 'frames', 'nodes', 'edges'];

export function backendLimit(choice: BackendChoice | undefined): { bytes: number; what: string } {
  const host = Math.floor(Math.min(totalmem() * 0.5, freemem() * 0.8));
  // Without a choice the probe may land on wasm (tfjs-node absent): hold it to wasm's limit.
  if (choice === undefined || choice === 'wasm') {
    return { bytes: Math.min(WASM_LIMIT, host), what: 'the wasm heap (4 GiB, probing up to 3 GiB)' };
  }
  return { bytes: host, what: 'host memory (half of RAM, 80% of free)' };
}

/** Shrinks the batch by `f` (then sequence-like dimensions once the batch is 1). */
/**
 * Without a conventionally named sequence dimension, the largest dimension declared as a number and
 * used in some block's `input:` shape (AAM's token_limit in [batch * token_limit, max_bp]): shrinking
 * it shrinks the activations, and dimensions derived from it follow.
 */
function largestInputDim(model: ModelDescriptor, dims: ReadonlyMap<string, number>): string | undefined {
  const used = new Set<string>();
  for (const b of model.blocks) {
    for (const e of Array.isArray(b.input) ? b.input : []) {
      if (typeof e === 'string') for (const sym of compileExpr(e).symbols) used.add(sym);
    }
  }
  let best: string | undefined;
  for (const name of used) {
    const spec = model.dims?.[name];
    const literal = typeof spec === 'number' || (typeof spec === 'object' && typeof spec.value === 'number');
    if (name === BATCH_DIM || !literal || (dims.get(name) ?? 0) <= 1) continue;
    if (!best || dims.get(name)! > dims.get(best)!) best = name;
  }
  return best;
}

export function scaleRun(model: ModelDescriptor, run: RunConfig, f: number): RunConfig {
  if (!(f > 0 && f <= 1)) throw new MemplanError('E_OPTION', `--scale ${f} is not in (0, 1]`, { path: '--scale', expected: 'a factor such as 0.5' });
  if (f === 1) return run;
  const batch = Math.max(1, Math.floor(run.batch_size * f));
  const rest = (f * run.batch_size) / batch;
  const out: RunConfig = { ...run, batch_size: batch, dims: { ...run.dims } };
  if (rest < 0.999) {
    // Only the dimensions are needed here: resolve them, no trace.
    const dims = resolveDims(model.dims ?? {}, out.dims, { [BATCH_DIM]: out.batch_size });
    const seq = SEQ_DIMS.find((d) => dims.has(d)) ?? largestInputDim(model, dims);
    if (!seq) {
      throw new MemplanError('E_OPTION', `--scale ${f}: batch ${run.batch_size} cannot shrink below 1 and the model has no sequence dimension (${SEQ_DIMS.join(', ')})`, {
        path: '--scale',
        hint: 'shrink a dimension with --set <dim>=<value>',
      });
    }
    out.dims[seq] = Math.max(1, Math.floor(dims.get(seq)! * rest));
  }
  return out;
}

function deviceUsedMiB(): number | undefined {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits'], { encoding: 'utf8', timeout: 5000 });
    return Number(out.split('\n')[0]);
  } catch {
    return undefined;
  }
}

/** Kernels this model needs that the wasm backend lacks (memplan supplies them). */
export function suppliedKernels(trace: Trace): string[] {
  return [...new Set(trace.ops.filter((o) => WASM_MISSING[o.kind] && (o.kind === 'scatter_add' || o.inputs.some((t) => t.requiresGrad))).map((o) => WASM_MISSING[o.kind]!))];
}

function makeOptimizer(tf: Tf, opt: TfjsPrediction['optimizer']) {
  if (opt === 'adam') return tf.train.adam(0.001);
  if (opt === 'momentum') return tf.train.momentum(0.01, 0.9);
  return tf.train.sgd(0.01);
}

/** Predicted bytes the probe will hold at most: baseline + the worst step (with state made earlier). */
function predictedTotal(pred: TfjsPrediction): number {
  let made = 0;
  let worst = 0;
  for (const s of pred.steps) {
    worst = Math.max(worst, made + s.peak);
    made += s.newBytes;
  }
  return pred.baseline + worst;
}

export async function probe(model: ModelDescriptor, runIn: RunConfig, opts: ProbeOptions = {}): Promise<ProbeResult> {
  const steps = opts.steps ?? 2;
  if (!Number.isInteger(steps) || steps < 1 || steps > 10) throw new MemplanError('E_OPTION', `--steps ${steps} is not 1..10`, { path: '--steps' });
  const scale = opts.scale ?? 1;
  const run = scaleRun(model, { ...runIn, runtime: 'tfjs' }, scale);
  const { pred, assembled, notes } = predictTfjs(model, run, steps);
  const trace = assembled.trace;
  const limit = opts.limitBytes !== undefined ? { bytes: opts.limitBytes, what: 'the given limit' } : backendLimit(opts.backend);
  const total = predictedTotal(pred);
  if (total > limit.bytes) {
    const f = Math.max(0.01, Math.floor((scale * limit.bytes * 0.9 * 100) / total) / 100);
    throw new MemplanError('E_PROBE', `the probe would allocate about ${(total / GiB).toFixed(2)} GiB, more than ${limit.what} allows (${(limit.bytes / GiB).toFixed(2)} GiB)`, {
      hint: `shrink it: --scale ${f} (batch, then sequence) checks the estimator at a size that fits`,
    });
  }
  const backend = await loadBackend(opts.backend, suppliedKernels(trace));
  const tf = backend.tf;
  notes.push(...backend.notes);
  if (trace.ops.some((o) => o.segment !== undefined)) notes.push('tfjs has no activation checkpointing: ignored (everything is kept, as the probe runs it)');
  if (trace.ops.some((o) => o.kind === 'dropout')) notes.push('dropout masks are random; the bytes do not depend on them');
  if (trace.ops.some((o) => o.kind === 'tensor')) notes.push('explicit `tensor` components run as stand-in allocations (zeros of their shape and dtype), not as real computation');
  if (trace.params.some((p) => !p.requiresGrad)) notes.push('frozen blocks: their variables are not trained, but tfjs still keeps what their kernels save for backward');
  if (trace.inputs.some((t) => t.dtype === 'i64')) notes.push('integer inputs are int32 in tfjs (no int64)');

  const start0 = tf.memory().numBytes;
  const state = createProbeState(tf, trace);
  const baselineMeasured = tf.memory().numBytes - start0;
  const builder = new TfjsBuilder(tf, state);
  // Made before the steps: its scalars (learning rate, betas) are part of the baseline.
  const optimizer = makeOptimizer(tf, pred.optimizer);
  const f = () => {
    builder.reset();
    assemble(model, run, builder as never);
    return builder.lossTensor();
  };
  const dev0 = backend.gpu ? deviceUsedMiB() : undefined;
  const t0 = Date.now();
  const progress = (line: string) => opts.onProgress?.(line);
  // Roughly 2 s of work: ~64 MiB of tensors on wasm or tfjs-node, ~12 MiB on the 6x slower cpu backend.
  if (total > (backend.name === 'cpu' ? 12 : 64) * 1024 ** 2) progress(`probe: ${backend.name} backend, about ${(total / 1024 ** 2).toFixed(0)} MiB; running step 1 of ${steps}`);
  const out: ProbeStep[] = [];
  let lastMs = 0;
  try {
    for (let i = 0; i < steps; i++) {
      if (i > 0 && (lastMs > 2000 || Date.now() - t0 > 2000)) progress(`probe: step ${i} took ${(lastMs / 1000).toFixed(1)} s; running step ${i + 1} of ${steps}`);
      const before = tf.memory().numBytes;
      const ts = Date.now();
      const prof = await tf.profile(() => {
        optimizer.minimize(f, false, state.varList);
      });
      lastMs = Date.now() - ts;
      const measured = prof.peakBytes - before;
      const p = pred.steps[i]!;
      out.push({
        step: i + 1,
        predicted: p.peak,
        measured,
        errorPct: measured === 0 ? 0 : (100 * (measured - p.peak)) / measured,
        predictedNewBytes: p.newBytes,
        measuredNewBytes: tf.memory().numBytes - before,
        ms: lastMs,
      });
    }
    if (Date.now() - t0 > 2000) progress(`probe: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    optimizer.dispose();
    state.dispose();
  }
  const dev1 = backend.gpu ? deviceUsedMiB() : undefined;
  const leaked = tf.memory().numBytes - start0;
  if (leaked !== 0) notes.push(`${leaked} B were still allocated after the probe cleaned up`);
  for (const s of out) {
    if (s.predictedNewBytes !== s.measuredNewBytes) notes.push(`step ${s.step} left ${s.measuredNewBytes} B allocated; the estimate expected ${s.predictedNewBytes} B (optimizer state)`);
  }
  const maxErrorPct = Math.max(...out.map((s) => Math.abs(s.errorPct)));
  return {
    model: model.name,
    backend: backend.name,
    backendChoice: backend.choice,
    optimizer: pred.optimizer,
    batch_size: run.batch_size,
    dims: Object.fromEntries(assembled.dims),
    scale,
    baseline: { predicted: pred.baseline, measured: baselineMeasured },
    steps: out,
    maxErrorPct,
    ok: maxErrorPct <= TOLERANCE_PCT,
    ...(dev0 !== undefined && dev1 !== undefined ? { device: { usedBeforeMiB: dev0, usedAfterMiB: dev1 } } : {}),
    notes: [...new Set(notes)],
  };
}

/** The largest --scale (two decimals) at which the probe fits the backend's limit. */
export function fitScale(model: ModelDescriptor, run: RunConfig, opts: ProbeOptions = {}): number {
  // Down to 1/1000: a wide model (AAM: [batch * tokens, 150, 128] per ASV layer) needs a deep cut to
  // fit a few hundred MiB of tfjs tensors, which keep every intermediate until backward ends.
  for (let scale = 1; scale >= 0.001; scale = Math.floor(scale * 0.7 * 10000) / 10000) {
    const r = scaleRun(model, { ...run, runtime: 'tfjs' }, scale);
    const { pred } = predictTfjs(model, r, opts.steps ?? 2);
    const limit = opts.limitBytes ?? backendLimit(opts.backend).bytes;
    if (predictedTotal(pred) <= limit) return scale;
  }
  throw new MemplanError('E_PROBE', 'no --scale down to 0.001 makes the probe fit', { hint: 'shrink the model dimensions with --set' });
}

/**
 * For `recommend --verify`: probes the config in TensorFlow.js, shrunk (batch, then sequence) to a
 * size the backend can hold when needed, and says whether the tfjs-runtime estimate held within 1%.
 */
export async function verify(model: ModelDescriptor, run: RunConfig, opts: ProbeOptions = {}): Promise<ProbeResult> {
  const scale = opts.scale ?? fitScale(model, run, opts);
  return probe(model, run, { ...opts, scale });
}
