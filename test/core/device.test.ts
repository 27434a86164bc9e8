/**
 * The device layer: zero_grad semantics, FSDP / DeepSpeed precision, the CUDA context model, the
 * risk band and its verdict. Expected values are written as their arithmetic.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONTEXT_FACTS, contextModel } from '../../src/core/context.js';
import { MemplanError } from '../../src/core/errors.js';
import { verdictOf } from '../../src/core/estimate.js';
import { comp, est, model, runCfg, TEST_GPU, MiB, tinyLm } from './helpers.js';

// linear [1024, 64] -> 64, no bias: W = 4,096 params.
const W = 64 * 64;
const IN = 1024 * 64 * 4;
const OUT = 1024 * 64 * 4;
const big = model([{ type: 'linear', input: [1024, 64], out: 64, bias: false }]);

test('set_to_none: false keeps every gradient through the next forward and backward', () => {
  const none = est(big, { optimizer: 'adamw' });
  const kept = est(big, { optimizer: 'adamw', set_to_none: false });
  // set_to_none (the default): micro-batch 1 of step 2 starts without gradients: output gradient and dW,
  // and the 0-dim loss (4 B) the caller holds until loss.backward() returns.
  assert.equal(none.allocated, W * 4 + IN + (OUT + W * 4 + 4) + 2 * W * 4);
  // Kept: all gradients resident plus dW again as a temporary before it is added into .grad.
  assert.equal(kept.allocated, W * 4 + IN + W * 4 + 2 * W * 4 + OUT + W * 4 + 4);
  assert.equal(kept.peak.step, 'steady');
  assert.match(kept.peak.name, /gradients kept/);
  assert.equal(comp(kept, 'gradients'), W * 4);
  // Step 1 is the same either way: no gradient exists before the first backward.
  assert.equal(kept.step1_allocated, none.step1_allocated);
});

const lm = tinyLm();

test('FSDP MixedPrecision(param_dtype=bf16): fp32 shards, 2-byte gathered units and activations, no autocast cache', () => {
  const fsdp = est(lm, { batch_size: 4, precision: 'bf16-mixed', distributed: { strategy: 'fsdp', gpus: 4, mixed_precision: 'fsdp' } });
  const pure = est(lm, { batch_size: 4, precision: 'bf16' });
  const P = fsdp.params.total;
  const unit = fsdp.blocks.find((b) => b.name === 'enc')!.params / 2;
  assert.equal(comp(fsdp, 'weights'), Math.ceil((P * 4) / 4));
  assert.equal(comp(fsdp, 'gather_buffers'), unit * 2 * (1 + 1));
  assert.equal(fsdp.totals!.gradients, Math.ceil((P * 4) / 4));
  assert.equal(fsdp.totals!.optimizer_state, Math.ceil((2 * P * 4) / 4));
  assert.equal(comp(fsdp, 'master_weights'), 0);
  assert.equal(comp(fsdp, 'autocast_cache'), 0);
  // The forward runs as pure bf16 does: the same saved activations.
  assert.equal(fsdp.forward_saved, pure.forward_saved);
});

test('DeepSpeed bf16 with ZeRO-2: 2-byte weights and gradients (sharded), fp32 master and Adam state sharded', () => {
  const ds = est(lm, { batch_size: 4, precision: 'bf16-mixed', distributed: { strategy: 'zero2', gpus: 4, mixed_precision: 'deepspeed' } });
  const P = ds.params.total;
  assert.equal(comp(ds, 'weights'), P * 2);
  assert.equal(ds.totals!.gradients, Math.ceil((P * 2) / 4));
  assert.equal(ds.totals!.master_weights, Math.ceil((P * 4) / 4));
  assert.equal(ds.totals!.optimizer_state, Math.ceil((2 * P * 4) / 4));
  assert.equal(comp(ds, 'autocast_cache'), 0);
});

test('mixed_precision needs its strategy and a reduced precision', () => {
  assert.throws(() => runCfg({ precision: 'bf16-mixed', distributed: { strategy: 'ddp', gpus: 2, mixed_precision: 'fsdp' } }), (e: MemplanError) => e.path === 'distributed.mixed_precision');
  assert.throws(() => runCfg({ precision: 'fp32', distributed: { strategy: 'zero2', gpus: 2, mixed_precision: 'deepspeed' } }), (e: MemplanError) => e.path === 'precision');
});

test('sharded parameters under autocast: the params-block cast copy is not charged for the whole model', () => {
  const m = model([{ type: 'params', count: 1_000_000, matmul: true }, { type: 'linear', input: [8, 32], out: 32 }]);
  const plain = est(m, { precision: 'bf16-mixed', optimizer: 'sgd' }); // no state: micro-batch 1 is the peak
  const sharded = est(m, { precision: 'bf16-mixed', optimizer: 'sgd', distributed: { strategy: 'zero3', gpus: 4 } });
  assert.equal(comp(plain, 'autocast_cache'), 1_000_000 * 2);
  assert.equal(comp(sharded, 'autocast_cache'), 0);
});

test('CUDA context: lazy by default, eager from PR #86509, pre-11.7 from the V100 measurement, NCCL, or as given', () => {
  const ws = TEST_GPU.workspace_bytes!;
  const lazy = contextModel(TEST_GPU, runCfg({}));
  assert.equal(lazy.loading, 'lazy');
  assert.equal(lazy.bytes, 500 * MiB + ws);
  assert.equal(lazy.low, CONTEXT_FACTS.lazy.bytes + ws); // 287,047,680 - 8 MiB, the smallest published
  assert.equal(lazy.high, Math.round(500 * MiB * 1.3) + ws);
  const eager = contextModel(TEST_GPU, runCfg({ stack: { module_loading: 'eager' } }));
  assert.equal(eager.bytes, 500 * MiB + (666_632_192 - 287_047_680) + ws);
  const old = contextModel(TEST_GPU, runCfg({ stack: { cuda: '11.2' } }));
  assert.equal(old.loading, 'eager');
  assert.equal(old.bytes, 1341 * MiB + ws);
  assert.throws(() => contextModel(TEST_GPU, runCfg({ stack: { cuda: '11.2', module_loading: 'lazy' } })), /11\.7/);
  const ddp = contextModel(TEST_GPU, runCfg({ distributed: { strategy: 'ddp', gpus: 4 } }));
  assert.equal(ddp.bytes, 500 * MiB + ws + 688 * MiB);
  assert.equal(contextModel(TEST_GPU, runCfg({ distributed: { strategy: 'ddp', gpus: 2 }, stack: { libraries: ['cublas'] } })).bytes, 500 * MiB + ws);
  const given = contextModel(TEST_GPU, runCfg({ stack: { context_bytes: 300 * MiB } }));
  assert.deepEqual([given.low, given.bytes, given.high], [300 * MiB + ws, 300 * MiB + ws, 300 * MiB + ws]);
  const card = contextModel({ ...TEST_GPU, context_eager_bytes: 1100 * MiB }, runCfg({ stack: { cuda: '11.2' } }));
  assert.equal(card.bytes, 1100 * MiB + ws);
});

test('verdict: FITS when the high edge fits, AT RISK between the edges, OVER past the expected total', () => {
  const band = { expected: 100, high: 120 };
  assert.equal(verdictOf(band, 130), 'FITS');
  assert.equal(verdictOf(band, 120), 'FITS');
  assert.equal(verdictOf(band, 110), 'AT RISK');
  assert.equal(verdictOf(band, 99), 'OVER');
  assert.equal(verdictOf(band, 130, true), 'OVER');
  const e = est(lm, { batch_size: 4 }, TEST_GPU);
  const b = e.band!;
  assert.equal(b.expected, e.device_total);
  assert.equal(b.low, e.allocated + b.parts.reduce((a, p) => a + p.low, 0));
  assert.equal(b.high, e.allocated + b.parts.reduce((a, p) => a + p.high, 0));
  // The context's spread is the widest part: 500 MiB x 0.3 above, down to 266 MiB below.
  const ctx = b.parts.find((p) => p.part === 'context')!;
  assert.equal(ctx.high - ctx.expected, Math.round(500 * MiB * 1.3) - 500 * MiB);
  const atRisk = est(lm, { batch_size: 4 }, { ...TEST_GPU, capacity_bytes: b.expected + 1 });
  assert.equal(atRisk.verdict, 'AT RISK');
  assert.equal(atRisk.fits, true);
});

test('a calibrated preset narrows the band: measured context, 1% allocator margin', () => {
  const cal = { ...TEST_GPU, calibration: { reserved_ratio: 1, from: 'test' } };
  const plain = est(lm, { batch_size: 4 }, TEST_GPU).band!;
  const narrow = est(lm, { batch_size: 4 }, cal).band!;
  assert.ok(narrow.high - narrow.low < plain.high - plain.low);
  assert.equal(narrow.parts.find((p) => p.part === 'context')!.high, 500 * MiB);
  assert.equal(narrow.calibrated, true);
});
