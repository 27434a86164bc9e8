/**
 * Renders a `memplan check` report: a terminal table, JSON (also the baseline format), GitHub
 * workflow annotations, markdown for a job summary or PR comment, and JUnit XML. Pure: returns
 * strings. Every format shows an ERROR row as a failure: an unreadable config never reads as passing.
 */
import Table from 'cli-table3';
import type { BudgetResult, BudgetStatus, SettingChange, Settings } from '../../core/check.js';
import { size } from '../../core/units.js';
import { wrap } from './estimate.js';

export const CHECK_FORMATS = ['table', 'json', 'github', 'markdown', 'junit'] as const;
export type CheckFormat = (typeof CHECK_FORMATS)[number];

export type RowStatus = BudgetStatus | 'ERROR';

export type CheckChange =
  | { status: 'new' }
  | { status: 'baseline-error'; baseline_status: string }
  | { status: 'changed'; bytes: number; from: number; baseline_status: string; settings: SettingChange[] };

/** One config on one card; an ERROR row has only file, status, message and error. */
export interface CheckRow extends Partial<Omit<BudgetResult, 'status' | 'message'>> {
  file: string;
  status: RowStatus;
  message: string;
  name?: string;
  model?: string;
  /** The config line an annotation points at (batch_size, the budget, or the setting that changed). */
  line?: number;
  settings?: Settings;
  error?: { code: string; message: string; location?: string; file?: string; line?: number; path?: string; expected?: string; hint?: string };
  change?: CheckChange;
}

export interface CheckReport {
  tool: 'memplan check';
  version: 1;
  exit: number;
  results: CheckRow[];
}

const ORDER: RowStatus[] = ['ERROR', 'FAIL', 'WARN', 'PASS', 'OFF'];

export function summary(report: CheckReport): string {
  const files = new Set(report.results.map((r) => r.file)).size;
  const counts = ORDER.map((s) => [s, report.results.filter((r) => r.status === s).length] as const).filter(([, c]) => c > 0);
  const checks = report.results.length;
  const what = checks === files ? `${files} config${files === 1 ? '' : 's'}` : `${checks} checks in ${files} config${files === 1 ? '' : 's'}`;
  return `memplan check: ${what}: ${counts.map(([s, c]) => `${c} ${s}`).join(', ') || 'nothing checked'} (exit ${report.exit})`;
}

function fmtValue(v: string | number | boolean | undefined): string {
  return v === undefined ? '(unset)' : String(v);
}

function signed(bytes: number): string {
  return bytes > 0 ? `+${size(bytes)}` : bytes < 0 ? size(bytes) : '±0 B';
}

/** `+3.100 GiB from batch_size 48 -> 64`, `new`, or `baseline: ERROR`. */
export function changeText(c: CheckChange | undefined): string {
  if (!c) return '';
  if (c.status === 'new') return 'new (not in the baseline)';
  if (c.status === 'baseline-error') return `baseline: ${c.baseline_status}`;
  const shown = c.settings.slice(0, 3).map((s) => `${s.key} ${fmtValue(s.from)} -> ${fmtValue(s.to)}`);
  const more = c.settings.length > 3 ? ` and ${c.settings.length - 3} more` : '';
  if (!shown.length) return c.bytes === 0 ? 'no change' : `${signed(c.bytes)} (no setting changed: the model or memplan's estimate did)`;
  return `${signed(c.bytes)} from ${shown.join(', ')}${more}`;
}

function cells(r: CheckRow): { card: string; total: string; budget: string; headroom: string; largest: string } {
  if (r.status === 'ERROR' || r.device_total === undefined || r.gpu === undefined) {
    return { card: '-', total: '-', budget: '-', headroom: '-', largest: '-' };
  }
  return {
    card: r.gpu.id,
    total: r.edge && r.edge !== 'expected' && r.judged_total !== undefined ? `${size(r.judged_total)} (${r.edge})` : size(r.device_total),
    budget: `${size(r.budget!)} (${size(r.capacity!)} - ${r.headroom_spec})`,
    headroom: r.free! >= 0 ? `${size(r.free!)} left` : `over the card by ${size(-r.free!)}`,
    largest: r.largest ? `${r.largest.name} ${size(r.largest.bytes)}` : '-',
  };
}

