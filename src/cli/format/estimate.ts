/** Renders an Estimate as a table (cli-table3), markdown or JSON. Pure: returns strings. */
import Table from 'cli-table3';
import type { Estimate } from '../../core/estimate.js';
import { currentUnits, size, n, type Units } from '../../core/units.js';
import { claimLine } from '../../core/claims.js';

function pct(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '-';
}

/** Output width: fixed, not the terminal's, so a table reads the same in a log, a CI page and a golden file. */
export const WIDTH = 100;

/** The units line: only the system the sizes are printed in (--units). */
export function unitsLine(units: Units = currentUnits()): string {
  const bin = 'KiB, MiB, GiB = 1024, 1024^2, 1024^3 bytes';
  const dec = 'KB, MB, GB = 1000, 1000^2, 1000^3 bytes';
  return `units: ${units === 'binary' ? `${bin} (--units decimal for GB)` : units === 'decimal' ? dec : `${bin}; ${dec}`}; share = of the total`;
}

/** Width of a bytes column: `123.4 MiB`, or `123.4 MiB (129.4 MB)` with --units both. */
function bw(): number {
  return currentUnits() === 'both' ? 24 : 13;
}

/** Host-RAM runs (a RAM preset, or device: cpu) are about RAM and the process, not a card and CUDA. */
export function isHost(e: Estimate): boolean {
  return e.gpu?.kind === 'host' || e.device === 'cpu';
}

export function headline(e: Estimate, label: string): string[] {
  const opt = e.runtime === 'tfjs' ? 'tfjs' : e.precision;
  return [
    `memplan estimate: ${e.model} (${label})${e.gpu ? ` on ${e.gpu.name}` : ''}`,
    e.mode === 'inference'
      ? `inference (model.eval(), torch.no_grad()) · batch ${e.batch_size}${e.gpus > 1 ? ` x ${e.gpus} GPUs` : ''} · ${opt} · runtime ${e.runtime}`
      : `batch ${e.batch_size} x accumulation ${e.grad_accum}${e.gpus > 1 ? ` x ${e.gpus} GPUs` : ''} = effective ${e.effective_batch} · ${opt} · runtime ${e.runtime}`,
    `parameters: ${n(e.params.total)}${e.mode === 'inference' ? '' : e.params.frozen ? ` (${n(e.params.trainable)} trainable, ${n(e.params.frozen)} frozen)` : ''}`,
  ];
}

