// Lint: ESLint with typescript-eslint over the repository (eslint.config.js: the rules the code
// follows, and no file, process or console I/O in src/core). `npm run lint` runs the type check first.
// The results are cached by file content under node_modules/.cache (a second run lints only what
// changed); --no-cache lints everything, as CI does on a fresh checkout (and ESLint then deletes the
// cache, so the next cached run starts cold). Import circles are a test
// (test/arch/imports.test.ts), not a lint rule: see eslint.config.js.
import { ESLint } from 'eslint';

const started = performance.now();
const cache = !process.argv.includes('--no-cache');
const eslint = new ESLint({ cache, cacheLocation: 'node_modules/.cache/eslint/', cacheStrategy: 'content' });
const results = await eslint.lintFiles(['.']);
const problems = results.reduce((a, r) => a + r.errorCount + r.warningCount, 0);
const seconds = ((performance.now() - started) / 1000).toFixed(1);
if (problems) {
  const formatter = await eslint.loadFormatter('stylish');
  console.error(await formatter.format(results));
  console.error(`lint: ${problems} problem${problems === 1 ? '' : 's'} in ${results.length} files (${seconds} s)`);
  process.exit(1);
}
console.log(`lint: ok (${results.length} files, ${seconds} s${cache ? ', cache on' : ''})`);
