import type { Command } from 'commander';
import { parseHeadroom, type Headroom } from '../../core/check.js';
import { MemplanError } from '../../core/errors.js';
import { maxBatch, parseAllow, recommend, type Target } from '../../core/recommend.js';
import type { ModelDescriptor } from '../../core/model.js';
import type { RecommendResult } from '../../core/recommend.js';
import { size } from '../../core/units.js';
import type { BackendChoice } from '../../probe/backend.js';
import { probeVariant } from '../../probe/variant.js';
import { twinLine, twinScope, twinWord } from '../../probe/wording.js';
import { examples, unitsOption } from '../common.js';
import { EXIT, type CommandContext } from '../context.js';
import { configArg } from '../discover.js';
import { renderMaxBatch, renderRecommend } from '../format/recommend.js';
import { wrap } from '../format/estimate.js';
import { withConfig } from '../config.js';
import { display } from '../../io/files.js';
import { getPreset, loadPresets, type LoadedConfig } from '../../io/load.js';
import { BACKENDS, collect, parseBackend, parseEdge, parseFormat, parseNumber } from '../options.js';
import { parseSize } from '../../core/units.js';
import { LIMITS } from '../../core/limits.js';
import { writeRunConfig } from '../write.js';

export interface VerifyCheck {
  card: string;
  config?: string;
  /** Settings changed to probe it in TensorFlow.js. */
  changes: string[];
  backend?: string;
  scale?: number;
  /** The micro-batch of the recommended config, and the one the twin ran at. */
  config_batch?: number;
  batch_size?: number;
  steps?: { step: number; predicted: number; measured: number; errorPct: number }[];
  maxErrorPct?: number;
  /** Whether the twin matched memplan's tfjs estimate; undefined when the check could not run. */
  ok?: boolean;
  /** What the check does and does not show (twinScope). */
  scope?: string[];
  reason?: string;
}

const VERIFY_BYTES = 512 * 1024 * 1024;

/**
 * Probes each card's top choice: its TensorFlow.js twin (probeVariant), scaled down to fit the probe's
 * backend, against the estimator's tfjs runtime prediction of that twin.
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
    progress(`verify: probing a TensorFlow.js twin of ${card}'s top choice (${config})...`);
    try {
      // Shrunk to about 512 MiB of tfjs tensors so the check takes seconds; the rules are size-independent.
      const opts = { backend: backend as BackendChoice | undefined, onProgress: progress };
      const r = await verify(model, run, { ...opts, scale: fitScale(model, run, { ...opts, limitBytes: VERIFY_BYTES }) });
      const facts = { backend: r.backend, configBatch: best.batch_size, batch: r.batch_size, scale: r.scale, changes, ok: r.ok, maxErrorPct: r.maxErrorPct };
      out.push({
        card, config, changes, backend: r.backend, scale: r.scale, config_batch: best.batch_size, batch_size: r.batch_size,
        steps: r.steps.map((s) => ({ step: s.step, predicted: s.predicted, measured: s.measured, errorPct: s.errorPct })),
        maxErrorPct: r.maxErrorPct, ok: r.ok, scope: [twinLine(facts), ...twinScope(facts)],
      });
    } catch (e) {
      if (!(e instanceof MemplanError)) throw e;
      out.push({ card, config, changes, reason: `${e.code}: ${e.message}` });
    }
  }
  return out;
}

function renderVerify(checks: VerifyCheck[], format: string): string {
  const lines: string[] = [format === 'markdown' ? '\n### verify (TensorFlow.js twin of each top choice)\n' : '\nverify (TensorFlow.js twin of each top choice):'];
  for (const c of checks) {
    if (c.ok === undefined) {
      lines.push(`- ${c.card}: not verified: ${c.reason}`);
      continue;
    }
    const steps = c.steps!.map((s) => `step ${s.step} predicted ${size(s.predicted)}, measured ${size(s.measured)} (${s.errorPct.toFixed(3)}%)`).join('; ');
    lines.push(wrap(`- ${c.card} ${c.config}: ${twinWord(c.ok)}: ${steps}`, 4));
    for (const l of c.scope ?? []) lines.push(wrap(`  ${l}`, 4));
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
  write?: string;
  allowOutside?: boolean;
  edge?: string;
}

function positiveInt(v: string | undefined, path: string): number | undefined {
  return parseNumber(v, path, { integer: true, min: 1, max: LIMITS.dimension });
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

/** The headroom a proposal must leave: --margin and the config's budget.headroom, the larger applying. */
function margins(o: RecommendCliOptions, cfg: LoadedConfig): Headroom[] | undefined {
  const out: Headroom[] = [];
  if (o.margin !== undefined) out.push(parseHeadroom(o.margin, '--margin'));
  if (cfg.run.budget?.headroom !== undefined) out.push(parseHeadroom(cfg.run.budget.headroom, 'budget.headroom'));
  return out.length ? out : undefined;
}

