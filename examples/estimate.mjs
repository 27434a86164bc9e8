// Runnable example of memplan's library API (docs/api.md): `node examples/estimate.mjs`.
// In a project that installed memplan, the import is the same: `from 'memplan'`.
import { estimateFile, loadPreset, loadRun, maxBatch, recommend } from 'memplan';

const config = new URL('../models/mini-transformer/config.yaml', import.meta.url).pathname;

// One call: the file, on a card named by id or alias.
const est = estimateFile(config, { gpu: '4090' });
console.log(`${est.model} on ${est.gpu.name}: ${(est.device_total / 2 ** 20).toFixed(1)} MiB, fits: ${est.fits}`);
for (const c of est.components) console.log(`  ${c.name}: ${c.bytes} B`);

// The parts: a loaded run, a preset, and the searches the CLI's recommend uses.
const { model, run } = loadRun(config);
const h100 = loadPreset('h100');
const mb = maxBatch(model, run, { preset: h100, gpus: 1 }, { margin: { fraction: 0.1 } });
console.log(`largest micro-batch on ${h100.id} leaving 10%: ${mb.max_batch}`);
const rec = recommend(model, run, { targets: [{ preset: h100, gpus: 1 }], effectiveBatch: 256, top: 3 });
console.log(`top choice at effective batch 256: ${rec.targets[0].summary}`);
