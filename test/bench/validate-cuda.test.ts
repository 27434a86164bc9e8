/**
 * The GPU validation script's dry run (no GPU here): scripts/validate-torch.mjs --device cuda on a
 * constructed validate.py output (test/fixtures/validate-cuda/, labelled as such) puts each measured number
 * in its column with the error computed from it, names the card preset; with no GPU it writes the
 * "not run" page and exits 2. The committed docs/accuracy-pytorch-cuda.md is one of the two.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../scripts/seeds-lib.js';

const FIX = join(ROOT, 'test', 'fixtures', 'validate-cuda');

function runScript(measured: string): { status: number | null; doc: string; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'memplan-cuda-doc-'));
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'validate-torch.mjs'), '--device', 'cuda', '--measured', join(FIX, measured), '--doc-dir', dir], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return { status: r.status, doc: readFileSync(join(dir, 'accuracy-pytorch-cuda.md'), 'utf8'), out: r.stdout + r.stderr };
}

const num = (s: string) => Number(s.replace(/,/g, ''));

test('no GPU: the page says it was not run, and the script exits 2', () => {
  const r = runScript('unavailable.json');
  assert.equal(r.status, 2, r.out);
  assert.match(r.doc, /\*\*Not run: no GPU\.\*\*/);
  assert.match(r.doc, /torch 2\.5\.1\+cpu, built with CUDA None/);
  assert.match(r.doc, /under 8 minutes/);
});

test('a (constructed) GPU measurement: each number in its column, errors from them, the card preset found', () => {
  const r = runScript('measured.json');
  assert.equal(r.status, 1, r.out); // the fixture's numbers are not close to memplan's, and one case errored
  const row = r.doc.split('\n').find((l) => l.startsWith('| dense_adamw_foreach | h200 |'));
  assert.ok(row, r.doc);
  const cells = row.split('|').slice(3, 7).map((c) => c.trim());
  // allocated, reserved, device total, context: measured = step 2's (or the case's) values from the fixture.
  const measured = cells.map((c) => num(/ \/ ([\d,]+) /.exec(c)![1]!));
  assert.deepEqual(measured, [3_000_000, 23_068_672, 620_000_000, 620_000_000 - 23_068_672]);
  for (const c of cells) {
    const [, p, m, e] = /^([\d,]+) \/ ([\d,]+) \(([+-][\d.]+)%\)$/.exec(c)!;
    assert.equal(Number(e), Number((((num(p!) - num(m!)) / num(m!)) * 100).toFixed(2)));
  }
  assert.match(r.doc, /NVIDIA H200, 150,754,820,096 B; CUDA 12\.4/);
  assert.match(r.doc, /\| cuda\/vit_like_fp32 \| - \| - \| - \| RuntimeError: CUDA out of memory \(constructed\) \|/);
});

test('the committed docs/accuracy-pytorch-cuda.md is the script\'s: not run, or a table', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'accuracy-pytorch-cuda.md'), 'utf8');
  assert.ok(/\*\*Not run: no GPU\.\*\*/.test(doc) || /### The CUDA allocator, the device total and the context/.test(doc));
});
