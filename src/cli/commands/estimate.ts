import type { Command } from 'commander';
import { withClaims } from '../../core/claims.js';
import { edgeTotal, estimate, type Estimate, type Preset } from '../../core/estimate.js';
import { MemplanError } from '../../core/errors.js';
import { renderJson, renderMarkdown, renderTable } from '../format/estimate.js';
import { withConfig } from '../config.js';
import { display } from '../../io/files.js';
import { getPreset, type LoadedConfig } from '../../io/load.js';
import { lineOf } from '../../io/locate.js';
import { EXIT, type CommandContext } from '../context.js';
import { collect, parseEdge, parseFormat } from '../options.js';
import { examples, unitsOption } from '../common.js';
import { configArg } from '../discover.js';
import { shapeSweep, type SweepResult } from '../../core/sweep.js';
import { renderSweep } from '../format/sweep.js';

export interface EstimateCliOptions {
  gpu?: string;
  set?: string[];
  format?: string;
  allowOutside?: boolean;
  edge?: string;
  shapes?: string[];
}

/** `--shapes atoms=2000,6000,2000` (repeatable; several dimensions are zipped): the batches of a sweep. */
export function parseShapes(specs: readonly string[]): Record<string, number>[] {
  const cols = specs.map((s) => {
    const eq = s.indexOf('=');
    const key = s.slice(0, eq).trim();
    const vals = s.slice(eq + 1).split(',').map((v) => v.trim());
    if (eq <= 0 || !vals.length || vals.some((v) => !/^\d+$/.test(v) || Number(v) < 1)) {
      throw new MemplanError('E_OPTION', `--shapes "${s}" is not dim=v1,v2,...`, { path: '--shapes', expected: 'a dimension and whole numbers >= 1, e.g. --shapes atoms=2000,6000,2000' });
    }
    return { key, vals: vals.map(Number) };
  });
  const n = cols[0]?.vals.length ?? 0;
  if (cols.some((c) => c.vals.length !== n)) throw new MemplanError('E_OPTION', 'every --shapes list needs the same number of values (they are zipped)', { path: '--shapes' });
  return Array.from({ length: n }, (_, i) => Object.fromEntries(cols.map((c) => [c.key, c.vals[i]!])));
}

/** Loads a config with --set applied and estimates it on the chosen card (--gpu, else the config's). */
export function runEstimate(file: string | undefined, o: EstimateCliOptions): { est: Estimate; cfg: LoadedConfig; preset?: Preset; sweep?: SweepResult } {
  return withConfig(configArg(file), o.set ?? [], (cfg) => {
    if (o.gpu && o.gpu.includes(',')) {
      throw new MemplanError('E_OPTION', 'estimate takes one card', { path: '--gpu', expected: 'one preset id', hint: 'use `memplan recommend --gpu a,b` to compare cards' });
    }
    const preset = presetFor(cfg, o.gpu);
    const est = withClaims(estimate(cfg.model, cfg.run, { preset }), cfg.run.claims);
    const sweep = o.shapes?.length ? shapeSweep(cfg.model, cfg.run, parseShapes(o.shapes), preset) : undefined;
    return { est, cfg, preset, ...(sweep ? { sweep } : {}) };
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
    const edge = parseEdge(o.edge);
    const { est, cfg, sweep } = runEstimate(file, o);
    const label = display(cfg.file);
    const text = format === 'json' ? (sweep ? JSON.stringify({ ...est, sweep }, null, 2) + '\n' : renderJson(est)) : format === 'markdown' ? renderMarkdown(est, label) : renderTable(est, label, { explain });
    ctx.io.stdout.write(text);
    if (sweep && format !== 'json') ctx.io.stdout.write(renderSweep(sweep, format));
    // Exit 1 when the total at the chosen edge of the risk band is over the card (the high edge by default).
    const over = est.gpu ? edgeTotal(est, edge) > est.gpu.capacity || est.verdict === 'OVER' : false;
    ctx.exit = over ? EXIT.OVER : EXIT.OK;
  };
  for (const [name, explain, desc, ex] of [
    ['estimate', false, 'memory of one training step: per-component breakdown, totals, and whether it fits the card', [
      'memplan estimate                                   # the config found here (memplan.yaml, or the one run config)',
      'memplan estimate models/mini-transformer/config.yaml --gpu 4090',
      'memplan estimate config.yaml --set batch_size=32 --set precision=bf16-mixed --format json',
      'memplan estimate models/rna-3e-ffi/batch-2.yaml --shapes atoms=1500,3000,2000',
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
      .option('--allow-outside', "let the config's model: name a file outside the config's repository (docs/security.md)")
      .option('--edge <edge>', 'the edge of the risk band that decides the exit code: low | expected | high', 'high')
      .option('--shapes <dim=v1,v2,...>', 'also run these batch shapes one step each through one simulated allocator (repeatable; zipped): does reserved grow while allocated does not?', collect);
    unitsOption(cmd);
    examples(cmd, [...ex]);
    cmd.action(action(explain));
  }
}
