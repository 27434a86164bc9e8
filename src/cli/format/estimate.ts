/** Renders an Estimate as a table (cli-table3), markdown or JSON. Pure: returns strings. */
import Table from 'cli-table3';
import type { Estimate } from '../../core/estimate.js';
import { formatBytes, gib, n } from '../../core/units.js';

function pct(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '-';
}

export function headline(e: Estimate, label: string): string[] {
  const opt = e.runtime === 'tfjs' ? 'tfjs' : e.precision;
  return [
    `memplan estimate: ${e.model} (${label})${e.gpu ? ` on ${e.gpu.name}` : ''}`,
    `batch ${e.batch_size} x accumulation ${e.grad_accum}${e.gpus > 1 ? ` x ${e.gpus} GPUs` : ''} = effective ${e.effective_batch} · ${opt} · runtime ${e.runtime}`,
    `parameters: ${n(e.params.total)}${e.params.frozen ? ` (${n(e.params.trainable)} trainable, ${n(e.params.frozen)} frozen)` : ''}`,
  ];
}

export function verdict(e: Estimate): string {
  if (e.fits === undefined || !e.gpu) return 'verdict: no card given (use --gpu ID; `memplan gpus` lists them)';
  return e.fits
    ? `verdict: FITS on ${e.gpu.name} with ${formatBytes(e.headroom!)} headroom`
    : `verdict: OVER BUDGET on ${e.gpu.name} by ${formatBytes(-e.headroom!)}`;
}

export function totals(e: Estimate): [string, string, string][] {
  const rows: [string, string, string][] = [
    ['peak allocated', formatBytes(e.allocated), `${e.peak.name}, ${e.peak.step}${e.peak.at ? ` at ${e.peak.at}` : ''} (${e.runtime === 'tfjs' ? 'peak of tf.memory().numBytes' : 'torch.cuda.max_memory_allocated'})`],
    ['step 1 / steady state', `${gib(e.step1_allocated)} / ${gib(e.steady_allocated)}`, 'optimizer state is created lazily during step 1'],
    ['reserved', formatBytes(e.reserved), e.runtime === 'tfjs' ? 'tfjs keeps no allocator cache: reserved = allocated' : 'allocated + allocator allowance (torch.cuda.memory_reserved)'],
    ['device total', formatBytes(e.device_total), e.gpu ? 'reserved + CUDA context and workspaces (what nvidia-smi shows)' : 'reserved (no card given)'],
  ];
  if (e.gpu) {
    rows.push(['card capacity', formatBytes(e.gpu.capacity), e.gpu.name]);
    rows.push(['headroom', formatBytes(e.headroom!), e.fits ? 'fits' : 'over budget']);
  }
  return rows;
}

export function renderTable(e: Estimate, label: string, opts: { explain?: boolean } = {}): string {
  const out = headline(e, label);
  const t = new Table({ head: ['component', 'bytes', 'share', 'formula'], colWidths: [34, 26, 8, 80], wordWrap: true, style: { head: [], border: [] } });
  for (const c of e.components) {
    t.push([c.name, formatBytes(c.bytes), pct(c.bytes, e.device_total), c.formula]);
    if (c.parts && (opts.explain || c.parts.length <= 8)) {
      for (const p of c.parts) t.push([`  ${p.name}`, formatBytes(p.bytes), pct(p.bytes, e.device_total), p.formula]);
    }
  }
  out.push(t.toString());
  const tt = new Table({ style: { head: [], border: [] }, colWidths: [24, 26, 80], wordWrap: true });
  tt.push(...totals(e));
  out.push(tt.toString());
  out.push(verdict(e));
  for (const note of e.notes) out.push(`note: ${note}`);
  if (opts.explain) out.push(...explainSections(e));
  return out.join('\n') + '\n';
}

function explainSections(e: Estimate): string[] {
  const out: string[] = [];
  out.push('', 'dimensions:', '  ' + Object.entries(e.dims).map(([k, v]) => `${k}=${n(v)}`).join(', '));
  const ph = new Table({ head: ['phase', 'step', 'allocated', 'at'], style: { head: [], border: [] } });
  for (const p of e.phases) ph.push([p.name, p.step, formatBytes(p.allocated), p.at ?? '']);
  out.push('', 'phases (the peak is the largest):', ph.toString());
  const bl = new Table({ head: ['block', 'type', 'repeat', 'params', 'saved after forward', 'notes'], style: { head: [], border: [] } });
  for (const b of e.blocks) {
    const flags = [b.frozen ? 'frozen (no grad)' : '', b.checkpointed ? 'checkpointed' : '', b.chunks > 1 ? `${b.chunks} chunks over ${b.chunkDim}` : ''].filter(Boolean).join(', ');
    bl.push([b.name, b.type, String(b.repeat), n(b.params), formatBytes(b.saved_bytes), flags]);
  }
  out.push('', 'blocks:', bl.toString());
  const it = new Table({ head: ['saved tensor', 'shape', 'dtype', 'bytes'], style: { head: [], border: [] } });
  for (const s of e.saved_items.slice(0, 25)) it.push([`${s.scope} ${s.what}`.trim(), `[${s.shape.join(', ')}]`, s.dtype, formatBytes(s.bytes)]);
  out.push('', `largest saved tensors (of ${formatBytes(e.forward_saved)} saved after forward):`, it.toString());
  return out;
}

export function renderMarkdown(e: Estimate, label: string): string {
  const out = headline(e, label).map((l, i) => (i === 0 ? `### ${l}` : `${l}  `));
  out.push('', '| component | bytes | share | formula |', '|---|---:|---:|---|');
  for (const c of e.components) {
    out.push(`| ${c.name} | ${formatBytes(c.bytes)} | ${pct(c.bytes, e.device_total)} | ${c.formula.replace(/\|/g, '\\|')} |`);
    for (const p of c.parts ?? []) out.push(`| &nbsp;&nbsp;${p.name} | ${formatBytes(p.bytes)} | ${pct(p.bytes, e.device_total)} | ${p.formula.replace(/\|/g, '\\|')} |`);
  }
  out.push('', '| total | bytes | |', '|---|---:|---|');
  for (const [a, b, c] of totals(e)) out.push(`| ${a} | ${b} | ${c} |`);
  out.push('', `**${verdict(e)}**`);
  for (const note of e.notes) out.push('', `> note: ${note}`);
  return out.join('\n') + '\n';
}

export function renderJson(e: Estimate): string {
  return JSON.stringify(e, null, 2) + '\n';
}
