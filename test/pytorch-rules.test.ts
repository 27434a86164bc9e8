// Device- and version-conditional PyTorch rules measured in bench/torch (docs/accuracy-pytorch.md), and
// the estimator fixes found by measuring. Every expected value is computed by hand here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { estimate, normalizeRun, optimizerCost, validateModel, type ModelDescriptor } from '../src/index.js';

const run = (extra: Record<string, unknown> = {}) => normalizeRun({ model: 'inline', batch_size: 2, optimizer: 'sgd', ...extra });
const model = (blocks: unknown[], dims: Record<string, number> = {}): ModelDescriptor =>
  validateModel({ name: 't', dims, blocks });

test('run key pytorch: defaults to 2, accepts 1.13 as a string or a YAML number', () => {
  assert.equal(run().pytorch, '2');
  assert.equal(run({ pytorch: '1.13' }).pytorch, '1.13');
  assert.equal(run({ pytorch: 1.13 }).pytorch, '1.13');
  assert.throws(() => run({ pytorch: '3' }));
});

const shapes = [{ shape: [4, 8] }, { shape: [8] }, { shape: [8, 16] }, { shape: [16] }];
// P = 32 + 8 + 128 + 16 = 184 params, 4 tensors.

test('Adam on CUDA / PyTorch 2 keeps the documented rules', () => {
  const fe = optimizerCost('adamw', 'foreach', shapes, 4, 0);
  assert.equal(fe.stateBytes, 2 * 184 * 4);
  assert.equal(fe.stepTempBytes, 184 * 4);
  assert.equal(optimizerCost('adamw', 'for-loop', shapes, 4, 0).stepTempBytes, 2 * 128 * 4);
});

test('Adam on CPU, torch 1.13: 4 B step tensor per param, foreach 2P, for-loop 2 P_i + P_(i-1)', () => {
  const env = { device: 'cpu' as const, pytorch: '1.13' as const };
  const fe = optimizerCost('adam', 'foreach', shapes, 4, 0, env);
  assert.equal(fe.stateBytes, 2 * 184 * 4 + 4 * 4);
  assert.equal(fe.stepTempBytes, 2 * 184 * 4);
  // max(2*32 + 0, 2*8 + 32, 2*128 + 8, 2*16 + 128) = 264 elements
  assert.equal(optimizerCost('adam', 'for-loop', shapes, 4, 0, env).stepTempBytes, 264 * 4);
  // SGD momentum: one buffer on both
  assert.equal(optimizerCost('sgd-momentum', 'foreach', shapes, 4, 0, env).stateBytes, 184 * 4);
});

test('dropout mask: 1 B bool on CUDA, the input dtype (4 B) on CPU', () => {
  const m = model([
    { name: 'lin', type: 'linear', input: ['batch', 8], out: 16 },
    { name: 'drop', type: 'dropout', p: 0.5 },
    { name: 'head', type: 'linear', out: 4 },
    { name: 'loss', type: 'loss', kind: 'mse' },
  ]);
  // (the first linear saves the data batch: free) mask [2,16] + the dropout output saved by the head
  // [2,16] x 4 B + mse keeps the prediction [2,4] x 4 B
  assert.equal(estimate(m, run()).forward_saved, 2 * 16 * 1 + 2 * 16 * 4 + 2 * 4 * 4);
  assert.equal(estimate(m, run({ device: 'cpu' })).forward_saved, 2 * 16 * 4 + 2 * 16 * 4 + 2 * 4 * 4);
});

test('checkpoint keeps a 5,056 B CPU RNG state per checkpointed call on CPU only', () => {
  const m = model([
    { name: 'ffn', type: 'mlp', input: ['batch', 8], hidden: 16, checkpoint: true },
    { name: 'head', type: 'linear', out: 2 },
    { name: 'loss', type: 'loss', kind: 'mse' },
  ]);
  // The checkpointed block's input is the data batch (nothing to save); head saves the block output
  // [2,8] x 4 B, mse the prediction [2,2] x 4 B.
  assert.equal(estimate(m, run()).forward_saved, 64 + 16);
  assert.equal(estimate(m, run({ device: 'cpu' })).forward_saved, 64 + 16 + 5056);
});

