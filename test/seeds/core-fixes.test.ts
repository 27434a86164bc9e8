/** The core behaviours the seed models needed: explicit tensor lifetimes, repeat: 0, SDPA shapes, phase labels. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { estimate, normalizeRun, validateModel, type ModelDescriptor } from '../../src/index.js';

const run = (extra: Record<string, unknown> = {}) => normalizeRun({ model: 'inline', batch_size: 2, ...extra });
const model = (blocks: unknown[], dims: Record<string, unknown> = {}): ModelDescriptor => validateModel({ name: 't', dims, blocks });
const comp = (e: ReturnType<typeof estimate>, key: string) => e.components.filter((c) => c.key === key).reduce((a, c) => a + c.bytes, 0);

test('a loss tensor stays alive until backward and is counted once, as a loss buffer', () => {
  const m = model([
    { type: 'params', count: 1000 },
    { type: 'tensor', name: 'spectrum', shape: ['batch', 1000, 1000], dtype: 'f32', lifetime: 'loss', count: 2 },
  ]);
  const e = estimate(m, run());
  assert.equal(comp(e, 'loss_buffers'), 2 * 2 * 1000 * 1000 * 4);
  assert.equal(comp(e, 'transients'), 0);
  // Backward peak: weights 1000 x 4 B, their gradients 1000 x 4 B (a params block's gradients exist
  // during backward, while the loss buffers are still alive), AdamW m and v 2 x 1000 x 4 B, the buffers.
  assert.equal(e.allocated, 1000 * 4 + 1000 * 4 + 2 * 1000 * 4 + 2 * 2 * 1000 * 1000 * 4);
});

test('a persistent tensor is a buffer, not also a transient', () => {
  const m = model([{ type: 'tensor', name: 'cache', shape: [1000, 1000], dtype: 'f32', lifetime: 'persistent' }]);
  const e = estimate(m, run({ device: 'cpu' }));
  assert.equal(comp(e, 'buffers'), 1000 * 1000 * 4);
  assert.equal(e.allocated, 1000 * 1000 * 4);
});

test('repeat: 0 leaves a block out', () => {
  const blocks = (n: number) => [
    { type: 'linear', input: ['batch', 16], out: 16 },
    { type: 'layer_norm', repeat: `${n} * layers` },
  ];
  const on = estimate(model(blocks(1), { layers: 3 }), run());
  const off = estimate(model(blocks(0), { layers: 3 }), run());
  assert.equal(on.params.total - off.params.total, 3 * 2 * 16);
  assert.equal(off.blocks[1]!.repeat, 0);
});

test('sdpa attention with sequence length unlike the head dimension', () => {
  const m = model([{ type: 'attention', input: ['batch', 150, 128], heads: 4 }]);
  const e = estimate(m, run({ attention: 'sdpa' }));
  // q, k, v, the output (each [2, 4, 150, 32]) and an fp32 logsumexp [2, 4, 150]; never 150 x 150.
  const sdpa = e.saved_items.filter((it) => it.what === 'sdpa logsumexp');
  assert.equal(sdpa.length, 1);
  assert.ok(!e.saved_items.some((it) => it.shape.length === 4 && it.shape[2] === 150 && it.shape[3] === 150));
});

test('two micro-batches are labelled "micro-batch 2"', () => {
  const m = model([{ type: 'linear', input: ['batch', 16], out: 16 }]);
  const e = estimate(m, run({ grad_accum: 2 }));
  assert.ok(e.phases.some((p) => p.name.startsWith('micro-batch 2 ')));
  assert.ok(!e.phases.some((p) => p.name.includes('2..2')));
});
