/** Renders a shape sweep (core/sweep.ts): per batch, allocated, reserved in the sweep, and reserved alone. */
import type { SweepResult } from '../../core/sweep.js';
import { gib } from '../../core/units.js';
import { wrap } from './estimate.js';

export function renderSweep(s: SweepResult, format: string): string {
  const head = ['#', 'shape', 'allocated (this batch)', 'reserved (after it)', 'reserved (alone)'];
  const rows = s.rows.map((r, i) => [String(i + 1), Object.entries(r.shape).map(([k, v]) => `${k}=${v}`).join(', '), gib(r.allocated), gib(r.reserved), gib(r.reserved_alone)]);
  const grew = s.reserved_final > s.reserved_alone_max;
  const summary =
    `shape sweep (${s.settings}, one optimizer step per batch, one allocator): no batch allocates more than ${gib(s.allocated_max)}; reserved ends at ${gib(s.reserved_final)}` +
    (grew
      ? `, ${gib(s.reserved_final - s.reserved_alone_max)} more than the largest batch needs alone (${gib(s.reserved_alone_max)}): fragmentation, not a leak (the cache keeps segments carved for earlier shapes)`
      : `, what the largest batch needs alone (${gib(s.reserved_alone_max)}): the cache reuses its segments across shapes`);
  if (format === 'markdown') {
    return ['', `**${summary}**`, '', `| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`), ''].join('\n');
  }
  const w = head.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j]!.length)));
  const line = (cells: string[]) => cells.map((c, j) => c.padEnd(w[j]!)).join('  ').trimEnd();
  return ['', wrap(summary, 2), line(head), ...rows.map(line), ''].join('\n');
}
