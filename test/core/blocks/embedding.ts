import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Helpers from '../helpers.js';

/** Registered by ./all.test.ts, which runs every block type's cases in one process. */
export default function register(h: typeof Helpers): void {
  const { comp, est, model, paramsOf, saved } = h;
  test('embedding: vocab*dim parameters; saves only the ids, which are the batch itself', () => {
    const m = model([{ type: 'embedding', input: ['batch', 'seq'], vocab: 100, dim: 16 }], { seq: 10 });
    assert.equal(paramsOf(m, 0), 100 * 16);
    assert.deepEqual(saved(m, { batch_size: 4 }), { fp32: 0, bf16: 0 });
    // int64 ids: [4, 10] x 8 B.
    assert.equal(comp(est(m, { batch_size: 4 }), 'input_batch'), 4 * 10 * 8);
  });

  test('embedding output feeds a linear: fp32 under autocast (embedding is not cast), linear saves its bf16 cast', () => {
    const m = model([{ type: 'embedding', input: [4, 10], vocab: 100, dim: 16 }, { type: 'linear', out: 8 }]);
    const s = saved(m);
    assert.equal(s.fp32, 4 * 10 * 16 * 4);
    // the linear's bf16 cast of the embedding output + its bf16 weight copy [8,16] (the embedding output
    // requires grad)
    assert.equal(s.bf16, 4 * 10 * 16 * 2 + 16 * 8 * 2);
  });
}
