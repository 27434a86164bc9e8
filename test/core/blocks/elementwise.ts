import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Helpers from '../helpers.js';

/** Registered by ./all.test.ts. Elementwise op blocks: saved tensors and backward temporaries by hand. */
export default function register(h: typeof Helpers): void {
  const { est, model, pre, sim } = h;
  const N = 4 * 8 * 16; // elements of pre's output [4, 8, 16]
  const A = N * 4; // its bytes in fp32
  const L = 4; // the 0-dim loss, held by the caller until backward returns

  test('exp keeps its output, log its input, neg nothing (pre -> op -> mean loss)', () => {
    const one = (op: { type: string; [k: string]: unknown }) => est(model([pre([4, 8, 16]), op])).forward_saved;
    assert.equal(one({ type: 'exp' }), A);
    assert.equal(one({ type: 'log' }), A);
    assert.equal(one({ type: 'neg' }), 0);
    assert.equal(one({ type: 'pow', exponent: 3 }), A);
    assert.equal(one({ type: 'clamp', min: 0 }), A);
    assert.equal(one({ type: 'add', value: 1 }), 0);
    // x * 0.5 keeps nothing on CUDA (an 8-byte double on the CPU).
    assert.equal(one({ type: 'mul', value: 0.5 }), 0);
    assert.equal(est(model([pre([4, 8, 16]), { type: 'mul', value: 0.5 }]), { device: 'cpu' }).forward_saved, 8);
  });

  test('sqrt: the backward peak holds the output, its gradient, the input gradient and one temporary', () => {
    // Backward of sqrt: grad / (2 * result): the output S (saved), dS, dP (new) and 2 * S (temporary), + L.
    const r = sim(model([pre([4, 8, 16]), { type: 'sqrt' }]));
    assert.equal(r.first.phase, 'backward');
    assert.equal(r.first.bytes, 4 * A + L);
    assert.match(r.first.at, /sqrt/);
    // pow has two input-sized temporaries (self.pow(e - 1), then * e), clamp with both bounds two bool masks.
    assert.equal(sim(model([pre([4, 8, 16]), { type: 'pow', exponent: 2 }])).first.bytes, A + A + A + 2 * A + L);
    assert.equal(sim(model([pre([4, 8, 16]), { type: 'clamp', min: -1, max: 1 }])).first.bytes, 3 * A + 2 * N + L);
  });

  // pre -> a = linear(pre), b = linear(pre) -> a (op) b -> mean loss.
  const pair = (op: { type: string; [k: string]: unknown }) =>
    model([pre([4, 8, 16]), { type: 'linear', name: 'a', out: 16 }, { type: 'linear', name: 'b', from: 'pre', out: 16 }, { ...op, from: ['a', 'b'] }]);

  test('add saves nothing and hands both operands its output gradient (no new tensor)', () => {
    const e = est(pair({ type: 'add' }));
    assert.equal(e.forward_saved, A); // pre's output, kept by both linears for dW
    // Backward: dC from the loss; add passes it to a and b as it is; b's linear makes dP; a's linear adds
    // a second dP into it (a temporary): P + dC + dP + temp = 4 A, + L.
    assert.equal(sim(pair({ type: 'add' })).first.bytes, 4 * A + L);
  });

  test('mul keeps both operands; each gets a new gradient', () => {
    assert.equal(est(pair({ type: 'mul' })).forward_saved, 3 * A); // P, a, b
    // Backward of mul: P, a, b (saved), dC, da, db = 6 A, + L.
    const r = sim(pair({ type: 'mul' }));
    assert.equal(r.first.bytes, 6 * A + L);
    assert.match(r.first.at, / mul$/);
  });

  test('div keeps both when the divisor needs grad, and its backward two output-sized temporaries', () => {
    assert.equal(est(pair({ type: 'div' })).forward_saved, 3 * A);
    // P, a, b, dC, da, db and the two temporaries of -grad * a / b / b = 8 A, + L.
    assert.equal(sim(pair({ type: 'div' })).first.bytes, 8 * A + L);
  });

  test('broadcast: a [4, 8, 16] times a per-row scale [4, 8, 1] sums a full-size product down', () => {
    const m = model([
      pre([4, 8, 16]),
      { type: 'linear', name: 's', from: 'pre', out: 1 },
      { type: 'mul', from: ['pre', 's'] },
    ]);
    const S = 4 * 8 * 1 * 4;
    // mul keeps both operands: pre's output (also kept by s's linear) and s.
    assert.equal(est(m).forward_saved, A + S);
    // Backward of mul: dC (A), dpre (A, new), ds (S) and one full-size temporary (grad * pre, summed to [4, 8, 1]).
    const r = sim(m);
    assert.equal(r.first.bytes, A + S + A + A + S + A + L);
  });

  test('where keeps its condition; masked_fill its mask (bool inputs are part of the batch)', () => {
    const m = model([
      pre([4, 8, 16]),
      { type: 'input', name: 'mask', shape: [4, 8, 16], dtype: 'bool' },
      { type: 'masked_fill', from: ['pre', 'mask'], value: -1e9 },
    ]);
    const e = est(m);
    assert.equal(e.forward_saved, 0); // the mask is an input: counted in the batch, not as an activation
    assert.equal(e.components.find((c) => c.key === 'input_batch')!.bytes, N * 4 + N * 1);
    assert.throws(() => est(model([pre([4, 8, 16]), { type: 'where', from: ['pre'] }])), { code: 'E_SHAPE' });
    assert.throws(() => est(model([pre([4, 8, 16]), { type: 'sub' }])), { code: 'E_SCHEMA' });
  });
}
