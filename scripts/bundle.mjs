// Bundles the CLI into one ESM file: loading mathjs and ajv as hundreds of modules costs over a
// second at start-up; one tree-shaken file starts in a fraction of that.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli/main.ts'],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: 'dist/memplan.mjs',
  // Optional heavy dependencies (TensorFlow.js for the probe) stay outside the bundle and load on demand.
  external: ['@tensorflow/*'],
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  logLevel: 'warning',
});
