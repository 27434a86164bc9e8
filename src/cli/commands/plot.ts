/**
 * `memplan plot [config]`: the pictures, as SVG (default) or a single-file HTML report. The numbers
 * come from the same estimator as `estimate`; src/report/plot.ts draws them.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { MemplanError } from '../../core/errors.js';
import { estimateOn, stepTotals, traceRun, type Preset } from '../../core/estimate.js';
import type { ModelDescriptor, RunConfig } from '../../core/model.js';
import { maxBatch } from '../../core/recommend.js';
import { deviceRules } from '../../core/runtime/pytorch-ops.js';
import { simulatePytorch } from '../../core/runtime/pytorch-sim.js';
import { size } from '../../core/units.js';
import { plotHtml, plotSvg, type BatchSeries, type BreakdownBar, type PlotData, type Timeline, type TimelinePoint } from '../../report/plot.js';
import { examplesText, UNITS_HELP } from '../common.js';
import { EXIT, type CommandContext } from '../context.js';
import { configArg } from '../discover.js';
import { withConfig } from '../config.js';
import { display } from '../../io/files.js';
import { getPreset } from '../../io/load.js';
import { collect, parseFormat, parseNumber } from '../options.js';
import { LIMITS } from '../../core/limits.js';

interface PlotCliOptions {
  gpu?: string;
  set?: string[];
  format?: string;
  output?: string;
  maxBatch?: string;
  allowOutside?: boolean;
}

/** About 40 micro-batches from 1 to xMax, each a whole number. */
function batchGrid(xMax: number): number[] {
  const n = Math.min(xMax, 40);
  return [...new Set(Array.from({ length: n }, (_, i) => Math.max(1, Math.round(1 + ((xMax - 1) * i) / Math.max(n - 1, 1)))))];
}

/** Device total per card over micro-batches, and each card's first micro-batch over its capacity. */
export function batchSeries(model: ModelDescriptor, run: RunConfig, presets: Preset[], xMaxOpt?: number): BatchSeries[] {
  const ooms = presets.map((p) => maxBatch(model, run, { preset: p, gpus: run.distributed.gpus }, { margin: { bytes: 0 } }).max_batch + 1);
  const xMax = xMaxOpt ?? Math.max(Math.ceil(1.25 * Math.max(...ooms)), 2 * run.batch_size, 4);
  const totals = new Map<number, number[]>();
  for (const m of [...batchGrid(xMax), ...ooms.filter((o) => o <= xMax)]) {
    if (totals.has(m)) continue;
    const r = { ...run, batch_size: m };
    const traced = traceRun(model, r);
    totals.set(m, presets.map((p) => stepTotals(traced, r, p).deviceTotal));
  }
  const ms = [...totals.keys()].sort((a, b) => a - b);
  return presets.map((p, i) => ({
    card: p.id,
    capacity: p.capacity_bytes,
    points: ms.map((m) => ({ batch: m, total: totals.get(m)![i]! })),
    ...(ooms[i]! <= xMax ? { oom: { batch: ooms[i]!, total: totals.get(ooms[i]!)![i]! } } : {}),
  }));
}

export function breakdownBars(model: ModelDescriptor, run: RunConfig, presets: Preset[]): BreakdownBar[] {
  return estimateOn(model, run, presets).map((e, i) => ({ card: presets[i]!.id, capacity: presets[i]!.capacity_bytes, parts: e.components.map((c) => ({ name: c.name, bytes: c.bytes })) }));
}

/**
 * Allocated bytes over one steady-state step: the persistent bytes (weights, optimizer state, ...) plus
 * the simulation's alloc/free events of micro-batch 1, then the optimizer step.
 */
