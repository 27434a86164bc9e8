import assert from 'node:assert/strict';
import { test } from 'node:test';
import { estimate, normalizeRun, validateModel } from '../../src/index.js';

// A persistent explicit tensor is a buffer for the whole run: the estimator counts it once, as
// `buffers`, and the liveness simulation must not count it again as an activation.
test('a persistent tensor is counted once', () => {
  const model = validateModel({
    name: 'buffer-only',
    blocks: [{ name: 'buffer', type: 'tensor', shape: ['batch', 1024, 1024], dtype: 'f32', lifetime: 'persistent' }],
  });
  const est = estimate(model, normalizeRun({ model: 'm.yaml', batch_size: 3, allocator: { fragmentation: 0 } }));
  const buffer = 3 * 1024 * 1024 * 4;
  assert.equal(est.components.find((c) => c.key === 'buffers')?.bytes, buffer);
  assert.equal(est.allocated, buffer);
  assert.equal(est.components.some((c) => c.key === 'transients'), false);
});
