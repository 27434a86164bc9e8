/**
 * Forgiving names: did-you-mean by edit distance (GPU ids, keys, block types, optimizers), and the
 * card id lookup that takes `4090`, `H100`, `A100-80GB` or `rtx4090` for a preset.
 */
import { MemplanError } from './errors.js';
import type { Preset } from './preset.js';

/**
 * Damerau-Levenshtein distance (optimal string alignment): insertions, deletions, substitutions, swaps;
 * with `swaps: false`, plain Levenshtein (a swap counts as two edits).
 */
export function editDistance(a: string, b: string, swaps = true): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (swaps && i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The option closest to `word` (case-insensitive), if close enough to be a typo: at most a third of
 * the word's length in edits (at least 1, at most 3), or the word a prefix of exactly one option.
 */
export function didYouMean(word: string, options: readonly string[]): string | undefined {
  // No typo of a name is this long; the distance table would grow with the word (a hostile key can be a megabyte).
  if (word.length > 64) return undefined;
  const w = word.toLowerCase();
  const exact = options.find((o) => o.toLowerCase() === w);
  if (exact) return exact;
  let best: string | undefined;
  let bestD = Infinity;
  for (const o of options) {
    const d = editDistance(w, o.toLowerCase());
    if (d < bestD) {
      best = o;
      bestD = d;
    }
  }
  if (best !== undefined && bestD <= Math.min(3, Math.max(1, Math.floor(w.length / 3)))) return best;
  const prefixed = options.filter((o) => w.length >= 2 && o.toLowerCase().startsWith(w));
  return prefixed.length === 1 ? prefixed[0] : undefined;
}

/** `NVIDIA A100-80GB` -> `a10080`, `RTX 4090` -> `rtx4090`: letters and digits only, vendor words and a GB suffix dropped. */
export function cardKey(id: string): string {
  return id.toLowerCase().replace(/nvidia|geforce|tesla/g, '').replace(/(\d)\s*gb\b/g, '$1').replace(/[^a-z0-9]/g, '');
}

/**
 * The preset an id names: its id, one of its `aliases`, or either written another way (case,
 * spaces, dashes, a GB suffix: `A100-80GB`, `rtx4090`). An unknown id is an error that suggests
 * the nearest id by edit distance.
 */
export function findPreset(presets: ReadonlyMap<string, Preset>, id: string): Preset {
  const direct = presets.get(id);
  if (direct) return direct;
  const key = cardKey(id);
  for (const p of presets.values()) {
    if (cardKey(p.id) === key || (p.aliases ?? []).some((a) => cardKey(a) === key)) return p;
  }
  const names = [...presets.values()].flatMap((p) => [p.id, ...(p.aliases ?? [])]);
  const near = didYouMean(id, names);
  const nearId = near && [...presets.values()].find((p) => p.id === near || p.aliases?.includes(near))?.id;
  throw new MemplanError('E_UNKNOWN_PRESET', `unknown GPU preset "${id.length > 40 ? `${id.slice(0, 40)}...` : id}"`, {
    path: '--gpu',
    expected: `one of ${[...presets.keys()].join(', ')}`,
    hint: `${nearId ? `did you mean "${nearId}"? ` : ''}run \`memplan gpus\` for the list and the aliases; add your own card with --presets DIR or MEMPLAN_PRESETS (docs/cli.md)`,
  });
}