export function stepTimeline(model: ModelDescriptor, run: RunConfig, preset?: Preset): Timeline {
  const traced = traceRun(model, run);
  const sim = simulatePytorch(traced.trace, deviceRules(run.device, run.pytorch), model.blocks.length, { events: true });
  const s = stepTotals(traced, run, preset);
  const base = s.firstSteady - (sim.first.bytes + sim.first.paramGrads);
  const points: TimelinePoint[] = [{ x: 0, bytes: base, phase: 'forward' }];
  let cur = base;
  (sim.events ?? []).forEach((e, i) => {
    cur += e.kind === 'alloc' ? e.bytes : -e.bytes;
    points.push({ x: i + 1, bytes: cur, phase: e.phase });
  });
  const n = points.length;
  points.push({ x: n, bytes: s.optPhase, phase: 'optimizer step' }, { x: n + Math.max(Math.ceil(n * 0.08), 1), bytes: s.persistentNoState + s.state, phase: 'optimizer step' });
  const later = run.grad_accum === 2 ? 'micro-batch 2' : `micro-batches 2..${run.grad_accum}`;
  const note = run.grad_accum > 1 ? `; ${later}, not drawn, peak at ${size(s.laterSteady)}` : '';
  return { points, source: 'events', title: `allocated bytes over one step, micro-batch ${run.batch_size} (predicted)`, note };
}

export function plotData(model: ModelDescriptor, run: RunConfig, presets: Preset[], label: string, xMax?: number): PlotData {
  if (run.runtime === 'tfjs') throw new MemplanError('E_CONFIG', 'plot draws the pytorch runtime', { path: 'runtime', expected: 'runtime: pytorch', hint: '--set runtime=pytorch' });
  return {
    title: `memplan: ${model.name} (${label})`,
    batchTitle: `${presets.some((p) => p.kind === 'host') || run.device === 'cpu' ? 'process total (RSS)' : 'device total'} vs micro-batch, ${run.grad_accum > 1 ? `accumulation ${run.grad_accum}, ` : ''}the rest as configured`,
    breakdownTitle: `breakdown at micro-batch ${run.batch_size}`,
    series: batchSeries(model, run, presets, xMax),
    bars: breakdownBars(model, run, presets),
    timeline: stepTimeline(model, run, presets[0]),
  };
}

export function registerPlot(program: Command, ctx: CommandContext): void {
  program
    .command('plot [config]')
    .description('draw memory vs micro-batch per card (capacity line, OOM point), the breakdown, and one step\'s allocated bytes over time')
    .option('--gpu <list>', 'cards, comma-separated (default: the config\'s gpu)')
    .option('--set <key=value>', 'override a run setting or a dimension (repeatable)', collect, [])
    .option('--format <format>', 'svg | html (a single-file report)', 'svg')
    .option('-o, --output <file>', 'write to a file (default: stdout)')
    .option('--max-batch <n>', 'the largest micro-batch on the x axis (default: 1.25 x the largest card\'s OOM point)')
    .option('--units <system>', UNITS_HELP)
    .option('--allow-outside', "let the config's model: name a file outside the config's repository (docs/security.md)")
    .addHelpText('after', examplesText([
      'memplan plot -o memory.svg',
      'memplan plot models/peptide/current-48x2.yaml --gpu 4090,a100,h100 --format html -o peptide.html',
    ]))
    .action((file: string | undefined, o: PlotCliOptions) => {
      const format = parseFormat(o.format, ['svg', 'html']);
      // A plain whole number: Number(' ') is 0 and Number('0x10') 16.
      const xMax = parseNumber(o.maxBatch, '--max-batch', { integer: true, min: 1, max: LIMITS.dimension });
      withConfig(configArg(file), o.set ?? [], (cfg) => {
        const ids = o.gpu?.split(',').map((s) => s.trim()) ?? cfg.run.gpu ?? cfg.run.budget?.gpu;
        if (!ids?.length) throw new MemplanError('E_OPTION', 'no card given', { path: '--gpu', hint: 'pass --gpu ID (memplan gpus lists them) or set gpu: in the config' });
        const presets = ids.map(getPreset);
        const d = plotData(cfg.model, cfg.run, presets, display(cfg.file), xMax);
        const text = format === 'html' ? plotHtml(d, size, cfg.run.notes ?? []) : plotSvg(d, size);
        if (o.output === undefined) {
          ctx.io.stdout.write(text);
        } else {
          try {
            writeFileSync(o.output, text);
          } catch (e) {
            throw new MemplanError('E_FILE', `cannot write ${o.output}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { path: '--output' });
          }
          ctx.io.stdout.write(`wrote ${o.output}\n`);
        }
        ctx.exit = EXIT.OK;
      }, { allowOutside: o.allowOutside });
    });
}
