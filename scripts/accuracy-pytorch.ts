/**
 * docs/accuracy-pytorch.md and .json: the one function that turns (memplan's predictions, what
 * bench/torch/validate.py measured) into both files. `npm run validate:torch` (scripts/validate-torch.mjs)
 * calls it with a fresh measurement; the staleness test calls it with the measurement stored in the
 * committed .json and requires both committed files byte for byte, so every prediction, error, headline
 * figure and count on the page is recomputed, and the .md and .json cannot disagree.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { loadConfig, ROOT } from '../src/cli/load.js';
import { estimate } from '../src/core/estimate.js';

/** One case as validate.py reports it (the fields memplan reads; the rest is carried as data). */
export interface MeasuredCase {
  config: string;
  error?: string;
  params?: number;
  trainable?: number;
  forward_saved?: number;
  step1_peak?: number;
  step2_peak?: number;
  steps?: { step: number; peak: number; forward_saved?: number; fwd_peaks?: number[]; bwd_peaks?: number[]; opt_ema_peak?: number; max_reserved?: number; device_used?: number; device_name?: string }[];
  [key: string]: unknown;
}

/** validate.py's output: the framework, device and threads that measured, and the cases. */
export interface Measurement {
  torch: string;
  device: string;
  threads: number;
  cases: MeasuredCase[];
}

/** memplan's numbers for one case, estimated for the device and PyTorch version that measured. */
export interface CasePrediction {
  model: string;
  params: number;
  trainable: number;
  forward_saved: number;
  step1: number;
  step2: number;
  reserved: number;
  /** The same case under PyTorch 2.x rules, when the measurement was torch 1.x. */
  v2?: { forward_saved: number; step1: number; step2: number };
}

export const CASES_DIR = join(ROOT, 'bench/torch/cases');
export const HEAD_FILE = join(ROOT, 'bench/torch/ACCURACY_head.md');
/** A case fails outside this; the median must stay within MEDIAN_TARGET_PCT. */
export const CASE_TARGET_PCT = 5;
export const MEDIAN_TARGET_PCT = 2;

const abs = (config: string) => (isAbsolute(config) ? config : resolve(ROOT, config));

/** The run keys memplan estimates a measurement with: its device, and torch 1.x -> "1.13", 2.x -> "2". */
export function measuredRunKeys(m: Pick<Measurement, 'device' | 'torch'>): { device: 'cuda' | 'cpu'; pytorch: '1.13' | '2' } {
  return { device: m.device === 'cuda' ? 'cuda' : 'cpu', pytorch: m.torch.startsWith('1.') ? '1.13' : '2' };
}

/** memplan's prediction for a case config (absolute, or relative to the repository root). */
export function predictCase(config: string, m: Pick<Measurement, 'device' | 'torch'>): CasePrediction {
  const cfg = loadConfig(abs(config));
  const run = { ...cfg.run, ...measuredRunKeys(m) };
  const est = estimate(cfg.model, run);
  const p: CasePrediction = {
    model: cfg.model.name,
    params: est.params.total,
    trainable: est.params.trainable,
    forward_saved: est.forward_saved,
    step1: est.step1_allocated,
    step2: est.steady_allocated,
    reserved: est.reserved,
  };
  if (run.pytorch === '1.13') {
    const e2 = estimate(cfg.model, { ...run, pytorch: '2' });
    p.v2 = { forward_saved: e2.forward_saved, step1: e2.step1_allocated, step2: e2.steady_allocated };
  }
  return p;
}

export const QUANTITIES = [
  ['forward_saved', 'forward_saved', 'forward_saved'],
  ['step 1 peak', 'step1_peak', 'step1'],
  ['step 2 peak', 'step2_peak', 'step2'],
] as const;

export interface Quantity {
  predicted: number;
  measured: number;
  error_pct: number;
}

export interface AccuracyPytorchRow {
  name: string;
  error?: string;
  model?: string;
  quantities?: Record<string, Quantity>;
  param_mismatch?: string;
  cuda?: { reserved_predicted: number; reserved_measured: number | undefined; device_used: number | undefined; device_name: string | undefined };
  v2?: CasePrediction['v2'];
}

