/**
 * A group of blocks run as one unit: `repeat` runs the whole group N times (a residual block, a
 * layer of a custom stack), `checkpoint: true` makes each repeat one checkpoint segment, `chunk` runs
 * the whole group per chunk (seed 003's embedding + ASV encoder + pool per chunk), `frozen` / `no_grad`
 * apply to every block inside. Names inside are scoped to the group; `from: input` is the group's input.
 * The assembler walks the blocks itself (model.ts); `build` is never called.
 */
import { MemplanError } from '../errors.js';
import type { BlockModule } from './types.js';

export const group: BlockModule = {
  type: 'group',
  summary: 'blocks run as one unit: repeat, checkpoint (one segment), chunk, frozen or no_grad over all of them',
  properties: { blocks: { type: 'array', minItems: 1, items: { type: 'object' } } },
  required: ['blocks'],
  build(_b, _x, a) {
    throw new MemplanError('E_INTERNAL', 'a group is assembled by its blocks, not built', { path: a.path });
  },
};
