/**
 * docs/accuracy-programs.md and .json: memplan's estimates of the independent PyTorch programs in
 * bench/torch/programs/ (written the way users write PyTorch; descriptors written from their code in
 * bench/torch/programs/descriptors/) against what run_programs.py measured on each torch version. One
 * function renders both files from (the measurements, memplan's predictions): `npm run
 * validate:programs` (scripts/validate-programs.mjs) calls it with the committed measurements, and
 * test/docs/generated-docs.test.ts calls it with the measurement stored in the committed .json and
 * requires both files byte for byte, so no number on the page can go stale.
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { loadConfig, ROOT } from '../src/io/load.js';
import { estimate } from '../src/core/estimate.js';
import { errorPct, median, measuredRunKeys } from './accuracy-pytorch.js';

/** One program as run_programs.py records it (the fields compared; the rest stays in measured-*.json). */
export interface MeasuredProgram {
  program: string;
  kind: 'train' | 'infer';
  error?: string;
  params?: number;
  trainable?: number;
  forward_saved?: number;
  step1_peak?: number;
  step2_peak?: number;
  forward_peak?: number;
}

/** One torch version's run_programs.py output (programs/measured-<version>.json). */
export interface ProgramsMeasurement {
  torch: string;
  device: string;
  threads: number;
  programs: MeasuredProgram[];
}

export interface ProgramPrediction {
  config: string;
  params: number;
  trainable: number;
  forward_saved: number;
  step1: number;
  step2: number;
  /** The peak of the run (an inference run's forward peak). */
  allocated: number;
}

export const PROGRAMS_DIR = join(ROOT, 'bench/torch/programs');
export const DESCRIPTORS_DIR = join(PROGRAMS_DIR, 'descriptors');
export const PROGRAMS_HEAD = join(PROGRAMS_DIR, 'ACCURACY_head.md');
/** The committed measurements, one per torch version. */
export const MEASURED_FILES = ['measured-2.13.0.json', 'measured-1.13.0a0.json'].map((f) => join(PROGRAMS_DIR, f));
/** The target: every quantity within CASE_PCT, the median within MEDIAN_PCT. */
export const CASE_PCT = 5;
export const MEDIAN_PCT = 1;

/** The run config of a program: `p05_spectrum_gaussian_loss.py` -> descriptors/p05.run.yaml. */
export function configOf(program: string): string {
  const id = /^(p\d+)_/.exec(program)?.[1];
  if (!id) throw new Error(`program ${program} has no pNN_ prefix`);
  return join(DESCRIPTORS_DIR, `${id}.run.yaml`);
}

/** memplan's prediction for a program's descriptor, for the measuring device and torch version. */
export function predictProgram(program: string, m: Pick<ProgramsMeasurement, 'device' | 'torch'>): ProgramPrediction {
  const config = configOf(program);
  const cfg = loadConfig(config);
  const est = estimate(cfg.model, { ...cfg.run, ...measuredRunKeys(m) });
  return {
    config: relative(ROOT, config),
    params: est.params.total,
    trainable: est.params.trainable,
    forward_saved: est.forward_saved,
    step1: est.step1_allocated,
    step2: est.steady_allocated,
    allocated: est.allocated,
  };
}

interface Quantity {
  predicted: number;
  measured: number;
  error_pct: number;
}

export interface ProgramRow {
  program: string;
  error?: string;
  config?: string;
  param_mismatch?: string;
  quantities?: Record<string, Quantity>;
}

export interface VersionResult {
  torch: string;
  rows: ProgramRow[];
  median: number;
  max: number;
  quantities: number;
}

export interface AccuracyPrograms {
  md: string;
  json: string;
  versions: VersionResult[];
  /** Quantities outside CASE_PCT, parameter mismatches, programs memplan could not estimate. */
  failed: string[];
  met: boolean;
}

const TRAIN_Q = [
  ['forward_saved', 'forward_saved', 'forward_saved'],
  ['step 1 peak', 'step1_peak', 'step1'],
  ['step 2 peak', 'step2_peak', 'step2'],
] as const;
const INFER_Q = [['forward peak', 'forward_peak', 'allocated']] as const;

const fmt = (b: number) => b.toLocaleString('en-US');
const pct = (e: number) => `${e >= 0 ? '+' : ''}${e.toFixed(2)}%`;
const shortTorch = (t: string) => t.split('+')[0]!;

function rowsOf(m: ProgramsMeasurement, predict: (program: string, m: ProgramsMeasurement) => ProgramPrediction): ProgramRow[] {
  return m.programs.map((p) => {
    if (p.error) return { program: p.program, error: `PyTorch ${shortTorch(m.torch)} cannot run it: ${p.error}` };
    let pr: ProgramPrediction;
    try {
      pr = predict(p.program, m);
    } catch (e) {
      return { program: p.program, error: `memplan: ${(e as Error).message}` };
    }
    const row: ProgramRow = { program: p.program, config: pr.config, quantities: {} };
    // An inference run trains nothing (memplan counts no parameter as trainable); PyTorch's requires_grad
    // flags are left as built, so only the total is compared there.
    if (p.params !== pr.params || (p.kind === 'train' && p.trainable !== pr.trainable)) {
      row.param_mismatch = `torch ${p.params} (${p.trainable} trainable) vs memplan ${pr.params} (${pr.trainable})`;
    }
    for (const [label, mk, pk] of p.kind === 'infer' ? INFER_Q : TRAIN_Q) {
      const meas = p[mk] as number;
      row.quantities![label] = { predicted: pr[pk], measured: meas, error_pct: errorPct(pr[pk], meas) };
    }
    return row;
  });
}

