/**
 * fast-check generators for memplan's hostile-input fuzzer (issue 11): a case is a small repository
 * (a model descriptor and a run config mutated from the shipped ones, planted secrets, odd files)
 * and one command line over it. Mutations replace, delete, rename and add keys with hostile values
 * (numbers past every limit, non-finite numbers, prototype names, paths out of the repository,
 * expressions from a small grammar), and damage the YAML text itself (alias bombs, truncation, tabs).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import * as yaml from 'js-yaml';
import { ROOT } from '../../src/io/load.js';

/** Printed in no output, ever: it sits only in files that are not model descriptors. */
export const CANARY = 'CANARY-8d1f-do-not-echo';

export type FileSpec = { text: string } | { fifo: true } | { dir: true } | { link: string };

export interface Case {
  /** Files of the case's repository (a `.git` directory marks its root), by relative path. */
  files: Record<string, FileSpec>;
  /** The command line; `@DIR` is the repository, `@OUT` a directory outside it holding secrets and a valid model. */
  argv: string[];
  /** For `check` of one config: the `estimate` command line over the same config and overrides (a false pass is a check that passes what this refuses). */
  estimateArgv?: string[];
  allowOutside: boolean;
}

// ---- what the mutations start from: the shipped descriptors and run configs ---------------------

interface Source {
  file: string;
  data: Record<string, unknown>;
}

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const f of readdirSync(dir).sort()) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) out.push(...yamlFiles(p));
    else if (/\.ya?ml$/.test(f)) out.push(p);
  }
  return out;
}

function loadSources(): { models: Source[]; configs: Source[] } {
  const models: Source[] = [];
  const configs: Source[] = [];
  for (const file of [...yamlFiles(join(ROOT, 'models')), ...yamlFiles(join(ROOT, 'test', 'fixtures')), ...yamlFiles(join(ROOT, 'bench', 'torch', 'cases'))]) {
    let data: unknown;
    try {
      data = yaml.load(readFileSync(file, 'utf8'), { schema: yaml.CORE_SCHEMA });
    } catch {
      continue;
    }
    if (!data || typeof data !== 'object' || Array.isArray(data)) continue;
    const d = data as Record<string, unknown>;
    if (Array.isArray(d.blocks)) models.push({ file, data: d });
    else if (typeof d.model === 'string' || (d.model && typeof d.model === 'object')) configs.push({ file, data: d });
  }
  return { models, configs };
}

export const SOURCES = loadSources();

/** Dimension names of the shipped models: the symbols expressions most often meet. */
const DIM_NAMES = [...new Set(SOURCES.models.flatMap((m) => Object.keys((m.data.dims ?? {}) as object)))].sort();
const PRESET_IDS = readdirSync(join(ROOT, 'presets')).filter((f) => f.endsWith('.yaml')).map((f) => f.replace(/\.yaml$/, '')).sort();

// ---- values -------------------------------------------------------------------------------------

const hostileNumbers = [
  0, -1, 1, 2, 0.5, 1.5, -0, 1e308, -1e308, Infinity, -Infinity, NaN, 2 ** 31, 2 ** 32, 2 ** 40, 2 ** 40 + 1, 2 ** 53, 2 ** 53 + 2, 2 ** 60,
  4096, 4097, 20000, 1e-300, 3.000000001, 7, 64, 1000, 123456789,
];

const number: fc.Arbitrary<number> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...hostileNumbers) },
  { weight: 2, arbitrary: fc.integer({ min: -10, max: 5000 }) },
  { weight: 1, arbitrary: fc.double() },
);

const NAMES = [
  ...DIM_NAMES, 'batch', 'x', 'undeclared_dim', '__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', 'prototype',
  'ceil', 'floor', 'min', 'max', 'pow', 'mod', 'sqrt', 'log2', 'abs', 'round', 'evaluate', 'import', 'parse', 'pi', 'e', 'i', 'true', 'NaN', 'Infinity',
];

const atom: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NAMES) },
  { weight: 3, arbitrary: number.map((n) => (Number.isFinite(n) ? String(n) : n > 0 ? '1e999' : n < 0 ? '-1e999' : '0/0')) },
  { weight: 1, arbitrary: fc.constantFrom('0x10', '1e-400', '.5', '5.', '1_000', "'s'", '"s"', '[1, 2]', '{a: 1}', 'a.b', 'a[0]', 'a = 1', 'f(x) = x', '1 ? 2 : 3', '2 == 2', '5 cm', 'x!', 'a\'', '@', '#', '\\', '') },
);