export interface AccuracyPytorch {
  /** docs/<docName>.md and .json. */
  docName: string;
  md: string;
  json: string;
  rows: AccuracyPytorchRow[];
  median: number;
  max: number;
  /** Cases outside CASE_TARGET_PCT, that failed to run, or whose parameter counts differ. */
  failed: AccuracyPytorchRow[];
  met: boolean;
}

/** (predicted - measured) / measured in percent; 0 measured counts as 100% off unless 0 was predicted. */
export function errorPct(predicted: number, measured: number): number {
  return measured === 0 ? (predicted === 0 ? 0 : 100) : ((predicted - measured) / measured) * 100;
}

export function median(sorted: readonly number[]): number {
  const n = sorted.length;
  if (!n) return 0;
  return n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
}

const fmt = (b: number) => b.toLocaleString('en-US');
const pct = (e: number) => `${e >= 0 ? '+' : ''}${e.toFixed(2)}%`;

/**
 * Both files for a measurement. `predict` is memplan's side (predictCase, or a stand-in in tests);
 * `head` is the page's hand-written part (bench/torch/ACCURACY_head.md).
 */
export function accuracyPytorch(measured: Measurement, predict: (config: string) => CasePrediction = (c) => predictCase(c, measured), head = readFileSync(HEAD_FILE, 'utf8')): AccuracyPytorch {
  const rows: AccuracyPytorchRow[] = [];
  const errors: number[] = [];
  for (const m of measured.cases) {
    const name = relative(CASES_DIR, abs(m.config)).replace(/\.yaml$/, '');
    if (m.error) {
      rows.push({ name, error: m.error });
      continue;
    }
    const p = predict(m.config);
    const row: AccuracyPytorchRow = { name, model: p.model, quantities: {} };
    // The PyTorch model must be the model memplan traced: same parameter counts.
    if (m.params !== p.params || m.trainable !== p.trainable) {
      row.param_mismatch = `torch ${m.params} (${m.trainable} trainable) vs memplan ${p.params} (${p.trainable})`;
    }
    for (const [label, mk, pk] of QUANTITIES) {
      const meas = m[mk] as number;
      const err = errorPct(p[pk], meas);
      row.quantities![label] = { predicted: p[pk], measured: meas, error_pct: err };
      errors.push(Math.abs(err));
    }
    if (measured.device === 'cuda') {
      const s = m.steps?.[m.steps.length - 1];
      row.cuda = { reserved_predicted: p.reserved, reserved_measured: s?.max_reserved, device_used: s?.device_used, device_name: s?.device_name };
    }
    if (p.v2) row.v2 = p.v2;
    rows.push(row);
  }
  errors.sort((a, b) => a - b);
  const med = median(errors);
  const max = errors.length ? errors[errors.length - 1]! : 0;
  const failed = rows.filter((r) => r.error || r.param_mismatch || Object.values(r.quantities ?? {}).some((q) => Math.abs(q.error_pct) > CASE_TARGET_PCT));
  const met = failed.length === 0 && med <= MEDIAN_TARGET_PCT;

  let md = head.trimEnd() + '\n\n';
  md += `## Results (generated by \`npm run validate:torch\`; torch ${measured.torch}, device ${measured.device}, ${measured.threads} thread)\n\n`;
  md += `Error = (predicted - measured) / measured. ${rows.length} cases, ${errors.length} quantities: **median |error| ${med.toFixed(2)}%, max |error| ${max.toFixed(2)}%**`;
  md += ` (target: every case within ${CASE_TARGET_PCT}%, median within ${MEDIAN_TARGET_PCT}%: ${met ? 'met' : 'NOT met'}).\n\n`;
  md += scopeOf(measured, rows.length) + '\n\n';
  md += '| case | quantity | predicted (B) | measured (B) | error |\n|---|---|---:|---:|---:|\n';
  for (const r of rows) {
    if (r.error) {
      md += `| ${r.name} | - | - | - | ${r.error} |\n`;
      continue;
    }
    for (const [label, q] of Object.entries(r.quantities!)) md += `| ${r.name} | ${label} | ${fmt(q.predicted)} | ${fmt(q.measured)} | ${pct(q.error_pct)} |\n`;
  }
  const v2rows = rows.filter((r) => r.v2 && (r.v2.forward_saved !== r.quantities!.forward_saved!.predicted || r.v2.step2 !== r.quantities!['step 2 peak']!.predicted));
  if (v2rows.length) {
    md += '\n### The same cases predicted with PyTorch 2.x rules (`pytorch: "2"`, the default)\n\n';
    md += 'Evidence for the `pytorch: "1.13"` rules: error against the torch 1.13 measurement when they are off.\n\n';
    md += '| case | forward_saved 2.x rules | error | step 2 peak 2.x rules | error |\n|---|---:|---:|---:|---:|\n';
    for (const r of v2rows) {
      const fs = r.quantities!.forward_saved!.measured;
      const s2 = r.quantities!['step 2 peak']!.measured;
      md += `| ${r.name} | ${fmt(r.v2!.forward_saved)} | ${pct(((r.v2!.forward_saved - fs) / fs) * 100)} | ${fmt(r.v2!.step2)} | ${pct(((r.v2!.step2 - s2) / s2) * 100)} |\n`;
    }
  }
  if (measured.device === 'cuda') {
    md += '\n### CUDA allocator and device totals\n\n| case | reserved predicted | max reserved measured | device used (total - free) | GPU |\n|---|---:|---:|---:|---|\n';
    for (const r of rows) if (r.cuda) md += `| ${r.name} | ${fmt(r.cuda.reserved_predicted)} | ${fmt(r.cuda.reserved_measured ?? NaN)} | ${fmt(r.cuda.device_used ?? NaN)} | ${r.cuda.device_name} |\n`;
  }
  // One page per device and PyTorch generation: the CPU / 1.13 page, the CPU / 2.x page, the CUDA page.
  const docName = measured.device === 'cuda' ? 'accuracy-pytorch-cuda' : measured.torch.startsWith('1.') ? 'accuracy-pytorch' : 'accuracy-pytorch-2';
  const json =
    JSON.stringify(
      {
        torch: measured.torch,
        device: measured.device,
        threads: measured.threads,
        median_abs_error_pct: med,
        max_abs_error_pct: max,
        rows,
        measured: measured.cases.map((c) => ({ ...c, config: relative(ROOT, abs(c.config)) })),
      },
      null,
      1,
    ) + '\n';
  return { docName, md, json, rows, median: med, max, failed, met };
}

