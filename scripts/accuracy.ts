/**
 * `npm run accuracy`: probes the suite (scripts/accuracy-suite.ts) in TensorFlow.js and writes the
 * table of predicted (runtime: tfjs) vs measured peak bytes to docs/accuracy.md. The staleness test
 * (test/probe/accuracy.test.ts) recomputes the predictions and checks every error is within 1%.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, ROOT } from '../src/cli/load.js';
import { normalizeRun, validateModel, type ModelDescriptor, type RunConfig } from '../src/core/model.js';
import { probe, TOLERANCE_PCT } from '../src/probe/probe.js';
import { accuracyCases, renderAccuracy, type AccuracyRow } from './accuracy-table.js';

const rows: AccuracyRow[] = [];
const t0 = Date.now();
for (const c of accuracyCases()) {
  let model: ModelDescriptor;
  let run: RunConfig;
  if (c.file) {
    const cfg = loadConfig(join(ROOT, c.file), (raw) => (raw.optimizer = c.optimizer));
    model = cfg.model;
    run = cfg.run;
  } else {
    model = validateModel(c.model);
    run = normalizeRun({ model: {}, ...c.run, optimizer: c.optimizer });
  }
  const r = await probe(model, run, { backend: c.backend });
  for (const s of r.steps) {
    rows.push({ name: c.name, covers: c.covers, optimizer: c.optimizer, backend: r.backend, step: s.step, predicted: s.predicted, measured: s.measured });
  }
  process.stderr.write(`${c.name} ${c.optimizer} ${r.backend}: ${r.steps.map((s) => `${s.measured} vs ${s.predicted}`).join(', ')} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
}
writeFileSync(join(ROOT, 'docs', 'accuracy.md'), renderAccuracy(rows, { seconds: (Date.now() - t0) / 1000 }));
const worst = Math.max(...rows.map((r) => Math.abs((100 * (r.measured - r.predicted)) / r.measured)));
process.stderr.write(`docs/accuracy.md: ${rows.length} rows, worst error ${worst.toFixed(4)}%\n`);
process.exitCode = worst <= TOLERANCE_PCT ? 0 : 1;
