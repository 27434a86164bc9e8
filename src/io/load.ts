/**
 * File I/O for the CLI and the library (src/files.ts): YAML run configs, model descriptors and GPU
 * presets. Every error carries the file (and the line, where the path can be found in the text) so it
 * prints as `models/aam/model.yaml:14: blocks[3].heads`. The CLI's own half (--set overrides, errors
 * located at an option) is src/cli/config.ts.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as yaml from 'js-yaml';
import { MemplanError } from '../core/errors.js';
import { count, LIMITS } from '../core/limits.js';
import { confine, display, fileError, readBounded } from './files.js';
import type { Preset } from '../core/preset.js';
import { normalizeRun, validateModel, type ModelDescriptor, type RunConfig } from '../core/model.js';
import { findPreset } from '../core/names.js';
import { validate } from '../core/schema.js';
import { lineOf } from './locate.js';
import { hfConfigPath, readHfConfig } from './hf.js';

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

function readText(file: string): string {
  const r = readBounded(file);
  if (r.problem !== undefined) throw fileError(display(file), r);
  return r.text;
}

export interface ReadOptions {
  /**
   * A file named by another (a run config's `model:`): nothing read from it is echoed until it is
   * known to be a model descriptor, so a path to a secret never prints the secret (docs/security.md).
   */
  referenced?: boolean;
}

export function readYaml(file: string, opts: ReadOptions = {}): { data: unknown; text: string } {
  return parseYaml(file, readText(file), opts);
}

/** YAML text (read from `file`) as data, with the document's size, aliases and numbers checked. */
export function parseYaml(file: string, text: string, opts: ReadOptions = {}): { data: unknown; text: string } {
  let data: unknown;
  try {
    data = yaml.load(text, { filename: file, schema: yaml.CORE_SCHEMA });
  } catch (e) {
    const err = e as { reason?: string; mark?: { line: number }; message: string };
    const reason = err.reason ?? err.message.split('\n')[0]!;
    throw new MemplanError('E_YAML', `invalid YAML: ${opts.referenced ? withoutQuotes(reason) : reason}`, {
      file: display(file),
      line: err.mark ? err.mark.line + 1 : undefined,
      expected: 'block-style YAML: `key: value` mappings and `- ` lists, indented with spaces',
      hint: 'check indentation and quoting near that line',
    });
  }
  const problem = inspectTree(data);
  if (problem) {
    const line = problem.path ? lineOf(text, problem.path) : undefined;
    throw new MemplanError(problem.code, problem.message, { file: display(file), path: problem.path || undefined, line, expected: problem.expected, hint: problem.hint });
  }
  return { data, text };
}

/** js-yaml's reason with quoted parts (an alias or tag name taken from the file) left out. */
function withoutQuotes(reason: string): string {
  return reason.replace(/"[^"]*"/g, '"..."').replace(/!<[^>]*>/g, '!<...>').replace(/'[^']*'/g, "'...'");
}

interface TreeProblem {
  code: 'E_YAML' | 'E_TOO_LARGE' | 'E_SCHEMA';
  message: string;
  path: string;
  expected: string;
  hint?: string;
}

/**
 * Walks a loaded YAML document once, sharing the work for aliased nodes: refuses a document whose
 * aliases expand past LIMITS.yamlNodes nodes (an alias bomb: a few hundred bytes, billions of
 * nodes to anything that walks it), an alias that contains itself, and numbers that are not finite
 * (YAML's .inf and .nan: no size, count or setting is infinite). Iterative, so a long chain of
 * aliases cannot exhaust the call stack.
 */
export function inspectTree(root: unknown): TreeProblem | undefined {
  const sizes = new Map<object, number>();
  const open = new Set<object>();
  type Frame = { node: object; path: string; entries: [string, unknown][]; i: number; size: number };
  const children = (node: object): [string, unknown][] =>
    Array.isArray(node) ? node.map((v, i) => [`[${i}]`, v]) : Object.entries(node).map(([k, v]) => [k, v]);
  const join = (path: string, key: string) => (key.startsWith('[') ? `${path}${key}` : path ? `${path}.${key}` : key);
  const tooBig = (path: string): TreeProblem => ({
    code: 'E_TOO_LARGE',
    message: `with its aliases expanded, the document has more than ${count(LIMITS.yamlNodes)} nodes`,
    path,
    expected: `at most ${count(LIMITS.yamlNodes)} YAML nodes`,
    hint: 'YAML aliases (*name) repeat what their anchor holds; memplan files need few of them (docs/security.md)',
  });
  const scalar = (v: unknown, path: string): TreeProblem | undefined =>
    typeof v === 'number' && !Number.isFinite(v)
      ? {
          code: 'E_SCHEMA',
          message: `${path || 'the document'}: value ${Number.isNaN(v) ? '.nan' : v > 0 ? '.inf' : '-.inf'} is not a finite number`,
          path,
          expected: 'a finite number',
          // masked_fill(mask, float('-inf')): the fill value changes no byte.
          ...(/\.value$/.test(path) ? { hint: "an op's value does not change its memory: write a finite stand-in (e.g. -1e9 for float('-inf'))" } : {}),
        }
      : undefined;
  if (root === null || typeof root !== 'object') return scalar(root, '');
  const stack: Frame[] = [{ node: root, path: '', entries: children(root), i: 0, size: 1 }];
  open.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    if (top.i < top.entries.length) {
      const [key, v] = top.entries[top.i++]!;
      const path = join(top.path, key);
      if (v === null || typeof v !== 'object') {
        const bad = scalar(v, path);
        if (bad) return bad;
        top.size += 1;
      } else if (open.has(v)) {
        return { code: 'E_YAML', message: 'a YAML alias refers to a node that contains it', path, expected: 'aliases to complete nodes only', hint: 'an alias (*name) must not sit inside the node its anchor (&name) marks' };
      } else {
        const known = sizes.get(v);
        if (known !== undefined) top.size += known;
        else {
          open.add(v);
          stack.push({ node: v, path, entries: children(v), i: 0, size: 1 });
        }
      }
      if (top.size > LIMITS.yamlNodes) return tooBig(top.path);
      continue;
    }
    stack.pop();
    open.delete(top.node);
    sizes.set(top.node, top.size);
    const parent = stack[stack.length - 1];
    if (parent) {
      parent.size += top.size;
      if (parent.size > LIMITS.yamlNodes) return tooBig(parent.path);
    }
  }
  return undefined;
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

