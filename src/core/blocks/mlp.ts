import type { ActKind, Builder, T } from '../graph.js';
import { ACTIVATIONS } from './activation.js';
import type { BlockModule } from './types.js';
import { need, numOrExpr } from './types.js';

/** Feed-forward block shared by the transformer layers: linear -> activation -> dropout -> linear -> dropout. */
export function feedForward(b: Builder, x: T, hidden: number, out: number, act: ActKind, p: number, bias: boolean, pOut = p): T {
  const inF = x.shape[x.shape.length - 1]!;
  const w1 = b.param('fc1.weight', [inF, hidden], { matmul: true });
  const b1 = bias ? b.param('fc1.bias', [hidden], { init: 'zeros' }) : undefined;
  const w2 = b.param('fc2.weight', [hidden, out], { matmul: true });
  const b2 = bias ? b.param('fc2.bias', [out], { init: 'zeros' }) : undefined;
  let h = b.linear(x, w1, b1);
  h = b.act(act, h);
  h = b.dropout(h, p);
  const y = b.linear(h, w2, b2);
  return b.dropout(y, pOut);
}

export const mlp: BlockModule = {
  type: 'mlp',
  summary: 'two-layer feed-forward: linear(in->hidden), activation, dropout, linear(hidden->out), dropout',
  properties: {
    hidden: numOrExpr,
    out: numOrExpr,
    activation: { enum: [...ACTIVATIONS] },
    dropout: { type: 'number', minimum: 0, maximum: 1 },
    bias: { type: 'boolean' },
  },
  required: ['hidden'],
  build(b, x, a) {
    const input = need(x, 'mlp', a.path);
    const inF = input.shape[input.shape.length - 1]!;
    const hidden = a.num('hidden', { integer: true, min: 1 });
    const out = a.num('out', { integer: true, min: 1, default: inF });
    return feedForward(b, input, hidden, out, a.get<ActKind>('activation', 'gelu'), a.get('dropout', 0), a.get('bias', true));
  },
};
