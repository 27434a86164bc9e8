/**
 * Turns `memplan check` arguments into config files. A plain path is taken as given (a missing
 * one becomes a read error, never a skip). A directory or a glob pattern (`models/**\/*.yaml`,
 * quoted so the shell leaves it, or on a shell without globbing) yields the run configs under it:
 * YAML files with a top-level `model:` key, so model descriptors beside them are left out.
 * Node 20 has no fs.glob; `*`, `?`, `[...]`, `{a,b}` and `**` are matched here.
 */
import { lstatSync, readdirSync, statSync, type Dirent } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { MemplanError } from '../core/errors.js';
import { editDistance } from '../core/names.js';
import { inside, readBounded, realOrSelf, repositoryAt } from '../io/files.js';

export interface Input {
  file: string;
  /** Set when the argument matched no run config: reported as an error row for the argument. */
  error?: MemplanError;
  /** A file a folder or pattern found that looks like a run config but has no `model:` key: a WARN row, never silence. */
  warning?: { message: string; line?: number };
}

const GLOB = /[*?[{]/;
const YAML = /\.ya?ml$/i;

export function isRunConfig(file: string): boolean {
  return kindOf(file).kind !== 'other';
}

/** Keys only a run config has; two of them (or `budget:`) in a file without `model:` mean a config lost its `model:` line. */
const RUN_ONLY = ['batch_size', 'grad_accum', 'precision', 'optimizer', 'checkpointing', 'attention', 'distributed', 'allocator', 'ema', 'runtime', 'gpu', 'claims'];

/**
 * What a YAML file found under a folder or pattern is, from its top-level keys (the text is not
 * parsed: a file nobody named must not cost more than a read). `suspect`: no `model:` key, yet it
 * looks like a run config whose `model:` line has a typo or went missing.
 */
export function kindOf(file: string): { kind: 'run' | 'other' } | { kind: 'suspect'; message: string; line?: number } {
  const r = readBounded(file);
  // Unreadable or too large: keep it, so the loader reports why instead of the file vanishing from the check.
  if (r.text === undefined) return { kind: 'run' };
  const keys = [...r.text.matchAll(/^(["']?)([A-Za-z_$][\w$.-]*)\1[ \t]*:(?:[ \t]|$)/gm)].map((m) => ({ key: m[2]!, at: m.index }));
  if (keys.some((k) => k.key === 'model')) return { kind: 'run' };
  if (keys.some((k) => k.key === 'blocks')) return { kind: 'other' };
  const near = keys.find((k) => k.key.length >= 4 && k.key.length <= 12 && editDistance(k.key.toLowerCase(), 'model', false) <= 2);
  const runKeys = keys.filter((k) => RUN_ONLY.includes(k.key)).map((k) => k.key);
  const schema = /run\.schema\.json/.test(r.text);
  if (!near && !schema && !keys.some((k) => k.key === 'budget') && runKeys.length < 2) return { kind: 'other' };
  const why = near ? `\`${near.key}:\` looks like a misspelt \`model:\`` : `it has ${[...(schema ? ['the run-config schema'] : []), ...keys.filter((k) => k.key === 'budget' || runKeys.includes(k.key)).map((k) => `\`${k.key}:\``)].slice(0, 4).join(', ')}`;
  const lineAt = (i: number) => r.text.slice(0, i).split('\n').length;
  return {
    kind: 'suspect',
    message: `not checked: no top-level \`model:\` key, so it is no run config, but ${why}`,
    line: near ? lineAt(near.at) : undefined,
  };
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
    // A link that leads out of the repository is refused unread: a folder is no licence to read anywhere.
    for (const f of found.filter(escapes)) {
      const abs = resolve(f);
      if (seen.has(abs)) continue;
      seen.add(abs);
      out.push({
        file: abs,
        error: new MemplanError('E_FILE', `${f} is a link to a file outside the repository; not read`, {
          file: f,
          expected: 'run configs inside the repository being checked',
          hint: 'name the file itself on the command line if you mean to check it',
        }),
      });
    }
    found = found.filter((f) => !escapes(f));
    const kinds = found.map((f) => ({ f, k: kindOf(f) }));
    const suspects = kinds.filter((x) => x.k.kind === 'suspect');
    found = kinds.filter((x) => x.k.kind === 'run').map((x) => x.f);
    if (!found.length && !suspects.length) {
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
    for (const { f, k } of suspects) {
      const abs = resolve(f);
      if (k.kind !== 'suspect' || seen.has(abs)) continue;
      seen.add(abs);
      out.push({ file: abs, warning: { message: k.message, line: k.line } });
    }
  }
  return out;
}

/** A symbolic link whose target lies outside the repository that holds the link. */
function escapes(f: string): boolean {
  try {
    if (!lstatSync(f).isSymbolicLink()) return false;
  } catch {
    return false;
  }
  const dir = realOrSelf(dirname(resolve(f)));
  return !inside(repositoryAt(dir), realOrSelf(f));
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
