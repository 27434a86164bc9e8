/**
 * The CLI entry: registers the commands, parses options, prints errors once. Takes `{argv, stdout, stderr}` so
 * tests run it in-process. Exit codes: 0 fits, 1 over budget, 2 bad input or internal error.
 */
import { Command, CommanderError } from 'commander';
import { asMemplanError, MemplanError } from '../core/errors.js';
import { registerEstimate } from './commands/estimate.js';
import { registerGpus } from './commands/gpus.js';
import { registerCheck } from './commands/check.js';
import { registerProbe } from './commands/probe.js';
import { registerRecommend } from './commands/recommend.js';
import { registerInit } from './commands/init.js';
import { registerPlot } from './commands/plot.js';
import { registerCompletion } from './commands/completion.js';
import { registerImport } from './commands/import.js';
import { examplesText, unitsFromArgv } from './common.js';
import { setUnits } from '../core/units.js';
import { registerCalibrate } from './commands/calibrate.js';
import { EXIT, printError, type CommandContext, type IO } from './context.js';
import { safeWriter } from './safe-output.js';
import { setPresetDirs } from '../io/load.js';
import { collect } from './options.js';

export async function main(raw: IO): Promise<number> {
  // Input text reaches the output (names, notes, expressions in errors): nothing printed may steer a terminal or a CI runner.
  const io: IO = { argv: raw.argv, stdout: safeWriter(raw.stdout), stderr: safeWriter(raw.stderr) };
  const ctx: CommandContext = { io, exit: EXIT.OK, json: false };
  const program = new Command();
  program
    .name('memplan')
    .description('GPU memory of a training step, before the run: per-component breakdown, fit verdict, configs that fit.')
    .version('0.1.0')
    .exitOverride()
    // Usage errors are reported like every other error (once, with a code; JSON under --format json).
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s), outputError: () => {} });
  program.addHelpText('after', `${examplesText([
    'memplan init                                  # a commented starter memplan.yaml and model.yaml',
    'memplan estimate                              # the config found here; or name one: memplan estimate config.yaml',
    'memplan recommend --effective-batch 96        # configs that fit, ranked',
    'memplan plot -o memory.html --format html     # memory vs batch, breakdown, step timeline',
    'memplan check models/                         # CI gate',
    'memplan --presets my-cards/ gpus              # your own card presets (also MEMPLAN_PRESETS)',
  ])}\nWith no config argument, memplan reads memplan.yaml, .memplanrc.yaml, the "memplan" key of package.json, or\nthe one run config in the current directory.\nExit codes: 0 fits, 1 over budget, 2 bad input or internal error. Reference: docs/cli.md`);
  registerInit(program, ctx);
  registerImport(program, ctx);
  program.option('--presets <dir>', 'a folder of your own card presets, merged over the shipped ones (repeatable; also MEMPLAN_PRESETS)', collect, []);
  // Every command reads presets through load.ts: give it the folders before any action runs.
  program.hook('preAction', () => setPresetDirs((program.opts() as { presets?: string[] }).presets ?? []));
  registerEstimate(program, ctx);
  registerGpus(program, ctx);
  registerCheck(program, ctx);
  registerProbe(program, ctx);
  registerRecommend(program, ctx);
  registerPlot(program, ctx);
  registerCompletion(program, ctx);
  registerCalibrate(program, ctx);
  onceEach(program);
  ctx.json = io.argv.some((a, i) => (a === '--format' && io.argv[i + 1] === 'json') || a === '--format=json' || a === '--json');
  const units = setUnits('binary');
  try {
    setUnits(unitsFromArgv(io.argv));
    await program.parseAsync(io.argv, { from: 'user' });
    return ctx.exit;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0 || e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return EXIT.OK;
      // `memplan` alone prints the help (on stderr) and fails: there is nothing to do.
      if (e.code === 'commander.help') return EXIT.ERROR;
      printError(ctx, usageError(e, program, io.argv));
      return EXIT.ERROR;
    }
    printError(ctx, asMemplanError(e));
    return EXIT.ERROR;
  } finally {
    setUnits(units);
  }
}

/**
 * A value option given twice (`--gpu a --gpu b`) is refused, not silently reduced to its last value:
 * under CI a later flag must not hide an earlier one (`check --gpu bogus --gpu 4090` passing). The
 * repeatable ones (`--set`, `--presets`: parsed by `collect`) keep collecting.
 */
function onceEach(cmd: Command): void {
  for (const opt of cmd.options) {
    if (!(opt.required || opt.optional) || opt.parseArg === collect) continue;
    const parse = opt.parseArg;
    let seen = false;
    opt.argParser((value: string, previous: unknown) => {
      if (seen) {
        throw new MemplanError('E_OPTION', `${opt.long ?? opt.flags} is given more than once`, {
          path: opt.long ?? opt.flags,
          expected: 'one value',
          hint: opt.long === '--gpu' ? 'give several cards as one comma-separated list where the command takes a list (--gpu a,b)' : 'keep one',
        });
      }
      seen = true;
      return parse ? parse(value, previous) : value;
    });
  }
  for (const sub of cmd.commands) onceEach(sub);
}

/** Where a usage error is: the option, the extra argument, the unknown command, or the missing argument. */
function usageWhere(e: CommanderError, program: Command, argv: readonly string[]): string | undefined {
  const option = /'(-[^' ]+)/.exec(e.message)?.[1];
  if (option) return option;
  const cmd = program.commands.find((c) => c.name() === argv[0]);
  if (e.code === 'commander.excessArguments' && cmd) {
    const extra = cmd.args.slice(cmd.registeredArguments.length)[0];
    return extra === undefined ? argv[0] : `${extra} (an extra argument)`;
  }
  if (e.code === 'commander.missingArgument') return `${argv[0] ?? 'memplan'} <${/'([^']+)'/.exec(e.message)?.[1] ?? 'argument'}>`;
  if (e.code === 'commander.unknownCommand') return argv.find((a) => !a.startsWith('-'));
  return argv[0];
}

function usageError(e: CommanderError, program: Command, argv: readonly string[]): MemplanError {
  return new MemplanError('E_OPTION', e.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' '), {
    path: usageWhere(e, program, argv),
    expected: 'a command and options as `memplan --help` lists them',
    hint: 'run `memplan --help`, or `memplan <command> --help`',
  });
}

export type { IO, Writable, CommandContext } from './context.js';
export { EXIT, printError } from './context.js';
