import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Helpers from '../helpers.js';

/** Registered by ./all.test.ts. Groups: repeat, residual `from: input`, checkpoint, chunk, frozen, no_grad, tie. */
export default function register(h: typeof Helpers): void {
  const { est, model, pre } = h;
  const A = 4 * 8 * 16 * 4;
  // A residual block: h = relu(linear(x)); out = h + x.
  const res = (extra: Record<string, unknown> = {}) => ({
    type: 'group',
    name: 'res',
    repeat: 2,
    blocks: [{ type: 'linear', name: 'fc', out: 16 }, { type: 'activation', name: 'act', kind: 'relu' }, { type: 'add', from: ['act', 'input'] }],
    ...extra,
  });

  test('a repeated residual group: each repeat keeps its input (for dW) and its relu output', () => {
    const e = est(model([pre([4, 8, 16]), res()]));
    assert.equal(e.blocks[1]!.params, 2 * (16 * 16 + 16));
    assert.equal(e.forward_saved, 2 * (A + A));
  });

  test('checkpoint: one segment per repeat of the whole group keeps only its input', () => {
    const e = est(model([pre([4, 8, 16]), res({ checkpoint: true })]));
    assert.equal(e.forward_saved, 2 * A);
    assert.equal(e.blocks[1]!.checkpointed, true);
  });

  test('frozen group: no gradients for its weights, its relu outputs still kept; no_grad: nothing kept', () => {
    const fr = est(model([pre([4, 8, 16]), res({ frozen: true })]));
    // A frozen linear keeps only its weight (dX = dY W); relu keeps its output.
    assert.equal(fr.forward_saved, 2 * A);
    assert.equal(fr.params.trainable, 16 * 16 + 16);
    const ng = est(model([pre([4, 8, 16]), res({ no_grad: true }), { type: 'linear', out: 4 }]));
    assert.equal(ng.forward_saved, A); // only the head's input
    assert.equal(ng.params.trainable, 16 * 4 + 4);
  });

  test('chunk over a group: per-chunk checkpoint keeps only the chunk inputs', () => {
    const dims = { tokens: 8 };
    const chunked = (checkpoint: boolean) =>
      model([pre(['batch * tokens', 16]), res({ input: ['batch * tokens', 16], repeat: 2, chunk: { dim: 'tokens', size: 2, checkpoint } })], dims);
    const Y = 4 * 8 * 16 * 4; // batch 4 x tokens 8 rows of 16
    const plain = est(chunked(false), { batch_size: 4 });
    assert.equal(plain.blocks[1]!.chunks, 4);
    assert.equal(plain.forward_saved, 2 * (Y + Y)); // as unchunked: every chunk keeps what its backward needs
    assert.equal(est(chunked(true), { batch_size: 4 }).forward_saved, Y); // the four chunk views of pre's output
  });

  test('names are scoped: a block outside cannot read a block inside; from: input needs a group', () => {
    assert.throws(() => est(model([pre([4, 8, 16]), res(), { type: 'linear', from: 'fc', out: 2 }])), { code: 'E_CONFIG' });
    assert.throws(() => est(model([pre([4, 8, 16]), { type: 'add', from: ['pre', 'input'] }])), { code: 'E_CONFIG' });
    // The group's own name is its output.
    assert.equal(est(model([pre([4, 8, 16]), res(), { type: 'linear', from: 'res', out: 2 }])).blocks[2]!.params, 16 * 2 + 2);
  });

  test('tie: a language-model head shares the embedding table: one parameter, counted once', () => {
    const m = model([
      { type: 'embedding', name: 'embed', input: ['batch', 8], vocab: 50, dim: 16 },
      { type: 'linear', name: 'head', out: 50, bias: false, tie: 'embed' },
      { type: 'loss', kind: 'cross_entropy' },
    ]);
    const e = est(m, { optimizer: 'adamw' });
    assert.deepEqual(e.params, { total: 50 * 16, trainable: 50 * 16, frozen: 0 });
    assert.equal(e.blocks[1]!.params, 0);
    assert.throws(() => est(model([pre([4, 8, 16]), { type: 'linear', out: 4, tie: 'nope' }])), { code: 'E_CONFIG' });
  });
}
