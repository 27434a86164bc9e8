/**
 * `--write FILE`: a chosen config as a run config YAML that `estimate` and `check` accept: the model
 * path relative to the new file (or the model inline), every setting spelled out, and a budget on
 * the card it was chosen for with the headroom it was chosen to leave.
 */
import { writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import * as yaml from 'js-yaml';
import { MemplanError } from '../core/errors.js';
import type { RunConfig } from '../core/model.js';
import { display } from '../io/files.js';
import { type LoadedConfig } from '../io/load.js';

/** The run as YAML data: claims and notes belong to the source config, not to this one. */
export function runConfigData(run: RunConfig, model: string | object, gpu: string, headroom: number): Record<string, unknown> {
  const { batch_size, grad_accum, precision, optimizer, ema, checkpointing, attention, runtime, device, pytorch, distributed, allocator, dims } = run;
  return {
    ...(run.name ? { name: `${run.name}-recommended` } : {}),
    model,
    batch_size, grad_accum, precision, optimizer, ema, checkpointing, attention, runtime, device, pytorch, distributed, allocator,
    ...(Object.keys(dims).length ? { dims } : {}),
    gpu,
    budget: { gpu, headroom, level: 'error' },
  };
}

/** Writes the file; returns its path for display. */
export function writeRunConfig(file: string, cfg: LoadedConfig, run: RunConfig, gpu: string, headroom: number, why: string): string {
  const out = resolve(file);
  const model = cfg.modelFile ? relative(dirname(out), cfg.modelFile) || '.' : cfg.model;
  const text = [
    `# Written by memplan recommend from ${display(cfg.file)}: ${why.replace(/\n/g, ' ')}`,
    `# The budget holds it to the headroom it was chosen to leave (${headroom} bytes): memplan check passes it.`,
    yaml.dump(runConfigData(run, model, gpu, headroom), { lineWidth: 100, noRefs: true }),
  ].join('\n');
  try {
    writeFileSync(out, text);
  } catch (e) {
    throw new MemplanError('E_FILE', `cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { path: '--write' });
  }
  return display(out);
}
