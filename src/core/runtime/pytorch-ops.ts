/**
 * What each primitive op keeps for backward in PyTorch (CUDA), from derivatives.yaml and
 * ../shared/memory-model.md, checked against measurements in bench/torch/. An input is saved only
 * when the gradient of another input needs it (PyTorch saves conditionally on requires_grad).
 */
import type { DType } from '../graph.js';
import { DTYPE_BYTES, numel } from '../graph.js';
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
  /** Dropout mask element type: bool (1 B) on CUDA; on CPU the input's own dtype (measured: 4 B fp32, 2 B bf16). */
  dropoutMask: DType | 'input';
  /** Bytes torch.utils.checkpoint keeps per checkpointed call for the RNG state (CPU: a 5,056 B ByteTensor; CUDA: host memory). */
  checkpointRngBytes: number;
  /** Bytes `x * python_scalar` saves: the scalar wrapped in a 0-dim float64 tensor (CPU: 8; on CUDA it stays on the host). */
  scaleScalarBytes: number;
  /** torch 1.13: mean over a dimension saves its input (2.x saves only the sizes). */
  meanSavesInput: boolean;
  /** CPU kernels' measured backward temporaries (oneDNN conv: input + output sized; batch norm: input sized). */
  cpuBackwardTemps: boolean;
}

export const CUDA_RULES: DeviceRules = { dropoutMask: 'bool', checkpointRngBytes: 0, scaleScalarBytes: 0, meanSavesInput: false, cpuBackwardTemps: false };

/** Rules for a run: CPU tensors where the CPU differs, measured on torch 1.13 (bench/torch/FACTS.md). */
export function deviceRules(device: 'cuda' | 'cpu', pytorch: '2' | '1.13'): DeviceRules {
  const base: DeviceRules =
    device === 'cpu' ? { dropoutMask: 'input', checkpointRngBytes: 5056, scaleScalarBytes: 8, meanSavesInput: false, cpuBackwardTemps: true } : { ...CUDA_RULES };
  return { ...base, meanSavesInput: pytorch === '1.13' };
}

/** The dtype of a dropout mask for an input of dtype `x`. */
export function maskDtype(dev: DeviceRules, x: DType): DType {
  return dev.dropoutMask === 'input' ? x : dev.dropoutMask;
}

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
      return { keep: [], extras: [{ name: 'mask', shape: [...a!.shape], dtype: maskDtype(dev, a!.dtype) }] };
    case 'scale':
      return dev.scaleScalarBytes ? { keep: [], extras: [{ name: 'scalar', shape: [dev.scaleScalarBytes / 8], dtype: 'i64' }] } : NONE;
    case 'mean_axis':
      return dev.meanSavesInput ? { keep: [a!], extras: [] } : NONE;
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
      // cast, add, reshape, transpose, concat (and scale, mean_axis on CUDA / 2.x): backward needs no tensor.
      return NONE;
  }
}

/** Bytes an op's backward allocates beyond the gradients of its inputs (workspace, recomputed masks). */
export function pytorchBackwardTemp(op: OpRec, dev: DeviceRules = CUDA_RULES): number {
  const bytes = (t: TTensor) => numel(t.shape) * DTYPE_BYTES[t.dtype];
  switch (op.kind) {
    case 'loss':
      // cross entropy backward materialises the softmax (fp32, logits-sized) before subtracting the one-hot.
      return op.attrs.loss === 'cross_entropy' ? numel(op.inputs[0]!.shape) * 4 : 0;
    case 'conv':
      // oneDNN (CPU) reorders input and grad_output into its blocked layout: I + O + 7,328 B measured.
      return dev.cpuBackwardTemps ? bytes(op.inputs[0]!) + bytes(op.output) + 7328 : 0;
    case 'batch_norm':
      return dev.cpuBackwardTemps ? bytes(op.inputs[0]!) : 0;
    default:
      return 0;
  }
}
