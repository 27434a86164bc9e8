/**
 * The step-time proxy recommend ranks by: a relative time per optimizer step, worked out from the
 * traced ops with a roofline (each op costs the larger of its arithmetic and its memory traffic, plus
 * a kernel launch), so that sdpa, checkpointing, precision, the optimizer implementation and EMA
 * placement each change it by what they change in the step. It orders configs of one model on one
 * card; it is not a time prediction (no card's real FLOP rate or bandwidth is used). docs/recommend.md.
 */
import { DTYPE_BYTES, numel } from '../graph.js';
import type { RunConfig } from '../model.js';
import type { OpRec, Trace, TTensor } from '../tracer.js';

/**
 * Constants of the proxy, in one unit: the time to move one byte through device memory.
 * - flopsPerByte: arithmetic per byte of traffic at which an op turns compute-bound. Low-precision
 *   tensor-core math is about 150 (A100: 312 TFLOP/s over 2 TB/s; RTX 4090: 165 over 1 TB/s); fp32
 *   without TF32 (PyTorch's default for matmuls) about 20.
 * - launch: one kernel launch, about 5 us at 1 TB/s.
 * - hostCopy: a byte copied to the host over PCIe (about 25 GB/s) costs 40 device-memory bytes.
 * - accumPerDoubling: 1 + 0.1 log2(accumulation steps) on the micro-batch part, fitted to seed 004's
 *   "48 x 2 ~10% slower, 32 x 3 ~15% slower than 96 x 1" (smaller kernels, the gradient add, the
 *   Python loop), which the roofline alone does not see.
 * - paramSharding: FSDP/ZeRO-3 all-gather the parameters in forward and again in backward (1.5x DDP's
 *   traffic), about 10% of a step.
 */
export const SPEED = {
  flopsPerByte: { f32: 20, lowp: 150 },
  launch: 5_000_000,
  hostCopy: 40,
  accumPerDoubling: 0.1,
  paramSharding: 1.1,
} as const;

export function accumFactor(steps: number): number {
  return 1 + SPEED.accumPerDoubling * Math.log2(steps);
}

/** One micro-batch's forward, in proxy units, and the part of it checkpointing runs again. */
export interface Work {
  forward: number;
  recompute: number;
}

function traffic(t: TTensor): number {
  return numel(t.shape) * DTYPE_BYTES[t.dtype];
}

/** Multiply-adds x 2 of the matmul-like ops; elementwise ops count one per output element. */
function flops(op: OpRec): number {
  const out = numel(op.output.shape);
  const [a, b] = op.inputs;
  switch (op.kind) {
    case 'linear':
    case 'matmul':
      return 2 * out * (a?.shape.at(-1) ?? 1);
    case 'conv':
      return 2 * out * (b ? numel(b.shape) / (b.shape[0] || 1) : 1);
    case 'sdpa':
      // q k^T and probs v: 2 x 2 x [.., s_q, d] x s_k.
      return 4 * (a ? numel(a.shape) : 0) * (b?.shape.at(-2) ?? 1);
    default:
      return out;
  }
}

/**
 * Views (reshape, transpose) launch nothing and move nothing; persistent buffers are created once, not
 * per step. A `tensor` block's activation (known only by its shape) is written once: its bytes.
 */
function opTime(op: OpRec): number {
  if (op.output.alias) return 0;
  if (op.kind === 'tensor') return op.attrs.lifetime === 'persistent' ? 0 : traffic(op.output) + SPEED.launch;
  const bytes = op.inputs.reduce((s, t) => s + traffic(t), traffic(op.output));
  const rate = op.output.dtype === 'f32' ? SPEED.flopsPerByte.f32 : SPEED.flopsPerByte.lowp;
  return Math.max(flops(op) / rate, bytes) + SPEED.launch;
}

export function workOf(trace: Trace): Work {
  let forward = 0;
  let recompute = 0;
  for (const op of trace.ops) {
    const t = opTime(op);
    forward += t;
    if (op.segment !== undefined && !op.noGrad) recompute += t;
  }
  return { forward, recompute };
}

/** What the optimizer step and EMA read and write: from the step's byte terms. */
export interface StepBytes {
  weights: number;
  grads: number;
  state: number;
  ema: number;
  /** Trainable parameter tensors (a for-loop optimizer launches per tensor). */
  paramTensors: number;
}

/**
 * Relative time of one optimizer step: accumulation x micro-batches x (forward + backward, about
 * twice the forward, + recompute), then the optimizer step and the EMA update.
 */
export function stepTime(work: Work, run: RunConfig, b: StepBytes): number {
  const microBatch = 3 * work.forward + work.recompute;
  const moved = 2 * (b.weights + b.grads + b.state);
  // fused: one kernel over all parameters; foreach: about five list kernels, each a pass; for-loop:
  // the same passes launched per parameter tensor.
  const opt = run.optimizer.impl === 'fused' ? moved + SPEED.launch
    : run.optimizer.impl === 'foreach' ? 2.5 * moved + 5 * SPEED.launch
    : 2.5 * moved + 5 * b.paramTensors * SPEED.launch;
  const ema = !run.ema.enabled ? 0 : run.ema.device === 'cpu' ? SPEED.hostCopy * b.weights : 2 * (b.weights + b.ema) + SPEED.launch;
  const shard = run.distributed.strategy === 'fsdp' || run.distributed.strategy === 'zero3' ? SPEED.paramSharding : 1;
  return shard * (accumFactor(run.grad_accum) * run.grad_accum * microBatch + opt + ema);
}
