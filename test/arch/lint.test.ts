/**
 * The lint config keeps the pure core pure: a planted source that reads a file, prints, exits and
 * imports at run time is refused under src/core, rule by rule, and the same text is allowed in the
 * CLI (which is where I/O belongs). Guards eslint.config.js against losing its core section.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const root = fileURLToPath(new URL('../../../', import.meta.url));

const PLANTED = `import { readFileSync } from 'node:fs';
import { writeFile } from 'fs/promises';
import { spawnSync } from 'child_process';
export function planted(): unknown {
  console.log('x');
  process.exitCode = 1;
  globalThis.process.stdout.write('y');
  return [readFileSync, writeFile, spawnSync, import('node:os')];
}
`;

async function rulesAt(filePath: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: root });
  const [r] = await eslint.lintText(PLANTED, { filePath });
  return r!.messages.map((m) => `${m.line}:${m.ruleId}`);
}

test('src/core refuses file, process and console I/O and dynamic import()', async () => {
  assert.deepEqual(await rulesAt('src/core/planted.ts'), [
    '1:no-restricted-imports', // node:fs
    '2:no-restricted-imports', // fs/promises, by pattern
    '3:no-restricted-imports', // child_process
    '5:no-restricted-globals', // console
    '6:no-restricted-globals', // process
    '7:no-restricted-properties', // globalThis.process
    '8:no-restricted-syntax', // import()
  ]);
});

test('the same text is allowed in the CLI', async () => {
  assert.deepEqual(await rulesAt('src/cli/planted.ts'), []);
});
