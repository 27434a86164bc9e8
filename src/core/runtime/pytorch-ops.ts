/**
 * What each primitive op keeps for backward in PyTorch (CUDA), from derivatives.yaml and
 * the project's framework notes (docs/memory-model.md), checked against measurements in bench/torch/. An input is saved only
 * when the gradient of another input needs it (PyTorch saves conditionally on requires_grad).
 */
import type { BinaryFn, DType, ReduceFn, UnaryFn } from '../graph.js';
import { DTYPE_BYTES, numel } from '../graph.js';
import { storageOf, type OpRec, type TTensor } from '../tracer.js';

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
  /**
   * torch 1.13: slice/select backward zero-fills an input-sized tensor and copies into a second one
   * (measured: one input-sized temporary more than 2.x); 1.13's repeat_interleave keeps its int64 index.
   */
  torch113Views: boolean;
  /**
   * PyTorch <= 1.10: softmax and log_softmax keep their input as well as their output (the backward formula
   * referenced `self`; pytorch/pytorch#64000, fixed for 1.11 by #65242).
   */
  softmaxSavesInput?: boolean;
  /**
   * CUDA's memory-efficient SDPA kernel (4-byte inputs) pads its logsumexp rows to a multiple of 32
   * (`_efficient_attention_forward`: ceil(M / 32) * 32); flash and the CPU kernels keep [B, H, M].
   */
  memEffLsePad?: boolean;
}

export const CUDA_RULES: DeviceRules = {
  dropoutMask: 'bool', checkpointRngBytes: 0, scaleScalarBytes: 0, meanSavesInput: false, cpuBackwardTemps: false, torch113Views: false, memEffLsePad: true,
};

