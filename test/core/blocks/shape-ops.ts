import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Helpers from '../helpers.js';

/** Registered by ./all.test.ts. Views, copies, concatenation, detach, by hand. */
export default function register(h: typeof Helpers): void {
  const { est, model, pre, sim } = h;
  const A = 4 * 8 * 16 * 4;

  test('transpose is a view; contiguous copies it, and the copy is what the next linear keeps', () => {
    const view = model([pre([4, 8, 16]), { type: 'transpose', dims: [1, 2] }, { type: 'linear', out: 4 }]);
    const copy = model([pre([4, 8, 16]), { type: 'transpose', dims: [1, 2] }, { type: 'contiguous' }, { type: 'linear', out: 4 }]);
    assert.equal(est(view).forward_saved, A); // pre's output itself, through the view
    assert.equal(est(copy).forward_saved, A); // the copy (pre's output is freed once copied)
    // The copy exists beside its source for one op: the forward holds 2 A there, the view never does.
    assert.equal(sim(copy).first.phase, 'backward');
    assert.ok(sim(copy).savedItems.some((i) => i.what === 'contiguous' && i.bytes === A));
    // contiguous of a contiguous tensor is no copy.
    assert.equal(est(model([pre([4, 8, 16]), { type: 'contiguous' }, { type: 'linear', out: 4 }])).forward_saved, A);
  });

  test('expand is free in forward; its consumer makes a full-size gradient before it is summed', () => {
    const m = model([
      pre([4, 8, 16]),
      { type: 'linear', name: 's', from: 'pre', out: 1 },
      { type: 'expand', shape: [4, 8, 16] },
      { type: 'mul', from: ['pre', 'expand_2'] },
    ]);
    const S = 4 * 8 * 4;
    assert.equal(est(m).forward_saved, A + S); // pre's output and s (through the view)
    // mul's backward: dC, dpre, the expanded view's full-size gradient (temporary) and ds.
    assert.equal(sim(m).first.bytes, A + S + A + A + A + S + 4); // + the 0-dim loss, held until backward returns
  });

  test('concat keeps nothing and hands each input a view of its gradient; stack adds an axis', () => {
    const cat = model([pre([4, 8, 16]), { type: 'linear', name: 'a', out: 16 }, { type: 'concat', from: ['pre', 'a'], axis: -1 }, { type: 'linear', out: 2 }]);
    // pre's output (a's linear) and the concatenation [4, 8, 32] (the last linear's input).
    assert.equal(est(cat).forward_saved, A + 2 * A);
    const st = model([pre([4, 8, 16]), { type: 'linear', name: 'a', out: 16 }, { type: 'stack', from: ['pre', 'a'], axis: 1 }, { type: 'linear', out: 2 }]);
    assert.equal(est(st).forward_saved, A + 2 * A);
    assert.throws(() => est(model([pre([4, 8, 16]), { type: 'concat' }])), { code: 'E_SHAPE' });
  });

  test('repeat_tensor and repeat_interleave make new tensors and keep nothing (1.13 keeps an index)', () => {
    const rt = model([pre([4, 8, 16]), { type: 'repeat_tensor', reps: [1, 2, 1] }, { type: 'linear', out: 2 }]);
    assert.equal(est(rt).forward_saved, 2 * A); // the linear keeps the [4, 16, 16] copy
    const ri = model([pre([4, 8, 16]), { type: 'repeat_interleave', repeats: 2, axis: 1 }, { type: 'linear', out: 2 }]);
    assert.equal(est(ri).forward_saved, 2 * A);
    assert.equal(est(ri, { pytorch: '1.13' }).forward_saved, 2 * A + 8 * 8);
  });

  test('detach cuts the graph: nothing before it trains', () => {
    const m = model([pre([4, 8, 16]), { type: 'detach' }, { type: 'linear', out: 4 }]);
    const e = est(m);
    assert.equal(e.params.trainable, 16 * 4 + 4);
    assert.equal(e.params.frozen, 16 * 16 + 16);
    assert.equal(e.forward_saved, A); // the head keeps its (detached) input for dW
  });
}
