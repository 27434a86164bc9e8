/**
 * Layout op blocks: views (transpose, permute, expand, detach) own no memory; contiguous copies a
 * strided view; repeat (torch's x.repeat, a new tensor), repeat_interleave, concat and stack make new
 * tensors and save nothing. (reshape, a view, is in conv.ts with the other shape blocks.)
 */
import { normAxis } from '../graph.js';
import { MemplanError } from '../errors.js';
import type { BlockModule } from './types.js';
import { need, numOrExpr } from './types.js';

const FAMILY = 'shape-ops';
const shapeKey = { type: 'array', items: numOrExpr, minItems: 1 };

export const SHAPE_OPS: BlockModule[] = [
  {
    type: 'transpose',
    family: FAMILY,
    summary: 'x.transpose(a, b): a strided view (no memory)',
    properties: { dims: { type: 'array', items: { type: 'integer' }, minItems: 2, maxItems: 2 } },
    required: ['dims'],
    build(b, x, a) {
      const input = need(x, 'transpose', a.path);
      const r = input.shape.length;
      const [p, q] = a.get<[number, number]>('dims', [0, 1]).map((d) => normAxis(d, r, 'transpose', `${a.path}.dims`)) as [number, number];
      const perm = [...Array(r).keys()];
      [perm[p], perm[q]] = [q, p];
      return b.transpose(input, perm);
    },
  },
  {
    type: 'permute',
    family: FAMILY,
    summary: 'x.permute(*perm): a strided view (no memory)',
    properties: { perm: { type: 'array', items: { type: 'integer' }, minItems: 1 } },
    required: ['perm'],
    build(b, x, a) {
      const input = need(x, 'permute', a.path);
      const r = input.shape.length;
      const perm = a.get<number[]>('perm', []).map((d) => normAxis(d, r, 'permute', `${a.path}.perm`));
      if (perm.length !== r || new Set(perm).size !== r) throw new MemplanError('E_SHAPE', `permute: [${perm.join(', ')}] is not a permutation of ${r} axes`, { path: `${a.path}.perm` });
      return b.transpose(input, perm);
    },
  },
  {
    type: 'contiguous',
    family: FAMILY,
    summary: 'x.contiguous(): a copy when x is a strided view (transpose, expand, slice), else nothing',
    properties: {},
    build(b, x, a) {
      return b.contiguous(need(x, 'contiguous', a.path));
    },
  },
  {
    type: 'expand',
    family: FAMILY,
    summary: 'x.expand(*shape): a broadcast view (no memory; its gradient is view-sized before it is summed)',
    properties: { shape: shapeKey },
    required: ['shape'],
    build(b, x, a) {
      return b.expand(need(x, 'expand', a.path), a.shape('shape')!);
    },
  },
  {
    type: 'repeat_tensor',
    family: FAMILY,
    summary: "x.repeat(*reps) (torch.tile): a new tensor (saves nothing); named so it is not the common `repeat` key",
    properties: { reps: shapeKey },
    required: ['reps'],
    build(b, x, a) {
      return b.tile(need(x, 'repeat_tensor', a.path), a.shape('reps')!);
    },
  },
  {
    type: 'repeat_interleave',
    family: FAMILY,
    summary: 'x.repeat_interleave(repeats, dim=axis): a new tensor (torch 1.13 keeps an int64 index)',
    properties: { repeats: numOrExpr, axis: { type: 'integer' } },
    required: ['repeats', 'axis'],
    build(b, x, a) {
      const input = need(x, 'repeat_interleave', a.path);
      const axis = normAxis(a.get('axis', 0), input.shape.length, 'repeat_interleave', `${a.path}.axis`);
      return b.repeatInterleave(input, a.num('repeats', { integer: true, min: 1 }), axis);
    },
  },
  {
    type: 'concat',
    family: FAMILY,
    summary: 'torch.cat(from, axis): a new tensor (saves nothing; each input gets a view of the gradient)',
    properties: { axis: { type: 'integer' } },
    build(b, _x, a) {
      if (a.inputs.length < 2) throw new MemplanError('E_SHAPE', 'concat needs two or more inputs', { path: `${a.path}.from`, expected: 'from: [a, b, ...]' });
      const axis = normAxis(a.get('axis', -1), a.inputs[0]!.shape.length, 'concat', `${a.path}.axis`);
      return b.concat(a.inputs, axis);
    },
  },
  {
    type: 'stack',
    family: FAMILY,
    summary: 'torch.stack(from, axis): a new tensor with a new axis (saves nothing)',
    properties: { axis: { type: 'integer' } },
    build(b, _x, a) {
      if (a.inputs.length < 1) throw new MemplanError('E_SHAPE', 'stack needs inputs', { path: `${a.path}.from`, expected: 'from: [a, b, ...]' });
      const rank = a.inputs[0]!.shape.length + 1;
      return b.stack(a.inputs, normAxis(a.get('axis', 0), rank, 'stack', `${a.path}.axis`));
    },
  },
  {
    type: 'detach',
    family: FAMILY,
    summary: 'x.detach(): the same tensor cut from the graph (nothing before it gets a gradient through it)',
    properties: {},
    build(b, x, a) {
      return b.detach(need(x, 'detach', a.path));
    },
  },
];
