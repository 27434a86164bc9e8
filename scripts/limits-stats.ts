/**
 * Prints the largest figure of each limited quantity over the shipped run configs beside its limit
 * (src/core/limits.ts), for docs/security.md. `npm run build && node dist/scripts/limits-stats.js`;
 * `--search` also runs recommend on three cards with every knob allowed (a minute or two).
 */
import { ROOT } from '../src/io/load.js';
import { LIMITS } from '../src/core/limits.js';
import { shippedStats } from '../test/fuzz/shipped.js';

const s = shippedStats(ROOT, { search: process.argv.includes('--search') });
console.log(`${s.configs} shipped run configs`);
for (const key of Object.keys(LIMITS) as (keyof typeof LIMITS)[]) {
  const got = (s as unknown as Record<string, { value: number; file: string } | undefined>)[key];
  if (!got) continue; // the baseline: written by memplan, not shipped
  console.log(`${key.padEnd(10)} limit ${String(LIMITS[key]).padStart(14)}  shipped max ${String(got.value).padStart(10)}  (${(LIMITS[key] / Math.max(1, got.value)).toFixed(0)}x)  ${got.file}`);
}
