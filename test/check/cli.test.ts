import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { main } from '../../src/cli/main.js';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main({ argv, stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out, err };
}

interface Row {
  file: string;
  status: string;
  gpu?: { id: string };
  device_total?: number;
  judged_total?: number;
  free?: number;
  margin?: number;
  budget?: number;
  headroom_required?: number;
  largest?: { key: string; bytes: number };
  error?: { code: string; message: string; file?: string; line?: number };
  change?: { status: string; bytes?: number; settings?: { key: string; from: unknown; to: unknown }[] };
}

async function json(...argv: string[]): Promise<{ code: number; rows: Row[]; exit: number }> {
  const r = await run(...argv, '--format', 'json');
  const report = JSON.parse(r.out) as { exit: number; results: Row[] };
  return { code: r.code, rows: report.results, exit: report.exit };
}

const F = 'test/fixtures';
const GIB = 1024 ** 3;
// presets/rtx-4090.yaml and t4.yaml: capacity as nvidia-smi reports it; context 450 MiB + cuBLAS workspace 8.5 MiB.
const RTX_4090 = 24564 * 1024 * 1024;
const T4 = 15360 * 1024 * 1024;
const CONTEXT = 450 * 1024 * 1024 + 8.5 * 1024 * 1024;
/**
 * The fixture model is one persistent f32 buffer of batch x 1024 x 1024 x 256 x 4 B = batch GiB: one
 * allocator segment of exactly that size (a multiple of 2 MiB), nothing cached; the card adds its context.
 * check holds the risk band's high edge to the budget: the allocator margin (5% of the allocated peak,
 * rounded up) and the context's high edge (450 MiB x 1.3, plus the workspace).
 */
const device = (gib: number) => gib * GIB + CONTEXT;
const high = (gib: number) => gib * GIB + Math.ceil(gib * GIB * 0.05) + Math.round(450 * 1024 * 1024 * 1.3) + 8.5 * 1024 * 1024;

describe('memplan check: over budget', () => {
  test('exits 1 and reports FAIL with the numbers', async () => {
    const { code, rows, exit } = await json('check', `${F}/check-over-budget/config.yaml`);
    assert.equal(code, 1);
    assert.equal(exit, 1);
    assert.equal(rows.length, 1);
    const r = rows[0]!;
    assert.equal(r.status, 'FAIL');
    assert.equal(r.gpu?.id, 'rtx-4090');
    assert.equal(r.device_total, device(24));
    assert.equal(r.device_total, 26_250_575_872);
    assert.equal(r.judged_total, high(24));
    // 10% of the card, rounded up: 2,575,722,086.4 -> 2,575,722,087 B.
    assert.equal(r.headroom_required, 2_575_722_087);
    assert.equal(r.budget, RTX_4090 - 2_575_722_087);
    assert.equal(r.free, RTX_4090 - high(24));
    assert.deepEqual(r.largest, { key: 'buffers', name: 'persistent buffers', bytes: 24 * GIB });
  });

  test('the table shows FAIL and why', async () => {
    const { code, out } = await run('check', `${F}/check-over-budget/config.yaml`);
    assert.equal(code, 1);
    assert.match(out, /│ FAIL /);
    assert.match(out.replace(/\n\s+/g, ' '), /FAIL test\/fixtures\/check-over-budget\/config.yaml:3 \(rtx-4090\): .* over the card by/);
    assert.match(out, /1 config: 1 FAIL \(exit 1\)/);
  });

  test('github annotations point at the batch_size line', async () => {
    const { code, out } = await run('check', '--format', 'github', `${F}/check-over-budget/config.yaml`);
    assert.equal(code, 1);
    assert.match(out, /^::error file=test\/fixtures\/check-over-budget\/config.yaml,line=3,title=memplan check FAIL::FAIL /m);
  });

  test('the command line sets the level, the card and the headroom', async () => {
    const cfg = `${F}/check-over-budget/config.yaml`;
    assert.equal((await json('check', cfg, '--level', 'warn')).rows[0]!.status, 'WARN');
    assert.equal((await json('check', cfg, '--level', 'warn')).code, 0);
    assert.equal((await json('check', cfg, '--level', 'off')).rows[0]!.status, 'OFF');
    const a100 = await json('check', cfg, '--gpu', 'a100-80', '--headroom', '2GiB');
    assert.equal(a100.code, 0);
    assert.equal(a100.rows[0]!.status, 'PASS');
    assert.equal(a100.rows[0]!.budget, 81920 * 1024 * 1024 - 2 * GIB);
    const smaller = await json('check', cfg, '--set', 'batch_size=16');
    assert.equal(smaller.rows[0]!.device_total, device(16));
    assert.equal(smaller.rows[0]!.status, 'PASS');
  });
});

