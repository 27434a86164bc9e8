/**
 * What every command shares with the entry point: the I/O it writes to, its exit code, and whether
 * errors go out as JSON. Commands import this module, never `main.ts`, so imports run one way.
 */
import type { MemplanError } from '../core/errors.js';

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
