/**
 * Runs the cases of every block type, one module per type (./<type>.ts), in one process: each test
 * process pays about 1.5 s of CPU to load mathjs, and the CI machine has 2 cores. The block modules
 * import helpers as types only, so when `node --test` also starts them on their own they cost nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BLOCKS, familyOf } from '../../../src/core/blocks/index.js';
import * as helpers from '../helpers.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const modules = readdirSync(here).filter((f) => f.endsWith('.js') && !f.endsWith('.test.js'));

test('every registered block family has its test module', () => {
  const have = new Set(modules.map((f) => f.replace(/\.js$/, '')));
  for (const m of BLOCKS.values()) assert.ok(have.has(familyOf(m)), `test/core/blocks/${familyOf(m)}.ts is missing (block ${m.type})`);
});

for (const f of modules) {
  const mod = (await import(new URL(f, import.meta.url).href)) as { default: (h: typeof helpers) => void };
  mod.default(helpers);
}
