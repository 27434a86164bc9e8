/**
 * `npm run bench`: how many candidate configs per second `recommend` searches. The space is the
 * README's mini-transformer on 2 x RTX 4090 at effective batch 1440 (720 per GPU: 30 micro-batch
 * splits) with EMA on, precision, sequence length and depth allowed to vary: every knob of the search
 * is in play. Prints the candidates, distinct traces, wall time and candidates/second (median of 3),
 * plus the per-candidate rate of the cheap half alone (stepTotals over a cached trace).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllow, recommend, stepTotals, traceRun } from '../src/index.js';
import { getPreset, loadConfig } from '../src/io/load.js';
import { applySets } from '../src/cli/options.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const cfg = loadConfig(join(ROOT, 'models', 'mini-transformer', 'config.yaml'), (raw) => applySets(raw, ['ema=true']));
const preset = getPreset('rtx-4090');
const opts = {
  targets: [{ preset, gpus: 2 }],
  effectiveBatch: 1440,
  allow: ['precision=bf16-mixed,fp16-mixed', 'seq=32..128', 'layers=1..2'].map(parseAllow),
};

// CPU time of this process as well as wall time: on a shared machine the wall clock includes waiting.
const runs: { ms: number; cpuMs: number; evaluated: number; pruned: number; traces: number }[] = [];
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const r = recommend(cfg.model, cfg.run, opts);
  const c = process.cpuUsage(c0);
  const ms = performance.now() - t0;
  const s = r.targets[0]!.searched;
  runs.push({ ms, cpuMs: (c.user + c.system) / 1000, evaluated: s.evaluated, pruned: s.pruned, traces: s.traces });
}
runs.sort((a, b) => a.cpuMs - b.cpuMs);
const med = runs[1]!;
const candidates = med.evaluated + med.pruned;

// The cheap half alone: 100,000 evaluations over one cached trace.
const traced = traceRun(cfg.model, cfg.run);
const n = 100_000;
const t1 = performance.now();
let sink = 0;
for (let i = 0; i < n; i++) {
  cfg.run.optimizer.impl = i % 2 ? 'fused' : 'foreach';
  sink += stepTotals(traced, cfg.run, preset).deviceTotal;
}
const cheapMs = performance.now() - t1;

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
console.log(`recommend search, ${cfg.model.name} on 2 x ${preset.id}, effective batch 1440, node ${process.version}:`);
console.log(`  ${fmt(candidates)} candidate configs (${fmt(med.evaluated)} evaluated, ${fmt(med.pruned)} skipped as over by monotonicity), ${fmt(med.traces)} distinct traces`);
console.log(`  wall ${med.ms.toFixed(0)} ms, CPU ${med.cpuMs.toFixed(0)} ms (median of 3 by CPU: ${runs.map((r) => r.cpuMs.toFixed(0)).join(', ')} ms)`);
console.log(`  = ${fmt((candidates / med.ms) * 1000)} candidates/s wall, ${fmt((candidates / med.cpuMs) * 1000)} candidates/s CPU; ${(med.cpuMs / med.traces).toFixed(2)} ms CPU per trace incl. its candidates`);
console.log(`  cheap half alone: ${fmt((n / cheapMs) * 1000)} stepTotals evaluations/s (${((cheapMs / n) * 1000).toFixed(2)} us each)${sink < 0 ? '' : ''}`);
