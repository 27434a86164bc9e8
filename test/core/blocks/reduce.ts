import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Helpers from '../helpers.js';

/** Registered by ./all.test.ts. Reductions and softmax over an axis, by hand. */
export default function register(h: typeof Helpers): void {
  const { est, model, pre, sim } = h;
  const A = 4 * 8 * 16 * 4; // pre's output [4, 8, 16] fp32
  const R = 4 * 8 * 4; // a [4, 8] fp32 result (the last axis reduced)
  const one = (op: { type: string; [k: string]: unknown }, run: Record<string, unknown> = {}) => est(model([pre([4, 8, 16]), op]), run);

  test('sum and mean keep nothing (torch 1.13 mean keeps its input); amax and logsumexp keep input and result', () => {
    assert.equal(one({ type: 'sum', axis: -1 }).forward_saved, 0);
    assert.equal(one({ type: 'mean', axis: [1, 2] }).forward_saved, 0);
    assert.equal(one({ type: 'mean', axis: -1 }, { pytorch: '1.13' }).forward_saved, A);
    assert.equal(one({ type: 'amax', axis: -1 }).forward_saved, A + R);
    assert.equal(one({ type: 'logsumexp', axis: -1 }).forward_saved, A + R);
    // torch.max(x, dim).values keeps int64 indices of the result's shape.
    assert.equal(one({ type: 'max', axis: -1 }).forward_saved, 4 * 8 * 8);
    assert.equal(one({ type: 'softmax' }).forward_saved, A);
    assert.equal(one({ type: 'log_softmax', axis: 1 }).forward_saved, A);
  });

  test('keepdim keeps the reduced axes as 1; no axis reduces everything', () => {
    const keep = est(model([pre([4, 8, 16]), { type: 'sum', axis: 1, keepdim: true }, { type: 'linear', out: 2 }]));
    // The head keeps the reduced [4, 1, 16] (256 B) for dW.
    assert.deepEqual(keep.saved_items.map((i) => [i.what, i.shape.join('x'), i.bytes]), [['sum', '4x1x16', 4 * 16 * 4]]);
    const drop = est(model([pre([4, 8, 16]), { type: 'sum', axis: 1 }, { type: 'linear', out: 2 }]));
    assert.deepEqual(drop.saved_items.map((i) => i.shape.join('x')), ['4x16']);
    const m = model([pre([4, 8, 16]), { type: 'sum' }]); // a scalar: the loss itself
    assert.equal(est(m).forward_saved, 0);
    assert.throws(() => one({ type: 'sum', axis: 3 }), { code: 'E_SHAPE' });
  });

  test('logsumexp backward: (x - result).exp() and its product with the gradient, both input-sized', () => {
    // P and the result R saved, dR from the mean loss, dP new, two input-sized temporaries.
    const r = sim(model([pre([4, 8, 16]), { type: 'logsumexp', axis: -1 }]));
    assert.equal(r.first.bytes, A + R + R + A + 2 * A + 4); // + the 0-dim loss, held until backward returns
  });
}
