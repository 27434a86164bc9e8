/**
 * Writes docs/accuracy-gpu.md (and docs/accuracy-gpu.json, memplan's column for the test): published
 * GPU measurements of real training runs beside memplan's prediction and the peers' formulas.
 * Run: `npm run docs:gpu`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { estimate } from '../src/index.js';
import { caseRows, loadCase, median, packedInProjCheck, pct, setupCheck, type CaseRow } from './accuracy-gpu-lib.js';
import { preset, ROOT } from './seeds-lib.js';

const MiB = 1024 * 1024;
const mib = (b: number) => `${Math.round(b / MiB).toLocaleString('en-US')} MiB`;
const gb = (b: number) => `${(b / 1e9).toFixed(2)} GB`;
/** A row's bytes in the unit its measurement was published in. */
const unit = (r: CaseRow, b: number) => (r.level === 'max_memory_reserved' ? gb(b) : mib(b));
const LEVEL: Record<CaseRow['level'], string> = {
  'device (nvidia-smi)': 'nvidia-smi',
  max_memory_allocated: 'max_memory_allocated',
  max_memory_reserved: 'max_memory_reserved',
};
const err = (p: number) => `${p >= 0 ? '+' : ''}${p.toFixed(1)}%`;
const absPct = (p: number) => `${p.toFixed(1)}%`;

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** memplan with one of the case's settings put back to memplan's defaults: what that setting is worth. */
function ablation(rows: CaseRow[]): string {
  const variants: [string, Record<string, unknown>][] = [
    ['as published (the case configs)', {}],
    ['context from the card preset (lazy loading, 450 MiB) instead of CUDA 11.2', { stack: {} }],
    ['zero_grad(set_to_none=True) (PyTorch 2 default) instead of False', { set_to_none: true }],
    ['PyTorch 2 rules (softmax keeps only its output) instead of 1.10', { pytorch: '2' }],
    ['for-loop AdamW (torch.optim) instead of transformers.AdamW', { optimizer: { type: 'adamw', impl: 'for-loop' } }],
  ];
  const out: string[][] = [];
  for (const [label, over] of variants) {
    const errs: number[] = [];
    for (const r of rows) {
      if (r.level !== 'device (nvidia-smi)') continue;
      const { raw, model } = loadCase(r.config);
      const o = { ...over };
      // The optimizer variant applies to the transformers.AdamW cases only.
      if ('optimizer' in o && !JSON.stringify(raw.optimizer ?? '').includes('"hf"')) delete o.optimizer;
      const { run } = loadCase(r.config);
      const merged = { ...run, ...o, ...(o.stack ? { stack: {} } : {}) } as typeof run;
      const e = estimate(model, merged, { preset: preset(run.gpu![0]!) });
      errs.push(pct(e.device_total, r.measured));
    }
    out.push([label, absPct(median(errs.map(Math.abs))), err(Math.min(...errs)), err(Math.max(...errs))]);
  }
  return table(['memplan with', 'median abs. error', 'most under', 'most over'], out);
}

