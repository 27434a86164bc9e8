/** The block registry: one module per block type. */
import { activation } from './activation.js';
import { attention } from './attention.js';
import { conv1d, conv2d, meanPool, pool, reshape } from './conv.js';
import { embedding } from './embedding.js';
import { linear } from './linear.js';
import { messagePassing } from './message-passing.js';
import { mlp } from './mlp.js';
import { batchNorm, dropout, layerNorm } from './norm.js';
import { loss, params, tensor } from './tensor.js';
import { transformerDecoder, transformerEncoder } from './transformer.js';
import type { BlockModule } from './types.js';
import { ELEMENTWISE } from './elementwise.js';
import { REDUCE } from './reduce.js';
import { SHAPE_OPS } from './shape-ops.js';
import { INDEX_OPS } from './index-ops.js';
import { SOURCES } from './sources.js';
import { group } from './group.js';
import { rmsNorm } from './rms-norm.js';
import { rotary } from './rotary.js';
import { gatedMlp } from './gated-mlp.js';
import { gqaAttention } from './gqa-attention.js';
import { decoderLayer, encoderLayer } from './decoder-layer.js';
import { t5Layer } from './t5-layer.js';

export const BLOCKS: ReadonlyMap<string, BlockModule> = new Map(
  [
    embedding, linear, mlp, activation, layerNorm, batchNorm, dropout, attention, transformerEncoder,
    transformerDecoder, conv1d, conv2d, pool, meanPool, reshape, messagePassing, tensor, params, loss, group,
    rmsNorm, rotary, gatedMlp, gqaAttention, decoderLayer, encoderLayer, t5Layer,
    ...ELEMENTWISE, ...REDUCE, ...SHAPE_OPS, ...INDEX_OPS, ...SOURCES,
  ].map((m) => [m.type, m]),
);

/** The family of a block type: its test module and doc page (test/core/blocks/<family>.ts, docs/blocks/<family>.md). */
export function familyOf(m: BlockModule): string {
  return m.family ?? m.type;
}

export type { BlockModule, BlockArgs } from './types.js';
