/**
 * Tensors that come from outside the op graph: `input` (data the batch brings, float or integer ids
 * or a bool mask), `buffer` (a registered buffer: persistent, no gradient, e.g. an m/z grid), and
 * `parameter` (a free learned tensor such as a CLS token or positional table). matmul (the batched
 * product of two activations) and cdist (their pairwise distances) are here too: the op blocks with two
 * tensor operands and no weights.
 */
import type { DType } from '../graph.js';
import { MemplanError } from '../errors.js';
import type { BlockModule } from './types.js';
import { numOrExpr } from './types.js';

const FAMILY = 'sources';
const shapeKey = { type: 'array', items: numOrExpr, minItems: 1 };

export const SOURCES: BlockModule[] = [
  {
    type: 'input',
    family: FAMILY,
    summary: 'data from the batch: float features, integer ids (dtype i64, below max) or a bool mask',
    properties: { shape: shapeKey, dtype: { enum: ['f32', 'i64', 'bool'] }, max: numOrExpr },
    required: ['shape'],
    source: true,
    build(b, _x, a) {
      const dtype = a.get<'f32' | 'i64' | 'bool'>('dtype', 'f32');
      const shape = a.shape('shape')!;
      return b.input('data', shape, dtype === 'i64' ? 'int' : dtype === 'bool' ? 'bool' : 'float', dtype === 'i64' ? a.num('max', { integer: true, min: 1, default: 2 }) : undefined);
    },
  },
  {
    type: 'buffer',
    family: FAMILY,
    summary: 'a registered buffer: on the device for the whole run, no gradient (e.g. a fixed grid)',
    properties: { shape: shapeKey, dtype: { enum: ['act', 'f32', 'bf16', 'f16', 'i64', 'i32', 'bool'] } },
    required: ['shape'],
    source: true,
    build(b, _x, a) {
      return b.tensor('buffer', a.shape('shape')!, a.get<'act' | DType>('dtype', 'f32'), 'persistent');
    },
  },
  {
    type: 'parameter',
    family: FAMILY,
    summary: 'a free learned tensor (nn.Parameter): weights, gradient, optimizer state; e.g. a CLS token',
    properties: { shape: shapeKey, init: { enum: ['zeros', 'ones', 'normal'] } },
    required: ['shape'],
    source: true,
    build(b, _x, a) {
      return b.param('weight', a.shape('shape')!, { init: a.get<'zeros' | 'ones' | 'normal'>('init', 'normal') });
    },
  },
  {
    type: 'cdist',
    family: FAMILY,
    summary: 'torch.cdist(a, b): pairwise Euclidean distances, from: [a, b] (saves both inputs, contiguous, and the distances)',
    properties: {},
    build(b, _x, a) {
      const [x, y] = a.inputs;
      if (!x || !y) throw new MemplanError('E_SHAPE', 'cdist needs two inputs', { path: `${a.path}.from`, expected: 'from: [a, b]' });
      return b.cdist(x, y);
    },
  },
  {
    type: 'matmul',
    family: FAMILY,
    summary: 'a @ b (torch.matmul, batch axes broadcast): from: [a, b], optional transpose_b (saves each operand the other needs)',
    properties: { transpose_b: { type: 'boolean' } },
    build(b, _x, a) {
      const [x, y] = a.inputs;
      if (!x || !y) throw new MemplanError('E_SHAPE', 'matmul needs two inputs', { path: `${a.path}.from`, expected: 'from: [a, b]' });
      return b.matmul(x, y, a.get('transpose_b', false));
    },
  },
];
