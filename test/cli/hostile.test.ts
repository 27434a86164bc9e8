/**
 * Issue 11: the nineteen hostile inputs a fuzzer found, each exactly as reported, through the CLI
 * in-process. Each must exit 0/1/2 only, locate its error, finish in bounded time, never pass what
 * `estimate` refuses, and never print what a referenced file holds.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { cli, json, type Result } from './run.js';

const SECRET = 'API_TOKEN=abc123secret';

const made: string[] = [];
after(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A throw-away repository (a `.git` directory marks its root) holding `files`. */
function repo(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'memplan-hostile-'));
  made.push(dir);
  mkdirSync(join(dir, '.git'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

// test/fixtures/fits/model.yaml: one linear layer [batch, 256] -> [batch, 128] and an MSE loss.
const MODEL = `name: one-linear
dims:
  features: 256
  hidden: 128
blocks:
  - name: proj
    type: linear
    input: [batch, features]
    out: hidden
  - name: loss
    type: loss
    kind: mse
`;

/** The first line of an error on stderr: `memplan: error CODE at LOCATION`. */
function head(r: Result): string {
  return r.stderr.split('\n')[0] ?? '';
}

async function timed(...argv: string[]): Promise<Result & { ms: number }> {
  const t0 = Date.now();
  const r = await cli(...argv);
  return { ...r, ms: Date.now() - t0 };
}

describe('issue 11, security', () => {
  test('1: model: naming a secret file never echoes it, in any format; outside the repository it is refused unread', async () => {
    const outside = repo({ 'secret.yaml': 'token: outside-secret-value\n' });
    const d = repo({
      'secret.env': `${SECRET}\n`,
      'leak.yaml': 'model: secret.env\nbudget: {gpu: rtx-4090}\n',
      'passwd.yaml': 'model: /etc/passwd\nbudget: {gpu: rtx-4090}\n',
      'creds.yaml': `model: ../../.git-credentials\nbudget: {gpu: rtx-4090}\n`,
      'out.yaml': `model: ${join(outside, 'secret.yaml')}\nbudget: {gpu: rtx-4090}\n`,
      'git.yaml': 'model: .git/config\nbudget: {gpu: rtx-4090}\n',
      '.git/config': '[core]\n\trepositoryformatversion = 0\n[http]\n\textraheader = AUTHORIZATION: basic c2VjcmV0\n',
    });
    for (const format of ['github', 'json', 'table', 'markdown', 'junit']) {
      const r = await cli('check', join(d, 'leak.yaml'), '--format', format);
      assert.equal(r.code, 2, format);
      assert.ok(!(r.stdout + r.stderr).includes('abc123secret'), `${format}: ${r.stdout}`);
      assert.ok((r.stdout + r.stderr).includes('not a model descriptor'), format);
    }
    const gh = await cli('check', join(d, 'leak.yaml'), '--format', 'github');
    // Annotated at the config's `model:` line, the line to fix.
    assert.match(gh.stdout, /^::error file=.*leak\.yaml,line=1,/m);
    for (const f of ['passwd.yaml', 'creds.yaml', 'out.yaml', 'git.yaml']) {
      const r = await cli('check', join(d, f), '--format', 'github');
      assert.equal(r.code, 2, f);
      assert.match(r.stdout, /E_FILE at model: model file .* is refused/, f);
      assert.ok(!/outside-secret-value|c2VjcmV0|root:x/.test(r.stdout), f);
    }
    // --allow-outside lifts the repository rule only: the file is read, and still not shown.
    const allowed = await cli('estimate', join(d, 'out.yaml'), '--allow-outside');
    assert.equal(allowed.code, 2);
    assert.match(head(allowed), /E_SCHEMA at .*out\.yaml:1: model$/);
    assert.ok(!allowed.stderr.includes('outside-secret-value'));
    const git = await cli('estimate', join(d, 'git.yaml'), '--allow-outside');
    assert.match(git.stderr, /inside the repository's \.git directory/);
  });

  test("2: --set 'budget.__proto__={gpu: h200}', optimizer.__proto__=1, dims.__proto__=1 are unknown keys, located at the option", async () => {
    const d = repo({ 'model.yaml': MODEL, 'nobudget.yaml': 'model: model.yaml\nbatch_size: 4\n' });
    const cfg = join(d, 'nobudget.yaml');
    const check = await cli('check', cfg, '--set', 'budget.__proto__={gpu: h200}', '--format', 'json');
    assert.equal(check.code, 2);
    const row = json(check).results[0];
    assert.equal(row.status, 'ERROR');
    assert.equal(row.error.code, 'E_SCHEMA');
    assert.equal(row.error.path, '--set budget.__proto__={gpu: h200}');
    const opt = await cli('estimate', cfg, '--set', 'optimizer.__proto__=1');
    assert.equal(opt.code, 2);
    assert.equal(head(opt), 'memplan: error E_SCHEMA at --set optimizer.__proto__=1');
    const dims = await cli('estimate', cfg, '--set', 'dims.__proto__=1');
    assert.equal(dims.code, 2);
    assert.equal(head(dims), 'memplan: error E_CONFIG at --set dims.__proto__=1');
  });
});

describe('issue 11, hangs and memory', () => {
  test('3: a 362-byte YAML alias bomb in name: is refused at once', async () => {
    const bomb =
      'name: [&a [lol,lol,lol,lol,lol,lol,lol,lol,lol], &b [*a,*a,*a,*a,*a,*a,*a,*a,*a], &c [*b,*b,*b,*b,*b,*b,*b,*b,*b], &d [*c,*c,*c,*c,*c,*c,*c,*c,*c], &e [*d,*d,*d,*d,*d,*d,*d,*d,*d], &f [*e,*e,*e,*e,*e,*e,*e,*e,*e], &g [*f,*f,*f,*f,*f,*f,*f,*f,*f], &h [*g,*g,*g,*g,*g,*g,*g,*g,*g], [*h,*h,*h,*h,*h,*h,*h,*h,*h]]\n' +
      'blocks: [{type: linear, input: [batch, 4], out: 4}]\n';
    assert.equal(bomb.length, 362);
    const d = repo({ 'bomb.yaml': bomb, 'cfg.yaml': 'model: bomb.yaml\n', 'self.yaml': 'name: &x [a, *x]\nblocks: [{type: linear, input: [batch, 4], out: 4}]\n' });
    for (const f of ['bomb.yaml', 'cfg.yaml']) {
      const r = await timed('estimate', join(d, f));
      assert.equal(r.code, 2);
      assert.match(head(r), /E_TOO_LARGE at .*bomb\.yaml:1: name\[\d\]$/);
      assert.match(r.stderr, /more than 100,000 nodes/);
      assert.ok(r.ms < 2000, `${r.ms} ms`);
    }
    // An alias inside the node its anchor marks makes a cycle: refused, not walked forever.
    const self = await cli('estimate', join(d, 'self.yaml'));
    assert.equal(self.code, 2);
    assert.match(head(self), /E_YAML at .*self\.yaml:1: name\[1\]$/);
  });

  test('4: repeat: 10000000, "2^40" and 100000, and a 2^31-layer shipped model, stop at the repeat limit at once', async () => {
    const rep = (n: string) => `name: rep\nblocks:\n  - {type: linear, input: [batch, 4], out: 4, repeat: ${n}}\n`;
    const d = repo({ 'a.yaml': rep('10000000'), 'b.yaml': rep('"2^40"'), 'c.yaml': rep('100000') });
    for (const f of ['a.yaml', 'b.yaml', 'c.yaml']) {
      const r = await timed('estimate', join(d, f));
      assert.equal(r.code, 2, f);
      assert.match(head(r), /E_TOO_LARGE at .*:3: blocks\[0\]\.repeat$/, f);
      assert.match(r.stderr, /past the limit of 4,096/);
      assert.ok(r.ms < 2000, `${f}: ${r.ms} ms`);
    }
    const big = await timed('estimate', 'models/mini-transformer/config.yaml', '--set', 'layers=2147483648');
    assert.equal(big.code, 2);
    // The dimension itself is valid (below 2^40); its use as a layer count is not, so the error is at that use.
    assert.equal(head(big), 'memplan: error E_TOO_LARGE at models/mini-transformer/model.yaml:18: blocks[1].repeat');
    assert.match(big.stderr, /"layers" = 2147483648 is past the limit of 4,096/);
  });

  test('4: the op budget: 4,096 transformer layers stop at 20,000 traced ops, located at the block', async () => {
    const r = await timed('estimate', 'models/mini-transformer/config.yaml', '--set', 'layers=4096');
    assert.equal(r.code, 2);
    assert.match(head(r), /E_TOO_LARGE at models\/mini-transformer\/model\.yaml:\d+: blocks\[1\]$/);
    assert.match(r.stderr, /more than 20,000 ops/);
    assert.ok(r.ms < 5000, `${r.ms} ms`);
  });

  test('5: model: /dev/zero and a FIFO are not regular files; a file over 1 MiB is too large; none is read', async () => {
    const d = repo({
      'model.yaml': MODEL,
      'zero.yaml': 'model: /dev/zero\nbudget: {gpu: rtx-4090}\n',
      'fifo-cfg.yaml': 'model: fifo.yaml\nbudget: {gpu: rtx-4090}\n',
      'big.yaml': `${MODEL}description: "${'x'.repeat(1024 * 1024)}"\n`,
      'big-cfg.yaml': 'model: big.yaml\n',
    });
    execFileSync('mkfifo', [join(d, 'fifo.yaml')]);
    const zero = await timed('check', join(d, 'zero.yaml'), '--allow-outside', '--format', 'json');
    assert.equal(zero.code, 2);
    assert.match(json(zero).results[0].error.message, /\/dev\/zero: not a regular file/);
    const fifo = await timed('check', join(d, 'fifo-cfg.yaml'), '--format', 'json');
    assert.equal(fifo.code, 2);
    assert.match(json(fifo).results[0].error.message, /fifo\.yaml: not a regular file/);
    assert.ok(fifo.ms < 2000);
    const big = await cli('estimate', join(d, 'big-cfg.yaml'));
    assert.equal(big.code, 2);
    assert.match(head(big), /E_TOO_LARGE at .*big-cfg\.yaml:1: model$/);
    // The FIFO as the config itself, and a directory.
    const direct = await timed('estimate', join(d, 'fifo.yaml'));
    assert.equal(direct.code, 2);
    assert.match(direct.stderr, /not a regular file/);
    const dir = await cli('estimate', d);
    assert.equal(dir.code, 2);
    assert.match(dir.stderr, /a directory, not a file/);
  });
});

describe('issue 11, no false pass, no silent change of meaning', () => {
  test('6: gpu: rtx-9090 with budget: {gpu: rtx-4090} is an error in check, as in estimate', async () => {
    const d = repo({ 'model.yaml': MODEL, 'cfg.yaml': 'model: model.yaml\ngpu: rtx-9090\nbudget: {gpu: rtx-4090}\n' });
    const check = await cli('check', join(d, 'cfg.yaml'), '--format', 'json');
    assert.equal(check.code, 2);
    assert.equal(json(check).results[0].error.code, 'E_UNKNOWN_PRESET');
    assert.equal(json(check).results[0].error.line, 2);
    const est = await cli('estimate', join(d, 'cfg.yaml'));
    assert.equal(est.code, 2);
    assert.match(head(est), /E_UNKNOWN_PRESET at .*cfg\.yaml:2: gpu$/);
    // Every card of a list, not only the first.
    writeFileSync(join(d, 'list.yaml'), 'model: model.yaml\ngpu: [rtx-4090, rtx-9090]\n');
    assert.match(head(await cli('estimate', join(d, 'list.yaml'))), /E_UNKNOWN_PRESET at .*list\.yaml:2: gpu\[1\]$/);
  });

  test('7: --set gpu= (an unset $GPU) is an error, not a silently removed card', async () => {
    const r = await cli('estimate', 'models/mini-transformer/config.yaml', '--set', 'gpu=');
    assert.equal(r.code, 2);
    assert.equal(head(r), 'memplan: error E_OPTION at --set gpu=');
    const c = await cli('check', 'models/mini-transformer/config.yaml', '--set', 'gpu=');
    assert.equal(c.code, 2);
  });

  test('7b: a value option given twice is refused (found by the fuzzer: check --gpu 4xa100-80 --gpu rtx-4090, passed)', async () => {
    const c = await cli('check', 'models/mini-transformer/config.yaml', '--gpu', '4xa100-80', '--gpu', 'rtx-4090');
    assert.equal(c.code, 2);
    assert.equal(head(c), 'memplan: error E_OPTION at --gpu');
    const e = await cli('estimate', 'models/mini-transformer/config.yaml', '--format', 'json', '--format', 'table');
    assert.equal(e.code, 2);
    // Repeatable options still collect.
    const s = await cli('estimate', 'models/mini-transformer/config.yaml', '--set', 'batch_size=2', '--set', 'seq=64', '--format', 'json');
    assert.equal(s.code, 0);
  });

  test('8: recommend --max-batch on a dimension of 2^60 is E_TOO_LARGE like estimate, not "nothing fits"', async () => {
    const d = repo({
      'big.yaml': 'name: big\ndims:\n  huge: 1152921504606846976\nblocks:\n  - {type: linear, input: [batch, 4], out: 4}\n  - {type: tensor, name: t, shape: [huge], dtype: f32, lifetime: saved}\n',
      'cfg.yaml': 'model: big.yaml\ngpu: rtx-4090\n',
    });
    const rec = await cli('recommend', join(d, 'cfg.yaml'), '--max-batch');
    const est = await cli('estimate', join(d, 'cfg.yaml'));
    assert.equal(rec.code, 2);
    assert.equal(est.code, 2);
    assert.match(head(rec), /E_TOO_LARGE at .*big\.yaml:3: dims\.huge$/);
    assert.equal(head(rec), head(est));
  });

  test('9: batch_size: .inf and 1e308, grad_accum: 2^60 and an unused dims: {x: .nan} are refused where they are written', async () => {
    const d = repo({
      'model.yaml': MODEL,
      'inf.yaml': 'model: model.yaml\nbatch_size: .inf\n',
      'e308.yaml': 'model: model.yaml\nbatch_size: 1e308\n',
      'accum.yaml': 'model: model.yaml\ngrad_accum: 1152921504606846976\n',
      'nan.yaml': 'name: n\ndims:\n  x: .nan\n  features: 8\nblocks:\n  - {type: linear, input: [batch, features], out: 4}\n',
    });
    assert.match(head(await cli('estimate', join(d, 'inf.yaml'))), /E_SCHEMA at .*inf\.yaml:2: batch_size$/);
    assert.match(head(await cli('estimate', join(d, 'e308.yaml'))), /E_SCHEMA at .*e308\.yaml:2: batch_size$/);
    assert.match(head(await cli('estimate', join(d, 'accum.yaml'))), /E_SCHEMA at .*accum\.yaml:2: grad_accum$/);
    const nan = await cli('estimate', join(d, 'nan.yaml'));
    assert.equal(nan.code, 2);
    assert.match(head(nan), /E_SCHEMA at .*nan\.yaml:3: dims\.x$/);
    assert.match(nan.stderr, /value \.nan is not a finite number/);
  });

  test('10: recommend --margin 200% is refused like check --headroom 200%; --backend gpu is refused, with or without --verify', async () => {
    const cfg = 'models/mini-transformer/config.yaml';
    const margin = await cli('recommend', cfg, '--margin', '200%');
    assert.equal(margin.code, 2);
    assert.equal(head(margin), 'memplan: error E_OPTION at --margin');
    for (const extra of [[], ['--verify']]) {
      const r = await cli('recommend', cfg, '--backend', 'gpu', ...extra);
      assert.equal(r.code, 2);
      assert.equal(head(r), 'memplan: error E_OPTION at --backend');
      assert.match(r.stderr, /unknown backend "gpu"/);
    }
    const noVerify = await cli('recommend', cfg, '--backend', 'cpu');
    assert.equal(noVerify.code, 2);
    assert.match(noVerify.stderr, /--backend picks the probe backend of --verify/);
  });
});

describe('issue 11, internal errors reached by user input', () => {
  const model = (x: string, extra = '') => `name: e\ndims:\n${extra}  x: '${x}'\nblocks:\n  - {type: linear, input: [batch, x], out: 4}\n`;

  test('11: min(), pow(2), round(1,2,3) are syntax errors at the expression', async () => {
    const d = repo({ 'a.yaml': model('min()'), 'b.yaml': model('pow(2)'), 'c.yaml': model('round(1,2,3)') });
    const expect = { 'a.yaml': /min\(\) takes at least 1 argument, not 0/, 'b.yaml': /pow\(\) takes 2 arguments, not 1/, 'c.yaml': /round\(\) takes 1 argument, not 3/ };
    for (const [f, msg] of Object.entries(expect)) {
      const r = await cli('estimate', join(d, f));
      assert.equal(r.code, 2, f);
      assert.match(head(r), /E_EXPR_SYNTAX at .*:3: dims\.x$/, f);
      assert.match(r.stderr, msg, f);
    }
  });

  test('12: a dimension named like a function, used as ceil(ceil), is data', async () => {
    const d = repo({ 'm.yaml': model('ceil(ceil / 3)', '  ceil: 10\n') });
    const r = await cli('estimate', join(d, 'm.yaml'), '--format', 'json');
    assert.equal(r.code, 0, r.stdout);
    // ceil(10 / 3) = 4; the linear layer is 4 x 4 + 4 = 20 parameters.
    assert.equal(json(r).dims.x, 4);
    assert.equal(json(r).params.total, 4 * 4 + 4);
  });

  test('13: a 600 KB expression is E_TOO_LARGE, and the message does not repeat it', async () => {
    const long = Array(300000).fill('1').join('+');
    const d = repo({ 'm.yaml': `name: e\ndims:\n  x: "${long}"\nblocks:\n  - {type: linear, input: [batch, x], out: 4}\n` });
    const r = await cli('estimate', join(d, 'm.yaml'));
    assert.equal(r.code, 2);
    assert.match(head(r), /E_TOO_LARGE at .*m\.yaml:3: dims\.x$/);
    assert.match(r.stderr, /longer than 1,000 characters/);
    assert.ok(r.stderr.length < 600, `${r.stderr.length} characters`);
    // Within the length, parentheses nested past 64 are refused before mathjs's parser recurses.
    writeFileSync(join(d, 'deep.yaml'), `name: e\ndims:\n  x: "${'('.repeat(300)}1${')'.repeat(300)}"\nblocks:\n  - {type: linear, input: [batch, x], out: 4}\n`);
    const deep = await cli('estimate', join(d, 'deep.yaml'));
    assert.match(head(deep), /E_EXPR_SYNTAX at .*deep\.yaml:3: dims\.x$/);
  });

  test('14: baseline rows with settings.run null, settings {}, gpu null or a string device_total are refused at the row', async () => {
    const base = await cli('check', 'models/mini-transformer/config.yaml', '--format', 'json');
    const good = JSON.parse(base.stdout) as { results: Record<string, any>[] };
    const d = repo({});
    const cases: [string, (r: Record<string, any>) => void, string][] = [
      ['run-null', (r) => (r.settings.run = null), 'results[0].settings.run'],
      ['settings-empty', (r) => (r.settings = {}), 'results[0].settings.run'],
      ['gpu-null', (r) => (r.gpu = null), 'results[0].gpu'],
      ['total-string', (r) => (r.device_total = 'lots'), 'results[0].device_total'],
    ];
    for (const [name, mutate, path] of cases) {
      const copy = structuredClone(good);
      mutate(copy.results[0]!);
      const file = join(d, `${name}.json`);
      writeFileSync(file, JSON.stringify(copy));
      const r = await cli('check', 'models/mini-transformer/config.yaml', '--baseline', file);
      assert.equal(r.code, 2, name);
      assert.equal(head(r), `memplan: error E_SCHEMA at ${file}: ${path}`, name);
    }
  });
});

describe('issue 11, located errors', () => {
  test('15: a shape error from the graph helpers, and E_TOO_LARGE for the whole step, name the block and line', async () => {
    const big = '  - {type: tensor, shape: [1048576, 1048576, 1024], lifetime: saved}\n';
    const d = repo({
      'shape.yaml': 'name: s\nblocks:\n  - {type: conv1d, input: [batch, 3, 4], out_channels: 4, kernel: 9}\n',
      'step.yaml': `name: s\nblocks:\n${big}${big}${big}${big}`,
    });
    const shape = await cli('estimate', join(d, 'shape.yaml'));
    assert.equal(shape.code, 2);
    assert.match(head(shape), /E_SHAPE at .*shape\.yaml:3: blocks\[0\]$/);
    const step = await cli('estimate', join(d, 'step.yaml'));
    assert.equal(step.code, 2);
    assert.match(head(step), /E_TOO_LARGE at .*step\.yaml:3: blocks\[0\]$/);
    assert.match(step.stderr, /the training step comes to more than 2\^53 bytes/);
  });

  test("16: model: '' and model: a-directory/ are located at the config's model: line", async () => {
    const d = repo({ 'empty.yaml': "model: ''\n", 'dir.yaml': 'model: a-directory/\n', 'a-directory/x.txt': '' });
    const empty = await cli('estimate', join(d, 'empty.yaml'));
    assert.equal(empty.code, 2);
    assert.match(head(empty), /E_SCHEMA at .*empty\.yaml:1: model$/);
    const dir = await cli('estimate', join(d, 'dir.yaml'));
    assert.equal(dir.code, 2);
    assert.match(head(dir), /E_FILE at .*dir\.yaml:1: model$/);
    assert.match(dir.stderr, /a directory, not a file/);
  });

  test('17: --set features=.nan is reported at the option', async () => {
    const r = await cli('estimate', 'test/fixtures/fits/config.yaml', '--set', 'features=.nan');
    assert.equal(r.code, 2);
    assert.equal(head(r), 'memplan: error E_OPTION at --set features=.nan');
  });
});

describe('issue 11, valid input accepted', () => {
  test('18: dimensions named constructor, toString and valueOf are ordinary names', async () => {
    const d = repo({
      'm.yaml': 'name: d\ndims:\n  constructor: 4\n  toString: 2\n  valueOf: 3\nblocks:\n  - {type: linear, input: [batch, constructor], out: toString}\n  - {type: linear, out: valueOf}\n',
    });
    const r = await cli('estimate', join(d, 'm.yaml'), '--format', 'json');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(json(r).dims, { batch: 1, constructor: 4, toString: 2, valueOf: 3 });
    // 4 x 2 + 2 and 2 x 3 + 3 parameters.
    assert.equal(json(r).params.total, 4 * 2 + 2 + (2 * 3 + 3));
    const set = await cli('estimate', join(d, 'm.yaml'), '--set', 'constructor=8', '--format', 'json');
    assert.equal(json(set).params.total, 8 * 2 + 2 + (2 * 3 + 3));
  });

  test("19: --scale ' ' is not read as 0; a run config whose model: line has a typo is a WARN row in a folder check", async () => {
    const scale = await cli('probe', 'test/fixtures/fits/config.yaml', '--scale', ' ');
    assert.equal(scale.code, 2);
    assert.equal(head(scale), 'memplan: error E_OPTION at --scale');
    assert.match(scale.stderr, /--scale " " is not a number/);
    const d = repo({
      'model.yaml': MODEL,
      'configs/good.yaml': 'model: ../model.yaml\nbudget: {gpu: rtx-4090}\n',
      'configs/typo.yaml': 'batch_size: 4\nmodle: ../model.yaml\nbudget: {gpu: rtx-4090}\n',
      'configs/other.yaml': 'steps: 10\nname: not memplan\n',
    });
    const r = await cli('check', join(d, 'configs'), '--format', 'json');
    const rows = json(r).results as { file: string; status: string; line?: number; message: string }[];
    assert.deepEqual(rows.map((x) => [x.file.replace(/.*configs\//, ''), x.status]), [['good.yaml', 'PASS'], ['typo.yaml', 'WARN']]);
    assert.equal(rows[1]!.line, 2);
    assert.match(rows[1]!.message, /`modle:` looks like a misspelt `model:`/);
    assert.equal(r.code, 0);
  });
});

describe('beyond the 19: what the input puts in the log', () => {
  test('a name, a note or an expression cannot print a workflow command or a terminal escape', async () => {
    const d = repo({
      'model.yaml': 'name: "x\\n::add-mask::x"\ndims:\n  n: "1 +\\n::stop-commands::tok"\nblocks:\n  - {type: linear, input: [batch, 8], out: 8}\n',
      'cfg.yaml': 'model: model.yaml\nnotes: ["\\u001b[2Jcleared", "y\\n::set-output name=a::b"]\ngpu: rtx-4090\n',
      'ok.yaml': 'model: ok-model.yaml\nnotes: ["\\u001b[2Jcleared", "y\\n::set-output name=a::b"]\nbudget: {gpu: rtx-4090}\n',
      'ok-model.yaml': 'name: "x\\n::add-mask::x"\nblocks:\n  - {type: linear, input: [batch, 8], out: 8}\n',
    });
    for (const argv of [['estimate', join(d, 'cfg.yaml')], ['estimate', join(d, 'ok.yaml')], ['check', join(d, 'ok.yaml'), '--format', 'github'], ['check', join(d, 'cfg.yaml'), '--format', 'github'], ['check', join(d, 'ok.yaml'), '--format', 'markdown']]) {
      const r = await cli(...argv);
      const text = r.stdout + r.stderr;
      assert.ok(!/^\s*::(add-mask|stop-commands|set-output)/m.test(text), `${argv.join(' ')}:\n${text}`);
      assert.ok(!text.includes('\u001b'), argv.join(' '));
    }
    // The dimension's expression fails to parse; its newline is kept, its command defused.
    const e = await cli('estimate', join(d, 'cfg.yaml'));
    assert.equal(e.code, 2);
    assert.match(e.stderr, /^: :stop-commands::tok/m);
    const ok = await cli('estimate', join(d, 'ok.yaml'));
    assert.equal(ok.code, 0);
    assert.match(ok.stdout, /\\u001b\[2Jcleared/);
  });
});

test('config discovery: a "memplan" key in package.json is confined to the repository like model:', async () => {
  const { discoverConfig } = await import('../../src/cli/discover.js');
  const out = repo({ 'secret.yaml': 'token: x\n' });
  const d = repo({ 'package.json': JSON.stringify({ memplan: join(out, 'secret.yaml') }) });
  assert.throws(() => discoverConfig(d), (e: Error & { code?: string; path?: string }) => e.code === 'E_FILE' && e.path === 'memplan' && /refused/.test(e.message));
  const inside = repo({ 'package.json': JSON.stringify({ memplan: 'configs/run.yaml' }) });
  assert.equal(discoverConfig(inside), join(inside, 'configs', 'run.yaml'));
});

test('found by the fuzzer (seed 4, case 3974): checkpointing: true over a frozen encoder was E_INTERNAL in the simulation', async () => {
  const { readFileSync } = await import('node:fs');
  const d = repo({
    'model.yaml': readFileSync('bench/torch/cases/models/seed002_esm_gnn.yaml', 'utf8'),
    'config.yaml': "model: model.yaml\ndevice: cpu\npytorch: '1.13'\nbatch_size: 8\ncheckpointing: true\noptimizer:\n  type: adamw\n  impl: foreach\n",
  });
  const r = await cli('estimate', join(d, 'config.yaml'), '--format', 'json');
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const e = json(r);
  // The frozen encoder's segments are never recomputed: they keep nothing, and every byte is still accounted for.
  assert.equal(e.components.reduce((a: number, c: { bytes: number }) => a + c.bytes, 0), e.device_total);
});