/** Rules for a run: CPU tensors where the CPU differs, measured on torch 1.13 (bench/torch/FACTS.md). */
export function deviceRules(device: 'cuda' | 'cpu', pytorch: '2' | '1.13' | '1.10'): DeviceRules {
  const base: DeviceRules =
    device === 'cpu'
      ? { dropoutMask: 'input', checkpointRngBytes: 5056, scaleScalarBytes: 8, meanSavesInput: false, cpuBackwardTemps: true, torch113Views: false }
      : { ...CUDA_RULES };
  // "1.10" is 1.13's rules plus softmax keeping its input.
  const v1 = pytorch !== '2';
  return { ...base, meanSavesInput: v1, torch113Views: v1, ...(pytorch === '1.10' ? { softmaxSavesInput: true } : {}) };
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
    case 'matmul': {
      // bitsandbytes over a frozen quantised weight: MatMul4Bit keeps only the packed weight (a parameter),
      // MatMul8bitLt keeps its input A (bitsandbytes/autograd/_functions.py, ctx.tensors).
      if (op.attrs.quantized) return op.attrs.quantized === 'int8' && g(a) ? { keep: [a!], extras: [] } : NONE;
      // d(out)/d(a) needs b and vice versa.
      const keep: TTensor[] = [];
      if (g(b) && a) keep.push(a);
      if (g(a) && b) keep.push(b);
      return { keep, extras: [] };
    }
    case 'conv':
      // ConvolutionBackward0 has one formula (convolution_backward) for input, weight and bias, so it
      // saves input and weight whenever any of them needs a gradient: under autocast the weight's
      // low-precision copy is kept even when the input is the batch (measured: bench program p22, the
      // first Conv1d's [128, 40, 5] bf16 weight, 51,200 B, on 2.13).
      return { keep: [a!, b!], extras: [] };
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
      return { keep: dev.softmaxSavesInput ? [out, a!] : [out], extras: [] };
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
      // Flash / memory-efficient attention: q, k, v (and a float mask), output and a per-row logsumexp,
      // no s x s matrix. A mask that requires grad gets its gradient from the generic input-gradient rule.
      const [bq, h, s = 1] = a!.shape;
      // A float mask (attn_bias) rules flash out on CUDA: the memory-efficient kernel, in any dtype.
      const rows = dev.memEffLsePad && (DTYPE_BYTES[a!.dtype] === 4 || op.attrs.bias) ? Math.ceil(s / 32) * 32 : s;
      return { keep: [...op.inputs, out], extras: [{ name: 'logsumexp', shape: [bq ?? 1, h ?? 1, rows], dtype: 'f32' }] };
    }
    case 'loss': {
      const kind = op.attrs.loss as string;
      // mse, bce and bce_with_logits keep the prediction and the target (measured, bench/torch/ops_graph.py).
      if (kind === 'mse' || kind === 'bce' || kind === 'bce_with_logits') return { keep: [...op.inputs], extras: [] };
      if (kind === 'cross_entropy') {
        // log_softmax keeps its (fp32) output (and, <= 1.10, its input); nll_loss keeps the targets.
        return { keep: dev.softmaxSavesInput ? [op.inputs[1]!, a!] : [op.inputs[1]!], extras: [{ name: 'log_softmax', shape: [...a!.shape], dtype: 'f32' }] };
      }
      return NONE;
    }
    case 'tensor': {
      const life = op.attrs.lifetime;
      return life === 'saved' || life === 'loss' ? { keep: [out], extras: [] } : NONE;
    }
    case 'unary':
      return unarySaved(op.attrs.fn as UnaryFn, a!, out);
    case 'binary': {
      const fn = op.attrs.fn as BinaryFn;
      if (fn === 'sub') return NONE;
      if (fn === 'div') return { keep: g(b) ? [a!, b!] : g(a) ? [b!] : [], extras: [] };
      return { keep: [a!, b!], extras: [] }; // maximum / minimum compare both operands
    }
    case 'where':
      return { keep: [a!], extras: [] }; // the condition
    case 'masked_fill':
      return { keep: [b!], extras: [] }; // the mask
    case 'reduce': {
      const fn = op.attrs.fn as ReduceFn;
      if (fn === 'sum') return NONE;
      if (fn === 'mean') return dev.meanSavesInput ? { keep: [a!], extras: [] } : NONE;
      if (fn === 'max' || fn === 'min') return { keep: [], extras: [{ name: 'indices', shape: [...out.shape], dtype: 'i64' }] };
      return { keep: [a!, out], extras: [] }; // amax / amin / logsumexp / norm: input and result
    }
    case 'log_softmax':
      return { keep: dev.softmaxSavesInput ? [out, a!] : [out], extras: [] };
    case 'index_select':
    case 'scatter_add_axis':
      return { keep: [op.inputs[op.inputs.length - 2 + (op.kind === 'index_select' ? 1 : 0)]!], extras: [] }; // the index
    case 'gather':
      // gather_backward(grad, self, dim, index): the input itself is saved (measured on 1.13 and 2.13).
      return { keep: [a!, b!], extras: [] };
    case 'index_add': {
      // Saves the index and the source (measured on 1.13 and 2.13: the source's size is read from it).
      const n = op.inputs.length;
      return { keep: [op.inputs[n - 2]!, op.inputs[n - 1]!], extras: [] };
    }
    case 'cdist':
      // _euclidean_dist_backward(grad, x1, x2, result): both inputs and the distances.
      return { keep: [...op.inputs, out], extras: [] };
    case 'repeat_interleave':
      return dev.torch113Views ? { keep: [], extras: [{ name: 'index', shape: [a!.shape[op.attrs.axis as number] ?? 1], dtype: 'i64' }] } : NONE;
    default:
      // cast, add, reshape, transpose, concat, slice, expand, tile, contiguous (and scale, mean_axis on
      // CUDA / 2.x): backward needs no tensor.
      return NONE;
  }
}

function unarySaved(fn: UnaryFn, a: TTensor, out: TTensor): SavedSpec {
  switch (fn) {
    case 'exp':
    case 'sqrt':
    case 'rsqrt':
    case 'reciprocal':
      return { keep: [out], extras: [] };
    case 'neg':
    case 'add_scalar':
      return NONE;
    default:
      // log, log1p, abs, clamp, softplus, pow, square: the input
      return { keep: [a], extras: [] };
  }
}

/**
 * Input-sized temporaries of an elementwise function's backward, measured (bench/torch/ops_graph.py,
 * identical on 1.13 and 2.13): sqrt's `2 * result`, rsqrt's and pow's two-step products, abs's sign;
 * clamp builds one bool mask per bound (1 B per element each).
 */
