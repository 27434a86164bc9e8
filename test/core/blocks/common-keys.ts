/** The keys every block accepts: checkpoint, chunk, frozen, repeat, from. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Helpers from '../helpers.js';

/** Registered by ./all.test.ts, which runs every block type's cases in one process. */
export default function register(h: typeof Helpers): void {
  const { comp, est, model, pre, sim } = h;
  // pre -> mlp(16 -> 64 -> 16, gelu, no dropout) over [4, 10, 16].
  const X = 4 * 10 * 16, H = 4 * 10 * 64;
  const mlpInner = H * 4 + H * 4; // gelu input, fc2 input (the mlp's own saves, besides its input)
  const mlp = (extra: Record<string, unknown> = {}) => ({ type: 'mlp', hidden: 64, activation: 'gelu', ...extra });

  test('a checkpointed block saves only its input; backward recomputes one block at a time', () => {
    const plain = est(model([pre([4, 10, 16]), mlp({ repeat: 2 })]));
    assert.equal(plain.forward_saved, 2 * (X * 4 + mlpInner));
    const m = model([pre([4, 10, 16]), mlp({ repeat: 2, checkpoint: true })]);
    const e = est(m);
    // Each layer keeps its input only: pre's output and layer 1's output.
    assert.equal(e.forward_saved, 2 * X * 4);
    assert.equal(e.blocks[1]!.checkpointed, true);
    // Backward recomputes one layer at a time. The peak is in layer 1's recompute (layer 2 is done and
    // its input freed): layer 1's input, gelu input and fc2 input (its recomputed saves) and the gradients
    // of fc2's output and input. The recomputed fc2 output itself is dropped as the recompute returns
    // (torch.utils.checkpoint keeps only what the saved-tensor hooks asked for; measured, see liveness.test.ts).
    const r = sim(m);
    assert.equal(r.first.phase, 'recompute');
    assert.equal(r.first.saved, X * 4 + mlpInner);
    assert.equal(r.first.grads, X * 4 + H * 4);
    // + the 0-dim loss (4 B), held by the caller until backward returns
    assert.equal(r.first.bytes, X * 4 + mlpInner + X * 4 + H * 4 + 4);
    // Without checkpointing both layers' saves are alive at the first backward op.
    assert.equal(sim(model([pre([4, 10, 16]), mlp({ repeat: 2 })])).first.saved, 2 * (X * 4 + mlpInner));
    // The run-wide switch, by name or for all blocks.
    assert.equal(est(model([pre([4, 10, 16]), mlp({ name: 'ffn', repeat: 2 })]), { checkpointing: ['ffn'] }).forward_saved, 2 * X * 4);
    assert.equal(est(model([pre([4, 10, 16]), mlp({ repeat: 2 })]), { checkpointing: true }).forward_saved, 2 * X * 4);
    assert.throws(() => est(m, { checkpointing: ['nope'] }), { code: 'E_CONFIG' });
  });

  // Chunking: [batch * tokens, 10, 16] processed `size` tokens at a time (seed 003's ASV chunking).
  const chunked = (chunk?: { dim: string; size: number; checkpoint?: boolean }) =>
    model([pre(['batch * tokens', 10, 16]), { ...mlp(), input: ['batch * tokens', 10, 16], ...(chunk ? { chunk } : {}) }], { tokens: 8 });

  test('chunking without checkpoint keeps the saved bytes of the unchunked block (the concat saves nothing)', () => {
    const Y = 2 * 8 * 10; // rows
    const whole = est(chunked(), { batch_size: 2 });
    const parts = est(chunked({ dim: 'tokens', size: 2 }), { batch_size: 2 });
    assert.equal(whole.forward_saved, Y * 16 * 4 + Y * 64 * 4 * 2);
    assert.equal(parts.forward_saved, whole.forward_saved);
    assert.equal(parts.blocks[1]!.chunks, 4);
    assert.ok(parts.notes.some((n) => /does not shrink saved activations/.test(n)));
  });

  test('chunk.checkpoint: true saves only the chunk inputs (views of the block input)', () => {
    const Y = 2 * 8 * 10;
    const e = est(chunked({ dim: 'tokens', size: 2, checkpoint: true }), { batch_size: 2 });
    assert.equal(e.forward_saved, Y * 16 * 4);
    // Uneven chunks: 8 tokens in 3s -> 3 chunks.
    assert.equal(est(chunked({ dim: 'tokens', size: 3 }), { batch_size: 2 }).blocks[1]!.chunks, 3);
    assert.throws(() => est(chunked({ dim: 'nope', size: 2 }), { batch_size: 2 }), { code: 'E_UNDECLARED_SYMBOL' });
  });

  test('a frozen block has no gradients or optimizer state, but still saves what passing the gradient on needs', () => {
    const Ppre = 16 * 16 + 16, Pmlp = 16 * 64 + 64 + 64 * 16 + 16;
    const e = est(model([pre([4, 10, 16]), mlp({ frozen: true })]), { optimizer: 'adamw' });
    // pre trains, so the gradient must flow back through the frozen mlp: its GELU keeps its input
    // (dGELU/dx needs it); its linears keep only their weights (dX = dY W), which are parameters.
    assert.equal(e.forward_saved, H * 4);
    assert.ok(e.notes.some((n) => /frozen .*still saves its activations/.test(n)));
    // Under torch.no_grad() (no_grad: true) the mlp saves nothing; a trainable head after it keeps its
    // input for dW. Neither pre nor the mlp gets a gradient (the graph starts after the no_grad part):
    // only the head's parameters count as trainable (gradients, optimizer state).
    const ng = est(model([pre([4, 10, 16]), mlp({ no_grad: true }), { type: 'linear', out: 4 }]), { optimizer: 'adamw' });
    assert.equal(ng.forward_saved, X * 4);
    assert.deepEqual(ng.params, { total: Ppre + Pmlp + 16 * 4 + 4, trainable: 16 * 4 + 4, frozen: Ppre + Pmlp });
    assert.deepEqual(e.params, { total: Ppre + Pmlp, trainable: Ppre, frozen: Pmlp });
    assert.equal(comp(e, 'weights'), (Ppre + Pmlp) * 4);
    const opt = e.phases.find((p) => p.phase === 'optimizer step' && p.step === 'steady')!;
    // weights + input batch + grads (pre only) + m, v (pre only) + foreach sqrt(v) (pre only).
    assert.equal(opt.allocated, (Ppre + Pmlp) * 4 + X * 4 + Ppre * 4 + 2 * Ppre * 4 + Ppre * 4);
    // A frozen feature extractor in front of a trainable head: the head still saves its input.
    const fe = est(model([{ ...pre([4, 10, 16]), frozen: true }, { type: 'linear', out: 4 }]));
    // The head's weight trains, so its linear keeps its (frozen-produced) input for dW.
    assert.equal(fe.forward_saved, X * 4);
    assert.equal(fe.params.trainable, 16 * 4 + 4);
  });

  test('from: a named earlier output; from: data a fresh input', () => {
    const m = model([
      pre([4, 10, 16]),
      { type: 'linear', name: 'a', out: 8 },
      { type: 'linear', name: 'b', from: 'pre', out: 8 },
      { type: 'linear', name: 'c', from: 'data', input: [4, 3], out: 8 },
    ]);
    const e = est(m);
    assert.equal(e.blocks[2]!.params, 16 * 8 + 8);
    assert.equal(e.blocks[3]!.params, 3 * 8 + 8);
    // a and b both read pre's output: one storage, saved once.
    assert.equal(e.forward_saved, X * 4);
    assert.throws(() => est(model([pre([4, 10, 16]), { type: 'linear', from: 'later', out: 2 }])), { code: 'E_CONFIG' });
  });
}
