import { test } from 'node:test';
import assert from 'node:assert/strict';
import { optimizerCost } from '../../src/core/optimizers.js';
import type { OptimizerImpl, OptimizerName } from '../../src/core/model.js';
import { comp, est, model } from './helpers.js';

// Three parameters: a [16, 32] and a [64, 16] matrix and a [32] vector.
const shapes = [{ shape: [16, 32] }, { shape: [32] }, { shape: [64, 16] }];
const P = 16 * 32 + 32 + 64 * 16; // 1,568
const LARGEST = 64 * 16;

test('state and step temporaries of every optimizer x impl, by hand (fp32 state)', () => {
  const expect: Record<OptimizerName, Record<OptimizerImpl, [number, number]>> = {
    // [state, step temporaries]
    sgd: { foreach: [0, 0], fused: [0, 0], 'for-loop': [0, 0], hf: [0, 0] },
    'sgd-momentum': { foreach: [P * 4, 0], fused: [P * 4, 0], 'for-loop': [P * 4, 0], hf: [P * 4, 0] },
    // m and v; foreach makes sqrt(v) for all params at once, the for-loop sqrt and a division per param,
    // transformers' AdamW (hf) one sqrt(v) + eps per param.
    adam: { foreach: [2 * P * 4, P * 4], fused: [2 * P * 4, 0], 'for-loop': [2 * P * 4, 2 * LARGEST * 4], hf: [2 * P * 4, LARGEST * 4] },
    adamw: { foreach: [2 * P * 4, P * 4], fused: [2 * P * 4, 0], 'for-loop': [2 * P * 4, 2 * LARGEST * 4], hf: [2 * P * 4, LARGEST * 4] },
    // Row + column statistics per matrix (512/32 + 512/16, 1024/16 + 1024/64), vectors whole.
    adafactor: {
      foreach: [(16 + 32 + 32 + 64 + 16) * 4, 2 * LARGEST * 4],
      fused: [(16 + 32 + 32 + 64 + 16) * 4, 2 * LARGEST * 4],
      'for-loop': [(16 + 32 + 32 + 64 + 16) * 4, 2 * LARGEST * 4],
      hf: [(16 + 32 + 32 + 64 + 16) * 4, 2 * LARGEST * 4],
    },
    // Every parameter here is under bitsandbytes' min_8bit_size (4096 elements): fp32 m and v.
    'adamw-8bit': { foreach: [2 * P * 4, 0], fused: [2 * P * 4, 0], 'for-loop': [2 * P * 4, 0], hf: [2 * P * 4, 0] },
  };
  for (const [type, impls] of Object.entries(expect)) {
    for (const [impl, [state, temp]] of Object.entries(impls)) {
      const c = optimizerCost(type as OptimizerName, impl as OptimizerImpl, shapes, 4, 0);
      assert.equal(c.stateBytes, state, `${type} ${impl} state`);
      assert.equal(c.stepTempBytes, temp, `${type} ${impl} temp`);
      assert.ok(c.stateFormula.length > 0 && c.stepTempFormula.length > 0);
    }
  }
});

test('8-bit AdamW: 1 byte per element and state plus an fp32 absmax per 256 elements; fp32 state under 4096 elements', () => {
  const mixed = [{ shape: [128, 64] }, { shape: [64] }]; // 8,192 elements (8-bit) and 64 (fp32)
  const c = optimizerCost('adamw-8bit', 'foreach', mixed, 4, 0);
  assert.equal(c.stateBytes, 2 * 8192 * 1 + 2 * (8192 / 256) * 4 + 2 * 64 * 4);
});

