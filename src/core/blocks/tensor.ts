import type { LossKind } from '../graph.js';
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

/**
 * The training loss on the block input: mse, bce, bce_with_logits (against a target of the same shape),
 * cross_entropy over the last axis, or mean. The target is a fresh input, or the second of
 * `from: [pred, target]` (a target the model also reads, e.g. an autoencoder's own input).
 */
export const loss: BlockModule = {
  type: 'loss',
  summary: 'training loss on the input: mse, bce, bce_with_logits, cross_entropy (over the last axis) or mean; from: [pred, target] names the target',
  properties: { kind: { enum: ['mse', 'cross_entropy', 'mean', 'bce', 'bce_with_logits'] } },
  required: ['kind'],
  build(b, x, a) {
    if (!x) throw new MemplanError('E_SHAPE', 'loss has no input', { path: a.path, expected: 'a block before the loss' });
    const kind = a.get<LossKind>('kind', 'mean');
    const target = a.inputs[1];
    if (a.inputs.length > 2) throw new MemplanError('E_SHAPE', `loss takes at most two inputs, got ${a.inputs.length}`, { path: `${a.path}.from`, expected: 'from: [pred, target]' });
    if (!target) return b.loss(kind, x);
    const want = kind === 'cross_entropy' ? x.shape.slice(0, -1) : x.shape;
    const int = (target as { dtype?: string }).dtype === 'i64' || (target as { dtype?: string }).dtype === 'i32';
    if (kind === 'mean') throw new MemplanError('E_SHAPE', 'a mean loss takes no target', { path: `${a.path}.from`, expected: 'from: one block' });
    if (target.shape.length !== want.length || target.shape.some((d, i) => d !== want[i]) || int !== (kind === 'cross_entropy')) {
      throw new MemplanError('E_SHAPE', `loss ${kind}: target [${target.shape.join(', ')}] does not fit the prediction [${x.shape.join(', ')}]`, {
        path: `${a.path}.from`,
        expected: kind === 'cross_entropy' ? `integer class ids of shape [${want.join(', ')}]` : `a float tensor of shape [${want.join(', ')}]`,
      });
    }
    return b.loss(kind, x, undefined, target);
  },
};
