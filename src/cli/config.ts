/**
 * The CLI's half of loading a config: `--set` overrides applied before validation, and every error
 * raised while loading or estimating located at the file and line, or the option, it is about. The
 * loaders themselves (shared with the library, src/files.ts) are src/io/load.ts.
 */
import { MemplanError } from '../core/errors.js';
import { display } from '../io/files.js';
import { loadConfig, type LoadedConfig, type LoadOptions } from '../io/load.js';
import { lineOf } from '../io/locate.js';
import { applySets } from './options.js';

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
export function withConfig<R>(file: string, sets: readonly string[], fn: (cfg: LoadedConfig) => R, opts: LoadOptions = {}): R {
  const origin = new Map<string, string>();
  let cfg: LoadedConfig | undefined;
  const locate = (e: unknown): never => {
    throw e instanceof MemplanError ? locateError(e, cfg, origin) : e;
  };
  try {
    cfg = loadConfig(file, (raw) => applySets(raw, sets, origin), opts);
    const r = fn(cfg);
    return (r instanceof Promise ? r.catch(locate) : r) as R;
  } catch (e) {
    return locate(e);
  }
}
