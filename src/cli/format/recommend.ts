/** Renders recommend and --max-batch results as a table (cli-table3), markdown or JSON. Pure: returns strings. */
import Table from 'cli-table3';
import type { Candidate, MaxBatchResult, RecommendResult, TargetResult } from '../../core/recommend.js';
import { size, n } from '../../core/units.js';
import { wrap } from './estimate.js';

function row(c: Candidate, i: number | string): string[] {
  const changes = c.settings.filter((s) => s.changesResults).map((s) => s.label);
  const config = c.settings.filter((s) => !s.changesResults).map((s) => s.label);
  return [
    String(i),
    config.join(', ') || '-',
    `${c.batch_size} x ${c.grad_accum}`,
    changes.length ? changes.join(', ') : '-',
    `x${c.speed.toFixed(2)}`,
    size(c.device_total),
    size(c.headroom),
    c.verdict,
  ];
}

const HEAD = ['#', 'config', 'micro-batch x accum', 'changes results', 'step time', 'device total', 'headroom (edge)', 'verdict'];
/** Terminal table: within 100 columns, rows not ruled (a wrapped config reads as one row). */
const TABLE = {
  head: ['#', 'config', 'batch x accum', 'changes results', 'step time', 'total', 'headroom', 'verdict'],
  colWidths: [4, 24, 9, 14, 8, 12, 11, 9],
  wordWrap: true,
  style: { head: [], border: [] },
  chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
};

function header(r: RecommendResult, t: TargetResult, label: string): string {
  return `memplan recommend: ${r.model} (${label}) on ${t.gpus > 1 ? `${t.gpus} x ` : ''}${t.gpu.name}, effective batch ${t.effective_batch}`;
}

function searchedLine(t: TargetResult): string {
  const s = t.searched;
  const extra = [
    s.pruned ? `${n(s.pruned)} more skipped as over: a smaller micro-batch of the same config was already over` : '',
    s.invalid ? `${n(s.invalid)} invalid for the model` : '',
  ].filter(Boolean);
  const dup = s.duplicates ? `; ${n(s.duplicates)} memory-equivalent repeats dropped` : '';
  return `searched ${n(s.evaluated)} configs (${n(s.traces)} distinct traces${extra.length ? `; ${extra.join('; ')}` : ''}${dup}); ${n(t.fitting)} leave the ${size(t.margin)} margin (tight: fit the ${t.gpu.kind === 'host' ? 'RAM' : 'card'} but not the margin; never proposed); headroom at the risk band's edge, the configs shown re-checked with the full allocator simulation; step time: a proxy relative to the fastest config that fits (docs/recommend.md)`;
}

function asConfigured(t: TargetResult): string {
  const a = t.as_configured;
  return `as configured: ${a.batch_size} x ${a.grad_accum}${a.gpus > 1 ? ` on ${a.gpus} GPUs` : ''}, total ${size(a.device_total)}, ${a.headroom >= 0 ? `headroom ${size(a.headroom)}` : `over by ${size(-a.headroom)}`}, step time x${a.speed.toFixed(2)}`;
}

function tail(t: TargetResult): string[] {
  const out = [`${t.fitting ? 'top choice' : 'verdict'}: ${t.summary}`];
  const chosenNotes = new Set((t.best?.settings ?? []).filter((s) => s.changesResults && s.note).map((s) => `${s.label}: ${s.note}`));
  for (const x of chosenNotes) out.push(`warning: the top choice changes results: ${x}`);
  for (const s of t.suggestions) {
    out.push(`would fit with ${s.allow}: ${s.best.batch_size} x ${s.best.grad_accum}${s.best.settings.length ? ` (${s.best.settings.map((x) => x.label).join(', ')})` : ''}, headroom ${size(s.best.headroom)}${s.note ? ` (note: ${s.note})` : ''}`);
  }
  if (!t.fitting && !t.suggestions.length) out.push('no knob memplan can vary makes it fit: a larger card, more GPUs, or a smaller model/effective batch');
  for (const x of t.notes) out.push(`note: ${x}`);
  return out;
}

