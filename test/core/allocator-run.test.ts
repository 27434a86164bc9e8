/**
 * The run's alloc/free sequence through the allocator, worked by hand: a 4 MiB weight and a 4 KiB
 * bias, a 1 MiB input batch, one 3 MiB activation, Adam state and foreach temporaries, three steps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRunEvents, replay, type StepPlan } from '../../src/core/allocator/step.js';
import type { SimEvent } from '../../src/core/runtime/pytorch-sim.js';

const MiB = 1024 * 1024;
const KB4 = 4096;

const events: SimEvent[] = [
  { kind: 'alloc', id: 10, bytes: 3 * MiB, what: 'act', phase: 'forward', op: 0 },
  { kind: 'alloc', id: 20, bytes: 4 * MiB, what: 'param_grad', phase: 'backward', op: 1 },
  { kind: 'alloc', id: 21, bytes: KB4, what: 'param_grad', phase: 'backward', op: 1 },
  { kind: 'free', id: 10, bytes: 3 * MiB, what: 'act', phase: 'backward', op: 1 },
];

function plan(over: Partial<StepPlan> = {}): StepPlan {
  return {
    params: [{ bytes: 4 * MiB, trainable: true, elems: [1024, 1024] }, { bytes: KB4, trainable: true, elems: [1024] }],
    masterBytes: [], emaBytes: [], bufferBytes: [], ddpBucketBytes: [],
    inputBytes: [MiB],
    microBatchConstant: [],
    events,
    gradScale: 1,
    gradAccum: 1,
    setToNone: true,
    unreadGrads: 0,
    optimizer: {
      state: [[4 * MiB, 4 * MiB], [KB4, KB4]],
      schedule: [
        { kind: 'alloc', key: 0, bytes: 4 * MiB }, { kind: 'alloc', key: 1, bytes: KB4 },
        { kind: 'free', key: 0, bytes: 4 * MiB }, { kind: 'free', key: 1, bytes: KB4 },
      ],
    },
    steps: 3,
    ...over,
  };
}

test('segments, splits and the peak of three steps, by hand', () => {
  const r = replay(buildRunEvents(plan()), {});
  // Setup: W in a 20 MiB large-pool segment (S1), the bias in a 2 MiB small-pool segment (S2); the 1 MiB
  // input (<= 1 MiB: small pool) splits S2. Step 1: the 3 MiB activation and the 4 MiB dW split S1; m_W
  // takes 4 of S1's last 9 MiB; v_W the remaining 5 MiB whole (1 MiB would remain: no split in the
  // large pool); the foreach temporary (4 MiB) finds only S1's freed 3 MiB block: a new 20 MiB segment S3.
  assert.equal(r.reservedPeak, 20 * MiB + 2 * MiB + 20 * MiB);
  assert.equal(r.segments, 3);
  assert.equal(r.reservedPeakAt, 'step 1, optimizer step');
  // Peak of the tensor bytes, at the optimizer step: W 4 + input 1 + dW 4 + m, v 8 + temporary 4 MiB, and
  // five 4 KiB tensors (bias, its gradient, m, v, temporary).
  assert.equal(r.requestedPeak, 21 * MiB + 5 * KB4);
  // torch's allocated counts v_W's whole 5 MiB block.
  assert.equal(r.allocatedPeak, 22 * MiB + 5 * KB4);
  // At that moment: S1 has its 3 MiB hole, S3 16 MiB free, S2 2 MiB minus 1 MiB and five 4 KiB blocks.
  assert.equal(r.atPeak.reserved, 42 * MiB);
  assert.equal(r.atPeak.cachedFree, 3 * MiB + 16 * MiB + (MiB - 5 * KB4));
  assert.equal(r.atPeak.largestFree, 16 * MiB);
  assert.equal(r.atPeak.fragmentation, 1 - (16 * MiB) / (20 * MiB - 5 * KB4));
  // Steps 2 and 3 reuse the cache: reserved stays where step 1 left it.
  assert.deepEqual(r.reservedByStep, [42 * MiB, 42 * MiB, 42 * MiB]);
});

test('zero_grad(set_to_none=False): gradients stay, and the next backward adds temporaries into them', () => {
  const r = replay(buildRunEvents(plan({ setToNone: false })), {});
  // Step 2's micro-batch: W, bias, input, m and v, both gradients resident, the activation, and dW and db again as
  // temporaries before they are added into .grad.
  assert.equal(r.requestedPeak, 4 * MiB + KB4 + MiB + (8 * MiB + 2 * KB4) + (4 * MiB + KB4) + 3 * MiB + (4 * MiB + KB4));
});

test('accumulation: later micro-batches add into the resident gradients', () => {
  const r = replay(buildRunEvents(plan({ gradAccum: 4 })), {});
  // Step 1, micro-batch 2: W, bias, input, dW and db resident, the activation, dW and db temporaries (no state yet);
  // later steps add m and v: the steady micro-batch 2 is the peak.
  assert.equal(r.requestedPeak, 4 * MiB + KB4 + MiB + (8 * MiB + 2 * KB4) + (4 * MiB + KB4) + 3 * MiB + (4 * MiB + KB4));
});