describe('memplan check: budgets', () => {
  test('PASS, WARN, FAIL per card, and OFF', async () => {
    const { code, rows } = await json('check', `${F}/check-budgets`);
    assert.equal(code, 1);
    assert.deepEqual(
      rows.map((r) => [r.file.replace(`${F}/check-budgets/`, ''), r.gpu?.id, r.status]),
      [
        ['fits.yaml', 'rtx-4090', 'PASS'],
        ['off.yaml', 'rtx-4090', 'OFF'],
        ['two-cards.yaml', 'rtx-4090', 'PASS'],
        ['two-cards.yaml', 't4', 'FAIL'],
        ['warn.yaml', 'rtx-4090', 'WARN'],
      ],
    );
    // 12 GiB fits the 15 GiB T4 but leaves less than the 2 GiB the budget asks for.
    const t4 = rows[3]!;
    assert.equal(t4.device_total, device(12));
    assert.equal(t4.free, T4 - high(12));
    assert.equal(t4.margin, T4 - 2 * GIB - high(12));
    // 21 GiB fits the 4090 but eats into its 10%.
    const warn = rows[4]!;
    assert.equal(warn.device_total, device(21));
    assert.ok(warn.free! > 0 && warn.margin! < 0);
  });

  test('warnings and OFF alone exit 0', async () => {
    const { code, out } = await run('check', `${F}/check-budgets/fits.yaml`, `${F}/check-budgets/warn.yaml`, `${F}/check-budgets/off.yaml`);
    assert.equal(code, 0);
    assert.match(out, /1 WARN, 1 PASS, 1 OFF \(exit 0\)/);
  });

  test('a config without a budget is an error unless --gpu is given', async () => {
    const cfg = `${F}/check-no-budget/config.yaml`;
    const none = await json('check', cfg);
    assert.equal(none.code, 2);
    assert.equal(none.rows[0]!.status, 'ERROR');
    assert.equal(none.rows[0]!.error?.code, 'E_CONFIG');
    const withGpu = await json('check', cfg, '--gpu', 'rtx-4090');
    assert.equal(withGpu.code, 0);
    assert.equal(withGpu.rows[0]!.status, 'PASS');
    assert.equal(withGpu.rows[0]!.device_total, device(2));
  });

  test('--gpu takes several cards', async () => {
    const { rows } = await json('check', `${F}/check-no-budget/config.yaml`, '--gpu', 'rtx-4090,t4');
    assert.deepEqual(rows.map((r) => r.gpu?.id), ['rtx-4090', 't4']);
  });

  test('a model descriptor named directly is an error, not a pass', async () => {
    const { code, rows } = await json('check', 'models/mini-transformer/config.yaml', 'models/mini-transformer/model.yaml');
    assert.equal(code, 2);
    assert.deepEqual(rows.map((r) => r.status), ['PASS', 'ERROR']);
    assert.match(rows[1]!.error!.message, /model descriptor, not a run config/);
    // Not even with a card: it has no training settings to check.
    const withGpu = await json('check', 'models/mini-transformer/model.yaml', '--gpu', 'rtx-4090');
    assert.equal(withGpu.code, 2);
    assert.equal(withGpu.rows[0]!.status, 'ERROR');
  });

  test('the shipped README example has a budget and passes', async () => {
    const { code, rows } = await json('check', 'models/mini-transformer/config.yaml');
    assert.equal(code, 0);
    assert.equal(rows[0]!.status, 'PASS');
  });
});

