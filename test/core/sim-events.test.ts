/**
 * The simulation's alloc/free event stream (what the allocator model and the step timeline read)
 * must tell the same story as its peaks: replaying it gives the micro-batch-1 peak, every id is
 * allocated once before it is freed, and at the end only parameter gradients remain.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../src/core/model.js';
import { simulatePytorch, type SimEvent } from '../../src/core/runtime/pytorch-sim.js';
import { CUDA_RULES, deviceRules } from '../../src/core/runtime/pytorch-ops.js';
import { model, runCfg } from './helpers.js';

function replay(events: SimEvent[]): { peak: number; end: number; endWhat: Set<string> } {
  const live = new Map<number, SimEvent>();
  let cur = 0;
  let peak = 0;
  for (const e of events) {
    if (e.kind === 'alloc') {
      assert.ok(!live.has(e.id), `id ${e.id} allocated twice`);
      live.set(e.id, e);
      cur += e.bytes;
      peak = Math.max(peak, cur);
    } else {
      const a = live.get(e.id);
      assert.ok(a, `id ${e.id} freed before it was allocated`);
      assert.equal(a.bytes, e.bytes, `id ${e.id} freed with a different size`);
      live.delete(e.id);
      cur -= e.bytes;
    }
  }
  return { peak, end: cur, endWhat: new Set([...live.values()].map((e) => e.what)) };
}

const encoder = model(
  [
    { type: 'embedding', name: 'embed', input: ['batch', 'seq'], vocab: 'vocab', dim: 'd' },
    { type: 'transformer_encoder', name: 'enc', repeat: 2, heads: 4, dropout: 0.1 },
    { type: 'linear', name: 'head', out: 'vocab' },
    { type: 'loss', kind: 'cross_entropy' },
  ],
  { seq: 64, d: 64, vocab: 500 },
);

for (const [label, raw, dev] of [
  ['fp32', {}, CUDA_RULES],
  ['bf16-mixed', { precision: 'bf16-mixed' }, CUDA_RULES],
  ['checkpointed, CPU rules', { checkpointing: true }, deviceRules('cpu', '2')],
] as const) {
  test(`events replay to the micro-batch 1 peak (${label})`, () => {
    const a = assemble(encoder, runCfg({ batch_size: 4, ...raw }));
    const r = simulatePytorch(a.trace, dev, encoder.blocks.length, { events: true });
    assert.ok(r.events && r.events.length > 100);
    const { peak, end, endWhat } = replay(r.events);
    assert.equal(peak, r.first.bytes + r.first.paramGrads);
    // Only the parameter gradients survive the micro-batch: their bytes are every trainable parameter's.
    const paramBytes = a.trace.params.filter((p) => p.requiresGrad).reduce((s, p) => s + p.shape.reduce((x, y) => x * y, 1) * 4, 0);
    assert.equal(end, paramBytes);
    assert.deepEqual([...endWhat], ['param_grad']);
    // Without events, the same numbers and no stream.
    const plain = simulatePytorch(a.trace, dev, encoder.blocks.length);
    assert.equal(plain.events, undefined);
    assert.equal(plain.first.bytes, r.first.bytes);
  });
}
