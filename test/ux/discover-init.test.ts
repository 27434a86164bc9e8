/**
 * The mission's commands as typed: config discovery (memplan.yaml, .memplanrc.yaml, package.json,
 * the one run config), `memplan init`, forgiving card ids and did-you-mean, host-RAM words,
 * --help examples and shell completion.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, cpSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cli, fixture, json, ROOT, widest } from '../cli/run.js';

/** Runs the CLI with `dir` as the current directory. */
async function inDir(dir: string, ...argv: string[]) {
  process.chdir(dir);
  try {
    return await cli(...argv);
  } finally {
    process.chdir(ROOT);
  }
}

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'memplan-ux-'));
}

describe('config discovery', () => {
  it('reads memplan.yaml in a model folder: recommend --effective-batch 96 as typed', async () => {
    const r = await inDir(join(ROOT, 'models', 'peptide'), 'recommend', '--effective-batch', '96', '--format', 'json', '--top', '1');
    assert.equal(r.code, 0, r.stderr);
    const data = json<{ model: string; targets: { effective_batch: number; gpu: { id: string } }[] }>(r);
    assert.equal(data.model, 'peptide');
    assert.equal(data.targets[0]!.effective_batch, 96);
    assert.equal(data.targets[0]!.gpu.id, 'rtx-4090');
  });

  it('reads the "memplan" key of package.json at the repository root', async () => {
    const r = await cli('estimate', '--format', 'json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(json(r).model, 'mini-transformer');
  });

  it('takes the one run config in a folder; several are an error that lists them; none says memplan init', async () => {
    const one = scratch();
    cpSync(fixture('fits', 'model.yaml'), join(one, 'model.yaml'));
    cpSync(fixture('fits'), join(one, 'run.yaml'));
    const r = await inDir(one, 'estimate', '--format', 'json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(json(r).model, 'one-linear');
    cpSync(fixture('fits'), join(one, 'other.yml'));
    const two = await inDir(one, 'estimate');
    assert.equal(two.code, 2);
    assert.match(two.stderr, /^memplan: error E_CONFIG at <config>\n  2 run configs here and no memplan.yaml: which one\?\n  expected: one of other\.yml, run\.yaml/);
    const none = await inDir(scratch(), 'estimate');
    assert.equal(none.code, 2);
    assert.match(none.stderr, /E_FILE at <config>[\s\S]*hint: run `memplan init`/);
  });

  it('prefers .memplanrc.yaml over a lone run config, and package.json {"config": ...}', async () => {
    const d = scratch();
    cpSync(fixture('fits', 'model.yaml'), join(d, 'model.yaml'));
    writeFileSync(join(d, '.memplanrc.yaml'), 'model: model.yaml\nbatch_size: 3\n');
    cpSync(fixture('fits'), join(d, 'run.yaml'));
    assert.equal(json((await inDir(d, 'estimate', '--format', 'json'))).batch_size, 3);
    const p = scratch();
    mkdirSync(join(p, 'cfg'));
    cpSync(fixture('fits', 'model.yaml'), join(p, 'cfg', 'model.yaml'));
    writeFileSync(join(p, 'cfg', 'a.yaml'), 'model: model.yaml\nbatch_size: 5\n');
    writeFileSync(join(p, 'package.json'), JSON.stringify({ name: 'x', memplan: { config: 'cfg/a.yaml' } }));
    assert.equal(json((await inDir(p, 'estimate', '--format', 'json'))).batch_size, 5);
  });
});

describe('memplan init', () => {
  it('writes a commented memplan.yaml and model.yaml that estimate, recommend and check accept', async () => {
    const d = scratch();
    const r = await inDir(d, 'init');
    assert.equal(r.code, 0, r.stderr);
    const run = readFileSync(join(d, 'memplan.yaml'), 'utf8');
    assert.match(run, /^# memplan run config/);
    assert.match(readFileSync(join(d, 'model.yaml'), 'utf8'), /^# memplan model descriptor/);
    const est = await inDir(d, 'estimate', '--format', 'json');
    assert.equal(est.code, 0, est.stderr);
    assert.equal(json(est).gpu.id, 'rtx-4090');
    assert.equal((await inDir(d, 'recommend', '--effective-batch', '64', '--top', '2')).code, 0);
    assert.equal((await inDir(d, 'check')).code, 0);
    // A second init refuses to overwrite; --force does.
    const again = await inDir(d, 'init');
    assert.equal(again.code, 2);
    assert.match(again.stderr, /E_FILE[\s\S]*already exist[\s\S]*--force/);
    assert.equal((await inDir(d, 'init', '--force')).code, 0);
  });
});

describe('forgiving names', () => {
  it('takes card aliases in any case and spacing', async () => {
    for (const [typed, id] of <[string, string][]>[['4090', 'rtx-4090'], ['RTX 4090', 'rtx-4090'], ['rtx4090', 'rtx-4090'], ['h100', 'h100-80'], ['H100', 'h100-80'], ['A100-80GB', 'a100-80'], ['a100', 'a100-40'], ['nvidia a100 40gb', 'a100-40'], ['slurm-100g', 'slurm-100gb']]) {
      const r = await cli('estimate', fixture('fits'), '--gpu', typed, '--format', 'json');
      assert.equal(r.code, 0, `${typed}: ${r.stdout}`);
      assert.equal(json(r).gpu.id, id, typed);
    }
  });

  it('suggests the nearest card, key, block type and optimizer by edit distance', async () => {
    const gpu = await cli('estimate', fixture('fits'), '--gpu', 'rtx-4900');
    assert.match(gpu.stderr, /E_UNKNOWN_PRESET at --gpu\n  unknown GPU preset "rtx-4900"[\s\S]*hint: did you mean "rtx-4090"\?/);
    const block = await cli('estimate', fixture('unknown-block'));
    assert.match(block.stderr, /hint: did you mean "transformer_encoder"\?/);
    const opt = await cli('estimate', fixture('fits'), '--set', 'optimizer=adamx');
    assert.match(opt.stderr, /hint: did you mean "adam"\?/);
    const key = await cli('estimate', fixture('fits'), '--set', 'optimizer.imple=fused');
    assert.match(key.stderr, /unknown key "imple"[\s\S]*hint: did you mean "impl"\?/);
    const dim = await cli('estimate', fixture('bad-set'), '--set', 'featurs=3');
    assert.match(dim.stderr, /hint: did you mean "features"\?/);
    // Nothing near: no suggestion rather than a wild one.
    assert.doesNotMatch((await cli('estimate', fixture('fits'), '--gpu', 'quantum-9000')).stderr, /did you mean/);
  });
});

describe('words that fit the target', () => {
  it('a host-RAM run talks about RAM and the process, never CUDA or nvidia-smi', async () => {
    const r = await cli('estimate', 'models/rna-multiscale/standard-ram8.yaml');
    assert.equal(r.code, 0, r.stderr);
    for (const word of ['CUDA', 'cuda', 'nvidia-smi', 'card capacity', 'device total']) assert.ok(!r.stdout.includes(word), `"${word}" in a host-RAM estimate`);
    assert.match(r.stdout, /│ process total +│/);
    assert.match(r.stdout, /│ RAM capacity +│/);
    assert.match(r.stdout.replace(/[│\s]+/g, ' '), /the RSS to expect/);
    assert.match(r.stdout, /^verdict: FITS in 8 GB host RAM/m);
  });

  it('check, recommend, gpus and explain print within 100 columns', async () => {
    for (const argv of [['check', 'models/'], ['recommend', 'models/aam/baseline.yaml', '--top', '3'], ['gpus'], ['explain', 'models/aam/baseline.yaml'], ['recommend', 'models/peptide/current-48x2.yaml', '--max-batch', '--gpu', '4090,a100,h100']]) {
      const r = await cli(...argv);
      assert.ok(widest(r.stdout) <= 100, `${argv.join(' ')}: ${widest(r.stdout)} columns`);
    }
  });
});

describe('--help and completion', () => {
  it('every command has examples under --help', async () => {
    for (const c of ['init', 'estimate', 'explain', 'gpus', 'check', 'probe', 'recommend', 'plot', 'completion']) {
      const r = await cli(c, '--help');
      assert.equal(r.code, 0, c);
      assert.match(r.stdout, /\nExamples:\n {2}\$ (memplan|eval)/, c);
    }
  });

  it('bash and zsh scripts name every command, its options and the card ids', async () => {
    const bash = await cli('completion', 'bash');
    assert.equal(bash.code, 0);
    assert.match(bash.stdout, /complete -o filenames -F _memplan memplan/);
    for (const c of ['estimate', 'recommend', 'plot', 'check', 'init', '--effective-batch', '--max-batch', 'rtx-4090', '4090']) assert.ok(bash.stdout.includes(c), c);
    const zsh = await cli('completion', 'zsh');
    assert.match(zsh.stdout, /^#compdef memplan/);
    assert.ok(zsh.stdout.includes("'--units[units]:units:(binary decimal both)'"));
    assert.equal((await cli('completion', 'fish')).code, 2);
  });
});
