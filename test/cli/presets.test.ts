/**
 * User presets (--presets DIR, MEMPLAN_PRESETS) merged over the shipped ones, and `memplan calibrate`
 * writing one from a measurement (test/fixtures/calibrate/measured.json, a constructed example).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as yaml from 'js-yaml';
import { cli, json } from './run.js';

const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'memplan-presets-'));
const card = (id: string, capacity: number) => `id: ${id}\nname: My ${id}\nkind: gpu\ncapacity_bytes: ${capacity}\ncontext_bytes: ${300 * MiB}\nsource: "measured on my machine"\n`;
writeFileSync(join(dir, 'my-card.yaml'), card('my-card', 12 * 1024 * MiB));
writeFileSync(join(dir, 'rtx-4090.yaml'), card('rtx-4090', 20 * 1024 * MiB));

describe('user presets', () => {
  after(() => delete process.env.MEMPLAN_PRESETS);

  it('--presets DIR adds cards and replaces shipped ones; gpus says where each came from', async () => {
    const r = await cli('gpus', '--presets', dir, '--format', 'json');
    assert.equal(r.code, 0);
    const ps = json<{ id: string; capacity_bytes: number; origin: string }[]>(r);
    assert.equal(ps.find((p) => p.id === 'my-card')!.capacity_bytes, 12 * 1024 * MiB);
    assert.match(ps.find((p) => p.id === 'my-card')!.origin, /^--presets .*my-card\.yaml$/);
    assert.equal(ps.find((p) => p.id === 'rtx-4090')!.capacity_bytes, 20 * 1024 * MiB);
    assert.match(ps.find((p) => p.id === 'rtx-4090')!.origin, /replaces the shipped preset/);
    assert.equal(ps.find((p) => p.id === 'a100-80')!.origin, 'shipped');
    // Without the option, the shipped card again.
    const plain = json<{ id: string; capacity_bytes: number }[]>(await cli('gpus', '--format', 'json'));
    assert.equal(plain.find((p) => p.id === 'rtx-4090')!.capacity_bytes, 24564 * MiB);
    assert.equal(plain.find((p) => p.id === 'my-card'), undefined);
  });

  it('MEMPLAN_PRESETS works the same, and an estimate uses the card', async () => {
    process.env.MEMPLAN_PRESETS = dir;
    const e = json(await cli('estimate', 'models/mini-transformer/config.yaml', '--gpu', 'my-card', '--format', 'json'));
    assert.equal(e.gpu.capacity, 12 * 1024 * MiB);
    // The card's own context (no workspace given) under lazy loading.
    assert.equal(e.context.bytes, 300 * MiB);
    delete process.env.MEMPLAN_PRESETS;
  });

  it('a bad user preset is a located schema error; a missing folder is named', async () => {
    const bad = mkdtempSync(join(tmpdir(), 'memplan-bad-'));
    writeFileSync(join(bad, 'x.yaml'), 'id: x\nname: X\nkind: gpu\ncapacity_bytes: -1\ncontext_bytes: 0\nsource: s\n');
    const r = await cli('gpus', '--presets', bad);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /E_SCHEMA at .*x\.yaml:4/);
    const missing = await cli('gpus', '--presets', join(bad, 'nope'));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /E_FILE at --presets/);
  });
});

describe('memplan calibrate', () => {
  const out = join(dir, 'cal', 'rtx-4090-cal.yaml');
  it('fits the context and the allocator correction, writes a preset, and reports the uncalibrated error', async () => {
    const r = await cli('calibrate', 'models/mini-transformer/config.yaml', 'test/fixtures/calibrate/measured.json', '--id', 'rtx-4090-cal', '--out', out, '--format', 'json');
    assert.equal(r.code, 0, r.stderr);
    const res = json(r);
    const preset = yaml.load(readFileSync(out, 'utf8')) as Record<string, any>;
    // Context: nvidia-smi 402 MiB minus the 69,206,016 B PyTorch reserves = 352,321,536 B (336 MiB).
    assert.equal(preset.context_bytes, 402 * MiB - 69206016);
    assert.equal(preset.context_bytes, 336 * MiB);
    assert.equal(preset.capacity_bytes, 24564 * MiB);
    assert.equal(preset.cuda, '12.4');
    const rows = res.uncalibrated as { level: string; measured: number; estimated: number; errorPct: number }[];
    const ctx = rows.find((x) => x.level.startsWith('context'))!;
    // The uncalibrated context: the RTX 4090 preset's 450 MiB + 8.5 MiB workspace against 336 MiB measured.
    assert.equal(ctx.estimated, 458.5 * MiB);
    assert.ok(Math.abs(ctx.errorPct - (100 * (458.5 - 336)) / 336) < 1e-9);
    // The allocator correction: measured reserved/allocated over simulated reserved/allocated.
    const alloc = rows.find((x) => x.level.startsWith('allocated'))!;
    const resv = rows.find((x) => x.level.startsWith('reserved'))!;
    const ratio = 69206016 / 49807360 / (resv.estimated / alloc.estimated);
    assert.ok(Math.abs(preset.calibration.reserved_ratio - ratio) < 1e-4);
    assert.ok(Math.abs(preset.calibration.allocated_ratio - 49807360 / alloc.estimated) < 1e-4);
  });

  it('the written preset loads with --presets; the band narrows and the context is the measured one', async () => {
    const cal = json(await cli('estimate', 'models/mini-transformer/config.yaml', '--presets', join(dir, 'cal'), '--gpu', 'rtx-4090-cal', '--format', 'json'));
    const plain = json(await cli('estimate', 'models/mini-transformer/config.yaml', '--format', 'json'));
    assert.equal(cal.context.bytes, 336 * MiB);
    assert.equal(cal.band.calibrated, true);
    assert.ok(cal.band.high - cal.band.low < plain.band.high - plain.band.low);
    const r = await cli('gpus', '--presets', join(dir, 'cal'));
    assert.match(r.stdout, /│ rtx-4090-cal +│/);
    assert.match(r.stdout, /│ from +│/);
    assert.ok(Math.max(...r.stdout.split('\n').map((l) => l.length)) <= 100, 'within 100 columns with the from column');
    const listed = JSON.parse((await cli('gpus', '--presets', join(dir, 'cal'), '--format', 'json')).stdout) as { id: string; origin?: string; calibration?: unknown }[];
    const p = listed.find((x) => x.id === 'rtx-4090-cal')!;
    assert.match(p.origin!, /^--presets .*rtx-4090-cal\.yaml$/);
    assert.ok(p.calibration);
  });

  it('a measurement with a missing counter is a located error', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ max_memory_allocated: 1, max_memory_reserved: 2, nvidia_smi_used_mib: 3 }));
    const r = await cli('calibrate', 'models/mini-transformer/config.yaml', bad);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /E_SCHEMA at .*bad\.json: memory_reserved/);
  });
});
