import type { Command } from 'commander';
import { MemplanError } from '../../core/errors.js';
import { maxBatch, parseAllow, recommend, type Target } from '../../core/recommend.js';
import { parseSize } from '../../core/units.js';
import { renderMaxBatch, renderRecommend } from '../format/recommend.js';
import { display, getPreset, loadConfig, loadPresets } from '../load.js';
import { EXIT, type CommandContext } from '../main.js';
import { applySets, collect, parseFormat } from '../options.js';

export interface RecommendCliOptions {
  gpu?: string;
  gpus?: string;
  effectiveBatch?: string;
  allow?: string[];
  maxBatch?: boolean;
  top?: string;
  margin?: string;
  set?: string[];
  format?: string;
}

function positiveInt(v: string | undefined, path: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\s*\d+\s*$/.test(v) || Number(v) < 1) {
    throw new MemplanError('E_OPTION', `${path} ${v}: expected a whole number >= 1`, { path });
  }
  return Number(v);
}

/**
 * `--gpu rtx-4090,a100-80` compares cards; `4xa100-80` is four A100s (data parallel, one micro-batch
 * each). Entries without a count take --gpus, else the config's distributed.gpus.
 */
export function parseTargets(list: string, defaultCount: number): Target[] {
  const known = loadPresets();
  return list.split(',').map((raw) => {
    const s = raw.trim();
    const m = /^(\d+)x(.+)$/i.exec(s);
    // A preset id wins over the NxID reading, so an id that starts with digits and x still works.
    if (m && !known.has(s)) {
      const count = Number(m[1]);
      if (count < 1) throw new MemplanError('E_OPTION', `--gpu ${s}: the GPU count must be >= 1`, { path: '--gpu' });
      return { preset: getPreset(m[2]!.trim()), gpus: count };
    }
    return { preset: getPreset(s), gpus: defaultCount };
  });
}

export function registerRecommend(program: Command, ctx: CommandContext): void {
  program
    .command('recommend <config>')
    .description('the configs that fit a card at an effective batch, ranked by a speed proxy and headroom; or --max-batch')
    .option('--gpu <list>', 'card presets, comma-separated; NxID for N GPUs of a kind (4xa100-80); default: the config\'s gpu')
    .option('--gpus <n>', 'GPUs per card entry without a count (default: the config\'s distributed.gpus)')
    .option('--effective-batch <n>', 'samples per optimizer step over all GPUs (default: batch_size x grad_accum x gpus of the config)')
    .option('--allow <knob[=values]>', 'let a result-changing knob vary: token_limit=256..1024, precision=bf16-mixed, optimizer=adamw-8bit, a descriptor knob (repeatable)', collect, [])
    .option('--max-batch', 'the largest micro-batch that fits each card, the config otherwise as given')
    .option('--top <n>', 'how many ranked configs to show per card', '10')
    .option('--margin <size>', 'headroom below which a fit is "tight": 2GiB or 10% (default: budget.headroom of the config, else 5%)')
    .option('--set <key=value>', 'override a run setting or a dimension before the search (repeatable)', collect, [])
    .option('--format <format>', 'table | json | markdown', 'table')
    .action((file: string, o: RecommendCliOptions) => {
      const format = parseFormat(o.format);
      const cfg = loadConfig(file, (raw) => applySets(raw, o.set ?? []));
      const count = positiveInt(o.gpus, '--gpus') ?? cfg.run.distributed.gpus;
      const gpuList = o.gpu ?? (cfg.run.gpu ?? cfg.run.budget?.gpu)?.join(',');
      if (!gpuList) {
        throw new MemplanError('E_OPTION', 'no card given', { path: '--gpu', hint: 'pass --gpu ID (memplan gpus lists them) or set gpu: in the config' });
      }
      const targets = parseTargets(gpuList, count);
      const label = display(cfg.file);
      if (o.maxBatch) {
        if (o.allow?.length || o.effectiveBatch) {
          throw new MemplanError('E_OPTION', '--max-batch searches the micro-batch of the config as given', {
            path: '--max-batch',
            hint: 'drop --allow/--effective-batch, or use --set to change the config first',
          });
        }
        const results = targets.map((t) => maxBatch(cfg.model, cfg.run, t));
        ctx.io.stdout.write(renderMaxBatch(results, cfg.model.name, label, format));
        ctx.exit = results.some((r) => r.max_batch > 0) ? EXIT.OK : EXIT.OVER;
        return;
      }
      const marginText = o.margin ?? (cfg.run.budget?.headroom !== undefined ? String(cfg.run.budget.headroom) : undefined);
      const margin = marginText === undefined ? undefined : parseSize(marginText, o.margin ? '--margin' : 'budget.headroom');
      const result = recommend(cfg.model, cfg.run, {
        targets,
        effectiveBatch: positiveInt(o.effectiveBatch, '--effective-batch'),
        allow: (o.allow ?? []).map(parseAllow),
        top: positiveInt(o.top, '--top'),
        margin,
      });
      ctx.io.stdout.write(renderRecommend(result, label, format));
      ctx.exit = result.fits ? EXIT.OK : EXIT.OVER;
    });
}
