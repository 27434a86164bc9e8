import type { ActKind } from '../graph.js';
import type { BlockModule } from './types.js';
import { need } from './types.js';

export const ACTIVATIONS = ['gelu', 'relu', 'silu', 'tanh', 'sigmoid'] as const;

/** Elementwise activation. gelu/silu save their input, relu/tanh/sigmoid their output. */
export const activation: BlockModule = {
  type: 'activation',
  summary: 'elementwise gelu, relu, silu, tanh or sigmoid',
  properties: { kind: { enum: [...ACTIVATIONS] } },
  required: ['kind'],
  build(b, x, a) {
    return b.act(a.get<ActKind>('kind', 'gelu'), need(x, 'activation', a.path));
  },
};
