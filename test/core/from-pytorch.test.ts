// docs/from-pytorch.md: every YAML example is a complete model descriptor that validates and estimates
// (training, and the inference run the page describes), so the guide cannot drift from the language.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as yaml from 'js-yaml';
import { estimate, normalizeRun, validateModel } from '../../src/index.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const page = readFileSync(root + 'docs/from-pytorch.md', 'utf8');
const examples = [...page.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

test('docs/from-pytorch.md: every YAML example validates and estimates', () => {
  assert.ok(examples.length >= 9, `${examples.length} examples`);
  const names = new Set<string>();
  for (const text of examples) {
    const doc = yaml.load(text) as { name: string };
    assert.ok(!names.has(doc.name), `two examples named ${doc.name}`);
    names.add(doc.name);
    const m = validateModel(doc);
    const train = estimate(m, normalizeRun({ model: 'inline', batch_size: 2, device: 'cpu' }));
    assert.ok(train.allocated > 0 && train.params.total > 0, `${doc.name}: trains`);
    const infer = estimate(m, normalizeRun({ model: 'inline', batch_size: 2, device: 'cpu', mode: 'inference' }));
    assert.ok(infer.allocated > 0 && infer.allocated <= train.allocated, `${doc.name}: inference below training`);
  }
});

test('docs/from-pytorch.md: frozen, shared and tied parameters count as the page says', () => {
  const byName = new Map(examples.map((t) => {
    const d = yaml.load(t) as { name: string };
    return [d.name, validateModel(d)] as const;
  }));
  const run = normalizeRun({ model: 'inline', batch_size: 2, device: 'cpu' });
  // share: proj_b reuses proj_a's 64 x 64 + 64; tie: lm_head reuses wte's 500 x 64 (no bias).
  const st = estimate(byName.get('shared-and-tied')!, run);
  assert.equal(st.params.total, 500 * 64 + (64 * 64 + 64));
  // The frozen encoder: 2 layers of 4(d^2 + d) + 4d + 2 d (4d) + 4d + d with d = 128, not trainable.
  const ad = estimate(byName.get('adapter-frozen-encoder')!, run);
  const layer = 4 * (128 * 128 + 128) + 4 * 128 + 128 * 512 + 512 + 512 * 128 + 128;
  assert.equal(ad.params.total - ad.params.trainable, 2 * layer);
});
