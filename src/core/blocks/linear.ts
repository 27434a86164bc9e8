import type { BlockModule } from './types.js';
import { need, numOrExpr } from './types.js';

/** y = x W + b over the last axis. Saves x (for dW) when W trains. */
export const linear: BlockModule = {
  type: 'linear',
  summary: 'dense layer over the last axis: x[..., in] -> [..., out]',
  properties: { out: numOrExpr, bias: { type: 'boolean' } },
  required: ['out'],
  build(b, x, a) {
    const input = need(x, 'linear', a.path);
    const inF = input.shape[input.shape.length - 1]!;
    const out = a.num('out', { integer: true, min: 1 });
    const w = b.param('weight', [inF, out], { matmul: true });
    const bias = a.get('bias', true) ? b.param('bias', [out], { init: 'zeros' }) : undefined;
    return b.linear(input, w, bias);
  },
};
