/** The data recommend() and maxBatch() take and return (docs/recommend.md). */
import type { Headroom } from '../check.js';
import type { Edge, Preset, Verdict as DeviceVerdict } from '../estimate.js';
import type { RunConfig } from '../model.js';

/** A card and how many of them (data parallel, one micro-batch per GPU). */
export interface Target {
  preset: Preset;
  gpus: number;
}

/** A result-changing knob the user allows memplan to vary: `token_limit=256..1024`, `precision=bf16-mixed`. */
export interface AllowSpec {
  key: string;
  values?: (number | string)[];
  range?: [number, number];
}

export interface RecommendOptions {
  targets: Target[];
  /** Samples per optimizer step over all GPUs; default: the config's batch_size x grad_accum x gpus. */
  effectiveBatch?: number;
  allow?: AllowSpec[];
  /** How many ranked configs to return per target (default 10). */
  top?: number;
  /**
   * Headroom a proposed config must leave: bytes or a fraction of the card (default 5%). Several
   * (--margin and the config's budget.headroom): the largest applies, so `memplan check` passes
   * whatever is proposed.
   */
  margin?: Headroom | Headroom[];
  /** The edge of the risk band a config is held to (default high: an AT RISK config does not fit). */
  edge?: Edge;
}

/** The full model's risk band of a config shown (the search ranks on a cheaper approximation). */
export interface CandidateBand {
  low: number;
  high: number;
  verdict?: DeviceVerdict;
}

export interface Setting {
  knob: string;
  /** `checkpointing`, `token_limit=512`, `EMA on CPU`. */
  label: string;
  changesResults: boolean;
  note?: string;
}

export type Verdict = 'fits' | 'tight' | 'over';

export interface Candidate {
  batch_size: number;
  grad_accum: number;
  gpus: number;
  /** The knobs set differently from the config (micro-batch and accumulation aside). */
  settings: Setting[];
  changes_results: boolean;
  /** Step-time proxy relative to the fastest config that leaves the margin (1 = that one; docs/recommend.md). */
  speed: number;
  allocated: number;
  device_total: number;
  headroom: number;
  /** fits: leaves the margin; tight: fits the card but not the margin (never proposed); over. */
  verdict: Verdict;
  /** The full run config of this candidate (for `estimate`, `--write` or a YAML dump). */
  run: RunConfig;
  /** For the configs shown: the full model's band (their numbers above are the full model's too). */
  band?: CandidateBand;
}

export interface KnobInfo {
  name: string;
  values: number[];
  changes_results: boolean;
  note?: string;
  /** Whether the search varied it (result-changing knobs only with --allow). */
  varied: boolean;
}

export interface Suggestion {
  /** What to pass: `--allow spectrum_bins=10000`. */
  allow: string;
  note?: string;
  best: Candidate;
}

export interface TargetResult {
  gpu: { id: string; name: string; capacity: number; kind: 'gpu' | 'host' };
  gpus: number;
  effective_batch: number;
  /** Headroom every proposed config leaves, in bytes. */
  margin: number;
  /**
   * Candidates evaluated, skipped by monotonicity (larger micro-batches of an over family), invalid,
   * the traces computed (not those already cached by an earlier card), and rows dropped as
   * memory-equivalent to a faster or simpler one ranked above them.
   */
  searched: { evaluated: number; pruned: number; invalid: number; traces: number; duplicates: number };
  /** Candidates that leave the margin. */
  fitting: number;
  ranked: Candidate[];
  best?: Candidate;
  as_configured: Candidate;
  closest?: Candidate;
  /** One line on the top choice (or on the closest one when nothing fits). */
  summary: string;
  /** When nothing fits: not-yet-allowed knobs that would make something fit. */
  suggestions: Suggestion[];
  notes: string[];
}

export interface RecommendResult {
  model: string;
  knobs: KnobInfo[];
  targets: TargetResult[];
  fits: boolean;
}

export interface MaxBatchResult {
  gpu: { id: string; name: string; capacity: number; kind: 'gpu' | 'host' };
  gpus: number;
  /** Headroom the answer leaves at least, in bytes. */
  margin: number;
  /** Largest micro-batch per GPU that leaves the margin (0: not even 1). */
  max_batch: number;
  /** The answer as the full model estimates it; headroom at the edge held to. */
  at?: { device_total: number; headroom: number; band?: CandidateBand };
  /** The micro-batch one above: past the margin, by how much, and why. */
  next: { batch_size: number; device_total?: number; over_by?: number; largest?: string; reason?: string };
  /** Micro-batches evaluated by the search (the cheap path's and the full model's). */
  probes: number;
  /** The edge of the risk band the search held configs to. */
  edge: Edge;
  /** The run config at max_batch (for `--write`); absent when not even 1 fits. */
  run?: RunConfig;
}
