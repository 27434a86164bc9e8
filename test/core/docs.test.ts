/**
 * The reference docs cover every key the schemas accept, each in its own entry in the section that
 * describes it, and every block type has a page whose Keys table is exactly its keys (so they cannot
 * drift silently, and a key cannot be "documented" by being mentioned somewhere else).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BLOCKS, familyOf } from '../../src/core/blocks/index.js';
import { COMMON_BLOCK_PROPS, modelSchema, runSchema } from '../../src/core/schema.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const read = (p: string) => readFileSync(root + p, 'utf8');

/** The text under a heading, up to the next heading of the same or a higher level. */
function section(doc: string, heading: string): string {
  const lines = doc.split('\n');
  const start = lines.indexOf(heading);
  assert.ok(start >= 0, `no "${heading}" section`);
  const level = heading.indexOf(' ');
  let end = start + 1;
  let fenced = false; // `# comment` lines inside code blocks are not headings
  for (; end < lines.length; end++) {
    if (lines[end]!.startsWith('```')) fenced = !fenced;
    if (!fenced && /^#+ /.test(lines[end]!) && lines[end]!.indexOf(' ') <= level) break;
  }
  return lines.slice(start + 1, end).join('\n');
}

/** Table rows of a section by the keys in their first cell (`name`, `description` is two keys, one row). */
function rows(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('| `')) continue;
    const first = line.split('|')[1]!;
    for (const m of first.matchAll(/`([^`]+)`/g)) {
      assert.ok(!out.has(m[1]!), `"${m[1]}" has two rows`);
      out.set(m[1]!, line);
    }
  }
  return out;
}

type Schema = { readonly properties?: Readonly<Record<string, Schema>>; readonly anyOf?: readonly Schema[]; readonly items?: Schema; readonly additionalProperties?: Schema | boolean };

/** Keys of the objects a property's value may be (an object, one branch of anyOf, list items, map values). */
function nestedKeys(s: Schema | undefined): string[] {
  if (!s || typeof s !== 'object') return [];
  const own = Object.keys(s.properties ?? {});
  const more = [...(s.anyOf ?? []).flatMap(nestedKeys), ...nestedKeys(s.items), ...(typeof s.additionalProperties === 'object' ? nestedKeys(s.additionalProperties) : [])];
  return [...new Set([...own, ...more])];
}

/**
 * Every key of `props` has its own row in `table` (or one row per nested key), and each key nested in its
 * value has either its own row (`parent.key`) or is named in the parent's row; and the table names no key
 * the schema lacks.
 */
function coversSchema(table: Map<string, string>, props: Record<string, Schema>, what: string, elsewhere: string[] = []): void {
  for (const [key, s] of Object.entries(props)) {
    const subs = nestedKeys(s);
    const row = table.get(key);
    if (!row && subs.length && subs.every((sub) => table.has(`${key}.${sub}`))) continue; // one row per nested key
    assert.ok(row, `${what}: "${key}" has no row of its own`);
    if (elsewhere.includes(key)) continue;
    for (const sub of subs) {
      if (table.has(`${key}.${sub}`)) continue;
      assert.match(row, new RegExp(`\\b${sub}\\b`), `${what}: "${key}.${sub}" is neither a row nor named in the "${key}" row`);
    }
  }
  for (const k of table.keys()) {
    const [parent, sub] = k.split('.');
    assert.ok(parent! in props && (!sub || nestedKeys(props[parent!]).includes(sub)), `${what}: documents "${k}", which the schema does not accept`);
  }
}

test('docs/descriptor.md: every model, common block and run key has its own entry in its section', () => {
  const doc = read('docs/descriptor.md');
  coversSchema(rows(section(doc, '## Model descriptor').split('### ')[0]!), modelSchema.properties as unknown as Record<string, Schema>, 'model descriptor', ['blocks']); // block keys: the next test
  coversSchema(rows(section(doc, '### Keys every block accepts')), COMMON_BLOCK_PROPS as unknown as Record<string, Schema>, 'keys every block accepts');
  coversSchema(rows(section(doc, '## Run config')), runSchema.properties as unknown as Record<string, Schema>, 'run config');
});

test('docs/blocks/<family>.md: one page per block type or op family, each type\'s Keys table exactly its keys, required as the schema says', () => {
  const descriptor = read('docs/descriptor.md');
  for (const [type, mod] of BLOCKS) {
    const family = familyOf(mod);
    const p = `docs/blocks/${family}.md`;
    assert.ok(existsSync(root + p), `${p} is missing`);
    const page = read(p);
    let keys: string;
    if (family === type) {
      assert.ok(page.startsWith(`# \`${type}\`\n`), `${p} is titled with its type`);
      for (const h of ['## Keys', '## What it builds', '## Parameters']) section(page, h);
      assert.match(page, /^## What it saves for backward/m, `${p}: what it saves`);
      keys = section(page, '## Keys');
    } else {
      // An op family's page: one section per block type, with its keys and what it saves.
      keys = section(page, `## \`${type}\``);
      assert.match(keys, /saves|keeps/i, `${p}: the ${type} section says what it saves for backward`);
    }
    const table = rows(keys);
    const own = Object.keys(mod.properties);
    if (own.length === 0) assert.match(keys, family === type ? /^none\.$/m : /(^|Keys: )none\.$/m, `${p}: ${type} without keys says so`);
    for (const key of own) {
      const row = table.get(key);
      assert.ok(row, `${p} has no row for ${type}'s "${key}"`);
      const required = row.split('|')[2]!.trim();
      assert.equal(required, (mod.required ?? []).includes(key) ? 'yes' : 'no', `${p}: ${type}'s "${key}" required column`);
    }
    // A row may also restate a common key whose meaning the block changes (embedding's `input`).
    for (const k of table.keys()) assert.ok(own.includes(k) || k in COMMON_BLOCK_PROPS, `${p} documents "${k}", which ${type} does not accept`);
    assert.ok(descriptor.includes(`(blocks/${family}.md)`), `descriptor.md does not link ${family}`);
  }
});
