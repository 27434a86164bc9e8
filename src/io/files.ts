/**
 * Every file memplan reads from its input goes through here (docs/security.md): regular files only
 * (no directory, FIFO, socket or device such as /dev/zero), at most LIMITS.fileBytes, and a model
 * file named by a run config must lie inside the config's repository unless --allow-outside says
 * otherwise. The file is opened without blocking and checked on the open descriptor, so a FIFO
 * never stalls the run and what is checked is what is read.
 */
import { closeSync, constants, existsSync, fstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { MemplanError } from '../core/errors.js';
import { count, LIMITS } from '../core/limits.js';

/** Why a file cannot be read, in words, or undefined when it can; `text` holds it then. */
export type ReadResult = { text: string; problem?: undefined } | { text?: undefined; problem: string; code?: string };

/** Reads a regular file of at most `limit` bytes as UTF-8; never throws. */
export function readBounded(file: string, limit: number = LIMITS.fileBytes): ReadResult {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { problem: code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory, not a file' : `cannot be read (${code ?? (e as Error).message})`, code };
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) return { problem: 'a directory, not a file', code: 'EISDIR' };
    if (!st.isFile()) return { problem: 'not a regular file (a device, FIFO or socket)', code: 'ENOTREG' };
    if (st.size > limit) return { problem: `${count(st.size)} bytes, over the limit of ${count(limit)}`, code: 'EFBIG' };
    // Read one byte past the limit: a file that grows (or lies about its size, as /proc files do) is caught too.
    const buf = Buffer.alloc(Math.min(limit + 1, Math.max(st.size + 1, 64 * 1024)));
    let len = 0;
    for (;;) {
      if (len === buf.length) {
        if (len > limit) return { problem: `over the limit of ${count(limit)} bytes`, code: 'EFBIG' };
        break;
      }
      const n = readSync(fd, buf, len, buf.length - len, null);
      if (n === 0) break;
      len += n;
    }
    if (len > limit) return { problem: `over the limit of ${count(limit)} bytes`, code: 'EFBIG' };
    return { text: buf.subarray(0, len).toString('utf8') };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { problem: `cannot be read (${code ?? (e as Error).message})`, code };
  } finally {
    closeSync(fd);
  }
}

/**
 * The repository a file belongs to: the nearest directory at or above it holding `.git` (a
 * directory, or the file a worktree or submodule has), else the file's own directory. Real paths:
 * symbolic links are followed first, so a link cannot point out of it unnoticed.
 */
export function repositoryOf(file: string): string {
  return repositoryAt(dirname(realOrSelf(file)));
}

/** The nearest directory at or above `start` (a real path) holding `.git`, else `start`. */
export function repositoryAt(start: string): string {
  for (let dir = start; ; ) {
    if (existsSync(join(dir, '.git'))) return dir;
    const up = dirname(dir);
    if (up === dir) return start;
    dir = up;
  }
}

export function realOrSelf(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}

/** Whether `file` (a real path) lies inside `root` (a real path), and not inside its .git directory. */
export function inside(root: string, file: string): boolean {
  const rel = relative(root, file);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return false;
  return rel.split(sep)[0] !== '.git';
}

/**
 * Refuses a model path outside the config's repository (or into its .git directory), after
 * links are followed. `allowOutside` (--allow-outside) lifts the repository rule, not the others.
 */
export function confine(modelFile: string, configFile: string, allowOutside: boolean): string | undefined {
  const real = realOrSelf(modelFile);
  const root = repositoryOf(configFile);
  if (relative(root, real).split(sep)[0] === '.git') return `it is inside the repository's .git directory`;
  if (allowOutside || inside(root, real)) return undefined;
  return "it is outside the config's repository";
}

/** The MemplanError for a file that could not be read. */
export function fileError(shown: string, r: { problem: string; code?: string }, details: { file?: string; path?: string; line?: number; hint?: string } = {}): MemplanError {
  const tooBig = r.code === 'EFBIG';
  return new MemplanError(tooBig ? 'E_TOO_LARGE' : 'E_FILE', r.code === 'ENOENT' ? `no such file: ${shown}` : `cannot read ${shown}: ${r.problem}`, {
    file: details.file ?? shown,
    path: details.path,
    line: details.line,
    expected: tooBig ? `a file of at most ${count(LIMITS.fileBytes)} bytes` : 'a readable YAML file (a regular file)',
    hint: details.hint ?? (r.code === 'ENOENT' ? 'check the path; model paths in a run config are relative to the config file' : tooBig ? 'docs/security.md lists the limits' : undefined),
  });
}

/** A path as printed in messages: relative to the working directory when under it, else absolute. */
export function display(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel;
}