/** What the headline figures cover, said next to them: framework, device, case set, and what they do not cover. */
export function scopeOf(m: Pick<Measurement, 'torch' | 'device' | 'threads'>, cases: number): string {
  const { device, pytorch } = measuredRunKeys(m);
  const parts = [
    `**Scope of these figures**: PyTorch ${m.torch} on ${device === 'cuda' ? 'CUDA' : `CPU (${m.threads} thread)`}, the ${cases} cases in` +
      ' `bench/torch/cases/`, each built in PyTorch by `bench/torch/models.py` from memplan\'s own descriptor of it.',
  ];
  if (device === 'cpu') {
    parts.push('The CPU / torch-1.13 rules listed above were developed against these same cases (and the per-op measurements in `bench/torch/FACTS.md`): they are not a held-out test.');
    parts.push('The CUDA path (`device: cuda`, memplan\'s default: caching allocator, context, reserved bytes) is not measured here.');
  }
  if (pytorch === '1.13') {
    parts.push('Nor is PyTorch 2 (`pytorch: "2"`, the default): its rules are compared with these 1.13 measurements in the table below, where they differ.');
  }
  return parts.join(' ');
}

/** The measurement stored in a committed .json (validate.py's output, configs relative to the root). */
export function storedMeasurement(json: string): Measurement {
  const d = JSON.parse(json) as { torch: string; device: string; threads: number; measured: MeasuredCase[] };
  return { torch: d.torch, device: d.device, threads: d.threads, cases: d.measured };
}

/** A `--measured` file: validate.py's own output, or a committed page's .json (its stored measurement). */
export function readMeasurement(json: string): Measurement {
  const d = JSON.parse(json) as Partial<Measurement> & { measured?: unknown };
  return d.measured ? storedMeasurement(json) : (d as Measurement);
}