export function verdict(e: Estimate): string {
  if (e.fits === undefined || !e.gpu) return `verdict: no card given; the step needs ${size(e.device_total)} (use --gpu ID; \`memplan gpus\` lists them)`;
  const on = e.gpu.kind === 'host' ? 'in' : 'on';
  const cap = e.gpu.capacity;
  if (!e.band || !e.verdict) {
    return e.fits
      ? `verdict: FITS ${on} ${e.gpu.name}: ${size(e.device_total)} used, ${size(e.headroom!)} headroom`
      : `verdict: OVER BUDGET ${on} ${e.gpu.name} by ${size(-e.headroom!)}: needs ${size(e.device_total)}`;
  }
  const b = e.band;
  if (e.verdict === 'FITS') return `verdict: FITS ${on} ${e.gpu.name}: even the band's high edge, ${size(b.high)}, leaves ${size(cap - b.high)} (expected ${size(b.expected)}, ${size(e.headroom!)} headroom)`;
  if (e.verdict === 'AT RISK') {
    return `verdict: AT RISK ${on} ${e.gpu.name}: the expected ${size(b.expected)} fits (${size(e.headroom!)} headroom) but the band's high edge, ${size(b.high)}, is over by ${size(b.high - cap)}`;
  }
  return e.allocator?.oom
    ? `verdict: OVER ${on} ${e.gpu.name}: out of memory even after the allocator frees its cache (needs ${size(b.expected)})`
    : `verdict: OVER ${on} ${e.gpu.name} by ${size(-e.headroom!)}: needs ${size(b.expected)}${b.low <= cap ? ` (the band's low edge, ${size(b.low)}, would fit)` : ''}`;
}

/** Word-wraps a line to WIDTH, continuation lines indented under the text after `label: `. */
export function wrap(text: string, indent = Math.min(text.indexOf(': ') + 2, 12)): string {
  const lead = /^ */.exec(text)![0];
  const words = text.slice(lead.length).split(' ');
  const lines: string[] = [];
  let cur = lead;
  for (const w of words) {
    if (cur.trim() && cur.length + 1 + w.length > WIDTH) {
      lines.push(cur);
      cur = ' '.repeat(Math.max(indent, 0)) + w;
    } else {
      cur = cur.trim() ? `${cur} ${w}` : cur + w;
    }
  }
  lines.push(cur);
  return lines.join('\n');
}

/** What each total is, in the words of the target: PyTorch's CUDA counters, the process's RSS, or tf.memory(). */
function totalWords(e: Estimate): { peak: string; reserved: string; total: [string, string]; capacity: string } {
  if (e.runtime === 'tfjs') {
    return { peak: 'peak of tf.memory().numBytes', reserved: 'tfjs keeps no allocator cache: reserved = allocated', total: ['device total', e.gpu ? 'reserved + the process baseline' : 'reserved (no card given)'], capacity: 'capacity' };
  }
  if (isHost(e)) {
    return {
      peak: 'tensor bytes alive at once in host RAM',
      reserved: 'CPU tensors return to the system allocator: no cache on top',
      total: ['process total', e.gpu ? 'reserved + the process baseline (Python, torch): the RSS to expect' : 'reserved (no RAM size given)'],
      capacity: 'RAM capacity',
    };
  }
  return {
    peak: 'torch.cuda.max_memory_allocated',
    reserved: e.allocator ? 'the caching allocator simulated over the run (torch.cuda.max_memory_reserved)' : 'allocated + a fixed allowance (allocator.fragmentation; torch.cuda.memory_reserved)',
    total: ['device total', e.gpu ? 'reserved + CUDA context and workspaces (what nvidia-smi shows)' : 'reserved (no card given)'],
    capacity: 'card capacity',
  };
}

export function totals(e: Estimate): [string, string, string][] {
  const w = totalWords(e);
  const rows: [string, string, string][] = [
    ['peak allocated', size(e.allocated), `${e.peak.name}, ${e.peak.step}${e.peak.at ? ` at ${e.peak.at}` : ''} (${e.allocator ? `tensor bytes, memory_stats' requested_bytes peak; torch.cuda.max_memory_allocated counts 512 B-rounded blocks: ${size(e.allocator.allocated_peak)}` : w.peak})`],
    ...(e.mode === 'inference'
      ? []
      : [['step 1 / steady state', `${size(e.step1_allocated)} / ${size(e.steady_allocated)}`, 'allocated peak of the first step / of later steps (optimizer state is created lazily during step 1)'] as [string, string, string]]),
    ['reserved', size(e.reserved), w.reserved],
  ];
  if (e.allocator) {
    const a = e.allocator;
    rows.push(['largest free block', size(a.at_peak.largest_free), `of ${size(a.at_peak.cached_free)} cached free at the allocated peak: fragmentation ${(a.at_peak.fragmentation * 100).toFixed(0)}%${a.segments ? `, ${a.segments} segments held` : ''}`]);
  }
  rows.push([w.total[0], size(e.device_total), w.total[1]]);
  if (e.band) {
    const b = e.band;
    rows.push(['band: low / high', `${size(b.low)} / ${size(b.high)}`, `${b.calibrated ? 'calibrated: ' : ''}${b.parts.filter((p) => p.low !== p.expected || p.high !== p.expected).map((p) => `${p.part} ${size(p.low)}..${size(p.high)}`).join(', ') || 'no uncertain part'}`]);
  }
  if (e.gpu) {
    rows.push([w.capacity, size(e.gpu.capacity), e.gpu.name]);
    rows.push(['headroom', size(e.headroom!), e.verdict ?? (e.fits ? 'fits' : 'OVER BUDGET')]);
  }
  return rows;
}

/**
 * A cli-table3 table exactly `WIDTH` columns wide, the last column taking what the others leave.
 * Rows are not ruled (a wrapped formula reads as one row); one rule under the header.
 */
function table(head: string[] | undefined, widths: number[]): Table.Table {
  const last = WIDTH - widths.reduce((a, b) => a + b, 0) - (widths.length + 2);
  return new Table({
    ...(head ? { head } : {}),
    colWidths: [...widths, last],
    wordWrap: true,
    style: { head: [], border: [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
}

function ruled(t: Table.Table, head: boolean): string {
  const lines = t.toString().split('\n');
  if (head && lines.length > 2) {
    const rule = lines[0]!.replace('┌', '├').replace(/┬/g, '┼').replace('┐', '┤');
    lines.splice(2, 0, rule);
  }
  return lines.join('\n');
}

export function renderTable(e: Estimate, label: string, opts: { explain?: boolean } = {}): string {
  const out = headline(e, label).map((l) => wrap(l));
  out.push(wrap(unitsLine()));
  const t = table(['component', 'bytes', 'share', 'formula'], [30, bw(), 8]);
  for (const c of e.components) {
    t.push([c.name, size(c.bytes), pct(c.bytes, e.device_total), c.formula]);
    if (c.parts && (opts.explain || c.parts.length <= 8)) {
      for (const p of c.parts) t.push([`  ${p.name}`, size(p.bytes), pct(p.bytes, e.device_total), p.formula]);
    }
  }
  out.push(ruled(t, true));
  const tt = table(undefined, [22, 23]);
  tt.push(...totals(e));
  out.push(ruled(tt, false));
  out.push(wrap(verdict(e)));
  for (const note of e.notes) out.push(wrap(`note: ${note}`));
  for (const c of e.claims ?? []) out.push(wrap(claimLine(c)));
  if (opts.explain) out.push(...explainSections(e));
  return out.join('\n') + '\n';
}

function explainSections(e: Estimate): string[] {
  const out: string[] = [];
  out.push('', 'dimensions:', wrap('  ' + Object.entries(e.dims).map(([k, v]) => `${k}=${n(v)}`).join(', '), 2));
  const ph = table(['phase', 'step', 'allocated', 'at'], [28, 8, bw()]);
  for (const p of e.phases) ph.push([p.name, p.step, size(p.allocated), p.at ?? '']);
  out.push('', 'phases (the peak is the largest):', ruled(ph, true));
  if (e.terms) {
    const tt = table(['term', 'bytes', 'declared inputs'], [18, bw()]);
    for (const t of e.terms) tt.push([t.key, size(t.bytes), t.inputs]);
    out.push('', 'per-step terms (src/core/terms.ts) and the inputs each reads:', ruled(tt, true));
  }
  const bl = table(['block', 'type', 'repeat', 'params', 'saved after forward', 'notes'], [20, 20, 7, 13, bw()]);
  for (const b of e.blocks) {
    const flags = [b.frozen ? 'frozen (no grad)' : '', b.checkpointed ? 'checkpointed' : '', b.chunks > 1 ? `${b.chunks} chunks over ${b.chunkDim}` : ''].filter(Boolean).join(', ');
    bl.push([b.name, b.type, String(b.repeat), n(b.params), size(b.saved_bytes), flags]);
  }
  out.push('', 'blocks:', ruled(bl, true));
  const it = table(['saved tensor', 'shape', 'dtype', 'bytes'], [40, 24, 7]);
  for (const s of e.saved_items.slice(0, 25)) it.push([`${s.scope} ${s.what}`.trim(), `[${s.shape.join(', ')}]`, s.dtype, size(s.bytes)]);
  out.push('', `largest saved tensors (of ${size(e.forward_saved)} saved after forward):`, ruled(it, true));
  return out;
}

export function renderMarkdown(e: Estimate, label: string): string {
  const out = [...headline(e, label), unitsLine()].map((l, i) => (i === 0 ? `### ${l}` : `${l}  `));
  out.push('', '| component | bytes | share | formula |', '|---|---:|---:|---|');
  for (const c of e.components) {
    out.push(`| ${c.name} | ${size(c.bytes)} | ${pct(c.bytes, e.device_total)} | ${c.formula.replace(/\|/g, '\\|')} |`);
    for (const p of c.parts ?? []) out.push(`| &nbsp;&nbsp;${p.name} | ${size(p.bytes)} | ${pct(p.bytes, e.device_total)} | ${p.formula.replace(/\|/g, '\\|')} |`);
  }
  out.push('', '| total | bytes | |', '|---|---:|---|');
  for (const [a, b, c] of totals(e)) out.push(`| ${a} | ${b} | ${c} |`);
  out.push('', `**${verdict(e)}**`);
  for (const note of e.notes) out.push('', `> note: ${note}`);
  if (e.claims?.length) out.push('', ...e.claims.map((c) => `- ${claimLine(c)}`));
  return out.join('\n') + '\n';
}

export function renderJson(e: Estimate): string {
  return JSON.stringify(e, null, 2) + '\n';
}
