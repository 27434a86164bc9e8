import type { Command } from 'commander';
import { MemplanError } from '../../core/errors.js';
import { maxBatch, parseAllow, recommend, type Target } from '../../core/recommend.js';
import { parseSize } from '../../core/units.js';
import { renderMaxBatch, renderRecommend } from '../format/recommend.js';
import { display, getPreset, loadPresets, withConfig } from '../load.js';
import { EXIT, type CommandContext } from '../context.js';
import { collect, parseFormat } from '../options.js';
import type { ModelDescriptor } from '../../core/model.js';
import type { RecommendResult } from '../../core/recommend.js';
import { probeVariant } from '../../probe/variant.js';
import type { BackendChoice } from '../../probe/backend.js';
import { formatBytes } from '../../core/units.js';

export interface VerifyCheck {
  card: string;
  config?: string;
  /** Settings changed to probe it in TensorFlow.js. */
  changes: string[];
  backend?: string;
  scale?: number;
  batch_size?: number;
  steps?: { step: number; predicted: number; measured: number; errorPct: number }[];
  maxErrorPct?: number;
  /** undefined when the check could not run (nothing fits, or the probe refused). */
  ok?: boolean;
  reason?: string;
}

const VERIFY_BYTES = 512 * 1024 * 1024;

/**
 * Probes each card's top choice: the same model graph and micro-batch in TensorFlow.js (loaded only
 * here), scaled down to fit the probe's backend, against the estimator's tfjs runtime prediction.
 */
async function verifyTop(model: ModelDescriptor, result: RecommendResult, backend: string | undefined, progress: (line: string) => void): Promise<VerifyCheck[]> {
  const { verify, fitScale } = await import('../../probe/probe.js');
  const out: VerifyCheck[] = [];
  for (const t of result.targets) {
    const card = `${t.gpus > 1 ? `${t.gpus}x` : ''}${t.gpu.id}`;
    const best = t.best;
    if (!best) {
      out.push({ card, changes: [], reason: 'nothing fits: no top choice to verify' });
      continue;
    }
    const { run, changes } = probeVariant(best.run);
    const config = `${best.batch_size} x ${best.grad_accum}`;
    progress(`verify: probing ${card}'s top choice (${config}) in TensorFlow.js...`);
    try {
      // Shrunk to about 512 MiB of tfjs tensors so the check takes seconds; the rules are size-independent.
      const opts = { backend: backend as BackendChoice | undefined, onProgress: progress };
      const r = await verify(model, run, { ...opts, scale: fitScale(model, run, { ...opts, limitBytes: VERIFY_BYTES }) });
      out.push({
        card, config, changes, backend: r.backend, scale: r.scale, batch_size: r.batch_size,
        steps: r.steps.map((s) => ({ step: s.step, predicted: s.predicted, measured: s.measured, errorPct: s.errorPct })),
        maxErrorPct: r.maxErrorPct, ok: r.ok,
      });
    } catch (e) {
      if (!(e instanceof MemplanError)) throw e;
      out.push({ card, config, changes, reason: `${e.code}: ${e.message}` });
    }
  }
  return out;
}

function renderVerify(checks: VerifyCheck[], format: string): string {
  const lines: string[] = [format === 'markdown' ? '\n### verify (TensorFlow.js probe)\n' : '\nverify (TensorFlow.js probe of each top choice):'];
  for (const c of checks) {
    if (c.ok === undefined) {
      lines.push(`- ${c.card}: not verified: ${c.reason}`);
      continue;
    }
    const steps = c.steps!.map((s) => `step ${s.step} predicted ${formatBytes(s.predicted)}, measured ${formatBytes(s.measured)} (${s.errorPct.toFixed(3)}%)`).join('; ');
    lines.push(`- ${c.card} ${c.config}: ${c.ok ? 'VERIFIED' : 'OFF'} on ${c.backend} at batch ${c.batch_size} (scale ${c.scale}): ${steps}`);
    if (c.changes.length) lines.push(`  probed as: ${c.changes.join('; ')}; the check covers the model graph's memory rules, not these settings`);
  }
  return lines.join('\n') + '\n';
}

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
  verify?: boolean;
  backend?: string;
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
    .option('--verify', "probe each card's top choice in TensorFlow.js (scaled to fit) and check the estimator's rules there")
    .option('--backend <name>', 'probe backend for --verify: wasm | cpu | node | node-gpu')
    .action(async (file: string, o: RecommendCliOptions) => {
      const format = parseFormat(o.format);
      await withConfig(file, o.set ?? [], async (cfg) => {
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
        if (!o.verify) {
          ctx.io.stdout.write(renderRecommend(result, label, format));
          ctx.exit = result.fits ? EXIT.OK : EXIT.OVER;
          return;
        }
        const checks = await verifyTop(cfg.model, result, o.backend, (line) => ctx.io.stderr.write(line + '\n'));
        ctx.io.stdout.write(format === 'json' ? JSON.stringify({ ...result, verify: checks }, null, 2) + '\n' : renderRecommend(result, label, format) + renderVerify(checks, format));
        // A recommendation whose check ran and missed is not trusted: exit 1, like nothing fitting.
        ctx.exit = result.fits && checks.every((c) => c.ok !== false) ? EXIT.OK : EXIT.OVER;
      });
    });
}
