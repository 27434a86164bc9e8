/**
 * The liveness simulation against alloc/free sequences worked out by hand on tiny traces, and the
 * estimate's components derived here from those sequences, each on its own (not as the remainder of
 * the total). Sizes are chosen so that every tensor kind has a different byte count.
 *
 * Conventions (fp32, CUDA rules): a tensor is allocated when its op runs and freed after its last
 * use unless a later backward needs it; backward walks the ops in reverse, allocating the gradient
 * of each input that requires one, freeing the output's gradient and the op's saved tensors once the
 * op is done. Parameter gradients stay (they are the step's gradients). The loss itself stays until
 * backward returns: the caller holds it through `loss.backward()` (measured: "+ loss 4" below).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tracer, type Trace } from '../../src/core/tracer.js';
import { assemble } from '../../src/core/model.js';
import { simulatePytorch, type ActivationPeak } from '../../src/core/runtime/pytorch-sim.js';
import { CUDA_RULES } from '../../src/core/runtime/pytorch-ops.js';
import { comp, est, model, runCfg } from './helpers.js';

const F = 4; // bytes per fp32 element

/** The parts of a peak these tests pin down. */
function peakOf(p: ActivationPeak): Record<string, unknown> {
  return { bytes: p.bytes, paramGrads: p.paramGrads, phase: p.phase, saved: p.saved, grads: p.grads, transient: p.transient };
}

// ---- 1. linear -> relu -> linear -> mse, batch 4, 8 -> 16 -> 2 ---------------------------------------
// x [4, 8] (data), W1 [8, 16], b1 [16], h1 = x W1 + b1 [4, 16], r = relu(h1), W2 [16, 2], b2 [2],
// y = r W2 + b2 [4, 2], loss = mse(y, target [4, 2]).
const H = 4 * 16 * F; // h1, r and their gradients: 256 B
const Y = 4 * 2 * F; // y and dy: 32 B
// the 0-dim loss is 4 B (L below)
const W1 = (8 * 16 + 16) * F; // 576 B
const W2 = (16 * 2 + 2) * F; // 136 B

function mlpTrace(): Trace {
  const t = new Tracer('fp32');
  t.block = 0;
  const x = t.input('x', [4, 8]);
  const h1 = t.linear(x, t.param('w1', [8, 16], { matmul: true }), t.param('b1', [16]));
  t.block = 1;
  const r = t.act('relu', h1);
  t.block = 2;
  const y = t.linear(r, t.param('w2', [16, 2], { matmul: true }), t.param('b2', [2]));
  t.block = 3;
  t.loss('mse', y);
  return t.trace;
}

test('linear -> relu -> linear -> mse: what forward saves, and both peaks, by hand', () => {
  const s = simulatePytorch(mlpTrace(), CUDA_RULES, 4);
  // Forward, live bytes after each op:
  //   linear1: h1                     = H          (saves x: the data batch, not an activation)
  //   relu:    h1 + r                 = 2H  <- forward peak 512 B; then h1 is dead (relu saves its output r)
  //   linear2: r + y                  = H + Y      (saves r for dW2)
  //   mse:     r + y + loss           = H + Y + L  (saves y; target is data)
  // Saved at the end of forward: r (block 1) and y (block 2).
  assert.equal(s.savedTotal, H + Y);
  assert.deepEqual(s.savedByBlock, [0, H, Y, 0]);
  assert.equal(s.lossBuffers, 0);
  // Backward, live activation bytes (+ parameter gradients so far) while each op's backward runs:
  //   mse:     r + y + loss + dy                           = H + Y + L + Y           ; then y freed
  //   linear2: r + dy + dr + loss    + dW2, db2            = 2H + Y + L   + W2        ; then dy, r freed
  //   relu:    dr + dh1 + loss       + W2                  = 2H + L       + W2        ; then dr freed
  //   linear1: dh1 + loss            + W2 + dW1, db1       = H + L        + W2 + W1   <- peak 972 B
  assert.deepEqual(peakOf(s.first), { bytes: H + 4, paramGrads: W2 + W1, phase: 'backward', saved: 0, grads: H, transient: 4 });
  assert.equal(s.first.bytes + s.first.paramGrads, 972);
  // A later micro-batch (accumulation): all parameter gradients exist; each op's new parameter
  // gradients are temporaries before they are added in: linear1 gives H + L + (W1) on top = 836 B.
  assert.deepEqual(peakOf(s.later), { bytes: H + 4 + W1, paramGrads: W2 + W1, phase: 'backward', saved: 0, grads: H, transient: W1 + 4 });
});

