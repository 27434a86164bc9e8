// Pre-bundles the few mathjs factories memplan uses into one file (dist/vendor/mathjs.mjs, imported
// as `#mathjs`). Importing `mathjs/number` as hundreds of ESM modules costs about a second per
// process, paid by every CLI start and every test file; one tree-shaken file loads in milliseconds.
import { build } from 'esbuild';

const names = [
  'create', 'parseDependencies', 'addDependencies', 'subtractDependencies', 'multiplyDependencies',
  'divideDependencies', 'powDependencies', 'modDependencies', 'ceilDependencies', 'floorDependencies',
  'roundDependencies', 'minDependencies', 'maxDependencies', 'sqrtDependencies', 'log2Dependencies',
  'absDependencies', 'unaryMinusDependencies', 'unaryPlusDependencies',
];
await build({
  stdin: { contents: `export { ${names.join(', ')} } from 'mathjs/number';`, resolveDir: process.cwd(), loader: 'js' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: 'dist/vendor/mathjs.mjs',
  logLevel: 'warning',
});
// Types for `#mathjs`: mathjs's own declarations.
import { writeFileSync } from 'node:fs';
writeFileSync('dist/vendor/mathjs.d.mts', "export * from 'mathjs';\n");