function targetsOf(o: RecommendCliOptions, cfg: LoadedConfig): Target[] {
  const count = positiveInt(o.gpus, '--gpus') ?? cfg.run.distributed.gpus;
  const gpuList = o.gpu ?? (cfg.run.gpu ?? cfg.run.budget?.gpu)?.join(',');
  if (!gpuList) {
    throw new MemplanError('E_OPTION', 'no card given', { path: '--gpu', hint: 'pass --gpu ID (memplan gpus lists them) or set gpu: in the config' });
  }
  return parseTargets(gpuList, count);
}

function runMaxBatch(ctx: CommandContext, cfg: LoadedConfig, o: RecommendCliOptions, targets: Target[], format: string): void {
  if (o.allow?.length || o.effectiveBatch) {
    throw new MemplanError('E_OPTION', '--max-batch searches the micro-batch of the config as given', {
      path: '--max-batch',
      hint: 'drop --allow/--effective-batch, or use --set to change the config first',
    });
  }
  const results = targets.map((t) => maxBatch(cfg.model, cfg.run, t, { margin: margins(o, cfg), edge: parseEdge(o.edge) }));
  const first = results[0]!;
  const written = o.write !== undefined && first.run ? writeRunConfig(o.write, cfg, first.run, first.gpu.id, first.margin, `largest micro-batch on ${first.gpu.id} leaving ${size(first.margin)}`) : undefined;
  if (o.write !== undefined && !first.run) throw new MemplanError('E_CONFIG', `nothing to write: not even micro-batch 1 leaves the margin on ${first.gpu.id}`, { path: '--write' });
  ctx.io.stdout.write(renderMaxBatch(results, cfg.model.name, display(cfg.file), format) + (written && format !== 'json' ? `wrote ${written}\n` : ''));
  ctx.exit = results.some((r) => r.max_batch > 0) ? EXIT.OK : EXIT.OVER;
}

async function runRecommend(ctx: CommandContext, cfg: LoadedConfig, o: RecommendCliOptions, targets: Target[], format: string): Promise<void> {
  const label = display(cfg.file);
  const result = recommend(cfg.model, cfg.run, {
    targets,
    effectiveBatch: positiveInt(o.effectiveBatch, '--effective-batch'),
    allow: (o.allow ?? []).map(parseAllow),
    top: positiveInt(o.top, '--top'),
    margin: margins(o, cfg),
    edge: parseEdge(o.edge),
  });
  const best = result.targets[0]!.best;
  if (o.write !== undefined && !best) throw new MemplanError('E_CONFIG', 'nothing to write: no config leaves the margin on the first card', { path: '--write' });
  const written = o.write !== undefined && best ? writeRunConfig(o.write, cfg, best.run, result.targets[0]!.gpu.id, result.targets[0]!.margin, result.targets[0]!.summary) : undefined;
  const wroteLine = written && format !== 'json' ? `wrote ${written} (the top choice on ${result.targets[0]!.gpu.id}; memplan check ${written} passes it)\n` : '';
  if (!o.verify) {
    ctx.io.stdout.write(renderRecommend(result, label, format) + wroteLine);
    ctx.exit = result.fits ? EXIT.OK : EXIT.OVER;
    return;
  }
  const checks = await verifyTop(cfg.model, result, o.backend, (line) => ctx.io.stderr.write(line + '\n'));
  ctx.io.stdout.write(format === 'json' ? JSON.stringify({ ...result, verify: checks }, null, 2) + '\n' : renderRecommend(result, label, format) + renderVerify(checks, format) + wroteLine);
  // A twin that missed its estimate is not trusted: exit 1, like nothing fitting.
  ctx.exit = result.fits && checks.every((c) => c.ok !== false) ? EXIT.OK : EXIT.OVER;
}

