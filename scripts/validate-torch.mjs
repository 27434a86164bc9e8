#!/usr/bin/env node
// Holds memplan's PyTorch estimates to real PyTorch: runs bench/torch/validate.py (needs PyTorch, e.g.
// Debian's `apt-get install python3-torch python3-yaml`, used as /usr/bin/python3 unless $PYTHON is set)
// on every run config in bench/torch/cases/, and writes docs/accuracy-pytorch.md (+ .json) through
// accuracyPytorch() (scripts/accuracy-pytorch.ts), the function test/docs/accuracy-pytorch.test.ts calls
// on the committed .json's measurement. Not part of `npm test`: CI has no PyTorch.
// --device cuda runs a short GPU list (CUDA_CASES, under 8 minutes) and writes docs/accuracy-pytorch-cuda.md:
// allocated, reserved, the device total and the context beside memplan's; without a GPU that page says so.
// usage: npm run validate:torch [-- --device cuda] [-- --measured FILE] [-- --doc-dir DIR] [-- --budget-s N] [-- CONFIG.yaml ...]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { accuracyPytorch, CASE_TARGET_PCT, notRunPage, readMeasurement } from '../dist/scripts/accuracy-pytorch.js';

const root = resolve(import.meta.dirname, '..');
// --device cpu|cuda, --measured FILE (reuse an earlier validate.py output, or a committed docs/accuracy-pytorch*.json,
// instead of running PyTorch: after editing bench/torch/ACCURACY_head.md or the estimator), --doc-dir DIR (write
// the page elsewhere than docs/: the dry-run test), --budget-s N (validate.py starts no case after N seconds;
// default 420 on cuda, so the run stays under 8 minutes), configs.
const opts = { device: 'cpu', measured: undefined, 'doc-dir': join(root, 'docs'), 'budget-s': undefined };
const files = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const key = argv[i].slice(2);
  if (argv[i].startsWith('--') && key in opts) opts[key] = argv[++i];
  else files.push(argv[i]);
}
const casesDir = join(root, 'bench/torch/cases');
// The GPU list: short (each case one warm-up and two steps), CPU cases that cover the step's parts, and
// bench/torch/cases/cuda/ (sizes only a GPU runs in seconds: SDPA kernels, kept gradients, the allocator).
const CUDA_CASES = [
  'dense_adamw_foreach', 'dense_accum4', 'opt_adam_foreach_ema', 'attention', 'encoder_postnorm', 'encoder_postnorm_bf16',
  'encoder_ckpt', 'conv2d', 'seed003_aam', 'cuda/vit_like_fp32', 'cuda/vit_like_bf16', 'cuda/vit_like_keep_grads_accum',
];
const defaults = opts.device === 'cuda'
  ? CUDA_CASES.map((c) => join(casesDir, `${c}.yaml`))
  : readdirSync(casesDir).filter((f) => f.endsWith('.yaml')).sort().map((f) => join(casesDir, f));
const configs = files.length ? files.map((f) => resolve(f)) : defaults;
const python = process.env.PYTHON ?? '/usr/bin/python3';
const docDir = resolve(opts['doc-dir']);
const budget = Number(opts['budget-s'] ?? (opts.device === 'cuda' ? 420 : 0));

let out = opts.measured;
if (!out) {
  out = join(mkdtempSync(join(tmpdir(), 'memplan-torch-')), 'measured.json');
  execFileSync(python, [join(root, 'bench/torch/validate.py'), '--device', opts.device, '--budget-s', String(budget), '--out', out, ...configs], { stdio: ['ignore', 'inherit', 'inherit'] });
}
const measured = readMeasurement(readFileSync(out, 'utf8'));
if (measured.unavailable) {
  writeFileSync(join(docDir, 'accuracy-pytorch-cuda.md'), notRunPage(measured, CUDA_CASES, budget || 420));
  console.log(`validate:torch: no GPU (${measured.unavailable}) -> docs/accuracy-pytorch-cuda.md says so`);
  process.exit(2);
}
const r = accuracyPytorch(measured);
writeFileSync(join(docDir, `${r.docName}.md`), r.md);
writeFileSync(join(docDir, `${r.docName}.json`), r.json);
console.log(`validate:torch: ${r.rows.length} cases, median |error| ${r.median.toFixed(2)}%, max ${r.max.toFixed(2)}% -> docs/${r.docName}.md`);
for (const f of r.failed) console.log(`  outside ${CASE_TARGET_PCT}%: ${f.name}${f.error ? ` (${f.error})` : ''}${f.param_mismatch ? ` (parameters differ: ${f.param_mismatch})` : ''}`);
process.exitCode = r.met ? 0 : 1;
