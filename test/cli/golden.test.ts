/**
 * Golden files: the estimate table and markdown, byte for byte. Any difference fails; after an
 * intended change, rewrite them with `UPDATE_GOLDEN=1 npm test` and review the diff.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
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
];

describe('golden outputs', () => {
  for (const [file, argv] of CASES) {
    it(`${file}: memplan ${argv.join(' ')}`, async () => {
      const r = await cli(...argv);
      assert.equal(r.stderr, '');
      // Nothing that depends on where the checkout lives.
      assert.ok(!r.stdout.includes(ROOT.replace(/\/$/, '')), 'no absolute paths');
      const path = join(GOLDEN, file);
      if (UPDATE) writeFileSync(path, r.stdout);
      assert.equal(r.stdout, readFileSync(path, 'utf8'), `differs from test/golden/${file} (UPDATE_GOLDEN=1 rewrites it)`);
    });
  }

  it('does not depend on the terminal width', async () => {
    const before = process.stdout.columns;
    Object.defineProperty(process.stdout, 'columns', { value: 40, configurable: true });
    try {
      const r = await cli('estimate', 'models/mini-transformer/config.yaml');
      assert.equal(r.stdout, readFileSync(join(GOLDEN, 'mini-transformer.estimate.txt'), 'utf8'));
    } finally {
      Object.defineProperty(process.stdout, 'columns', { value: before, configurable: true });
    }
  });
});
