/**
 * The published GPU measurements (bench/gpu/published.yaml) against memplan and against the peers'
 * own published formulas, for scripts/accuracy-gpu.ts (docs/accuracy-gpu.md) and
 * test/bench/accuracy-gpu.test.ts (which recomputes memplan's column). File reading lives here.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as yaml from 'js-yaml';
import { estimate, normalizeRun, validateModel, type Estimate, type ModelDescriptor, type RunConfig } from '../src/index.js';
import { CachingAllocator } from '../src/core/allocator/caching.js';
import { replay, RunBuilder } from '../src/core/allocator/step.js';
import { allocatorOptionsOf, planOf } from '../src/core/allocator/run.js';
import { CONTEXT_FACTS } from '../src/core/context.js';
import { allocatorInputs, stepTotals, traceRun } from '../src/core/estimate.js';
import { numel } from '../src/core/graph.js';
import { setToNone } from '../src/core/model.js';
import { preset, ROOT } from './seeds-lib.js';

const MiB = 1024 * 1024;

export interface Source {
  url: string;
  also?: string;
  setup: string;
}

interface PublishedCase {
  config: string;
  source: Source;
  measured: { nvidia_smi_mib?: number; max_memory_allocated?: number; max_memory_reserved_gb?: number };
  /** Tokens per sample where the descriptor has no `seq` dimension (ViT: patches + class token), for llm-analysis. */
  tokens?: number;
}

interface Published {
  cases: PublishedCase[];
  setup_checks: { config: string; source: Source; measured: { context_mib: number; weights_loaded_mib: number } }[];
}

export interface CaseRow {
  name: string;
  config: string;
  description: string;
  settings: string;
  source: Source;
  level: 'device (nvidia-smi)' | 'max_memory_allocated' | 'max_memory_reserved';
  measured: number;
  memplan: number;
  errorPct: number;
  band?: { low: number; high: number; inside: boolean };
  peers: { accelerate: number; deepspeedZero2: number; deepspeedZero3: number; llmAnalysis: number };
  estimate: Estimate;
}

const CASES = join(ROOT, 'bench', 'gpu', 'cases');

function readYaml<T>(file: string): T {
  return yaml.load(readFileSync(file, 'utf8'), { filename: file, schema: yaml.CORE_SCHEMA }) as T;
}

export function loadCase(config: string): { raw: Record<string, unknown>; model: ModelDescriptor; run: RunConfig } {
  const file = join(CASES, config);
  const raw = readYaml<Record<string, unknown>>(file);
  const model = validateModel(readYaml(resolve(dirname(file), String(raw.model))));
  return { raw, model, run: normalizeRun(raw) };
}

export const pct = (pred: number, meas: number) => (100 * (pred - meas)) / meas;

/**
 * The peers, from their own published formulas (re-implemented here, inputs from the descriptor):
 * - Accelerate `estimate-memory` (accelerate/commands/estimate.py, estimate_training_usage): the peak of
 *   {model, gradients, optimizer, step} for "Training using Adam": fp32 4P, 4P, 8P, 16P (16 B/param);
 *   mixed precision 4P, 6P, 8P, 8P (8 B/param). No activations, no context.
 * - DeepSpeed estimate_zero2_model_states_mem_needs (1 GPU, no offload): 4P + 16P / gpus;
 *   estimate_zero3_model_states_mem_needs: 4 x largest layer + 18P / gpus. Model states only.
 * - llm-analysis (cli-project/llm-analysis): model states (16 B/param: fp32 4 + 4 + 8, or mixed 2 + 2 + 12)
 *   plus per-layer activations by Korthikanti et al. 2022, sbh(16e + 2) + a s^2 b (2e + 1) bytes for e-byte
 *   activations and 1-byte dropout masks (e = 2: the paper's 34 sbh + 5 a s^2 b); with full recomputation,
 *   each layer keeps its e-byte input and one layer is recomputed. No context, no allocator.
 */
export function peers(e: Estimate, run: RunConfig, largestParam: number, tokens?: number): CaseRow['peers'] {
  const P = e.params.total;
  const mixed = run.precision === 'bf16-mixed' || run.precision === 'fp16-mixed';
  const lowp = mixed || run.precision === 'bf16' || run.precision === 'fp16';
  const accelerate = lowp ? Math.max(4 * P, 6 * P, 8 * P, 8 * P) : Math.max(4 * P, 4 * P, 8 * P, 16 * P);
  const gpus = run.distributed.gpus;
  const deepspeedZero2 = 4 * P + Math.floor((16 * P) / gpus);
  const deepspeedZero3 = 4 * largestParam + Math.floor((18 * P) / gpus);
  const d = e.dims;
  const s = tokens ?? d.seq!;
  const h = d.d!;
  const a = d.heads!;
  const L = d.layers!;
  const b = run.batch_size;
  const eb = lowp ? 2 : 4;
  const perLayer = s * b * h * (16 * eb + 2) + a * s * s * b * (2 * eb + 1);
  const ckpt = run.checkpointing !== false;
  const acts = ckpt ? L * eb * s * b * h + perLayer : L * perLayer;
  return { accelerate, deepspeedZero2, deepspeedZero3, llmAnalysis: 16 * P + acts };
}

