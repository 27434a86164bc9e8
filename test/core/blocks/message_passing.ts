import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Helpers from '../helpers.js';

/** Registered by ./all.test.ts, which runs every block type's cases in one process. */
export default function register(h: typeof Helpers): void {
  const { comp, est, model, paramsOf, pre, saved } = h;
  // 10 nodes with 8 features, 40 edges, hidden 8 (default d), silu.
  const N = 10, D = 8, E = 40;

  test('message_passing: parameters of the two message linears and the update linear', () => {
    const m = model([pre([N, D]), { type: 'message_passing', edges: E }]);
    assert.equal(paramsOf(m, 1), (2 * D * D + D) + (D * D + D) + (2 * D * D + D));
  });

  test('message_passing saves per-edge pairs and messages; gathers and scatter keep only the int64 indices (batch)', () => {
    const m = model([pre([N, D]), { type: 'message_passing', edges: E }]);
    const s = saved(m);
    const fp32 =
      E * 2 * D * 4 + //  msg1 input: concatenated endpoint features [40, 16]
      E * D * 4 + //      silu input [40, 8]
      E * D * 4 + //      msg2 input (silu output)
      N * 2 * D * 4 + //  update input: concat(h, aggregated) [10, 16]
      N * D * 4; //       silu input of the update
    assert.equal(s.fp32, fp32);
    // bf16: pre's cast of the batch, the same tensors in 2 bytes, and the bf16 weight copies the three
    // linears save (their inputs require grad): msg1 [2D, D], msg2 [D, D], update [2D, D].
    assert.equal(s.bf16, N * D * 2 + fp32 / 2 + (2 * D * D + D * D + 2 * D * D) * 2);
    // Indices are part of the batch: [40] int64 twice, plus pre's [10, 8] fp32 input.
    assert.equal(comp(est(m), 'input_batch'), 2 * E * 8 + N * D * 4);
  });

  test('message_passing: every layer of a stack reads one edge list (counted once in the batch)', () => {
    const m = model([pre([N, D]), { type: 'message_passing', edges: E, repeat: 3 }]);
    assert.equal(comp(est(m), 'input_batch'), 2 * E * 8 + N * D * 4);
  });

  test('message_passing: edge features, a 2-layer update MLP and index_add aggregation, by hand', () => {
    const F = 3; // edge features
    const m = model([pre([N, D]), { type: 'message_passing', edges: E, edge_dim: F, update_layers: 2, hidden: 12, aggregate: 'index_add' }]);
    const Hd = 12;
    assert.equal(paramsOf(m, 1), ((2 * D + F) * Hd + Hd) + (Hd * D + D) + (2 * D * Hd + Hd) + (Hd * D + D));
    const fp32 =
      E * (2 * D + F) * 4 + // msg1 input: endpoints and edge features [40, 19]
      E * Hd * 4 + //         silu input [40, 12]
      E * Hd * 4 + //         msg2 input
      E * D * 4 + //          index_add keeps its source: the messages [40, 8]
      N * 2 * D * 4 + //      update input [10, 16]
      N * Hd * 4 + //         silu input between the update layers [10, 12]
      N * Hd * 4 + //         update2 input
      N * D * 4; //           the last silu's input
    assert.equal(saved(m).fp32, fp32);
    // The edge features are part of the batch, once.
    assert.equal(comp(est(m), 'input_batch'), 2 * E * 8 + E * F * 4 + N * D * 4);
  });
}
