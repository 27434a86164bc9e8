import type { Command } from 'commander';
import { estimate, type Estimate, type Preset } from '../../core/estimate.js';
import { MemplanError } from '../../core/errors.js';
import { renderJson, renderMarkdown, renderTable } from '../format/estimate.js';
import { display, getPreset, loadConfig, type LoadedConfig } from '../load.js';
import { EXIT, type CommandContext } from '../main.js';
import { applySets, collect, parseFormat } from '../options.js';

export interface EstimateCliOptions {
  gpu?: string;
  set?: string[];
  format?: string;
}

/** Loads a config with --set applied and estimates it on the chosen card (--gpu, else the config's). */
export function runEstimate(file: string, o: EstimateCliOptions): { est: Estimate; cfg: LoadedConfig; preset?: Preset } {
  const cfg = loadConfig(file, (raw) => applySets(raw, o.set ?? []));
  const gpuId = o.gpu ?? cfg.run.gpu?.[0] ?? cfg.run.budget?.gpu?.[0];
  if (o.gpu && o.gpu.includes(',')) {
    throw new MemplanError('E_OPTION', 'estimate takes one card', { path: '--gpu', hint: 'use `memplan recommend --gpu a,b` to compare cards' });
  }
  const preset = gpuId ? getPreset(gpuId) : undefined;
  const est = estimate(cfg.model, cfg.run, { preset });
  return { est, cfg, preset };
}

export function registerEstimate(program: Command, ctx: CommandContext): void {
  const action = (explain: boolean) => (file: string, o: EstimateCliOptions) => {
    const format = parseFormat(o.format);
    const { est, cfg } = runEstimate(file, o);
    const label = display(cfg.file);
    const text = format === 'json' ? renderJson(est) : format === 'markdown' ? renderMarkdown(est, label) : renderTable(est, label, { explain });
    ctx.io.stdout.write(text);
    ctx.exit = est.fits === false ? EXIT.OVER : EXIT.OK;
  };
  for (const [name, explain, desc] of [
    ['estimate', false, 'memory of one training step: per-component breakdown, totals, and whether it fits the card'],
    ['explain', true, 'every component with its formula, the phases, blocks, dimensions and largest saved tensors'],
  ] as const) {
    program
      .command(`${name} <config>`)
      .description(desc)
      .option('--gpu <id>', 'card preset (memplan gpus lists them); default: the config\'s gpu')
      .option('--set <key=value>', 'override a run setting or a dimension (repeatable)', collect, [])
      .option('--format <format>', 'table | json | markdown', 'table')
      .action(action(explain));
  }
}
