// Estimator rules found by holding memplan to the independent PyTorch programs in bench/torch/programs/
// (docs/accuracy-programs.md). Each was isolated to one op with bench/torch/harness.py (1.13 and 2.13,
// CPU); every expected value below is worked out by hand from the shapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { estimate, normalizeRun, validateModel, type ModelDescriptor } from '../../src/index.js';
import { assemble, type RunConfig } from '../../src/core/model.js';
import { deviceRules, pytorchBackwardTemp, pytorchForwardTemp } from '../../src/core/runtime/pytorch-ops.js';
import type { OpRec } from '../../src/core/tracer.js';

const run = (extra: Record<string, unknown> = {}): RunConfig => normalizeRun({ model: 'inline', batch_size: 2, optimizer: 'sgd', device: 'cpu', ...extra });
const model = (blocks: unknown[], dims: Record<string, number> = {}): ModelDescriptor => validateModel({ name: 't', dims, blocks });
const CPU2 = deviceRules('cpu', '2');
const CPU113 = deviceRules('cpu', '1.13');

/** The traced ops of a model under a run, and the first op of a kind (optionally in a scope). */
function traced(m: ModelDescriptor, r: RunConfig) {
  const { trace } = assemble(m, r);
  const op = (kind: string, scope?: string): OpRec => trace.ops.find((o) => o.kind === kind && (scope === undefined || o.scope === scope))!;
  return { trace, op };
}

test('CPU conv forward: max(I + W, O) of oneDNN reorders plus its scratch (26,032 B on 2.x, 8,676 B on 1.13)', () => {
  // [2, 4, 8, 8] -> Conv2d(4, 8, 3, padding 1): I = 2*4*64*4 = 2,048, W = 8*4*9*4 = 1,152, O = 2*8*64*4 = 4,096.
  const grow = model([{ name: 'c', type: 'conv2d', input: ['batch', 4, 8, 8], out_channels: 8, kernel: 3, padding: 1, bias: false }]);
  const a = traced(grow, run());
  assert.equal(pytorchForwardTemp(a.op('conv'), CPU2), 4096 + 26032);
  assert.equal(pytorchForwardTemp(a.op('conv'), CPU113), 4096 + 8676);
  assert.equal(pytorchForwardTemp(a.op('conv'), deviceRules('cuda', '2')), 0);
  // [2, 8, 8, 8] -> Conv2d(8, 4, 3, padding 1): I = 4,096, W = 4*8*9*4 = 1,152, O = 2,048: I + W wins.
  const shrink = model([{ name: 'c', type: 'conv2d', input: ['batch', 8, 8, 8], out_channels: 4, kernel: 3, padding: 1, bias: false }]);
  assert.equal(pytorchForwardTemp(traced(shrink, run()).op('conv'), CPU2), 4096 + 1152 + 26032);
  // An inference pass over the first: weights 1,152 + batch 2,048 + the output 4,096 + the temporaries.
  assert.equal(estimate(grow, run({ mode: 'inference' })).allocated, 1152 + 2048 + 4096 + 4096 + 26032);
});

