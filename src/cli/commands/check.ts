/**
 * `memplan check`: the CI gate. Estimates every config on its budgeted card(s) and prints one row
 * per config and card: PASS / WARN / FAIL / OFF, or ERROR when the config could not be read or
 * estimated. Exit 0 when nothing fails (warnings allowed), 1 when any check fails, 2 when any
 * config could not be read: an unreadable config never counts as passing.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  checkBudget, diffSettings, parseHeadroom, resolveBudget, settingsOf,
  type BudgetLevel, type BudgetOverrides, type Settings,
} from '../../core/check.js';
import { asMemplanError, MemplanError } from '../../core/errors.js';
import { withClaims } from '../../core/claims.js';
import { estimateOn } from '../../core/estimate.js';
import { validate } from '../../core/schema.js';
import { LIMITS } from '../../core/limits.js';
import { expandInputs } from '../expand.js';
import { CHECK_FORMATS, renderCheck, type CheckReport, type CheckRow } from '../format/check.js';
import { locateError } from '../config.js';
import { display, readBounded } from '../../io/files.js';
import { getPreset, loadConfig, type LoadedConfig, type LoadOptions } from '../../io/load.js';
import { lineOf } from '../../io/locate.js';
import { EXIT, type CommandContext } from '../context.js';
import { applySets, collect, parseEdge, parseFormat } from '../options.js';
import { examples, unitsOption } from '../common.js';
import { discoverConfig } from '../discover.js';

interface CheckCliOptions {
  gpu?: string;
  headroom?: string;
  level?: string;
  format?: string;
  baseline?: string;
  writeBaseline?: string;
  set?: string[];
  allowOutside?: boolean;
  edge?: string;
}

const LEVELS: readonly BudgetLevel[] = ['error', 'warn', 'off'];

export function parseOverrides(o: CheckCliOptions): BudgetOverrides {
  const out: BudgetOverrides = {};
  if (o.gpu !== undefined) {
    out.gpu = o.gpu.split(',').map((s) => s.trim()).filter(Boolean);
    // Fail fast on a mistyped card: every config would report the same error.
    out.gpu.forEach(getPreset);
  }
  if (o.headroom !== undefined) out.headroom = parseHeadroom(o.headroom, '--headroom');
  if (o.level !== undefined) {
    if (!LEVELS.includes(o.level as BudgetLevel)) {
      throw new MemplanError('E_OPTION', `unknown level "${o.level}"`, { path: '--level', expected: LEVELS.join(', ') });
    }
    out.level = o.level as BudgetLevel;
  }
  if (o.edge !== undefined) out.edge = parseEdge(o.edge);
  return out;
}

function errorRow(file: string, e: unknown, cfg: LoadedConfig | undefined, origin: ReadonlyMap<string, string>): CheckRow {
  const err = asMemplanError(e);
  locateError(err, cfg, origin);
  err.at(display(file));
  const row: CheckRow = { file: display(file), status: 'ERROR', message: err.message, error: err.toJSON() as CheckRow['error'] };
  if (err.code === 'E_FILE' && err.file !== row.file) {
    // The model file named by the config is missing: annotate the config's `model:` line, a file that exists.
    const r = readBounded(file);
    if (r.text !== undefined) row.line = lineOf(r.text, 'model');
  }
  return row;
}

/** Checks one config on each of its budget's cards; `text` is the config's own YAML, once read. */
export function checkFile(file: string, overrides: BudgetOverrides, sets: readonly string[], opts: LoadOptions = {}): { rows: CheckRow[]; text?: string } {
  let cfg: LoadedConfig | undefined;
  // Which config path each --set wrote: an error about it names the option, as estimate's do.
  const origin = new Map<string, string>();
  try {
    cfg = loadConfig(file, (raw) => applySets(raw, sets, origin), opts);
    // loadConfig marks a file that is itself a model descriptor with model: '(inline)'.
    if (cfg.raw.model === '(inline)') {
      // A bare model descriptor (say, from a shell glob over a folder holding both kinds) is no training
      // config: checking it at default settings would add a meaningless PASS.
      throw new MemplanError('E_CONFIG', 'a model descriptor, not a run config', {
        path: 'blocks',
        line: lineOf(cfg.text, 'blocks'),
        expected: 'a run config with `model:` and `budget:`',
        hint: 'pass the folder or a quoted pattern (memplan check configs/) to check run configs only',
      });
    }
    const { gpus, gpuPath, spec } = resolveBudget(cfg.run, overrides);
    const label = display(cfg.file);
    const presets = gpus.map((id) => {
      try {
        return getPreset(id);
      } catch (e) {
        // getPreset speaks of --gpu; here the card came from the config (or from --gpu, already checked).
        if (e instanceof MemplanError && e.code === 'E_UNKNOWN_PRESET') e.path = gpuPath;
        throw e;
      }
    });
    const rows: CheckRow[] = [];
    // The claims are checked as `estimate` checks them (a bad one is this row's error), though check shows none.
    const { model, run } = cfg;
    for (const est of estimateOn(model, run, presets).map((e) => withClaims(e, run.claims))) {
      const result = checkBudget(est, spec);
      rows.push({
        file: label,
        name: cfg.run.name ?? est.model,
        model: est.model,
        line: lineOf(cfg.text, 'batch_size') ?? lineOf(cfg.text, 'budget') ?? lineOf(cfg.text, 'gpu'),
        ...result,
        settings: settingsOf(cfg.run, est),
      });
    }
    return { rows, text: cfg.text };
  } catch (e) {
    return { rows: [errorRow(file, e, cfg, origin)], text: cfg?.text };
  }
}

