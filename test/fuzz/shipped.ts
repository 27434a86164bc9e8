/**
 * The largest figure of each limited quantity over every shipped run config (models/, test/fixtures/,
 * bench/torch/cases/): what docs/security.md and src/core/limits.ts cite, and what a test holds the
 * limits far above. `node dist/scripts/limits-stats.js` prints them.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { loadConfig, loadPresets } from '../../src/io/load.js';
import { assemble } from '../../src/core/model.js';
import { recommend } from '../../src/core/recommend.js';

export interface ShippedStats {
  configs: number;
  /** A config's bytes plus its model file's. */
  fileBytes: { value: number; file: string };
  yamlNodes: { value: number; file: string };
  exprLength: { value: number; file: string };
  repeat: { value: number; file: string };
  chunks: { value: number; file: string };
  ops: { value: number; file: string };
  dimension: { value: number; file: string };
  /** recommend on three cards with every knob allowed: traces x ops per trace. */
  searchOps: { value: number; file: string };
}

/** Run configs under `dir`: YAML files with a top-level model: key. */
export function runConfigs(root: string, dirs = ['models', 'test/fixtures', 'bench/torch/cases']): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(f) && /^model\s*:/m.test(readFileSync(p, 'utf8'))) out.push(p);
    }
  };
  for (const d of dirs) walk(join(root, d));
  return out;
}

function nodes(v: unknown): number {
  if (Array.isArray(v)) return 1 + v.reduce((a: number, x) => a + nodes(x), 0);
  if (v && typeof v === 'object') return 1 + Object.values(v).reduce((a: number, x) => a + nodes(x), 0);
  return 1;
}

function strings(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => strings(x, out));
  else if (v && typeof v === 'object') Object.values(v).forEach((x) => strings(x, out));
  return out;
}

/** Keys of a block that hold words, not numbers or expressions. */
const WORDS = new Set(['type', 'name', 'doc', 'from', 'kind', 'lifetime', 'dtype', 'attention', 'activation', 'norm', 'pool', 'dim']);

/** Expressions in a descriptor: dimension values, a block's number keys and shapes, knob values. */
function expressions(model: Record<string, unknown>): string[] {
  const dims = Object.values((model.dims ?? {}) as Record<string, unknown>).map((d) => (d && typeof d === 'object' ? (d as { value: unknown }).value : d));
  // A group's `blocks:` are blocks too: their words (doc, name) are no expressions either.
  const inner = (v: unknown): unknown =>
    Array.isArray(v) ? v.map((x) => (x && typeof x === 'object' ? fromBlock(x as Record<string, unknown>) : x)) : v && typeof v === 'object' ? fromBlock(v as Record<string, unknown>) : v;
  const fromBlock = (b: Record<string, unknown>): unknown[] => Object.entries(b).filter(([k]) => !WORDS.has(k)).map(([, v]) => inner(v));
  const blocks = (model.blocks as Record<string, unknown>[]).flatMap(fromBlock);
  const knobs = Object.values((model.knobs ?? {}) as Record<string, { values: unknown }>).map((k) => k.values);
  return strings([...dims, ...blocks, ...knobs]);
}

export function shippedStats(root: string, opts: { search?: boolean } = {}): ShippedStats {
  const zero = { value: 0, file: '' };
  const s: ShippedStats = { configs: 0, fileBytes: zero, yamlNodes: zero, exprLength: zero, repeat: zero, chunks: zero, ops: zero, dimension: zero, searchOps: zero };
  const top = (key: Exclude<keyof ShippedStats, 'configs'>, value: number, file: string) => {
    if (value > s[key].value) s[key] = { value, file };
  };
  const presets = loadPresets();
  const cards = ['rtx-4090', 'a100-80', 'h200'].map((id) => ({ preset: presets.get(id)!, gpus: 1 }));
  for (const file of runConfigs(root)) {
    const rel = file.slice(root.length).replace(/^\//, '');
    let cfg;
    try {
      cfg = loadConfig(file);
    } catch {
      continue; // fixtures made to fail
    }
    s.configs++;
    const texts = [cfg.text, cfg.modelText ?? ''];
    top('fileBytes', texts.reduce((a, t) => a + Buffer.byteLength(t), 0), rel);
    for (const t of texts) if (t) top('yamlNodes', nodes(yaml.load(t)), rel);
    for (const e of expressions(cfg.model as unknown as Record<string, unknown>)) top('exprLength', e.length, rel);
    let a;
    try {
      a = assemble(cfg.model, cfg.run);
    } catch {
      continue;
    }
    for (const b of a.blocks) {
      top('repeat', b.repeat, rel);
      top('chunks', b.chunks, rel);
    }
    top('ops', a.trace.ops.length, rel);
    for (const v of a.dims.values()) top('dimension', v, rel);
    if (opts.search && cfg.run.runtime !== 'tfjs') {
      try {
        const knobs = Object.keys(cfg.model.knobs ?? {}).map((key) => ({ key }));
        const r = recommend(cfg.model, cfg.run, { targets: cards, allow: [...knobs, { key: 'precision' }] });
        const traces = 1 + r.targets.reduce((sum, t) => sum + t.searched.traces, 0);
        top('searchOps', traces * a.trace.ops.length, rel);
      } catch {
        // A config recommend refuses (a fixture made to) has no search to measure.
      }
    }
  }
  return s;
}
