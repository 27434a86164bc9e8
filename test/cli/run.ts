/**
 * Runs the CLI in-process, as `node bin/memplan.js ...` would, with fake stdout/stderr. Tests run
 * from the repository root so the paths in messages and golden files are the same everywhere.
 */
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';

/** The repository root: this file runs as dist/test/cli/run.js. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
process.chdir(ROOT);

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export async function cli(...argv: string[]): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const code = await main({
    argv,
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  });
  return { code, stdout, stderr };
}

/** Parses --format json output. */
export function json<T = Record<string, any>>(r: Result): T {
  return JSON.parse(r.stdout) as T;
}

export function fixture(situation: string, file = 'config.yaml'): string {
  return `test/fixtures/${situation}/${file}`;
}

/** The widest line, in characters (box-drawing characters count one). */
export function widest(text: string): number {
  return Math.max(...text.split('\n').map((l) => [...l].length));
}
