/** Options and help text every command shares: --units, and the examples under --help. */
import type { Command } from 'commander';
import { MemplanError } from '../core/errors.js';
import { UNITS, type Units } from '../core/units.js';

export const UNITS_HELP = 'sizes in binary (GiB, the default), decimal (GB) or both';

export function unitsOption(cmd: Command): Command {
  return cmd.option('--units <system>', UNITS_HELP);
}

export function examplesText(lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

export function examples(cmd: Command, lines: string[]): Command {
  return cmd.addHelpText('after', examplesText(lines));
}

/** --units from the command line (read before parsing, so every formatter sees it); binary when absent. */
export function unitsFromArgv(argv: readonly string[]): Units {
  let v: string | undefined;
  argv.forEach((a, i) => {
    if (a === '--units') v = argv[i + 1];
    else if (a.startsWith('--units=')) v = a.slice('--units='.length);
  });
  if (v === undefined) return 'binary';
  if (!UNITS.includes(v as Units)) throw new MemplanError('E_OPTION', `unknown unit system "${v}"`, { path: '--units', expected: UNITS.join(', ') });
  return v as Units;
}
