import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Helpers from '../helpers.js';

/** Registered by ./all.test.ts. input, buffer, parameter, matmul, by hand. */
export default function register(h: typeof Helpers): void {
  const { comp, est, model, pre } = h;
  const A = 4 * 8 * 16 * 4;

  test('input: data of the batch; buffer: persistent, no gradient; parameter: trains', () => {
    const m = model([
      { type: 'input', name: 'x', shape: [4, 8, 16] },
      { type: 'buffer', name: 'grid', shape: [16] },
      { type: 'parameter', name: 'scale', shape: [16] },
      { type: 'mul', from: ['x', 'scale'] },
      { type: 'add', from: ['mul_3', 'grid'] },
    ]);
    const e = est(m, { optimizer: 'adamw' });
    assert.equal(comp(e, 'input_batch'), A);
    assert.equal(comp(e, 'buffers'), 16 * 4);
    assert.deepEqual(e.params, { total: 16, trainable: 16, frozen: 0 });
    // mul keeps x (for the parameter's gradient); x is the batch, so nothing new is saved.
    assert.equal(e.forward_saved, 0);
  });

  test('matmul of two activations keeps both; transpose_b multiplies by the transpose', () => {
    const m = model([pre([4, 8, 16]), { type: 'linear', name: 'k', out: 16 }, { type: 'matmul', from: ['pre', 'k'], transpose_b: true }]);
    const e = est(m);
    assert.equal(e.forward_saved, A + A); // pre's output (k's linear and the matmul) and k
    assert.throws(() => est(model([pre([4, 8, 16]), { type: 'matmul', from: ['pre', 'pre'] }])), { code: 'E_SHAPE' });
  });
}
