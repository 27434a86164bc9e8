/**
 * Run-level settings of large-language-model workloads, read by the LLM blocks (blocks/llm-common.ts):
 * LoRA adapters over a frozen base (PEFT), quantised base weights (bitsandbytes LLM.int8 and 4-bit
 * NF4/FP4 with double quantisation), and the KV cache of an inference pass. Facts and sources:
 * docs/llm.md.
 */
import { MemplanError } from './errors.js';
import { evalValue, type NumOrExpr } from './expr.js';
import type { DType } from './graph.js';

export interface LoraSpec {
  /** Adapter rank. */
  r: number;
  /** lora_alpha: the adapter output is scaled by alpha / r (a new tensor either way). */
  alpha: number;
  /** lora_dropout: 0 is nn.Identity (nothing made); above 0 a dropout copy of the input per adapter. */
  dropout: number;
  /** Module names the adapters wrap (`q_proj`, `v_proj`, ...), or `all-linear` (every projection but the head). */
  targets: string[];
}

export interface QuantSpec {
  /** int8 (LLM.int8, Linear8bitLt), nf4 / fp4 (Linear4bit). */
  weights: 'int8' | 'nf4' | 'fp4';
  /** bnb_4bit_use_double_quant: the fp32 absmax per 64 weights is itself quantised to uint8. */
  double_quant: boolean;
  /** bnb_4bit_compute_dtype: the type the 4-bit weight is dequantised to (bf16 by default here). */
  compute: 'bf16' | 'f16' | 'f32';
}

export interface KvCacheSpec {
  /** Tokens in the cache after this forward (prompt + generated so far); the `seq` of the pass is the new tokens. */
  context: NumOrExpr;
  /** The cache's element type; default: the keys' own type (the activation type). */
  dtype?: 'f32' | 'bf16' | 'f16';
}

/** What a block sees: the specs, with the KV cache context evaluated. */
export interface LlmSettings {
  lora?: LoraSpec;
  quant?: QuantSpec;
  kv?: { context: number; dtype?: DType };
}

/** The run config's `lora`, `quantization` and `kv_cache` with defaults filled in (schema-validated already). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- validated by the run schema; reading it as `any` mirrors the schema's shape
export function normalizeLlmRun(r: Record<string, any>): { lora?: LoraSpec; quantization?: QuantSpec; kv_cache?: KvCacheSpec } {
  const out: { lora?: LoraSpec; quantization?: QuantSpec; kv_cache?: KvCacheSpec } = {};
  if (r.lora) {
    const l = r.lora as Partial<LoraSpec>;
    const rank = l.r ?? 8;
    const targets = l.targets === undefined ? ['q_proj', 'v_proj'] : Array.isArray(l.targets) ? l.targets : [l.targets as unknown as string];
    out.lora = { r: rank, alpha: l.alpha ?? 8, dropout: l.dropout ?? 0, targets };
  }
  if (r.quantization) {
    const q = typeof r.quantization === 'string' ? { weights: r.quantization } : r.quantization;
    out.quantization = { weights: q.weights, double_quant: q.double_quant ?? false, compute: q.compute ?? 'bf16' };
  }
  if (r.kv_cache !== undefined) out.kv_cache = typeof r.kv_cache === 'object' ? r.kv_cache : { context: r.kv_cache };
  return out;
}

/** Combinations PyTorch / PEFT / bitsandbytes refuse, as located errors. */
export function checkLlmRun(run: { mode: string; runtime: string; lora?: LoraSpec; quantization?: QuantSpec; kv_cache?: KvCacheSpec }): void {
  const bad = (path: string, what: string, expected: string, hint?: string) => new MemplanError('E_CONFIG', what, { path, expected, hint });
  if (run.runtime === 'tfjs' && (run.lora || run.quantization || run.kv_cache)) {
    throw bad('runtime', 'LoRA, quantisation and the KV cache are modelled for the pytorch runtime only', 'runtime: pytorch');
  }
  if (run.quantization && run.mode === 'train' && !run.lora) {
    throw bad('quantization', 'quantised base weights cannot be trained directly (bitsandbytes weights get no gradient)', 'lora: { r, targets } with quantization (QLoRA), or mode: inference', 'add a lora: section, or set mode: inference');
  }
  if (run.kv_cache && run.mode !== 'inference') {
    throw bad('kv_cache', 'a KV cache is an inference setting', 'mode: inference with kv_cache', 'set mode: inference (prefill: seq = the prompt; decode: seq = 1)');
  }
  if (run.lora && run.mode === 'inference') {
    throw bad('lora', 'LoRA adapters are a training setting here', 'mode: train with lora', 'merge the adapters for inference, or leave lora out');
  }
}

/** The settings a block sees in scope (the KV cache context may be an expression over dimensions). */
export function llmSettings(run: { lora?: LoraSpec; quantization?: QuantSpec; kv_cache?: KvCacheSpec }, scope: ReadonlyMap<string, number>, path: string): LlmSettings | undefined {
  if (!run.lora && !run.quantization && !run.kv_cache) return undefined;
  const s: LlmSettings = {};
  if (run.lora) s.lora = run.lora;
  if (run.quantization) s.quant = run.quantization;
  if (run.kv_cache) {
    const context = evalValue(run.kv_cache.context, scope, 'kv_cache.context', { integer: true, min: 1 });
    s.kv = { context, ...(run.kv_cache.dtype ? { dtype: run.kv_cache.dtype } : {}) };
    void path;
  }
  return s;
}

/** Whether a projection with this module name carries a LoRA adapter. */
export function loraTargets(lora: LoraSpec | undefined, module: string): boolean {
  if (!lora) return false;
  // PEFT matches a target against the end of the module's dotted name (`q_proj` matches `self_attn.q_proj`).
  return lora.targets.some((t) => t === 'all-linear' || t === module || module.endsWith(`.${t}`));
}
