/** Renders recommend and --max-batch results as a table (cli-table3), markdown or JSON. Pure: returns strings. */
import Table from 'cli-table3';
import type { Candidate, MaxBatchResult, RecommendResult, TargetResult } from '../../core/recommend.js';
import { gib, n } from '../../core/units.js';

function row(c: Candidate, i: number | string): string[] {
  const changes = c.settings.filter((s) => s.changesResults).map((s) => s.label);
  const config = c.settings.filter((s) => !s.changesResults).map((s) => s.label);
  return [
    String(i),
    config.join(', ') || '-',
    `${c.batch_size} x ${c.grad_accum}`,
    changes.length ? changes.join(', ') : '-',
    `x${c.speed.toFixed(2)}`,
    gib(c.device_total),
    gib(c.headroom),
    c.verdict,
  ];
}

const HEAD = ['#', 'config', 'micro-batch x accum', 'changes results', 'step time', 'device total', 'headroom', 'verdict'];

function header(r: RecommendResult, t: TargetResult, label: string): string {
  return `memplan recommend: ${r.model} (${label}) on ${t.gpus > 1 ? `${t.gpus} x ` : ''}${t.gpu.name}, effective batch ${t.effective_batch}`;
}

function searchedLine(t: TargetResult): string {
  const s = t.searched;
  const extra = [
    s.pruned ? `${n(s.pruned)} more skipped as over: a smaller micro-batch of the same config was already over` : '',
    s.invalid ? `${n(s.invalid)} invalid for the model` : '',
  ].filter(Boolean);
  return `searched ${n(s.evaluated)} configs (${n(s.traces)} distinct traces${extra.length ? `; ${extra.join('; ')}` : ''}); ${n(t.fitting)} fit; tight = under the ${gib(t.margin)} margin`;
}

function asConfigured(t: TargetResult): string {
  const a = t.as_configured;
  return `as configured: ${a.batch_size} x ${a.grad_accum}${a.gpus > 1 ? ` on ${a.gpus} GPUs` : ''}, device total ${gib(a.device_total)}, ${a.headroom >= 0 ? `headroom ${gib(a.headroom)}` : `over by ${gib(-a.headroom)}`}`;
}

function tail(t: TargetResult): string[] {
  const out = [`${t.fitting ? 'top choice' : 'verdict'}: ${t.summary}`];
  const chosenNotes = new Set((t.best?.settings ?? []).filter((s) => s.changesResults && s.note).map((s) => `${s.label}: ${s.note}`));
  for (const x of chosenNotes) out.push(`warning: the top choice changes results: ${x}`);
  for (const s of t.suggestions) {
    out.push(`would fit with ${s.allow}: ${s.best.batch_size} x ${s.best.grad_accum}${s.best.settings.length ? ` (${s.best.settings.map((x) => x.label).join(', ')})` : ''}, headroom ${gib(s.best.headroom)}${s.note ? ` (note: ${s.note})` : ''}`);
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
    out.push(header(r, t, label), searchedLine(t), asConfigured(t));
    const tb = new Table({ head: HEAD, style: { head: [], border: [] }, wordWrap: true, colWidths: [4, 30, 21, 20, 11, 14, 13, 9] });
    for (const [i, c] of t.ranked.entries()) tb.push(row(c, i + 1));
    out.push(tb.toString(), ...tail(t), '');
  }
  out.push(...knobLines(r));
  return out.join('\n') + '\n';
}

export function renderMaxBatch(rs: MaxBatchResult[], model: string, label: string, format: string): string {
  if (format === 'json') return JSON.stringify(rs, null, 2) + '\n';
  const head = ['card', 'GPUs', 'max micro-batch', 'device total', 'headroom', 'one more'];
  const rows = rs.map((r) => [
    r.gpu.name,
    String(r.gpus),
    String(r.max_batch),
    r.at ? gib(r.at.device_total) : '-',
    r.at ? gib(r.at.headroom) : '-',
    r.next.over_by !== undefined ? `${r.next.batch_size}: over by ${gib(r.next.over_by)}` : `${r.next.batch_size}: ${r.next.reason ?? 'over'}`,
  ]);
  const lines = rs.map((r) => `${r.gpu.id}: ${r.max_batch ? `largest micro-batch ${r.max_batch}` : 'not even micro-batch 1 fits'}; ${r.next.batch_size} is over${r.next.largest ? `, largest component ${r.next.largest}` : ''} (${r.probes} micro-batches evaluated)`);
  const title = `memplan recommend --max-batch: ${model} (${label}), the config otherwise as given`;
  if (format === 'markdown') {
    return [`### ${title}`, '', `| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((x) => `| ${x.join(' | ')} |`), '', ...lines.map((l) => `> ${l}`)].join('\n') + '\n';
  }
  const t = new Table({ head, style: { head: [], border: [] } });
  t.push(...rows);
  return [title, t.toString(), ...lines].join('\n') + '\n';
}
