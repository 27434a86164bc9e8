/** The sentences recommend prints under its table: why the top choice, why nothing fits. */
import type { Estimate } from '../estimate.js';
import { size } from '../units.js';
import type { Candidate } from './types.js';

export type ByteFormat = (bytes: number) => string;

/** `saved activations 9.1 GiB (most in spectrum_loss: 7.2 GiB)`: what to look at when a config is over. */
export function largestComponent(e: Estimate, fmt: ByteFormat = size): string {
  const comps = e.components.filter((c) => c.level === 'allocated');
  const top = comps.reduce((a, c) => (c.bytes > a.bytes ? c : a), comps[0]!);
  const part = top.parts?.reduce((a, p) => (p.bytes > a.bytes ? p : a), top.parts[0]!);
  return `${top.name} ${fmt(top.bytes)}${part && top.parts!.length > 1 ? ` (most in ${part.name}: ${fmt(part.bytes)})` : ''}`;
}

/** `48 x 2 (sdpa attention, expandable_segments)` */
export function describe(c: Candidate): string {
  const s = c.settings.map((x) => x.label).join(', ');
  return `${c.batch_size} x ${c.grad_accum}${s ? ` (${s})` : ''}`;
}

/** `48 x 2 fits with 10.5 GiB headroom (margin 2 GiB)` */
export function bestLine(best: Candidate, margin: number, fmt: ByteFormat): string {
  return `${describe(best)} fits with ${fmt(best.headroom)} headroom (margin ${fmt(margin)})`;
}

/** Why the next larger micro-batch with the same knobs was not chosen. */
export function largerLine(m: number, a: number, e: Estimate, margin: number, fmt: ByteFormat): string {
  const h = e.headroom!;
  return h < 0
    ? `; ${m} x ${a} is over by ${fmt(-h)}: largest component ${largestComponent(e, fmt)}`
    : `; ${m} x ${a} leaves only ${fmt(h)} (margin ${fmt(margin)})`;
}

export function nothingLine(card: string, gpus: number, E: number, margin: number, closest: Candidate | undefined, e: Estimate | undefined, fmt: ByteFormat): string {
  const where = `${card}${gpus > 1 ? ` x ${gpus}` : ''}`;
  let why = '';
  if (closest && e) {
    why = closest.headroom >= 0
      ? `; closest: ${describe(closest)}, leaves ${fmt(closest.headroom)}, short of the margin by ${fmt(margin - closest.headroom)}: largest component ${largestComponent(e, fmt)}`
      : `; closest: ${describe(closest)}, over by ${fmt(-closest.headroom)}: largest component ${largestComponent(e, fmt)}`;
  }
  return `nothing fits on ${where} at effective batch ${E} with the ${fmt(margin)} margin${why}`;
}
