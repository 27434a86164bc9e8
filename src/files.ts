/**
 * The library's file-reading half: load a run config or a preset from disk and estimate a file in
 * one call. The core (src/core) stays free of I/O; these wrap the CLI's loaders, so a library user
 * gets the same validation and the same located errors (`MemplanError` with file, line and path).
 */
import { withClaims } from './core/claims.js';
import { estimate, type Estimate, type Preset } from './core/estimate.js';
import type { ModelDescriptor, RunConfig } from './core/model.js';
import { getPreset, loadConfig, loadPresets } from './io/load.js';

export interface LoadedRun {
  /** Absolute path of the run config. */
  file: string;
  /** Absolute path of the model descriptor it names (absent for an inline model). */
  modelFile?: string;
  model: ModelDescriptor;
  /** The run settings with every default filled in. */
  run: RunConfig;
}

/** Reads a run config (or a bare model descriptor, run with the defaults) and the model it names. */
export function loadRun(path: string): LoadedRun {
  const c = loadConfig(path);
  return { file: c.file, ...(c.modelFile ? { modelFile: c.modelFile } : {}), model: c.model, run: c.run };
}

/** A card or host-RAM preset by id or alias (`rtx-4090`, `4090`, `h100`, `A100-80GB`). */
export function loadPreset(id: string): Preset {
  return getPreset(id);
}

/** Every preset: the shipped ones under presets/, then MEMPLAN_PRESETS folders merged over them (docs/cli.md). */
export function listPresets(): Preset[] {
  return [...loadPresets().values()];
}

/** Estimates a run config file on a card: `gpu` (id, alias or preset), else the config's own `gpu:`, else none. */
export function estimateFile(path: string, opts: { gpu?: string | Preset } = {}): Estimate {
  const { model, run } = loadRun(path);
  const id = opts.gpu ?? run.gpu?.[0] ?? run.budget?.gpu?.[0];
  const preset = id === undefined ? undefined : typeof id === 'string' ? loadPreset(id) : id;
  return withClaims(estimate(model, run, preset ? { preset } : {}), run.claims);
}