const FUNCTIONS = ['ceil', 'floor', 'round', 'min', 'max', 'sqrt', 'log2', 'abs', 'mod', 'pow', 'sin', 'evaluate', 'import', 'createUnit', 'f', 'constructor'];

/** Expressions from a small grammar: operators, calls of any arity, nesting, unary minus. */
export const expression: fc.Arbitrary<string> = fc
  .letrec<{ e: string }>((tie) => ({
    e: fc.oneof(
      { depthSize: 'small', maxDepth: 5 },
      atom,
      fc.tuple(tie('e'), fc.constantFrom('+', '-', '*', '/', '^', '%', ' mod ', '&', '=='), tie('e')).map(([a, o, b]) => `${a} ${o} ${b}`),
      fc.tuple(fc.constantFrom(...FUNCTIONS), fc.array(tie('e'), { maxLength: 3 })).map(([f, args]) => `${f}(${args.join(', ')})`),
      tie('e').map((x) => `(${x})`),
      tie('e').map((x) => `-${x}`),
    ),
  }))
  .e.chain((e) =>
    fc.oneof(
      { weight: 12, arbitrary: fc.constant(e) },
      { weight: 1, arbitrary: fc.integer({ min: 50, max: 400 }).map((n) => `${'('.repeat(n)}1${')'.repeat(n)}`) },
      { weight: 1, arbitrary: fc.integer({ min: 100, max: 2000 }).map((n) => Array(n).fill('1').join('+')) },
      { weight: 1, arbitrary: fc.integer({ min: 100, max: 1500 }).map((n) => `${'-'.repeat(n)}1`) },
    ),
  );

const hostileStrings = [
  '', ' ', '__proto__', 'constructor', 'toString', '../../etc/passwd', '/dev/zero', '/etc/passwd', '~/.npmrc', '$HOME', '%s%n', '\u0000',
  '\u202e', 'x'.repeat(3000), 'rtx-9090', 'h200', 'rtx-4090', 'a100-80', 'batch * 0', '1/0', '0/0', '2^2^2^2^2', 'mod(1, 0)', 'adamw', 'sdpa',
  'bf16-mixed', 'fp8', 'linear', 'transformer_encoder', 'tensor', 'saved', '10%', '200%', '2GiB', 'true', 'null', '.inf', CANARY.slice(0, 6),
  // Aimed at the log that shows the output: a workflow command on a line of its own, a terminal escape.
  'x\n::add-mask::x', '1 +\n::stop-commands::tok', '\r::set-output name=a::b', '\u001b[2J\u001b[31mred', 'a\u0007\u0008b', 'x\u2028::warning::y',
];

const scalar: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: number },
  { weight: 3, arbitrary: fc.constantFrom(...hostileStrings) },
  { weight: 3, arbitrary: expression },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false) },
);

const value: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 8, arbitrary: scalar },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.constantFrom(...NAMES, 'gpu', 'type', 'value', 'size', 'dim'), scalar, { maxKeys: 3 }) },
  { weight: 1, arbitrary: fc.constant(JSON.parse('{"__proto__": {"gpu": "h200", "type": "linear"}}') as unknown) },
);

const key: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('k\n::add-mask::k', '\u001b[1mk'),
  fc.constantFrom(...NAMES, 'repeat', 'chunk', 'input', 'from', 'frozen', 'checkpoint', 'out', 'heads', 'budget', 'gpu', 'dims', 'knobs', 'blocks', 'model', 'modle', 'notes'),
  fc.string({ minLength: 1, maxLength: 12 }),
);

// ---- mutations of a parsed YAML document ---------------------------------------------------------

type Mutation =
  | { kind: 'set'; at: number; value: unknown }
  | { kind: 'delete'; at: number }
  | { kind: 'rename'; at: number; key: string }
  | { kind: 'add'; at: number; key: string; value: unknown }
  | { kind: 'repeat'; at: number; times: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('rename' as const), at: fc.nat(), key }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('add' as const), at: fc.nat(), key, value }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), times: fc.integer({ min: 2, max: 50 }) }) },
);

/** Most cases are nearly valid (a hostile value or two), so the estimator, not only the loader, meets them. */
const mutations = (most: number): fc.Arbitrary<Mutation[]> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constant<Mutation[]>([]) },
    { weight: 3, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 1 }) },
    { weight: 1, arbitrary: fc.array(mutation, { maxLength: most }) },
  );

