/**
 * docs/accuracy-pytorch.md and .json: the one function that turns (memplan's predictions, what
 * bench/torch/validate.py measured) into both files. `npm run validate:torch` (scripts/validate-torch.mjs)
 * calls it with a fresh measurement; the staleness test calls it with the measurement stored in the
 * committed .json and requires both committed files byte for byte, so every prediction, error, headline
 * figure and count on the page is recomputed, and the .md and .json cannot disagree.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { loadConfig, loadPresets, ROOT } from '../src/io/load.js';
import { estimate, type Preset } from '../src/core/estimate.js';

/** One case as validate.py reports it (the fields memplan reads; the rest is carried as data). */
export interface MeasuredCase {
  config: string;
  error?: string;
  params?: number;
  trainable?: number;
  forward_saved?: number;
  step1_peak?: number;
  step2_peak?: number;
  steps?: { step: number; peak: number; forward_saved?: number; fwd_peaks?: number[]; bwd_peaks?: number[]; opt_ema_peak?: number; max_reserved?: number; device_used?: number; context?: number; device_name?: string }[];
  /** CUDA: torch.cuda.max_memory_allocated over the case (the largest step peak). */
  max_memory_allocated_case?: number;
  [key: string]: unknown;
}

/** validate.py's output: the framework, device and threads that measured, and the cases. */
export interface Measurement {
  torch: string;
  device: string;
  threads: number;
  cases: MeasuredCase[];
  /** CUDA runs: torch.version.cuda, CUDA_MODULE_LOADING, the card, its total memory, the run's seconds. */
  cuda?: string | null;
  cuda_module_loading?: string;
  device_name?: string;
  device_total?: number;
  seconds?: number;
  /** --device cuda where torch.cuda.is_available() is False: why, and no cases. */
  unavailable?: string;
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
  /** CUDA: max_memory_allocated as the simulated allocator counts it, and with the card's preset the device total and context. */
  allocated_peak?: number;
  device_total?: number;
  context?: number;
  preset?: string;
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

/**
 * The shipped card preset for a measured GPU: the card's model in its name ("NVIDIA H200" -> h200, "NVIDIA
 * A100-SXM4-80GB" -> a100-80) with the capacity within 5%; else the capacity alone within 2%.
 */
export function cardPreset(name = '', total = 0): Preset | undefined {
  if (!total) return undefined;
  const presets = [...loadPresets().values()].filter((p) => p.kind === 'gpu');
  const near = (p: Preset, tol: number) => Math.abs(p.capacity_bytes - total) / total < tol;
  const lower = name.toLowerCase();
  return presets.find((p) => lower.includes(p.id.split('-')[p.id.startsWith('rtx') ? 1 : 0]!) && near(p, 0.05)) ?? presets.find((p) => near(p, 0.02));
}

/** memplan's prediction for a case config (absolute, or relative to the repository root). */
export function predictCase(config: string, m: Pick<Measurement, 'device' | 'torch'> & Partial<Measurement>): CasePrediction {
  const cfg = loadConfig(abs(config));
  const run = { ...cfg.run, ...measuredRunKeys(m) };
  let preset: Preset | undefined;
  if (run.device === 'cuda') {
    // The measured stack (CUDA version and module loading: the context model) and the card's preset.
    const cuda = /^(\d+\.\d+)/.exec(m.cuda ?? '')?.[1];
    run.stack = { ...run.stack, ...(cuda ? { cuda } : {}), module_loading: /^(EAGER|DEFAULT)/i.test(m.cuda_module_loading ?? '') ? 'eager' : 'lazy' };
    preset = cardPreset(m.device_name, m.device_total);
  }
  const est = estimate(cfg.model, run, preset ? { preset } : {});
  const p: CasePrediction = {
    model: cfg.model.name,
    params: est.params.total,
    trainable: est.params.trainable,
    forward_saved: est.forward_saved,
    step1: est.step1_allocated,
    step2: est.steady_allocated,
    reserved: est.reserved,
  };
  if (run.device === 'cuda') {
    p.allocated_peak = est.allocator?.allocated_peak ?? est.steady_allocated;
    if (preset) Object.assign(p, { device_total: est.device_total, context: est.context?.bytes ?? 0, preset: preset.id });
  }
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
  cuda?: { preset: string | null; allocated: Quantity; reserved: Quantity; device_total?: Quantity; context?: Quantity; device_name: string | undefined };
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
      const q = (predicted: number, meas: number): Quantity => ({ predicted, measured: meas, error_pct: errorPct(predicted, meas) });
      row.cuda = {
        preset: p.preset ?? null,
        // torch.cuda.max_memory_allocated over the case vs memplan's (block sizes); the case's reserved peak.
        allocated: q(p.allocated_peak ?? p.step2, m.max_memory_allocated_case ?? m.step2_peak ?? 0),
        reserved: q(p.reserved, s?.max_reserved ?? 0),
        ...(p.device_total !== undefined ? { device_total: q(p.device_total, s?.device_used ?? 0), context: q(p.context ?? 0, s?.context ?? 0) } : {}),
        device_name: s?.device_name,
      };
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
    md += '\n### The CUDA allocator, the device total and the context\n\n';
    md += `${measured.device_name}, ${fmt(measured.device_total ?? 0)} B; CUDA ${measured.cuda}, module loading ${measured.cuda_module_loading}; ${measured.seconds} s in all. `;
    md += 'allocated: torch.cuda.max_memory_allocated over the case vs memplan\'s (block sizes); reserved: the case\'s peak of memory_reserved vs the simulated allocator\'s; ';
    md += 'device total: mem_get_info\'s total - free at the end of step 2 vs memplan\'s device total; context: that less memory_reserved vs memplan\'s context (with the card preset named).\n\n';
    md += '| case | preset | allocated: memplan / measured | reserved: memplan / measured | device total: memplan / measured | context: memplan / measured |\n|---|---|---:|---:|---:|---:|\n';
    const cell = (q?: Quantity) => (q ? `${fmt(q.predicted)} / ${fmt(q.measured)} (${pct(q.error_pct)})` : '-');
    for (const r of rows) if (r.cuda) md += `| ${r.name} | ${r.cuda.preset ?? '-'} | ${cell(r.cuda.allocated)} | ${cell(r.cuda.reserved)} | ${cell(r.cuda.device_total)} | ${cell(r.cuda.context)} |\n`;
  }
  // One page per device and PyTorch generation: the CPU / 1.13 page, the CPU / 2.x page, the CUDA page.
  const docName = measured.device === 'cuda' ? 'accuracy-pytorch-cuda' : measured.torch.startsWith('1.') ? 'accuracy-pytorch' : 'accuracy-pytorch-2';
  const json =
    JSON.stringify(
      {
        torch: measured.torch,
        device: measured.device,
        threads: measured.threads,
        ...(measured.device === 'cuda'
          ? { cuda: measured.cuda, cuda_module_loading: measured.cuda_module_loading, device_name: measured.device_name, device_total: measured.device_total, seconds: measured.seconds }
          : {}),
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
  const d = JSON.parse(json) as Omit<Measurement, 'cases'> & { measured: MeasuredCase[] };
  const { measured, ...rest } = d;
  const keep = ['torch', 'device', 'threads', 'cuda', 'cuda_module_loading', 'device_name', 'device_total', 'seconds'] as const;
  return { ...Object.fromEntries(keep.filter((k) => rest[k] !== undefined).map((k) => [k, rest[k]])), cases: measured } as Measurement;
}

/** A `--measured` file: validate.py's own output, or a committed page's .json (its stored measurement). */
export function readMeasurement(json: string): Measurement {
  const d = JSON.parse(json) as Partial<Measurement> & { measured?: unknown };
  return d.measured ? storedMeasurement(json) : (d as Measurement);
}

/** docs/accuracy-pytorch-cuda.md where no GPU answered: what the run would measure, and that it was not run. */
export function notRunPage(m: Pick<Measurement, 'unavailable'>, cudaCases: readonly string[], budgetS: number): string {
  return `# memplan's PyTorch estimates against real PyTorch on a GPU

**Not run: no GPU.** \`npm run validate:torch -- --device cuda\` found none: ${m.unavailable}.
Every number memplan states for a GPU (reserved, the largest free block, fragmentation, the device total, the
CUDA context) is so far built from PyTorch's source (the caching allocator, ported in src/core/allocator/) and
published measurements ([accuracy-gpu.md](accuracy-gpu.md)), not from a run of this script.

## What the run measures

On the short case list in scripts/validate-torch.mjs (CUDA_CASES: ${cudaCases.length} cases, one warm-up and two training steps
each; it starts no case after ${budgetS} s, so it ends in under 8 minutes), per case, after torch.cuda.empty_cache():

* **allocated**: torch.cuda.max_memory_allocated over the case, against memplan's max_memory_allocated (its
  simulated allocator's block sizes);
* **reserved**: the peak of torch.cuda.memory_reserved over the case, against the simulated reserved peak;
* **device total**: mem_get_info's total - free at the end of step 2 (the context plus everything reserved),
  against memplan's device total with the card's preset;
* **context**: that device total less memory_reserved at the same moment, against memplan's context model
  (the measured CUDA version and module loading, the preset's values);
* torch.cuda.memory_stats(), which \`memplan calibrate\` reads (docs/calibrate.md);
* and, as on the CPU pages, forward_saved and the step 1 / step 2 peaks.

Run it where a GPU and PyTorch 2 are: \`PYTHON=/path/to/python npm run validate:torch -- --device cuda\`. It
rewrites this page with the table.
`;
}
