/**
 * schema/*.json (what editors validate YAML against) and the precompiled ajv validators must match
 * the schemas in src/core/schema.ts; `npm run schema` rewrites both.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { modelSchema, presetSchema, runSchema } from '../../src/core/schema.js';
import { ROOT } from './run.js';

describe('generated schema files', () => {
  const files: [string, unknown][] = [
    ['schema/model.schema.json', modelSchema],
    ['schema/run.schema.json', runSchema],
    ['schema/preset.schema.json', presetSchema],
  ];
  for (const [file, schema] of files) {
    it(`${file} is up to date (npm run schema)`, () => {
      assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), JSON.parse(JSON.stringify(schema)));
    });
  }

  it('the precompiled validators and schema files match the schemas (scripts/schema.mjs check)', () => {
    // Throws (exit 1, naming the stale files) when they do not.
    const out = execFileSync(process.execPath, ['scripts/schema.mjs', 'check'], { cwd: ROOT, encoding: 'utf8' });
    assert.match(out, /up to date/);
  });

  it('every YAML file that names a schema names one that exists', () => {
    const refs = [
      ['models/mini-transformer/config.yaml', 'run'],
      ['models/mini-transformer/model.yaml', 'model'],
      ['presets/rtx-4090.yaml', 'preset'],
    ] as const;
    for (const [file, kind] of refs) {
      const ref = /\$schema=(\S+)/.exec(readFileSync(file, 'utf8'))?.[1];
      assert.ok(ref, `${file} names its schema`);
      const target = new URL(ref, new URL(file, `file://${ROOT}`));
      assert.equal(JSON.parse(readFileSync(target, 'utf8')).title, `memplan ${kind === 'run' ? 'run config' : kind === 'model' ? 'model descriptor' : 'GPU preset'}`);
    }
  });
});