interface BaselineRow {
  file: string;
  status: string;
  gpu?: { id: string };
  device_total?: number;
  settings?: Settings;
}

/** Reads a baseline report; any row that does not have the fields' types is refused, located at the row. */
export function readBaseline(file: string): Map<string, BaselineRow> {
  const r = readBounded(file, LIMITS.baselineBytes);
  if (r.problem !== undefined) {
    throw new MemplanError(r.code === 'EFBIG' ? 'E_TOO_LARGE' : 'E_FILE', `cannot read baseline ${file}: ${r.problem}`, {
      path: '--baseline',
      hint: 'write one with `memplan check ... --write-baseline FILE` (or --format json) on the base branch',
    });
  }
  let data: unknown;
  try {
    data = JSON.parse(r.text);
  } catch (e) {
    throw new MemplanError('E_FILE', `baseline ${file} is not JSON: ${(e as Error).message}`, {
      path: '--baseline',
      hint: 'write one with `memplan check ... --write-baseline FILE` (or --format json) on the base branch',
    });
  }
  try {
    validate('baseline', data);
  } catch (e) {
    if (!(e instanceof MemplanError)) throw e;
    throw new MemplanError('E_SCHEMA', `baseline ${file} is not a memplan check report: ${e.message}`, {
      file,
      path: e.path,
      expected: 'the JSON of `memplan check --format json` or --write-baseline: {"results": [{"file", "status", "gpu": {"id"}, "device_total", "settings"}]}',
      hint: 'write it again with `memplan check ... --write-baseline FILE` on the base branch',
    });
  }
  return new Map(((data as { results: BaselineRow[] }).results).map((row) => [baselineKey(row.file, row.gpu?.id), row]));
}

function baselineKey(file: string, gpu: string | undefined): string {
  return `${file}\u0000${gpu ?? ''}`;
}