test('SGD weight decay under foreach adds grad + wd * p out of place; 2-byte state for pure bf16', () => {
  assert.equal(optimizerCost('sgd', 'foreach', shapes, 4, 0.01).stepTempBytes, P * 4);
  assert.equal(optimizerCost('sgd-momentum', 'foreach', shapes, 4, 0.01).stepTempBytes, P * 4);
  assert.equal(optimizerCost('sgd', 'fused', shapes, 4, 0.01).stepTempBytes, 0);
  assert.equal(optimizerCost('adamw', 'foreach', shapes, 2, 0).stateBytes, 2 * P * 2);
});

// linear [1024, 64] -> [1024, 64], no bias: W = 4,096 params; activations dominate the forward.
const W = 64 * 64;
const IN = 1024 * 64 * 4; // the batch (fp32)
const OUT = 1024 * 64 * 4; // the output, and its gradient
const big = model([{ type: 'linear', input: [1024, 64], out: 64, bias: false }]);

test('step 1 has no optimizer state during forward/backward; the steady state does', () => {
  const e = est(big, { optimizer: 'adamw' });
  // Micro-batch 1 peaks in backward at the linear: its output gradient and dW (the batch needs no grad),
  // and the 0-dim loss (4 B), which the caller holds until loss.backward() returns.
  const mb1 = W * 4 + IN + OUT + W * 4 + 4;
  const state = 2 * W * 4;
  const step1 = e.phases.find((p) => p.microbatch === 'first' && p.step === 'step 1')!;
  const steady = e.phases.find((p) => p.microbatch === 'first' && p.step === 'steady')!;
  assert.equal(step1.allocated, mb1);
  assert.equal(steady.allocated, mb1 + state);
  // The optimizer step: weights, batch, gradients, m and v, foreach's sqrt(v).
  const opt = W * 4 + IN + W * 4 + state + W * 4;
  assert.equal(e.phases.find((p) => p.phase === 'optimizer step')!.allocated, opt);
  assert.equal(e.step1_allocated, Math.max(mb1, opt));
  assert.equal(e.steady_allocated, Math.max(mb1 + state, opt));
  assert.equal(e.allocated, mb1 + state);
  assert.equal(comp(e, 'optimizer_state'), state);
});

test('gradient accumulation: later micro-batches carry every gradient plus the new one being added', () => {
  const e = est(big, { optimizer: 'adamw', grad_accum: 4 });
  const later = e.phases.find((p) => p.microbatch === 'later' && p.step === 'steady')!;
  assert.equal(later.name, 'micro-batch 2..4 backward');
  // weights, batch, m and v, all gradients, the output gradient, dW before it is summed into .grad, and
  // the 4 B quotient `loss / grad_accum` the caller holds through backward.
  assert.equal(later.allocated, W * 4 + IN + 2 * W * 4 + W * 4 + OUT + W * 4 + 4);
  assert.equal(e.allocated, later.allocated);
  assert.equal(comp(e, 'gradients'), W * 4);
  assert.equal(e.effective_batch, 1 * 4);
});

test('EMA: one copy of the trainable weights in its dtype, on the GPU only', () => {
  assert.equal(comp(est(big, { ema: true }), 'ema'), W * 4);
  assert.equal(comp(est(big, { ema: { dtype: 'bf16' } }), 'ema'), W * 2);
  assert.equal(comp(est(big, { ema: { device: 'cpu' } }), 'ema'), 0);
  assert.equal(comp(est(big, { ema: false }), 'ema'), 0);
  assert.equal(comp(est(big), 'ema'), 0);
});

