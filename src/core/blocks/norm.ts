import type { BlockModule } from './types.js';
import { need } from './types.js';

/** LayerNorm over the last axis: saves its input plus fp32 mean and rstd per row. */
export const layerNorm: BlockModule = {
  type: 'layer_norm',
  summary: 'layer normalisation over the last axis (saves input + fp32 mean/rstd per row)',
  properties: {},
  build(b, x, a) {
    const input = need(x, 'layer_norm', a.path);
    const d = input.shape[input.shape.length - 1]!;
    return b.layerNorm(input, b.param('gamma', [d], { init: 'ones' }), b.param('beta', [d], { init: 'zeros' }));
  },
};

/** BatchNorm over all axes but the channel axis (1): saves its input plus per-channel statistics. */
export const batchNorm: BlockModule = {
  type: 'batch_norm',
  summary: 'batch normalisation over channel axis 1 (saves input + per-channel statistics)',
  properties: {},
  build(b, x, a) {
    const input = need(x, 'batch_norm', a.path);
    const c = input.shape[1] ?? input.shape[0]!;
    const axis = input.shape.length > 1 ? 1 : 0;
    return b.batchNorm(input, b.param('gamma', [c], { init: 'ones' }), b.param('beta', [c], { init: 'zeros' }), axis);
  },
};

export const dropout: BlockModule = {
  type: 'dropout',
  summary: 'dropout (saves a mask: 1 byte per element on CUDA)',
  properties: { p: { type: 'number', minimum: 0, maximum: 1 } },
  required: ['p'],
  build(b, x, a) {
    return b.dropout(need(x, 'dropout', a.path), a.get('p', 0.1));
  },
};
