import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Helpers from '../helpers.js';

/** Registered by ./all.test.ts, which runs every block type's cases in one process. */
export default function register(h: typeof Helpers): void {
  const { est, model, paramsOf, pre, saved } = h;
  const E = 4 * 10 * 16;

  test('activation: gelu/silu save their input, relu/tanh/sigmoid their output; no parameters', () => {
    for (const kind of ['gelu', 'silu', 'relu', 'tanh', 'sigmoid']) {
      const m = model([pre([4, 10, 16]), { type: 'activation', kind }]);
      assert.equal(paramsOf(m, 1), 0);
      const s = saved(m);
      assert.equal(s.fp32, E * 4, kind);
      assert.equal(s.bf16, E * 2 + E * 2, kind);
      const items = est(m).saved_items;
      assert.equal(items.length, 1);
      // Which tensor: the linear's output (input of the activation) or the activation's own output.
      assert.equal(items[0]!.what, kind === 'gelu' || kind === 'silu' ? 'linear' : kind, kind);
    }
  });

  test('activation on the data batch saves nothing (no grad flows)', () => {
    assert.equal(est(model([{ type: 'activation', input: [4, 16], kind: 'relu' }])).forward_saved, 0);
  });
}
