import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Helpers from '../helpers.js';

/** Registered by ./all.test.ts. Rotary cos/sin caches: buffers, no parameters, kept by the layers' products. */
export default function register(h: typeof Helpers): void {
  const { comp, est, model, pre } = h;
  const rope = { name: 'rope', type: 'rotary', from: 'pre', head_dim: 8 };
  const attn = (extra: Record<string, unknown> = {}) => ({ type: 'gqa_attention', from: ['pre', 'rope'], heads: 4, kv_heads: 4, head_dim: 8, ...extra });
  test('rotary: inv_freq and its original copy are buffers ([head_dim / 2] fp32 each); cos and sin are kept once for all layers', () => {
    const m = model([pre([2, 8, 32]), rope, attn({ repeat: 2 })]);
    const e = est(m);
    assert.equal(e.params.total, 32 * 32 + 32 + 2 * 4 * 32 * 32); // pre, the two layers' q, k, v, o; the rotary block has none
    assert.equal(comp(e, 'buffers'), 2 * 4 * 4);
    // Per layer as without rotary (x, q, k, v, out, logsumexp; q and k are now the rotated tensors of the
    // same size), plus the stacked cos/sin [2, 1, 8, 8] fp32 that q * cos and rotate_half(q) * sin keep.
    const plain = est(model([pre([2, 8, 32]), attn({ from: 'pre', repeat: 2 })])).forward_saved;
    assert.equal(e.forward_saved, plain + 2 * 8 * 8 * 4);
    assert.throws(() => est(model([pre([2, 8, 32]), { ...rope, head_dim: 7 }])), { code: 'E_SHAPE' });
    // cos and sin take the hidden states' type: bf16 weights give a bf16 [2, 1, 8, 8] (the fp32 one is cast).
    const bf16 = est(m, { precision: 'bf16' }).saved_items.filter((i) => i.scope === 'rope');
    assert.deepEqual(bf16.map((i) => [i.dtype, i.bytes]), [['bf16', 2 * 8 * 8 * 2]]);
  });
}
