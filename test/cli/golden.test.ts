/**
 * Golden files: the estimate table and markdown, byte for byte. Any difference fails; after an
 * intended change, `UPDATE_GOLDEN=1 npm test` rewrites the files that differ and still fails, naming
 * them (the output is compared with the committed file before anything is written), so a rewrite is
 * never a pass: review the diff, then run the tests again.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cli, fixture, ROOT } from './run.js';

const GOLDEN = join(ROOT, 'test/golden');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

const CASES: [string, string[]][] = [
  ['mini-transformer.estimate.txt', ['estimate', 'models/mini-transformer/config.yaml']],
  ['mini-transformer.estimate.md', ['estimate', 'models/mini-transformer/config.yaml', '--format', 'markdown']],
  ['over-budget.estimate.txt', ['estimate', fixture('over-budget')]],
  ['over-budget.estimate.md', ['estimate', fixture('over-budget'), '--format', 'markdown']],
  ['host-ram.estimate.txt', ['estimate', 'models/rna-multiscale/standard-ram8.yaml']],
  ['peptide.recommend.txt', ['recommend', 'models/peptide/current-48x2.yaml', '--effective-batch', '96', '--top', '6']],
  ['peptide.max-batch.txt', ['recommend', 'models/peptide/current-48x2.yaml', '--max-batch', '--gpu', '4090,a100,h100']],
  ['gpus.txt', ['gpus']],
  ['models.check.txt', ['check', 'models/']],
];

describe('golden outputs', () => {
  for (const [file, argv] of CASES) {
    it(`${file}: memplan ${argv.join(' ')}`, async () => {
      const r = await cli(...argv);
      assert.equal(r.stderr, '');
      // Terminal output within 100 columns (markdown tables are rendered, not read in a terminal).
      if (file.endsWith('.txt')) assert.ok(r.stdout.split('\n').every((l) => [...l].length <= 100), 'every line within 100 columns');
      // Nothing that depends on where the checkout lives.
      assert.ok(!r.stdout.includes(ROOT.replace(/\/$/, '')), 'no absolute paths');
      const path = join(GOLDEN, file);
      const committed = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
      if (r.stdout === committed) return;
      if (UPDATE) {
        writeFileSync(path, r.stdout);
        assert.fail(`rewrote test/golden/${file}: review the diff (git diff test/golden), then run the tests without UPDATE_GOLDEN`);
      }
      assert.equal(r.stdout, committed, `differs from test/golden/${file} (UPDATE_GOLDEN=1 rewrites it, and fails)`);
    });
  }

  it('does not depend on the terminal width', async () => {
    const before = process.stdout.columns;
    Object.defineProperty(process.stdout, 'columns', { value: 40, configurable: true });
    try {
      const narrow = await cli('estimate', 'models/mini-transformer/config.yaml');
      Object.defineProperty(process.stdout, 'columns', { value: 300, configurable: true });
      const wide = await cli('estimate', 'models/mini-transformer/config.yaml');
      assert.equal(narrow.stdout, wide.stdout);
      assert.ok(narrow.stdout.length > 0);
    } finally {
      Object.defineProperty(process.stdout, 'columns', { value: before, configurable: true });
    }
  });
});
