/**
 * What each primitive op keeps for backward in PyTorch (CUDA), from derivatives.yaml and
 * ../shared/memory-model.md, checked against measurements in bench/torch/. An input is saved only
 * when the gradient of another input needs it (PyTorch saves conditionally on requires_grad).
 */
import type { DType } from '../graph.js';
import { numel } from '../graph.js';
import type { OpRec, TTensor } from '../tracer.js';

/** A tensor an op creates only to save it (dropout mask, layer-norm statistics, pooling indices). */
export interface Extra {
  name: string;
  shape: number[];
  dtype: DType;
}

export interface SavedSpec {
  keep: TTensor[];
  extras: Extra[];
}

export interface DeviceRules {
  /** Dropout mask element type: bool (1 B) on CUDA; measured otherwise on CPU. */
  dropoutMask: DType;
}

export const CUDA_RULES: DeviceRules = { dropoutMask: 'bool' };

const NONE: SavedSpec = { keep: [], extras: [] };

function g(t: TTensor | undefined): boolean {
  return !!t && t.requiresGrad;
}

/** Saved tensors of one op (the op is known to run with grad enabled). */
export function pytorchSaved(op: OpRec, dev: DeviceRules): SavedSpec {
  const [a, b] = op.inputs;
  const out = op.output;
  switch (op.kind) {
    case 'linear':
    case 'matmul':
    case 'conv': {
      // d(out)/d(a) needs b and vice versa.
      const keep: TTensor[] = [];
      if (g(b) && a) keep.push(a);
      if (g(a) && b) keep.push(b);
      return { keep, extras: [] };
    }
    case 'mul': {
      const keep: TTensor[] = [];
      if (g(a) && b) keep.push(b);
      if (g(b) && a) keep.push(a);
      return { keep, extras: [] };
    }
    case 'act': {
      const kind = op.attrs.act as string;
      // relu, tanh and sigmoid differentiate from their output; gelu and silu from their input.
      return { keep: kind === 'relu' || kind === 'tanh' || kind === 'sigmoid' ? [out] : [a!], extras: [] };
    }
    case 'softmax':
      return { keep: [out], extras: [] };
    case 'layer_norm': {
      const rows = numel(a!.shape) / (a!.shape[a!.shape.length - 1] ?? 1);
      return {
        keep: [a!],
        extras: [
          { name: 'mean', shape: [rows], dtype: 'f32' },
          { name: 'rstd', shape: [rows], dtype: 'f32' },
        ],
      };
    }
    case 'batch_norm': {
      const c = a!.shape[op.attrs.axis as number] ?? 1;
      return {
        keep: [a!],
        extras: [
          { name: 'save_mean', shape: [c], dtype: 'f32' },
          { name: 'save_invstd', shape: [c], dtype: 'f32' },
        ],
      };
    }
    case 'dropout':
      return { keep: [], extras: [{ name: 'mask', shape: [...a!.shape], dtype: dev.dropoutMask }] };
    case 'embedding':
    case 'gather_rows':
    case 'scatter_add':
      return { keep: [b!], extras: [] };
    case 'pool':
      return op.attrs.pool === 'max'
        ? { keep: [a!], extras: [{ name: 'indices', shape: [...out.shape], dtype: 'i64' }] }
        : { keep: [a!], extras: [] };
    case 'sdpa': {
      // Flash / memory-efficient attention: q, k, v, output and a per-row logsumexp, no s x s matrix.
      const [bq, h, s] = a!.shape;
      return { keep: [...op.inputs, out], extras: [{ name: 'logsumexp', shape: [bq ?? 1, h ?? 1, s ?? 1], dtype: 'f32' }] };
    }
    case 'loss': {
      const kind = op.attrs.loss as string;
      if (kind === 'mse') return { keep: [...op.inputs], extras: [] };
      if (kind === 'cross_entropy') {
        // log_softmax keeps its (fp32) output; nll_loss keeps the targets.
        return { keep: [op.inputs[1]!], extras: [{ name: 'log_softmax', shape: [...a!.shape], dtype: 'f32' }] };
      }
      return NONE;
    }
    case 'tensor': {
      const life = op.attrs.lifetime;
      return life === 'saved' || life === 'loss' ? { keep: [out], extras: [] } : NONE;
    }
    default:
      // cast, add, scale, mean_axis, reshape, transpose, concat: backward needs no tensor.
      return NONE;
  }
}

/** Bytes an op's backward allocates beyond the gradients of its inputs (workspace, recomputed masks). */
export function pytorchBackwardTemp(op: OpRec): number {
  switch (op.kind) {
    case 'loss':
      // cross entropy backward materialises the softmax (fp32, logits-sized) before subtracting the one-hot.
      return op.attrs.loss === 'cross_entropy' ? numel(op.inputs[0]!.shape) * 4 : 0;
    default:
      return 0;
  }
}
