/**
 * Seed 003 (an AAM memory guide): batch 2, token_limit 1024, max_bp 150, embedding_dim 128, 4 heads,
 * 4 + 4 + 4 transformer layers. Its table lists three tensors; here they must appear as saved tensors
 * with exactly the guide's arithmetic, and the whole step must come out larger than their sum.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { est, model, sim } from './helpers.js';
import type { BlockSpec } from '../../src/core/model.js';

const layers = (extra: Partial<BlockSpec> = {}): BlockSpec[] => [
  { type: 'embedding', name: 'nuc_embed', input: ['batch * token_limit', 'max_bp'], vocab: 6, dim: 'embedding_dim' },
  {
    type: 'transformer_encoder', name: 'asv_encoder', input: ['batch * token_limit', 'max_bp', 'embedding_dim'],
    repeat: 'layers', heads: 'heads', ffn_dim: '4 * embedding_dim', dropout: 0.1, ...extra,
  },
  { type: 'mean_pool', name: 'asv_pool', axis: 1 },
  { type: 'transformer_encoder', name: 'sample_encoder', input: ['batch', 'token_limit', 'embedding_dim'], repeat: 'layers', heads: 'heads', dropout: 0.1 },
  { type: 'transformer_encoder', name: 'encoder', repeat: 'layers', heads: 'heads', dropout: 0.1 },
  { type: 'mean_pool', name: 'pool', axis: 1 },
  { type: 'linear', name: 'head', out: 1 },
  { type: 'loss', kind: 'mse' },
];
const dims = { token_limit: 1024, max_bp: 150, embedding_dim: 128, heads: 4, layers: 4, asv_chunk_size: 'token_limit' };
const aam = model(layers(), dims, 'aam-like');
// The guide's accounting is eager attention (PyTorch 1.x nn.MultiheadAttention, or attention written out).
const RUN = { batch_size: 2, optimizer: 'adamw', attention: 'eager' };

// The guide's three numbers, by its own arithmetic (fp32).
const ASV_ATTN = 2 * 1024 * 4 * 150 * 150 * 4; // [batch*token_limit, heads, max_bp, max_bp] x 4 B
const SAMPLE_ATTN = 2 * 4 * 1024 * 1024 * 4; // [batch, heads, token_limit, token_limit] x 4 B
const EMBED = 2 * 1024 * 150 * 128 * 4; // [batch*token_limit, max_bp, embedding_dim] x 4 B

test("the guide's numbers: 0.737 GB, 0.034 GB, 0.157 GB", () => {
  assert.equal(ASV_ATTN, 737_280_000);
  assert.equal(SAMPLE_ATTN, 33_554_432);
  assert.equal(EMBED, 157_286_400);
});

test('they appear as saved tensors: one ASV and one sample attention matrix per layer, and the embeddings', () => {
  const items = sim(aam, RUN).savedItems;
  const find = (what: string, shape: number[]) => items.filter((i) => i.what === what && i.shape.join() === shape.join());
  const asv = find('softmax', [2048, 4, 150, 150]);
  assert.equal(asv.length, 4); // asv_encoder x 4 layers
  for (const i of asv) assert.equal(i.bytes, ASV_ATTN);
  const sample = find('softmax', [2, 4, 1024, 1024]);
  assert.equal(sample.length, 8); // sample_encoder and encoder, 4 layers each
  for (const i of sample) assert.equal(i.bytes, SAMPLE_ATTN);
  // The embeddings are kept as the first ASV layer's time-first fp32 copy of them (nn.MultiheadAttention,
  // batch_first=True): nothing else keeps the embedding output itself, so it is not saved.
  assert.equal(find('embedding', [2048, 150, 128]).length, 0);
  const emb = find('copy', [2048, 150, 128]).filter((i) => i.scope === 'asv_encoder[0].self_attn');
  assert.equal(emb.length, 1);
  assert.equal(emb[0]!.bytes, EMBED);
  // PyTorch 2's stock nn.TransformerEncoderLayer calls scaled_dot_product_attention (fused on CUDA):
  // with stock modules the guide's s x s matrices are never kept.
  const fused = sim(aam, { ...RUN, attention: 'auto' }).savedItems;
  assert.equal(fused.filter((i) => i.what === 'softmax').length, 0);
});

// One ASV layer (post-norm, dropout 0.1, relu, ffn 512) saves far more than its attention matrix.
const X = 2048 * 150 * 128; // elements of the layer's activations
const P = 2048 * 4 * 150 * 150; // elements of one s x s matrix
const HID = 4 * X;
const ROWS = 2048 * 150;
const ASV_LAYER =
  (X * 4 + 2 * X * 4 + P * 4 + P * 1 + P * 4 + X * 4 + X * 4) + // attention: x's time-first copy, q, k, probs, mask, dropped probs, v, context
  (X * 1 + X * 4 + 2 * ROWS * 4) + //                             residual mask, norm input, mean/rstd
  (X * 4 + HID * 4 + HID * 1 + HID * 4) + //                      fc1 input, relu output, mask, fc2 input
  (X * 1 + X * 4 + 2 * ROWS * 4);

test('the full training step is larger than what the guide lists', () => {
  const e = est(aam, RUN);
  const listed = 4 * ASV_ATTN + 8 * SAMPLE_ATTN + EMBED; // the guide's per-layer figures times its 12 layers
  assert.ok(e.forward_saved > listed, `${e.forward_saved} vs ${listed}`);
  assert.ok(e.allocated > e.forward_saved);
  // The ASV encoder alone keeps 4 x 4.42 GB: attention dropout's mask and dropped copy, q/k/v, the FFN.
  assert.equal(ASV_LAYER, 4_416_307_200);
  assert.ok(e.forward_saved > 4 * ASV_LAYER);
});

test('ASV chunking: no saving without checkpoint; with chunk.checkpoint only each layer input stays', () => {
  const whole = est(aam, RUN).forward_saved;
  const chunked = est(model(layers({ chunk: { dim: 'token_limit', size: 256 } }), dims), RUN);
  assert.equal(chunked.blocks[1]!.chunks, 4);
  assert.equal(chunked.forward_saved, whole);
  const ckpt = est(model(layers({ chunk: { dim: 'token_limit', size: 256, checkpoint: true } }), dims), RUN);
  // checkpoint(asv_encoder, chunk) per chunk: one segment spans the chunk's 4 layers, so the four ASV
  // layers' saves are replaced by the chunk inputs alone (4 chunks x [512, 150, 128] x 4 B = X x 4 B).
  assert.equal(ckpt.forward_saved, whole - 4 * ASV_LAYER + X * 4);
  // The chunk size may be a derived dimension that follows --set token_limit.
  const derived = est(model(layers({ chunk: { dim: 'token_limit', size: 'asv_chunk_size' } }), dims), { ...RUN, dims: { token_limit: 512 } });
  assert.equal(derived.blocks[1]!.chunks, 1);
});
