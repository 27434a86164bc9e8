/**
 * Indexing op blocks: slice and select (views: x[:, a:b], x[:, i], the CLS token), index_select and
 * gather (save the index; gather also its input), scatter_add and index_add (onto zeros of `size`, or
 * onto a tensor: from: [base, index, src]; index_add keeps its source), segment_sum (rows of src summed
 * by an index into `segments` rows, as message passing aggregates).
 */
import type { T } from '../graph.js';
import { normAxis } from '../graph.js';
import { MemplanError } from '../errors.js';
import type { BlockArgs, BlockModule } from './types.js';
import { need, numOrExpr } from './types.js';

const FAMILY = 'index-ops';
const axisKey = { type: 'integer' };

function two(a: BlockArgs, type: string, expected: string): [T, T] {
  const [x, i] = a.inputs;
  if (!x || !i) throw new MemplanError('E_SHAPE', `${type} needs two inputs`, { path: `${a.path}.from`, expected });
  return [x, i];
}

/** scatter_add / index_add: from [src, index] onto zeros of `size`, or [base, index, src]. */
function target(a: BlockArgs, type: string): { base: T | number[]; index: T; src: T } {
  const ins = a.inputs;
  if (ins.length === 3) return { base: ins[0]!, index: ins[1]!, src: ins[2]! };
  const [src, index] = ins;
  const size = a.shape('size');
  if (ins.length !== 2 || !src || !index || !size) {
    throw new MemplanError('E_SHAPE', `${type} needs from: [src, index] with size:, or from: [base, index, src]`, { path: a.path, expected: 'from: [src, index] and size: [...]' });
  }
  return { base: size, index, src };
}

export const INDEX_OPS: BlockModule[] = [
  {
    type: 'slice',
    family: FAMILY,
    summary: 'x[..., start:end] along an axis: a view (saves nothing; its gradient is input-sized)',
    properties: { axis: axisKey, start: numOrExpr, end: numOrExpr },
    required: ['axis'],
    build(b, x, a) {
      const input = need(x, 'slice', a.path);
      const axis = normAxis(a.get('axis', 0), input.shape.length, 'slice', `${a.path}.axis`);
      const d = input.shape[axis]!;
      const start = a.num('start', { integer: true, min: 0, default: 0 });
      const end = a.num('end', { integer: true, min: 1, default: d });
      return b.slice(input, axis, start, end - start);
    },
  },
  {
    type: 'select',
    family: FAMILY,
    summary: 'x[:, index] (drops the axis, e.g. the CLS token): a view',
    properties: { axis: axisKey, index: numOrExpr },
    required: ['axis'],
    build(b, x, a) {
      const input = need(x, 'select', a.path);
      const axis = normAxis(a.get('axis', 0), input.shape.length, 'select', `${a.path}.axis`);
      return b.slice(input, axis, a.num('index', { integer: true, min: 0, default: 0 }), 1, true);
    },
  },
  {
    type: 'diagonal',
    family: FAMILY,
    summary: 'x.diagonal() over the last two axes: a view (saves nothing; its gradient is input-sized)',
    properties: {},
    build(b, x, a) {
      return b.diagonal(need(x, 'diagonal', a.path));
    },
  },
  {
    type: 'index_select',
    family: FAMILY,
    summary: 'x.index_select(axis, index): from: [x, index] (saves the index)',
    properties: { axis: axisKey },
    build(b, _x, a) {
      const [x, i] = two(a, 'index_select', 'from: [x, index]');
      return b.indexSelect(x, normAxis(a.get('axis', 0), x.shape.length, 'index_select', `${a.path}.axis`), i);
    },
  },
  {
    type: 'gather',
    family: FAMILY,
    summary: 'x.gather(axis, index): from: [x, index] (saves the index and x itself)',
    properties: { axis: axisKey },
    build(b, _x, a) {
      const [x, i] = two(a, 'gather', 'from: [x, index]');
      return b.gather(x, normAxis(a.get('axis', 0), x.shape.length, 'gather', `${a.path}.axis`), i);
    },
  },
  {
    type: 'scatter_add',
    family: FAMILY,
    summary: 'zeros(size).scatter_add(axis, index, src), or base.scatter_add: from: [src, index] or [base, index, src] (saves the index)',
    properties: { axis: axisKey, size: { type: 'array', items: numOrExpr, minItems: 1 } },
    build(b, _x, a) {
      const t = target(a, 'scatter_add');
      return b.scatterAddAxis(t.base, normAxis(a.get('axis', 0), t.src.shape.length, 'scatter_add', `${a.path}.axis`), t.index, t.src);
    },
  },
  {
    type: 'index_add',
    family: FAMILY,
    summary: 'zeros(size).index_add(axis, index, src), or base.index_add: from: [src, index] or [base, index, src] (saves the index and src)',
    properties: { axis: axisKey, size: { type: 'array', items: numOrExpr, minItems: 1 } },
    build(b, _x, a) {
      const t = target(a, 'index_add');
      return b.indexAdd(t.base, normAxis(a.get('axis', 0), t.src.shape.length, 'index_add', `${a.path}.axis`), t.index, t.src);
    },
  },
  {
    type: 'segment_sum',
    family: FAMILY,
    summary: 'rows of src summed by index into `segments` rows (scatter_add over axis 0; saves the index)',
    properties: { segments: numOrExpr },
    required: ['segments'],
    build(b, _x, a) {
      const [src, i] = two(a, 'segment_sum', 'from: [src, index]');
      return b.scatterAdd(src, i, a.num('segments', { integer: true, min: 1 }));
    },
  },
];
