#!/usr/bin/env node
// Holds memplan's PyTorch estimates to real PyTorch: runs bench/torch/validate.py (needs PyTorch, e.g.
// Debian's `apt-get install python3-torch python3-yaml`, used as /usr/bin/python3 unless $PYTHON is set)
// on every run config in bench/torch/cases/, and writes docs/accuracy-pytorch.md (+ .json) through
// accuracyPytorch() (scripts/accuracy-pytorch.ts), the function test/docs/accuracy-pytorch.test.ts calls
// on the committed .json's measurement. Not part of `npm test`: CI has no PyTorch.
// usage: npm run validate:torch [-- --device cuda] [-- --measured FILE] [-- CONFIG.yaml ...]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { accuracyPytorch, CASE_TARGET_PCT, readMeasurement } from '../dist/scripts/accuracy-pytorch.js';

const root = resolve(import.meta.dirname, '..');
// --device cpu|cuda, --measured FILE (reuse an earlier validate.py output, or a committed docs/accuracy-pytorch*.json,
// instead of running PyTorch: after editing bench/torch/ACCURACY_head.md or the estimator), configs.
const opts = { device: 'cpu', measured: undefined };
const files = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--device' || argv[i] === '--measured') opts[argv[i].slice(2)] = argv[++i];
  else files.push(argv[i]);
}
const casesDir = join(root, 'bench/torch/cases');
const configs = files.length ? files.map((f) => resolve(f)) : readdirSync(casesDir).filter((f) => f.endsWith('.yaml')).sort().map((f) => join(casesDir, f));
const python = process.env.PYTHON ?? '/usr/bin/python3';

let out = opts.measured;
if (!out) {
  out = join(mkdtempSync(join(tmpdir(), 'memplan-torch-')), 'measured.json');
  execFileSync(python, [join(root, 'bench/torch/validate.py'), '--device', opts.device, '--out', out, ...configs], { stdio: ['ignore', 'inherit', 'inherit'] });
}
const r = accuracyPytorch(readMeasurement(readFileSync(out, 'utf8')));
writeFileSync(join(root, 'docs', `${r.docName}.md`), r.md);
writeFileSync(join(root, 'docs', `${r.docName}.json`), r.json);
console.log(`validate:torch: ${r.rows.length} cases, median |error| ${r.median.toFixed(2)}%, max ${r.max.toFixed(2)}% -> docs/${r.docName}.md`);
for (const f of r.failed) console.log(`  outside ${CASE_TARGET_PCT}%: ${f.name}${f.error ? ` (${f.error})` : ''}${f.param_mismatch ? ` (parameters differ: ${f.param_mismatch})` : ''}`);
process.exitCode = r.met ? 0 : 1;