test('chunks with checkpoint: the concat of chunk outputs is not part of the last chunk segment', () => {
  const m = model(
    [
      { name: 'ffn', type: 'mlp', input: ['batch', 'n', 4], hidden: 8, chunk: { dim: 'n', size: 2, checkpoint: true } },
      { name: 'head', type: 'linear', out: 1 },
      { name: 'loss', type: 'loss', kind: 'mse' },
    ],
    { n: 4 },
  );
  // Chunk inputs are slices of the data batch (free). Saved: the concat [1,4,4] x 4 B (head input) and
  // the prediction [1,4,1] x 4 B. Before the fix chunk outputs 0 and 1 ([1,2,4] x 4 B each) counted too.
  const r = { batch_size: 1 };
  assert.equal(estimate(m, run(r)).forward_saved, 64 + 16);
  assert.equal(estimate(m, run({ ...r, device: 'cpu' })).forward_saved, 64 + 16 + 2 * 5056);
});

test('an explicit `saved` tensor is kept for backward even though no input requires grad', () => {
  const m = model([
    { name: 'head', type: 'linear', input: ['batch', 4], out: 2 },
    { name: 'buf', type: 'tensor', shape: [10, 10], dtype: 'f32', lifetime: 'saved' },
    { name: 'loss', type: 'loss', kind: 'mse' },
  ]);
  // buffer 10 x 10 x 4 B + mse prediction [2,2] x 4 B (the linear's input is the data batch)
  assert.equal(estimate(m, run()).forward_saved, 400 + 16);
});

test('parameters known only by count have their gradients during backward', () => {
  const blocks = [
    { name: 'head', type: 'linear', input: ['batch', 4], out: 2 },
    { name: 'loss', type: 'loss', kind: 'mse' },
  ];
  const without = estimate(model(blocks), run());
  const withP = estimate(model([{ name: 'extra', type: 'params', count: 1000 }, ...blocks]), run());
  const bwd = (e: typeof without) => e.phases.find((p) => p.step === 'step 1' && p.name === 'micro-batch 1 backward')!.allocated;
  // 1000 weights x 4 B + their 1000 gradients x 4 B
  assert.equal(bwd(withP) - bwd(without), 8000);
});

test('torch 1.13 mean over a dimension saves its input; 2.x does not', () => {
  const m = model([
    { name: 'lin', type: 'linear', input: ['batch', 3, 4], out: 4 },
    { name: 'pool', type: 'mean_pool', axis: 1 },
    { name: 'loss', type: 'loss', kind: 'mse' },
  ]);
  // mse keeps the prediction [2,4] x 4 B; 1.13's mean keeps the linear output [2,3,4] x 4 B
  assert.equal(estimate(m, run()).forward_saved, 32);
  assert.equal(estimate(m, run({ pytorch: '1.13' })).forward_saved, 32 + 96);
});

test('nn.TransformerEncoderLayer on a data input saves a time-first copy of it (fp32)', () => {
  const m = model([{ name: 'enc', type: 'transformer_encoder', input: ['batch', 4, 8], heads: 2, ffn_dim: 32, dropout: 0, activation: 'relu' }]);
  // b=1, s=4, h=8: U = 1*4*8*4 = 128 B, A = heads*s*s*b*4 = 128 B, LayerNorm mean+rstd 2 x 4 rows x 4 B = 32 B each.
  // Post-norm, p = 0, relu: input copy U, q and k U each, softmax output A, v U, attention context U,
  // LN1 input U + 32, fc1 input U, relu output 4U (also fc2's input), LN2 input U + 32 = 12U + A + 64.
  // Without the copy (the input itself is the data batch) it would be 11U + A + 64.
  assert.equal(estimate(m, run({ batch_size: 1, attention: 'eager' })).forward_saved, 12 * 128 + 128 + 64);
});