describe('memplan check: unreadable configs', () => {
  const dir = `${F}/check-unreadable`;
  const bad = ['bad-model.yaml', 'bad-yaml.yaml', 'missing-model.yaml', 'shape-error.yaml', 'unknown-card.yaml'];

  test('exit 2, and each unreadable config is an ERROR row at its own file and line', async () => {
    const { code, rows } = await json('check', dir);
    assert.equal(code, 2);
    const byFile = new Map(rows.map((r) => [r.file.replace(`${dir}/`, ''), r]));
    assert.equal(byFile.get('ok.yaml')?.status, 'PASS');
    for (const f of bad) assert.equal(byFile.get(f)?.status, 'ERROR', f);
    assert.equal(rows.length, 6);
    // broken-model.yaml line 6 holds `lifetime: forever`; bad-yaml.yaml line 5 the mis-indented key;
    // unknown-card.yaml line 4 the card.
    assert.deepEqual([byFile.get('bad-model.yaml')!.error?.file, byFile.get('bad-model.yaml')!.error?.line], [`${dir}/broken-model.yaml`, 6]);
    assert.deepEqual([byFile.get('bad-yaml.yaml')!.error?.code, byFile.get('bad-yaml.yaml')!.error?.line], ['E_YAML', 5]);
    assert.deepEqual([byFile.get('unknown-card.yaml')!.error?.code, byFile.get('unknown-card.yaml')!.error?.line], ['E_UNKNOWN_PRESET', 4]);
    assert.equal(byFile.get('missing-model.yaml')!.error?.code, 'E_FILE');
    // Raised while estimating, not loading: located in the model file, at block 0 (line 3).
    assert.deepEqual(
      [byFile.get('shape-error.yaml')!.error?.code, byFile.get('shape-error.yaml')!.error?.file, byFile.get('shape-error.yaml')!.error?.line],
      ['E_SHAPE', `${dir}/shape-model.yaml`, 3],
    );
  });

  test('no format reports an unreadable config as passing', async () => {
    for (const format of ['table', 'github', 'markdown', 'junit']) {
      const { code, out } = await run('check', dir, '--format', format);
      assert.equal(code, 2, format);
      const passLines = out.split('\n').filter((l) => /PASS/.test(l));
      for (const l of passLines) assert.ok(!bad.some((f) => l.includes(f)), `${format}: ${l}`);
      for (const f of bad) assert.ok(out.includes(f), `${format} names ${f}`);
    }
  });

  test('github: one ::error per unreadable config, at the error\'s file and line', async () => {
    const { out } = await run('check', dir, '--format', 'github');
    const errors = out.split('\n').filter((l) => l.startsWith('::error '));
    assert.deepEqual(
      errors.map((l) => /^::error file=([^,]+)(?:,line=(\d+))?,/.exec(l)!.slice(1, 3)),
      [
        [`${dir}/broken-model.yaml`, '6'],
        [`${dir}/bad-yaml.yaml`, '5'],
        // The missing model file cannot carry an annotation: the config's `model:` line does.
        [`${dir}/missing-model.yaml`, '1'],
        [`${dir}/shape-model.yaml`, '3'],
        [`${dir}/unknown-card.yaml`, '4'],
      ],
    );
  });

  test('junit: five errors, no failures, one passing test', async () => {
    const { out } = await run('check', dir, '--format', 'junit');
    assert.match(out, /<testsuites name="memplan check" tests="6" failures="0" errors="5" skipped="0">/);
    assert.equal(out.match(/<error /g)?.length, 5);
    assert.match(out, /<error type="E_UNKNOWN_PRESET" message="unknown GPU preset &quot;rtx-9090&quot;">/);
  });

  test('a missing file or a pattern matching nothing is an error', async () => {
    const missing = await json('check', `${F}/check-unreadable/nope.yaml`);
    assert.equal(missing.code, 2);
    assert.equal(missing.rows[0]!.error?.code, 'E_FILE');
    const nothing = await json('check', `${F}/check-unreadable/*.json`);
    assert.equal(nothing.code, 2);
    assert.equal(nothing.rows[0]!.status, 'ERROR');
  });

  test('bad options stop the whole command, printed once', async () => {
    const gpu = await run('check', `${F}/check-budgets/fits.yaml`, '--gpu', 'rtx-9090');
    assert.equal(gpu.code, 2);
    assert.equal(gpu.out, '');
    assert.equal(gpu.err.match(/E_UNKNOWN_PRESET/g)?.length, 1);
    const level = await run('check', `${F}/check-budgets/fits.yaml`, '--level', 'fatal');
    assert.equal(level.code, 2);
    assert.match(level.err, /E_OPTION/);
    const fmt = await run('check', `${F}/check-budgets/fits.yaml`, '--format', 'xml');
    assert.equal(fmt.code, 2);
  });
});

