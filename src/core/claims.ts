/**
 * Claims: a hand-made memory table's numbers, written into a run config (`claims:`), checked against
 * the estimate and reported beside it. This is how memplan says, in its own output, where a seed's
 * guide is wrong ("12.5M params x 2 B x 2 = 1.5 GB": memplan counts 100 MB) and by how much.
 */
import type { Estimate } from './estimate-types.js';
import { formatBytes } from './units.js';

import { claimArithmetic, claimedBytes, type Claim, type ClaimKey, type ClaimResult } from './claim-keys.js';

export { CLAIM_KEYS, type Claim, type ClaimKey, type ClaimResult } from './claim-keys.js';

const TOLERANCE = 0.25;

/** The quantity behind each key, for an estimate (the persistent terms as the step holds them). */
function quantity(est: Estimate, key: ClaimKey): number {
  switch (key) {
    case 'allocated':
      return est.allocated;
    case 'reserved':
      return est.reserved;
    case 'device_total':
      return est.device_total;
    case 'saved_activations':
      return est.forward_saved - (est.totals?.loss_buffers ?? 0);
    default:
      return est.totals?.[key] ?? 0;
  }
}

export function checkClaims(est: Estimate, claims: readonly Claim[]): ClaimResult[] {
  return claims.map((c, i) => {
    const claimed = claimedBytes(c, i);
    const keys = Array.isArray(c.of) ? c.of : [c.of];
    const parts = keys.map((k) => ({ k, v: quantity(est, k) }));
    const memplan = parts.reduce((a, p) => a + p.v, 0);
    const ratio = memplan > 0 ? claimed / memplan : Infinity;
    const verdict = Math.abs(ratio - 1) <= TOLERANCE ? 'agrees' : ratio > 1 ? 'too high' : 'too low';
    const arithmetic = claimArithmetic(c, i);
    return {
      label: c.label,
      ...(c.source ? { source: c.source } : {}),
      ...(arithmetic ? { arithmetic } : {}),
      claimed,
      memplan,
      formula: parts.map((p) => `${p.k.replace(/_/g, ' ')} ${formatBytes(p.v)}`).join(' + '),
      ratio,
      verdict,
    };
  });
}

/**
 * The finished estimate with the run's claims checked against it: claims read an estimate, the
 * estimate never imports them, so its callers (the CLI, estimateFile) attach them. `claims` goes
 * right after `terms`, where the JSON output has always had it. Only an estimate with the step's
 * terms (pytorch) is checked; a tfjs estimate has none and is returned as it is, as before.
 */
export function withClaims(est: Estimate, claims: readonly Claim[] | undefined): Estimate {
  if (!claims?.length || !est.terms) return est;
  const checked = checkClaims(est, claims);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(est)) {
    if (k !== 'claims') out[k] = v;
    if (k === 'terms') out.claims = checked;
  }
  return out as unknown as Estimate;
}

/** One line per claim: `"Model Parameters ~1.5 GB" claims 1.500 GB; memplan: ... = 100.0 MB: 15.0x too high`. */
export function claimLine(r: ClaimResult): string {
  const how = r.verdict === 'agrees' ? 'agrees' : r.ratio > 1 ? `${r.ratio.toFixed(1)}x too high` : `${(1 / r.ratio).toFixed(1)}x too low`;
  const own = r.arithmetic && Math.abs(r.arithmetic.bytes - r.claimed) > TOLERANCE * r.claimed
    ? ` (its own arithmetic, ${r.arithmetic.expr}, comes to ${formatBytes(r.arithmetic.bytes)})`
    : '';
  return `claim "${r.label}"${r.source ? ` (${r.source})` : ''}: ${formatBytes(r.claimed)}${own}; memplan: ${r.formula}${r.formula.includes(' + ') ? ` = ${formatBytes(r.memplan)}` : ''}: ${how}`;
}
