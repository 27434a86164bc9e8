/**
 * The pictures `memplan plot` draws, as SVG strings (pure: data in, markup out): memory vs
 * micro-batch per card with its capacity line and the OOM point, a stacked breakdown bar per card,
 * and the allocated bytes of one training step over program order (forward, backward, optimizer),
 * like PyTorch's memory_viz but predicted. Geometry is exported so a test can compute where a line
 * must be drawn and check the rendered pixels.
 */
export interface BatchSeries {
  card: string;
  capacity: number;
  /** Device total at each micro-batch. */
  points: { batch: number; total: number }[];
  /** First micro-batch over the capacity (the OOM point), if within the plotted range. */
  oom?: { batch: number; total: number };
}

export interface BreakdownBar {
  card: string;
  capacity: number;
  parts: { name: string; bytes: number }[];
}

export interface TimelinePoint {
  /** Position in program order (event index). */
  x: number;
  bytes: number;
  phase: 'forward' | 'backward' | 'recompute' | 'optimizer step';
}

export interface Timeline {
  points: TimelinePoint[];
  /** Where the curve comes from: the simulation's alloc/free events, or only the phase peaks. */
  source: 'events' | 'phase peaks';
  title: string;
  /** Said under the x axis: what the curve leaves out (later micro-batches under accumulation). */
  note?: string;
}

/** Panel geometry, in CSS pixels. */
export const GEOMETRY = { width: 860, left: 86, right: 170, top: 40, plotHeight: 240, panelHeight: 320, yHeadroom: 1.1 } as const;
export const CURVE_COLORS = ['#1f77b4', '#2ca02c', '#9467bd', '#8c564b', '#17becf'] as const;
/** Capacity lines (and the OOM marker) per card: colours no other mark uses. */
export const CAPACITY_COLORS = ['#e4002b', '#ff8c00', '#c71585', '#b8860b', '#008b8b'] as const;
const PART_COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#76b7b2', '#edc948', '#9c755f', '#bab0ac', '#86bcb6', '#d37295', '#a0cbe8', '#ffbe7d', '#8cd17d', '#499894', '#fabfd2', '#b6992d', '#79706e'];
const PHASE_FILL: Record<TimelinePoint['phase'], string> = { forward: '#dbe9f6', backward: '#fde3cf', recompute: '#dff0d8', 'optimizer step': '#e8e8e8' };

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const plotWidth = () => GEOMETRY.width - GEOMETRY.left - GEOMETRY.right;

/** The y of a value on a panel whose axis runs from 0 to yMax, `offset` the panel's top. */
export function yOf(bytes: number, yMax: number, offset = 0): number {
  return Math.round(offset + GEOMETRY.top + GEOMETRY.plotHeight * (1 - bytes / yMax));
}

function xOf(v: number, xMin: number, xMax: number): number {
  return Math.round(GEOMETRY.left + (plotWidth() * (v - xMin)) / Math.max(xMax - xMin, 1));
}

/** 1, 2, 5 x 10^k steps giving about `n` ticks. */
function ticks(max: number, n = 5): number[] {
  const raw = max / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = 0; v <= max + 1e-9; v += step) out.push(v);
  return out;
}

function axes(offset: number, yMax: number, fmt: (b: number) => string, xTicks: { x: number; label: string }[], xTitle: string, title: string): string[] {
  const { left, top, plotHeight } = GEOMETRY;
  const right = left + plotWidth();
  const out = [`<text x="${left}" y="${offset + 22}" font-size="15" font-weight="bold">${esc(title)}</text>`];
  // y ticks at 1, 2, 5 x 10^k of the largest binary unit (KiB, MiB, GiB) below the axis top.
  const unit = 1024 ** Math.max(0, Math.min(4, Math.floor(Math.log2(Math.max(yMax, 1)) / 10)));
  for (const t of ticks(yMax / unit).map((g) => g * unit)) {
    const y = yOf(t, yMax, offset);
    out.push(`<line x1="${left}" x2="${right}" y1="${y}" y2="${y}" stroke="#eeeeee"/>`, `<text x="${left - 6}" y="${y + 4}" font-size="11" text-anchor="end">${esc(fmt(t))}</text>`);
  }
  for (const t of xTicks) out.push(`<text x="${t.x}" y="${offset + top + plotHeight + 16}" font-size="11" text-anchor="middle">${esc(t.label)}</text>`);
  out.push(
    `<line x1="${left}" x2="${left}" y1="${offset + top}" y2="${offset + top + plotHeight}" stroke="#333333"/>`,
    `<line x1="${left}" x2="${right}" y1="${offset + top + plotHeight}" y2="${offset + top + plotHeight}" stroke="#333333"/>`,
    `<text x="${(left + right) / 2}" y="${offset + top + plotHeight + 34}" font-size="12" text-anchor="middle">${esc(xTitle)}</text>`,
  );
  return out;
}

