import type { BlockModule } from './types.js';
import { numOrExpr } from './types.js';
import { MemplanError } from '../errors.js';

/** Token embedding: integer ids [..] -> [.., dim]. Saves only the ids (already part of the batch). */
export const embedding: BlockModule = {
  type: 'embedding',
  summary: 'lookup table: integer ids of the block input shape -> [..., dim]',
  properties: { vocab: numOrExpr, dim: numOrExpr },
  required: ['vocab', 'dim'],
  source: true,
  build(b, _x, a) {
    const shape = a.shape('input');
    if (!shape) {
      throw new MemplanError('E_SHAPE', 'embedding needs the shape of its integer ids', {
        path: `${a.path}.input`,
        expected: 'input: [batch, seq] (a list of dimensions)',
      });
    }
    const vocab = a.num('vocab', { integer: true, min: 1 });
    const dim = a.num('dim', { integer: true, min: 1 });
    const ids = b.input('ids', shape, 'int', vocab);
    return b.embedding(b.param('table', [vocab, dim]), ids);
  },
};
