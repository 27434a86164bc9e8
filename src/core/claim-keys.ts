/**
 * What a claim is and can be about (claims.ts checks them against an estimate): a leaf module, so the
 * schema, the run config's type and the estimate's type need nothing else of claims.
 */
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
