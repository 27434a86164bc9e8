import { test } from 'node:test';
import assert from 'node:assert/strict';
import { comp, est, model } from './helpers.js';

// A tiny-activation model so the optimizer step is the peak: linear [2, 64] -> 64, no bias.
const P = 64 * 64;
const tiny = model([{ type: 'linear', input: [2, 64], out: 64, bias: false }]);
// And an activation-heavy one so micro-batch 1 is the peak (where the autocast cache lives).
const big = model([{ type: 'linear', input: [4096, 64], out: 64, bias: false }]);

interface Row { weights: number; grads: number; master: number; state: number; temps: number; autocast: number }
// AdamW (foreach): m and v, and sqrt(v) at the step, in the state dtype.
const rows: Record<string, Row> = {
  // Everything fp32.
  fp32: { weights: 4 * P, grads: 4 * P, master: 0, state: 2 * 4 * P, temps: 4 * P, autocast: 0 },
  // AMP: weights, grads and state stay fp32; autocast caches a 2-byte copy of each matmul weight until forward ends.
  'bf16-mixed': { weights: 4 * P, grads: 4 * P, master: 0, state: 2 * 4 * P, temps: 4 * P, autocast: 2 * P },
  'fp16-mixed': { weights: 4 * P, grads: 4 * P, master: 0, state: 2 * 4 * P, temps: 4 * P, autocast: 2 * P },
  // Pure bf16: 2-byte weights, grads and state.
  bf16: { weights: 2 * P, grads: 2 * P, master: 0, state: 2 * 2 * P, temps: 2 * P, autocast: 0 },
  // fp16 weights and grads with an fp32 master copy; the optimizer steps the master, so m and v are fp32
  // too (Apex O2, DeepSpeed fp16): 2 + 2 + 4 + 8 = 16 B per parameter before activations.
  fp16: { weights: 2 * P, grads: 2 * P, master: 4 * P, state: 2 * 4 * P, temps: 4 * P, autocast: 0 },
};

test('weights, gradients, master, optimizer state and temporaries per precision at the optimizer step', () => {
  for (const [precision, r] of Object.entries(rows)) {
    const e = est(tiny, { precision, optimizer: 'adamw' });
    // The batch stays fp32 data: [2, 64] x 4 B.
    const opt = e.phases.find((p) => p.phase === 'optimizer step' && p.step === 'steady')!;
    assert.equal(opt.allocated, r.weights + r.master + 2 * 64 * 4 + r.grads + r.state + r.temps, precision);
    assert.equal(e.allocated, opt.allocated, precision);
    assert.equal(comp(e, 'weights'), r.weights, `${precision} weights`);
    assert.equal(comp(e, 'master_weights'), r.master, `${precision} master`);
    assert.equal(comp(e, 'optimizer_state'), r.state, `${precision} state`);
    assert.equal(comp(e, 'gradients'), r.grads, `${precision} grads`);
  }
  // Under autocast the weight's bf16 copy is only in the cast cache (the linear reads the data batch,
  // which needs no grad, so it does not save W): released when forward ends. Backward then holds dW's
  // bf16 gradient (2P) where the step holds foreach's sqrt(v) (4P): the step alone is the peak, with no
  // cache and no activation gradients in it.
  const mixed = est(tiny, { precision: 'bf16-mixed', optimizer: 'adamw' });
  assert.equal(mixed.peak.phase, 'optimizer step');
  assert.equal(comp(mixed, 'autocast_cache'), 0);
  assert.equal(comp(mixed, 'activation_grads'), 0);
  // Steady backward at the weight cast's backward: weights 4P, batch, m and v 8P, the fp32 gradient 4P
  // and dW's bf16 gradient 2P (the cache is gone, the linear's saved batch cast already freed), and the
  // fp32 0-dim loss (4 B), which the caller holds until loss.backward() returns.
  const bwd = mixed.phases.find((p) => p.step === 'steady' && p.name === 'micro-batch 1 backward')!;
  assert.equal(bwd.allocated, 4 * P + 2 * 64 * 4 + 8 * P + 4 * P + 2 * P + 4);
});

test('the autocast cache (2 B per matmul weight) is alive at a forward peak', () => {
  for (const [precision, r] of Object.entries(rows)) {
    const e = est(big, { precision, optimizer: 'sgd' });
    assert.equal(e.peak.microbatch, 'first', precision);
    // Under autocast the peak is in forward (at the loss's fp32 cast of the linear's output): the cache
    // still holds the weight copy, which no op saved (the linear reads the data batch).
    if (r.autocast) assert.equal(e.peak.phase, 'forward', precision);
    assert.equal(comp(e, 'autocast_cache'), r.autocast, precision);
  }
});

test('activations follow the compute dtype: the saved batch cast is 2 B under mixed and pure low precision', () => {
  // The linear keeps its input for dW: the fp32 batch needs no copy in fp32; under autocast the bf16 cast is saved.
  assert.equal(est(big, { precision: 'fp32' }).forward_saved, 0);
  assert.equal(est(big, { precision: 'bf16-mixed' }).forward_saved, 4096 * 64 * 2);
  assert.equal(est(big, { precision: 'fp16-mixed' }).forward_saved, 4096 * 64 * 2);
  // Pure bf16 casts nothing (no autocast): the batch is consumed as is.
  assert.equal(est(big, { precision: 'bf16' }).forward_saved, 0);
});

test('bf16 on a card without bf16 support gets a note; tfjs refuses reduced precision', () => {
  const preset = { id: 'old', name: 'Old GPU', kind: 'gpu' as const, capacity_bytes: 16e9, context_bytes: 0, bf16: false, source: 'test' };
  assert.ok(est(tiny, { precision: 'bf16-mixed' }, preset).notes.some((n) => /no native bf16/.test(n)));
  assert.throws(() => est(tiny, { precision: 'bf16', runtime: 'tfjs' }), { code: 'E_CONFIG' });
});
