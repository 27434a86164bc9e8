/**
 * Turns `memplan check` arguments into config files. A plain path is taken as given (a missing
 * one becomes a read error, never a skip). A directory or a glob pattern (`models/**\/*.yaml`,
 * quoted so the shell leaves it, or on a shell without globbing) yields the run configs under it:
 * YAML files with a top-level `model:` key, so model descriptors beside them are left out.
 * Node 20 has no fs.glob; `*`, `?`, `[...]`, `{a,b}` and `**` are matched here.
 */
import { readFileSync, readdirSync, statSync, type Dirent } from 'node:fs';
import { join, resolve } from 'node:path';
import { MemplanError } from '../core/errors.js';

export interface Input {
  file: string;
  /** Set when the argument matched no run config: reported as an error row for the argument. */
  error?: MemplanError;
}

const GLOB = /[*?[{]/;
const YAML = /\.ya?ml$/i;

export function isRunConfig(file: string): boolean {
  try {
    return /^model\s*:/m.test(readFileSync(file, 'utf8'));
  } catch {
    // Unreadable: keep it, so the loader reports why instead of the file vanishing from the check.
    return true;
  }
}

export function expandInputs(args: readonly string[]): Input[] {
  const out: Input[] = [];
  const seen = new Set<string>();
  const push = (f: string) => {
    const abs = resolve(f);
    if (!seen.has(abs)) {
      seen.add(abs);
      out.push({ file: abs });
    }
  };
  for (const arg of args) {
    let found: string[];
    if (GLOB.test(arg)) found = glob(arg).filter((f) => YAML.test(f));
    else if (isDir(arg)) found = walkYaml(arg);
    else {
      push(arg);
      continue;
    }
    found = found.filter(isRunConfig);
    if (!found.length) {
      out.push({
        file: resolve(arg),
        error: new MemplanError('E_FILE', `no run configs match "${arg}"`, {
          file: arg,
          expected: 'YAML files with a top-level `model:` key',
          hint: 'model descriptors (with `blocks:`) are not checked themselves; check the run configs that name them',
        }),
      });
    }
    found.forEach(push);
  }
  return out;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function entries(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch {
    return [];
  }
}

/** Directories a recursive walk skips: hidden ones and installed packages. */
function skipDir(name: string): boolean {
  return name.startsWith('.') || name === 'node_modules';
}

function walkYaml(dir: string): string[] {
  const out: string[] = [];
  for (const e of entries(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (!skipDir(e.name)) out.push(...walkYaml(p));
    } else if (YAML.test(e.name) && isFileOrLink(p, e)) out.push(p);
  }
  return out;
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** A directory entry that is a file, or a link to one. */
function isFileOrLink(p: string, e: Dirent): boolean {
  return e.isFile() || (e.isSymbolicLink() && isFile(p));
}

/** One path segment of a glob as a regular expression. */
export function segmentRegex(seg: string): RegExp {
  let re = '';
  let brace = 0;
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = seg.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        const body = seg.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = end;
      }
    } else if (c === '{') {
      brace++;
      re += '(?:';
    } else if (c === '}' && brace) {
      brace--;
      re += ')';
    } else if (c === ',' && brace) re += '|';
    else re += c.replace(/[.+^$()|\\\]{}]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Files matching a glob, sorted per directory. `**` matches any number of directories (hidden ones excepted). */
export function glob(pattern: string): string[] {
  const parts = pattern.split('/').filter((p, i) => p !== '' || i === 0);
  let base = '.';
  let i = 0;
  if (parts[0] === '') {
    base = '/';
    i = 1;
  }
  while (i < parts.length - 1 && !GLOB.test(parts[i]!)) base = join(base, parts[i++]!);
  const out: string[] = [];
  match(base, parts.slice(i), out);
  return [...new Set(out)];
}

function match(dir: string, segs: string[], out: string[]): void {
  const [seg, ...rest] = segs;
  if (seg === undefined) return;
  if (seg === '**') {
    if (rest.length) match(dir, rest, out);
    for (const e of entries(dir)) if (e.isDirectory() && !skipDir(e.name)) match(join(dir, e.name), segs, out);
    return;
  }
  if (!GLOB.test(seg)) {
    const p = join(dir, seg);
    if (!rest.length) {
      if (isFile(p)) out.push(p);
    } else if (isDir(p)) match(p, rest, out);
    return;
  }
  const re = segmentRegex(seg);
  for (const e of entries(dir)) {
    if (!re.test(e.name) || (e.name.startsWith('.') && !seg.startsWith('.'))) continue;
    const p = join(dir, e.name);
    if (!rest.length) {
      if (isFileOrLink(p, e)) out.push(p);
    } else if (e.isDirectory() || isDir(p)) match(p, rest, out);
  }
}
