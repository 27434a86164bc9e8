/**
 * File I/O for the CLI: YAML run configs, model descriptors and GPU presets. Every error carries the
 * file (and the line, where the path can be found in the text) so it prints as
 * `models/aam/model.yaml:14: blocks[3].heads`.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as yaml from 'js-yaml';
import { MemplanError } from '../core/errors.js';
import type { Preset } from '../core/estimate.js';
import { normalizeRun, validateModel, type ModelDescriptor, type RunConfig } from '../core/model.js';
import { findPreset } from '../core/names.js';
import { validate } from '../core/schema.js';
import { lineOf } from './locate.js';
import { applySets } from './options.js';

/** The package root (bin/, presets/, models/ live here): found upward from this module, bundled or not. */
export const ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

function findRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'presets')) && existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) return resolve(start, '../../..');
    dir = up;
  }
}

export function display(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new MemplanError('E_FILE', code === 'ENOENT' ? `no such file: ${display(file)}` : `cannot read ${display(file)}: ${code ?? (e as Error).message}`, {
      file: display(file),
      expected: 'a readable YAML file',
      hint: code === 'ENOENT' ? 'check the path; model paths in a run config are relative to the config file' : undefined,
    });
  }
}

export function readYaml(file: string): { data: unknown; text: string } {
  const text = readText(file);
  try {
    return { data: yaml.load(text, { filename: file, schema: yaml.CORE_SCHEMA }), text };
  } catch (e) {
    const err = e as { reason?: string; mark?: { line: number }; message: string };
    throw new MemplanError('E_YAML', `invalid YAML: ${err.reason ?? err.message}`, {
      file: display(file),
      line: err.mark ? err.mark.line + 1 : undefined,
      expected: 'block-style YAML: `key: value` mappings and `- ` lists, indented with spaces',
      hint: 'check indentation and quoting near that line',
    });
  }
}

/** Runs `fn`, attaching file and line to any MemplanError it throws. */
function within<R>(file: string, text: string, fn: () => R, prefix?: string): R {
  try {
    return fn();
  } catch (e) {
    if (e instanceof MemplanError) {
      e.at(display(file), prefix);
      if (e.line === undefined && e.path && e.file === display(file)) e.line = lineOf(text, e.path.replace(/ \(override\)$/, ''));
    }
    throw e;
  }
}

export interface LoadedConfig {
  file: string;
  model: ModelDescriptor;
  modelFile?: string;
  modelText?: string;
  text: string;
  run: RunConfig;
  raw: Record<string, unknown>;
}

export function loadModelFile(file: string): { model: ModelDescriptor; text: string } {
  const { data, text } = readYaml(file);
  return { model: within(file, text, () => validateModel(data)), text };
}

/**
 * Loads a run config (or a bare model descriptor, run with defaults). `mutate` applies --set
 * overrides to the raw config before validation, so a bad override is reported like a bad file.
 */
export function loadConfig(file: string, mutate?: (raw: Record<string, unknown>) => void): LoadedConfig {
  const abs = resolve(file);
  const { data, text } = readYaml(abs);
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new MemplanError('E_SCHEMA', 'expected a mapping (a run config with model:, or a model descriptor with blocks:)', { file: display(abs) });
  }
  let raw = data as Record<string, unknown>;
  let model: ModelDescriptor;
  let modelFile: string | undefined;
  let modelText: string | undefined;
  if ('blocks' in raw && !('model' in raw)) {
    model = within(abs, text, () => validateModel(raw));
    raw = { model: '(inline)' };
  } else {
    if (typeof raw.model === 'string') {
      modelFile = resolve(dirname(abs), raw.model);
      if (!existsSync(modelFile)) {
        // Point at the config line that names it: that is what the user has to fix.
        throw new MemplanError('E_FILE', `model file not found: ${display(modelFile)}`, {
          file: display(abs),
          path: 'model',
          line: lineOf(text, 'model'),
          expected: 'a path to a model descriptor, relative to the config file',
          hint: `check the path; it is read from ${display(dirname(abs)) || '.'}/`,
        });
      }
      const m = loadModelFile(modelFile);
      model = m.model;
      modelText = m.text;
    } else if (raw.model && typeof raw.model === 'object') {
      model = within(abs, text, () => validateModel(raw.model), 'model');
    } else {
      throw new MemplanError('E_SCHEMA', 'missing required key "model"', { file: display(abs), path: 'model', expected: 'a path to a model descriptor, or one inline' });
    }
  }
  const rest = { ...raw };
  mutate?.(rest);
  const run = within(abs, text, () => normalizeRun({ ...rest, model: typeof rest.model === 'string' ? rest.model : {} }));
  return { file: abs, model, modelFile, modelText, text, run, raw: rest };
}

