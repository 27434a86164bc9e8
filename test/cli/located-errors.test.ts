/** Every command that reads a config locates errors raised after loading, and names --set options. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { main } from '../../src/cli/main.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CFG = join('test', 'fixtures', 'error-after-load', 'config.yaml');

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const cwd = process.cwd();
  process.chdir(ROOT);
  try {
    const code = await main({ argv, stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
    return { code, out, err };
  } finally {
    process.chdir(cwd);
  }
}

test('estimate, recommend and probe all point a trace-time error at the model file and line', async () => {
  // `heads: h` is line 8 of the fixture's model.yaml.
  const where = `at ${join('test', 'fixtures', 'error-after-load', 'model.yaml')}:8: blocks[0].heads`;
  for (const cmd of [['estimate'], ['recommend'], ['probe']]) {
    const r = await run(...cmd, CFG);
    assert.equal(r.code, 2, cmd[0]);
    assert.ok(r.err.startsWith(`memplan: error E_SHAPE ${where}`), `${cmd[0]}: ${r.err}`);
  }
});

test('check names the --set option a bad override came from', async () => {
  const r = await run('check', CFG, '--set', 'precision=fp8');
  assert.equal(r.code, 2);
  assert.match(r.out, /ERROR .*E_SCHEMA at --set precision=fp8/);
});
