/**
 * Recommendations that hold: whatever `recommend` proposes and whatever `--max-batch` answers, on the
 * budget's card with the budget's headroom as the margin, `memplan check` passes. For every shipped run
 * config; and once end to end through `--write` and the CLI.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as yaml from 'js-yaml';
import { checkBudget, estimate, maxBatch, parseHeadroom, recommend, resolveBudget } from '../../src/index.js';
import { getPreset, loadConfig } from '../../src/io/load.js';
import { cli, ROOT } from '../cli/run.js';

function shipped(): string[] {
  const out: string[] = [];
  for (const dir of readdirSync(join(ROOT, 'models')).sort()) {
    for (const f of readdirSync(join(ROOT, 'models', dir)).filter((x) => x.endsWith('.yaml')).sort()) {
      const data = yaml.load(readFileSync(join(ROOT, 'models', dir, f), 'utf8')) as Record<string, unknown> | null;
      if (data && 'model' in data && data.runtime !== 'tfjs') out.push(join('models', dir, f));
    }
  }
  return out;
}

describe('check passes what recommend proposes', () => {
  const files = shipped();
  it('finds the shipped run configs', () => assert.ok(files.length >= 40, `${files.length}`));
  for (const file of files) {
    it(file, () => {
      const cfg = loadConfig(join(ROOT, file));
      const budget = resolveBudget(cfg.run);
      const margin = cfg.run.budget?.headroom !== undefined ? [parseHeadroom(cfg.run.budget.headroom, 'budget.headroom')] : undefined;
      const presets = budget.gpus.map(getPreset);
      const targets = presets.map((preset) => ({ preset, gpus: cfg.run.distributed.gpus }));
      const r = recommend(cfg.model, cfg.run, { targets, margin, top: 3 });
      r.targets.forEach((t, i) => {
        for (const c of t.ranked.filter((x) => x.verdict === 'fits')) {
          const res = checkBudget(estimate(cfg.model, c.run, { preset: presets[i]! }), budget.spec);
          assert.ok(res.margin >= 0, `${file} on ${presets[i]!.id}: ${c.batch_size} x ${c.grad_accum} ${c.settings.map((s) => s.label)}: ${res.message}`);
        }
        // Nothing is proposed that leaves less than the budget's headroom.
        if (t.best) assert.ok(t.best.headroom >= t.margin);
      });
      for (const [i, preset] of presets.entries()) {
        let mb;
        try {
          mb = maxBatch(cfg.model, cfg.run, targets[i]!, { margin });
        } catch (e) {
          // A config whose memory does not grow with the batch (protein-esm's host cache) has no largest batch.
          assert.match((e as Error).message, /does not grow with the batch/);
          continue;
        }
        if (!mb.run) continue;
        const res = checkBudget(estimate(cfg.model, mb.run, { preset }), budget.spec);
        assert.ok(res.margin >= 0, `${file} --max-batch ${mb.max_batch} on ${preset.id}: ${res.message}`);
        // And one more does not leave it: the answer is the largest.
        const next = checkBudget(estimate(cfg.model, { ...mb.run, batch_size: mb.max_batch + 1 }, { preset }), { ...budget.spec, headroom: { bytes: mb.margin } });
        assert.ok(next.margin < 0, `${file}: ${mb.max_batch + 1} also leaves the margin`);
      }
    });
  }
});

describe('recommend --write', () => {
  it('writes the top choice as a run config that estimate and check accept', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'memplan-write-')), 'tuned.yaml');
    const r = await cli('recommend', 'models/peptide/current-48x2.yaml', '--gpu', 'a100', '--effective-batch', '96', '--margin', '10%', '--write', out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /wrote .*tuned\.yaml \(the top choice on a100-40; memplan check .* passes it\)/);
    const text = readFileSync(out, 'utf8');
    const data = yaml.load(text) as Record<string, any>;
    // The model path is relative to the new file; the budget is the card and the margin it was chosen for:
    // 10% of 40 GiB rounded up, 4,294,967,296 B.
    assert.equal(join(out, '..', data.model), join(ROOT, 'models', 'peptide', 'model.yaml'));
    assert.deepEqual(data.budget, { gpu: 'a100-40', headroom: 4_294_967_296, level: 'error' });
    assert.equal(data.batch_size * data.grad_accum, 96);
    // The file is written outside the repository, its model inside: reading it back needs --allow-outside (docs/security.md).
    const est = await cli('estimate', out, '--format', 'json', '--allow-outside');
    assert.equal(est.code, 0, est.stderr);
    assert.equal((await cli('estimate', out)).code, 2);
    const check = await cli('check', out, '--allow-outside');
    assert.equal(check.code, 0, check.stdout);
    // --max-batch --write too: the largest micro-batch, which check passes.
    const mbOut = out.replace('tuned', 'max');
    const mb = await cli('recommend', 'models/mini-transformer/config.yaml', '--max-batch', '--write', mbOut);
    assert.equal(mb.code, 0, mb.stderr);
    assert.equal((await cli('check', mbOut, '--allow-outside')).code, 0);
  });
});
