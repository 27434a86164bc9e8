import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import * as yaml from 'js-yaml';
import { estimate, maxBatch, type RunConfig } from '../../src/index.js';
import { getPreset, loadConfig } from '../../src/cli/load.js';

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

  for (const file of configs) {
    it(`max fits and max + 1 does not: ${file.slice(ROOT.length)}`, () => {
      const cfg = loadConfig(file);
      const preset = getPreset('rtx-4090');
      const r = maxBatch(cfg.model, cfg.run, { preset, gpus: cfg.run.distributed.gpus });
      const at = (m: number): RunConfig => ({ ...cfg.run, batch_size: m });
      if (r.max_batch > 0) assert.equal(estimate(cfg.model, at(r.max_batch), { preset }).fits, true);
      assert.equal(estimate(cfg.model, at(r.max_batch + 1), { preset }).fits, false);
      // Galloping then bisecting: about 2 log2(max) probes, not a scan.
      assert.ok(r.probes <= 2 * Math.ceil(Math.log2(r.max_batch + 2)) + 2, `${r.probes} probes for max ${r.max_batch}`);
    });
  }

  it('peptide fixture by hand: 350 per RTX 4090', () => {
    const cfg = loadConfig(join(ROOT, 'test', 'fixtures', 'peptide-seed004', 'config.yaml'));
    const r = maxBatch(cfg.model, cfg.run, { preset: getPreset('rtx-4090'), gpus: 1 });
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
  });
});