// ---- 2. linear -> gelu -> linear -> cross_entropy, batch 4, 8 -> 16 -> 10 classes ------------------------
const Z = 4 * 10 * F; // logits, their log_softmax and gradient: 160 B
const V1 = (8 * 16 + 16) * F; // 576 B
const V2 = (16 * 10 + 10) * F; // 680 B

function ceTrace(): Trace {
  const t = new Tracer('fp32');
  t.block = 0;
  const x = t.input('x', [4, 8]);
  const h1 = t.linear(x, t.param('w1', [8, 16], { matmul: true }), t.param('b1', [16]));
  t.block = 1;
  const g = t.act('gelu', h1);
  t.block = 2;
  const z = t.linear(g, t.param('w2', [16, 10], { matmul: true }), t.param('b2', [10]));
  t.block = 3;
  t.loss('cross_entropy', z, 10);
  return t.trace;
}

test('linear -> gelu -> linear -> cross_entropy: saved input of gelu, log_softmax, backward softmax temporary', () => {
  const s = simulatePytorch(ceTrace(), CUDA_RULES, 4);
  // Forward: h1 (H); gelu: h1 + g, h1 saved (gelu differentiates from its input); linear2: + z, g saved;
  // cross_entropy: + loss + its fp32 log_softmax [4, 10] (saved); z is then dead (log_softmax replaces it).
  //   peak at cross_entropy: h1 + g + z + loss + log_softmax = 2H + 2Z + L = 836 B
  assert.equal(s.savedTotal, 2 * H + Z);
  assert.deepEqual(s.savedByBlock, [H, H, 0, Z]);
  // Backward:
  //   cross_entropy: h1 + g + log_softmax + loss + dz + softmax temporary (Z) = 2H + 3Z + L   = 996 B
  //                  then log_softmax freed (the loss stays to the end of backward)
  //   linear2:       h1 + g + dz + dg + loss + dW2, db2                       = 3H + Z + L + V2   = 1,612 B <- peak
  //   gelu:          h1 + dg + dh1 + loss + V2                                = 3H + L + V2       = 1,452 B
  //   linear1:       dh1 + loss + V2 + V1                                     = H + L + V2 + V1   = 1,516 B
  assert.deepEqual(peakOf(s.first), { bytes: 3 * H + Z + 4, paramGrads: V2, phase: 'backward', saved: 2 * H, grads: H + Z, transient: 4 });
  assert.equal(s.first.bytes + s.first.paramGrads, 1612);
});

test('cross_entropy over 1,000 classes: its backward (log_softmax + loss + dz + the softmax it materialises) is the peak', () => {
  const t = new Tracer('fp32');
  const z = t.linear(t.input('x', [4, 1]), t.param('w', [1, 1000], { matmul: true }));
  t.loss('cross_entropy', z, 1000);
  const s = simulatePytorch(t.trace, CUDA_RULES, 1);
  const Zk = 4 * 1000 * F; // logits, log_softmax, dz, the softmax: 16,000 B each
  // Forward: z; cross_entropy adds the loss and its saved log_softmax, then z is dead: saved = log_softmax.
  assert.equal(s.savedTotal, Zk);
  // Backward of cross_entropy: log_softmax + loss + dz + softmax temporary = 48,004 B; the linear's backward
  // after it holds dz + dW [1, 1000] = 20,000 B.
  assert.deepEqual(peakOf(s.first), { bytes: 3 * Zk + 4, paramGrads: 0, phase: 'backward', saved: Zk, grads: Zk, transient: Zk + 4 });
});

