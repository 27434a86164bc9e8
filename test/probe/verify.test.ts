/** `recommend --verify`: the probe-able twin of a run config, and a real probe of the top choice. */
import assert from 'node:assert/strict';
import { twinLine, twinScope, twinWord } from '../../src/probe/wording.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { main } from '../../src/cli/main.js';
import { loadConfig } from '../../src/io/load.js';
import { probeVariant } from '../../src/probe/variant.js';
import { checkTfjsRun } from '../../src/core/estimate-tfjs.js';
import { scaleRun } from '../../src/probe/probe.js';
import { normalizeRun, validateModel } from '../../src/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TINY = join(ROOT, 'test', 'fixtures', 'verify-tiny', 'config.yaml');

describe('recommend --verify', () => {
  it('probeVariant keeps graph, micro-batch and dims; changes what tfjs cannot run, and says so', () => {
    const cfg = loadConfig(TINY, (raw) => {
      raw.attention = 'sdpa';
      raw.distributed = { strategy: 'zero2', gpus: 4 };
      raw.optimizer = 'adamw-8bit';
    });
    const { run, changes } = probeVariant(cfg.run);
    assert.equal(run.runtime, 'tfjs');
    assert.equal(run.batch_size, 16);
    assert.deepEqual(run.dims, cfg.run.dims);
    assert.equal(run.precision, 'fp32');
    assert.equal(run.attention, 'eager');
    assert.equal(run.grad_accum, 1);
    assert.equal(run.ema.enabled, false);
    assert.equal(run.distributed.gpus, 1);
    assert.equal(run.optimizer.type, 'adam');
    assert.deepEqual(changes, [
      'precision bf16-mixed -> fp32 (tfjs holds float32 only)',
      'attention sdpa -> eager (tfjs has no fused attention)',
      'grad_accum 2 -> 1 (one micro-batch per step)',
      'EMA off (tfjs has none)',
      '4 GPUs (zero2) -> one device',
      'optimizer adamw-8bit -> adam',
    ]);
    // The twin is exactly what the tfjs runtime accepts (its refusals are the other side of this list).
    assert.doesNotThrow(() => checkTfjsRun(run));
    // The source config is untouched.
    assert.equal(cfg.run.precision, 'bf16-mixed');
  });

  it('scaleRun shrinks the batch, then the largest number-valued dimension of an input shape', () => {
    const model = validateModel({
      name: 'aam-like',
      dims: { token_limit: 1000, max_bp: 150, d: 16, chunk: 'token_limit' },
      blocks: [{ type: 'linear', input: ['batch * token_limit', 'max_bp', 'd'], out: 8 }],
    });
    const run = normalizeRun({ model: 'x', batch_size: 2 });
    // 0.05 x batch 2 = 0.1: batch 1, and the remaining factor 0.1 goes to token_limit (1000 > 150 > 16).
    const r = scaleRun(model, run, 0.05);
    assert.equal(r.batch_size, 1);
    assert.deepEqual(r.dims, { token_limit: 100 });
    // A factor the batch alone covers leaves the dimensions alone.
    assert.deepEqual(scaleRun(model, run, 0.5).dims, {});
  });

  it('probes each card\'s top choice in TensorFlow.js; the tfjs estimate holds to the byte; exit 0', async () => {
    let out = '';
    let err = '';
    const code = await main({
      argv: ['recommend', TINY, '--gpu', 'rtx-4090', '--effective-batch', '32', '--verify', '--backend', 'wasm', '--format', 'json', '--top', '1'],
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: (s: string) => (err += s) },
    });
    assert.equal(code, 0, err);
    const data = JSON.parse(out) as { verify: { card: string; ok: boolean; backend: string; steps: { predicted: number; measured: number }[]; changes: string[]; scope: string[]; scale: number; config_batch: number; batch_size: number }[] };
    assert.equal(data.verify.length, 1);
    const v = data.verify[0]!;
    assert.equal(v.card, 'rtx-4090');
    assert.equal(v.ok, true);
    assert.equal(v.backend, 'wasm');
    assert.equal(v.steps.length, 2);
    for (const s of v.steps) assert.equal(s.measured, s.predicted);
    assert.ok(v.changes.includes('precision bf16-mixed -> fp32 (tfjs holds float32 only)'));
    assert.match(err, /verify: probing a TensorFlow\.js twin of rtx-4090's top choice/);
    // The verdict names the twin, each change and its scale, and what it does not show; never "VERIFIED".
    const scope = v.scope.join('\n');
    assert.ok(!/VERIFIED/.test(out));
    assert.match(scope, /^probed: a TensorFlow\.js twin on wasm: precision bf16-mixed -> fp32 \(tfjs holds float32 only\)/);
    for (const c of v.changes) assert.ok(scope.includes(c), c);
    assert.ok(scope.includes(v.scale === 1 ? `batch ${v.batch_size} (not scaled)` : `batch ${v.config_batch} -> ${v.batch_size} (scale ${v.scale}`));
    assert.match(scope, /\nTWIN MATCHES: the twin's measured peak is within 1% of memplan's tfjs estimate of it/);
    assert.match(scope, /\ndoes not show: the PyTorch config's bytes \(PyTorch itself, precision bf16-mixed, .*the CUDA caching allocator and context are not exercised\)/);
  });
});

describe('probe wording', () => {
  it('a twin that missed says so and claims nothing about PyTorch', () => {
    const facts = { backend: 'cpu', configBatch: 64, batch: 2, scale: 0.03, changes: ['attention sdpa -> eager (tfjs has no fused attention)', 'grad_accum 4 -> 1 (one micro-batch per step)'], ok: false, maxErrorPct: 3.5 };
    assert.equal(twinWord(false), 'TWIN OFF');
    assert.equal(twinLine(facts), 'probed: a TensorFlow.js twin on cpu: attention sdpa -> eager (tfjs has no fused attention); grad_accum 4 -> 1 (one micro-batch per step); batch 64 -> 2 (scale 0.03; sequence-like dimensions shrink once the batch is 1)');
    const [verdict, shows, not] = twinScope(facts);
    assert.equal(verdict, "TWIN OFF: the twin's measured peak is off memplan's tfjs estimate of it by up to 3.500% (over 1%)");
    assert.match(shows!, /miss this model graph/);
    assert.match(not!, /PyTorch itself, attention sdpa, grad_accum 4, the full-size batch, the CUDA caching allocator and context/);
  });
});
