import type { BlockModule } from './types.js';
import { numOrExpr } from './types.js';
import { MemplanError } from '../errors.js';

/**
 * Token embedding: integer ids [..] -> [.., dim]. Saves only the ids (already part of the batch). The
 * ids are a fresh input of the `input:` shape, or integer ids from `from:` (a chunk of them, in a group).
 * `tie: other` looks the ids up in an earlier block's table (T5's encoder and decoder share `shared`).
 */
export const embedding: BlockModule = {
  type: 'embedding',
  summary: 'lookup table: integer ids of the block input shape -> [..., dim]',
  properties: { vocab: numOrExpr, dim: numOrExpr, tie: { type: 'string', minLength: 1 } },
  required: ['vocab', 'dim'],
  source: true,
  build(b, x, a) {
    const vocabOf = () => a.num('vocab', { integer: true, min: 1 });
    // The table: this block's own, or the tied block's [vocab, dim] weight.
    const table = (vocab: number, dim: number) => {
      const tied = a.tied();
      if (!tied) return b.param('table', [vocab, dim]);
      if (tied.shape[0] !== vocab || tied.shape[1] !== dim) {
        throw new MemplanError('E_SHAPE', `tie: the tied weight is [${tied.shape.join(', ')}], this embedding needs [${vocab}, ${dim}]`, { path: `${a.path}.tie` });
      }
      return tied;
    };
    if (x) {
      const dt = (x as { dtype?: string }).dtype;
      if (dt !== undefined && dt !== 'i64' && dt !== 'i32') {
        throw new MemplanError('E_SHAPE', `embedding needs integer ids, got a ${dt} tensor from its input`, {
          path: `${a.path}.from`,
          expected: 'an `input` block with dtype: i64 (or no from: and an input: shape)',
        });
      }
      return b.embedding(table(vocabOf(), a.num('dim', { integer: true, min: 1 })), x);
    }
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
    return b.embedding(table(vocab, dim), ids);
  },
};
