// Real TensorFlow.js runs (small): the probe measures what the engine rules say, on wasm and cpu.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../../src/io/load.js';
import { main } from '../../src/cli/main.js';
import { normalizeRun, type ModelDescriptor } from '../../src/core/model.js';
import { probe, verify } from '../../src/probe/probe.js';

const X = 64 * 128 * 4;
const P = 128 * 256 * 4;
const A = 64 * 256 * 4;
const fixture = (name: string) => join(ROOT, 'test', 'fixtures', name, 'config.yaml');

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main({ argv, stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out, err };
}

test('memplan probe (wasm, sgd): measured = predicted = the hand-derived backward peak', async () => {
  const r = await cli(['probe', fixture('probe-small'), '--backend', 'wasm', '--format', 'json']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.backend, 'wasm');
  assert.deepEqual(j.baseline, { predicted: X + P, measured: X + P });
  // loss 4 + clones (x, W, A, A) + seed 4 + mean's dx A + relu closure (step, cast, mul) 3A.
  for (const s of j.steps) assert.deepEqual([s.predicted, s.measured], [8 + X + P + 6 * A, 8 + X + P + 6 * A]);
  assert.equal(j.ok, true);
});

test('adam on cpu: 17P + 24 then 15P + 24, m and v (2P) left after step 1', async () => {
  const model: ModelDescriptor = {
    name: 'mlp',
    blocks: [
      { type: 'linear', input: [64, 128], out: 256, bias: false },
      { type: 'activation', kind: 'relu' },
      { type: 'loss', kind: 'mean' },
    ],
  };
  const r = await probe(model, normalizeRun({ model: {}, optimizer: 'adam' }), { backend: 'cpu' });
  assert.equal(r.backend, 'cpu');
  assert.deepEqual(r.steps.map((s) => s.measured), [17 * P + 24, 15 * P + 24]);
  assert.deepEqual(r.steps.map((s) => s.measuredNewBytes), [2 * P, 0]);
});

test('embedding + encoder: wasm (memplan-supplied gather gradient) and cpu measure the same bytes as predicted', async () => {
  const model: ModelDescriptor = {
    name: 'tiny-lm',
    dims: { seq: 8 },
    blocks: [
      { type: 'embedding', input: ['batch', 'seq'], vocab: 50, dim: 16 },
      { type: 'transformer_encoder', heads: 2, ffn_dim: 32, activation: 'gelu', dropout: 0.1 },
      { type: 'linear', out: 50 },
      { type: 'loss', kind: 'cross_entropy' },
    ],
  };
  const run = normalizeRun({ model: {}, batch_size: 2, optimizer: 'sgd' });
  const w = await verify(model, run, { backend: 'wasm', steps: 1 });
  const c = await probe(model, run, { backend: 'cpu', steps: 1 });
  assert.equal(w.steps[0]!.measured, c.steps[0]!.measured);
  assert.equal(w.steps[0]!.measured, w.steps[0]!.predicted);
  assert.ok(w.notes.some((n) => /UnsortedSegmentSum/.test(n)));
});

test('a probe past the wasm heap is refused before TensorFlow.js runs, with a --scale hint', async () => {
  const r = await cli(['probe', fixture('probe-too-big')]);
  assert.equal(r.code, 2);
  assert.match(r.err, /E_PROBE/);
  assert.match(r.err, /--scale 0\.\d+/);
  const bad = await cli(['probe', fixture('probe-small'), '--backend', 'tpu']);
  assert.equal(bad.code, 2);
  const scale = await cli(['probe', fixture('probe-small'), '--scale', '2']);
  assert.equal(scale.code, 2);
});
