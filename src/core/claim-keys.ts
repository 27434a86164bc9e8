/**
 * What a claim is and can be about (claims.ts checks them against an estimate), and what a claim says
 * on its own (its size, its arithmetic), read once here: a leaf of the estimate, so the schema, the run
 * config (which refuses an unreadable claim at load, for every command) and the estimate's type need
 * nothing else of claims.
 */
import { MemplanError } from './errors.js';
import { evalValue } from './expr.js';
import { parseSize } from './units.js';

export const CLAIM_KEYS = [
  'weights', 'gradients', 'optimizer_state', 'ema', 'master_weights', 'saved_activations', 'loss_buffers',
  'allocated', 'reserved', 'device_total',
] as const;
export type ClaimKey = (typeof CLAIM_KEYS)[number];

export interface Claim {
  /** The guide's words: "Model Parameters ~1.5 GB". */
  label: string;
  /** The claimed size: bytes, or a size such as "1.5 GB" (decimal) or "750 MiB". */
  bytes: number | string;
  /** The memplan quantities it is about, summed. */
  of: ClaimKey | ClaimKey[];
  /** Where the claim comes from (a seed file, a README line). */
  source?: string;
  /** The claim's own arithmetic, as an expression (`12.5e6 * 2 * 2`): evaluated to show a slip. */
  arithmetic?: string;
}

export interface ClaimResult {
  label: string;
  source?: string;
  claimed: number;
  memplan: number;
  /** memplan's parts, e.g. `weights 50.00 MB + gradients 50.00 MB`. */
  formula: string;
  /** claimed / memplan. */
  ratio: number;
  /** Within 25% either way agrees: hand tables round, and memplan's own allowance is an estimate. */
  verdict: 'agrees' | 'too high' | 'too low';
  /** What the claim's own arithmetic comes to, when it gives one. */
  arithmetic?: { expr: string; bytes: number };
}

/** The claimed size in bytes (a number, or a size such as "1.5 GB"); a share ("10%") is no size. */
export function claimedBytes(c: Claim, i: number): number {
  if (typeof c.bytes === 'number') return c.bytes;
  const path = `claims[${i}].bytes`;
  const s = parseSize(c.bytes, path);
  if (!('bytes' in s)) throw new MemplanError('E_CONFIG', `claim "${c.label}": a share is not a size`, { path, expected: 'a size such as 1.5 GB' });
  return s.bytes;
}

/** What the claim's own arithmetic comes to, when it gives one. */
export function claimArithmetic(c: Claim, i: number): { expr: string; bytes: number } | undefined {
  if (!c.arithmetic) return undefined;
  return { expr: c.arithmetic, bytes: evalValue(c.arithmetic, new Map(), `claims[${i}].arithmetic`, { max: Number.MAX_SAFE_INTEGER }) };
}

/** Refuses, located, a claim whose size or arithmetic cannot be read (run when the config is loaded). */
export function validateClaims(claims: readonly Claim[] | undefined): void {
  claims?.forEach((c, i) => {
    claimedBytes(c, i);
    claimArithmetic(c, i);
  });
}