export interface LoadOptions {
  /** --allow-outside: a run config's `model:` may name a file outside the config's repository. */
  allowOutside?: boolean;
}

/**
 * Reads the model file a run config names, with everything that can go wrong located at the
 * config's `model:` line (what the user has to fix): a path out of the repository, a file that is
 * missing, not a regular file or too large, a file that is no model descriptor. What the file holds
 * is echoed only once it is known to be a descriptor (a mapping with a `blocks:` list).
 */
function readModelOf(abs: string, text: string, model: string, opts: LoadOptions): { model: ModelDescriptor; modelFile: string; modelText: string } {
  const at = { file: display(abs), path: 'model', line: lineOf(text, 'model') };
  if (model.trim() === '') {
    throw new MemplanError('E_SCHEMA', 'model: is an empty path', { ...at, expected: 'a path to a model descriptor, relative to the config file, or the descriptor inline' });
  }
  const modelFile = resolve(dirname(abs), model);
  const refused = confine(modelFile, abs, opts.allowOutside ?? false);
  if (refused) {
    throw new MemplanError('E_FILE', `model file ${display(modelFile)} is refused: ${refused}`, {
      ...at,
      expected: "a model descriptor inside the config's repository: the nearest directory above the config that holds .git, else the config's own directory",
      hint: 'move the descriptor into the repository, or pass --allow-outside if you trust the config (docs/security.md)',
    });
  }
  const r = readBounded(modelFile);
  if (r.problem !== undefined) {
    if (r.code === 'ENOENT') {
      // Point at the config line that names it: that is what the user has to fix.
      throw new MemplanError('E_FILE', `model file not found: ${display(modelFile)}`, {
        ...at,
        expected: 'a path to a model descriptor, relative to the config file',
        hint: `check the path; it is read from ${display(dirname(abs)) || '.'}/`,
      });
    }
    throw fileError(display(modelFile), r, at);
  }
  const { data, text: modelText } = parseYaml(modelFile, r.text, { referenced: true });
  if (!isRecord(data) || !Array.isArray(data.blocks)) {
    throw new MemplanError('E_SCHEMA', `model file ${display(modelFile)} is not a model descriptor`, {
      ...at,
      expected: 'a YAML mapping with name: and a blocks: list (docs/descriptor.md)',
      hint: 'model: names the descriptor file; nothing of a file that is not one is shown',
    });
  }
  return { model: within(modelFile, modelText, () => validateModel(data)), modelFile, modelText };
}

/** A config.json as a loaded run config: the imported descriptor with the starter run settings, --set applied. */
export function loadHfConfig(file: string, mutate?: (raw: Record<string, unknown>) => void): LoadedConfig {
  const imp = readHfConfig(file);
  const raw: Record<string, unknown> = { ...imp.run, model: '(imported)' };
  mutate?.(raw);
  let run;
  try {
    run = normalizeRun(raw);
  } catch (e) {
    if (e instanceof MemplanError) e.at(display(file));
    throw e;
  }
  const notes = [`imported from ${display(file)} (${imp.model.description ?? imp.family})`, ...imp.notes];
  run.notes = [...notes, ...(run.notes ?? [])];
  return { file, model: imp.model, text: '', run, raw };
}

/**
 * Loads a run config (or a bare model descriptor, run with defaults). `mutate` applies --set
 * overrides to the raw config before validation, so a bad override is reported like a bad file.
 */
