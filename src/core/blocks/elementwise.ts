/**
 * Elementwise op blocks: functions of one tensor (exp, log, sqrt, pow, clamp...) and of two with
 * broadcasting (add, sub, mul, div, maximum, minimum, where, masked_fill). A binary block takes its two
 * tensors from `from: [a, b]`, or one tensor and a scalar `value`. What each saves and allocates in
 * backward is in runtime/pytorch-ops.ts (measured, bench/torch/ops_graph.py).
 */
import type { BinaryFn, Builder, CompareFn, T, UnaryFn } from '../graph.js';
import { MemplanError } from '../errors.js';
import type { BlockArgs, BlockModule } from './types.js';
import { need } from './types.js';

const FAMILY = 'elementwise';

function unaryBlock(type: UnaryFn, summary: string, properties: Record<string, unknown> = {}, required: string[] = []): BlockModule {
  return {
    type,
    family: FAMILY,
    summary,
    properties,
    required,
    build(b, x, a) {
      const input = need(x, type, a.path);
      const opts: { exponent?: number; min?: number; max?: number } = {};
      if (type === 'pow') opts.exponent = a.get('exponent', 2);
      if (type === 'clamp') {
        const min = a.get<number | undefined>('min', undefined);
        const max = a.get<number | undefined>('max', undefined);
        if (min === undefined && max === undefined) throw new MemplanError('E_SCHEMA', 'clamp needs min, max or both', { path: a.path, expected: 'min: and/or max:' });
        if (min !== undefined) opts.min = min;
        if (max !== undefined) opts.max = max;
      }
      return b.unary(type, input, opts);
    },
  };
}

const scalar = { type: 'number' };

/** Two operands: `from: [a, b]`, or the input and `value`. */
function operands(a: BlockArgs, type: string): [T, T | number] {
  const [x, y] = a.inputs;
  if (!x) throw new MemplanError('E_SHAPE', `${type} has no input`, { path: a.path, expected: 'from: [a, b], or an input and value:' });
  const value = a.get<number | undefined>('value', undefined);
  if (y && value !== undefined) throw new MemplanError('E_SCHEMA', `${type} takes two tensors or a tensor and a value, not both`, { path: `${a.path}.value` });
  if (y) return [x, y];
  if (value === undefined) {
    throw new MemplanError('E_SCHEMA', `${type} needs a second operand`, { path: `${a.path}.from`, expected: 'from: [a, b] (two block names), or value: <number>' });
  }
  return [x, value];
}

function binaryBlock(type: 'add' | 'mul' | BinaryFn, summary: string): BlockModule {
  return {
    type,
    family: FAMILY,
    summary,
    properties: { value: scalar },
    build(b, _x, a) {
      const [x, y] = operands(a, type);
      if (typeof y === 'number') return withScalar(b, type, x, y, a.path);
      if (type === 'add') return b.add(x, y);
      if (type === 'mul') return b.mul(x, y);
      return b.binary(type, x, y);
    },
  };
}

/** x (op) python scalar: add/sub pass the gradient through, mul/div scale it. */
function withScalar(b: Builder, type: string, x: T, v: number, path: string): T {
  switch (type) {
    case 'add':
      return b.unary('add_scalar', x, { value: v });
    case 'sub':
      return b.unary('add_scalar', x, { value: -v });
    case 'mul':
      return b.scale(x, v);
    case 'div':
      if (v === 0) throw new MemplanError('E_SCHEMA', 'div by value 0', { path: `${path}.value` });
      return b.scale(x, 1 / v);
    default:
      throw new MemplanError('E_SCHEMA', `${type} of a tensor and a scalar is not supported`, { path: `${path}.value`, expected: 'from: [a, b]' });
  }
}

/** a (op) b or a (op) value: a bool tensor with no gradient (masks). */
function compareBlock(type: Exclude<CompareFn, 'logical_not'>, op: string): BlockModule {
  return {
    type,
    family: FAMILY,
    summary: `a ${op} b, or x ${op} value: a bool mask (no gradient; saves nothing)`,
    properties: { value: scalar },
    build(b, _x, a) {
      const [x, y] = operands(a, type);
      return b.compare(type, x, y);
    },
  };
}

export const ELEMENTWISE: BlockModule[] = [
  unaryBlock('exp', 'exp(x) (saves its output)'),
  unaryBlock('log', 'log(x) (saves its input)'),
  unaryBlock('log1p', 'log(1 + x) (saves its input; one input-sized backward temporary)'),
  unaryBlock('neg', '-x (saves nothing)'),
  unaryBlock('sqrt', 'sqrt(x) (saves its output; one backward temporary)'),
  unaryBlock('rsqrt', '1 / sqrt(x) (saves its output; two backward temporaries)'),
  unaryBlock('abs', '|x| (saves its input; one backward temporary)'),
  unaryBlock('clamp', 'x clamped to [min, max] (saves its input; a bool mask per bound in backward)', { min: scalar, max: scalar }),
  unaryBlock('softplus', 'log(1 + exp(x)) (saves its input)'),
  unaryBlock('pow', 'x ** exponent, a number (saves its input; two backward temporaries)', { exponent: scalar }, ['exponent']),
  unaryBlock('square', 'x ** 2 (saves its input; two backward temporaries)'),
  unaryBlock('reciprocal', '1 / x (saves its output; two backward temporaries)'),
  unaryBlock('erf', 'erf(x) (saves its input; four input-sized backward temporaries)'),
  binaryBlock('add', 'a + b with broadcasting, or x + value (saves nothing; the gradient passes through)'),
  binaryBlock('sub', 'a - b with broadcasting, or x - value (saves nothing)'),
  binaryBlock('mul', 'a * b with broadcasting (each saves the other), or x * value'),
  binaryBlock('div', 'a / b with broadcasting (saves b, and a when b needs grad), or x / value'),
  binaryBlock('maximum', 'elementwise max(a, b) (saves both)'),
  binaryBlock('minimum', 'elementwise min(a, b) (saves both)'),
  compareBlock('eq', '=='),
  compareBlock('ne', '!='),
  compareBlock('lt', '<'),
  compareBlock('le', '<='),
  compareBlock('gt', '>'),
  compareBlock('ge', '>='),
  {
    type: 'logical_not',
    family: FAMILY,
    summary: '~mask / logical_not(x): a bool tensor (no gradient; saves nothing)',
    properties: {},
    build(b, x, a) {
      return b.compare('logical_not', need(x, 'logical_not', a.path));
    },
  },
  {
    type: 'where',
    family: FAMILY,
    summary: 'torch.where(cond, a, b): from: [cond, a, b], cond a bool tensor (saves the condition)',
    properties: {},
    build(b, _x, a) {
      const [c, x, y] = a.inputs;
      if (!c || !x || !y) throw new MemplanError('E_SHAPE', 'where needs three inputs', { path: `${a.path}.from`, expected: 'from: [cond, a, b]' });
      return b.where(c, x, y);
    },
  },
  {
    type: 'masked_fill',
    family: FAMILY,
    summary: 'x.masked_fill(mask, value): from: [x, mask], mask a bool tensor (saves the mask)',
    properties: { value: scalar },
    build(b, _x, a) {
      const [x, m] = a.inputs;
      if (!x || !m) throw new MemplanError('E_SHAPE', 'masked_fill needs two inputs', { path: `${a.path}.from`, expected: 'from: [x, mask]' });
      return b.maskedFill(x, m);
    },
  },
];
