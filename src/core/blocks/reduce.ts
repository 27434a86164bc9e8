/**
 * Reductions over axes (sum, mean, amax, amin, max, min, logsumexp) and softmax / log_softmax over an
 * axis. `axis` is one axis or a list; negative counts from the end. amax/logsumexp keep their input and
 * result for backward, max/min keep int64 indices, sum and mean nothing (torch 1.13's mean keeps its input).
 */
import type { ReduceFn } from '../graph.js';
import { normAxis } from '../graph.js';
import type { BlockArgs, BlockModule } from './types.js';
import { need } from './types.js';

const axisKey = { anyOf: [{ type: 'integer' }, { type: 'array', items: { type: 'integer' }, minItems: 1 }] };

function axes(a: BlockArgs, rank: number, what: string): number[] {
  const v = a.get<number | number[] | undefined>('axis', undefined);
  if (v === undefined) return [...Array(rank).keys()];
  const list = Array.isArray(v) ? v : [v];
  return [...new Set(list.map((x) => normAxis(x, rank, what, `${a.path}.axis`)))].sort((p, q) => p - q);
}

function reduceBlock(fn: ReduceFn, summary: string): BlockModule {
  return {
    type: fn,
    family: 'reduce',
    summary,
    properties: { axis: axisKey, keepdim: { type: 'boolean' } },
    build(b, x, a) {
      const input = need(x, fn, a.path);
      const ax = axes(a, input.shape.length, fn);
      if ((fn === 'max' || fn === 'min') && ax.length !== 1) {
        // torch.max(x, dim) reduces one axis; over all axes it keeps no indices: that is amax.
        return b.reduce(fn === 'max' ? 'amax' : 'amin', input, ax, a.get('keepdim', false));
      }
      return b.reduce(fn, input, ax, a.get('keepdim', false));
    },
  };
}

function softmaxBlock(type: 'softmax' | 'log_softmax'): BlockModule {
  return {
    type,
    family: 'reduce',
    summary: `${type} over an axis (default the last; saves its output)`,
    properties: { axis: { type: 'integer' } },
    build(b, x, a) {
      const input = need(x, type, a.path);
      const axis = normAxis(a.get('axis', -1), input.shape.length, type, `${a.path}.axis`);
      return type === 'softmax' ? b.softmaxAxis(input, axis) : b.logSoftmax(input, axis);
    },
  };
}

export const REDUCE: BlockModule[] = [
  reduceBlock('sum', 'sum over axes (all when no axis; saves nothing)'),
  reduceBlock('mean', 'mean over axes (saves nothing; torch 1.13 keeps its input)'),
  reduceBlock('amax', 'max over axes (saves input and result; mask temporaries in backward)'),
  reduceBlock('amin', 'min over axes (saves input and result)'),
  reduceBlock('max', 'torch.max(x, dim).values over one axis (saves int64 indices)'),
  reduceBlock('min', 'torch.min(x, dim).values over one axis (saves int64 indices)'),
  reduceBlock('logsumexp', 'log(sum(exp(x))) over axes (saves input and result; two input-sized backward temporaries)'),
  reduceBlock('norm', 'the 2-norm over axes, x.norm(dim=axis) / linalg.vector_norm (saves input and result; one input-sized backward temporary)'),
  softmaxBlock('softmax'),
  softmaxBlock('log_softmax'),
];
