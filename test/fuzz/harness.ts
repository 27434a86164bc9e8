/**
 * Runs fuzz cases and checks memplan's contract on hostile input (issue 11, docs/security.md):
 * exit 0/1/2 only; no stack trace and no E_INTERNAL; every error located (file:line: path, or the
 * option); bounded time and memory; `check` never passes what `estimate` refuses; nothing read
 * outside the case's repository and memplan's presets (and the outside directory with
 * --allow-outside); nothing of a planted secret printed. The CLI runs in-process (fast); a share of
 * cases also runs through the real `bin/memplan.js`, whose exit code and first error line must agree.
 */
import { spawnSync } from 'node:child_process';
import fs, { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { main } from '../../src/cli/main.js';
import { ROOT } from '../../src/io/load.js';
import { CANARY, type Case } from './cases.js';

export interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface Verdict {
  violations: string[];
  outcome: Outcome;
  cli?: Outcome;
}

// ---- the files: one outside directory per run, one repository per case ------------------------

export interface Sandbox {
  root: string;
  out: string;
}

/** A scratch root with the outside directory: secrets and a valid model nothing may read without --allow-outside. */
export function sandbox(): Sandbox {
  const root = mkdtempSync(join(tmpdir(), 'memplan-fuzz-'));
  const out = join(root, 'outside');
  mkdirSync(out);
  writeFileSync(join(out, 'secret.yaml'), `token: ${CANARY}\nname: ${CANARY}\n`);
  writeFileSync(join(out, 'model.yaml'), 'name: outside\nblocks:\n  - {type: linear, input: [batch, 8], out: 8}\n');
  writeFileSync(join(out, 'config.yaml'), `model: secret.yaml\nbudget: {gpu: rtx-4090}\nnotes: [${CANARY}]\n`);
  return { root, out };
}

function expand(s: string, dir: string, box: Sandbox): string {
  return s.replace(/@DIR/g, dir).replace(/@OUT/g, box.out);
}

/** Writes a case's repository under the sandbox. */
export function materialize(c: Case, box: Sandbox, name: string): string {
  const dir = join(box.root, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, '.git'), { recursive: true });
  mkdirSync(join(dir, 'sub'), { recursive: true });
  for (const [rel, spec] of Object.entries(c.files)) {
    const p = join(dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    if ('text' in spec) writeFileSync(p, expand(spec.text, dir, box));
    else if ('dir' in spec) mkdirSync(p, { recursive: true });
    else if ('link' in spec) symlinkSync(expand(spec.link, dir, box), p);
    else spawnSync('mkfifo', [p]);
  }
  return dir;
}

// ---- what memplan opens -------------------------------------------------------------------------

const opened: string[] = [];
let tracking = false;

/**
 * Records every path memplan opens or lists, by patching node:fs (ESM named imports follow after
 * syncBuiltinESMExports). Metadata calls (stat, realpath, exists) are not reads and are not recorded.
 */
function track(): void {
  if (tracking) return;
  tracking = true;
  const f = fs as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const name of ['openSync', 'readFileSync', 'readdirSync', 'opendirSync']) {
    const orig = f[name]!;
    f[name] = function (this: unknown, p: unknown, ...rest: unknown[]) {
      if (typeof p === 'string' || p instanceof URL || Buffer.isBuffer(p)) opened.push(resolve(String(p instanceof URL ? p.pathname : p)));
      return orig.call(this, p, ...rest);
    };
  }
  syncBuiltinESMExports();
}