export function loadConfig(file: string, mutate?: (raw: Record<string, unknown>) => void, opts: LoadOptions = {}): LoadedConfig {
  // A Hugging Face config.json (or a model directory holding one) is imported on the fly.
  const hf = hfConfigPath(file);
  if (hf) return loadHfConfig(hf, mutate);
  const abs = resolve(file);
  const { data, text } = readYaml(abs);
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new MemplanError('E_SCHEMA', 'expected a mapping (a run config with model:, or a model descriptor with blocks:)', { file: display(abs) });
  }
  let raw = data as Record<string, unknown>;
  let model: ModelDescriptor;
  let modelFile: string | undefined;
  let modelText: string | undefined;
  if (Object.hasOwn(raw, 'blocks') && !Object.hasOwn(raw, 'model')) {
    model = within(abs, text, () => validateModel(raw));
    raw = { model: '(inline)' };
  } else if (typeof raw.model === 'string') {
    ({ model, modelFile, modelText } = readModelOf(abs, text, raw.model, opts));
  } else if (isRecord(raw.model)) {
    model = within(abs, text, () => validateModel(raw.model), 'model');
  } else {
    const missing = raw.model === undefined;
    throw new MemplanError('E_SCHEMA', missing ? 'missing required key "model"' : 'model: is neither a path nor a mapping', {
      file: display(abs),
      path: 'model',
      line: missing ? undefined : lineOf(text, 'model'),
      expected: 'a path to a model descriptor, or one inline',
    });
  }
  const rest = { ...raw };
  mutate?.(rest);
  const run = within(abs, text, () => normalizeRun({ ...rest, model: typeof rest.model === 'string' ? rest.model : {} }));
  within(abs, text, () => checkCards(run));
  return { file: abs, model, modelFile, modelText, text, run, raw: rest };
}

/**
 * Every card a config names must exist, in `gpu:` and in `budget.gpu:` alike: `check` reads the
 * budget's cards and `estimate` the first of `gpu:`, and neither may pass a config the other refuses.
 */
function checkCards(run: RunConfig): void {
  for (const [key, ids] of [['gpu', run.gpu], ['budget.gpu', run.budget?.gpu]] as const) {
    (ids ?? []).forEach((id, i) => {
      try {
        getPreset(id);
      } catch (e) {
        if (e instanceof MemplanError) e.path = ids!.length > 1 ? `${key}[${i}]` : key;
        throw e;
      }
    });
  }
}

/** User preset folders: `--presets DIR` (set by the CLI) and MEMPLAN_PRESETS (folders joined by the path delimiter). */
let userPresetDirs: string[] = [];
let presetCache: { key: string; presets: Map<string, Preset> } | undefined;

/** Sets the folders given with --presets (they come after MEMPLAN_PRESETS, so they win). */
export function setPresetDirs(dirs: readonly string[]): void {
  userPresetDirs = [...dirs];
}

/** The preset folders in merge order (later wins): shipped, MEMPLAN_PRESETS, --presets. */
export function presetDirs(): { dir: string; origin: string }[] {
  const env = (process.env.MEMPLAN_PRESETS ?? '').split(delimiter).filter((d) => d.trim());
  return [
    { dir: join(ROOT, 'presets'), origin: 'shipped' },
    ...env.map((d) => ({ dir: resolve(d), origin: `MEMPLAN_PRESETS ${display(resolve(d))}` })),
    ...userPresetDirs.map((d) => ({ dir: resolve(d), origin: `--presets ${display(resolve(d))}` })),
  ];
}

function readPresetDir(dir: string, origin: string, out: Map<string, Preset>): void {
  let files: string[];
  try {
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
    files = readdirSync(dir).filter((x) => x.endsWith('.yaml') || x.endsWith('.yml')).sort();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new MemplanError('E_FILE', `cannot read the preset folder ${display(dir)}: ${code === 'ENOENT' ? 'no such folder' : (code ?? (e as Error).message)}`, {
      path: origin.startsWith('--') ? '--presets' : origin.startsWith('MEMPLAN') ? 'MEMPLAN_PRESETS' : undefined,
      expected: 'a folder of preset YAML files (schema/preset.schema.json)',
    });
  }
  for (const f of files) {
    const file = join(dir, f);
    const { data, text } = readYaml(file);
    within(file, text, () => validate('preset', data));
    const p = { ...(data as Preset), origin: origin === 'shipped' ? 'shipped' : `${origin}/${f}` };
    if (p.origin !== 'shipped' && out.has(p.id)) p.origin += ` (replaces ${out.get(p.id)!.origin === 'shipped' ? 'the shipped preset' : out.get(p.id)!.origin})`;
    out.set(p.id, p);
  }
}

/** Every preset: the shipped ones, then user folders merged over them (a user preset with a shipped id replaces it). */
export function loadPresets(dirs = presetDirs()): Map<string, Preset> {
  const key = JSON.stringify(dirs);
  if (presetCache?.key === key) return presetCache.presets;
  const out = new Map<string, Preset>();
  for (const { dir, origin } of dirs) readPresetDir(dir, origin, out);
  presetCache = { key, presets: out };
  return out;
}

/** A preset by id, alias or a near spelling (`4090`, `H100`, `A100-80GB`); did-you-mean when unknown. */
export function getPreset(id: string): Preset {
  return findPreset(loadPresets(), id);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
