import type { Command } from 'commander';
import { estimate, type Estimate, type Preset } from '../../core/estimate.js';
import { MemplanError } from '../../core/errors.js';
import { renderJson, renderMarkdown, renderTable } from '../format/estimate.js';
import { display, getPreset, withConfig, type LoadedConfig } from '../load.js';
import { lineOf } from '../locate.js';
import { EXIT, type CommandContext } from '../context.js';
import { collect, parseFormat } from '../options.js';
import { examples, unitsOption } from '../common.js';
import { configArg } from '../discover.js';

export interface EstimateCliOptions {
  gpu?: string;
  set?: string[];
  format?: string;
  allowOutside?: boolean;
}

/** Loads a config with --set applied and estimates it on the chosen card (--gpu, else the config's). */
export function runEstimate(file: string | undefined, o: EstimateCliOptions): { est: Estimate; cfg: LoadedConfig; preset?: Preset } {
  return withConfig(configArg(file), o.set ?? [], (cfg) => {
    if (o.gpu && o.gpu.includes(',')) {
      throw new MemplanError('E_OPTION', 'estimate takes one card', { path: '--gpu', expected: 'one preset id', hint: 'use `memplan recommend --gpu a,b` to compare cards' });
    }
    const preset = presetFor(cfg, o.gpu);
    return { est: estimate(cfg.model, cfg.run, { preset }), cfg, preset };
  }, { allowOutside: o.allowOutside });
}

/** The card: --gpu, else the config's `gpu:` (or `budget.gpu:`), whose line an unknown id points at. */
function presetFor(cfg: LoadedConfig, option: string | undefined): Preset | undefined {
  if (option) return getPreset(option);
  const key = cfg.run.gpu ? 'gpu' : cfg.run.budget?.gpu ? 'budget.gpu' : undefined;
  const id = cfg.run.gpu?.[0] ?? cfg.run.budget?.gpu?.[0];
  if (!id || !key) return undefined;
  try {
    return getPreset(id);
  } catch (e) {
    // From --set gpu=..., locateError relabels it as the option.
    if (e instanceof MemplanError) {
      e.file = display(cfg.file);
      e.path = key;
      e.line = lineOf(cfg.text, key);
    }
    throw e;
  }
}

export function registerEstimate(program: Command, ctx: CommandContext): void {
  const action = (explain: boolean) => (file: string | undefined, o: EstimateCliOptions) => {
    const format = parseFormat(o.format);
    const { est, cfg } = runEstimate(file, o);
    const label = display(cfg.file);
    const text = format === 'json' ? renderJson(est) : format === 'markdown' ? renderMarkdown(est, label) : renderTable(est, label, { explain });
    ctx.io.stdout.write(text);
    ctx.exit = est.fits === false ? EXIT.OVER : EXIT.OK;
  };
  for (const [name, explain, desc, ex] of [
    ['estimate', false, 'memory of one training step: per-component breakdown, totals, and whether it fits the card', [
      'memplan estimate                                   # the config found here (memplan.yaml, or the one run config)',
      'memplan estimate models/mini-transformer/config.yaml --gpu 4090',
      'memplan estimate config.yaml --set batch_size=32 --set precision=bf16-mixed --format json',
    ]],
    ['explain', true, 'every component with its formula, the phases, blocks, dimensions and largest saved tensors', [
      'memplan explain models/aam/baseline.yaml',
      'memplan explain config.yaml --gpu a100 --units decimal',
    ]],
  ] as const) {
    const cmd = program
      .command(`${name} [config]`)
      .description(desc)
      .option('--gpu <id>', 'card preset or alias (memplan gpus lists them; 4090, h100 work); default: the config\'s gpu')
      .option('--set <key=value>', 'override a run setting (batch_size=8, precision=bf16-mixed, optimizer.impl=fused) or a model dimension (seq=512); repeatable', collect)
      .option('--format <format>', 'table | json | markdown', 'table')
      .option('--allow-outside', "let the config's model: name a file outside the config's repository (docs/security.md)");
    unitsOption(cmd);
    examples(cmd, [...ex]);
    cmd.action(action(explain));
  }
}