/** Every container in the document with the key or index of each child, so a number picks one place. */
function places(doc: unknown): { parent: Record<string, unknown> | unknown[]; key: string | number }[] {
  const out: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const walk = (node: unknown, depth: number): void => {
    if (depth > 8 || !node || typeof node !== 'object') return;
    if (Array.isArray(node)) node.forEach((v, i) => (out.push({ parent: node, key: i }), walk(v, depth + 1)));
    else {
      for (const [k, v] of Object.entries(node)) {
        out.push({ parent: node as Record<string, unknown>, key: k });
        walk(v, depth + 1);
      }
    }
  };
  walk(doc, 0);
  return out;
}

function setOwn(obj: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(obj, k, { value: v, writable: true, enumerable: true, configurable: true });
}

export function mutate(doc: Record<string, unknown>, muts: Mutation[]): Record<string, unknown> {
  const copy = structuredClone(doc);
  for (const m of muts) {
    const ps = places(copy);
    if (!ps.length) break;
    const p = ps[m.at % ps.length]!;
    const arr = Array.isArray(p.parent) ? p.parent : undefined;
    const obj = arr ? undefined : (p.parent as Record<string, unknown>);
    switch (m.kind) {
      case 'set':
        // A copy: generated values can be shared between cases, and later mutations write into them.
        if (arr) arr[p.key as number] = structuredClone(m.value);
        else setOwn(obj!, p.key as string, structuredClone(m.value));
        break;
      case 'delete':
        if (arr) arr.splice(p.key as number, 1);
        else delete obj![p.key as string];
        break;
      case 'rename':
        if (obj) {
          const v = obj[p.key as string];
          delete obj[p.key as string];
          setOwn(obj, m.key, v);
        }
        break;
      case 'add':
        if (arr) arr.push(structuredClone(m.value));
        else setOwn(obj!, m.key, structuredClone(m.value));
        break;
      case 'repeat':
        if (arr) arr.splice(p.key as number, 0, ...Array<unknown>(m.times).fill(structuredClone(arr[p.key as number])));
        break;
    }
  }
  return copy;
}

// ---- damage to the text -------------------------------------------------------------------------

const BOMB =
  '[&a [lol,lol,lol,lol,lol,lol,lol,lol,lol], &b [*a,*a,*a,*a,*a,*a,*a,*a,*a], &c [*b,*b,*b,*b,*b,*b,*b,*b,*b], &d [*c,*c,*c,*c,*c,*c,*c,*c,*c], &e [*d,*d,*d,*d,*d,*d,*d,*d,*d], &f [*e,*e,*e,*e,*e,*e,*e,*e,*e], &g [*f,*f,*f,*f,*f,*f,*f,*f,*f], [*g,*g,*g,*g,*g,*g,*g,*g,*g]]';

type TextDamage =
  | { kind: 'none' }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'bomb'; key: string }
  | { kind: 'self-alias' }
  | { kind: 'tabs' }
  | { kind: 'crlf' }
  | { kind: 'bom' }
  | { kind: 'duplicate-line'; at: number }
  | { kind: 'huge' };

const damage: fc.Arbitrary<TextDamage> = fc.oneof(
  { weight: 60, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.constantFrom(': ', '- ', '&x ', '*x', '!!binary ', '!<tag:x> ', '"', "'", '{', '[', '\t', '\n  ', '%YAML 1.1\n---\n', '---\n', '? ', '<<: *x\n') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('bomb' as const), key: fc.constantFrom('name', 'description', 'notes', 'dims', 'blocks', 'budget') }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'self-alias' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'tabs' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'crlf' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'bom' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate-line' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'huge' as const }) },
);

function dump(doc: unknown): string {
  try {
    return yaml.dump(doc, { lineWidth: -1, noRefs: true });
  } catch {
    try {
      return JSON.stringify(doc) ?? 'null';
    } catch {
      return 'null';
    }
  }
}

