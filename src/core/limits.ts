/**
 * The limits memplan enforces on its input, in one place, so docs/security.md and the code agree.
 * `memplan check` runs in CI on files a pull request edits: every input is bounded before any work
 * grows with it. Each value is far above what the shipped models use (the largest figure of
 * models/, test/fixtures/ and bench/torch/cases/ is given beside each, measured with
 * `node dist/scripts/limits-stats.js`), and far below what would take seconds or gigabytes.
 * Going past one is E_TOO_LARGE (or E_FILE for a file), located at what went past it.
 */
export const LIMITS = {
  /** Bytes of one config or model descriptor (shipped: 6,286 B for a config plus its model). */
  fileBytes: 1024 * 1024,
  /** Bytes of a --baseline report: memplan writes it, about 1.8 KB per config and card (shipped: 73,089 B for models/). */
  baselineBytes: 64 * 1024 * 1024,
  /** YAML nodes of one file with every alias expanded (shipped: 179). Stops alias bombs. */
  yamlNodes: 100_000,
  /** Characters of one expression (shipped: 43). */
  exprLength: 1_000,
  /** A block's `repeat` (shipped: 33 layers). */
  repeat: 4_096,
  /** Chunks of a chunked block: ceil(dim / chunk.size) (shipped: 4; recommend's knobs reach 8). */
  chunks: 4_096,
  /** Ops in one traced forward pass (shipped: 862; about 55 us each to trace and simulate). */
  ops: 20_000,
  /** Ops traced by one `recommend` search or --max-batch, all configurations together (shipped: see docs/security.md). */
  searchOps: 1_000_000,
  /** Any dimension, shape entry, count or run integer such as batch_size (shipped: 12,500,000). */
  dimension: 2 ** 40,
} as const;

/** `1,048,576` */
export function count(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+$)/g, ',');
}
