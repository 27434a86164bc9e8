/**
 * memplan import: every fixture config.json converts to a descriptor whose parameter count is what
 * transformers builds from it (bench/hf/params.json, measured with transformers on the meta device), and
 * to the committed expected descriptor (test/fixtures/hf-*\/expected.yaml); bad configs are located errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { importHfConfig } from '../../src/core/hf-import.js';
import { est } from './helpers.js';
import { ROOT } from '../cli/run.js';

const FIX = join(ROOT, 'test/fixtures');
const measured = JSON.parse(readFileSync(join(ROOT, 'bench/hf/params.json'), 'utf8')) as { models: Record<string, { params: number; architecture: string }> };
const dirs = readdirSync(FIX).filter((d) => d.startsWith('hf-'));
const config = (d: string) => JSON.parse(readFileSync(join(FIX, d, 'config.json'), 'utf8')) as Record<string, unknown>;

test('every fixture is measured, and the imported parameter count is transformers\' own', () => {
  assert.deepEqual(Object.keys(measured.models).sort(), [...dirs].sort(), 'rerun bench/hf/params.py');
  for (const d of dirs) {
    const { model } = importHfConfig(config(d), { seq: 8 });
    assert.equal(est(model, { device: 'cpu' }).params.total, measured.models[d]!.params, d);
  }
});

test('known totals, by hand: TinyLlama-1.1B and GPT-2', () => {
  // TinyLlama: 22 layers x (q 2048^2 + k, v 2048 x 256 + o 2048^2 + 3 x 2048 x 5632 + 2 x 2048) + embed and head 2 x 32000 x 2048 + norm.
  const layer = 2048 * 2048 * 2 + 2048 * 256 * 2 + 3 * 2048 * 5632 + 2 * 2048;
  assert.equal(est(importHfConfig(config('hf-tinyllama-1.1b'), { seq: 8 }).model).params.total, 22 * layer + 2 * 32000 * 2048 + 2048);
  // GPT-2: wte 50257 x 768 (tied head), wpe 1024 x 768, 12 blocks, ln_f.
  const block = 4 * 768 + (768 * 2304 + 2304) + (768 * 768 + 768) + (768 * 3072 + 3072) + (3072 * 768 + 768);
  assert.equal(est(importHfConfig(config('hf-gpt2'), { seq: 8 }).model).params.total, 50257 * 768 + 1024 * 768 + 12 * block + 2 * 768);
});

test('known totals, by hand: T5-small and flan-t5-small (transformers 5 ties lm_head to shared in both)', () => {
  // shared 32128 x 512; encoder: 6 x (q, k, v, o 4 x 512^2 + wi, wo 2 x 512 x 2048 + 2 norms) + relative bias 32 x 8 + final norm;
  // decoder: 6 x (8 x 512^2 + 2 x 512 x 2048 + 3 norms) + 32 x 8 + final norm.
  const t5 = 32128 * 512 + 6 * (4 * 512 * 512 + 2 * 512 * 2048 + 2 * 512) + 32 * 8 + 512 + 6 * (8 * 512 * 512 + 2 * 512 * 2048 + 3 * 512) + 32 * 8 + 512;
  assert.equal(est(importHfConfig(config('hf-t5-small'), { seq: 8 }).model).params.total, t5);
  // flan-t5-small: 6 heads of 64 (inner 384), gated (wi_0, wi_1, wo of d_ff 1024), 8 + 8 layers.
  const flan = 32128 * 512 + 8 * (4 * 512 * 384 + 3 * 512 * 1024 + 2 * 512) + 32 * 6 + 512 + 8 * (8 * 512 * 384 + 3 * 512 * 1024 + 3 * 512) + 32 * 6 + 512;
  assert.equal(est(importHfConfig(config('hf-flan-t5-small'), { seq: 8 }).model).params.total, flan);
});

test('T5: target length, the rescale before lm_head, gated feed-forward, eager', () => {
  const m = importHfConfig(config('hf-tiny-t5')).model;
  assert.equal(m.dims!.tgt_seq, 'seq'); // the decoder length follows seq unless given
  assert.equal(importHfConfig(config('hf-tiny-t5'), { seq: 64, tgtSeq: 16 }).model.dims!.tgt_seq, 16);
  assert.equal(m.blocks.find((b) => b.name === 'scale_decoder_outputs')!.value, 128 ** -0.5);
  const flan = importHfConfig(config('hf-flan-t5-small')).model;
  assert.equal(flan.blocks.find((b) => b.name === 'scale_decoder_outputs'), undefined); // tie_word_embeddings: false
  const layer = flan.blocks.find((b) => b.name === 'decoder_block')!;
  assert.equal(layer.gated, true);
  assert.equal(layer.activation, 'gelu_new'); // gated-gelu is gelu_new (T5Config)
  assert.equal(importHfConfig(config('hf-tiny-t5-eager')).model.blocks.find((b) => b.name === 'encoder_block')!.attention, 'eager');
  // A T5 training step and inference pass both estimate (encoder ids [batch, seq], labels [batch, tgt_seq]).
  assert.ok(est(importHfConfig(config('hf-tiny-t5'), { seq: 16, tgtSeq: 8 }).model, { device: 'cpu' }).allocated > 0);
  assert.ok(est(importHfConfig(config('hf-tiny-t5'), { seq: 16, tgtSeq: 8 }).model, { device: 'cpu', mode: 'inference' }).allocated > 0);
});

test('the descriptors are the committed expected ones (test/fixtures/hf-*/expected.yaml)', () => {
  for (const d of dirs) {
    const expected = yaml.load(readFileSync(join(FIX, d, 'expected.yaml'), 'utf8'));
    assert.deepEqual(JSON.parse(JSON.stringify(importHfConfig(config(d)).model)), expected, d);
  }
});