export function registerRecommend(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('recommend [config]')
    .description('the configs that fit a card at an effective batch, ranked by a step-time proxy; or --max-batch')
    .option('--gpu <list>', 'card presets, comma-separated; NxID for N GPUs of a kind (4xa100-80); default: the config\'s gpu')
    .option('--gpus <n>', 'GPUs per card entry without a count (default: the config\'s distributed.gpus)')
    .option('--effective-batch <n>', 'samples per optimizer step over all GPUs (default: batch_size x grad_accum x gpus of the config)')
    .option('--allow <knob[=values]>', 'let a result-changing knob vary: token_limit=256..1024, precision=bf16-mixed, optimizer=adamw-8bit, a descriptor knob (repeatable)', collect, [])
    .option('--max-batch', 'the largest micro-batch that leaves the margin on each card, the config otherwise as given')
    .option('--top <n>', 'how many ranked configs to show per card', '10')
    .option('--margin <size>', 'headroom every proposal leaves: 2GiB or 10% (default: budget.headroom of the config, else 5%; never less than budget.headroom)')
    .option('--write <file>', 'write the top choice (first card) as a run config YAML that estimate and check accept')
    .option('--set <key=value>', 'override a run setting or a dimension before the search (repeatable)', collect, [])
    .option('--format <format>', 'table | json | markdown', 'table')
    .option('--verify', "probe a TensorFlow.js twin of each card's top choice (scaled to fit) against memplan's tfjs estimate of it")
    .option('--backend <name>', `probe backend for --verify: ${BACKENDS.join(' | ')}`)
    .option('--allow-outside', "let the config's model: name a file outside the config's repository (docs/security.md)")
    .option('--edge <edge>', 'the edge of the risk band a config must fit at: low | expected | high', 'high');
  unitsOption(cmd);
  examples(cmd, [
    'memplan recommend --effective-batch 96                    # the config found here (memplan.yaml)',
    'memplan recommend models/peptide/current-48x2.yaml --gpu 4090,a100 --effective-batch 96',
    'memplan recommend config.yaml --gpu 24gb --allow token_limit=256..1024 --write tuned.yaml',
    'memplan recommend config.yaml --gpu rtx-4090,4xa100-80 --max-batch --margin 2GiB',
  ]);
  cmd.action(async (file: string | undefined, o: RecommendCliOptions) => {
    const format = parseFormat(o.format);
    if (parseBackend(o.backend) !== undefined && !o.verify) {
      throw new MemplanError('E_OPTION', '--backend picks the probe backend of --verify', { path: '--backend', hint: 'add --verify, or leave --backend out' });
    }
    // The margin reads like a budget's headroom (a size, or a share of the card below 100%), and is refused like one.
    if (o.margin !== undefined) {
      const m = parseSize(o.margin, '--margin');
      if ('fraction' in m && m.fraction >= 1) {
        throw new MemplanError('E_OPTION', `--margin ${o.margin} leaves nothing of the card`, { path: '--margin', expected: 'a size such as 2GiB, or a percentage below 100%' });
      }
    }
    await withConfig(configArg(file), o.set ?? [], async (cfg) => {
      const targets = targetsOf(o, cfg);
      if (o.maxBatch) runMaxBatch(ctx, cfg, o, targets, format);
      else await runRecommend(ctx, cfg, o, targets, format);
    }, { allowOutside: o.allowOutside });
  });
}