/** Both files for the measurements (newest torch first), with `predict` as memplan's side. */
export function accuracyPrograms(
  measurements: ProgramsMeasurement[],
  predict: (program: string, m: ProgramsMeasurement) => ProgramPrediction = predictProgram,
  head = readFileSync(PROGRAMS_HEAD, 'utf8'),
): AccuracyPrograms {
  const versions: VersionResult[] = measurements.map((m) => {
    const rows = rowsOf(m, predict);
    const errs = rows.flatMap((r) => Object.values(r.quantities ?? {}).map((q) => Math.abs(q.error_pct))).sort((a, b) => a - b);
    return { torch: m.torch, rows, median: median(errs), max: errs.length ? errs[errs.length - 1]! : 0, quantities: errs.length };
  });
  const failed: string[] = [];
  for (const v of versions) {
    for (const r of v.rows) {
      const at = `${r.program} (torch ${shortTorch(v.torch)})`;
      if (r.error?.startsWith('memplan')) failed.push(`${at}: ${r.error}`);
      if (r.param_mismatch) failed.push(`${at}: parameters differ: ${r.param_mismatch}`);
      for (const [label, q] of Object.entries(r.quantities ?? {})) if (Math.abs(q.error_pct) > CASE_PCT) failed.push(`${at} ${label}: ${pct(q.error_pct)}`);
    }
    if (v.median > MEDIAN_PCT) failed.push(`torch ${shortTorch(v.torch)}: median |error| ${v.median.toFixed(2)}% > ${MEDIAN_PCT}%`);
  }
  const met = failed.length === 0;

  let md = head.trimEnd() + '\n\n';
  md += '## Results (generated by `npm run validate:programs`)\n\n';
  md += `Error = (predicted - measured) / measured; target: median |error| <= ${MEDIAN_PCT}% and every quantity within ${CASE_PCT}% on each torch version: **${met ? 'met' : 'NOT met'}**.\n\n`;
  md += '| torch | programs | quantities | median \\|error\\| | max \\|error\\| |\n|---|---:|---:|---:|---:|\n';
  for (const v of versions) md += `| ${shortTorch(v.torch)} | ${v.rows.filter((r) => r.quantities).length} of ${v.rows.length} | ${v.quantities} | ${v.median.toFixed(2)}% | ${v.max.toFixed(2)}% |\n`;
  if (failed.length) md += `\nOutside the target:\n\n${failed.map((f) => `- ${f}`).join('\n')}\n`;
  for (const v of versions) {
    md += `\n### PyTorch ${shortTorch(v.torch)} (CPU, ${measurements.find((m) => m.torch === v.torch)!.threads} thread)\n\n`;
    md += '| program | quantity | predicted (B) | measured (B) | error |\n|---|---|---:|---:|---:|\n';
    for (const r of v.rows) {
      if (!r.quantities) {
        md += `| ${r.program} | - | - | - | ${r.error} |\n`;
        continue;
      }
      for (const [label, q] of Object.entries(r.quantities)) md += `| ${r.program} | ${label} | ${fmt(q.predicted)} | ${fmt(q.measured)} | ${pct(q.error_pct)} |\n`;
    }
  }
  const json =
    JSON.stringify(
      {
        target: { median_abs_error_pct: MEDIAN_PCT, max_abs_error_pct: CASE_PCT, met },
        versions: versions.map((v) => ({ torch: v.torch, median_abs_error_pct: v.median, max_abs_error_pct: v.max, quantities: v.quantities, rows: v.rows })),
        // What was measured, as compared (the full records are bench/torch/programs/measured-*.json).
        measured: measurements.map((m) => ({ torch: m.torch, device: m.device, threads: m.threads, programs: m.programs.map(compared) })),
      },
      null,
      1,
    ) + '\n';
  return { md, json, versions, failed, met };
}

/** The fields of a program record the page compares. */
export function compared(p: MeasuredProgram): MeasuredProgram {
  const keys = ['program', 'kind', 'error', 'params', 'trainable', 'forward_saved', 'step1_peak', 'step2_peak', 'forward_peak'] as const;
  const out: Record<string, unknown> = {};
  for (const k of keys) if (p[k] !== undefined) out[k] = p[k];
  return out as unknown as MeasuredProgram;
}

/** A run_programs.py output file. */
export function readProgramsMeasurement(json: string): ProgramsMeasurement {
  const d = JSON.parse(json) as ProgramsMeasurement;
  return { torch: d.torch, device: d.device, threads: d.threads, programs: d.programs.map(compared) };
}

/** The measurements stored in a committed docs/accuracy-programs.json. */
export function storedProgramsMeasurements(json: string): ProgramsMeasurement[] {
  return (JSON.parse(json) as { measured: ProgramsMeasurement[] }).measured;
}
