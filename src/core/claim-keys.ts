/** What a claim (claims.ts) can be about; its own module so the schema needs nothing else of claims. */
export const CLAIM_KEYS = [
  'weights', 'gradients', 'optimizer_state', 'ema', 'master_weights', 'saved_activations', 'loss_buffers',
  'allocated', 'reserved', 'device_total',
] as const;
export type ClaimKey = (typeof CLAIM_KEYS)[number];