test('optimizer step phase for every optimizer (fp32, no weight decay)', () => {
  const state: Record<OptimizerName, number> = {
    sgd: 0, 'sgd-momentum': W * 4, adam: 2 * W * 4, adamw: 2 * W * 4,
    adafactor: (64 + 64) * 4, 'adamw-8bit': 2 * W + 2 * Math.ceil(W / 256) * 4,
  };
  const temp: Record<OptimizerName, number> = {
    sgd: 0, 'sgd-momentum': 0, adam: W * 4, adamw: W * 4, adafactor: 2 * W * 4, 'adamw-8bit': 0,
  };
  for (const o of Object.keys(state) as OptimizerName[]) {
    const e = est(big, { optimizer: o });
    assert.equal(e.phases.find((p) => p.phase === 'optimizer step')!.allocated, W * 4 + IN + W * 4 + state[o] + temp[o], o);
  }
  const fused = est(big, { optimizer: { type: 'adamw', impl: 'fused' } });
  assert.equal(fused.phases.find((p) => p.phase === 'optimizer step')!.allocated, W * 4 + IN + W * 4 + 2 * W * 4);
  const loop = est(big, { optimizer: { type: 'adam', impl: 'for-loop' } });
  assert.equal(loop.phases.find((p) => p.phase === 'optimizer step')!.allocated, W * 4 + IN + W * 4 + 2 * W * 4 + 2 * W * 4);
});

// Sharding: a two-block model, 4 GPUs. Parameters divide evenly.
const two = model([
  { type: 'linear', input: [1024, 64], out: 64, bias: false },
  { type: 'linear', out: 32, bias: false },
]);
const P2 = 64 * 64 + 64 * 32;
const opt = (e: ReturnType<typeof est>) => e.phases.find((p) => p.phase === 'optimizer step' && p.step === 'steady')!.allocated;
const BATCH = 1024 * 64 * 4;

test('DDP: a full replica and gradient buckets that copy the gradients unless bucket_view', () => {
  const e = est(two, { optimizer: 'adamw', distributed: { strategy: 'ddp', gpus: 4 } });
  assert.equal(comp(e, 'ddp_buckets'), P2 * 4);
  assert.equal(opt(e), P2 * 4 + BATCH + P2 * 4 + P2 * 4 + 2 * P2 * 4 + P2 * 4);
  assert.equal(comp(est(two, { distributed: { strategy: 'ddp', gpus: 4, bucket_view: true } }), 'ddp_buckets'), 0);
  // gpus > 1 without a strategy means DDP.
  assert.equal(comp(est(two, { distributed: { gpus: 2 } }), 'ddp_buckets'), P2 * 4);
  assert.equal(est(two, { distributed: { gpus: 3 }, batch_size: 8, grad_accum: 2 }).effective_batch, 8 * 2 * 3);
});

test('ZeRO-1/2/3 and FSDP shard state, then gradients, then parameters per GPU', () => {
  const N = 4;
  const z1 = est(two, { optimizer: 'adamw', distributed: { strategy: 'zero1', gpus: N } });
  assert.equal(opt(z1), P2 * 4 + BATCH + P2 * 4 + (2 * P2 * 4) / N + (P2 * 4) / N);
  const z2 = est(two, { optimizer: 'adamw', distributed: { strategy: 'zero2', gpus: N } });
  assert.equal(opt(z2), P2 * 4 + BATCH + (P2 * 4) / N + (2 * P2 * 4) / N + (P2 * 4) / N);
  for (const strategy of ['zero3', 'fsdp']) {
    const e = est(two, { optimizer: 'adamw', ema: true, distributed: { strategy, gpus: N } });
    assert.equal(comp(e, 'weights'), (P2 * 4) / N, strategy);
    assert.equal(opt(e), (P2 * 4) / N + (P2 * 4) / N + BATCH + (P2 * 4) / N + (2 * P2 * 4) / N + (P2 * 4) / N, strategy);
    // All-gather buffers: the largest unit (block 0, 4,096 params) in full, plus one prefetched.
    const mb1 = e.phases.find((p) => p.microbatch === 'first' && p.step === 'steady')!;
    const noGather = est(two, { optimizer: 'adamw', ema: true, distributed: { strategy, gpus: N, prefetch: 0 } });
    const mb1NoPrefetch = noGather.phases.find((p) => p.microbatch === 'first' && p.step === 'steady')!;
    assert.equal(mb1.allocated - mb1NoPrefetch.allocated, 64 * 64 * 4, strategy);
  }
});
