/** Claims: a hand-made table's numbers checked against the estimate, as memplan prints them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkClaims, claimLine, withClaims } from '../../src/core/claims.js';
import { MemplanError } from '../../src/core/errors.js';
import { normalizeRun } from '../../src/core/model.js';
import { est, model } from './helpers.js';

// Seed 004's model reduced to what its table is about: 12.5M parameters known by count, bf16-mixed
// (fp32 weights, gradients and AdamW state), an fp32 EMA, and a [4, 100, 2000] fp32 loss buffer.
const peptide = model([
  { type: 'params', count: 12_500_000 },
  { type: 'tensor', name: 'spectrum', shape: ['batch', 100, 2000], lifetime: 'loss', dtype: 'f32' },
]);
const raw = { batch_size: 4, precision: 'bf16-mixed', optimizer: 'adamw', ema: true };

test('each claim is compared with the quantities it names; within 25% agrees', () => {
  const e = est(peptide, raw);
  const [params, state, ema, spectrum, low] = checkClaims(e, [
    { label: 'Model Parameters ~1.5 GB', bytes: '1.5 GB', of: ['weights', 'gradients'], arithmetic: '12.5e6 * 2 * 2' },
    { label: 'Optimizer States ~3 GB', bytes: 3e9, of: 'optimizer_state' },
    { label: 'EMA ~60 MB', bytes: '60 MB', of: 'ema' },
    { label: 'spectrum ~3 MB', bytes: '3 MB', of: 'loss_buffers' },
    { label: 'spectrum ~1 MB', bytes: '1 MB', of: 'loss_buffers' },
  ]);
  // fp32 weights + fp32 gradients: 12.5M x 4 B x 2 = 100 MB; the claim's own arithmetic is 50 MB.
  assert.equal(params!.memplan, 12_500_000 * 4 * 2);
  assert.equal(params!.claimed, 1_500_000_000);
  assert.equal(params!.ratio, 15);
  assert.equal(params!.verdict, 'too high');
  assert.deepEqual(params!.arithmetic, { expr: '12.5e6 * 2 * 2', bytes: 50_000_000 });
  assert.match(claimLine(params!), /its own arithmetic, 12\.5e6 \* 2 \* 2, comes to 47\.68 MiB \(50\.00 MB\).*15\.0x too high$/);
  // AdamW: m and v in fp32, 12.5M x 8 B = 100 MB against 3 GB.
  assert.equal(state!.memplan, 12_500_000 * 8);
  assert.equal(state!.ratio, 30);
  // EMA: 12.5M x 4 B = 50 MB; 60 MB is 1.2x, within 25%.
  assert.equal(ema!.memplan, 50_000_000);
  assert.equal(ema!.verdict, 'agrees');
  // The loss buffer: 4 x 100 x 2000 x 4 B = 3.2 MB; 3 MB agrees, 1 MB is 3.2x too low.
  assert.equal(spectrum!.memplan, 4 * 100 * 2000 * 4);
  assert.equal(spectrum!.verdict, 'agrees');
  assert.equal(low!.verdict, 'too low');
  assert.match(claimLine(low!), /3\.2x too low$/);
});

test('claims and notes ride on the run config; withClaims puts the claims on the finished estimate', () => {
  const bare = est(peptide, { ...raw, notes: ['what this config is'], claims: [{ label: 'EMA ~750 MB', bytes: '750 MB', of: 'ema', source: 'seed 004' }] });
  assert.equal(bare.notes[0], 'what this config is');
  // The estimate does not check claims (it does not import claims.ts); its caller does.
  assert.equal(bare.claims, undefined);
  const e = withClaims(bare, [{ label: 'EMA ~750 MB', bytes: '750 MB', of: 'ema', source: 'seed 004' }]);
  // Same object otherwise, `claims` right after `terms` (where the JSON output has always had it).
  const keys = Object.keys(bare);
  keys.splice(keys.indexOf('terms') + 1, 0, 'claims');
  assert.deepEqual(Object.keys(e), keys);
  assert.equal(withClaims(bare, []), bare);
  assert.equal(e.claims?.length, 1);
  assert.equal(e.claims![0]!.ratio, 15);
  assert.equal(e.claims![0]!.source, 'seed 004');
});

test('a claim must name a known quantity and a size, not a share', () => {
  assert.throws(() => normalizeRun({ model: 'x', claims: [{ label: 'x', bytes: '1 GB', of: 'activations' }] }), (e: unknown) => e instanceof MemplanError && e.code === 'E_SCHEMA');
  assert.throws(() => normalizeRun({ model: 'x', claims: [{ label: 'x', bytes: '10%', of: 'ema' }] }), (e: unknown) => e instanceof MemplanError && e.code === 'E_SCHEMA');
});