function knobLines(r: RecommendResult): string[] {
  return r.knobs
    .filter((k) => k.changes_results)
    .map((k) => `knob ${k.name} (${k.values.map(n).join(', ')}) changes results${k.note ? `: ${k.note}` : ''}${k.varied ? ' (varied: allowed)' : `; not varied (--allow ${k.name} to vary it)`}`);
}

export function renderRecommend(r: RecommendResult, label: string, format: string): string {
  if (format === 'json') return JSON.stringify(r, null, 2) + '\n';
  const out: string[] = [];
  if (format === 'markdown') {
    for (const t of r.targets) {
      out.push(`### ${header(r, t, label)}`, '', `${searchedLine(t)}  `, `${asConfigured(t)}`, '');
      out.push(`| ${HEAD.join(' | ')} |`, `|${HEAD.map((_, i) => (i >= 4 && i <= 6 ? '---:' : '---')).join('|')}|`);
      for (const [i, c] of t.ranked.entries()) out.push(`| ${row(c, i + 1).map((x) => x.replace(/\|/g, '\\|')).join(' | ')} |`);
      out.push('', ...tail(t).map((l, i) => (i === 0 ? `**${l}**` : `> ${l}`)), '');
    }
    for (const k of knobLines(r)) out.push(`> ${k}`);
    return out.join('\n') + '\n';
  }
  for (const t of r.targets) {
    out.push(...[header(r, t, label), searchedLine(t), asConfigured(t)].map((l) => wrap(l)));
    const tb = new Table(TABLE);
    for (const [i, c] of t.ranked.entries()) tb.push(row(c, i + 1));
    out.push(ruled(tb, TABLE), ...tail(t).map((l) => wrap(l)), '');
  }
  out.push(...knobLines(r).map((l) => wrap(l)));
  return out.join('\n') + '\n';
}

/** One rule under the header row (which may wrap over several lines). */
function ruled(t: Table.Table, opts: Table.TableConstructorOptions): string {
  const headLines = new Table(opts).toString().split('\n').length - 2;
  const lines = t.toString().split('\n');
  if (lines.length > headLines + 2) lines.splice(1 + headLines, 0, lines[0]!.replace('┌', '├').replace(/┬/g, '┼').replace('┐', '┤'));
  return lines.join('\n');
}

export function renderMaxBatch(rs: MaxBatchResult[], model: string, label: string, format: string): string {
  if (format === 'json') return JSON.stringify(rs, null, 2) + '\n';
  // total: the expected device total; headroom: at the edge of the risk band held to the card (high by default).
  const edge = rs[0]?.edge ?? 'high';
  const head = ['card', 'GPUs', 'max batch', 'total', edge === 'expected' ? 'headroom' : `headroom (${edge} edge)`, 'one more'];
  const rows = rs.map((r) => [
    r.gpu.name,
    String(r.gpus),
    String(r.max_batch),
    r.at ? size(r.at.device_total) : '-',
    r.at ? size(r.at.headroom) : '-',
    r.next.over_by !== undefined ? `${r.next.batch_size}: ${size(r.next.over_by)} past the margin` : `${r.next.batch_size}: ${r.next.reason ?? 'over'}`,
  ]);
  const lines = rs.map((r) => `${r.gpu.id}: ${r.max_batch ? `largest micro-batch ${r.max_batch} leaving the ${size(r.margin)} margin` : `not even micro-batch 1 leaves the ${size(r.margin)} margin`}; ${r.next.batch_size} does not${r.next.largest ? `, largest component ${r.next.largest}` : ''} (${r.probes} micro-batches evaluated)`);
  const title = `memplan recommend --max-batch: ${model} (${label}), the config otherwise as given`;
  if (format === 'markdown') {
    return [`### ${title}`, '', `| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((x) => `| ${x.join(' | ')} |`), '', ...lines.map((l) => `> ${l}`)].join('\n') + '\n';
  }
  const opts = { head, style: { head: [], border: [] }, colWidths: [26, 6, 10, 12, 12, 27], wordWrap: true, chars: TABLE.chars };
  const t = new Table(opts);
  t.push(...rows);
  return [wrap(title), ruled(t, opts), ...lines.map((l) => wrap(l))].join('\n') + '\n';
}
