import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Helpers from '../helpers.js';

/** Registered by ./all.test.ts. LlamaMLP: down(silu(gate(x)) * up(x)). */
export default function register(h: typeof Helpers): void {
  const { est, model, paramsOf, pre } = h;
  test('gated_mlp: 3 x d x hidden parameters; saves x, the gate output, both factors and the product', () => {
    const m = model([pre([4, 10, 16]), { type: 'gated_mlp', hidden: 32 }]);
    assert.equal(paramsOf(m, 1), 3 * 16 * 32);
    const X = 4 * 10 * 16 * 4, Hd = 4 * 10 * 32 * 4;
    // x (gate_proj and up_proj), gate output (silu's input), silu output and up output (the product's
    // factors), the product (down_proj's input).
    assert.equal(est(m).forward_saved, X + 4 * Hd);
    assert.equal(paramsOf(model([pre([4, 10, 16]), { type: 'gated_mlp', hidden: 32, bias: true }]), 1), 3 * 16 * 32 + 32 + 32 + 16);
  });
}
