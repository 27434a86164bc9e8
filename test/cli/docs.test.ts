/** docs/cli.md stays true: every error code documented, and its examples are what the CLI prints. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ERROR_CODES } from '../../src/core/errors.js';
import { cli } from './run.js';

const DOC = readFileSync('docs/cli.md', 'utf8');

/** `$ memplan ...` examples: the command line and the lines printed under it. */
function examples(): { argv: string[]; printed: string[] }[] {
  const out: { argv: string[]; printed: string[] }[] = [];
  for (const block of DOC.matchAll(/```console\n([\s\S]*?)```/g)) {
    const [cmd, ...printed] = block[1]!.trimEnd().split('\n');
    const argv = [...cmd!.replace(/^\$ memplan /, '').matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!);
    out.push({ argv, printed });
  }
  return out;
}

describe('docs/cli.md', () => {
  it('has a section for every error code', () => {
    for (const code of Object.keys(ERROR_CODES)) assert.match(DOC, new RegExp(`^### ${code}$`, 'm'), code);
  });

  it('documents every option and the exit codes', () => {
    for (const o of ['--gpu <id>', '--set <key=value>', '--format <format>', '--help', '--version']) assert.ok(DOC.includes(o), o);
    for (const row of ['| 0 |', '| 1 |', '| 2 |']) assert.ok(DOC.includes(row), row);
  });

  it('documents each command, and each of its options where that command is described', async () => {
    const top = await cli('--help');
    const commands = [...top.stdout.matchAll(/^ {2}([a-z]+) (?:\[options\] )?[<[]?/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
    assert.ok(commands.length >= 6, commands.join(', '));
    const table = DOC.slice(DOC.indexOf('## Options'), DOC.indexOf('### `--set key=value`'));
    for (const c of commands) {
      const start = DOC.search(new RegExp(`^### \`memplan ${c}[ \`]`, 'm'));
      assert.ok(start >= 0, `docs/cli.md has no section for memplan ${c}`);
      const body = DOC.slice(start, DOC.indexOf('\n#', start + 1));
      const help = (await cli(c, '--help')).stdout;
      for (const flag of [...help.matchAll(/^ {2}(?:-\w, )?(--[a-z-]+)/gm)].map((m) => m[1]!)) {
        if (flag === '--help') continue;
        // In the command's own section, or in an Options-table row that names the command (or "all").
        const row = table.split('\n').find((l) => l.includes(`\`${flag}`) && (l.includes(` ${c}`) || l.includes('| all |')));
        assert.ok(body.includes(flag) || row, `docs/cli.md: memplan ${c} ${flag} is documented neither in its section nor in the Options table`);
      }
    }
  });

  it('shows what the CLI prints for each example (code, location, message)', async () => {
    const all = examples();
    assert.ok(all.length >= 15);
    for (const { argv, printed } of all) {
      const r = await cli(...argv);
      assert.equal(r.code, 2, argv.join(' '));
      if (argv.includes('json')) {
        assert.deepEqual(JSON.parse(r.stdout).error.location, JSON.parse(printed.join('\n')).error.location);
      } else {
        // The first two lines; the expected: lists change as blocks and presets are added.
        assert.deepEqual(r.stderr.split('\n').slice(0, 2), printed.slice(0, 2), argv.join(' '));
      }
    }
  });
});