export function damageText(text: string, d: TextDamage): string {
  const lines = text.split('\n');
  switch (d.kind) {
    case 'none':
      return text;
    case 'truncate':
      return text.slice(0, d.at % (text.length + 1));
    case 'insert': {
      const at = d.at % (text.length + 1);
      return text.slice(0, at) + d.text + text.slice(at);
    }
    case 'bomb':
      return `${lines.filter((l) => !l.startsWith(`${d.key}:`)).join('\n')}\n${d.key}: ${BOMB}\n`;
    case 'self-alias':
      return `${text}\nnotes: &loop [a, *loop]\n`;
    case 'tabs':
      return text.replace(/^( {2})+/gm, (m) => '\t'.repeat(m.length / 2));
    case 'crlf':
      return text.replace(/\n/g, '\r\n');
    case 'bom':
      return `\ufeff${text}`;
    case 'duplicate-line': {
      const i = d.at % Math.max(1, lines.length);
      lines.splice(i, 0, lines[i] ?? '');
      return lines.join('\n');
    }
    case 'huge':
      return `${text}\ndescription: "${'x'.repeat(1024 * 1024 + 10)}"\n`;
  }
}

// ---- the model reference, the files, the command line ------------------------------------------

/** What `model:` says: mostly the mutated descriptor beside the config, sometimes anything but. */
const reference: fc.Arbitrary<string | 'inline'> = fc.oneof(
  { weight: 30, arbitrary: fc.constant('model.yaml') },
  { weight: 1, arbitrary: fc.constant('inline' as const) },
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      '', ' ', '.', './', 'sub/', '/dev/zero', '/dev/null', '/etc/passwd', '/proc/self/environ', 'fifo.yaml', 'secret.env', '.git/config',
      '../outside/secret.yaml', '@OUT/secret.yaml', '@OUT/model.yaml', 'link-out.yaml', 'link-in.yaml', 'big.yaml', 'missing.yaml',
      '~/.npmrc', 'model.yaml\u0000x', 'x'.repeat(5000), 'sub/../model.yaml', 'secret.json', 'config.yaml', 'm\n::add-mask::m.yaml', '\u001b[2Jm.yaml',
    ),
  },
);

const setKey: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('batch_size', 'grad_accum', 'precision', 'optimizer', 'optimizer.impl', 'optimizer.type', 'ema', 'ema.dtype', 'checkpointing', 'attention', 'runtime', 'device', 'pytorch', 'gpu', 'budget.gpu', 'budget.headroom', 'budget.level', 'distributed.gpus', 'distributed.strategy', 'allocator.fragmentation') },
  { weight: 4, arbitrary: fc.constantFrom(...DIM_NAMES).chain((d) => fc.constantFrom(d, `dims.${d}`)) },
  { weight: 2, arbitrary: fc.constantFrom('budget.__proto__', 'optimizer.__proto__', 'dims.__proto__', '__proto__', 'constructor', 'dims.constructor', 'toString', 'budget.constructor', 'a.b.c', '', ' ', 'dims.', '.x', 'model', 'blocks') },
);

const setValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: scalar.map((v) => (typeof v === 'string' ? v : v === null ? 'null' : typeof v === 'number' ? (Number.isNaN(v) ? '.nan' : v === Infinity ? '.inf' : v === -Infinity ? '-.inf' : String(v)) : String(v))) },
  { weight: 1, arbitrary: fc.constantFrom('', '.nan', '.inf', '~', '[1, 2]', '{gpu: h200}', '[rtx-4090, rtx-9090]', "'2 * seq'", '"x', '!!str 5', '&a 5', 'a: b') },
);

const setOption: fc.Arbitrary<string[]> = fc.oneof(
  { weight: 10, arbitrary: fc.tuple(setKey, setValue).map(([k, v]) => ['--set', `${k}=${v}`]) },
  { weight: 1, arbitrary: fc.constantFrom<string[]>(['--set', 'noequals'], ['--set', '=x'], ['--set', 'a==b'], ['--set']) },
);

const gpuValue = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...PRESET_IDS) },
  { weight: 2, arbitrary: fc.constantFrom('rtx-9090', '', ',', 'rtx-4090,a100-80', '4xa100-80', '0xh200', 'x'.repeat(500), 'rtx-4090,', '__proto__', 'constructor') },
);

const formats = ['table', 'json', 'markdown', 'github', 'junit', 'bogus', ''];