test('CPU conv and layer_norm backward copy a non-contiguous input and a gradient that comes back permuted', () => {
  // p17's block: conv1d -> transpose -> layer_norm -> transpose -> gelu, then a second conv1d on the gelu
  // output (a permuted layout). [2, 8, 16]: every activation is A = 2*8*16*4 = 1,024 B; W = 8*8*3*4 = 768.
  const m = model([
    { name: 'c1', type: 'conv1d', input: ['batch', 8, 16], out_channels: 8, kernel: 3, padding: 1, bias: false },
    { name: 't1', type: 'transpose', dims: [1, 2] },
    { name: 'ln', type: 'layer_norm' },
    { name: 't2', type: 'transpose', dims: [1, 2] },
    { name: 'g', type: 'activation', kind: 'gelu' },
    { name: 'c2', type: 'conv1d', out_channels: 8, kernel: 3, padding: 1, bias: false },
  ]);
  const { trace, op } = traced(m, run());
  const pg = trace.permutedGrads;
  const A = 1024;
  // c1: its input is the batch (contiguous), its output is read through t1 by layer_norm: + O.
  assert.equal(pytorchBackwardTemp(op('conv', 'c1'), CPU2, pg), 2 * A + 18968 + A);
  // layer_norm: its input is t1's view (+ I) and its output is read through t2 by gelu (+ O).
  assert.equal(pytorchBackwardTemp(op('layer_norm'), CPU2, pg), A + A);
  // c2: its input is gelu's output over a transposed view: the same permuted layout (+ I); its output is contiguous.
  assert.equal(pytorchBackwardTemp(op('conv', 'c2'), CPU2, pg), 2 * A + 18968 + A);
  // On 1.13 the same copies (measured identically), with 1.13's scratch constant.
  assert.equal(pytorchBackwardTemp(op('conv', 'c2'), CPU113, pg), 2 * A + 7328 + A);
  // Made contiguous first, the second conv copies nothing.
  const c = model([...(m as { blocks: unknown[] }).blocks.slice(0, 5), { name: 'cc', type: 'contiguous' }, { name: 'c2', type: 'conv1d', out_channels: 8, kernel: 3, padding: 1, bias: false }]);
  const t = traced(c, run());
  assert.equal(pytorchBackwardTemp(t.op('conv', 'c2'), CPU2, t.trace.permutedGrads), 2 * A + 18968);
});

test('transposes compose: transposing twice is contiguous again (contiguous copies nothing)', () => {
  const m = model([
    { name: 'x', type: 'linear', input: ['batch', 4, 6], out: 6 },
    { name: 't1', type: 'transpose', dims: [1, 2] },
    { name: 't2', type: 'transpose', dims: [1, 2] },
    { name: 'c', type: 'contiguous' },
  ]);
  assert.equal(traced(m, run()).trace.ops.filter((o) => o.kind === 'contiguous').length, 0);
  const once = model([{ name: 'x', type: 'linear', input: ['batch', 4, 6], out: 6 }, { name: 't1', type: 'transpose', dims: [1, 2] }, { name: 'c', type: 'contiguous' }]);
  assert.equal(traced(once, run()).trace.ops.filter((o) => o.kind === 'contiguous').length, 1);
});

test('bf16 conv on the CPU (no oneDNN bf16): im2col columns of the whole batch, forward and backward', () => {
  // [2, 4, 8, 8] -> Conv2d(4, 8, 3, padding 1) under bf16 autocast: columns N x C_in x k^2 x H_out x W_out x 2 B
  // = 2 * 4 * 9 * 64 * 2 = 9,216 B; no oneDNN reorders.
  const m = model([
    { name: 'pre', type: 'linear', input: ['batch', 4, 8, 8], out: 8 },
    { name: 'c', type: 'conv2d', out_channels: 8, kernel: 3, padding: 1, bias: false },
  ]);
  const { trace, op } = traced(m, run({ precision: 'bf16-mixed' }));
  assert.equal(pytorchForwardTemp(op('conv'), CPU2), 9216);
  assert.equal(pytorchBackwardTemp(op('conv'), CPU2, trace.permutedGrads), 9216);
});

test('conv keeps its input and weight whenever one needs a gradient: the bf16 weight copy on a data batch', () => {
  // Conv2d(4, 8, 3) on the batch [2, 4, 8, 8] under bf16 autocast: the input's bf16 copy 2*4*64*2 = 1,024 B
  // and the weight's bf16 copy 8*4*9*2 = 576 B are saved (the weight trains); the mean loss keeps nothing.
  const m = model([{ name: 'c', type: 'conv2d', input: ['batch', 4, 8, 8], out_channels: 8, kernel: 3, padding: 1, bias: false }]);
  assert.equal(estimate(m, run({ precision: 'bf16-mixed' })).forward_saved, 1024 + 576);
});

test('CPU mse loss: the 0-dim loss holds its N-element buffer, until the loop divides it (grad_accum > 1)', () => {
  // linear 8 -> 16 on [2, 8], mse against a [2, 16] target: the loss storage is 2*16*4 = 128 B on the CPU
  // instead of 4 B, alive from the loss op to the end of backward (the caller holds `loss` through
  // loss.backward()).
  const m = model([{ name: 'h', type: 'linear', input: ['batch', 8], out: 16 }, { name: 'loss', type: 'loss', kind: 'mse' }]);
  const cpu = estimate(m, run());
  const cuda = estimate(m, run({ device: 'cuda' }));
  assert.equal(cpu.step1_allocated - cuda.step1_allocated, 128 - 4);
  // With accumulation the loop's `loss = loss / grad_accum` drops it after forward: a 4 B quotient.
  const r2 = { grad_accum: 2 };
  assert.equal(estimate(m, run(r2)).step1_allocated, estimate(m, run({ ...r2, device: 'cuda' })).step1_allocated);
});

