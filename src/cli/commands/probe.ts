/**
 * `memplan probe <config>`: runs two training steps in TensorFlow.js and prints measured vs
 * predicted (tfjs runtime) peak bytes per step. Exit 0 when every step is within 1%, 1 when not,
 * 2 on bad input or a probe that would not fit the backend.
 */
import Table from 'cli-table3';
import type { Command } from 'commander';
import { size } from '../../core/units.js';
import type { BackendChoice } from '../../probe/backend.js';
import type { ProbeResult } from '../../probe/probe.js';
import { withConfig } from '../config.js';
import { display } from '../../io/files.js';
import { EXIT, type CommandContext } from '../context.js';
import { BACKENDS, collect, parseBackend, parseFormat, parseNumber } from '../options.js';
import { configArg } from '../discover.js';
import { examplesText, UNITS_HELP } from '../common.js';
import { wrap } from '../format/estimate.js';
import { probeVariant } from '../../probe/variant.js';
import { twinLine, twinScope, type TwinFacts } from '../../probe/wording.js';

interface ProbeCliOptions {
  backend?: string;
  steps?: string;
  scale?: string;
  set?: string[];
  format?: string;
  allowOutside?: boolean;
}

export function renderProbe(r: ProbeResult, label: string, twin: TwinFacts = { backend: r.backend, configBatch: r.batch_size, batch: r.batch_size, scale: r.scale, changes: [], ok: r.ok, maxErrorPct: r.maxErrorPct }): string {
  const out = [
    `memplan probe: a TensorFlow.js twin of ${r.model} (${label}) on the ${r.backend} backend`,
    `batch ${r.batch_size}${r.scale !== 1 ? ` (scaled by ${r.scale})` : ''} · tf.train.${r.optimizer} · dims ${Object.entries(r.dims).map(([k, v]) => `${k}=${v}`).join(', ')}`,
    `allocated before step 1 (weights, inputs): predicted ${size(r.baseline.predicted)}, measured ${size(r.baseline.measured)}`,
  ];
  const t = new Table({ head: ['step', 'predicted peak', 'measured peak', 'error', 'new bytes (pred/meas)', 'time'], style: { head: [], border: [] } });
  for (const s of r.steps) {
    t.push([String(s.step), size(s.predicted), size(s.measured), `${s.errorPct.toFixed(3)}%`, `${s.predictedNewBytes} / ${s.measuredNewBytes}`, `${(s.ms / 1000).toFixed(2)} s`]);
  }
  out.push(t.toString());
  out.push('peak = tf.profile(step).peakBytes - tf.memory().numBytes before the step; predicted = `runtime: tfjs` estimate');
  if (r.device) out.push(`device memory (nvidia-smi): ${r.device.usedBeforeMiB} MiB before, ${r.device.usedAfterMiB} MiB after`);
  if (r.device) out.pop();
  if (r.device) out.push(`GPU memory of the tfjs process (nvidia-smi): ${r.device.usedBeforeMiB} MiB before, ${r.device.usedAfterMiB} MiB after`);
  const [verdict, ...scope] = twinScope(twin);
  out.push(wrap(twinLine(twin)), wrap(`verdict: ${verdict}`), ...scope.map((l) => wrap(l)));
  for (const n of r.notes) out.push(wrap(`note: ${n}`));
  return out.join('\n') + '\n';
}

export function registerProbe(program: Command, ctx: CommandContext): void {
  program
    .command('probe [config]')
    .description('build the model in TensorFlow.js, run training steps 1 and 2, and compare measured peak bytes with the tfjs estimate')
    .option('--backend <name>', `${BACKENDS.join(' | ')} (default: the first available of node-gpu, node, wasm, cpu)`)
    .option('--steps <n>', 'training steps to run', '2')
    .option('--scale <f>', 'shrink batch (then sequence) by this factor, for configs too big to probe')
    .option('--set <key=value>', 'override a run setting or a dimension (repeatable)', collect, [])
    .option('--format <format>', 'table | json', 'table')
    .option('--units <system>', UNITS_HELP)
    .option('--allow-outside', "let the config's model: name a file outside the config's repository (docs/security.md)")
    .addHelpText('after', examplesText([
      'memplan probe models/mini-transformer/probe.yaml',
      'memplan probe models/aam/baseline.yaml --scale 0.01 --backend cpu',
      'memplan probe config.yaml --format json',
    ]))
    .action(async (file: string | undefined, o: ProbeCliOptions) => {
      const format = parseFormat(o.format, ['table', 'json']);
      const backend: BackendChoice | undefined = parseBackend(o.backend);
      const steps = parseNumber(o.steps, '--steps', { integer: true, min: 1, max: 10 });
      const scale = parseNumber(o.scale, '--scale', { above: 0, max: 1 });
      await withConfig(configArg(file), o.set ?? [], async (cfg) => {
        const { probe } = await import('../../probe/probe.js');
        // The probe runs a twin tfjs can hold (fp32, eager, one micro-batch, ...): say what changed.
        const twin = probeVariant(cfg.run);
        const r = await probe(cfg.model, twin.run, {
          backend,
          steps,
          scale,
          onProgress: (line) => ctx.io.stderr.write(line + '\n'),
        });
        const facts: TwinFacts = { backend: r.backend, configBatch: cfg.run.batch_size, batch: r.batch_size, scale: r.scale, changes: twin.changes, ok: r.ok, maxErrorPct: r.maxErrorPct };
        const json = { ...r, twin: { changes: twin.changes, config_batch: cfg.run.batch_size, scope: [twinLine(facts), ...twinScope(facts)] } };
        ctx.io.stdout.write(format === 'json' ? JSON.stringify(json, null, 2) + '\n' : renderProbe(r, display(cfg.file), facts));
        ctx.exit = r.ok ? EXIT.OK : EXIT.OVER;
      }, { allowOutside: o.allowOutside });
    });
}
