/** The reference docs cover every key the schemas accept and every block type (so they cannot drift silently). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BLOCKS, familyOf } from '../../src/core/blocks/index.js';
import { COMMON_BLOCK_PROPS, modelSchema, runSchema } from '../../src/core/schema.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const read = (p: string) => readFileSync(root + p, 'utf8');

test('docs/descriptor.md names every model, run and common block key', () => {
  const doc = read('docs/descriptor.md');
  const nested = (s: unknown) => Object.keys(((s as { properties?: object }).properties ?? {}) as object);
  const keys = [
    ...Object.keys(modelSchema.properties),
    ...Object.keys(runSchema.properties),
    ...Object.keys(COMMON_BLOCK_PROPS),
    ...['distributed', 'allocator', 'budget'].flatMap((k) => nested(runSchema.properties[k as 'distributed'])),
    'impl', 'weight_decay', 'enabled', 'dtype', 'device', 'assumed', 'doc', 'values', 'changes_results', 'note',
  ];
  for (const k of keys) assert.ok(doc.includes(`\`${k}\``) || doc.includes(`.${k}\``) || doc.includes(`${k}:`), `descriptor.md lacks "${k}"`);
});

test('docs/blocks/<family>.md exists for every block type, names it and lists its keys', () => {
  for (const [type, mod] of BLOCKS) {
    const family = familyOf(mod);
    const p = `docs/blocks/${family}.md`;
    assert.ok(existsSync(root + p), `${p} is missing`);
    const page = read(p);
    if (family !== type) assert.ok(page.includes(`\`${type}\``), `${p} does not describe block type "${type}"`);
    for (const key of Object.keys(mod.properties)) assert.ok(page.includes(`\`${key}\``), `${p} lacks key "${key}"`);
    assert.ok(read('docs/descriptor.md').includes(`blocks/${family}.md`), `descriptor.md does not link ${family}`);
  }
});
