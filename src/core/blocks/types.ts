/**
 * A block module: its descriptor keys (JSON Schema properties), and one `build` function written
 * against the Builder. The estimator traces `build` to get parameter counts, saved activations and
 * transients; the probe runs the same `build` in TensorFlow.js. Adding a block is one file here,
 * registered in ./index.ts, plus its test and its page in docs/blocks/.
 */
import type { Builder, T } from '../graph.js';
import type { NumOrExpr } from '../expr.js';
import { MemplanError } from '../errors.js';
import type { LlmSettings } from '../llm.js';

export interface BlockArgs {
  /** Number or expression attribute, evaluated against the model's dimensions. */
  num(key: string, opts?: { integer?: boolean; min?: number; default?: NumOrExpr }): number;
  /** Plain attribute (string, boolean) with a default. */
  get<V>(key: string, fallback: V): V;
  /** Shape attribute (list of numbers/expressions). */
  shape(key: string): number[] | undefined;
  /** The run's attention setting: `auto` lets a stock module do what its PyTorch version does; `eager` / `sdpa` force one. */
  attention: 'auto' | 'eager' | 'sdpa';
  /** The framework being modelled (stock modules behave differently across versions and devices). */
  torch: { version: '2' | '1.13' | '1.10'; device: 'cuda' | 'cpu'; runtime: 'pytorch' | 'tfjs' };
  /** Path for errors: `blocks[3]`. */
  path: string;
  /** Every input in `from:` order (the first is also `build`'s x). */
  inputs: T[];
  /** The weight matrix of the block named by `tie:` (shared: one parameter, one gradient), if any. */
  tied(): T | undefined;
  /** An inference pass (model.eval() under torch.no_grad()). */
  inference: boolean;
  /** The run's LoRA adapters, quantised base weights and KV cache (the LLM blocks read them; see llm.ts). */
  llm?: LlmSettings;
  /** Keeps t alive until every block has run: a tensor the model's output object references (T5's decoder cache). */
  keepUntilOutput?(t: T): void;
  /** The module runs in eval mode: an inference pass, or `eval: true` on it or a group around it. */
  eval: boolean;
  /** It runs under torch.no_grad() (an inference pass, or `no_grad: true` here or around it). */
  noGrad: boolean;
  /** Its parameters do not require grad (`frozen: true` here or around it). */
  frozen: boolean;
}

export interface BlockModule {
  type: string;
  /** The op family a small op block belongs to: its test module and doc page are per family (default: the type). */
  family?: string;
  /** One line for `memplan blocks` and the docs. */
  summary: string;
  /** JSON Schema properties of the block's own keys (common keys are added by the schema builder). */
  properties: Record<string, unknown>;
  required?: string[];
  /**
   * Builds the block's forward pass. `x` is the block's input: the previous block's output, or the
   * tensor described by its `input:` key. Returns the output.
   */
  build(b: Builder, x: T | undefined, a: BlockArgs): T;
  /** True when the block needs no input tensor (embedding, tensor, params). */
  source?: boolean;
  /** A stock module whose forward keeps a Python reference to its input until all repeats return (nn.TransformerEncoder). */
  holdsInput?: boolean;
}

/** Schema snippet for a number-or-expression value. */
export const numOrExpr = {
  anyOf: [{ type: 'number' }, { type: 'string', minLength: 1 }],
} as const;

export function need(x: T | undefined, type: string, path: string): T {
  if (!x) {
    throw new MemplanError('E_SHAPE', `${type} block has no input`, {
      path,
      expected: 'a previous block, or an `input:` shape on this block',
      hint: 'add `input: [batch, ...]` to the block',
    });
  }
  return x;
}
