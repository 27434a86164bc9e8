/**
 * What an estimate is (the result of estimate.ts, estimate-tfjs.ts and buildEstimate): types only, in
 * their own module so the runtimes, the claims and the consumers read an estimate without importing
 * the code that builds it (no import circle through estimate.ts).
 */
import type { AllocatorReport } from './allocator/run.js';
import type { ClaimResult } from './claim-keys.js';
import type { ContextModel } from './context.js';
import type { BlockInfo } from './model.js';
import type { Preset } from './preset.js';
import type { SavedItem } from './runtime/pytorch-sim.js';

/** The verdict at the band's chosen edge. */
export type Verdict = 'FITS' | 'AT RISK' | 'OVER';
export type Edge = 'low' | 'expected' | 'high';

/** Low / expected / high device totals from the uncertain parts (context, allocator, stack). */
export interface RiskBand {
  low: number;
  expected: number;
  high: number;
  parts: { part: 'context' | 'allocator' | 'stack'; low: number; expected: number; high: number; why: string }[];
  calibrated: boolean;
}

export type ComponentKey =
  | 'weights' | 'master_weights' | 'gradients' | 'optimizer_state' | 'ema' | 'autocast_cache' | 'input_batch'
  | 'buffers' | 'saved_activations' | 'loss_buffers' | 'activation_grads' | 'transients' | 'optimizer_temps'
  | 'ddp_buckets' | 'gather_buffers' | 'allocator' | 'cuda_context';

export interface Component {
  key: ComponentKey;
  name: string;
  bytes: number;
  formula: string;
  /** Which level it belongs to: tensor bytes (allocated), allocator (reserved), device total. */
  level: 'allocated' | 'reserved' | 'device';
  /** Per-block split of saved activations. */
  parts?: { name: string; bytes: number; formula: string }[];
}

export type PhaseName = 'forward' | 'backward' | 'recompute' | 'optimizer step' | 'ema update';

export interface PhasePeak {
  name: string;
  phase: PhaseName;
  step: 'step 1' | 'steady';
  microbatch: 'first' | 'later' | '-';
  allocated: number;
  at?: string;
}

export interface Estimate {
  model: string;
  runtime: 'pytorch' | 'tfjs';
  /** `inference`: model.eval() under torch.no_grad() (a forward pass, nothing trains). */
  mode?: 'train' | 'inference';
  precision: string;
  batch_size: number;
  grad_accum: number;
  effective_batch: number;
  gpus: number;
  dims: Record<string, number>;
  params: { total: number; trainable: number; frozen: number };
  blocks: (BlockInfo & { saved_bytes: number })[];
  /** The components alive at the peak, summing to `device_total`. */
  components: Component[];
  peak: PhasePeak;
  phases: PhasePeak[];
  step1_allocated: number;
  steady_allocated: number;
  allocated: number;
  reserved: number;
  device_total: number;
  forward_saved: number;
  saved_items: SavedItem[];
  gpu?: { id: string; name: string; capacity: number; context: number; kind: 'gpu' | 'host' };
  /** Where the tensors live: cuda (a card) or cpu (host RAM). */
  device?: 'cuda' | 'cpu';
  fits?: boolean;
  headroom?: number;
  /** FITS (the band's high edge fits), AT RISK (the expected total fits, the high edge does not), OVER (the expected total does not fit). */
  verdict?: Verdict;
  band?: RiskBand;
  /** The caching allocator simulated over the whole run (absent on the CPU or with a fixed `allocator.fragmentation`). */
  allocator?: AllocatorReport;
  context?: ContextModel;
  notes: string[];
  /** The step's persistent terms (whatever the peak phase), for claims and comparisons. */
  totals?: { weights: number; gradients: number; optimizer_state: number; ema: number; master_weights: number; loss_buffers: number };
  /** Every per-step term (terms.ts) with its bytes, its declared inputs and their values, and its formula. */
  terms?: { key: string; bytes: number; inputs: string; formula: string }[];
  /** The run config's `claims:` (a hand-made table's numbers) checked against this estimate. */
  claims?: ClaimResult[];
  /** runtime tfjs: per-step peaks over the bytes allocated at the step's start (what the probe measures). */
  tfjs?: { optimizer: string; baseline: number; steps: { step: number; peak: number; phase: string; at: string; newBytes: number }[] };
}

export interface EstimateOptions {
  preset?: Preset;
}
