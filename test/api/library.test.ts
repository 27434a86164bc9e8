/** The library: loadRun, loadPreset, estimateFile, and the runnable example under examples/. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { estimateFile, loadPreset, loadRun, MemplanError, type Estimate, type LoadedRun } from '../../src/index.js';
import { ROOT } from '../cli/run.js';

const MINI = join(ROOT, 'models', 'mini-transformer', 'config.yaml');

describe('library API', () => {
  it('loadRun reads a run config and the model it names, defaults filled in', () => {
    const r: LoadedRun = loadRun(MINI);
    assert.equal(r.model.name, 'mini-transformer');
    assert.equal(r.modelFile, join(ROOT, 'models', 'mini-transformer', 'model.yaml'));
    assert.equal(r.run.batch_size, 8);
    assert.equal(r.run.optimizer.impl, 'foreach');
  });

  it('loadPreset takes ids and aliases; an unknown id is a MemplanError with a suggestion', () => {
    assert.equal(loadPreset('h100').id, 'h100-80');
    assert.equal(loadPreset('RTX 4090').capacity_bytes, 24564 * 1024 * 1024);
    assert.throws(() => loadPreset('h10'), (e: unknown) => e instanceof MemplanError && e.code === 'E_UNKNOWN_PRESET' && /did you mean "h100-80"|did you mean "h200"/.test(e.hint ?? ''));
  });

  it('estimateFile: the config\'s own card, or the one given; errors are located', () => {
    const own: Estimate = estimateFile(MINI);
    assert.equal(own.gpu!.id, 'rtx-4090');
    const h200 = estimateFile(MINI, { gpu: 'h200' });
    // Same step, another card: only the capacity (and so the headroom) differ; same context preset numbers.
    assert.equal(h200.allocated, own.allocated);
    assert.equal(h200.gpu!.capacity, loadPreset('h200').capacity_bytes);
    assert.throws(() => estimateFile(join(ROOT, 'test', 'fixtures', 'unknown-key', 'config.yaml')), (e: unknown) => e instanceof MemplanError && e.file === 'test/fixtures/unknown-key/model.yaml' && e.line === 12);
  });

  it('examples/estimate.mjs runs as documented in docs/api.md', () => {
    const out = execFileSync(process.execPath, [join(ROOT, 'examples', 'estimate.mjs')], { encoding: 'utf8' });
    // What it prints is what the library returns in this process: the device total in MiB, to 0.1.
    const est = estimateFile(MINI, { gpu: 'rtx-4090' });
    assert.match(out, new RegExp(`^mini-transformer on NVIDIA GeForce RTX 4090 \\(24 GB\\): ${(est.device_total / 2 ** 20).toFixed(1).replace('.', '\\.')} MiB, fits: true$`, 'm'));
    for (const c of est.components) assert.ok(out.includes(`  ${c.name}: ${c.bytes} B\n`), c.name);
    assert.match(out, /^largest micro-batch on h100-80 leaving 10%: \d+$/m);
    assert.match(out, /^top choice at effective batch 256: 256 x 1/m);
  });
});
