import type { BlockModule } from './types.js';
import { need, numOrExpr } from './types.js';
import { MemplanError } from '../errors.js';

function convBlock(type: 'conv1d' | 'conv2d', rank: number): BlockModule {
  return {
    type,
    summary: `${rank}-d convolution (or with transposed: true nn.ConvTranspose${rank}d), channels first: [batch, in, ${rank === 1 ? 'len' : 'h, w'}] -> [batch, out, ...] (saves its input)`,
    properties: {
      out_channels: numOrExpr, kernel: numOrExpr, stride: numOrExpr, padding: numOrExpr, bias: { type: 'boolean' },
      transposed: { type: 'boolean' }, output_padding: numOrExpr,
    },
    required: ['out_channels', 'kernel'],
    build(b, x, a) {
      const input = need(x, type, a.path);
      if (input.shape.length !== rank + 2) {
        throw new MemplanError('E_SHAPE', `${type} expects ${rank + 2} axes [batch, channels, ...], got [${input.shape.join(', ')}]`, { path: a.path });
      }
      const cin = input.shape[1]!;
      const out = a.num('out_channels', { integer: true, min: 1 });
      const k = a.num('kernel', { integer: true, min: 1 });
      const transposed = a.get('transposed', false);
      const outputPadding = a.num('output_padding', { integer: true, min: 0, default: 0 });
      if (outputPadding > 0 && !transposed) {
        throw new MemplanError('E_SCHEMA', 'output_padding applies to a transposed convolution only', { path: `${a.path}.output_padding`, expected: 'transposed: true, or no output_padding' });
      }
      // nn.ConvTranspose's weight is [in, out, k...] (nn.Conv's [out, in, k...]): the same count.
      const w = b.param('weight', transposed ? [cin, out, ...Array<number>(rank).fill(k)] : [out, cin, ...Array<number>(rank).fill(k)], { matmul: true });
      const bias = a.get('bias', true) ? b.param('bias', [out], { init: 'zeros' }) : undefined;
      const stride = a.num('stride', { integer: true, min: 1, default: 1 });
      const padding = a.num('padding', { integer: true, min: 0, default: 0 });
      return transposed ? b.conv(input, w, bias, stride, padding, { outputPadding }) : b.conv(input, w, bias, stride, padding);
    },
  };
}

export const conv1d = convBlock('conv1d', 1);
export const conv2d = convBlock('conv2d', 2);

/** Max or average pooling over the spatial axes (max saves its input and int64 indices). */
export const pool: BlockModule = {
  type: 'pool',
  summary: 'max/avg pooling over spatial axes (channels first); max saves input + int64 indices',
  properties: { kind: { enum: ['max', 'avg'] }, size: numOrExpr, stride: numOrExpr, padding: numOrExpr },
  required: ['size'],
  build(b, x, a) {
    const size = a.num('size', { integer: true, min: 1 });
    const stride = a.num('stride', { integer: true, min: 1, default: size });
    const padding = a.num('padding', { integer: true, min: 0, default: 0 });
    const input = need(x, 'pool', a.path);
    return padding ? b.pool(a.get<'max' | 'avg'>('kind', 'max'), input, size, stride, padding) : b.pool(a.get<'max' | 'avg'>('kind', 'max'), input, size, stride);
  },
};

/** Mean over one axis (sequence pooling): saves nothing. */
export const meanPool: BlockModule = {
  type: 'mean_pool',
  summary: 'mean over one axis, e.g. pooling a sequence to one vector (saves nothing)',
  properties: { axis: { type: 'integer' } },
  required: ['axis'],
  build(b, x, a) {
    const input = need(x, 'mean_pool', a.path);
    let axis = a.get('axis', 1);
    if (axis < 0) axis += input.shape.length;
    if (axis < 0 || axis >= input.shape.length) throw new MemplanError('E_SHAPE', `mean_pool axis ${axis} out of range`, { path: `${a.path}.axis` });
    return b.meanAxis(input, axis);
  },
};

/** A view with a new shape (same element count): no memory. */
export const reshape: BlockModule = {
  type: 'reshape',
  summary: 'view with a new shape, same number of elements (no memory)',
  properties: { shape: { type: 'array', items: numOrExpr, minItems: 1 } },
  required: ['shape'],
  build(b, x, a) {
    return b.reshape(need(x, 'reshape', a.path), a.shape('shape')!);
  },
};