function unaryBackwardTemp(fn: UnaryFn, attrs: Readonly<Record<string, unknown>>, x: TTensor): number {
  const n = numel(x.shape);
  const b = n * DTYPE_BYTES[x.dtype];
  switch (fn) {
    case 'log1p':
    case 'sqrt':
    case 'abs':
      return b;
    case 'rsqrt':
    case 'pow':
    case 'square':
    case 'reciprocal':
      return 2 * b;
    case 'clamp':
      return n * ((attrs.min !== undefined ? 1 : 0) + (attrs.max !== undefined ? 1 : 0));
    case 'erf':
      // 2 / sqrt(pi) * exp(-x^2) * grad, step by step (measured, torch 2.13 CPU: 4 input-sized temporaries).
      return 4 * b;
    default:
      return 0;
  }
}

function broadcasted(t: TTensor | undefined, out: TTensor): boolean {
  return !!t && numel(t.shape) !== numel(out.shape);
}

/**
 * Bytes an op's forward allocates beyond its output and frees before it returns. CPU convolution
 * (oneDNN, measured with bench/torch/harness.py on 1.13 and 2.13, Conv1d/Conv2d, 8 shapes, with and
 * without grad): the input and the weight reordered into its blocked layout, or the output computed
 * blocked and reordered, whichever is larger: max(I + W, O) of tensor storage, to the byte in 6 of 8
 * shapes (the others within 16 KiB), plus oneDNN's own scratch: 26,032 B on 2.13, 8,676 B on 1.13.
 */
export function pytorchForwardTemp(op: OpRec, dev: DeviceRules = CUDA_RULES): number {
  if (op.kind === 'linear') return quantForwardTemp(op);
  if (op.kind === 'softmax' && op.attrs.nested) return nestedSoftmaxTemp(op);
  if (op.kind !== 'conv' || !dev.cpuBackwardTemps || op.attrs.transposed) return 0;
  if (lowpCpuConv(op)) return im2colBytes(op);
  const bytes = (t: TTensor) => numel(t.shape) * DTYPE_BYTES[t.dtype];
  const [i, w] = [bytes(op.inputs[0]!), bytes(op.inputs[1]!)];
  return Math.max(i + w, bytes(op.output)) + (dev.torch113Views ? 8676 : 26032);
}

