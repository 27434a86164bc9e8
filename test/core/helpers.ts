/** Small builders shared by the core tests: a model from blocks, a run config with defaults, one estimate. */
import { estimate, type Estimate, type Preset } from '../../src/core/estimate.js';
import { assemble, normalizeRun, validateModel, type BlockSpec, type ModelDescriptor, type RunConfig } from '../../src/core/model.js';
import type { DimSpec } from '../../src/core/dims.js';
import { simulatePytorch, type SimResult } from '../../src/core/runtime/pytorch-sim.js';
import { deviceRules } from '../../src/core/runtime/pytorch-ops.js';

export function model(blocks: BlockSpec[], dims: Record<string, DimSpec> = {}, name = 'test-model'): ModelDescriptor {
  return validateModel({ name, dims, blocks });
}

/** A small language model: embedding 500 x 64, two stock encoder layers (4 heads, dropout 0.1), a head, cross entropy. */
export function tinyLm(): ModelDescriptor {
  return model(
    [
      { type: 'embedding', name: 'embed', input: ['batch', 'seq'], vocab: 500, dim: 64 },
      { type: 'transformer_encoder', name: 'enc', repeat: 2, heads: 4, dropout: 0.1 },
      { type: 'linear', name: 'head', out: 500 },
      { type: 'loss', kind: 'cross_entropy' },
    ],
    { seq: 64 },
  );
}

export function runCfg(raw: Record<string, unknown> = {}): RunConfig {
  return normalizeRun({ model: 'inline', ...raw });
}

export function est(m: ModelDescriptor, raw: Record<string, unknown> = {}, preset?: Preset): Estimate {
  return estimate(m, runCfg(raw), preset ? { preset } : {});
}

/** Runs the liveness simulation directly (no persistent terms). */
export function sim(m: ModelDescriptor, raw: Record<string, unknown> = {}): SimResult {
  const run = runCfg(raw);
  const a = assemble(m, run);
  return simulatePytorch(a.trace, deviceRules(run.device, run.pytorch), m.blocks.length);
}

export function comp(e: Estimate, key: string): number {
  return e.components.filter((c) => c.key === key).reduce((a, c) => a + c.bytes, 0);
}

/** A GPU preset for tests (numbers chosen by the test, not read from presets/). */
export const TEST_GPU: Preset = {
  id: 'test-gpu',
  name: 'Test GPU',
  kind: 'gpu',
  capacity_bytes: 80 * 1024 ** 3,
  context_bytes: 500 * 1024 ** 2,
  workspace_bytes: 32 * 1024 ** 2,
  source: 'test fixture',
};

export const MiB = 1024 ** 2;

/**
 * A `linear` block in front of the block under test, so its input requires grad like a real hidden
 * state. It saves nothing in fp32 (its input is the data batch); under mixed precision it saves the
 * 2-byte cast of the batch (`numel(shape) * 2`), which tests add by hand.
 */
export function pre(shape: (number | string)[]): BlockSpec {
  return { type: 'linear', name: 'pre', input: shape, out: shape[shape.length - 1]! };
}

/** forward_saved (bytes saved for backward at the end of forward) for fp32 and bf16-mixed. */
export function saved(m: ModelDescriptor, raw: Record<string, unknown> = {}): { fp32: number; bf16: number } {
  return {
    fp32: est(m, { ...raw, precision: 'fp32' }).forward_saved,
    bf16: est(m, { ...raw, precision: 'bf16-mixed' }).forward_saved,
  };
}

/** Parameters of the block at `index` as the estimator counts them. */
export function paramsOf(m: ModelDescriptor, index: number): number {
  return est(m).blocks[index]!.params;
}
