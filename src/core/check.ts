/**
 * Memory budgets for CI: does an estimate leave the required headroom on its card? And what changed
 * since a baseline run? Pure: the CLI (`memplan check`) reads the files and prints the verdicts.
 */
import { MemplanError } from './errors.js';
import { edgeTotal, type Edge, type Estimate, type Verdict } from './estimate.js';
import { BATCH_DIM, type RunConfig } from './model.js';
import { size, parseSize } from './units.js';

export type BudgetLevel = 'error' | 'warn' | 'off';
/** PASS: within budget. WARN: over, at level warn. FAIL: over, at level error. OFF: level off, not judged. */
export type BudgetStatus = 'PASS' | 'WARN' | 'FAIL' | 'OFF';
export type Headroom = { bytes: number } | { fraction: number };

export interface BudgetSpec {
  headroom: Headroom;
  level: BudgetLevel;
  /** Which edge of the estimate's risk band is held to the budget (default the high edge). */
  edge?: Edge;
}

export interface BudgetResult {
  status: BudgetStatus;
  level: BudgetLevel;
  gpu: { id: string; name: string };
  capacity: number;
  /** The expected device total. */
  device_total: number;
  /** The edge of the risk band judged, and the device total there. */
  edge: Edge;
  judged_total: number;
  /** FITS / AT RISK / OVER against the whole card. */
  verdict?: Verdict;
  /** The headroom as written: `10%` or `2 GiB`. */
  headroom_spec: string;
  /** The headroom the budget requires, in bytes. */
  headroom_required: number;
  /** What the config may use: capacity minus the required headroom. */
  budget: number;
  /** What the card has left: capacity minus the device total (negative: does not fit at all). */
  free: number;
  /** budget minus device total: negative when over budget. */
  margin: number;
  largest: { key: string; name: string; bytes: number };
  /** One sentence: why this status. */
  message: string;
}

export const DEFAULT_BUDGET: BudgetSpec = { headroom: { bytes: 0 }, level: 'error' };

/**
 * Reads a headroom: a size string (`2GiB`, `10%`) or a byte count. A number below 1 is almost
 * certainly a fraction written without `%`, so it is refused rather than read as 0 bytes.
 */
export function parseHeadroom(v: number | string, path: string): Headroom {
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0) {
      throw new MemplanError('E_CONFIG', `headroom ${v} is not a byte count`, {
        path,
        expected: 'a whole number of bytes, a size such as 2GiB, or a percentage such as 10%',
        hint: v > 0 && v < 1 ? `write "${+(v * 100).toFixed(6)}%" for a fraction of the card` : undefined,
      });
    }
    return { bytes: v };
  }
  const h = parseSize(v, path);
  if ('fraction' in h && h.fraction >= 1) {
    throw new MemplanError('E_CONFIG', `headroom ${v} leaves nothing of the card`, { path, expected: 'a percentage below 100%' });
  }
  return h;
}

export function headroomBytes(h: Headroom, capacity: number): number {
  // Rounded up: a budget never allows a byte more than the percentage says.
  return 'bytes' in h ? h.bytes : Math.ceil(h.fraction * capacity);
}

function headroomSpec(h: Headroom): string {
  return 'bytes' in h ? size(h.bytes) : `${+(h.fraction * 100).toFixed(4)}%`;
}

/** Judges an estimate made with a card preset against a budget. */
export function checkBudget(est: Estimate, spec: BudgetSpec): BudgetResult {
  if (!est.gpu) {
    throw new MemplanError('E_CONFIG', 'a budget check needs a card', { path: 'budget.gpu', expected: 'a GPU preset id, e.g. budget: {gpu: rtx-4090}' });
  }
  const capacity = est.gpu.capacity;
  const edge = spec.edge ?? 'high';
  const total = edgeTotal(est, edge);
  const at = edge === 'expected' || !est.band ? '' : ` (the band's ${edge} edge)`;
  const required = headroomBytes(spec.headroom, capacity);
  const budget = capacity - required;
  const free = capacity - total;
  const margin = budget - total;
  const largest = est.components.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  const hs = headroomSpec(spec.headroom);
  let status: BudgetStatus;
  let message: string;
  if (spec.level === 'off') {
    status = 'OFF';
    message = `budget level off: not judged (${margin >= 0 ? `${size(margin)} under` : `${size(-margin)} over`} the budget)`;
  } else if (margin >= 0) {
    status = 'PASS';
    message = `${size(total)}${at} of ${size(budget)} budget on ${est.gpu.id} (${size(free)} left, ${size(required)} required)`;
  } else {
    status = spec.level === 'warn' ? 'WARN' : 'FAIL';
    message =
      free < 0
        ? `${size(total)}${at} does not fit ${est.gpu.id} (${size(capacity)}): over the card by ${size(-free)}${est.verdict === 'AT RISK' ? ` (AT RISK: the expected ${size(est.device_total)} fits)` : ''}`
        : `${size(total)}${at} fits ${est.gpu.id} but leaves ${size(free)}, short of the required headroom ${'fraction' in spec.headroom ? `${hs} (${size(required)})` : hs} by ${size(-margin)}`;
  }
  return {
    status,
    level: spec.level,
    gpu: { id: est.gpu.id, name: est.gpu.name },
    capacity,
    device_total: est.device_total,
    edge,
    judged_total: total,
    ...(est.verdict ? { verdict: est.verdict } : {}),
    headroom_spec: hs,
    headroom_required: required,
    budget,
    free,
    margin,
    largest: { key: largest.key, name: largest.name, bytes: largest.bytes },
    message,
  };
}