export async function runInProcess(argv: string[]): Promise<Outcome & { reads: string[] }> {
  track();
  opened.length = 0;
  let stdout = '';
  let stderr = '';
  const t0 = performance.now();
  const code = await main({ argv, stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
  return { code, stdout, stderr, ms: performance.now() - t0, reads: [...opened] };
}

/** The real CLI, as CI runs it, with the 1 GiB heap the contract allows. */
export function runCli(argv: string[], timeoutMs = 30_000): Outcome {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--max-old-space-size=1024', join(ROOT, 'bin', 'memplan.js'), ...argv], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status ?? (r.signal ? 128 : -1), stdout: r.stdout ?? '', stderr: r.stderr ?? '', ms: performance.now() - t0 };
}

// ---- the contract -------------------------------------------------------------------------------

/** Time a case may take: a recommend search is bounded by its op budget, everything else by one trace. */
export function timeLimitMs(argv: string[]): number {
  return argv[0] === 'recommend' ? 120_000 : 10_000;
}

const STACK = /^\s+at .+(:\d+:\d+\)?|\(native\)|<anonymous>)$/m;

/** Is a printed location one a user can act on: a line, a descriptor path, or an option? */
function located(location: string | undefined, code: string, path: string | undefined, line: number | undefined): boolean {
  if (!location) return false;
  // A command-line error is located by the option or argument it names.
  if (line !== undefined || path !== undefined || code === 'E_OPTION') return true;
  // A whole file: a file given on the command line that cannot be read, or is not a mapping at all.
  return code === 'E_FILE' || code === 'E_TOO_LARGE' || code === 'E_SCHEMA' || code === 'E_YAML';
}

interface Err {
  code: string;
  location?: string;
  path?: string;
  line?: number;
}

/** The errors a run printed: from JSON output (estimate --format json, check rows) or stderr's first line. */
function errorsOf(argv: string[], o: Outcome): { errors: Err[]; unparsed?: string } {
  const json = argv.includes('--format') && argv[argv.indexOf('--format') + 1] === 'json';
  if (json && o.stdout.trim().startsWith('{')) {
    try {
      const data = JSON.parse(o.stdout) as { error?: Err; results?: { status: string; error?: Err }[] };
      if (data.error) return { errors: [data.error] };
      if (data.results) return { errors: data.results.filter((r) => r.status === 'ERROR').map((r) => r.error ?? { code: '(none)' }) };
      return { errors: [] };
    } catch {
      return { errors: [], unparsed: 'stdout is not JSON' };
    }
  }
  const first = o.stderr.split('\n')[0] ?? '';
  const m = /^memplan: error (E_[A-Z_]+)(?: at (.+))?$/.exec(first);
  if (m) {
    const loc = m[2];
    const line = loc ? /^[^:]+:(\d+)(?::|$)/.exec(loc)?.[1] : undefined;
    const path = loc && (loc.startsWith('--') || /: \S/.test(loc)) ? loc : undefined;
    return { errors: [{ code: m[1]!, location: loc, path, line: line ? Number(line) : undefined }] };
  }
  return { errors: [] };
}

export function contract(c: Case, argv: string[], o: Outcome & { reads?: string[] }, dir: string): string[] {
  const v: string[] = [];
  const all = o.stdout + o.stderr;
  if (![0, 1, 2].includes(o.code)) v.push(`exit ${o.code}`);
  if (STACK.test(all)) v.push('stack trace printed');
  if (all.includes('E_INTERNAL')) v.push('E_INTERNAL');
  if (all.includes(CANARY)) v.push('a planted secret was printed');
  // Nothing printed may steer a terminal (escape sequences) or the CI runner (workflow commands).
  if (/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.test(all)) v.push('a control character was printed');
  const command = all.split('\n').find((l) => /^\s*::/.test(l) && !/^::(error|warning) file=/.test(l));
  if (command) v.push(`a workflow command was printed: ${command.slice(0, 80)}`);
  if (o.ms > timeLimitMs(argv)) v.push(`took ${Math.round(o.ms)} ms`);
  const { errors, unparsed } = errorsOf(argv, o);
  if (unparsed) v.push(unparsed);
  for (const e of errors) if (!located(e.location, e.code, e.path, e.line)) v.push(`${e.code} not located (${e.location ?? 'no location'})`);
  if (o.code === 2 && !errors.length && !/ERROR|error/.test(all)) v.push('exit 2 with no error printed');
  // With --allow-outside a model path may go anywhere: that is what the option is for.
  if (o.reads && !c.allowOutside) {
    // Given: the case's repository, memplan's own presets, and any word of the command line read as a path.
    const words = argv.filter((a) => !a.startsWith('-')).map((a) => resolve(ROOT, a));
    const allowed = [dir + sep, join(ROOT, 'presets') + sep, ...words.map((w) => w + sep)];
    const outside = o.reads.filter((p) => p !== dir && !words.includes(p) && !allowed.some((a) => p.startsWith(a)));
    if (outside.length) v.push(`read outside what was given: ${[...new Set(outside)].slice(0, 3).join(', ')}`);
  }
  return v;
}

/** Rows `check` printed as passing (PASS, WARN, OFF) for the file `file`. */
function passedRows(o: Outcome, file: string): number {
  try {
    const data = JSON.parse(o.stdout) as { results?: { file: string; status: string }[] };
    return (data.results ?? []).filter((r) => resolve(ROOT, r.file) === file && r.status !== 'ERROR' && r.status !== 'FAIL').length;
  } catch {
    return o.code === 0 ? 1 : 0;
  }
}

/**
 * Runs one case: in-process, and through the real CLI when `viaCli`. For `check` of one config the
 * same config also goes through `estimate`: a config estimate refuses must not pass the check.
 */
export async function runCase(c: Case, box: Sandbox, name: string, viaCli = false): Promise<Verdict> {
  const dir = materialize(c, box, name);
  try {
    const argv = c.argv.map((a) => expand(a, dir, box));
    const o = await runInProcess(argv);
    const violations = contract(c, argv, o, dir);
    if (c.estimateArgv) {
      const est = await runInProcess(c.estimateArgv.map((a) => expand(a, dir, box)));
      violations.push(...contract(c, c.estimateArgv, est, dir).map((x) => `estimate: ${x}`));
      if (est.code === 2 && o.code !== 2) {
        // Check may still refuse for its own reasons (no budget); it must not pass.
        const asJson = argv.includes('--format') && argv[argv.indexOf('--format') + 1] === 'json' ? o : await runInProcess([...argv.filter((a, i) => a !== '--format' && argv[i - 1] !== '--format'), '--format', 'json']);
        if (passedRows(asJson, resolve(expand(c.argv[1]!, dir, box))) > 0) violations.push(`check passed what estimate refused (${est.stderr.split('\n')[0] || est.stdout.slice(0, 120)})`);
      }
    }
    let cli: Outcome | undefined;
    // A NUL byte cannot be passed on a real command line; such a case runs in-process only.
    if (viaCli && !argv.some((a) => a.includes('\u0000'))) {
      cli = runCli(argv);
      violations.push(...contract(c, argv, cli, dir).map((x) => `real CLI: ${x}`));
      if (cli.code !== o.code) violations.push(`real CLI exit ${cli.code}, in-process ${o.code}`);
      else if ((cli.stderr.split('\n')[0] ?? '') !== (o.stderr.split('\n')[0] ?? '')) violations.push(`real CLI error differs: ${cli.stderr.split('\n')[0]} / ${o.stderr.split('\n')[0]}`);
    }
    return { violations, outcome: o, cli };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A real check report to mutate into baselines: the shipped mini-transformer config. */
export async function baselineReport(): Promise<Record<string, unknown>> {
  const r = await runInProcess(['check', join(ROOT, 'models', 'mini-transformer', 'config.yaml'), join(ROOT, 'test', 'fixtures', 'unknown-key', 'config.yaml'), '--format', 'json']);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}