/** Bytes an op's backward allocates beyond the gradients of its inputs (workspace, recomputed masks). */
export function pytorchBackwardTemp(op: OpRec, dev: DeviceRules = CUDA_RULES, permutedGrads?: ReadonlySet<number>): number {
  const bytes = (t: TTensor) => numel(t.shape) * DTYPE_BYTES[t.dtype];
  // conv and layer_norm read grad_output contiguous: one that comes back permuted is copied.
  const gradCopy = permutedGrads?.has(storageOf(op.output).id) ? bytes(op.output) : 0;
  switch (op.kind) {
    case 'linear':
      // bitsandbytes' backward dequantises the weight to the gradient's type ([out, in]) for dA.
      return op.attrs.quantized ? quantWeightBytes(op) : 0;
    case 'loss':
      // cross entropy backward materialises the softmax (fp32, logits-sized) before subtracting the one-hot.
      return op.attrs.loss === 'cross_entropy' ? numel(op.inputs[0]!.shape) * 4 : 0;
    case 'conv':
      // oneDNN (CPU) reorders input and grad_output into its blocked layout: I + O + 7,328 B measured.
      // oneDNN (CPU) reorders input and grad_output (I + O), or the weight gradient when it is the
      // larger (W), plus a constant: 7,328 B on 1.13, 18,968 B on 2.13. On 2.13 a strided conv's
      // backward holds 2 I instead (measured: bench/torch/ops_graph.py and FACTS-2x.md).
      if (!dev.cpuBackwardTemps) return 0;
      if (op.attrs.transposed) return transposedConvTemp(op, dev) + noncontiguous(op.inputs[0]!) + gradCopy;
      // bf16 / fp16 on the CPU: the im2col path's columns again (the weight's low-precision gradient is
      // the gradient of its autocast copy, which the simulation makes), and copies of a non-contiguous
      // input or grad_output (measured: +1 input, +1 output).
      if (lowpCpuConv(op)) return im2colBytes(op) + noncontiguous(op.inputs[0]!) + gradCopy;
      {
        const [i, o, w] = [bytes(op.inputs[0]!), bytes(op.output), bytes(op.inputs[1]!)];
        const strided = !dev.torch113Views && (op.attrs.stride as number) > 1 ? 2 * i : 0;
        return Math.max(i + o, w, strided) + (dev.torch113Views ? 7328 : 18968) + noncontiguous(op.inputs[0]!) + gradCopy;
      }
    case 'layer_norm':
      // Its backward reads X and dY contiguous: a non-contiguous input (a transposed view: LayerNorm over
      // the channels of a conv output) or output gradient (its output read through a transpose) is copied
      // (measured on CPU, 1.13 and 2.13, over [16, 256, 128]: +1 input each; bench program p17's trace).
      return dev.cpuBackwardTemps ? noncontiguous(op.inputs[0]!) + gradCopy : 0;
    case 'batch_norm':
      return dev.cpuBackwardTemps ? bytes(op.inputs[0]!) : 0;
    case 'unary':
      return unaryBackwardTemp(op.attrs.fn as UnaryFn, op.attrs, op.inputs[0]!);
    case 'binary':
    case 'mul':
      return binaryBackwardTemp(op);
    case 'reduce': {
      const fn = op.attrs.fn as ReduceFn;
      const x = op.inputs[0]!;
      // amax: an equality mask (bool), a count, the expanded gradient divided by it: measured I + N + 3 O.
      if (fn === 'amax' || fn === 'amin') return bytes(x) + numel(x.shape) + 3 * bytes(op.output);
      // logsumexp: (x - result).exp() and its product with the gradient, both input-sized.
      if (fn === 'logsumexp') return 2 * bytes(x);
      // norm: self * (grad / result), input-sized (measured: input + 2 KB over [64, 32, 128]).
      if (fn === 'norm') return bytes(x);
      return 0;
    }
    case 'cdist':
      // _euclidean_dist_backward: ratio = grad / result and the bool mask result == 0 (measured: out + out elements).
      return bytes(op.output) + numel(op.output.shape);
    case 'slice':
      return dev.torch113Views ? bytes(op.inputs[0]!) : 0;
    default:
      return 0;
  }
}

/**
 * A bf16 / fp16 convolution on the CPU. Where oneDNN has no bf16 kernels (CPUs without AVX-512:
 * torch.ops.mkldnn._is_mkldnn_bf16_supported() is False, as on the machine that measured it) PyTorch
 * runs slow_conv2d: im2col of the whole batch, no oneDNN reorders. On a CPU with AVX-512 BF16, oneDNN
 * runs it instead (not measured here).
 */
function lowpCpuConv(op: OpRec): boolean {
  const dt = op.inputs[0]!.dtype;
  return dt === 'bf16' || dt === 'f16';
}

/**
 * slow_conv2d's column buffer for the whole batch: N x C_in x prod(kernel) x prod(output spatial) in the
 * input's dtype (measured, 1.13 and 2.13, bf16 autocast, Conv1d/Conv2d, 5 shapes: forward peak = output
 * + columns + the bf16 weight copy; backward = input gradient + columns + bf16 weight gradient, to the byte).
 * Where oneDNN runs bf16 (AVX-512 BF16 CPUs) its reorders apply instead; not measured here.
 */
function im2colBytes(op: OpRec): number {
  const [x, w] = op.inputs as [TTensor, TTensor];
  return x.shape[0]! * numel(w.shape.slice(1)) * numel(op.output.shape.slice(2)) * DTYPE_BYTES[x.dtype];
}

/**
 * An input that is not contiguous (a transposed view, or an elementwise op's output over one) is
 * copied to a contiguous tensor by the CPU backward of conv and layer_norm: measured, 1.13 and 2.13, CPU:
 * Conv1d(128, 128, 5) over a transposed [16, 256, 128] view (or GELU's output over one) +1 input, the
 * same view made contiguous first +0.
 */
function noncontiguous(x: TTensor): number {
  return x.strided ? numel(x.shape) * DTYPE_BYTES[x.dtype] : 0;
}