test('a group holds what it reads from outside until it returns (the caller keeps its variables)', () => {
  // x = linear(batch) [4, 16] and e = linear(x) [4, 16] (256 B each) are read by the concat only; after it
  // the body makes two [4, 256] activations (4,096 B each). An inference pass (nothing saved), CUDA:
  // flat, x and e go after the concat and the peak is at the relu, wide + its output = 8,192 B; as the
  // group's input (x) and an outside block it reads (e), both stay until the group returns: 8,704 B.
  const head = [
    { name: 'x', type: 'linear', input: ['batch', 16], out: 16 },
    { name: 'e', type: 'linear', out: 16 },
  ];
  const body = [
    { name: 'c', type: 'concat', from: ['x', 'e'], axis: -1 },
    { name: 'wide', type: 'linear', out: 256 },
    { name: 'r', type: 'activation', kind: 'relu' },
    { name: 'narrow', type: 'linear', out: 4 },
  ];
  const r = run({ batch_size: 4, device: 'cuda', mode: 'inference' });
  const flat = estimate(model([...head, ...body]), r);
  const grouped = estimate(model([...head, { name: 'g', type: 'group', from: 'x', blocks: body }]), r);
  // weights (16*16 + 16) x 2 + (32*256 + 256) + (256*4 + 4) params x 4 B, batch [4, 16] x 4 B
  const fixed = ((16 * 16 + 16) * 2 + (32 * 256 + 256) + (256 * 4 + 4)) * 4 + 4 * 16 * 4;
  assert.equal(flat.allocated, fixed + 8192);
  assert.equal(grouped.allocated, fixed + 8192 + 512);
});

test('ConvTranspose2d (transposed: true): shape, [in, out, k, k] weight, CPU backward temporaries per version', () => {
  // ConvTranspose2d(8, 4, 2, stride 2) on [2, 8, 4, 4] -> [2, 4, 8, 8]; 8*4*2*2 + 4 = 132 parameters.
  const m = model([
    { name: 'pre', type: 'linear', input: ['batch', 8, 4, 4], out: 4 },
    { name: 'up', type: 'conv2d', transposed: true, out_channels: 4, kernel: 2, stride: 2 },
  ]);
  const e = estimate(m, run());
  assert.equal(e.blocks[1]!.params, 132);
  const { trace, op } = traced(m, run());
  assert.deepEqual(op('conv').output.shape, [2, 4, 8, 8]);
  // 2.x: oneDNN, I + O + 26,080 = 2*8*16*4 + 2*4*64*4 + 26,080. 1.13: slow_conv_transpose's columns for
  // one sample, out * k^2 * H_in * W_in * 4 B = 4 * 4 * 16 * 4.
  assert.equal(pytorchBackwardTemp(op('conv'), CPU2, trace.permutedGrads), 1024 + 2048 + 26080);
  assert.equal(pytorchBackwardTemp(op('conv'), CPU113, trace.permutedGrads), 1024);
  assert.throws(() => estimate(model([{ type: 'conv2d', input: ['batch', 8, 4, 4], out_channels: 4, kernel: 2, output_padding: 1 }]), run()), { code: 'E_SCHEMA' });
});