let presetCache: Map<string, Preset> | undefined;

export function loadPresets(dir = join(ROOT, 'presets')): Map<string, Preset> {
  if (presetCache && dir === join(ROOT, 'presets')) return presetCache;
  const out = new Map<string, Preset>();
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.yaml')).sort()) {
    const file = join(dir, f);
    const { data, text } = readYaml(file);
    within(file, text, () => validate('preset', data));
    const p = data as Preset;
    out.set(p.id, p);
  }
  presetCache = out;
  return out;
}

/** A preset by id, alias or a near spelling (`4090`, `H100`, `A100-80GB`); did-you-mean when unknown. */
export function getPreset(id: string): Preset {
  return findPreset(loadPresets(), id);
}

/** Run-config keys: errors under them belong to the config file, all others to the model. */
const MODEL_PATH = /^(blocks|dims|knobs)\b/;

/**
 * Says where an error raised while estimating came from, when the core could only give a path:
 * an option (`--set seq=0`, recorded in `origin` by applySets), the run config, or the model file.
 */
export function locateError(e: MemplanError, cfg: LoadedConfig | undefined, origin: ReadonlyMap<string, string>): MemplanError {
  const path = e.path?.replace(/ \(override\)$/, '');
  if (path === undefined || path.startsWith('--')) return e;
  for (const [key, option] of origin) {
    if (path === key || path.startsWith(`${key}.`) || path.startsWith(`${key}[`) || key.startsWith(`${path}.`)) {
      e.file = undefined;
      e.line = undefined;
      e.path = `--set ${option}`;
      return e;
    }
  }
  if (e.file || !cfg) return e;
  const override = e.path !== path || (path.startsWith('dims.') && e.code === 'E_CONFIG');
  if (!MODEL_PATH.test(path) || override) {
    e.file = display(cfg.file);
    e.path = path;
    e.line = lineOf(cfg.text, path);
  } else if (cfg.modelFile && cfg.modelText !== undefined) {
    e.file = display(cfg.modelFile);
    e.line = lineOf(cfg.modelText, path);
  } else {
    // Inline model: under `model:` in the config, or the config is itself a model descriptor.
    const inline = isRecord(cfg.raw.model) ? `model.${path}` : path;
    e.file = display(cfg.file);
    e.path = inline;
    e.line = lineOf(cfg.text, inline);
  }
  return e;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Loads a config with `--set` overrides applied and runs `fn` on it (sync or async). Any MemplanError
 * raised on the way, while loading or later while estimating, searching or probing, is given the
 * file and line, or the `--set` option, it is about: one place for every command that reads a config.
 */
export function withConfig<R>(file: string, sets: readonly string[], fn: (cfg: LoadedConfig) => R): R {
  const origin = new Map<string, string>();
  let cfg: LoadedConfig | undefined;
  const locate = (e: unknown): never => {
    throw e instanceof MemplanError ? locateError(e, cfg, origin) : e;
  };
  try {
    cfg = loadConfig(file, (raw) => applySets(raw, sets, origin));
    const r = fn(cfg);
    return (r instanceof Promise ? r.catch(locate) : r) as R;
  } catch (e) {
    return locate(e);
  }
}