/** Options of one command, in any order; each a list of words. */
function options(cmd: string): fc.Arbitrary<string[][]> {
  const common: fc.Arbitrary<string[]>[] = [setOption, fc.constantFrom(...formats).map((f) => ['--format', f]), fc.constant(['--allow-outside'])];
  const per: Record<string, fc.Arbitrary<string[]>[]> = {
    estimate: [gpuValue.map((g) => ['--gpu', g])],
    explain: [gpuValue.map((g) => ['--gpu', g])],
    check: [
      gpuValue.map((g) => ['--gpu', g]),
      fc.constantFrom('10%', '200%', '100%', '0', '-1', '2GiB', '1e308', 'x', '', '0.5', '99.99%').map((h) => ['--headroom', h]),
      fc.constantFrom('error', 'warn', 'off', 'bogus', '').map((l) => ['--level', l]),
      fc.constant(['--baseline', '@DIR/base.json']),
      fc.constant(['--write-baseline', '@DIR/written.json']),
    ],
    recommend: [
      gpuValue.map((g) => ['--gpu', g]),
      fc.constantFrom('1', '0', '-1', ' ', '8', '64', '1e3', '0x10', '1099511627777', '963761198400').map((v) => ['--effective-batch', v]),
      fc.constantFrom('1', '2', '0', 'x', '100').map((v) => ['--gpus', v]),
      fc.constantFrom('1', '0', '3', 'x').map((v) => ['--top', v]),
      fc.constantFrom('5%', '200%', '100%', '2GiB', 'x', '').map((v) => ['--margin', v]),
      fc.constantFrom(...DIM_NAMES.slice(0, 12), 'precision', 'optimizer', 'precision=bf16-mixed', 'token_limit=1..4096', 'seq=1,2,3', 'x=', '=', 'bogus').map((v) => ['--allow', v]),
      fc.constant(['--max-batch']),
      fc.constantFrom('gpu', 'wasm', 'cpu', '').map((b) => ['--backend', b]),
    ],
  };
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant<string[][]>([]) },
    { weight: 2, arbitrary: fc.array(fc.oneof(...common, ...(per[cmd] ?? [])), { maxLength: 3 }) },
  );
}

/** A probe never runs TensorFlow.js in the fuzzer: one of its options is always bad, so it stops at the options. */
const probeBadOption: fc.Arbitrary<string[]> = fc.oneof(
  fc.constantFrom(' ', '', '0', '-1', '2', 'x', '1e308', 'NaN', '0x1').map((v) => ['--scale', v]),
  fc.constantFrom(' ', '0', '11', 'x', '1.5', '1e3').map((v) => ['--steps', v]),
  fc.constantFrom('gpu', '', 'tfjs').map((v) => ['--backend', v]),
  fc.constantFrom('markdown', 'bogus').map((v) => ['--format', v]),
);

const baselineDamage = fc.record({
  muts: fc.array(mutation, { maxLength: 3 }),
  text: fc.oneof({ weight: 6, arbitrary: fc.constant('none') }, { weight: 1, arbitrary: fc.constantFrom('truncate', 'not-json', 'empty', 'null', 'list') }),
});

