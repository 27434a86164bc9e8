/**
 * A block module: its descriptor keys (JSON Schema properties), and one `build` function written
 * against the Builder. The estimator traces `build` to get parameter counts, saved activations and
 * transients; the probe runs the same `build` in TensorFlow.js. Adding a block is one file here,
 * registered in ./index.ts, plus its test and its page in docs/blocks/.
 */
import type { Builder, T } from '../graph.js';
import type { NumOrExpr } from '../expr.js';
import { MemplanError } from '../errors.js';

export interface BlockArgs {
  /** Number or expression attribute, evaluated against the model's dimensions. */
  num(key: string, opts?: { integer?: boolean; min?: number; default?: NumOrExpr }): number;
  /** Plain attribute (string, boolean) with a default. */
  get<V>(key: string, fallback: V): V;
  /** Shape attribute (list of numbers/expressions). */
  shape(key: string): number[] | undefined;
  /** The run's attention implementation (`eager` or `sdpa`) unless the block sets its own. */
  attention: 'eager' | 'sdpa';
  /** Path for errors: `blocks[3]`. */
  path: string;
}

export interface BlockModule {
  type: string;
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