/** Where an annotation points: the error's own file and line (a missing model file: the config's `model:` line), or the config's line. */
function where(r: CheckRow): { file: string; line?: number } {
  if (r.error?.file && !(r.error.code === 'E_FILE' && r.error.file !== r.file)) return { file: r.error.file, line: r.error.line };
  return { file: r.file, line: r.line };
}

/** `config.yaml:3 (rtx-4090)`, and where the error is when that is another file: `config.yaml (model.yaml:6)`. */
function label(r: CheckRow): string {
  const w = where(r);
  const at = w.file !== r.file ? ` (${w.file}${w.line ? `:${w.line}` : ''})` : w.line ? `:${w.line}` : '';
  return `${r.file}${at}${r.gpu ? ` (${r.gpu.id})` : ''}`;
}

function errorText(r: CheckRow): string {
  const e = r.error;
  if (!e) return r.message;
  return [`${e.code}${e.path ? ` at ${e.path}` : ''}: ${e.message}`, e.expected ? `expected: ${e.expected}` : '', e.hint ? `hint: ${e.hint}` : '']
    .filter(Boolean)
    .join('; ');
}

function detail(r: CheckRow): string {
  const c = changeText(r.change);
  return r.status === 'ERROR' ? errorText(r) : c && r.change?.status === 'changed' ? `${r.message}; ${c}` : r.message;
}

/** A path broken after `/` into lines of at most `width` (cli-table3 would cut it with an ellipsis). */
export function breakPath(path: string, width: number): string {
  const lines: string[] = [];
  let cur = '';
  for (const part of path.split(/(?<=\/)/)) {
    if (cur && cur.length + part.length > width) {
      lines.push(cur);
      cur = '';
    }
    cur += part;
    while (cur.length > width) {
      lines.push(cur.slice(0, width));
      cur = cur.slice(width);
    }
  }
  if (cur) lines.push(cur);
  return lines.join('\n');
}

/** Terminal table within 100 columns: long cells wrap; the largest component and the change go under it. */
function renderTable(report: CheckReport): string {
  const withChange = report.results.some((r) => r.change);
  const head = ['config', 'card', 'total', 'budget', 'left', 'status', ...(withChange ? ['change'] : [])];
  const colWidths = withChange ? [20, 10, 11, 16, 12, 8, 14] : [28, 10, 11, 21, 13, 8];
  const t = new Table({ head, colWidths, wordWrap: true, style: { head: [], border: [] }, chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } });
  for (const r of report.results) {
    const c = cells(r);
    const change = r.change?.status === 'changed' ? (r.change.bytes > 0 ? `+${size(r.change.bytes)}` : r.change.bytes < 0 ? size(r.change.bytes) : '±0 B') : r.change ? r.change.status : '';
    t.push([breakPath(r.file, colWidths[0]! - 2), c.card, c.total, c.budget, c.headroom.replace(/ left$/, ''), r.status, ...(withChange ? [change] : [])]);
  }
  const lines = t.toString().split('\n');
  // One rule under the header (the rows are not ruled, so a wrapped cell reads as one row).
  const headLines = new Table({ head, colWidths, wordWrap: true, style: { head: [], border: [] } }).toString().split('\n').length - 2;
  lines.splice(1 + headLines, 0, lines[0]!.replace('┌', '├').replace(/┬/g, '┼').replace('┐', '┤'));
  const out = [lines.join('\n')];
  for (const r of report.results) {
    if (r.status !== 'PASS') out.push(wrap(`${r.status} ${label(r)}: ${detail(r)}${r.largest && r.status !== 'ERROR' ? `; largest component ${r.largest.name} ${size(r.largest.bytes)}` : ''}`));
    if (r.change) out.push(wrap(`  change ${label(r)}: ${changeText(r.change)}`));
  }
  out.push(summary(report));
  return out.join('\n') + '\n';
}

