import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tracer } from '../../../src/core/tracer.js';
import { pytorchForwardTemp } from '../../../src/core/runtime/pytorch-ops.js';
import type * as Helpers from '../helpers.js';

/** Registered by ./all.test.ts. Grouped-query attention, its LoRA adapters and quantised projections. */
export default function register(h: typeof Helpers): void {
  const { comp, est, model, pre } = h;
  // x [2, 8, 32]; 4 heads of 8, 2 kv heads: k and v are [2, 8, 16].
  const X = 2 * 8 * 32 * 4, KV = 2 * 8 * 16 * 4, SS = 2 * 4 * 8 * 8 * 4;
  const attn = (extra: Record<string, unknown> = {}) => model([pre([2, 8, 32]), { type: 'gqa_attention', heads: 4, kv_heads: 2, head_dim: 8, ...extra }]);

  test('gqa_attention: k and v are kv_heads wide; sdpa keeps x, q, k, v (no repeat), the output and a logsumexp', () => {
    assert.equal(est(attn()).blocks[1]!.params, 32 * 32 + 32 * 16 + 32 * 16 + 32 * 32);
    // The output [2, 4, 8, 8] is laid out [b, s, h, d]: o_proj reads it without a copy. fp32 on CUDA is the
    // memory-efficient kernel, whose logsumexp rows are padded to 32 (8 -> 32); on the CPU they are not.
    assert.equal(est(attn()).forward_saved, X + X + KV + KV + X + 2 * 4 * 32 * 4);
    assert.equal(est(attn(), { device: 'cpu' }).forward_saved, X + X + KV + KV + X + 2 * 4 * 8 * 4);
  });

  test('eager: repeat_kv copies k and v to all heads; scores, probabilities and the merged heads are kept', () => {
    const REP = 2 * 4 * 8 * 8 * 4; // k or v repeated to 4 heads: [2, 4, 8, 8]
    // x, q, the repeated k (q k^T), probabilities (softmax), the repeated v (probs @ v), the transposed copy (o_proj).
    assert.equal(est(attn({ attention: 'eager' })).forward_saved, X + X + REP + SS + REP + X);
  });

  test('LoRA: the base is frozen; adapters keep their input and the rank-r product; q and v need grad, k does not', () => {
    const e = est(attn(), { lora: { r: 4, alpha: 8, targets: ['q_proj', 'v_proj'] } });
    assert.equal(e.params.trainable, 32 * 4 + 4 * 32 + 32 * 4 + 4 * 16);
    assert.equal(e.params.frozen, 32 * 32 + 32 + 3072);
    const A = 2 * 8 * 4 * 4; // lora_A output [2, 8, 4]
    // x (both lora_A), each lora_A output (lora_B), sdpa's q, k, v, output and logsumexp; o_proj (frozen) keeps nothing.
    assert.equal(e.forward_saved, X + 2 * A + X + KV + KV + X + 2 * 4 * 32 * 4); // logsumexp rows padded to 32 (CUDA fp32)
    // all-linear: every projection of the LLM blocks (a plain `linear` block, like pre here, gets none).
    assert.equal(est(attn(), { lora: { r: 4, targets: 'all-linear' } }).params.trainable, 4 * (32 + 32) + 2 * 4 * (32 + 16) + 4 * (32 + 32));
  });

  test('quantised projections: int8 is 1 B per weight + an fp32 scale per row; nf4 half a byte + an fp32 absmax per 64 + the 16-entry code', () => {
    const pre32 = (32 * 32 + 32) * 4; // the plain linear in front stays fp32
    const int8 = est(attn(), { mode: 'inference', quantization: 'int8' });
    assert.equal(comp(int8, 'weights'), pre32 + (1024 + 32 * 4) + (512 + 16 * 4) * 2 + (1024 + 32 * 4));
    const nf4 = est(attn(), { mode: 'inference', quantization: 'nf4' });
    assert.equal(comp(nf4, 'weights'), pre32 + (512 + 16 * 4 + 64) * 2 + (256 + 8 * 4 + 64) * 2);
    // Double quantisation: the absmax in uint8, an fp32 absmax per 256 of them, a 256-entry code, an offset.
    const dq = est(attn(), { mode: 'inference', quantization: { weights: 'nf4', double_quant: true } });
    assert.equal(comp(dq, 'weights'), pre32 + (512 + 16 + 4 + 1024 + 4 + 64) * 2 + (256 + 8 + 4 + 1024 + 4 + 64) * 2);
    assert.equal(nf4.params.total, int8.params.total);
    assert.throws(() => est(attn(), { quantization: 'nf4' }), { code: 'E_CONFIG' }); // training a quantised base needs LoRA
  });

  test('bitsandbytes forward temporaries: the dequantised weight (4-bit, more than 4 rows), the int8 copies of the input', () => {
    const t = new Tracer('bf16-mixed');
    const qw = t.param('w', [32 * 64 / 2], { dtype: 'u8', logical: 32 * 64 });
    const op = (rows: number, kind: 'nf4' | 'int8') => {
      t.quantLinear(t.cast(t.input('x', [rows, 32]), kind === 'nf4' ? 'bf16' : 'f32'), qw, [32, 64], kind);
      return pytorchForwardTemp(t.trace.ops[t.trace.ops.length - 1]!);
    };
    assert.equal(op(16, 'nf4'), 32 * 64 * 2);
    assert.equal(op(4, 'nf4'), 0); // bitsandbytes' custom kernel for up to 4 rows
    assert.equal(op(16, 'int8'), 16 * 32 * 2 + 16 * 32 + 16 * 4); // fp16 copy, int8 copy, fp32 row scales
  });
}
