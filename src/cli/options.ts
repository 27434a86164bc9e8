/** Shared option parsing: --set key=value overrides and --format. */
import * as yaml from 'js-yaml';
import { MemplanError } from '../core/errors.js';

export type Format = 'table' | 'json' | 'markdown';

export function parseFormat(v: string | undefined, allowed: readonly string[] = ['table', 'json', 'markdown']): string {
  const f = v ?? 'table';
  if (!allowed.includes(f)) {
    throw new MemplanError('E_OPTION', `unknown format "${f}"`, { path: '--format', expected: allowed.join(', ') });
  }
  return f;
}

/** Run-config keys --set can reach directly; any other key is a dimension override. */
const RUN_KEYS = new Set([
  'batch_size', 'grad_accum', 'precision', 'optimizer', 'ema', 'checkpointing', 'attention', 'runtime', 'device', 'pytorch', 'gpu',
]);
const NESTED = new Set(['optimizer', 'ema', 'distributed', 'allocator', 'budget', 'dims']);

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
    let value: unknown;
    try {
      value = yaml.load(text, { schema: yaml.CORE_SCHEMA });
    } catch {
      value = text;
    }
    const [head, ...rest] = key.split('.');
    if (rest.length && head && NESTED.has(head)) {
      const cur = raw[head];
      const obj: Record<string, unknown> =
        typeof cur === 'object' && cur && !Array.isArray(cur) ? { ...(cur as Record<string, unknown>) } : head === 'optimizer' && typeof cur === 'string' ? { type: cur } : head === 'optimizer' && cur === undefined ? { type: 'adamw' /* normalizeRun's default */ } : head === 'ema' && typeof cur === 'boolean' ? { enabled: cur } : {};
      obj[rest.join('.')] = value;
      raw[head] = obj;
      origin?.set(head === 'dims' ? `dims.${rest.join('.')}` : key, s);
    } else if (RUN_KEYS.has(key)) {
      raw[key] = value;
      origin?.set(key, s);
    } else {
      raw.dims = { ...((raw.dims as Record<string, unknown>) ?? {}), [key]: value };
      origin?.set(`dims.${key}`, s);
    }
  }
}