/**
 * CPU ConvTranspose backward (measured, ConvTranspose2d over [4, 64, 16, 16], [4, 32, 32, 32],
 * [8, 32, 16, 16], [8, 16, 16, 16], kernels 2-4, strides 1-2): on 2.13 oneDNN reorders input and
 * grad_output, I + O + 26,080 B; on 1.13 slow_conv_transpose's im2col buffer of one sample,
 * out_channels x k^d x the input's spatial size (to the byte in all four).
 */
function transposedConvTemp(op: OpRec, dev: DeviceRules): number {
  const [x, w] = op.inputs as [TTensor, TTensor];
  const bytes = (t: TTensor) => numel(t.shape) * DTYPE_BYTES[t.dtype];
  if (!dev.torch113Views) return bytes(x) + bytes(op.output) + 26080;
  const perIn = numel(w.shape) / (w.shape[0] ?? 1); // out_channels x k^d
  return perIn * numel(x.shape.slice(2)) * DTYPE_BYTES[x.dtype];
}

/**
 * Broadcast binary ops (measured, bench/torch/ops_graph.py): an operand's gradient is computed at the
 * output's size and then summed down, so each broadcast operand that needs a gradient costs one
 * output-sized temporary (mul, div, sub's negated side); add and sub's first operand sum directly.
 * div's other-side gradient, -grad * a / b / b, takes two output-sized temporaries; maximum/minimum
 * build comparison masks (1.5x the output at fp32).
 */
function binaryBackwardTemp(op: OpRec): number {
  const [a, b] = op.inputs as [TTensor, TTensor];
  const out = op.output;
  const ob = numel(out.shape) * DTYPE_BYTES[out.dtype];
  const fn = op.kind === 'mul' ? 'mul' : (op.attrs.fn as BinaryFn);
  let t = 0;
  if (fn === 'mul' || fn === 'div') {
    if (g(a) && broadcasted(a, out)) t += ob;
    if (g(b) && broadcasted(b, out)) t += ob;
    if (fn === 'div' && g(b)) t += 2 * ob;
  } else if (fn === 'sub') {
    if (g(b) && broadcasted(b, out)) t += ob;
  } else {
    t += ob + numel(out.shape) * 2;
  }
  return t;
}

/** The dequantised [in, out] weight of a bitsandbytes linear, in its output's (compute) type. */
function quantWeightBytes(op: OpRec): number {
  const [i, o] = op.attrs.weightShape as [number, number];
  return i * o * DTYPE_BYTES[op.output.dtype];
}

/**
 * Bytes an op holds only while it runs in forward (bitsandbytes/backends/cuda/ops.py): a 4-bit linear
 * over more than 4 rows dequantises its weight into a compute-type [out, in] buffer for F.linear (up to
 * 1,536 rows a custom kernel may run instead on some cards: memplan counts the buffer, the larger case),
 * plus the fp32 absmax it rebuilds under double quantisation; LLM.int8 casts its input to fp16 and
 * quantises it row-wise (int8 copy + fp32 row scales).
 */
/**
 * The native MHA's softmax for a nested query (NestedTensor_softmax_dropout, CPU; 1.13 and 2.13): for each
 * sequence i of length L it runs softmax over scores[i, :, :L, :L], a strided slice that softmax first
 * copies unless L is the padded length, then writes the result into the padded output. At most two
 * [heads, s, s] tensors at once: memplan does not know the lengths, and bounds them by L = s (measured
 * with lengths 32..256 of 256: 3,211,264 B at L = 224, the bound 4,194,304 B).
 */
function nestedSoftmaxTemp(op: OpRec): number {
  const x = op.inputs[0]!;
  return 2 * (numel(x.shape) / x.shape[0]!) * DTYPE_BYTES[x.dtype];
}

function quantForwardTemp(op: OpRec): number {
  if (!op.attrs.quantized) return 0;
  const x = op.inputs[0]!;
  const [k, n] = op.attrs.weightShape as [number, number];
  const rows = numel(x.shape) / k;
  if (op.attrs.quantized === 'int8') return (x.dtype === 'f16' ? 0 : rows * k * 2) + rows * k + rows * 4;
  if (rows <= 4) return 0;
  return quantWeightBytes(op) + (op.attrs.nested ? Math.ceil((k * n) / 64) * 4 : 0);
}