function settingsOf(run: RunConfig, e: Estimate): string {
  const opt = run.optimizer.type === 'adamw' || run.optimizer.type === 'adam' ? `${run.optimizer.type === 'adam' ? 'Adam' : 'AdamW'} (${run.optimizer.impl})` : run.optimizer.type;
  return [
    `batch ${run.batch_size} x ${run.grad_accum}`,
    e.dims.seq !== undefined ? `seq ${e.dims.seq}` : `image ${e.dims.image}`,
    run.precision,
    opt,
    run.checkpointing !== false ? 'checkpointing' : '',
    setToNone(run) ? '' : 'zero_grad keeps grads',
    `PyTorch ${run.pytorch}`,
    run.stack.cuda ? `CUDA ${run.stack.cuda}` : '',
    run.gpu?.[0] ?? '',
  ].filter(Boolean).join(', ');
}

export function caseRows(): CaseRow[] {
  const pub = readYaml<Published>(join(ROOT, 'bench', 'gpu', 'published.yaml'));
  return pub.cases.map((c) => {
    const { raw, model, run } = loadCase(c.config);
    const card = run.gpu?.[0];
    const e = estimate(model, run, card ? { preset: preset(card) } : {});
    const t = traceRun(model, run);
    const largest = Math.max(...t.trace.params.map((p) => numel(p.shape)));
    const smi = c.measured.nvidia_smi_mib;
    const resGB = c.measured.max_memory_reserved_gb;
    const level: CaseRow['level'] = smi !== undefined ? 'device (nvidia-smi)' : resGB !== undefined ? 'max_memory_reserved' : 'max_memory_allocated';
    // max_memory_reserved as the scripts print it: / 1e9, two decimals.
    const measured = smi !== undefined ? smi * MiB : resGB !== undefined ? resGB * 1e9 : c.measured.max_memory_allocated!;
    const memplan = smi !== undefined ? e.device_total : resGB !== undefined ? e.reserved : e.allocator!.allocated_peak;
    const band = smi !== undefined && e.band ? { low: e.band.low, high: e.band.high, inside: e.band.low <= measured && measured <= e.band.high } : undefined;
    return {
      name: String(raw.name),
      config: c.config,
      description: String(raw.description ?? ''),
      settings: settingsOf(run, e),
      source: c.source,
      level,
      measured,
      memplan,
      errorPct: pct(memplan, measured),
      ...(band ? { band } : {}),
      peers: peers(e, run, largest, c.tokens),
      estimate: e,
    };
  });
}

/**
 * The page's readings before training: the context (torch.ones on the card), then the weights moved to
 * the card. memplan: the pre-11.7 context (the page's own reading, so not a check) plus the allocator's
 * segments for every parameter tensor and the 512 B tensor (setup only, no step).
 */
export function setupCheck(): { measured: number; memplan: number; errorPct: number; context: number; weights: number; source: Source } {
  const pub = readYaml<Published>(join(ROOT, 'bench', 'gpu', 'published.yaml'));
  const c = pub.setup_checks[0]!;
  const { model, run } = loadCase(c.config);
  const t = traceRun(model, run, { events: true });
  const m = stepTotals(t, run);
  const b = new RunBuilder();
  b.setLabel('torch.ones((1, 1)).to("cuda")');
  b.alloc(4);
  b.setup(planOf(allocatorInputs(t, run, m)));
  const r = replay(b.out, allocatorOptionsOf(run, undefined, Infinity));
  const context = CONTEXT_FACTS.eagerPreLazy.bytes;
  const memplan = context + r.reservedPeak;
  const measured = c.measured.weights_loaded_mib * MiB;
  return { measured, memplan, errorPct: pct(memplan, measured), context, weights: r.reservedPeak, source: c.source };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}


/**
 * nn.MultiheadAttention registers one packed in_proj_weight [3d, d] where memplan's attention has four
 * [d, d] projections: the same parameter count, but other block sizes for the caching allocator. Replays
 * ViT-L/16's parameter tensors in torchvision's registration order five times over (weights, gradients,
 * Adam's m and v, the foreach step's sqrt(v)) through the simulated allocator, packed and unpacked, and
 * returns the reserved bytes of each: what the packing alone is worth, before any activation.
 */
export function packedInProjCheck(bytesPerElement: number): { packed: number; separate: number } {
  const d = 1024;
  const f = 4096;
  const B = bytesPerElement;
  const tensors = (packed: boolean): number[] => {
    const ps: number[] = [d * 16 * 16 * 3 * B, d * B, d * B, 197 * d * B]; // conv_proj, its bias, class token, pos embedding
    for (let i = 0; i < 24; i++) {
      ps.push(d * B, d * B); // ln_1
      if (packed) ps.push(3 * d * d * B, 3 * d * B);
      else for (let j = 0; j < 3; j++) ps.push(d * d * B, d * B);
      ps.push(d * d * B, d * B, d * B, d * B, f * d * B, f * B, d * f * B, d * B); // out_proj, ln_2, fc1, fc2
    }
    ps.push(d * B, d * B, 10 * d * B, 10 * B); // ln, head
    return ps;
  };
  const reserved = (packed: boolean): number => {
    const a = new CachingAllocator();
    const ps = tensors(packed);
    for (let copy = 0; copy < 5; copy++) for (const s of ps) a.malloc(s);
    return a.stats.reserved;
  };
  return { packed: reserved(true), separate: reserved(false) };
}
