/**
 * Hugging Face config.json files: `memplan import` writes a descriptor and a starter run config from
 * one, and `estimate` / `recommend` / `check` accept one (or a model directory holding one) in place of
 * a run config, imported on the fly by load.ts (the pure conversion is src/core/hf-import.ts).
 */
import { existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { MemplanError } from '../core/errors.js';
import { importHfConfig, type HfImport, type HfImportOptions } from '../core/hf-import.js';
import { display, fileError, readBounded } from './files.js';

/**
 * A Hugging Face config.json: a directory holding one (a model directory), or a .json file with a
 * `model_type` and neither `model:` nor `blocks:` (a JSON run config or descriptor stays one). Its path, else undefined.
 */
export function hfConfigPath(file: string): string | undefined {
  const abs = resolve(file);
  let st;
  try {
    st = statSync(abs);
  } catch {
    return undefined;
  }
  if (st.isDirectory()) {
    const inner = join(abs, 'config.json');
    return existsSync(inner) ? inner : undefined;
  }
  if (!basename(abs).endsWith('.json')) return undefined;
  const r = readBounded(abs);
  if (r.problem !== undefined) return undefined;
  try {
    const d = JSON.parse(r.text) as unknown;
    return d && typeof d === 'object' && !Array.isArray(d) && 'model_type' in d && !('model' in d) && !('blocks' in d) ? abs : undefined;
  } catch {
    return undefined;
  }
}

/** Parses and converts a config.json; errors name the file. */
export function readHfConfig(file: string, opts: HfImportOptions = {}): HfImport {
  const r = readBounded(file);
  if (r.problem !== undefined) throw fileError(display(file), r);
  const text = r.text;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new MemplanError('E_YAML', `invalid JSON: ${(e as Error).message}`, { file: display(file), expected: 'a Hugging Face config.json' });
  }
  try {
    return importHfConfig(data, opts);
  } catch (e) {
    if (e instanceof MemplanError) e.at(display(file));
    throw e;
  }
}
