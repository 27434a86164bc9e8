#!/usr/bin/env node
// Holds memplan to independent PyTorch programs: estimates every descriptor in
// bench/torch/programs/descriptors/ (written from the programs' code) for the torch version and device
// that measured it, compares forward_saved, the step 1 and step 2 peaks (training) or the forward peak
// (inference) with bench/torch/programs/measured-<version>.json, and writes docs/accuracy-programs.md
// (+ .json) through accuracyPrograms() (scripts/accuracy-programs.ts), the function
// test/docs/generated-docs.test.ts calls on the committed .json's stored measurement. No PyTorch needed:
// the measurements are committed (re-measure with bench/torch/run_programs.py, see its README).
// usage: npm run validate:programs [-- --measured FILE ...]   (default: both committed measurements)
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { accuracyPrograms, MEASURED_FILES, readProgramsMeasurement } from '../dist/scripts/accuracy-programs.js';

const root = resolve(import.meta.dirname, '..');
const argv = process.argv.slice(2);
const files = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--measured') files.push(resolve(argv[++i]));
  else {
    console.error(`validate:programs: unknown argument ${argv[i]} (usage: --measured FILE ...)`);
    process.exit(2);
  }
}
const measurements = (files.length ? files : MEASURED_FILES).map((f) => readProgramsMeasurement(readFileSync(f, 'utf8')));
const r = accuracyPrograms(measurements);
writeFileSync(join(root, 'docs/accuracy-programs.md'), r.md);
writeFileSync(join(root, 'docs/accuracy-programs.json'), r.json);
for (const v of r.versions) {
  console.log(`validate:programs: torch ${v.torch}: ${v.rows.length} programs, ${v.quantities} quantities, median |error| ${v.median.toFixed(2)}%, max ${v.max.toFixed(2)}%`);
}
for (const f of r.failed) console.log(`  ${f}`);
console.log('-> docs/accuracy-programs.md');
process.exitCode = r.met ? 0 : 1;
