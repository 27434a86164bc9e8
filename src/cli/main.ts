/**
 * The CLI entry: parses options, calls a command, prints once. Takes `{argv, stdout, stderr}` so
 * tests run it in-process. Exit codes: 0 fits, 1 over budget, 2 bad input or internal error.
 */
import { Command, CommanderError } from 'commander';
import { asMemplanError, MemplanError } from '../core/errors.js';
import { registerEstimate } from './commands/estimate.js';
import { registerGpus } from './commands/gpus.js';
import { registerExtra } from './commands/registry.js';

export interface Writable {
  write(s: string): unknown;
}

export interface IO {
  argv: string[];
  stdout: Writable;
  stderr: Writable;
}

/** What a command gives back: its exit code; `json` tells the top level to report errors as JSON. */
export interface CommandContext {
  io: IO;
  exit: number;
  json: boolean;
}

export const EXIT = { OK: 0, OVER: 1, ERROR: 2 } as const;

export async function main(io: IO): Promise<number> {
  const ctx: CommandContext = { io, exit: EXIT.OK, json: false };
  const program = new Command();
  program
    .name('memplan')
    .description('GPU memory of a training step, before the run: per-component breakdown, fit verdict, configs that fit.')
    .version('0.1.0')
    .exitOverride()
    // Usage errors are reported like every other error (once, with a code; JSON under --format json).
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s), outputError: () => {} });
  program.addHelpText('after', '\nExit codes: 0 fits, 1 over budget, 2 bad input or internal error. Reference: docs/cli.md');
  registerEstimate(program, ctx);
  registerGpus(program, ctx);
  registerExtra(program, ctx);
  ctx.json = io.argv.some((a, i) => (a === '--format' && io.argv[i + 1] === 'json') || a === '--format=json' || a === '--json');
  try {
    await program.parseAsync(io.argv, { from: 'user' });
    return ctx.exit;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0 || e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return EXIT.OK;
      // `memplan` alone prints the help (on stderr) and fails: there is nothing to do.
      if (e.code === 'commander.help') return EXIT.ERROR;
      printError(ctx, usageError(e));
      return EXIT.ERROR;
    }
    printError(ctx, asMemplanError(e));
    return EXIT.ERROR;
  }
}

export function printError(ctx: CommandContext, err: MemplanError): void {
  if (ctx.json) {
    ctx.io.stdout.write(JSON.stringify({ error: err.toJSON() }, null, 2) + '\n');
    return;
  }
  const lines = [`memplan: error ${err.code}${err.location ? ` at ${err.location}` : ''}`, `  ${err.message}`];
  if (err.expected) lines.push(`  expected: ${err.expected}`);
  if (err.hint) lines.push(`  hint: ${err.hint}`);
  ctx.io.stderr.write(lines.join('\n') + '\n');
}

function usageError(e: CommanderError): MemplanError {
  const option = /'(-[^']+)'/.exec(e.message)?.[1];
  return new MemplanError('E_OPTION', e.message.replace(/^error: /, ''), {
    path: option,
    expected: 'a command and options as `memplan --help` lists them',
    hint: 'run `memplan --help`, or `memplan <command> --help`',
  });
}
