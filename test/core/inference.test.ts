/**
 * Inference runs (mode: inference = model.eval() under torch.no_grad()): the forward only, nothing
 * saved, dropout off, and nn.TransformerEncoderLayer's eval fast path. The expected peaks are worked
 * out by hand and match what torch 1.13 and 2.13 measured on the CPU (docs/blocks/transformer_encoder.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { comp, est, model, sim } from './helpers.js';

const B = 8, S = 512, D = 256, H = 4, F = 1024;
const A = B * S * D * 4; // one [8, 512, 256] fp32 activation: 4 MiB
const SS = B * H * S * S * 4; // one [8, 4, 512, 512] score tensor: 32 MiB
const CPU = { device: 'cpu' };
const enc = (layers: number, extra: Record<string, unknown> = {}) =>
  model([{ type: 'transformer_encoder', name: 'enc', input: ['batch', S, D], heads: H, ffn_dim: F, repeat: layers, ...extra }]);

test('one layer on the eval fast path peaks at the scores plus q, k and v (the input is the batch)', () => {
  const r = sim(enc(1), { batch_size: B, mode: 'inference', ...CPU });
  assert.equal(r.savedTotal, 0);
  assert.equal(r.first.bytes, SS + 3 * A);
  assert.equal(r.first.phase, 'forward');
});

test('a stack: layer 2 holds its input (the output of layer 1) as well: scores + 4 activations', () => {
  assert.equal(sim(enc(3), { batch_size: B, mode: 'inference', ...CPU }).first.bytes, SS + 4 * A);
});

test('short sequences peak in the feed-forward: its hidden layer, the norm output and the fc2 output', () => {
  const short = model([{ type: 'transformer_encoder', input: ['batch', 128, D], heads: H, ffn_dim: F }]);
  const a = B * 128 * D * 4;
  // x1 (attention + norm), the [8, 128, 1024] hidden (4 a), fc2's output: 6 a (measured: 6.00 activations).
  assert.equal(sim(short, { batch_size: B, mode: 'inference', ...CPU }).first.bytes, 6 * a);
});

test('the estimate has weights, the batch and the forward peak: no gradients, optimizer state, EMA or loss', () => {
  const m = model([
    { type: 'embedding', name: 'embed', input: ['batch', 64], vocab: 1000, dim: 64 },
    { type: 'transformer_encoder', heads: 4, repeat: 2, dropout: 0.1 },
    { type: 'linear', out: 1000 },
    { type: 'loss', kind: 'cross_entropy' },
  ]);
  const e = est(m, { batch_size: 4, mode: 'inference', optimizer: 'adamw', ema: true });
  assert.deepEqual(e.phases.map((p) => p.name), ['inference forward', 'inference forward']);
  for (const key of ['gradients', 'optimizer_state', 'ema', 'saved_activations', 'loss_buffers']) assert.equal(comp(e, key), 0, key);
  assert.equal(e.params.trainable, 0);
  assert.equal(e.forward_saved, 0);
  // The loss block is left out: no target in the batch (ids [4, 64] int64 only).
  assert.equal(comp(e, 'input_batch'), 4 * 64 * 8);
  assert.ok(e.notes.some((n) => /inference/.test(n)));
  // Training the same model needs far more.
  assert.ok(est(m, { batch_size: 4 }).allocated > e.allocated);
});

test('the measured runs are CPU ones; on CUDA PyTorch 2 fuses the fast path attention (no s x s)', () => {
  const cuda = sim(enc(1), { batch_size: B, mode: 'inference' }).first.bytes;
  assert.ok(cuda < SS);
});

test('no_fast_path: the regular path under no_grad; eager in 1.13 (two s x s at once), the fused CPU kernel in 2.x', () => {
  const fast = sim(enc(1), { batch_size: B, mode: 'inference', ...CPU }).first.bytes;
  const at = (pytorch: string) => sim(enc(1, { no_fast_path: true }), { batch_size: B, mode: 'inference', ...CPU, pytorch }).first.bytes;
  assert.ok(at('1.13') > fast);
  assert.ok(at('2') < fast);
});