/** GitHub workflow command escaping: data escapes %, CR, LF; properties also `:` and `,`. */
function ghData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function ghProp(s: string): string {
  return ghData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

function renderGithub(report: CheckReport): string {
  const out: string[] = [];
  for (const r of report.results) {
    if (r.status === 'PASS' || r.status === 'OFF') {
      out.push(`${r.status} ${label(r)}: ${detail(r)}`);
      continue;
    }
    const w = where(r);
    const props = [`file=${ghProp(w.file)}`, ...(w.line ? [`line=${w.line}`] : []), `title=${ghProp(`memplan check ${r.status}`)}`].join(',');
    out.push(`::${r.status === 'WARN' ? 'warning' : 'error'} ${props}::${ghData(`${r.status} ${label(r)}: ${detail(r)}`)}`);
  }
  out.push(summary(report));
  return out.join('\n') + '\n';
}

function mdCell(s: string): string {
  return s.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
}

function mdCode(s: string): string {
  return '`' + s.replace(/`/g, "'").replace(/\r?\n/g, ' ') + '`';
}

const BADGE: Record<RowStatus, string> = { PASS: '✅ PASS', WARN: '⚠️ WARN', FAIL: '❌ FAIL', ERROR: '❌ ERROR', OFF: '⏸️ OFF' };

function renderMarkdown(report: CheckReport): string {
  const withChange = report.results.some((r) => r.change);
  const out = [`### ${summary(report)}`, ''];
  out.push(`| status | config | card | device total | budget | headroom | largest component |${withChange ? ' change |' : ''}`);
  out.push(`|---|---|---|---:|---:|---:|---|${withChange ? '---|' : ''}`);
  for (const r of report.results) {
    const c = cells(r);
    const largest = r.status === 'ERROR' ? (r.error?.code ?? 'error') : c.largest;
    const row = [BADGE[r.status], mdCode(r.file), c.card, c.total, c.budget, c.headroom, largest, ...(withChange ? [changeText(r.change)] : [])];
    out.push(`| ${row.map(mdCell).join(' | ')} |`);
  }
  const problems = report.results.filter((r) => r.status !== 'PASS');
  if (problems.length) {
    out.push('');
    for (const r of problems) out.push(`- **${r.status}** ${mdCell(label(r))}: ${mdCell(detail(r))}`);
  }
  return out.join('\n') + '\n';
}

/** XML 1.0 text: the five entities, and characters XML cannot hold at all dropped. */
export function xml(s: string): string {
  return s
    .replace(/[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function renderJunit(report: CheckReport): string {
  const rs = report.results;
  const count = (...s: RowStatus[]) => rs.filter((r) => s.includes(r.status)).length;
  const attrs = `tests="${rs.length}" failures="${count('FAIL')}" errors="${count('ERROR')}" skipped="${count('OFF')}"`;
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="memplan check" ${attrs}>`, `  <testsuite name="memplan check" ${attrs}>`];
  for (const r of rs) {
    const w = where(r);
    const name = `${r.file}${r.gpu ? ` (${r.gpu.id})` : ''}`;
    out.push(`    <testcase classname="memplan.check" name="${xml(name)}" file="${xml(w.file)}"${w.line ? ` line="${w.line}"` : ''}>`);
    const text = detail(r);
    if (r.status === 'FAIL') out.push(`      <failure type="over budget" message="${xml(r.message)}">${xml(text)}</failure>`);
    else if (r.status === 'ERROR') out.push(`      <error type="${xml(r.error?.code ?? 'E_INTERNAL')}" message="${xml(r.message)}">${xml(text)}</error>`);
    else if (r.status === 'OFF') out.push(`      <skipped message="${xml(text)}"/>`);
    else out.push(`      <system-out>${xml(`${r.status}: ${text}`)}</system-out>`);
    out.push('    </testcase>');
  }
  out.push('  </testsuite>', '</testsuites>');
  return out.join('\n') + '\n';
}

export function renderCheck(report: CheckReport, format: string): string {
  switch (format) {
    case 'json':
      return JSON.stringify(report, null, 2) + '\n';
    case 'github':
      return renderGithub(report);
    case 'markdown':
      return renderMarkdown(report);
    case 'junit':
      return renderJunit(report);
    default:
      return renderTable(report);
  }
}
