/** `memplan gpus`, `--help` and `--version`, in-process. */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { cli, json, widest } from './run.js';

const PRESET_IDS = readdirSync('presets').filter((f) => f.endsWith('.yaml')).map((f) => f.replace(/\.yaml$/, '')).sort();

describe('gpus', () => {
  it('lists every preset as a table within 100 columns, one rule under the header only', async () => {
    const r = await cli('gpus');
    assert.equal(r.code, 0);
    for (const id of PRESET_IDS) assert.match(r.stdout, new RegExp(`│ ${id} +│`));
    // RTX 4090: 24564 MiB = 23.99 GiB = 25.76 GB; context 450 MiB + workspace 8.5 MiB = 458.5 MiB = 480.8 MB.
    assert.match(r.stdout, /│ rtx-4090 +│ NVIDIA GeForce RTX 4090 \(24 GB\) +│ 23\.99 GiB +│ 458\.5 MiB +│ gpu +│ 4090, rtx4090 +│/);
    assert.match((await cli('gpus', '--units', 'decimal')).stdout, /│ rtx-4090 +│ NVIDIA GeForce RTX 4090 \(24 GB\) +│ 25\.76 GB +│ 480\.8 MB +│/);
    assert.ok(widest(r.stdout) <= 100);
    assert.equal(r.stdout.split('\n').filter((l) => l.startsWith('├')).length, 1, 'one rule, under the header');
  });

  it('gives the preset data as JSON', async () => {
    const presets = json<{ id: string; capacity_bytes: number; kind: string }[]>(await cli('gpus', '--format', 'json'));
    assert.deepEqual(presets.map((p) => p.id).sort(), PRESET_IDS);
    assert.equal(presets.find((p) => p.id === 'a100-80')!.capacity_bytes, 80 * 1024 ** 3);
    assert.equal(presets.find((p) => p.id === 'ram-8gb')!.kind, 'host');
  });

  it('writes a markdown table', async () => {
    const r = await cli('gpus', '--format', 'markdown');
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines[0], '| id | name | capacity | baseline | kind | also |');
    assert.equal(lines.length, 2 + PRESET_IDS.length);
  });
});

describe('help and version', () => {
  it('--help lists the commands and exits 0', async () => {
    const r = await cli('--help');
    assert.equal(r.code, 0);
    for (const c of ['estimate [options] [config]', 'explain [options] [config]', 'gpus [options]', 'init [options] [dir]', 'plot [options] [config]', 'completion <shell>']) assert.ok(r.stdout.includes(c), c);
    assert.match(r.stdout, /Examples:\n  \$ memplan init/);
  });

  it('estimate --help lists its options', async () => {
    const r = await cli('estimate', '--help');
    assert.equal(r.code, 0);
    for (const o of ['--gpu <id>', '--set <key=value>', '--format <format>']) assert.ok(r.stdout.includes(o), o);
  });

  it('--version prints the package version', async () => {
    const r = await cli('--version');
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '0.1.0\n');
  });

  it('no command prints the help on stderr and exits 2', async () => {
    const r = await cli();
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Usage: memplan/);
  });
});
