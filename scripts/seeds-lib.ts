/**
 * Loads the shipped seed models' run configs and estimates them through the library API, for
 * scripts/seeds-doc.ts (which writes docs/seeds.md), test/seeds (which checks the models) and
 * test/docs (which checks the page is current). File reading lives here, never in the pure core.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as yaml from 'js-yaml';
import {
  estimate,
  normalizeRun,
  validate,
  validateModel,
  type Estimate,
  type ModelDescriptor,
  type Preset,
  type RunConfig,
} from '../src/index.js';

/** The repository root: the first folder upward holding package.json and models/. */
export const ROOT = ((): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'models'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('repository root not found');
    dir = up;
  }
})();

export const SEED_MODELS = ['rna-multiscale', 'rna-3e-ffi', 'protein-esm', 'aam', 'peptide'] as const;
export type SeedModel = (typeof SEED_MODELS)[number];

function readYaml(file: string): Record<string, unknown> {
  return yaml.load(readFileSync(file, 'utf8'), { filename: file, schema: yaml.CORE_SCHEMA }) as Record<string, unknown>;
}

export interface SeedRun {
  /** models/<model>/<name>.yaml */
  file: string;
  name: string;
  description: string;
  raw: Record<string, unknown>;
  model: ModelDescriptor;
  run: RunConfig;
  preset?: Preset;
}

let presets: Map<string, Preset> | undefined;
export function preset(id: string): Preset {
  if (!presets) {
    presets = new Map();
    for (const f of readdirSync(join(ROOT, 'presets')).filter((x) => x.endsWith('.yaml'))) {
      const p = readYaml(join(ROOT, 'presets', f));
      validate('preset', p);
      presets.set((p as unknown as Preset).id, p as unknown as Preset);
    }
  }
  const p = presets.get(id);
  if (!p) throw new Error(`unknown preset ${id}`);
  return p;
}

/** A run config file of a seed model, with its descriptor and card. */
export function loadRun(model: SeedModel, name: string, overrides: Record<string, unknown> = {}): SeedRun {
  const file = join(ROOT, 'models', model, `${name}.yaml`);
  const raw = { ...readYaml(file), ...overrides };
  const descriptor = validateModel(readYaml(resolve(dirname(file), String(raw.model))));
  const run = normalizeRun(raw);
  const card = run.gpu?.[0] ?? run.budget?.gpu?.[0];
  return {
    file: `models/${model}/${name}.yaml`,
    name,
    description: String(raw.description ?? ''),
    raw,
    model: descriptor,
    run,
    ...(card ? { preset: preset(card) } : {}),
  };
}

/**
 * Run configs of a seed model (YAML files with a `model:` key), sorted by name. memplan.yaml, the
 * folder's default for commands without a config argument, repeats one of them and is left out.
 */
export function runNames(model: SeedModel): string[] {
  const dir = join(ROOT, 'models', model);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && f !== 'memplan.yaml')
    .filter((f) => 'model' in readYaml(join(dir, f)))
    .map((f) => f.replace(/\.yaml$/, ''))
    .sort();
}

const cache = new Map<string, Estimate>();
/** Estimates a shipped config on its own card; `overrides` replace top-level run keys. Memoised. */
export function estimateRun(model: SeedModel, name: string, overrides: Record<string, unknown> = {}): Estimate {
  const key = `${model}/${name}/${JSON.stringify(overrides)}`;
  let e = cache.get(key);
  if (!e) {
    const r = loadRun(model, name, overrides);
    e = estimate(r.model, r.run, r.preset ? { preset: r.preset } : {});
    cache.set(key, e);
  }
  return e;
}

/** Bytes of one component at the peak (0 when absent). */
export function component(e: Estimate, key: string): number {
  return e.components.filter((c) => c.key === key).reduce((a, c) => a + c.bytes, 0);
}

/** Bytes a budget's headroom asks for: a size, or a fraction of the card. */
export function headroomBytes(headroom: number | string | undefined, capacity: number): number {
  if (headroom === undefined) return 0;
  if (typeof headroom === 'number') return headroom;
  const m = /^\s*([0-9.]+)\s*(%|B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$/.exec(headroom);
  if (!m) throw new Error(`bad headroom ${headroom}`);
  const unit: Record<string, number> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40 };
  return m[2] === '%' ? (Number(m[1]) / 100) * capacity : Number(m[1]) * unit[m[2]!]!;
}
