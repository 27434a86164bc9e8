// Runs the compiled test files, and only them: `dist/test/**/*.test.js`. node --test given a
// directory would also load every helper module under test/ and count each as a passing test.
// Arguments narrow the set: `node scripts/run-tests.mjs probe/` runs the files whose path contains "probe/".
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = 'dist/test';
const files = [];
(function walk(dir) {
  for (const f of readdirSync(dir).sort()) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.test.js')) files.push(p);
  }
})(root);
const filters = process.argv.slice(2);
const chosen = filters.length ? files.filter((f) => filters.some((s) => f.includes(s))) : files;
if (!chosen.length) {
  console.error(`run-tests: no test file under ${root} matches ${filters.join(', ')}`);
  process.exit(2);
}
const r = spawnSync(process.execPath, ['--test', ...chosen], { stdio: 'inherit' });
process.exit(r.status ?? 1);
