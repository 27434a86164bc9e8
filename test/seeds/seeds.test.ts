/**
 * The five seed models: every shipped config estimates, budgets hold, key figures match arithmetic
 * done by hand here from the descriptors' dimensions (docs/seeds.md is checked in test/docs/generated-docs).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { component, estimateRun, headroomBytes, loadRun, runNames, SEED_MODELS } from '../../scripts/seeds-lib.js';

test('every seed config estimates, and its budget holds (error) or is a documented over-budget case (warn)', () => {
  let count = 0;
  for (const m of SEED_MODELS) {
    const names = runNames(m);
    assert.ok(names.length >= 5, `${m} ships its configs`);
    for (const name of names) {
      const r = loadRun(m, name);
      assert.ok(r.run.budget?.gpu?.length, `${m}/${name} has a budget card`);
      const e = estimateRun(m, name);
      assert.ok(e.gpu, `${m}/${name} is estimated on a card`);
      const need = headroomBytes(r.run.budget!.headroom, e.gpu!.capacity);
      if (r.run.budget!.level === 'warn') assert.equal(e.fits, false, `${m}/${name}: warn marks an over-budget case`);
      else assert.ok(e.gpu!.capacity - e.device_total >= need, `${m}/${name} keeps ${need} B headroom`);
      count++;
    }
  }
  assert.ok(count >= 35);
});

test('aam: the ASV encoder saves what the per-op rules give, by hand', () => {
  const e = estimateRun('aam', 'baseline');
  const N = 2 * 1024 * 150; // tokens of the ASV encoder
  const S = 2048 * 4 * 150 * 150; // one layer's attention matrix, elements
  // Per layer, fp32: q, k, v, attention context, two layer-norm inputs and the first norm's output ([N, 128]);
  // relu output and dropped FFN hidden ([N, 512]); three dropout masks (128 + 512 + 128 B per token);
  // mean and rstd of two norms; softmax output, dropped probabilities (4 B) and mask (1 B) per attention element.
  const perLayer = 7 * N * 128 * 4 + 2 * N * 512 * 4 + N * (128 + 512 + 128) + 2 * 2 * N * 4 + S * (4 + 4 + 1);
  // Every layer also holds the time-first fp32 copy of its input that nn.MultiheadAttention
  // (batch_first=True) makes for the q/k/v projections ([N, 128]); layer 1's is the copy of the embeddings.
  // The ASV group (embedding + encoder + pool, run per chunk) saves the encoder's tensors: the embedding
  // keeps only its ids (the batch) and the mean pool nothing.
  const asv = e.blocks.find((b) => b.name === 'asv')!;
  assert.equal(asv.saved_bytes, 4 * perLayer + 4 * N * 128 * 4);
  assert.equal(S * 4, 737_280_000); // the guide's "~0.74 GB" per tensor
  // So the embedding output itself is not kept (nothing else saves it): the ids are the batch.
  assert.equal(e.blocks.find((b) => b.name === 'asv_tokens')!.saved_bytes, 0);
});

test('aam: chunking without checkpointing keeps saved activations; with it they shrink; the recommendation is ~2x', () => {
  const base = estimateRun('aam', 'baseline');
  const chunk = estimateRun('aam', 'chunk-256');
  const ckpt = estimateRun('aam', 'chunk-256-checkpoint');
  const rec = estimateRun('aam', 'recommended-24gb');
  const exp = estimateRun('aam', 'expandable-segments');
  assert.equal(chunk.forward_saved, base.forward_saved);
  assert.ok(chunk.notes.some((n) => n.includes('does not shrink saved activations')));
  assert.ok(ckpt.forward_saved < base.forward_saved / 4);
  // Token limit 512 halves the ASV encoder's [batch * token_limit, ...] tensors: about 2x, far from 8-10x.
  const gain = base.allocated / rec.allocated;
  assert.ok(gain > 1.8 && gain < 2.5, `recommended settings gain ${gain}`);
  // Expandable segments: same allocated; the simulated allocator caches less beyond it (one growing segment per pool).
  assert.equal(exp.allocated, base.allocated);
  assert.ok(exp.reserved >= exp.allocated && exp.reserved - exp.allocated < base.reserved - base.allocated);
  assert.equal(exp.allocator!.settings, 'expandable_segments:True');
});

test('aam: under bf16 autocast the attention probabilities stay fp32', () => {
  const e = estimateRun('aam', 'bf16-mixed');
  const top = e.saved_items[0]!;
  assert.deepEqual([...top.shape], [2048, 4, 150, 150]);
  assert.equal(top.dtype, 'f32');
});

test('peptide: parameters, spectrum loss and the 48 x 2 peak, by hand (bf16-mixed: fp32 weights)', () => {
  const e = estimateRun('peptide', 'current-48x2');
  const P = 12_500_000;
  assert.equal(component(e, 'weights'), P * 4);
  assert.equal(component(e, 'gradients'), P * 4);
  assert.equal(component(e, 'optimizer_state'), 2 * P * 4);
  assert.equal(component(e, 'ema'), P * 4);
  // The guide's "12.5M x 2 bytes x 2" is 50,000,000 B, not 1.5 GB.
  assert.equal(P * 2 * 2, 50_000_000);
  const spectrum = 48 * 100 * 20000 * 4; // one fp32 [batch, peaks, bins] tensor
  assert.equal(spectrum, 384_000_000);
  assert.equal(e.dims.bins, 20000);
  // The spectrum loss, written as the trainer's ops: diff = grid - mz (fp32: the grid is fp32), pow 2 keeps
  // diff, exp keeps its output, mul keeps it too (and the intensity view of the head output), the
  // rendering [48, 20000] minus the target, pow 2 keeps that residual. Precursor: [48, 30, 28] fp32.
  const R = 48 * 20000 * 4;
  const precursor = 48 * 30 * 28 * 4;
  assert.equal(e.totals!.loss_buffers, 2 * spectrum + R + precursor);
  // Core: 14 layer applications (one supervision step: 6 latent + 1, 2 layers), 17 bf16 [48, 130, 512]
  // tensors each, plus attention scores and probabilities (bf16) and the dropout mask over [48, 8, 130, 130].
  const apps = 1 * (6 + 1) * 2;
  const core = apps * (17 * 48 * 130 * 512 * 2 + 48 * 8 * 130 * 130 * (2 + 2 + 1));
  // The peak is in backward, at the first pow (diff ** 2): diff (kept), the gradients of its output and
  // input, pow's two temporaries = 5 spectra; the core's saved tensors; the head's bf16 input copy
  // [48, 100, 8] x 2 B and the gradient of its output [48, 100, 2] x 2 B (the output itself went with the
  // mul's backward, its last saver; so did the precursor tensor, the rendering and the exp output).
  const act = core + 5 * spectrum + 48 * 100 * 8 * 2 + 48 * 100 * 2 * 2;
  // Micro-batch 2 (accumulation 2): weights, EMA, gradients (fp32), AdamW m and v, autocast's 2-byte copy of
  // the params block, the batch (peak features [48, 100, 8] fp32 and the target spectrum [48, 20000] fp32)
  // and the m/z grid buffer [20000] fp32.
  // (The head's 18 parameters are traced: their cast copy is gone by backward; the params block's 12,499,982
  // feed no traced matmul, so their copy is counted whole.)
  const persistent = 5 * P * 4 + (P - 18) * 2 + 48 * 100 * 8 * 4 + R + 20000 * 4;
  // + 4 B: the fp32 quotient `loss / 2`, which the caller holds until loss.backward() returns.
  assert.equal(e.allocated, persistent + act + 4);
  assert.equal(e.peak.name, 'micro-batch 2 backward');
  assert.match(e.peak.at ?? '', /spectrum_loss\.sq pow/);
});

test('peptide: the four configs, and the spectrum at 0.2 / 1500', () => {
  const low = estimateRun('peptide', 'low-resolution-48x2');
  assert.equal(low.dims.bins, 7500);
  // At 0.2 / 1500 the spectrum has 7,500 bins: the kept rendering tensors shrink with it.
  assert.equal(low.totals!.loss_buffers, 2 * 48 * 100 * 7500 * 4 + 48 * 7500 * 4 + 48 * 30 * 28 * 4);
  const orig = estimateRun('peptide', 'original-96x1');
  const apps = 14;
  const core96 = apps * (17 * 96 * 130 * 512 * 2 + 96 * 8 * 130 * 130 * 5);
  // No accumulation: the peak is micro-batch 1's backward at the same pow; of the gradients only the params
  // block's exist by then (they appear as backward starts; the head's come later). Weights, EMA, AdamW
  // state; the block's cast copy; the batch and the grid; the core; 5 spectra; the head's tensors; the fp32
  // 0-dim loss (4 B), held by the caller until loss.backward() returns.
  const P = 12_500_000;
  const S96 = 96 * 100 * 20000 * 4;
  const head96 = 96 * 100 * 8 * 2 + 96 * 100 * 2 * 2;
  assert.equal(orig.allocated, 16 * P + (P - 18) * 4 + (P - 18) * 2 + 96 * 100 * 8 * 4 + 96 * 20000 * 4 + 20000 * 4 + core96 + 5 * S96 + head96 + 4);
  for (const [cfg, batch, accum] of [['original-96x1', 96, 1], ['current-48x2', 48, 2], ['conservative-32x3', 32, 3], ['aggressive-64x2', 64, 2]] as const) {
    const e = estimateRun('peptide', cfg);
    assert.equal(e.batch_size, batch);
    assert.equal(e.grad_accum, accum);
    assert.equal(e.gpu?.id, 'rtx-4090');
  }
});

test('rna-3e-ffi: irreps dimensions and parameter counts, by hand', () => {
  const e = estimateRun('rna-3e-ffi', 'batch-2');
  assert.equal(e.dims.irreps_dim, 32 + 3 * 16 + 5 * 8);
  assert.equal(estimateRun('rna-3e-ffi', 'simple-irreps').dims.irreps_dim, 16 * 1 + 8 * 3 + 4 * 5);
  assert.equal(e.dims.edges, 2 * 2000 * (2 + 6 + 40));
  // message passing, d = 120, per-edge hidden = 3*32 + 4*16 + 4*8 = 192: msg1, msg2, update (+ biases)
  const d = 120;
  const h = 192;
  const mp = 2 * d * h + h + (h * d + d) + (2 * d * d + d);
  const params = (64 * d + d) + 4 * mp + 4 * 2 * d + (d * 1536 + 1536);
  assert.equal(e.params.total, params);
  assert.equal(estimateRun('rna-3e-ffi', 'no-layer-norm').params.total, params - 4 * 2 * d);
});

test('rna-3e-ffi: allocator settings change reserved only', () => {
  const b2 = estimateRun('rna-3e-ffi', 'batch-2');
  const conf = estimateRun('rna-3e-ffi', 'batch-2-alloc-conf');
  const split = estimateRun('rna-3e-ffi', 'batch-2-max-split-128');
  assert.equal(conf.allocated, b2.allocated);
  assert.equal(split.allocated, b2.allocated);
  // The simulated allocator: expandable segments (with max_split_size_mb:128) cache less than the default; max_split
  // alone no more than it.
  assert.ok(conf.reserved < b2.reserved && split.reserved <= b2.reserved);
  for (const e of [b2, conf, split]) assert.ok(e.reserved >= e.allocator!.allocated_peak && e.allocator!.allocated_peak >= e.allocated);
  // Accumulating batch-1 micro-batches peaks like batch 1 plus resident gradients.
  const acc = estimateRun('rna-3e-ffi', 'accum-4');
  assert.ok(acc.allocated < b2.allocated * 0.55);
});

test('protein-esm: ESM weights, attention maps, DDP buckets and the host cache, by hand', () => {
  // ESM-2 650M: token embedding, 33 pre-norm layers (attention 4 x (d^2 + d), FFN, two norms), final norm.
  const d = 1280;
  const layer = 4 * (d * d + d) + (d * 5120 + 5120) + (5120 * d + d) + 4 * d;
  const esmParams = 33 * d + 33 * layer + 2 * d;
  const e32 = estimateRun('protein-esm', 'esm-batch-32');
  assert.equal(e32.params.frozen, esmParams);
  assert.equal(component(e32, 'weights'), esmParams * 4);
  assert.equal(component(e32, 'gradients'), 0);
  const maps = estimateRun('protein-esm', 'esm-batch-32-attention-maps');
  assert.equal(component(maps, 'buffers'), 32 * 33 * 20 * 1024 * 1024 * 4);
  assert.equal(maps.fits, false);
  assert.equal(e32.fits, true);
  const t3 = estimateRun('protein-esm', 'train-3gpu-ddp');
  const gnn = (1280 * 256 + 256) + 4 * ((512 * 256 + 256) + (256 * 256 + 256) + (512 * 256 + 256)) + (256 + 1);
  assert.equal(t3.params.trainable, gnn);
  assert.equal(component(t3, 'ddp_buckets'), gnn * 4);
  assert.equal(t3.effective_batch, 24);
  const perProcess = 10000 * 500 * 1280 * 4 + 10000 * 500 * 30 * 2 * 8 + 10000 * 500 * 30 * 16 * 4 + 10000 * 500 * 4 * 3 * 4;
  const host = estimateRun('protein-esm', 'host-cache');
  assert.equal(component(host, 'buffers'), 3 * perProcess);
  assert.equal(host.allocated, 3 * perProcess + 3 * 10000 * 500 * 1280 * 4);
  assert.equal(estimateRun('protein-esm', 'host-cache', { gpu: 'slurm-100gb' }).fits, false);
  assert.equal(host.fits, true);
});

test('rna-multiscale: CPU step with no allocator term; parameters by hand', () => {
  const e = estimateRun('rna-multiscale', 'standard-ram8');
  const layer = (dm: number) => 12 * dm * dm + 13 * dm; // attention 4(d^2+d), FFN 8d^2+5d, two norms 4d
  const params = 5 * 64 + 3 * layer(64) + (64 * 128 + 128) + 3 * layer(128) + (128 * 256 + 256) + 3 * layer(256) + (256 * 4 + 4);
  assert.equal(e.params.total, params);
  assert.equal(component(e, 'allocator'), 0);
  assert.equal(e.reserved, e.allocated);
  assert.equal(e.device_total, e.allocated + 2.5 * 2 ** 30);
  assert.equal(component(e, 'loss_buffers'), 2 * 8 * 512 * 512 * 4);
  const micro = estimateRun('rna-multiscale', 'micro-ram8');
  assert.equal(micro.params.total, 5 * 16 + layer(16) + (16 * 32 + 32) + layer(32) + (32 * 64 + 64) + layer(64) + (64 * 4 + 4));
});
