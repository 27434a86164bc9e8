/**
 * `memplan probe <config>`: runs two training steps in TensorFlow.js and prints measured vs
 * predicted (tfjs runtime) peak bytes per step. Exit 0 when every step is within 1%, 1 when not,
 * 2 on bad input or a probe that would not fit the backend.
 */
import Table from 'cli-table3';
import type { Command } from 'commander';
import { MemplanError } from '../../core/errors.js';
import { formatBytes } from '../../core/units.js';
import type { BackendChoice } from '../../probe/backend.js';
import type { ProbeResult } from '../../probe/probe.js';
import { display, withConfig } from '../load.js';
import { EXIT, type CommandContext } from '../context.js';
import { collect, parseFormat } from '../options.js';

interface ProbeCliOptions {
  backend?: string;
  steps?: string;
  scale?: string;
  set?: string[];
  format?: string;
}

const CHOICES = ['wasm', 'cpu', 'node', 'node-gpu'];

function num(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isFinite(x)) throw new MemplanError('E_OPTION', `${flag} ${v} is not a number`, { path: flag });
  return x;
}

export function renderProbe(r: ProbeResult, label: string): string {
  const out = [
    `memplan probe: ${r.model} (${label}) on the TensorFlow.js ${r.backend} backend`,
    `batch ${r.batch_size}${r.scale !== 1 ? ` (scaled by ${r.scale})` : ''} · tf.train.${r.optimizer} · dims ${Object.entries(r.dims).map(([k, v]) => `${k}=${v}`).join(', ')}`,
    `allocated before step 1 (weights, inputs): predicted ${formatBytes(r.baseline.predicted)}, measured ${formatBytes(r.baseline.measured)}`,
  ];
  const t = new Table({ head: ['step', 'predicted peak', 'measured peak', 'error', 'new bytes (pred/meas)', 'time'], style: { head: [], border: [] } });
  for (const s of r.steps) {
    t.push([String(s.step), formatBytes(s.predicted), formatBytes(s.measured), `${s.errorPct.toFixed(3)}%`, `${s.predictedNewBytes} / ${s.measuredNewBytes}`, `${(s.ms / 1000).toFixed(2)} s`]);
  }
  out.push(t.toString());
  out.push('peak = tf.profile(step).peakBytes - tf.memory().numBytes before the step; predicted = `runtime: tfjs` estimate');
  if (r.device) out.push(`device memory (nvidia-smi): ${r.device.usedBeforeMiB} MiB before, ${r.device.usedAfterMiB} MiB after`);
  out.push(r.ok ? `verdict: estimate within 1% on every step (max ${r.maxErrorPct.toFixed(3)}%)` : `verdict: estimate OFF by up to ${r.maxErrorPct.toFixed(3)}% (over 1%)`);
  for (const n of r.notes) out.push(`note: ${n}`);
  return out.join('\n') + '\n';
}

export function registerProbe(program: Command, ctx: CommandContext): void {
  program
    .command('probe <config>')
    .description('build the model in TensorFlow.js, run training steps 1 and 2, and compare measured peak bytes with the tfjs estimate')
    .option('--backend <name>', `${CHOICES.join(' | ')} (default: the first available of node-gpu, node, wasm, cpu)`)
    .option('--steps <n>', 'training steps to run', '2')
    .option('--scale <f>', 'shrink batch (then sequence) by this factor, for configs too big to probe')
    .option('--set <key=value>', 'override a run setting or a dimension (repeatable)', collect, [])
    .option('--format <format>', 'table | json', 'table')
    .action(async (file: string, o: ProbeCliOptions) => {
      const format = parseFormat(o.format, ['table', 'json']);
      if (o.backend !== undefined && !CHOICES.includes(o.backend)) {
        throw new MemplanError('E_OPTION', `unknown backend "${o.backend}"`, { path: '--backend', expected: CHOICES.join(', ') });
      }
      await withConfig(file, o.set ?? [], async (cfg) => {
        const { probe } = await import('../../probe/probe.js');
        const r = await probe(cfg.model, cfg.run, {
          backend: o.backend as BackendChoice | undefined,
          steps: num(o.steps, '--steps'),
          scale: num(o.scale, '--scale'),
          onProgress: (line) => ctx.io.stderr.write(line + '\n'),
        });
        ctx.io.stdout.write(format === 'json' ? JSON.stringify(r, null, 2) + '\n' : renderProbe(r, display(cfg.file)));
        ctx.exit = r.ok ? EXIT.OK : EXIT.OVER;
      });
    });
}
