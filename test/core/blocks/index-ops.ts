import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Helpers from '../helpers.js';
import { assemble } from '../../../src/core/model.js';
import { simulatePytorch } from '../../../src/core/runtime/pytorch-sim.js';
import { deviceRules } from '../../../src/core/runtime/pytorch-ops.js';

/** Registered by ./all.test.ts. Slices, index_select, gather, index_add, segment_sum, by hand. */
export default function register(h: typeof Helpers): void {
  const { est, model, pre, runCfg, sim } = h;
  const A = 4 * 8 * 16 * 4;

  test('select (the CLS token) is a view: the head keeps the whole sequence alive through it', () => {
    const m = model([pre([4, 8, 16]), { type: 'select', axis: 1, index: 0 }, { type: 'linear', out: 3 }]);
    assert.equal(est(m).forward_saved, A);
    const sl = model([pre([4, 8, 16]), { type: 'slice', axis: 1, start: 2, end: 6 }, { type: 'linear', out: 3 }]);
    assert.equal(est(sl).forward_saved, A);
    assert.throws(() => est(model([pre([4, 8, 16]), { type: 'slice', axis: 1, start: 6, end: 12 }])), { code: 'E_SHAPE' });
    // pre -> x[:, 0:1] -> mean loss. The slice's gradient is input-sized (dP, zeros around the slice);
    // torch 1.13's slice backward zero-fills one more input-sized tensor beside it: 2 A at the slice.
    const thin = model([pre([4, 8, 16]), { type: 'slice', axis: 1, start: 0, end: 1 }]);
    const at = (pytorch: '2' | '1.13') => simulatePytorch(assemble(thin, runCfg({ pytorch })).trace, deviceRules('cuda', pytorch), 2).first;
    assert.equal(at('2').bytes, sim(thin).first.bytes);
    assert.equal(at('1.13').bytes, 2 * A + 4); // + the 0-dim loss, held until backward returns
    assert.match(at('1.13').at, /slice$/);
    assert.ok(at('2').bytes < 2 * A);
  });

  const idx = (shape: number[], max: number) => ({ type: 'input', name: 'idx', shape, dtype: 'i64', max });

  test('index_select keeps only its index (part of the batch); gather keeps its input too', () => {
    const sel = model([pre([4, 8, 16]), idx([5], 8), { type: 'index_select', from: ['pre', 'idx'], axis: 1 }]);
    assert.equal(est(sel).forward_saved, 0);
    const ga = model([pre([4, 8, 16]), idx([4, 3, 16], 8), { type: 'gather', from: ['pre', 'idx'], axis: 1 }]);
    assert.equal(est(ga).forward_saved, A);
    assert.equal(est(ga).components.find((c) => c.key === 'input_batch')!.bytes, 4 * 8 * 16 * 4 + 4 * 3 * 16 * 8);
  });

  test('index_add onto zeros keeps the index and the source; segment_sum (scatter_add) the index only', () => {
    const src = { type: 'linear', name: 'src', input: [32, 16], out: 16 };
    const ia = model([src, idx([32], 6), { type: 'index_add', from: ['src', 'idx'], size: [6, 16], axis: 0 }]);
    assert.equal(est(ia).forward_saved, 32 * 16 * 4);
    const ss = model([src, idx([32], 6), { type: 'segment_sum', from: ['src', 'idx'], segments: 6 }]);
    assert.equal(est(ss).forward_saved, 0);
    const sa = model([src, idx([32, 16], 6), { type: 'scatter_add', from: ['src', 'idx'], size: [6, 16], axis: 0 }]);
    assert.equal(est(sa).forward_saved, 0);
  });
}
