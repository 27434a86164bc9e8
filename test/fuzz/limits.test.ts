/** The input limits (src/core/limits.ts) stay far above everything shipped, as docs/security.md says. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ROOT } from '../cli/run.js';
import { LIMITS } from '../../src/core/limits.js';
import { shippedStats } from './shipped.js';

test('every shipped config is at least 10x below each limit (searchOps, measured by limits-stats --search, aside)', () => {
  const s = shippedStats(ROOT);
  assert.ok(s.configs >= 90, `${s.configs} configs`);
  for (const key of ['fileBytes', 'yamlNodes', 'exprLength', 'repeat', 'chunks', 'ops', 'dimension'] as const) {
    assert.ok(s[key].value > 0, key);
    assert.ok(s[key].value * 10 <= LIMITS[key], `${key}: ${s[key].value} in ${s[key].file} is within 10x of ${LIMITS[key]}`);
  }
});