test('set_to_none: false (zero_grad(set_to_none=False)) keeps the gradients through micro-batch 1 of later steps', () => {
  // linear 8 -> 4 on [2, 8] (144 B of parameters), mse, SGD, CUDA. Persistent: weights 144 + batch
  // x [2, 8] 64 + target [2, 4] 32 = 240 B. set_to_none: micro-batch 1's backward peaks at the linear with
  // the loss (4 B, held by the caller through backward), its output's gradient (32 B) and the new
  // parameter gradients (144 B): 240 + 180 = 420 B. zeros: the 144 B of zeroed gradients are resident and
  // backward adds new ones into them (144 B temporaries): 240 + 144 + 4 + 32 + 144 = 564 B.
  const m = model([{ name: 'h', type: 'linear', input: ['batch', 8], out: 4 }, { name: 'loss', type: 'loss', kind: 'mse' }]);
  const r = { device: 'cuda' };
  assert.equal(estimate(m, run(r)).steady_allocated, 420);
  assert.equal(estimate(m, run({ ...r, set_to_none: false })).steady_allocated, 564);
  assert.equal(estimate(m, run({ ...r, set_to_none: false })).step1_allocated, 420, 'step 1 has no gradients yet');
  // `default` (a plain zero_grad()): the version's default (1.13: set_to_none=False; 2.x: True).
  assert.equal(estimate(m, run({ ...r, set_to_none: 'default', pytorch: '1.13' })).steady_allocated, 564);
  assert.equal(estimate(m, run({ ...r, set_to_none: 'default' })).steady_allocated, 420);
});

test('eval: true turns dropout off; nn.TransformerEncoderLayer takes its fast path in eval under no_grad (even heads only)', () => {
  const enc = (heads: number, extra: Record<string, unknown>) =>
    model([{ name: 'enc', type: 'transformer_encoder', input: ['batch', 4, 8], heads, ffn_dim: 16, dropout: 0.1, ...extra }, { name: 'head', type: 'linear', out: 2 }]);
  const inplace = (m: ModelDescriptor, r: RunConfig) => traced(m, r).trace.ops.some((o) => o.attrs.inplace === true);
  const drops = (m: ModelDescriptor, r: RunConfig) => traced(m, r).trace.ops.filter((o) => o.kind === 'dropout').length;
  assert.equal(inplace(enc(2, { no_grad: true, eval: true, frozen: true }), run()), true, 'eval + no_grad: fast path');
  assert.equal(inplace(enc(2, { no_grad: true }), run()), false, 'train mode under no_grad: no fast path');
  assert.equal(drops(enc(2, { no_grad: true }), run()) > 0, true);
  assert.equal(inplace(enc(2, { eval: true, frozen: true }), run()), true, 'frozen, on a data input: no tensor argument requires grad');
  assert.equal(inplace(enc(2, { eval: true }), run()), false, 'its parameters require grad');
  assert.equal(drops(enc(2, { eval: true }), run()), 0, 'eval: no dropout');
  assert.equal(inplace(enc(1, {}), run({ mode: 'inference' })), false, 'an odd head count takes no fast path');
  assert.equal(inplace(enc(2, {}), run({ mode: 'inference' })), true);
});

test('padding_mask on the eval fast path: q/k/v packed, a new softmax output and two [h, s, s] temporaries', () => {
  // One layer, d 16, 2 heads, ffn 16, on the batch [2, 32, 16] (CPU inference). P = 2*32*16*4 = 4,096 B
  // (one activation), S = 2*2*32*32*4 = 16,384 B (the scores). Parameters 4(16^2 + 16) + 4*16 + 16*16 + 16
  // + 16*16 + 16 = 1,696 (6,784 B).
  const enc = (extra: Record<string, unknown>) =>
    model([{ name: 'enc', type: 'transformer_encoder', input: ['batch', 32, 16], heads: 2, ffn_dim: 16, dropout: 0.1, ...extra }]);
  const r = run({ mode: 'inference' });
  const [W, X, P, S] = [1696 * 4, 2 * 32 * 16 * 4, 4096, 16384];
  // Without a mask the peak is the scores' bmm: the input, q/k/v packed in one [3, b, h, s, dh] tensor, S.
  assert.equal(estimate(enc({}), r).allocated, W + X + 3 * P + S);
  // With src_key_padding_mask the softmax writes a new S and runs per sequence over [h, L, L] blocks, at
  // most two [h, s, s] = 2 * 2*32*32*4 B at once (the bound memplan takes, not knowing the lengths).
  assert.equal(estimate(enc({ padding_mask: true }), r).allocated, W + X + 3 * P + S + S + 2 * (2 * 32 * 32 * 4));
  // In training (no fast path) the key changes nothing.
  assert.equal(estimate(enc({ padding_mask: true }), run()).allocated, estimate(enc({}), run()).allocated);
});