/** y axis top for the batch panel: 10% above the largest capacity. */
export function batchYMax(series: BatchSeries[]): number {
  return GEOMETRY.yHeadroom * Math.max(...series.map((s) => s.capacity));
}

export function batchPanel(series: BatchSeries[], fmt: (b: number) => string, offset = 0, title = 'memory vs micro-batch'): string {
  const yMax = batchYMax(series);
  const xMax = Math.max(...series.flatMap((s) => s.points.map((p) => p.batch)));
  const clampY = (b: number) => Math.max(yOf(Math.min(b, yMax), yMax, offset), offset + GEOMETRY.top);
  const out = axes(offset, yMax, fmt, ticks(xMax).filter((t) => t >= 1 || t === 0).map((t) => ({ x: xOf(t, 0, xMax), label: String(t) })), 'micro-batch per GPU', title);
  series.forEach((s, i) => {
    const curve = CURVE_COLORS[i % CURVE_COLORS.length]!;
    const cap = CAPACITY_COLORS[i % CAPACITY_COLORS.length]!;
    const y = yOf(s.capacity, yMax, offset);
    const right = GEOMETRY.left + plotWidth();
    out.push(`<line class="capacity" x1="${GEOMETRY.left}" x2="${right}" y1="${y}" y2="${y}" stroke="${cap}" stroke-width="3" shape-rendering="crispEdges"/>`);
    out.push(`<text x="${right + 6}" y="${y + 4}" font-size="11" fill="${cap}">${esc(`${s.card} ${fmt(s.capacity)}`)}</text>`);
    const pts = s.points.map((p) => `${xOf(p.batch, 0, xMax)},${clampY(p.total)}`).join(' ');
    out.push(`<polyline fill="none" stroke="${curve}" stroke-width="2" points="${pts}"/>`);
    if (s.oom) {
      const ox = xOf(s.oom.batch, 0, xMax);
      const oy = clampY(s.oom.total);
      out.push(`<circle class="oom" cx="${ox}" cy="${oy}" r="6" fill="${cap}"/>`, `<text x="${ox + 8}" y="${oy - 8}" font-size="11" fill="${cap}">${esc(`OOM at ${s.oom.batch} on ${s.card}`)}</text>`);
    }
  });
  return out.join('\n');
}

export function breakdownPanel(bars: BreakdownBar[], fmt: (b: number) => string, offset = 0, title = 'breakdown at the configured micro-batch'): string {
  const { left } = GEOMETRY;
  const xMax = GEOMETRY.yHeadroom * Math.max(...bars.map((b) => Math.max(b.capacity, b.parts.reduce((a, p) => a + p.bytes, 0))));
  const w = (b: number) => (plotWidth() * b) / xMax;
  const out = [`<text x="${left}" y="${offset + 22}" font-size="15" font-weight="bold">${esc(title)}</text>`];
  const names = [...new Set(bars.flatMap((b) => b.parts.map((p) => p.name)))];
  const color = (name: string) => PART_COLORS[names.indexOf(name) % PART_COLORS.length]!;
  bars.forEach((b, i) => {
    const y = offset + 40 + i * 34;
    let x = left;
    out.push(`<text x="${left - 6}" y="${y + 15}" font-size="11" text-anchor="end">${esc(b.card)}</text>`);
    for (const p of b.parts) {
      out.push(`<rect x="${x.toFixed(1)}" y="${y}" width="${w(p.bytes).toFixed(1)}" height="22" fill="${color(p.name)}"><title>${esc(`${p.name}: ${fmt(p.bytes)}`)}</title></rect>`);
      x += w(p.bytes);
    }
    const cx = left + w(b.capacity);
    out.push(`<line x1="${cx.toFixed(1)}" x2="${cx.toFixed(1)}" y1="${y - 4}" y2="${y + 26}" stroke="${CAPACITY_COLORS[i % CAPACITY_COLORS.length]}" stroke-width="3"/>`);
    out.push(`<text x="${(cx + 6).toFixed(1)}" y="${y + 15}" font-size="11">${esc(`capacity ${fmt(b.capacity)}`)}</text>`);
  });
  const ly = offset + 48 + bars.length * 34;
  names.forEach((name, k) => {
    const x = left + (k % 2) * 300;
    const y = ly + Math.floor(k / 2) * 16;
    const bytes = bars[0]!.parts.find((p) => p.name === name)?.bytes;
    out.push(`<rect x="${x}" y="${y}" width="10" height="10" fill="${color(name)}"/>`, `<text x="${x + 14}" y="${y + 9}" font-size="11">${esc(`${name}${bytes !== undefined ? ` ${fmt(bytes)}` : ''}`)}</text>`);
  });
  return out.join('\n');
}

