/**
 * The per-step terms of the estimate that do not come from the activation simulation: weights,
 * master copy, gradients, optimizer state and temporaries, EMA, DDP buckets, all-gather buffers.
 * Each term declares the inputs it reads (like a mathjs factory's dependencies) and is two small pure
 * functions over them: its bytes, and its formula with the numbers filled in. stepTotals() (the
 * recommend search's hot path) calls `bytes`; the breakdown calls `formula`; `explain` lists the
 * declared inputs with their values, so every byte can be traced to named numbers.
 */
import type { OptimizerCost } from './optimizers.js';
import type { Precision } from './tracer.js';
import { n } from './units.js';

export interface TermInputs {
  /** Trainable and frozen parameter counts. */
  P: number;
  Pf: number;
  /** Bytes of frozen weights stored in a type other than pBytes (bitsandbytes int8 / 4-bit weights and their statistics; a bf16 base under fp32 adapters), outside P and Pf. */
  qBytes: number;
  /** Bytes per parameter as stored, per optimizer-state element, per EMA element. */
  pBytes: number;
  /** Bytes per parameter as computed with (what FSDP/ZeRO-3 gathers): 2 under FSDP MixedPrecision, else pBytes. */
  gatherB: number;
  stateB: number;
  emaB: number;
  precision: Precision;
  /** GPUs, and how many ways parameters / gradients / optimizer state are sharded. */
  N: number;
  shardParams: number;
  shardGrads: number;
  shardState: number;
  ddp: boolean;
  bucketView: boolean;
  emaOnGpu: boolean;
  /** Params of the largest unit FSDP/ZeRO-3 gathers at once, and how many more are prefetched. */
  largestUnitParams: number;
  prefetch: number;
  /** The optimizer's own state and step-temporary costs (optimizers.ts). */
  opt: OptimizerCost;
}

export type TermKey = 'weights' | 'master_weights' | 'gradients' | 'optimizer_state' | 'optimizer_temps' | 'ema' | 'ddp_buckets' | 'gather_buffers';

export interface Term {
  inputs: readonly (keyof TermInputs)[];
  bytes(i: TermInputs): number;
  formula(i: TermInputs): string;
}

const sh = (k: number) => (k > 1 ? ` / ${k} GPUs` : '');

export const TERMS: Record<TermKey, Term> = {
  weights: {
    inputs: ['P', 'Pf', 'pBytes', 'qBytes', 'shardParams'],
    bytes: (i) => Math.ceil(((i.P + i.Pf) * i.pBytes + i.qBytes) / i.shardParams),
    formula: (i) =>
      `${n(i.P + i.Pf)} params x ${i.pBytes} B${i.qBytes ? ` + ${n(i.qBytes)} B of frozen weights stored in other types (quantised weights and statistics)` : ''}${sh(i.shardParams)}${i.Pf ? ` (${n(i.Pf)} frozen)` : ''}`,
  },
  master_weights: {
    // fp16 training steps an fp32 master copy of the trainable weights.
    inputs: ['P', 'precision', 'shardState'],
    bytes: (i) => (i.precision === 'fp16' ? Math.ceil((i.P * 4) / i.shardState) : 0),
    formula: (i) => `${n(i.P)} trainable params x 4 B${sh(i.shardState)}`,
  },
  gradients: {
    inputs: ['P', 'pBytes', 'shardGrads'],
    bytes: (i) => Math.ceil((i.P * i.pBytes) / i.shardGrads),
    formula: (i) => `${n(i.P)} trainable params x ${i.pBytes} B${sh(i.shardGrads)}`,
  },
  optimizer_state: {
    inputs: ['opt', 'shardState'],
    bytes: (i) => Math.ceil(i.opt.stateBytes / i.shardState),
    formula: (i) => i.opt.stateFormula + sh(i.shardState),
  },
  optimizer_temps: {
    inputs: ['opt', 'shardState'],
    bytes: (i) => Math.ceil(i.opt.stepTempBytes / i.shardState),
    formula: (i) => i.opt.stepTempFormula,
  },
  ema: {
    inputs: ['P', 'emaB', 'emaOnGpu', 'shardParams'],
    bytes: (i) => (i.emaOnGpu ? Math.ceil((i.P * i.emaB) / i.shardParams) : 0),
    formula: (i) => `${n(i.P)} trainable params x ${i.emaB} B${sh(i.shardParams)}`,
  },
  ddp_buckets: {
    // DDP's gradient buckets duplicate the gradients unless gradient_as_bucket_view=True.
    inputs: ['ddp', 'N', 'bucketView', 'P', 'pBytes', 'shardGrads'],
    bytes: (i) => (i.ddp && i.N > 1 && !i.bucketView ? TERMS.gradients.bytes(i) : 0),
    formula: (i) => `a second copy of the gradients (bucket_view: false): ${n(i.P)} x ${i.pBytes} B`,
  },
  gather_buffers: {
    // One unit (a block layer) gathered in full, plus `prefetch` more in flight.
    inputs: ['shardParams', 'largestUnitParams', 'gatherB', 'prefetch'],
    bytes: (i) => (i.shardParams > 1 ? Math.ceil(i.largestUnitParams * i.gatherB * (1 + i.prefetch)) : 0),
    formula: (i) => `largest unit's params ${n(i.largestUnitParams)} x ${i.gatherB} B x (1 + prefetch ${i.prefetch})`,
  },
};

/** `P=12,500,000, pBytes=4, shardParams=1`: a term's declared inputs with their values. */
export function inputsOf(term: Term, i: TermInputs): string {
  return term.inputs
    .map((k) => {
      const v = i[k];
      if (typeof v === 'object') return `opt=(state ${n(v.stateBytes)} B, step temporaries ${n(v.stepTempBytes)} B)`;
      return `${k}=${typeof v === 'number' ? n(v) : String(v)}`;
    })
    .join(', ');
}