// ---- 3. the same net with frozen linears: no backward, every tensor freed at its last use -------------------
const frozen = model([
  { type: 'linear', input: [4, 8], out: 16, frozen: true },
  { type: 'activation', kind: 'relu' },
  { type: 'linear', out: 2, frozen: true },
  { type: 'loss', kind: 'mse' },
]);

test('nothing requires grad: nothing is saved, the peak is the forward transient h1 + r', () => {
  const a = assemble(frozen, runCfg({ batch_size: 4 }));
  const s = simulatePytorch(a.trace, CUDA_RULES, 4);
  assert.equal(s.savedTotal, 0);
  // h1 (H); relu: h1 + r = 2H, then h1 freed; linear2: r + y, then r freed; mse: y + loss, then y freed.
  assert.deepEqual(peakOf(s.first), { bytes: 2 * H, paramGrads: 0, phase: 'forward', saved: 0, grads: 0, transient: 2 * H });
});

// ---- 4. a checkpointed mlp block: forward keeps the segment input only; backward recomputes -----------------
// pre: linear 8 -> 8 over x [4, 8] gives p [4, 8]; mlp (checkpoint): h = p W1 + b1 [4, 16], r = relu(h),
// y = r W2 + b2 [4, 8]; mse(y, target [4, 8]).
const P8 = 4 * 8 * F; // p, y and their gradients: 128 B
const Wpre = (8 * 8 + 8) * F; // 288 B
const Wfc1 = (8 * 16 + 16) * F; // 576 B
const Wfc2 = (16 * 8 + 8) * F; // 544 B
const ckpt = model([
  { type: 'linear', name: 'pre', input: [4, 8], out: 8 },
  { type: 'mlp', hidden: 16, activation: 'relu', checkpoint: true },
  { type: 'loss', kind: 'mse' },
]);

test('checkpointed mlp: forward saves the segment input; the recompute and backward peaks, by hand', () => {
  const a = assemble(ckpt, runCfg({ batch_size: 4 }));
  const s = simulatePytorch(a.trace, CUDA_RULES, 3);
  // Forward: p; h (p + h); r (p + h + r = 640 B, h then dead); y (p + r + y, r then dead: the segment keeps
  // only its input p); mse keeps y. Saved: p (block 0) and y (block 1).
  assert.equal(s.savedTotal, 2 * P8);
  assert.deepEqual(s.savedByBlock, [P8, P8, 0]);
  // Backward: mse gives dy, frees y. The segment's backward recomputes h, r (saved now), y, then:
  //   fc2:  p + dy + r + dr (+ y, see below) + dW2        ; dy, r... released as each op finishes
  //   relu: p + r + dr + dh + W2
  //   fc1:  p + dh + dp + loss + W2 + dW1   = 128 + 256 + 128 + 4 + 544 + 576 = 1,636 B <- peak (recompute phase)
  //   pre:  dp + loss + W2 + W1 + dWpre     = 128 + 4 + 1,408                 = 1,540 B
  assert.deepEqual(peakOf(s.first), { bytes: P8 + H + P8 + 4, paramGrads: Wfc2 + Wfc1, phase: 'recompute', saved: P8, grads: H + P8, transient: 4 });
  assert.equal(s.first.bytes + s.first.paramGrads, 1636);
  assert.ok(Wpre > 0);
});

