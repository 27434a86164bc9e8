/**
 * A fixed-seed slice of the hostile-input fuzzer (issue 11): generated repositories and command
 * lines through the in-process CLI, a few through the real bin/memplan.js, against the contract
 * in harness.ts. `npm run fuzz -- --n 100000` runs the long version (scripts/fuzz.ts).
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import '../cli/run.js';
import { buildCase, caseParts } from './cases.js';
import { baselineReport, runCase, sandbox } from './harness.js';

const RUNS = 100;

test(`fuzz: ${RUNS} hostile cases (seed 11) keep the contract`, async () => {
  const box = sandbox();
  const report = await baselineReport();
  let n = 0;
  try {
    await fc.assert(
      fc.asyncProperty(caseParts, async (parts) => {
        const c = buildCase(parts, report);
        // Every 25th case also through the real CLI (a process start costs about half a second).
        const v = await runCase(c, box, 'case', n++ % 25 === 0);
        assert.deepEqual(v.violations, [], `${c.argv.join(' ')}\n${v.outcome.stderr}${v.outcome.stdout.slice(0, 2000)}`);
      }),
      { seed: 11, numRuns: RUNS, endOnFailure: true },
    );
  } finally {
    rmSync(box.root, { recursive: true, force: true });
  }
});
