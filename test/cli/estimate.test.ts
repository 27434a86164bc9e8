/**
 * `memplan estimate` and `explain` in-process: exit codes, the three output formats, --set and
 * --gpu. Bytes are worked out by hand from the fixtures:
 *   fits/: linear 256 -> 128 (with bias), batch 4, fp32, SGD (no state), on an RTX 4090.
 *   over-budget/: 8e9 parameters by count, fp32, AdamW foreach, on an RTX 4090.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cli, fixture, json, widest } from './run.js';

const FITS = fixture('fits');
const OVER = fixture('over-budget');
const MINI = 'models/mini-transformer/config.yaml';

// RTX 4090 preset: 24564 MiB total, 450 MiB context + 8.5 MiB cuBLAS workspace.
const RTX4090 = 24564 * 1024 * 1024;
const RTX4090_CTX = 450 * 1024 * 1024 + 8.5 * 1024 * 1024;

// fits/: every byte of the peak (micro-batch 1 backward, at the linear layer's backward).
const P = 256 * 128 + 128;
const WEIGHTS = P * 4;
const INPUTS = 4 * 256 * 4 + 4 * 128 * 4; // x [4, 256] and the MSE target [4, 128], f32
const GRADS = P * 4;
const OUT_GRAD = 4 * 128 * 4; // d loss / d output, [4, 128] f32
const LOSS = 4; // the 0-dim MSE loss, held by the caller until loss.backward() returns
const ALLOCATED = WEIGHTS + INPUTS + GRADS + OUT_GRAD + LOSS;
// The caching allocator: every tensor here is <= 1 MiB, so the small pool; all of them fit one 2 MiB segment.
const RESERVED = 2 * 1024 * 1024;
const DEVICE = RESERVED + RTX4090_CTX;
// The band's high edge: the allocator margin (5% of the allocated peak, rounded up) and the lazy context x 1.3.
const HIGH = RESERVED + Math.ceil(0.05 * ALLOCATED) + Math.round(450 * 1024 * 1024 * 1.3) + 8.5 * 1024 * 1024;

describe('estimate: exit codes', () => {
  it('exits 0 when the step fits the card', async () => {
    const r = await cli('estimate', FITS);
    assert.equal(r.code, 0);
    assert.equal(r.stderr, '');
  });

  it('exits 1 when it is over budget, and says by how much', async () => {
    const r = await cli('estimate', OVER);
    assert.equal(r.code, 1);
    // Needs 32e9 weights + 32e9 grads + 64e9 Adam state + 32e9 foreach temporaries = 160e9, each tensor its own
    // segment of 2 MiB x ceil(32e9 / 2 MiB) = 32,000,442,368 B: 160,002,211,840 B reserved, + 458.5 MiB of context
    // = 160,482,983,936 B = 149.5 GiB = 160.5 GB. The weights alone (32 GB) cannot be allocated on the card.
    const line = (out: string) => out.replace(/\n\s+/g, ' ');
    assert.match(line(r.stdout), /^verdict: OVER on NVIDIA GeForce RTX 4090 \(24 GB\): out of memory even after the allocator frees its cache \(needs 149\.5 GiB\)$/m);
    // --units decimal: 160.5 GB; --units both prints the two side by side.
    assert.match(line((await cli('estimate', OVER, '--units', 'decimal')).stdout), /^verdict: OVER on NVIDIA GeForce RTX 4090 \(24 GB\): out of memory even after the allocator frees its cache \(needs 160\.5 GB\)$/m);
    assert.match(line((await cli('estimate', OVER, '--units=both')).stdout), /^verdict: OVER on NVIDIA GeForce RTX 4090 \(24 GB\): out of memory even after the allocator frees its cache \(needs 149\.5 GiB \(160\.5 GB\)\)$/m);
    assert.equal((await cli('estimate', OVER, '--units', 'metric')).code, 2);
  });

  it('exits 1 with --format json too, and 0 with a card that holds it', async () => {
    const over = await cli('estimate', OVER, '--format', 'json');
    assert.equal(over.code, 1);
    assert.equal(json(over).fits, false);
    const big = await cli('estimate', FITS, '--gpu', 'h200');
    assert.equal(big.code, 0);
  });

  it('exits 0 with no card at all (nothing to compare with)', async () => {
    // A bare model descriptor runs with default settings and no card.
    const r = await cli('estimate', fixture('fits', 'model.yaml'), '--format', 'json');
    assert.equal(r.code, 0);
    const e = json(r);
    assert.equal(e.fits, undefined);
    assert.equal(e.device_total, e.reserved);
    const t = await cli('estimate', fixture('fits', 'model.yaml'));
    assert.match(t.stdout, /^verdict: no card given/m);
  });
});

describe('estimate --format json', () => {
  it('gives every component in bytes, summing to the device total', async () => {
    const e = json((await cli('estimate', FITS, '--format', 'json')));
    const bytes = Object.fromEntries(e.components.map((c: { key: string; bytes: number }) => [c.key, c.bytes]));
    assert.equal(e.params.total, P);
    assert.equal(bytes.weights, WEIGHTS);
    assert.equal(bytes.input_batch, INPUTS);
    assert.equal(bytes.gradients, GRADS);
    assert.equal(bytes.activation_grads, OUT_GRAD);
    assert.equal(bytes.transients, LOSS);
    assert.equal(bytes.optimizer_state, undefined, 'plain SGD keeps no state');
    assert.equal(e.allocated, ALLOCATED);
    assert.equal(e.reserved, RESERVED);
    assert.equal(e.device_total, DEVICE);
    assert.equal(e.gpu.capacity, RTX4090);
    assert.equal(e.headroom, RTX4090 - DEVICE);
    assert.equal(e.fits, true);
  });

  it('over budget: weights, gradients, Adam state and foreach temporaries of 8e9 params', async () => {
    const e = json(await cli('estimate', OVER, '--format', 'json'));
    const bytes = Object.fromEntries(e.components.map((c: { key: string; bytes: number }) => [c.key, c.bytes]));
    assert.equal(bytes.weights, 8e9 * 4);
    assert.equal(bytes.gradients, 8e9 * 4);
    assert.equal(bytes.optimizer_state, 2 * 8e9 * 4);
    assert.equal(bytes.optimizer_temps, 8e9 * 4);
    assert.equal(e.peak.phase, 'optimizer step');
    assert.equal(e.allocated, 160e9);
    assert.equal(e.reserved, 5 * 2097152 * Math.ceil(32e9 / 2097152));
    assert.equal(e.headroom, RTX4090 - (5 * 2097152 * Math.ceil(32e9 / 2097152) + RTX4090_CTX));
    assert.equal(e.verdict, 'OVER');
    assert.ok(e.allocator.oom, 'the weights alone do not fit the card');
  });
});

describe('estimate --set', () => {
  const est = async (...sets: string[]) => json(await cli('estimate', FITS, '--format', 'json', ...sets.flatMap((s) => ['--set', s])));
  const component = (e: Record<string, any>, key: string): number | undefined => e.components.find((c: { key: string }) => c.key === key)?.bytes;

  it('overrides a run key (batch_size)', async () => {
    const e = await est('batch_size=16');
    assert.equal(e.batch_size, 16);
    assert.equal(component(e, 'input_batch'), 16 * 256 * 4 + 16 * 128 * 4);
  });

  it('overrides a dimension of the model', async () => {
    const e = await est('features=512');
    assert.equal(component(e, 'weights'), (512 * 128 + 128) * 4);
    assert.equal(e.dims.features, 512);
  });

  it('accepts a dimension under dims. too', async () => {
    const e = await est('dims.hidden=64');
    assert.equal(component(e, 'weights'), (256 * 64 + 64) * 4);
  });

  it('overrides the optimizer, and a nested key of it (optimizer.impl)', async () => {
    const foreach = await est('optimizer=adamw');
    const fused = await est('optimizer=adamw', 'optimizer.impl=fused');
    const state = 2 * P * 4; // AdamW m and v in fp32
    assert.equal(component(foreach, 'optimizer_state'), state);
    const optStep = (e: Record<string, any>) => e.phases.find((p: { phase: string; step: string }) => p.phase === 'optimizer step' && p.step === 'steady').allocated;
    // Weights + grads + state + inputs, plus foreach's one fp32 temporary per parameter (sqrt(v)); fused has none.
    assert.equal(optStep(fused), WEIGHTS + GRADS + state + INPUTS);
    assert.equal(optStep(foreach), WEIGHTS + GRADS + state + INPUTS + P * 4);
  });

  it('sets a nested key when the config has no such section (ema.enabled)', async () => {
    const e = await est('ema.enabled=true');
    assert.equal(component(e, 'ema'), P * 4);
  });

  it('reads values as YAML scalars (precision, booleans)', async () => {
    const e = await est('precision=bf16-mixed');
    assert.equal(e.precision, 'bf16-mixed');
    // autocast's bf16 copies of the weight and bias live only in the cast cache until forward ends (the
    // linear reads the data batch, which needs no grad, so it saves no weight copy): the backward peak
    // has none, so there is no autocast_cache component.
    assert.equal(e.peak.phase, 'backward');
    assert.equal(component(e, 'autocast_cache'), undefined);
  });

  it('later --set wins over earlier ones', async () => {
    const e = await est('batch_size=2', 'batch_size=8');
    assert.equal(e.batch_size, 8);
  });
});

describe('estimate --gpu', () => {
  it('replaces the config\'s card', async () => {
    const e = json(await cli('estimate', FITS, '--gpu', 'a100-80', '--format', 'json'));
    assert.equal(e.gpu.id, 'a100-80');
    assert.equal(e.gpu.capacity, 80 * 1024 ** 3);
    assert.equal(e.device_total, RESERVED + 450 * 1024 * 1024 + 8.5 * 1024 * 1024);
  });

  it('takes one card only', async () => {
    const r = await cli('estimate', FITS, '--gpu', 't4,l4');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /E_OPTION at --gpu/);
  });
});

describe('estimate table', () => {
  it('fits in 100 columns in every unit system, names its units and ends with a verdict', async () => {
    for (const file of [FITS, OVER, MINI]) {
      for (const units of ['binary', 'decimal', 'both']) {
        const r = await cli('estimate', file, '--units', units);
        assert.ok(widest(r.stdout) <= 100, `${file} --units ${units}: ${widest(r.stdout)} columns`);
      }
      assert.match((await cli('estimate', file)).stdout, /^units: KiB, MiB, GiB = 1024, 1024\^2, 1024\^3 bytes \(--units decimal for GB\)/m);
    }
    const r = await cli('estimate', FITS);
    // High edge: 2 MiB + 13,569 B (5% of 271,364, rounded up) + 613,416,960 B + 8.5 MiB = 624,440,577 B =
    // 595.5 MiB; it leaves 24564 MiB - that = 25,132,780,287 B = 23.41 GiB. Expected: 2 MiB + 458.5 MiB =
    // 460.5 MiB, headroom 24564 - 460.5 = 24,103.5 MiB = 23.54 GiB. One unit system: no GB beside them.
    assert.equal(HIGH, 624440577);
    assert.match(r.stdout.replace(/\n\s+/g, ' '), /^verdict: FITS on NVIDIA GeForce RTX 4090 \(24 GB\): even the band's high edge, 595\.5 MiB, leaves 23\.41 GiB \(expected 460\.5 MiB, 23\.54 GiB headroom\)$/m);
    assert.ok(!/\d (KB|MB|GB)\b/.test(r.stdout.replace(/\(\d+ GB\)/g, '')), 'no decimal sizes by default');
    // 131,584 B of weights = 128.5 KiB = 131.6 KB
    assert.match(r.stdout, /│ weights \(fp32\) +│ 128\.5 KiB +│/);
    assert.match((await cli('estimate', FITS, '--units', 'decimal')).stdout, /│ weights \(fp32\) +│ 131\.6 KB +│/);
  });
});

describe('estimate --format markdown', () => {
  it('writes a heading, the component table, the totals and the verdict in bold', async () => {
    const r = await cli('estimate', FITS, '--format', 'markdown');
    assert.equal(r.code, 0);
    const lines = r.stdout.split('\n');
    assert.match(lines[0]!, /^### memplan estimate: one-linear \(test\/fixtures\/fits\/config\.yaml\) on NVIDIA GeForce RTX 4090/);
    assert.ok(lines.includes('| component | bytes | share | formula |'));
    assert.ok(lines.includes('| weights (fp32) | 128.5 KiB | 0.0% | 32,896 params x 4 B |'));
    assert.ok(lines.some((l) => l.startsWith('**verdict: FITS on NVIDIA GeForce RTX 4090 (24 GB)')));
  });

  it('rejects an unknown format', async () => {
    const r = await cli('estimate', FITS, '--format', 'yaml');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /E_OPTION at --format/);
  });
});

describe('explain', () => {
  it('adds the dimensions, phases, blocks and saved tensors, within 100 columns', async () => {
    const r = await cli('explain', MINI);
    assert.equal(r.code, 0);
    for (const heading of ['dimensions:', 'phases (the peak is the largest):', 'blocks:']) assert.ok(r.stdout.includes(`\n${heading}\n`), heading);
    assert.match(r.stdout, /^ {2}batch=8, seq=128, d_model=128, heads=4, vocab=1,000, layers=2$/m);
    // PyTorch 2's nn.TransformerEncoderLayer runs fused attention: its packed q/k/v projection
    // [batch 8, seq 128, 3 x 128] x 4 B = 1.5 MiB is saved for backward, and no [8, 4, 128, 128] matrix.
    assert.match(r.stdout, /│ encoder\[0\]\.self_attn linear +│ \[8, 128, 384\] +│ f32 +│ 1\.500 MiB +│/);
    assert.doesNotMatch(r.stdout, /\[8, 4, 128, 128\]/);
    assert.ok(widest(r.stdout) <= 100);
  });

  it('exits 1 over budget like estimate', async () => {
    assert.equal((await cli('explain', OVER)).code, 1);
  });
});
