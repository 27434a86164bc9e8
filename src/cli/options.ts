/** Shared option parsing: --set key=value overrides and --format. */
import * as yaml from 'js-yaml';
import { MemplanError } from '../core/errors.js';
import type { Edge } from '../core/estimate.js';

export type Format = 'table' | 'json' | 'markdown';

export function parseFormat(v: string | undefined, allowed: readonly string[] = ['table', 'json', 'markdown']): string {
  const f = v ?? 'table';
  if (!allowed.includes(f)) {
    throw new MemplanError('E_OPTION', `unknown format "${f}"`, { path: '--format', expected: allowed.join(', ') });
  }
  return f;
}

export const EDGES: readonly Edge[] = ['low', 'expected', 'high'];

/** --edge: which edge of the risk band decides fits / over (default the high edge). */
export function parseEdge(v: string | undefined): Edge {
  const e = v ?? 'high';
  if (!EDGES.includes(e as Edge)) throw new MemplanError('E_OPTION', `unknown edge "${e}"`, { path: '--edge', expected: EDGES.join(', ') });
  return e as Edge;
}

/** Run-config keys --set can reach directly; any other key is a dimension override. */
const RUN_KEYS = new Set([
  'batch_size', 'grad_accum', 'precision', 'optimizer', 'ema', 'checkpointing', 'attention', 'runtime', 'device', 'pytorch', 'gpu', 'set_to_none',
  'mode', 'lora', 'quantization', 'kv_cache',
]);
const NESTED = new Set(['optimizer', 'ema', 'distributed', 'allocator', 'budget', 'dims', 'lora', 'quantization', 'kv_cache', 'stack']);

/** Probe backends (`--backend`, for `probe` and `recommend --verify`). */
export const BACKENDS = ['wasm', 'cpu', 'node', 'node-gpu'] as const;

export function parseBackend(v: string | undefined): (typeof BACKENDS)[number] | undefined {
  if (v === undefined) return undefined;
  if (!(BACKENDS as readonly string[]).includes(v)) {
    throw new MemplanError('E_OPTION', `unknown backend "${v.length > 40 ? `${v.slice(0, 40)}...` : v}"`, { path: '--backend', expected: BACKENDS.join(', ') });
  }
  return v as (typeof BACKENDS)[number];
}

/**
 * A number option, written as a plain decimal number: `Number(' ')` is 0 and `Number('0x10')` is
 * 16, so the text is matched first and a blank or odd value is refused as what it is.
 */
export function parseNumber(v: string | undefined, flag: string, o: { integer?: boolean; min?: number; max?: number; above?: number } = {}): number | undefined {
  if (v === undefined) return undefined;
  const shown = v.length > 40 ? `${v.slice(0, 40)}...` : v;
  const what = o.integer ? 'a whole number' : 'a number';
  const range = [o.above !== undefined ? `> ${o.above}` : o.min !== undefined ? `>= ${o.min}` : '', o.max !== undefined ? `<= ${o.max}` : ''].filter(Boolean).join(' and ');
  const expected = `${what}${range ? ` ${range}` : ''}`;
  if (!(o.integer ? /^\s*\d+\s*$/ : /^\s*(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i).test(v)) {
    throw new MemplanError('E_OPTION', `${flag} "${shown}" is not ${what}`, { path: flag, expected });
  }
  const x = Number(v);
  if (!Number.isFinite(x) || (o.min !== undefined && x < o.min) || (o.above !== undefined && !(x > o.above)) || (o.max !== undefined && x > o.max)) {
    throw new MemplanError('E_OPTION', `${flag} ${shown} is out of range`, { path: flag, expected });
  }
  return x;
}

export function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

/**
 * Applies `key=value` overrides to a raw run config; values are read as YAML scalars (8, true,
 * bf16-mixed). Records in `origin` the config path each override wrote (`optimizer.impl`,
 * `dims.seq`) and the option as typed, so an error there points at the option, not at the file.
 */
export function applySets(raw: Record<string, unknown>, sets: readonly string[], origin?: Map<string, string>): void {
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) {
      throw new MemplanError('E_OPTION', `--set "${s}" is not key=value`, {
        path: '--set',
        expected: 'key=value, e.g. --set batch_size=8 --set token_limit=512',
        hint: 'run keys (batch_size, precision, optimizer.impl, ...) or a dimension the model declares',
      });
    }
    const key = s.slice(0, eq).trim();
    const text = s.slice(eq + 1).trim();
    if (text === '') {
      // `--set gpu=$GPU` with GPU unset: reading it as "no value" would silently drop the setting.
      throw new MemplanError('E_OPTION', `--set ${key}= has no value`, {
        path: `--set ${s}`,
        expected: `${key}=VALUE`,
        hint: 'a shell variable that expanded to nothing? quote the value, or leave the option out',
      });
    }
    let value: unknown;
    try {
      value = yaml.load(text, { schema: yaml.CORE_SCHEMA });
    } catch {
      value = text;
    }
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new MemplanError('E_OPTION', `--set ${key}=${text}: ${text} is not a finite number`, { path: `--set ${s}`, expected: 'a finite number, or an expression over the dimensions' });
    }
    const [head, ...rest] = key.split('.');
    if (rest.length && head && NESTED.has(head)) {
      const cur = raw[head];
      const obj: Record<string, unknown> =
        typeof cur === 'object' && cur && !Array.isArray(cur) ? { ...(cur as Record<string, unknown>) } : head === 'optimizer' && typeof cur === 'string' ? { type: cur } : head === 'optimizer' && cur === undefined ? { type: 'adamw' /* normalizeRun's default */ } : head === 'ema' && typeof cur === 'boolean' ? { enabled: cur } : {};
      setOwn(obj, rest.join('.'), value);
      setOwn(raw, head, obj);
      origin?.set(head === 'dims' ? `dims.${rest.join('.')}` : key, s);
    } else if (RUN_KEYS.has(key)) {
      setOwn(raw, key, value);
      origin?.set(key, s);
    } else {
      const dims: Record<string, unknown> = { ...((raw.dims as Record<string, unknown>) ?? {}) };
      setOwn(dims, key, value);
      setOwn(raw, 'dims', dims);
      origin?.set(`dims.${key}`, s);
    }
  }
}

/**
 * `obj[key] = value` as an own property whatever the key: `--set budget.__proto__=...` must add
 * a key the schema refuses, not swap the object's prototype (which would slip values in unseen).
 */
function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}
