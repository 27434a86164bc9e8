/**
 * Bad input, one fixture folder per situation: exit 2, one error printed once on stderr with its
 * code, `file:line: path`, what was expected and a hint, no stack trace; JSON on stdout under
 * --format json. Line numbers are counted by hand in the fixture files.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cli, fixture, json } from './run.js';

interface Case {
  name: string;
  args: string[];
  code: string;
  location: string;
  message: RegExp;
}

const m = (f: string) => fixture(f, 'model.yaml');
const CASES: Case[] = [
  { name: 'unknown-block', args: [fixture('unknown-block')], code: 'E_UNKNOWN_BLOCK', location: `${m('unknown-block')}:10: blocks[1].type`, message: /unknown block type "transfomer_encoder"/ },
  { name: 'unknown-key', args: [fixture('unknown-key')], code: 'E_SCHEMA', location: `${m('unknown-key')}:12: blocks[1].hidden_size`, message: /unknown key "hidden_size" in a linear block/ },
  { name: 'bad-yaml', args: [fixture('bad-yaml')], code: 'E_YAML', location: `${fixture('bad-yaml')}:5`, message: /invalid YAML: bad indentation/ },
  { name: 'undeclared-symbol', args: [fixture('undeclared-symbol')], code: 'E_UNDECLARED_SYMBOL', location: `${m('undeclared-symbol')}:9: blocks[0].dim`, message: /undeclared symbol "d_modle"/ },
  { name: 'dim-cycle', args: [fixture('dim-cycle')], code: 'E_DIM_CYCLE', location: `${m('dim-cycle')}:3: dims.seq`, message: /cycle: seq -> chunk -> seq/ },
  { name: 'division-by-zero', args: [fixture('division-by-zero')], code: 'E_DIVISION_BY_ZERO', location: `${m('division-by-zero')}:5: dims.chunks`, message: /"seq \/ chunk" divides by zero/ },
  { name: 'non-integer-dim', args: [fixture('non-integer-dim')], code: 'E_EXPR_VALUE', location: `${m('non-integer-dim')}:10: blocks[1].out`, message: /"third" = 33\.33+\d* is not an integer/ },
  { name: 'negative-dim', args: [fixture('negative-dim')], code: 'E_EXPR_VALUE', location: `${m('negative-dim')}:4: dims.pad`, message: /-8 is below 0/ },
  { name: 'too-large', args: [fixture('too-large')], code: 'E_TOO_LARGE', location: `${m('too-large')}:8: blocks[1]`, message: /\[2147483648, 2147483648\] x 4 B is past 2\^53 bytes/ },
  { name: 'missing-model-file', args: [fixture('missing-model-file')], code: 'E_FILE', location: `${fixture('missing-model-file')}:2: model`, message: /model file not found: test\/fixtures\/missing-model-file\/no-such-model\.yaml/ },
  { name: 'unknown-gpu (config)', args: [fixture('unknown-gpu')], code: 'E_UNKNOWN_PRESET', location: `${fixture('unknown-gpu')}:3: gpu`, message: /unknown GPU preset "rtx-9090"/ },
  { name: 'unknown-gpu (--gpu)', args: [fixture('fits'), '--gpu', 'rtx-9090'], code: 'E_UNKNOWN_PRESET', location: '--gpu', message: /unknown GPU preset "rtx-9090"/ },
  { name: 'shape-mismatch', args: [fixture('shape-mismatch')], code: 'E_SHAPE', location: `${m('shape-mismatch')}:11: blocks[1].input`, message: /input \[2, 48\] does not match the previous output \[2, 32\]/ },
  { name: 'missing config file', args: ['test/fixtures/no-such-dir/config.yaml'], code: 'E_FILE', location: 'test/fixtures/no-such-dir/config.yaml', message: /no such file/ },
];

const SETS: [string, string, RegExp][] = [
  ['precision=fp8', 'E_SCHEMA', /precision: value "fp8" is not allowed/],
  ['batch_size=0', 'E_SCHEMA', /batch_size: value 0 is not >= 1/],
  ['batch_size=many', 'E_SCHEMA', /batch_size: value "many" is not of type integer/],
  ['optimizer.impl=fast', 'E_SCHEMA', /optimizer\.impl: value "fast" is not allowed/],
  ['optimizer=adamx', 'E_SCHEMA', /optimizer: value "adamx" is not allowed/],
  ['featurs=3', 'E_CONFIG', /override of "featurs", which the model does not declare/],
  ['hidden=0', 'E_EXPR_VALUE', /is below 1/],
  ['gpu=rtx-9090', 'E_UNKNOWN_PRESET', /unknown GPU preset "rtx-9090"/],
];
for (const [set, code, message] of SETS) {
  // A zero dimension is caught where it is used (the linear's output), which is the honest location.
  const location = set === 'hidden=0' ? `${fixture('fits', 'model.yaml')}:11: blocks[0].out` : `--set ${set}`;
  CASES.push({ name: `bad-set: --set ${set}`, args: [fixture('bad-set'), '--set', set], code, location, message });
}
CASES.push({ name: 'bad-set: --set without =', args: [fixture('bad-set'), '--set', 'batch_size'], code: 'E_OPTION', location: '--set', message: /--set "batch_size" is not key=value/ });

function checkText(c: Case, stderr: string): void {
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines[0], `memplan: error ${c.code} at ${c.location}`);
  assert.match(lines[1]!, c.message);
  assert.equal(stderr.match(/memplan: error/g)?.length, 1, 'printed once');
  assert.ok(lines.some((l) => l.startsWith('  expected: ')), `expected: in\n${stderr}`);
  assert.ok(lines.some((l) => l.startsWith('  hint: ')), `hint: in\n${stderr}`);
  assert.doesNotMatch(stderr, /^\s+at .*\(.*:\d+:\d+\)$|Error:|\.ts:\d+|\.js:\d+/m, 'no stack trace');
}

describe('bad input: exit 2, one located error', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const r = await cli('estimate', ...c.args);
      assert.equal(r.code, 2);
      assert.equal(r.stdout, '');
      checkText(c, r.stderr);
    });
  }
});

describe('bad input with --format json: the error as JSON on stdout', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const r = await cli('estimate', ...c.args, '--format', 'json');
      assert.equal(r.code, 2);
      assert.equal(r.stderr, '');
      const { error } = json(r);
      assert.equal(error.code, c.code);
      assert.equal(error.location, c.location);
      assert.match(error.message, c.message);
      assert.equal(typeof error.expected, 'string');
      assert.equal(typeof error.hint, 'string');
      const line = /^[^:]+:(\d+)/.exec(c.location)?.[1];
      assert.equal(error.line, line === undefined ? undefined : Number(line));
    });
  }
});

describe('usage errors', () => {
  const usage: [string, string[], RegExp][] = [
    ['unknown option', ['estimate', fixture('fits'), '--bogus'], /unknown option '--bogus'/],
    ['missing --gpu value', ['estimate', fixture('fits'), '--gpu'], /option '--gpu <id>' argument missing/],
    ['unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
  ];
  for (const [name, argv, message] of usage) {
    it(`${name}: E_OPTION, exit 2`, async () => {
      const r = await cli(...argv);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^memplan: error E_OPTION/);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.match(/memplan: error/g)?.length, 1);
    });
  }

  it('an unknown option under --format json is JSON too', async () => {
    const r = await cli('estimate', fixture('fits'), '--format', 'json', '--bogus');
    assert.equal(r.code, 2);
    assert.equal(json(r).error.code, 'E_OPTION');
  });
});

describe('internal errors', () => {
  it('are printed once, as E_INTERNAL with the report hint, without a stack trace', async () => {
    const { printError } = await import('../../src/cli/main.js');
    const { asMemplanError } = await import('../../src/core/errors.js');
    let stderr = '';
    const ctx = { io: { argv: [], stdout: { write: () => true }, stderr: { write: (s: string) => (stderr += s) } }, exit: 0, json: false };
    printError(ctx, asMemplanError(new TypeError('cannot read properties of undefined')));
    assert.equal(stderr, 'memplan: error E_INTERNAL\n  cannot read properties of undefined\n  hint: this is a bug in memplan; please report it with the command and files that caused it\n');
  });
});
