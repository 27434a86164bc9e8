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

export const BLOCKS: ReadonlyMap<string, BlockModule> = new Map(
  [
    embedding, linear, mlp, activation, layerNorm, batchNorm, dropout, attention, transformerEncoder,
    transformerDecoder, conv1d, conv2d, pool, meanPool, reshape, messagePassing, tensor, params, loss,
  ].map((m) => [m.type, m]),
);

export type { BlockModule, BlockArgs } from './types.js';