describe('memplan check: files, directories, patterns', () => {
  const tree = `${F}/check-tree`;
  const files = async (...args: string[]) => (await json('check', ...args)).rows.map((r) => r.file.replace(`${tree}/`, ''));

  test('a directory yields its run configs, not model descriptors or hidden folders', async () => {
    assert.deepEqual(await files(tree), ['a.yaml', 'sub/b.yml', 'sub/deeper/c.yaml']);
  });

  test('glob patterns', async () => {
    assert.deepEqual(await files(`${tree}/**/*.yaml`), ['a.yaml', 'sub/deeper/c.yaml']);
    assert.deepEqual(await files(`${tree}/*.{yaml,yml}`), ['a.yaml']);
    assert.deepEqual(await files(`${tree}/s?b/*`), ['sub/b.yml']);
  });

  test('an explicit file is checked once, even when a pattern matches it again', async () => {
    assert.deepEqual(await files(`${tree}/a.yaml`, `${tree}/*.yaml`), ['a.yaml']);
  });
});

describe('memplan check: baseline', () => {
  const cfg = `${F}/check-over-budget/config.yaml`;
  const dir = mkdtempSync(join(tmpdir(), 'memplan-check-'));

  test('reports the change and the setting behind it', async () => {
    const base = join(dir, 'base.json');
    const first = await run('check', cfg, '--set', 'batch_size=16', '--write-baseline', base);
    assert.equal(first.code, 0);
    const { rows } = await json('check', cfg, '--baseline', base);
    // 24 GiB vs 16 GiB of buffer: each one segment of its own size, nothing cached (the change is in the expected total).
    const delta = 8 * GIB;
    assert.equal(rows[0]!.change?.bytes, delta);
    assert.deepEqual(rows[0]!.change?.settings, [{ key: 'batch_size', from: 16, to: 24 }]);
    const table = await run('check', cfg, '--baseline', base);
    assert.match(table.out.replace(/\n\s+/g, " "), /\+8\.000 GiB from batch_size 16 -> 24/);
    const md = await run('check', cfg, '--baseline', base, '--format', 'markdown');
    assert.match(md.out, /\| change \|/);
    assert.match(md.out, /\+8\.000 GiB from batch_size 16 -> 24/);
  });

  test('a changed dimension is named; a config not in the baseline is new', async () => {
    const base = join(dir, 'dims.json');
    await run('check', cfg, '--set', 'rows=512', '--write-baseline', base);
    const { rows } = await json('check', cfg, `${F}/check-budgets/fits.yaml`, '--baseline', base);
    assert.deepEqual(rows[0]!.change?.settings, [{ key: 'rows', from: 512, to: 1024 }]);
    assert.equal(rows[0]!.change?.bytes, device(24) - device(12));
    assert.equal(rows[1]!.change?.status, 'new');
  });

  test('--format json output is itself a baseline', async () => {
    const base = join(dir, 'out.json');
    writeFileSync(base, (await run('check', cfg, '--format', 'json')).out);
    const { rows } = await json('check', cfg, '--baseline', base);
    assert.deepEqual(rows[0]!.change, { status: 'changed', bytes: 0, from: device(24), baseline_status: 'FAIL', settings: [] });
    assert.match((await run('check', cfg, '--baseline', base)).out, /no change/);
  });

  test('a config the baseline could not read says so', async () => {
    const base = join(dir, 'error.json');
    const broken = await run('check', cfg, '--set', 'batch_size=0', '--write-baseline', base);
    assert.equal(broken.code, 2);
    const { rows } = await json('check', cfg, '--baseline', base);
    assert.deepEqual(rows[0]!.change, { status: 'baseline-error', baseline_status: 'ERROR' });
  });

  test('a file that is not a check report is refused', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ hello: 1 }));
    const r = await run('check', cfg, '--baseline', bad);
    assert.equal(r.code, 2);
    assert.match(r.err, /E_SCHEMA/);
    const missing = await run('check', cfg, '--baseline', join(dir, 'none.json'));
    assert.equal(missing.code, 2);
    assert.match(missing.err, /E_FILE/);
    assert.ok(readFileSync(join(dir, 'base.json'), 'utf8').includes('"tool": "memplan check"'));
  });
});