/** Height the breakdown panel needs for its bars and legend. */
export function breakdownHeight(bars: BreakdownBar[]): number {
  const names = new Set(bars.flatMap((b) => b.parts.map((p) => p.name)));
  return 60 + bars.length * 34 + Math.ceil(names.size / 2) * 16 + 10;
}

export function timelinePanel(t: Timeline, fmt: (b: number) => string, offset = 0): string {
  const pts = t.points;
  const xMax = Math.max(...pts.map((p) => p.x), 1);
  const peak = pts.reduce((a, p) => (p.bytes > a.bytes ? p : a), pts[0]!);
  const yMax = GEOMETRY.yHeadroom * peak.bytes;
  const what = t.source === 'events' ? 'program order: each alloc and free of micro-batch 1, then the optimizer step' : 'phase';
  const out = axes(offset, yMax, fmt, [], `${what}${t.note ?? ''}`, t.title);
  // Phase bands.
  let start = 0;
  for (let i = 1; i <= pts.length; i++) {
    if (i === pts.length || pts[i]!.phase !== pts[start]!.phase) {
      const x1 = xOf(pts[start]!.x, 0, xMax);
      const x2 = xOf(i === pts.length ? xMax : pts[i]!.x, 0, xMax);
      const ph = pts[start]!.phase;
      out.push(`<rect x="${x1}" y="${offset + GEOMETRY.top}" width="${Math.max(x2 - x1, 1)}" height="${GEOMETRY.plotHeight}" fill="${PHASE_FILL[ph]}"/>`, `<text x="${(x1 + x2) / 2}" y="${offset + GEOMETRY.top + 14}" font-size="11" text-anchor="middle">${esc(ph)}</text>`);
      start = i;
    }
  }
  // A step curve: each event holds its value until the next.
  const path = pts.map((p, i) => {
    const x = xOf(p.x, 0, xMax);
    const y = yOf(p.bytes, yMax, offset);
    return i === 0 ? `M${x},${y}` : `H${x}V${y}`;
  });
  out.push(`<path d="${path.join('')}H${xOf(xMax, 0, xMax)}" fill="none" stroke="#1f4e79" stroke-width="1.5"/>`);
  const px = xOf(peak.x, 0, xMax);
  const py = yOf(peak.bytes, yMax, offset);
  out.push(`<circle cx="${px}" cy="${py}" r="4" fill="#1f4e79"/>`, `<text x="${px + 6}" y="${py - 6}" font-size="11">${esc(`peak ${fmt(peak.bytes)} (${peak.phase})`)}</text>`);
  return out.join('\n');
}

export interface PlotData {
  title: string;
  /** Panel titles: `device total vs micro-batch` (or `process total` in host RAM), the breakdown's. */
  batchTitle?: string;
  breakdownTitle?: string;
  series: BatchSeries[];
  bars: BreakdownBar[];
  timeline: Timeline;
}

/** The three panels stacked in one SVG. */
export function plotSvg(d: PlotData, fmt: (b: number) => string): string {
  const bh = breakdownHeight(d.bars);
  const height = GEOMETRY.panelHeight + bh + GEOMETRY.panelHeight + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${GEOMETRY.width}" height="${height}" viewBox="0 0 ${GEOMETRY.width} ${height}" font-family="sans-serif">`,
    `<title>${esc(d.title)}</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    batchPanel(d.series, fmt, 0, d.batchTitle),
    breakdownPanel(d.bars, fmt, GEOMETRY.panelHeight, d.breakdownTitle),
    timelinePanel(d.timeline, fmt, GEOMETRY.panelHeight + bh),
    '</svg>',
  ].join('\n') + '\n';
}

/** A single-file HTML report: the pictures inline, and the breakdown as a table. */
export function plotHtml(d: PlotData, fmt: (b: number) => string, notes: string[]): string {
  const rows = d.bars[0]?.parts.map((p) => `<tr><td>${esc(p.name)}</td><td class="n">${esc(fmt(p.bytes))}</td></tr>`).join('\n') ?? '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(d.title)}</title>
<style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse}td{padding:2px 10px;border-bottom:1px solid #eee}td.n{text-align:right}</style>
</head><body>
<h1>${esc(d.title)}</h1>
${notes.map((n) => `<p>${esc(n)}</p>`).join('\n')}
${plotSvg(d, fmt)}
<h2>components (${esc(d.bars[0]?.card ?? '')})</h2>
<table>${rows}</table>
</body></html>
`;
}