test('GQA, tied embeddings and biases come from the config', () => {
  const q = importHfConfig(config('hf-qwen2-0.5b')).model;
  const layer = q.blocks.find((b) => b.type === 'decoder_layer')!;
  assert.equal(layer.bias, true); // Qwen2 projects q, k, v with bias
  assert.equal(layer.out_bias, false);
  assert.equal(q.dims!.kv_heads, 2);
  assert.equal(q.blocks.find((b) => b.name === 'lm_head')!.tie, 'embed_tokens');
  assert.equal(importHfConfig(config('hf-tinyllama-1.1b')).model.blocks.find((b) => b.name === 'lm_head')!.tie, undefined);
  assert.equal(importHfConfig(config('hf-tiny-mistral-eager')).model.blocks.find((b) => b.type === 'decoder_layer')!.attention, 'eager');
  assert.equal(importHfConfig(config('hf-llama-3.2-1b'), { seq: 512 }).model.dims!.seq, 512);
  assert.equal(importHfConfig(config('hf-llama-3.2-1b')).model.dims!.seq, 2048); // 131,072 positions, capped
});

test('bad configs are located E_CONFIG errors', () => {
  const bad = (c: unknown, path: string | undefined) => assert.throws(() => importHfConfig(c), (e: { code?: string; path?: string }) => e.code === 'E_CONFIG' && e.path === path);
  bad([], undefined);
  bad({}, 'model_type');
  bad({ model_type: 'bart' }, 'model_type');
  bad({ ...config('hf-tiny-t5'), feed_forward_proj: 'gated-gelu-x' }, 'feed_forward_proj');
  bad({ ...config('hf-tiny-t5'), feed_forward_proj: 'swiglu-ish' }, 'feed_forward_proj');
  bad({ ...config('hf-tiny-t5'), d_model: 0 }, 'd_model');
  bad({ ...config('hf-tiny-llama'), hidden_size: -4 }, 'hidden_size');
  bad({ ...config('hf-tiny-llama'), hidden_size: '128' }, 'hidden_size');
  bad({ ...config('hf-tiny-llama'), hidden_act: 'swiglu-ish' }, 'hidden_act');
  bad({ ...config('hf-tiny-vit'), patch_size: 7 }, 'patch_size');
  const { num_attention_heads: _, ...noHeads } = config('hf-tiny-llama');
  bad(noHeads, 'num_attention_heads');
});
