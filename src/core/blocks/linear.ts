import type { BlockModule } from './types.js';
import { need, numOrExpr } from './types.js';
import { MemplanError } from '../errors.js';

/**
 * y = x W + b over the last axis. Saves x (for dW) when W trains. `tie: embed` shares the weight of
 * an earlier embedding (or linear) block, as a language model's head shares its token table: one
 * parameter, one gradient, one optimizer state.
 */
export const linear: BlockModule = {
  type: 'linear',
  summary: 'dense layer over the last axis: x[..., in] -> [..., out]; `tie` shares an earlier block\'s weight',
  properties: { out: numOrExpr, bias: { type: 'boolean' }, tie: { type: 'string', minLength: 1 } },
  required: ['out'],
  build(b, x, a) {
    const input = need(x, 'linear', a.path);
    const inF = input.shape[input.shape.length - 1]!;
    const out = a.num('out', { integer: true, min: 1 });
    const tied = a.tied();
    const bias = a.get('bias', true) ? b.param('bias', [out], { init: 'zeros' }) : undefined;
    if (!tied) return b.linear(input, b.param('weight', [inF, out], { matmul: true }), bias);
    // An embedding table is [vocab, dim] (nn.Linear's [out, in]): used transposed. A linear's is [in, out].
    const [r, c] = tied.shape as [number, number];
    if (r === out && c === inF) return b.linear(input, tied, bias, true);
    if (r === inF && c === out) return b.linear(input, tied, bias);
    throw new MemplanError('E_SHAPE', `tie: the tied weight is [${r}, ${c}], this layer needs [${inF}, ${out}] or [${out}, ${inF}]`, { path: `${a.path}.tie` });
  },
};