// PyTorch's non-reentrant checkpoint (torch/utils/checkpoint.py, 1.13: `_unused = function(*args)` inside the
// unpack hook) drops the recomputed segment output y when the recompute returns, before fc2's backward
// allocates dr. So fc2's backward holds p + dy + r + dr + dW2 (+ the 4 B loss) = 128 + 128 + 256 + 256 + 544 + 4
// = 1,316 B for a later micro-batch (the new dW2 a temporary), not 1,444 B: the simulation keeps the recomputed y (128 B) until
// fc2's backward is done. Measured (bench/torch/harness.py byte counter, torch 1.13.0a0 and 2.13.0 CPU) on a
// scaled copy where fc2's backward is the peak (x [8, 256], pre 256 -> 256, mlp hidden 1024, loss on y, third
// micro-batch): 1,136,584 B over the baseline = p + dy + r + dr + dW2 + db2 + RNG state 5,056 + loss 4 + seed 4,
// with no room for y (8,192 B); the simulation then gave 1,144,768 B for it (y included, loss and seed not;
// it now keeps the loss to the end of backward).
// The micro-batch 1 peak (test above) is at fc1, after y is gone in both, so it is unaffected.
test('checkpointed mlp, later micro-batch: the recomputed segment output is not alive during its backward', () => {
  const a = assemble(ckpt, runCfg({ batch_size: 4 }));
  const s = simulatePytorch(a.trace, CUDA_RULES, 3);
  // Later micro-batch: the largest of fc2 (p + dy + r + dr + loss + new dW2 = 1,316 B) and fc1 (p + dh + dp + loss + new dW1 = 1,092 B).
  assert.equal(s.later.bytes, P8 + P8 + H + H + 4 + Wfc2);
});

// ---- The estimate's components at the peak, each derived from the sequences above ----------------------------
test('estimate components from the hand sequences (sgd: no optimizer state, the peak is micro-batch 1)', () => {
  const net1 = model([
    { type: 'linear', input: [4, 8], out: 16 },
    { type: 'activation', kind: 'relu' },
    { type: 'linear', out: 2 },
    { type: 'loss', kind: 'mse' },
  ]);
  const e1 = est(net1, { batch_size: 4, optimizer: 'sgd' });
  // Weights: (8*16 + 16 + 16*2 + 2) params x 4 B; the batch: x [4, 8] and the mse target [4, 2], fp32.
  assert.equal(comp(e1, 'weights'), W1 + W2);
  assert.equal(comp(e1, 'input_batch'), 4 * 8 * F + Y);
  // At linear1's backward (sequence 1): every parameter gradient, dh1, nothing saved; the loss (4 B) the
  // only transient.
  assert.equal(comp(e1, 'gradients'), W1 + W2);
  assert.equal(comp(e1, 'activation_grads'), H);
  assert.equal(comp(e1, 'saved_activations'), 0);
  assert.equal(comp(e1, 'transients'), 4);
  assert.equal(comp(e1, 'optimizer_state'), 0);
  // The optimizer step (weights + batch + gradients = 1,584 B) stays below micro-batch 1 (1,844 B).
  assert.equal(e1.allocated, 712 + 160 + 972);

  const net2 = model([
    { type: 'linear', input: [4, 8], out: 16 },
    { type: 'activation', kind: 'gelu' },
    { type: 'linear', out: 10 },
    { type: 'loss', kind: 'cross_entropy' },
  ]);
  const e2 = est(net2, { batch_size: 4, optimizer: 'sgd' });
  // At linear2's backward (sequence 2): h1 and g saved, dz and dg in flight, dW2 and db2 produced, the loss held.
  assert.equal(comp(e2, 'saved_activations'), 2 * H);
  assert.equal(comp(e2, 'activation_grads'), H + Z);
  assert.equal(comp(e2, 'gradients'), V2);
  assert.equal(comp(e2, 'transients'), 4);
  // The batch: x [4, 8] fp32 and int64 class ids [4].
  assert.equal(comp(e2, 'input_batch'), 4 * 8 * F + 4 * 8);
  assert.equal(comp(e2, 'weights'), V1 + V2);

  // Sequence 3: the frozen net's peak is the forward transient h1 + r, with no gradients at all.
  const e3 = est(frozen, { batch_size: 4, optimizer: 'sgd' });
  assert.equal(comp(e3, 'transients'), 2 * H);
  assert.equal(comp(e3, 'gradients'), 0);
  assert.equal(comp(e3, 'saved_activations'), 0);
  assert.equal(e3.allocated, W1 + W2 + 4 * 8 * F + Y + 2 * H);
});