/** The page and its JSON sidecar, as they should be committed. */
export function render(): { md: string; json: string; med: number; max: number; worstUnder: number } {
  const rows = caseRows();
  const setup = setupCheck();
  const abs = [...rows.map((r) => Math.abs(r.errorPct)), Math.abs(setup.errorPct)];
  const med = median(abs);
  const max = Math.max(...abs);
  const worstUnder = Math.min(...rows.map((r) => r.errorPct), setup.errorPct);
  const nCases = rows.length + 1;
  const met = med <= 5 && max <= 10 && worstUnder >= -5;
  const group = (url: string, extra: number[] = []) => {
    const e = [...rows.filter((r) => r.source.url === url).map((r) => r.errorPct), ...extra];
    const a = e.map(Math.abs);
    return { n: e.length, med: median(a), max: Math.max(...a), under: Math.min(...e), met: median(a) <= 5 && Math.max(...a) <= 10 && Math.min(...e) >= -5 };
  };
  const hf = group(HF_URL, [setup.errorPct]);
  const vit = group(VIT_URL);
  const groupLine = (label: string, g: ReturnType<typeof group>) =>
    `${label}: median ${g.med.toFixed(1)}%, max ${g.max.toFixed(1)}%, most under ${err(g.under)} (${g.n} cases, target ${g.met ? 'met' : 'not met'})`;
  const vitRows = rows.filter((r) => r.source.url === VIT_URL);
  const vitErr = (name: string) => err(vitRows.find((r) => r.name === name)!.errorPct);
  const pack2 = packedInProjCheck(2);
  const pack4 = packedInProjCheck(4);
  // nn.MultiheadAttention's out_proj input when the SDPA kernel's output is batch-first (24 layers, 197 tokens).
  const mhaCopy = (batch: number, bytes: number) => 24 * batch * 197 * 1024 * bytes;
  const peerNames: [keyof CaseRow['peers'], string][] = [
    ['accelerate', 'Accelerate estimate-memory'],
    ['deepspeedZero2', 'DeepSpeed ZeRO-2 estimator'],
    ['deepspeedZero3', 'DeepSpeed ZeRO-3 estimator'],
    ['llmAnalysis', 'llm-analysis formula'],
  ];
  const peerStats = peerNames.map(([k, label]) => {
    const e = rows.map((r) => pct(r.peers[k], r.measured));
    return [label, absPct(median(e.map(Math.abs))), err(Math.min(...e)), err(Math.max(...e))];
  });
  const caseTable = table(
    ['case', 'settings', 'measured', 'memplan (error)', 'memplan band (measured inside?)', 'Accelerate', 'DS ZeRO-2', 'DS ZeRO-3', 'llm-analysis'],
    rows.map((r) => [
      r.name,
      r.settings,
      `${unit(r, r.measured)} (${LEVEL[r.level]})`,
      `${unit(r, r.memplan)} (${err(r.errorPct)})`,
      r.band ? `${mib(r.band.low)} .. ${mib(r.band.high)} (${r.band.inside ? 'yes' : 'no'})` : '-',
      ...peerNames.map(([k]) => `${unit(r, r.peers[k])} (${err(pct(r.peers[k], r.measured))})`),
    ]).concat([[
      'hf-bert-large-weights-loaded',
      'before training: the model moved to the card (context + the weights\' segments), CUDA 11.2, v100-16',
      `${mib(setup.measured)} (nvidia-smi)`,
      `${mib(setup.memplan)} (${err(setup.errorPct)})`,
      '-',
      '-', '-', '-', '-',
    ]]),
  );
  const sources = [...new Map(rows.map((r) => [r.source.url, r.source])).values()];
  const md = `<!-- Generated by scripts/accuracy-gpu.ts (npm run docs:gpu) from bench/gpu/published.yaml and bench/gpu/cases/. Do not edit by hand: test/bench/accuracy-gpu.test.ts recomputes memplan's column. -->
# memplan against published GPU measurements

Every case is a real training run whose memory was published with every setting memplan needs: the model
(described from its real architecture under [bench/gpu/cases/models/](../bench/gpu/cases/models/)), batch,
sequence or image size, precision, optimizer and its implementation, accumulation, checkpointing, the
trainer's zero_grad, the PyTorch and CUDA versions and, where the measurement includes the context, the card.
Each run config is under [bench/gpu/cases/](../bench/gpu/cases/); \`npm run docs:gpu\` rewrites this page and
the test recomputes memplan's column. Units: MiB = 2^20 B (what nvidia-smi prints as "MB"); GB = 10^9 B where
the source printed \`max_memory_reserved() / 1e9\`.

**Target: median <= 5%, max <= 10%, no case more than 5% under the measurement. ${met ? 'Met' : 'Not met'}:**
median absolute error ${med.toFixed(1)}%, max ${max.toFixed(1)}%, most under ${err(worstUnder)} (${nCases} cases).

- ${groupLine('BERT-large on a V100 (Hugging Face, device totals)', hf)}. The CUDA context of that stack
  (CUDA 11.2, every kernel loaded) is the same page's own reading (${CONTEXT_MIB} MiB after a first tiny tensor): those
  cases test everything else.
- ${groupLine('ViT-L/16 (torch.cuda.max_memory_reserved, no context)', vit)}. memplan is under on every one;
  [below](#the-vit-l16-runs-where-memplan-is-under-and-why) is what accounts for most of it and what does not.

${caseTable}

Errors are (predicted - measured) / measured. memplan is compared at the level that was measured: the device
total (context + reserved, what nvidia-smi shows), \`torch.cuda.max_memory_reserved\` (the caching allocator's
segments: memplan's simulated reserved peak) or \`torch.cuda.max_memory_allocated\` (the allocator's counter,
block sizes). Its band is the low / high device total from the uncertain parts (context,
allocator, stack; docs/memory-model.md section 10).

## The peers, from their own formulas

| estimator | median abs. error | most under | most over |
| --- | --- | --- | --- |
${peerStats.map((r) => `| ${r.join(' | ')} |`).join('\n')}

Computed here from each tool's published formula (scripts/accuracy-gpu-lib.ts names the source of each):
Accelerate's \`estimate-memory\` ("Training using Adam": the peak of model, gradients, optimizer and step,
16 B per parameter in fp32, 8 B in mixed precision), DeepSpeed's \`estimate_zero2_model_states_mem_needs\` and
\`estimate_zero3_model_states_mem_needs\` (one GPU, no offload: 20 B per parameter; 18 B per parameter plus 4 B
per parameter of the largest layer), and llm-analysis's training memory (16 B per parameter of model states
plus Korthikanti et al.'s per-layer activations). None of them counts the CUDA context or the allocator, none
models Adafactor or 8-bit state (they assume Adam), and only llm-analysis counts activations: on these runs
they come out ${peerStats.map((r) => `${r[0]} ${r[1]}`).join(', ')} (median absolute error).

## What the device layer changed

The BERT-large cases (device totals) with one setting put back to what memplan assumes without being told:

${ablation(rows)}

- **The CUDA context.** The page's own reading: \`torch.ones((1, 1)).to("cuda")\` shows ${CONTEXT_MIB} MiB on a V100 with
  CUDA 11.2, where every kernel of every loaded library is loaded at start (lazy loading came with CUDA 11.7).
  memplan's stack model uses it for \`stack.cuda: "11.2"\` (docs/memory-model.md section 10).
- **Gradients kept between steps.** The Trainer of the time called \`model.zero_grad()\`, whose default under
  PyTorch 1.x is \`set_to_none=False\`: every gradient stays allocated through the next forward and backward.
  The batch-4 runs show it (5 to 11% under without it); the accumulation runs hold every gradient in their later
  micro-batches either way, and only the allocator's layout differs there.
- **PyTorch <= 1.10 kept softmax's input.** \`softmax\` and \`log_softmax\` saved their input as well as their
  output until PyTorch 1.11 (pytorch/pytorch#64000, fixed by #65242): one more \`[batch, heads, seq, seq]\`
  tensor per attention layer, 64 MiB per layer at batch 4 here (1.5 GiB over 24 layers).
- **transformers.AdamW** (\`optim=adamw_hf\`, the Trainer's default then) makes one \`sqrt(v) + eps\` per parameter,
  not two (\`impl: hf\`).

## The ViT-L/16 runs: where memplan is under, and why

${groupLine('All five', vit)}. The shortfall is not the allocator's flat allowance (there is none: reserved is
the simulated allocator) and not the optimizer (Adam's foreach step is in the replay). What accounts for it,
worked out from PyTorch's source and checked where this machine can:

1. **The attention output kept twice (fp32; modelled).** torchvision's EncoderBlock uses
   \`nn.MultiheadAttention(batch_first=True)\`, which works time-first inside and, with \`need_weights=False\`,
   calls \`F.scaled_dot_product_attention\`; it then takes \`attn_output.permute(2, 0, 1, 3).contiguous()\` for
   \`out_proj\`. In fp32 the kernel is the memory-efficient one, which allocates its output batch-first
   (\`_efficient_attention_forward\`: \`empty(B, M, num_heads, Kv)\`, aten/src/ATen/native/transformers/cuda/attention.cu
   and its meta function), so that \`contiguous()\` copies and \`out_proj\` saves the copy while SDPA keeps its
   output for backward: one more \`[batch, 197, 1024]\` tensor per layer, 24 x 64 x 197 x 1024 x 4 B =
   ${gb(mhaCopy(64, 4))} at batch 64. The same kernel pads its logsumexp rows to a multiple of 32. memplan models
   both for stock attention on CUDA in fp32 (the tracer's \`sdpaTimeFirst\`); on the CPU, where SDPA's output
   follows the query's layout, there is no copy (measured with torch 2.13, \`saved_tensors_hooks\` over
   \`nn.MultiheadAttention\`: \`out_proj\` saves SDPA's own output storage). The flash kernel (fp16 / bf16 on
   Ampere and later) allocates \`empty_like(query)\`, the query's time-first layout: no copy, none modelled
   (on a V100 or T4, without flash, fp16 runs the memory-efficient kernel and would copy: memplan does not
   know the card's architecture there and under-counts by ${gb(mhaCopy(64, 2))} at batch 64).
2. **The class token (modelled).** The descriptor runs VisionTransformer.forward as written: the patch
   tokens, \`torch.cat\` with the expanded class token, the position embedding added, the encoder on 197
   tokens, \`x[:, 0]\` to the head.
3. **The packed in-projection (modelled).** \`nn.MultiheadAttention\` registers one \`in_proj_weight\` [3072, 1024]
   where a hand-written attention has four [1024, 1024] projections: the same parameters, other block sizes,
   and memplan's \`transformer_encoder\` registers it packed, as PyTorch does (the BERT-large descriptor, whose
   BertSelfAttention has separate q, k, v linears, is written as an \`attention\` block in a group instead).
   What the layout is worth: ViT-L's parameter tensors in torchvision's order five times (weights, gradients,
   m, v, the step's sqrt(v)) through the simulated allocator reserve ${gb(pack2.packed)} packed and
   ${gb(pack2.separate)} separate in bf16 (${gb(pack2.packed - pack2.separate)}: 6 MiB blocks leave 4 MiB of a 20 MiB segment unused),
   ${gb(pack4.packed)} and ${gb(pack4.separate)} in fp32. The BERT "weights on the card" row below checks such a layout
   against nvidia-smi to the MiB.
4. **Not accounted for:** the bf16 runs stay under (batch 64 ${vitErr('rasbt-vit-l16-bs64-bf16')}, batch 16
   ${vitErr('rasbt-vit-l16-bs16-bf16')}, 4 x 4 ${vitErr('rasbt-vit-l16-bs4-ga4-bf16')}) by 0.35 to 0.7 GB, about one
   parameter-sized bf16 set (0.61 GB), more at small batches than at large. At these sizes reserved is mostly
   parameter-sized state (weights, gradients, m, v and the step's sqrt(v): 5 x 0.61 GB), so the gap is in how the
   real allocator lays that state out among the activation blocks step after step, or in something the scripts
   do that memplan does not model: Fabric's \`bf16-true\` conversion of the pretrained model, the validation
   pass in \`model.eval()\` (nn.MultiheadAttention's fast path) after the epoch, before
   \`max_memory_reserved\` is read. What exactly is not identified here, and this project cannot find out
   without a GPU. The validation script's \`--device cuda\` run records memory_stats() for exactly this
   ([accuracy-pytorch-cuda.md](accuracy-pytorch-cuda.md)). The cases stay in the table as they are.

## Before training: the weights on the card

The same page reads ${mib(setup.measured)} after moving bert-large-uncased to the card (the last row above).
memplan: the context (${mib(setup.context)}: the page's previous reading less the 2 MiB small-pool segment of its
test tensor) plus the caching allocator's segments for the 335,143,938 parameters, one tensor each, and the
test tensor: ${mib(setup.weights)} (the 2 MiB small segment, which also takes the biases and layer norms; 20 MiB
segments shared by the 4 MiB matrices; the 12, 16 and 120 MiB matrices in segments of their own). The weights
alone are 1,278.5 MiB; it is the segment sizes that make the difference, and they are what this row checks.

## Sources

${sources.map((s) => `- ${s.url}${s.also ? ` (also: ${s.also.trim()})` : ''}: ${s.setup.trim()}`).join('\n')}

## Not covered, and why

- **GPT-2, RoBERTa.** No published measurement with every setting (model, batch, sequence, precision,
  optimizer, trainer, PyTorch and CUDA versions) was found; an OOM report gives a lower bound, not a figure.
- **The ViT scripts' FSDP runs** (08 to 10 in the same log) ran on several GPUs whose count is not in the log.
- **An xlm-roberta-base SQuAD fine-tune** (a model card quoting the Trainer's memory metrics: batch 16, seq 384,
  fp32, max_memory_allocated 12,727,233,536 B; memplan ${XLMR}) is left out of the table: its URL could not be
  confirmed. Its config stays in bench/gpu/cases/ (hf-xlmr-base-squad.yaml).
- The cases come from two sources: one page, card and stack (a V100 with CUDA 11.2 and PyTorch <= 1.10) and one
  repository (PyTorch 2.1 nightly, CUDA 11.8). The GPU validation script measures current stacks.
`;
  const json = {
    cases: rows.map((r) => ({ name: r.name, config: r.config, level: r.level, measured: r.measured, memplan: r.memplan, error_pct: Number(r.errorPct.toFixed(3)) })),
    setup: { measured: setup.measured, memplan: setup.memplan },
    median_abs_error_pct: Number(med.toFixed(3)),
    max_abs_error_pct: Number(max.toFixed(3)),
    most_under_pct: Number(worstUnder.toFixed(3)),
    target_met: met,
    groups: { hf_bert_large: hf, vit_l16: vit },
  };
  return { md, json: JSON.stringify(json, null, 2) + '\n', med, max, worstUnder };
}

function main(): void {
  const r = render();
  writeFileSync(join(ROOT, 'docs', 'accuracy-gpu.md'), r.md);
  writeFileSync(join(ROOT, 'docs', 'accuracy-gpu.json'), r.json);
  console.log(`wrote docs/accuracy-gpu.md: median ${r.med.toFixed(2)}%, max ${r.max.toFixed(2)}%, most under ${r.worstUnder.toFixed(2)}%`);
}

const CONTEXT_MIB = 1343;
const HF_URL = 'https://huggingface.co/docs/transformers/v4.28.1/en/perf_train_gpu_one';
const VIT_URL = 'https://github.com/rasbt/pytorch-memory-optim/blob/main/logs.md';
const XLMR = (() => {
  const { model, run } = loadCase('hf-xlmr-base-squad.yaml');
  const e = estimate(model, run);
  return `${mib(e.allocator!.allocated_peak)} (${err(pct(e.allocator!.allocated_peak, 12727233536))})`;
})();

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
