// The tfjs runtime estimate (shape only, no TensorFlow.js): hand-derived bytes from the engine rules.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../../src/io/load.js';
import { main } from '../../src/cli/main.js';
import { MemplanError } from '../../src/core/errors.js';
import { predictTfjs } from '../../src/core/estimate-tfjs.js';
import { estimate } from '../../src/core/estimate.js';
import { normalizeRun, type ModelDescriptor } from '../../src/core/model.js';
import { scaleRun } from '../../src/probe/probe.js';

const run = (extra: Record<string, unknown> = {}) => normalizeRun({ model: {}, runtime: 'tfjs', ...extra });

// x [64, 128] (input), W [128, 256] (no bias), relu, mean loss.
const mlp: ModelDescriptor = {
  name: 'mlp',
  blocks: [
    { type: 'linear', input: [64, 128], out: 256, bias: false },
    { type: 'activation', kind: 'relu' },
    { type: 'loss', kind: 'mean' },
  ],
};
const X = 64 * 128 * 4;
const P = 128 * 256 * 4;
const A = 64 * 256 * 4;

test('mlp: forward, backward and optimizer peaks from the engine rules', () => {
  const { pred } = predictTfjs(mlp, run({ optimizer: 'sgd' }));
  const s = pred.run.steps[0]!;
  // matMul: out A + clones of x and W; relu: out A + clone A; mean: out 4 + clone A.
  assert.equal(s.forward, 4 * A + X + P + 4);
  // after forward: loss 4 + clones (x, W, A, A); seed 4; mean closure: reshape 4, ones A, mul A, scalar 4, div A (keeps A);
  // relu closure: step A, cast A, mul A on top of that.
  const afterMean = 4 + X + P + 2 * A + 4 + A;
  assert.equal(s.backward, afterMean + 3 * A);
  // sgd: loss 4 + all grads P + mul and add for the (only) variable.
  assert.equal(s.optimizer, 4 + P + 2 * P);
  assert.deepEqual(pred.steps.map((x) => x.peak), [afterMean + 3 * A, afterMean + 3 * A]);
  assert.equal(pred.baseline, X + P);
});

test('mlp with adam: 17P + 24 at step 1 (m, v created), 15P + 24 after', () => {
  const est = estimate(mlp, run({ optimizer: 'adam' }));
  assert.equal(est.runtime, 'tfjs');
  assert.deepEqual(est.tfjs!.steps.map((s) => s.peak), [17 * P + 24, 15 * P + 24]);
  assert.deepEqual(est.tfjs!.steps.map((s) => s.newBytes), [2 * P, 0]);
  assert.equal(est.step1_allocated, X + P + 17 * P + 24);
  assert.equal(est.steady_allocated, X + P + 2 * P + 15 * P + 24);
  assert.equal(est.allocated, X + P + 17 * P + 24);
  assert.equal(est.peak.phase, 'optimizer step');
  // Each component on its own (their sum is the peak by construction): W and x, then at the step-1 optimizer
  // peak all gradients (P), the state adam creates (m, v: 2P) and its temporaries (17P + 24 - P - 2P).
  const c = (k: string) => est.components.find((x) => x.key === k)?.bytes;
  assert.deepEqual(
    ['weights', 'input_batch', 'gradients', 'optimizer_state', 'optimizer_temps'].map(c),
    [P, X, P, 2 * P, 14 * P + 24],
  );
});

test('tensor stand-ins: transient lives until the forward ends, saved is kept by a Reshape clone', () => {
  const model = (lifetime: string): ModelDescriptor => ({
    name: 'standin',
    blocks: [
      { type: 'linear', input: [4, 8], out: 8, bias: false },
      { type: 'tensor', name: 'buf', shape: [1000], lifetime },
      { type: 'loss', kind: 'mean' },
    ],
  });
  // matMul: out 128 + clones x 128, W 256; then the stand-in; mean: out 4 + clone 128.
  const lin = 128 + 128 + 256;
  assert.equal(predictTfjs(model('transient'), run({ optimizer: 'sgd' })).pred.steps[0]!.peak, lin + 4000 + 4 + 128);
  assert.equal(predictTfjs(model('saved'), run({ optimizer: 'sgd' })).pred.steps[0]!.peak, lin + 3 * 4000 + 4 + 128);
  // persistent: allocated before the step (baseline), never in the step's peak.
  const p = predictTfjs(model('persistent'), run({ optimizer: 'sgd' })).pred;
  // backward: loss 4 + clones (x 128, W 256, mean's input 128) + seed 4 + mean closure (reshape 4, ones, mul, scalar 4, div).
  assert.equal(p.steps[0]!.peak, 4 + (128 + 256 + 128) + 4 + 4 + 128 + 128 + 4 + 128);
  assert.equal(p.baseline, 128 + 256 + 4000);
});

test('tfjs refuses what it cannot represent, with E_CONFIG', () => {
  const sdpa: ModelDescriptor = { name: 's', blocks: [{ type: 'attention', input: [2, 8, 16], heads: 2, impl: 'sdpa' }] };
  assert.throws(() => estimate(sdpa, run()), (e: MemplanError) => e.code === 'E_CONFIG' && /sdpa/.test(e.message));
  assert.throws(() => estimate(mlp, run({ ema: true })), (e: MemplanError) => e.code === 'E_CONFIG' && /EMA/.test(e.message));
  assert.throws(() => estimate(mlp, run({ optimizer: 'adafactor' })), (e: MemplanError) => e.code === 'E_CONFIG');
  assert.throws(() => estimate(mlp, run({ grad_accum: 2 })), (e: MemplanError) => e.code === 'E_CONFIG');
  assert.throws(() => run({ precision: 'bf16-mixed' }), (e: MemplanError) => e.code === 'E_CONFIG' && /float32/.test(e.message));
});

test('--scale shrinks the batch, then the sequence once the batch is 1', () => {
  const seqModel: ModelDescriptor = { name: 'q', dims: { seq: 100 }, blocks: [{ type: 'linear', input: ['batch', 'seq', 8], out: 8 }] };
  assert.equal(scaleRun(seqModel, run({ batch_size: 8 }), 0.5).batch_size, 4);
  const r = scaleRun(seqModel, run({ batch_size: 2 }), 0.25);
  assert.equal(r.batch_size, 1);
  assert.equal(r.dims.seq, 50);
  assert.throws(() => scaleRun(seqModel, run(), 1.5), (e: MemplanError) => e.code === 'E_OPTION');
});

test('estimate --set runtime=tfjs prints the tfjs estimate (no TensorFlow.js needed)', async () => {
  let out = '';
  const code = await main({
    argv: ['estimate', join(ROOT, 'test/fixtures/probe-small/config.yaml'), '--set', 'runtime=tfjs', '--format', 'json'],
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: () => true },
  });
  assert.equal(code, 0);
  const e = JSON.parse(out);
  assert.equal(e.runtime, 'tfjs');
  // estimate never loads TensorFlow.js (its engine registers itself on the global object).
  assert.equal((globalThis as Record<string, unknown>)._tfengine, undefined);
  // the mlp's sgd step: backward peak = loss 4 + clones (x, W, A, A) + seed 4 + mean's dx A + relu closure 3A.
  assert.deepEqual(e.tfjs.steps.map((s: { peak: number }) => s.peak), [8 + X + P + 6 * A, 8 + X + P + 6 * A]);
});
