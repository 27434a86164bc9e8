import type { BlockModule } from './types.js';
import { numOrExpr } from './types.js';
import { MemplanError } from '../errors.js';

/**
 * Any explicit tensor no block covers, with its lifetime: `persistent` (a buffer for the whole run),
 * `saved` (kept for backward), `loss` (a loss buffer kept for backward), `transient` (exists only
 * while computed). Passes its input through unchanged.
 */
export const tensor: BlockModule = {
  type: 'tensor',
  summary: 'explicit tensor with shape, dtype and lifetime (persistent, saved, loss, transient)',
  properties: {
    shape: { type: 'array', items: numOrExpr, minItems: 1 },
    dtype: { enum: ['act', 'f32', 'bf16', 'f16', 'i64', 'i32', 'bool'] },
    lifetime: { enum: ['persistent', 'saved', 'transient', 'loss'] },
    count: numOrExpr,
  },
  required: ['shape', 'lifetime'],
  source: true,
  build(b, x, a) {
    const shape = a.shape('shape');
    if (!shape) throw new MemplanError('E_SHAPE', 'tensor needs a shape', { path: `${a.path}.shape` });
    const count = a.num('count', { integer: true, min: 1, default: 1 });
    const full = count === 1 ? shape : [count, ...shape];
    b.tensor(a.get('name', 'tensor'), full, a.get('dtype', 'act'), a.get('lifetime', 'saved'));
    return x as never;
  },
};

/** Parameters known only by count (seed 004: "12.5M params"): weights, grads, optimizer state, EMA; no activations. */
export const params: BlockModule = {
  type: 'params',
  summary: 'parameters known only by count: weights, gradients, optimizer state and EMA, no activations',
  properties: { count: numOrExpr, matmul: { type: 'boolean' } },
  required: ['count'],
  source: true,
  build(b, x, a) {
    b.param('params', [a.num('count', { integer: true, min: 1 })], { matmul: a.get('matmul', true) });
    return x as never;
  },
};

/** The training loss on the block input: mse (against a target of the same shape), cross_entropy over the last axis, or mean. */
export const loss: BlockModule = {
  type: 'loss',
  summary: 'training loss on the input: mse, cross_entropy (over the last axis) or mean',
  properties: { kind: { enum: ['mse', 'cross_entropy', 'mean'] } },
  required: ['kind'],
  build(b, x, a) {
    if (!x) throw new MemplanError('E_SHAPE', 'loss has no input', { path: a.path, expected: 'a block before the loss' });
    return b.loss(a.get<'mse' | 'cross_entropy' | 'mean'>('kind', 'mean'), x);
  },
};