/** The settings a baseline diff compares: run settings as flat `key: value`, the resolved dimensions, the parameter count. */
export interface Settings {
  run: Record<string, string | number | boolean>;
  dims: Record<string, number>;
  params: number;
}

export function settingsOf(run: RunConfig, est: Estimate): Settings {
  const flat: Record<string, string | number | boolean> = {};
  const put = (prefix: string, v: unknown): void => {
    if (v === undefined || v === null) return;
    if (Array.isArray(v)) flat[prefix] = v.join(',');
    else if (typeof v === 'object') for (const [k, x] of Object.entries(v)) put(prefix ? `${prefix}.${k}` : k, x);
    else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') flat[prefix] = v;
  };
  const { batch_size, grad_accum, precision, optimizer, ema, checkpointing, attention, runtime, device, distributed, allocator } = run;
  put('', { batch_size, grad_accum, precision, optimizer, ema, checkpointing, attention, runtime, device, distributed, allocator });
  // The batch dimension is batch_size again.
  const dims = Object.fromEntries(Object.entries(est.dims).filter(([k]) => k !== BATCH_DIM));
  return { run: flat, dims, params: est.params.total };
}

export interface SettingChange {
  key: string;
  from: string | number | boolean | undefined;
  to: string | number | boolean | undefined;
}

/** What differs between two snapshots: run settings first (in their order), then dimensions, then the parameter count. */
export function diffSettings(before: Settings, after: Settings): SettingChange[] {
  const out: SettingChange[] = [];
  const cmp = (a: Record<string, string | number | boolean>, b: Record<string, string | number | boolean>) => {
    for (const key of new Set([...Object.keys(b), ...Object.keys(a)])) {
      if (a[key] !== b[key]) out.push({ key, from: a[key], to: b[key] });
    }
  };
  cmp(before.run, after.run);
  cmp(before.dims, after.dims);
  if (before.params !== after.params) out.push({ key: 'params', from: before.params, to: after.params });
  return out;
}

/** Command-line settings that replace a config's own budget. */
export interface BudgetOverrides {
  gpu?: string[];
  headroom?: Headroom;
  level?: BudgetLevel;
  edge?: Edge;
}

export interface ResolvedBudget {
  gpus: string[];
  /** Where the cards came from, for error locations: `--gpu`, `budget.gpu` or `gpu`. */
  gpuPath: string;
  spec: BudgetSpec;
}

/**
 * A config's budget with the command line applied. The cards come from --gpu, else budget.gpu, else
 * the config's `gpu:` when it declares a budget. No card at all is an error, never a silent pass.
 */
export function resolveBudget(run: RunConfig, o: BudgetOverrides = {}): ResolvedBudget {
  const b = run.budget;
  const [gpus, gpuPath] = o.gpu?.length ? [o.gpu, '--gpu'] : b?.gpu?.length ? [b.gpu, 'budget.gpu'] : b && run.gpu?.length ? [run.gpu, 'gpu'] : [[], 'budget'];
  if (!gpus.length) {
    throw new MemplanError('E_CONFIG', b ? 'the budget names no card' : 'no memory budget: the config declares none and no --gpu was given', {
      path: 'budget',
      expected: 'budget: {gpu: rtx-4090, headroom: 10%, level: error} in the config, or --gpu ID',
      hint: 'a config without a budget is not checked; `memplan gpus` lists the cards',
    });
  }
  const headroom = o.headroom ?? (b?.headroom !== undefined ? parseHeadroom(b.headroom, 'budget.headroom') : DEFAULT_BUDGET.headroom);
  return { gpus, gpuPath, spec: { headroom, level: o.level ?? b?.level ?? DEFAULT_BUDGET.level, edge: o.edge ?? 'high' } };
}