/** Adds each row's change against the baseline, and points a row's annotation at the first changed setting the config itself holds. */
function compare(rows: CheckRow[], baseline: Map<string, BaselineRow>, texts: Map<string, string>): void {
  for (const row of rows) {
    if (row.status === 'ERROR' || !row.gpu || row.device_total === undefined) continue;
    // A config the baseline could not read has one row, with no card.
    const prev = baseline.get(baselineKey(row.file, row.gpu.id)) ?? baseline.get(baselineKey(row.file, undefined));
    if (!prev) {
      row.change = { status: 'new' };
      continue;
    }
    if (prev.device_total === undefined || !prev.settings) {
      row.change = { status: 'baseline-error', baseline_status: prev.status };
      continue;
    }
    const changes = row.settings ? diffSettings(prev.settings, row.settings) : [];
    row.change = { status: 'changed', bytes: row.device_total - prev.device_total, from: prev.device_total, baseline_status: prev.status, settings: changes };
    const text = texts.get(row.file);
    for (const c of changes) {
      const line = text === undefined ? undefined : (lineOf(text, c.key) ?? lineOf(text, `dims.${c.key}`));
      if (line) {
        row.line = line;
        break;
      }
    }
  }
}

export function exitCode(rows: readonly CheckRow[]): number {
  if (rows.some((r) => r.status === 'ERROR')) return EXIT.ERROR;
  if (rows.some((r) => r.status === 'FAIL')) return EXIT.OVER;
  return EXIT.OK;
}

export function registerCheck(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('check [configs...]')
    .description('CI gate: check each config against its memory budget (card, headroom, level); exit 1 when any is over, 2 when any cannot be read')
    .option('--gpu <ids>', 'card preset(s), comma-separated; replaces each config\'s budget.gpu')
    .option('--headroom <size>', 'required headroom: a size (2GiB) or a share of the card (10%); replaces budget.headroom')
    .option('--level <level>', 'error | warn | off; replaces budget.level')
    .option('--format <format>', CHECK_FORMATS.join(' | '), 'table')
    .option('--baseline <file>', 'a previous run\'s JSON (--write-baseline or --format json): report the change per config')
    .option('--write-baseline <file>', 'also write this run\'s JSON report to a file, for a later --baseline')
    .option('--set <key=value>', 'override a run setting or a dimension in every config (repeatable)', collect, [])
    .option('--allow-outside', "let a config's model: name a file outside the config's repository (docs/security.md)")
    .option('--edge <edge>', 'the edge of the risk band held to the budget: low | expected | high (default high)');
  unitsOption(cmd);
  examples(cmd, [
    'memplan check                                      # the config found here',
    'memplan check models/ --format github             # every run config under models/, annotations on GitHub',
    "memplan check 'configs/**/*.yaml' --gpu 4090 --headroom 10%",
    'memplan check configs/ --baseline main.json --format markdown',
  ]);
  cmd.action((argsIn: string[], o: CheckCliOptions) => {
    const args = argsIn.length ? argsIn : [discoverConfig()];
    const format = parseFormat(o.format, CHECK_FORMATS);
    const overrides = parseOverrides(o);
    const baseline = o.baseline !== undefined ? readBaseline(o.baseline) : undefined;
    const rows: CheckRow[] = [];
    const texts = new Map<string, string>();
    for (const input of expandInputs(args)) {
      if (input.error) {
        rows.push(errorRow(input.file, input.error, undefined, new Map()));
        continue;
      }
      if (input.warning) {
        rows.push({ file: display(input.file), status: 'WARN', message: input.warning.message, line: input.warning.line });
        continue;
      }
      const got = checkFile(input.file, overrides, o.set ?? [], { allowOutside: o.allowOutside });
      rows.push(...got.rows);
      if (got.text !== undefined) texts.set(display(input.file), got.text);
    }
    if (baseline) compare(rows, baseline, texts);
    const report: CheckReport = { tool: 'memplan check', version: 1, exit: exitCode(rows), results: rows };
    if (o.writeBaseline !== undefined) {
      try {
        writeFileSync(o.writeBaseline, renderCheck(report, 'json'));
      } catch (e) {
        throw new MemplanError('E_FILE', `cannot write ${o.writeBaseline}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { path: '--write-baseline' });
      }
    }
    ctx.io.stdout.write(renderCheck(report, format));
    ctx.exit = report.exit;
  });
}
