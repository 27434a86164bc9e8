#!/usr/bin/env node
// Holds memplan's estimates of imported Hugging Face configs to the real transformers models: runs
// bench/hf/measure.py (needs torch, transformers, peft: /work/venv or $PYTHON) and bench/hf/params.py
// (parameter counts and Accelerate's estimate-memory), then writes docs/accuracy-hf.md (+ .json) through
// accuracyHf() (scripts/accuracy-hf.ts), the function test/docs/generated-docs.test.ts calls on the
// committed .json's measurement. Not part of `npm test`.
// usage: npm run validate:hf [-- --measured FILE] [-- NAME ...]
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { accuracyHf, storedHfMeasurement } from '../dist/scripts/accuracy-hf.js';

const root = resolve(import.meta.dirname, '..');
const argv = process.argv.slice(2);
let measured;
const names = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--measured') measured = argv[++i];
  else names.push(argv[i]);
}
const python = process.env.PYTHON ?? '/work/venv/bin/python';
if (!measured) {
  measured = join(root, 'bench/hf/measured.json');
  execFileSync(python, [join(root, 'bench/hf/params.py')], { stdio: ['ignore', 'inherit', 'inherit'] });
  execFileSync(python, [join(root, 'bench/hf/measure.py'), '--out', measured, ...names], { stdio: ['ignore', 'inherit', 'inherit'] });
}
const text = readFileSync(measured, 'utf8');
const data = JSON.parse(text);
const r = accuracyHf(data.measured ? storedHfMeasurement(text) : data);
writeFileSync(join(root, 'docs/accuracy-hf.md'), r.md);
writeFileSync(join(root, 'docs/accuracy-hf.json'), r.json);
console.log(`validate:hf: ${r.rows.length} architectures, median |error| ${r.median.toFixed(2)}%, max ${r.max.toFixed(2)}% -> docs/accuracy-hf.md`);
process.exitCode = r.met ? 0 : 1;
