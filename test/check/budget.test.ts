import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  checkBudget, diffSettings, normalizeRun, parseHeadroom, resolveBudget, MemplanError,
  type Estimate, type Settings,
} from '../../src/index.js';

/** Just the fields a budget check reads: a card, a device total and the components. */
function fakeEstimate(deviceTotal: number, capacity: number): Estimate {
  return {
    device_total: deviceTotal,
    gpu: { id: 'card', name: 'Some Card', capacity, context: 0 },
    components: [
      { key: 'weights', name: 'weights', bytes: 10, formula: '', level: 'allocated' },
      { key: 'saved_activations', name: 'saved activations', bytes: 90, formula: '', level: 'allocated' },
    ],
  } as unknown as Estimate;
}

const isCode = (code: string) => (e: unknown) => e instanceof MemplanError && e.code === code;

describe('checkBudget', () => {
  const tenPct = { headroom: { fraction: 0.1 }, level: 'error' as const };

  test('exactly at the budget passes; one byte over fails', () => {
    // capacity 1000, 10% headroom -> 100 B required, 900 B budget.
    const at = checkBudget(fakeEstimate(900, 1000), tenPct);
    assert.equal(at.status, 'PASS');
    assert.equal(at.headroom_required, 100);
    assert.equal(at.budget, 900);
    assert.equal(at.margin, 0);
    assert.equal(at.free, 100);
    const over = checkBudget(fakeEstimate(901, 1000), tenPct);
    assert.equal(over.status, 'FAIL');
    assert.equal(over.margin, -1);
    assert.equal(over.free, 99);
    assert.match(over.message, /short of the required headroom 10%/);
  });

  test('over the card itself says so', () => {
    const r = checkBudget(fakeEstimate(1001, 1000), tenPct);
    assert.equal(r.status, 'FAIL');
    assert.equal(r.free, -1);
    assert.match(r.message, /over the card by 1 B/);
  });

  test('a percentage of the card is rounded up to whole bytes', () => {
    // 10% of 1001 B is 100.1 B: the budget keeps 101 B free.
    const r = checkBudget(fakeEstimate(900, 1001), tenPct);
    assert.equal(r.headroom_required, 101);
    assert.equal(r.budget, 900);
  });

  test('byte headroom, and the levels', () => {
    const spec = { headroom: { bytes: 300 } };
    assert.equal(checkBudget(fakeEstimate(700, 1000), { ...spec, level: 'error' }).status, 'PASS');
    assert.equal(checkBudget(fakeEstimate(701, 1000), { ...spec, level: 'error' }).status, 'FAIL');
    assert.equal(checkBudget(fakeEstimate(701, 1000), { ...spec, level: 'warn' }).status, 'WARN');
    const off = checkBudget(fakeEstimate(5000, 1000), { ...spec, level: 'off' });
    assert.equal(off.status, 'OFF');
    assert.equal(off.margin, 700 - 5000);
  });

  test('names the largest component', () => {
    assert.deepEqual(checkBudget(fakeEstimate(100, 1000), tenPct).largest, { key: 'saved_activations', name: 'saved activations', bytes: 90 });
  });

  test('an estimate without a card cannot be judged', () => {
    const est = { ...fakeEstimate(1, 1), gpu: undefined } as unknown as Estimate;
    assert.throws(() => checkBudget(est, tenPct), isCode('E_CONFIG'));
  });
});

describe('parseHeadroom', () => {
  test('sizes, percentages and byte counts', () => {
    assert.deepEqual(parseHeadroom('2GiB', 'x'), { bytes: 2 * 1024 * 1024 * 1024 });
    assert.deepEqual(parseHeadroom('1.5 GB', 'x'), { bytes: 1_500_000_000 });
    assert.deepEqual(parseHeadroom('10%', 'x'), { fraction: 0.1 });
    assert.deepEqual(parseHeadroom(1048576, 'x'), { bytes: 1048576 });
    assert.deepEqual(parseHeadroom(0, 'x'), { bytes: 0 });
  });

  test('a bare fraction is refused with a hint to write a percentage', () => {
    assert.throws(
      () => parseHeadroom(0.1, 'budget.headroom'),
      (e: unknown) => e instanceof MemplanError && e.code === 'E_CONFIG' && e.path === 'budget.headroom' && /"10%"/.test(e.hint ?? ''),
    );
  });

  test('100% or more, and words, are refused', () => {
    assert.throws(() => parseHeadroom('100%', 'x'), isCode('E_CONFIG'));
    assert.throws(() => parseHeadroom('plenty', 'x'), isCode('E_OPTION'));
  });
});

describe('resolveBudget', () => {
  const run = (raw: Record<string, unknown>) => normalizeRun({ model: 'model.yaml', ...raw });

  test('the config budget, with defaults for what it leaves out', () => {
    const b = resolveBudget(run({ budget: { gpu: 'a100-80', headroom: '10%', level: 'warn' }, gpu: 't4' }));
    assert.deepEqual(b, { gpus: ['a100-80'], gpuPath: 'budget.gpu', spec: { headroom: { fraction: 0.1 }, level: 'warn', edge: 'high' } });
    const d = resolveBudget(run({ budget: { gpu: ['t4', 'l4'] } }));
    assert.deepEqual(d, { gpus: ['t4', 'l4'], gpuPath: 'budget.gpu', spec: { headroom: { bytes: 0 }, level: 'error', edge: 'high' } });
  });

  test('a budget without cards uses the config gpu', () => {
    const b = resolveBudget(run({ gpu: 'l4', budget: { headroom: '1GiB' } }));
    assert.deepEqual(b.gpus, ['l4']);
    assert.equal(b.gpuPath, 'gpu');
    assert.deepEqual(b.spec.headroom, { bytes: 1024 * 1024 * 1024 });
  });

  test('the command line replaces the config', () => {
    const b = resolveBudget(run({ budget: { gpu: 'a100-80', headroom: '10%', level: 'warn' } }), { gpu: ['t4'], headroom: { bytes: 5 }, level: 'off' });
    assert.deepEqual(b, { gpus: ['t4'], gpuPath: '--gpu', spec: { headroom: { bytes: 5 }, level: 'off', edge: 'high' } });
  });

  test('no budget and no card is an error, not a pass', () => {
    // A bare `gpu:` is what estimate uses; it is not a budget.
    assert.throws(() => resolveBudget(run({ gpu: 't4' })), (e: unknown) => e instanceof MemplanError && e.code === 'E_CONFIG' && e.path === 'budget');
    assert.throws(() => resolveBudget(run({ budget: { level: 'warn' } })), /names no card/);
  });

  test('a bad headroom in the config is located at budget.headroom', () => {
    assert.throws(() => resolveBudget(run({ budget: { gpu: 't4', headroom: 0.25 } })), (e: unknown) => e instanceof MemplanError && e.path === 'budget.headroom');
  });
});

test('diffSettings lists run settings, then dimensions, then the parameter count', () => {
  const a: Settings = { run: { batch_size: 48, precision: 'fp32' }, dims: { seq: 128, d_model: 256 }, params: 1000 };
  const b: Settings = { run: { batch_size: 64, precision: 'fp32', 'optimizer.impl': 'fused' }, dims: { seq: 256, d_model: 256 }, params: 1200 };
  assert.deepEqual(diffSettings(a, b), [
    { key: 'batch_size', from: 48, to: 64 },
    { key: 'optimizer.impl', from: undefined, to: 'fused' },
    { key: 'seq', from: 128, to: 256 },
    { key: 'params', from: 1000, to: 1200 },
  ]);
  assert.deepEqual(diffSettings(a, a), []);
});
