import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import * as yaml from 'js-yaml';
import { estimate, maxBatch, type Preset, type RunConfig } from '../../src/index.js';
import { getPreset, loadConfig } from '../../src/io/load.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Every run config (a YAML file with `model:`) under models/*, plus this suite's fixtures. */
function runConfigs(): string[] {
  const out: string[] = [];
  for (const base of [join(ROOT, 'models'), join(ROOT, 'test', 'fixtures')]) {
    if (!existsSync(base)) continue;
    for (const dir of readdirSync(base).sort()) {
      const d = join(base, dir);
      if (base.endsWith('fixtures') && !['chunk-knob', 'peptide-seed004', 'spectrum-tiny-card'].includes(dir)) continue;
      let files: string[];
      try {
        files = readdirSync(d).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'));
      } catch {
        continue;
      }
      for (const f of files.sort()) {
        const data = yaml.load(readFileSync(join(d, f), 'utf8'));
        // runtime: tfjs configs are the probe's; recommend searches the pytorch runtime only.
        if (data && typeof data === 'object' && 'model' in data && (data as { runtime?: string }).runtime !== 'tfjs') out.push(join(d, f));
      }
    }
  }
  return out;
}

describe('recommend --max-batch', () => {
  const configs = runConfigs();
  it('finds the shipped run configs', () => {
    assert.ok(configs.some((c) => c.endsWith(join('models', 'mini-transformer', 'config.yaml'))));
  });

  /**
   * Checks both halves of an answer with estimate() itself, at the risk band's high edge (the default) with
   * the allocator simulated: max leaves the margin (or, for 0, nothing does), max + 1 does not. The default
   * margin is 5% of the card, rounded up as check rounds a percentage.
   */
  function checkAnswer(cfg: ReturnType<typeof loadConfig>, preset: Preset, margin?: { bytes: number }): number {
    const r = maxBatch(cfg.model, cfg.run, { preset, gpus: cfg.run.distributed.gpus }, { margin });
    assert.equal(r.margin, margin ? margin.bytes : Math.ceil(0.05 * preset.capacity_bytes));
    const at = (m: number) => estimate(cfg.model, { ...cfg.run, batch_size: m } as RunConfig, { preset });
    const high = (e: ReturnType<typeof at>) => (e.allocator?.oom ? Infinity : e.band!.high);
    const next = at(r.max_batch + 1);
    if (r.max_batch > 0) {
      const e = at(r.max_batch);
      assert.ok(high(e) <= preset.capacity_bytes - r.margin, `micro-batch ${r.max_batch} leaves the margin`);
      assert.equal(r.at!.device_total, e.device_total);
      assert.equal(r.at!.headroom, preset.capacity_bytes - e.band!.high);
    } else {
      // 0 is right only when micro-batch 1 does not leave the margin: `next` is that estimate, and there is no `at`.
      assert.equal(r.at, undefined);
      assert.equal(r.next.batch_size, 1);
    }
    assert.ok(high(next) > preset.capacity_bytes - r.margin, `micro-batch ${r.max_batch + 1} does not leave the margin`);
    assert.equal(r.next.device_total, next.device_total);
    assert.equal(r.next.over_by, next.band!.high - (preset.capacity_bytes - r.margin));
    // Galloping then bisecting on the cheap path (up to three rounds, each with the full model's reserved ratio at
    // the answer), then the full model at max and max + 1: about 2 log2(max) probes a round, not a scan.
    assert.ok(r.probes <= 3 * (2 * Math.ceil(Math.log2(r.max_batch + 2)) + 2) + 4, `${r.probes} probes for max ${r.max_batch}`);
    return r.max_batch;
  }

  const answers: number[] = [];
  for (const file of configs) {
    it(`max fits and max + 1 does not: ${file.slice(ROOT.length)}`, () => {
      answers.push(checkAnswer(loadConfig(file), getPreset('rtx-4090')));
    });
  }

  it('a card too small for micro-batch 1: the answer is 0, and micro-batch 1 is shown over it', () => {
    const cfg = loadConfig(join(ROOT, 'models', 'mini-transformer', 'config.yaml'));
    const rtx = getPreset('rtx-4090');
    const one = estimate(cfg.model, { ...cfg.run, batch_size: 1 }, { preset: rtx });
    // A card 1 byte smaller than micro-batch 1's high edge (same context, so the same band).
    const tiny: Preset = { ...rtx, id: 'tiny', capacity_bytes: one.band!.high - 1 };
    assert.equal(checkAnswer(cfg, tiny), 0);
    assert.equal(checkAnswer(cfg, tiny, { bytes: 0 }), 0);
    // And with exactly that many bytes and no margin, 1 fits; the default 5% margin does not leave room.
    assert.equal(checkAnswer(cfg, { ...tiny, capacity_bytes: one.band!.high }, { bytes: 0 }), 1);
    assert.equal(checkAnswer(cfg, { ...tiny, capacity_bytes: one.band!.high }), 0);
  });

  it('the shipped configs exercise both halves (protein-esm cache configs are 0 on an RTX 4090, most are not)', () => {
    assert.equal(answers.length, configs.length, 'runs after the per-config tests');
    assert.ok(answers.some((a) => a === 0) && answers.some((a) => a > 0), `answers: ${answers.join(', ')}`);
  });

  it('peptide fixture by hand: 350 per RTX 4090 (expected edge, a fixed 10% allocator allowance)', () => {
    const cfg = loadConfig(join(ROOT, 'test', 'fixtures', 'peptide-seed004', 'config.yaml'));
    cfg.run.allocator = { ...cfg.run.allocator, fragmentation: 0.1 };
    const r = maxBatch(cfg.model, cfg.run, { preset: getPreset('rtx-4090'), gpus: 1 }, { margin: { bytes: 0 }, edge: 'expected' });
    // Device total at micro-batch m: (225 MB persistent: weights, EMA, AdamW state, bf16 autocast copy;
    // + 50 MB of gradients, 12.5M x 4 B, in backward; + m x 64,742,400 B) x 1.1 + 480,772,096 B context,
    // per sample 14 x 5 x 40 x 512 x 17 x 2 B + 2 x 100 x 20000 x 4 B; capacity 25,757,220,864 B.
    const perSample = 14 * 5 * 40 * 512 * 17 * 2 + 2 * 100 * 20000 * 4;
    const total = (m: number) => {
      const a = 225_000_000 + 50_000_000 + m * perSample;
      return a + Math.ceil(a * 0.1) + 471_859_200 + 8_912_896;
    };
    const cap = 24564 * 1024 * 1024;
    assert.ok(total(350) <= cap && total(351) > cap);
    assert.equal(r.max_batch, 350);
    assert.equal(r.at!.device_total, total(350));
    assert.equal(r.next.over_by, total(351) - cap);
    // With a 2 GiB margin: the largest m with total(m) <= cap - 2 GiB.
    const m2 = maxBatch(cfg.model, cfg.run, { preset: getPreset('4090'), gpus: 1 }, { margin: { bytes: 2 * 2 ** 30 }, edge: 'expected' });
    assert.ok(total(m2.max_batch) <= cap - 2 * 2 ** 30 && total(m2.max_batch + 1) > cap - 2 * 2 ** 30);
    assert.equal(m2.max_batch, Math.floor((((cap - 2 * 2 ** 30 - 480_772_096) / 1.1) - 275_000_000) / perSample));
  });
});