/** A baseline: a real `check --format json` report (built by the harness), mutated. */
export function baselineText(report: Record<string, unknown>, d: { muts: Mutation[]; text: string }): string {
  const text = JSON.stringify(mutate(report, d.muts), (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
  switch (d.text) {
    case 'truncate':
      return text.slice(0, Math.floor(text.length / 2));
    case 'not-json':
      return `results:\n  - file: x\n`;
    case 'empty':
      return '';
    case 'null':
      return 'null';
    case 'list':
      return '[]';
    default:
      return text;
  }
}

export interface CaseParts {
  model: { source: number; muts: Mutation[]; damage: TextDamage };
  config: { source: number; muts: Mutation[]; damage: TextDamage; reference: string };
  extra: { fifo: boolean; big: boolean; links: boolean; typo: boolean; budget: boolean };
  command: string;
  target: 'config' | 'model' | 'folder' | 'glob' | 'missing';
  opts: string[][];
  probeBad: string[];
  baseline: { muts: Mutation[]; text: string };
}

const commandName = fc.oneof(
  { weight: 8, arbitrary: fc.constant('estimate') },
  { weight: 1, arbitrary: fc.constant('explain') },
  { weight: 7, arbitrary: fc.constant('check') },
  { weight: 2, arbitrary: fc.constant('recommend') },
  { weight: 1, arbitrary: fc.constant('probe') },
);

export const caseParts: fc.Arbitrary<CaseParts> = commandName.chain((command) =>
  fc.record({
    model: fc.record({ source: fc.nat(SOURCES.models.length - 1), muts: mutations(4), damage }),
    config: fc.record({ source: fc.nat(SOURCES.configs.length - 1), muts: mutations(3), damage, reference }),
    extra: fc.record({ fifo: fc.boolean(), big: fc.integer({ min: 0, max: 19 }).map((n) => n === 0), links: fc.boolean(), typo: fc.boolean(), budget: fc.integer({ min: 0, max: 9 }).map((n) => n < 7) }),
    command: fc.constant(command),
    target: fc.oneof({ weight: 10, arbitrary: fc.constant('config' as const) }, { weight: 1, arbitrary: fc.constantFrom('model' as const, 'folder' as const, 'glob' as const, 'missing' as const) }),
    opts: options(command),
    probeBad: probeBadOption,
    baseline: baselineDamage,
  }),
);

function renamed(report: Record<string, unknown>): Record<string, unknown> {
  const rows = (report.results as Record<string, unknown>[] | undefined) ?? [];
  return { ...report, results: rows.map((r, i) => ({ ...r, file: i === 0 ? '@DIR/config.yaml' : r.file })) };
}

/** Builds the case's files and command line from its parts. `baseline` is a real check report to mutate. */
export function buildCase(p: CaseParts, baseline: Record<string, unknown>): Case {
  const model = SOURCES.models[p.model.source]!;
  const config = SOURCES.configs[p.config.source]!;
  const modelDoc = mutate(model.data, p.model.muts);
  const modelText = damageText(dump(modelDoc), p.model.damage);
  // The reference first, so the mutations can damage it too.
  // Most shipped configs name no budget: a check of them would stop there, so most checks get one.
  const budget = p.command === 'check' && p.extra.budget && !config.data.budget ? { budget: { gpu: 'h200', headroom: '10%' } } : {};
  const cfgDoc = mutate({ ...config.data, ...budget, model: p.config.reference === 'inline' ? modelDoc : p.config.reference }, p.config.muts);
  const files: Record<string, FileSpec> = {
    'model.yaml': { text: modelText },
    'config.yaml': { text: damageText(dump(cfgDoc), p.config.damage) },
    'secret.env': { text: `API_TOKEN=${CANARY}\n` },
    'secret.json': { text: JSON.stringify({ token: CANARY, name: CANARY }) },
    '.git/config': { text: `[core]\n\trepositoryformatversion = 0\n[http]\n\textraheader = AUTHORIZATION: basic ${CANARY}\n` },
    'sub/notes.txt': { text: CANARY },
    // The report's rows renamed to this case's config, so the comparison has something to compare.
    'base.json': { text: baselineText(renamed(baseline), p.baseline) },
  };
  if (p.extra.fifo) files['fifo.yaml'] = { fifo: true };
  if (p.extra.big) files['big.yaml'] = { text: `${modelText}\ndescription: "${'x'.repeat(1024 * 1024)}"\n` };
  if (p.extra.links) {
    files['link-out.yaml'] = { link: '@OUT/secret.yaml' };
    files['link-in.yaml'] = { link: 'model.yaml' };
    files['configs/escape.yaml'] = { link: '@OUT/config.yaml' };
  }
  if (p.extra.typo) files['configs/typo.yaml'] = { text: 'modle: ../model.yaml\nbatch_size: 4\nbudget: {gpu: rtx-4090}\n' };
  const target =
    p.target === 'model' ? '@DIR/model.yaml' : p.target === 'folder' ? '@DIR' : p.target === 'glob' ? '@DIR/**/*.yaml' : p.target === 'missing' ? '@DIR/missing.yaml' : '@DIR/config.yaml';
  const cmd = p.command === 'check' || p.target !== 'folder' && p.target !== 'glob' ? p.command : 'check';
  const opts = cmd === 'probe' ? [...p.opts.filter((o) => o[0] === '--set' || o[0] === '--allow-outside'), p.probeBad] : cmd === p.command ? p.opts : [];
  const argv = [cmd, target, ...opts.flat()];
  const allowOutside = argv.includes('--allow-outside');
  let estimateArgv: string[] | undefined;
  if (cmd === 'check' && (p.target === 'config' || p.target === 'model')) {
    // The same config through estimate, with the same overrides and the first card check would use.
    const sets = opts.filter((o) => o[0] === '--set').flat();
    const gpu = opts.find((o) => o[0] === '--gpu')?.[1]?.split(',').map((s) => s.trim()).filter(Boolean)[0];
    estimateArgv = ['estimate', target, ...sets, ...(gpu ? ['--gpu', gpu] : []), ...(allowOutside ? ['--allow-outside'] : [])];
  }
  return { files, argv, estimateArgv, allowOutside };
}
