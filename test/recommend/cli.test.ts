import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { main } from '../../src/cli/main.js';
import { widest } from '../cli/run.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PEPTIDE = join(ROOT, 'test', 'fixtures', 'peptide-seed004', 'config.yaml');

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main({ argv, stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out, err };
}

describe('memplan recommend (CLI)', () => {
  it('a claim that cannot be read is bad input (exit 2), as in estimate, though recommend shows no claims', async () => {
    const bad = join(ROOT, 'test', 'fixtures', 'bad-claim', 'config.yaml');
    for (const cmd of ['recommend', 'estimate']) {
      const r = await run(cmd, bad, '--gpu', 'rtx-4090');
      assert.equal(r.code, 2, cmd);
      assert.match(r.err, /E_EXPR_SYNTAX at .*config\.yaml:5: claims\[0\]\.arithmetic/, cmd);
    }
  });

  it('prints the ranked table, the top choice and the knob warnings; exit 0', async () => {
    const r = await run('recommend', PEPTIDE, '--gpu', 'rtx-4090', '--effective-batch', '96', '--set', 'seq=200', '--top', '3');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /batch x/);
    assert.match(r.out, /as configured: 96 x 1, total .*, over by/);
    assert.match(r.out, /top choice: 48 x 2 \(fused optimizer\) fits with .* headroom \(margin 1\.199 GiB\); 96 x 1 is over\s+by/);
    assert.match(r.out.replace(/\n\s+/g, ' '), /knob bins \(20,000, 10,000, 7,500\) changes results: don't reduce spectrum resolution: hurts quality \(seed 004\); not varied/);
    assert.ok(widest(r.out) <= 100, `widest line ${widest(r.out)}`);
  });

  it('--format json and markdown', async () => {
    const j = await run('recommend', PEPTIDE, '--gpu', 'rtx-4090,2xrtx-4090', '--format', 'json', '--top', '2');
    assert.equal(j.code, 0);
    const data = JSON.parse(j.out) as { fits: boolean; targets: { gpus: number; ranked: unknown[] }[] };
    assert.equal(data.fits, true);
    assert.deepEqual(data.targets.map((t) => t.gpus), [1, 2]);
    assert.equal(data.targets[0]!.ranked.length, 2);
    const m = await run('recommend', PEPTIDE, '--gpu', 'rtx-4090', '--format', 'markdown', '--top', '2');
    assert.equal(m.code, 0);
    assert.match(m.out, /^### memplan recommend: peptide-seed004/);
    assert.match(m.out, /\| # \| config \| micro-batch x accum \| changes results \|/);
  });

  it('--gpus applies to entries without a count; --margin sets the tight line', async () => {
    // A fixed 10% allocator allowance and the expected edge keep every number hand-computable.
    const j = await run('recommend', PEPTIDE, '--gpu', 'rtx-4090,3xa100-80', '--gpus', '2', '--effective-batch', '96', '--margin', '19.58GiB', '--format', 'json', '--top', '1', '--set', 'allocator.fragmentation=0.1', '--edge', 'expected');
    assert.equal(j.code, 0, j.out);
    const data = JSON.parse(j.out) as { targets: { gpus: number; margin: number; ranked: { verdict: string; headroom: number; settings: { label: string }[] }[] }[] };
    assert.deepEqual(data.targets.map((t) => t.gpus), [2, 3]);
    const margin = Math.round(19.58 * 2 ** 30);
    assert.equal(data.targets[0]!.margin, margin);
    // 48 x 1 per RTX 4090, per sample 14 x 5 x 40 x 512 x 17 x 2 + 2 x 100 x 20000 x 4 B; weights, EMA and
    // AdamW state 200 MB, autocast's bf16 copy of the params 25 MB, and in backward (the peak) their fp32
    // gradients 50 MB; context 480,772,096 B, plus NCCL's buffers for 2 ranks (544 MiB, NVIDIA/nccl#964), of 25,757,220,864 B.
    const cap = 25_757_220_864;
    const dev = (a: number, frag = 0.1) => a + Math.ceil(a * frag) + 480_772_096 + 544 * 1024 * 1024;
    const acts = 48 * (14 * 5 * 40 * 512 * 17 * 2 + 2 * 100 * 20000 * 4);
    // As configured (DDP buckets copy the 50 MB of gradients) and with gradient_as_bucket_view: tight.
    assert.ok(cap - dev(325_000_000 + acts) < margin && cap - dev(275_000_000 + acts) < margin);
    // ZeRO-1 (AdamW state / 2, no DDP bucket copy) is safe; ZeRO-2 also halves the 50 MB of gradients: safe with
    // more headroom. Both change one knob (with a fixed allowance the allocator settings are not a knob): ZeRO-2 first.
    const zero1 = cap - dev(225_000_000 + acts);
    const zero2 = cap - dev(200_000_000 + acts);
    assert.ok(zero1 >= margin && zero2 > zero1);
    const top = data.targets[0]!.ranked[0]!;
    assert.deepEqual(top.settings.map((x) => x.label).filter((l) => l !== 'fused optimizer'), ['zero2']);
    assert.equal(top.headroom, zero2);
    assert.equal(top.verdict, 'fits');
  });

  it('exit 1 when nothing fits, naming the closest config', async () => {
    // seq 40000: one sample's recurrent core alone is 14 x 5 x 40000 x 512 x 17 x 2 B = 48.7 GB.
    const r = await run('recommend', PEPTIDE, '--gpu', 'rtx-4090', '--set', 'seq=40000', '--effective-batch', '2');
    assert.equal(r.code, 1, r.err);
    const out = r.out.replace(/\n\s+/g, ' ');
    assert.match(out, /verdict: nothing fits on NVIDIA GeForce RTX 4090 \(24 GB\) at effective batch 2 with the 1\.199 GiB margin; closest: 1 x 2/);
    assert.match(out, /no knob memplan can vary makes it fit/);
  });

  it('--max-batch prints the largest micro-batch per card', async () => {
    const r = await run('recommend', PEPTIDE, '--gpu', 'rtx-4090', '--max-batch', '--margin', '0', '--set', 'allocator.fragmentation=0.1', '--edge', 'expected');
    assert.equal(r.code, 0, r.err);
    // 350: see max-batch.test.ts (the 50 MB of gradients in backward; a fixed 10% allowance, the expected edge)
    assert.match(r.out.replace(/\n\s+/g, ' '), /rtx-4090: largest micro-batch 350 leaving the 0 B margin; 351 does not/);
  });

  it('exit 2 on bad input, printed once', async () => {
    for (const argv of [
      ['--gpu', 'no-such-card'],
      ['--gpu', '5xrtx-4090', '--effective-batch', '96'],
      ['--effective-batch', '0'],
      ['--allow', 'no_such_dim=1..4'],
      ['--allow', 'precision=fp8'],
      ['--max-batch', '--allow', 'bins'],
    ]) {
      const r = await run('recommend', PEPTIDE, ...argv);
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.err, /^memplan: error E_/, argv.join(' '));
      assert.equal(r.err.match(/memplan: error/g)!.length, 1);
    }
  });
});
