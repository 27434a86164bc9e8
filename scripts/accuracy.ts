/**
 * `npm run accuracy`: probes the suite (scripts/accuracy-suite.ts) in TensorFlow.js and writes
 * docs/accuracy.md through accuracyDoc(), the function the staleness test (test/docs/accuracy.test.ts)
 * calls on the committed page's measured column: predictions, errors and headline come from one place.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../src/io/load.js';
import { probe, TOLERANCE_PCT } from '../src/probe/probe.js';
import { accuracyCases, accuracyDoc, caseConfig, errorPct, type AccuracyMeasurement } from './accuracy-table.js';

const measured: AccuracyMeasurement[] = [];
let worst = 0;
const t0 = Date.now();
for (const c of accuracyCases()) {
  const { model, run } = caseConfig(c);
  const r = await probe(model, run, { backend: c.backend });
  for (const s of r.steps) {
    measured.push({ name: c.name, optimizer: c.optimizer, backend: r.backend, step: s.step, measured: s.measured });
    worst = Math.max(worst, Math.abs(errorPct(s)));
  }
  process.stderr.write(`${c.name} ${c.optimizer} ${r.backend}: ${r.steps.map((s) => `${s.measured} vs ${s.predicted}`).join(', ')} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
}
const tfjs = (JSON.parse(readFileSync(join(ROOT, 'node_modules/@tensorflow/tfjs/package.json'), 'utf8')) as { version: string }).version;
writeFileSync(join(ROOT, 'docs', 'accuracy.md'), accuracyDoc(measured, { seconds: (Date.now() - t0) / 1000, tfjs }));
process.stderr.write(`docs/accuracy.md: ${measured.length} rows, worst error ${worst.toFixed(4)}%\n`);
process.exitCode = worst <= TOLERANCE_PCT ? 0 : 1;
