/**
 * memplan import: a Hugging Face config.json (or its directory) becomes model.yaml + memplan.yaml that
 * estimate as the config itself does; estimate / recommend take a config.json directly; bad inputs exit 2.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, json, ROOT } from './run.js';

const FIX = join(ROOT, 'test/fixtures');
const tmp = () => mkdtempSync(join(tmpdir(), 'memplan-import-'));

test('import writes model.yaml and memplan.yaml; the estimate is the same as of the config.json itself', async () => {
  const dir = tmp();
  const r = await cli('import', join(FIX, 'hf-tinyllama-1.1b'), '-o', dir, '--seq', '1024');
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(join(dir, 'model.yaml')) && existsSync(join(dir, 'memplan.yaml')));
  assert.match(readFileSync(join(dir, 'memplan.yaml'), 'utf8'), /# lora: \{ r: 16/);
  const fromFiles = json(await cli('estimate', join(dir, 'memplan.yaml'), '--format', 'json'));
  const direct = json(await cli('estimate', join(FIX, 'hf-tinyllama-1.1b/config.json'), '--set', 'seq=1024', '--format', 'json'));
  assert.equal(fromFiles.params.total, 1100048384);
  assert.equal(direct.allocated, fromFiles.allocated);
  // Existing files are kept unless --force.
  const again = await cli('import', join(FIX, 'hf-tinyllama-1.1b'), '-o', dir);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /E_FILE/);
  assert.equal((await cli('import', join(FIX, 'hf-tinyllama-1.1b'), '-o', dir, '--force')).code, 0);
});

test('import --stdout prints the descriptor; bad inputs are located errors with exit 2', async () => {
  const r = await cli('import', join(FIX, 'hf-gpt2/config.json'), '--stdout');
  assert.equal(r.code, 0);
  assert.match(r.stdout, /type: decoder_layer/);
  const dir = tmp();
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'llama', hidden_size: 64 }));
  const missing = await cli('import', dir, '--stdout');
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /E_CONFIG.*config\.json.*num_attention_heads/s);
  writeFileSync(join(dir, 'config.json'), '{ not json');
  assert.match((await cli('import', dir, '--stdout')).stderr, /invalid JSON/);
  assert.equal((await cli('import', join(dir, 'nothing-here'))).code, 2);
  assert.equal((await cli('import', join(FIX, 'hf-gpt2'), '--seq', '0', '--stdout')).code, 2);
});

test('estimate of a config.json takes LoRA, quantisation and KV-cache settings with --set', async () => {
  const cfg = join(FIX, 'hf-llama-3.2-1b');
  const qlora = json(await cli('estimate', cfg, '--set', 'seq=512', '--set', 'lora.r=16', '--set', 'quantization=nf4', '--set', 'precision=bf16', '--format', 'json'));
  // q_proj and v_proj adapters (the default targets) on 16 layers: (2048 x 16 + 16 x 2048) + (2048 x 16 + 16 x 512).
  assert.equal(qlora.params.trainable, 16 * (2048 * 16 + 16 * 2048 + 2048 * 16 + 16 * 512));
  const decode = json(await cli('estimate', cfg, '--set', 'mode=inference', '--set', 'precision=bf16', '--set', 'seq=1', '--set', 'kv_cache=4096', '--format', 'json'));
  const buffers = (decode.components as { key: string; bytes: number }[]).find((c) => c.key === 'buffers')!.bytes;
  // 16 layers x k and v x 8 kv heads x 64 x 4096 tokens x 2 B, + the rotary inv_freq buffers (2 x 32 x 4 B).
  assert.equal(buffers, 16 * 2 * 8 * 64 * 4096 * 2 + 2 * 32 * 4);
});

test('recommend --max-batch on an inference config: concurrent sequences of a context that fit the card', async () => {
  const dir = tmp();
  assert.equal((await cli('import', join(FIX, 'hf-llama-3.2-1b'), '-o', dir, '--seq', '1')).code, 0);
  writeFileSync(join(dir, 'decode.yaml'), 'model: model.yaml\nmode: inference\nprecision: bf16\nkv_cache: 4096\n');
  const r = json(await cli('recommend', join(dir, 'decode.yaml'), '--gpu', 'h100', '--max-batch', '--format', 'json'));
  const text = JSON.stringify(r);
  const m = /"max_batch":(\d+)/.exec(text) ?? /"batch_size":(\d+)/.exec(text);
  assert.ok(m, text.slice(0, 300));
  // 128 MiB of cache per sequence against an 80 GB card minus 2.3 GiB of weights and the margin: a few hundred.
  assert.ok(Number(m[1]) > 100 && Number(m[1]) < 640, m[1]);
});
