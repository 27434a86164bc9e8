/** The per-step terms: bytes by hand, and each term reads only the inputs it declares. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inputsOf, TERMS, type TermInputs, type TermKey } from '../../src/core/terms.js';

const base: TermInputs = {
  P: 1000, Pf: 200, qBytes: 0, pBytes: 4, gatherB: 4, stateB: 4, emaB: 4, precision: 'fp32', N: 4, shardParams: 1, shardGrads: 1, shardState: 1,
  ddp: true, bucketView: false, emaOnGpu: true, largestUnitParams: 300, prefetch: 1,
  opt: { stateBytes: 8000, stateFormula: 'm and v', stepTempBytes: 4000, stepTempFormula: 'sqrt(v)' },
};

test('term bytes by hand (DDP over 4 GPUs, fp32, AdamW-like optimizer cost)', () => {
  const b = (k: TermKey, over: Partial<TermInputs> = {}) => TERMS[k].bytes({ ...base, ...over });
  assert.equal(b('weights'), (1000 + 200) * 4);
  assert.equal(b('master_weights'), 0);
  assert.equal(b('master_weights', { precision: 'fp16' }), 1000 * 4);
  assert.equal(b('gradients'), 1000 * 4);
  assert.equal(b('optimizer_state'), 8000);
  assert.equal(b('optimizer_temps'), 4000);
  assert.equal(b('ema'), 1000 * 4);
  assert.equal(b('ddp_buckets'), 1000 * 4); // a second copy of the gradients
  assert.equal(b('ddp_buckets', { bucketView: true }), 0);
  assert.equal(b('gather_buffers'), 0); // nothing sharded
  // ZeRO-3 over 4: weights, gradients, state and EMA split 4 ways; one 300-param unit + 1 prefetched.
  const z3 = { shardParams: 4, shardGrads: 4, shardState: 4, ddp: false };
  assert.equal(b('weights', z3), (1200 * 4) / 4);
  assert.equal(b('gradients', z3), (1000 * 4) / 4);
  assert.equal(b('optimizer_state', z3), 8000 / 4);
  assert.equal(b('ema', z3), (1000 * 4) / 4);
  assert.equal(b('gather_buffers', z3), 300 * 4 * 2);
  // FSDP MixedPrecision(param_dtype=bf16): fp32 shards stored, the gathered unit in 2 bytes.
  assert.equal(b('weights', { ...z3, gatherB: 2 }), (1200 * 4) / 4);
  assert.equal(b('gather_buffers', { ...z3, gatherB: 2 }), 300 * 2 * 2);
});

test('each term reads only the inputs it declares', () => {
  // Perturb every undeclared input: the bytes must not move.
  const perturbed: TermInputs = {
    P: 7, Pf: 3, qBytes: 5, pBytes: 2, gatherB: 2, stateB: 2, emaB: 2, precision: 'fp16', N: 8, shardParams: 2, shardGrads: 2, shardState: 2,
    ddp: false, bucketView: true, emaOnGpu: false, largestUnitParams: 5, prefetch: 3,
    opt: { stateBytes: 1, stateFormula: '', stepTempBytes: 1, stepTempFormula: '' },
  };
  for (const [key, term] of Object.entries(TERMS)) {
    const mixed = { ...perturbed } as Record<string, unknown>;
    for (const k of term.inputs) mixed[k] = base[k];
    assert.equal(term.bytes(mixed as unknown as TermInputs), term.bytes(base), `${key} reads an undeclared input`);
  }
});

test('inputsOf names the declared inputs with their values', () => {
  assert.equal(inputsOf(TERMS.weights, base), 'P=1,000, Pf=200, pBytes=4, qBytes=0, shardParams=1');
  assert.equal(inputsOf(TERMS.optimizer_state, base), 'opt=(state 8,000 B, step temporaries 4,000 B), shardState=1');
});
