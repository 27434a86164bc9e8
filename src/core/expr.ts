/**
 * Sandboxed expressions. Descriptors hold arithmetic such as `batch * token_limit` or
 * `ceil(token_limit / asv_chunk_size)`. They are parsed by a restricted mathjs instance (only the
 * factories listed below exist in it), checked against a whitelist of node types and functions,
 * checked for undeclared symbols, then compiled once. `import`, `createUnit`, `evaluate`, `parse`,
 * `compile`, `simplify`, `derivative` and `resolve` are overridden to throw, following mathjs's
 * security guide, so nothing reachable from an expression can extend or escape the instance.
 */
import {
  create,
  parseDependencies,
  addDependencies,
  subtractDependencies,
  multiplyDependencies,
  divideDependencies,
  powDependencies,
  modDependencies,
  ceilDependencies,
  floorDependencies,
  roundDependencies,
  minDependencies,
  maxDependencies,
  sqrtDependencies,
  log2Dependencies,
  absDependencies,
  unaryMinusDependencies,
  unaryPlusDependencies,
  type MathNode,
  type EvalFunction,
} from '#mathjs';
import { MemplanError } from './errors.js';
import { count, LIMITS } from './limits.js';
import { editDistance } from './names.js';

/** Functions an expression may call. Everything else (including matrix, unit and string functions) is refused. */
export const ALLOWED_FUNCTIONS = ['ceil', 'floor', 'round', 'min', 'max', 'sqrt', 'log2', 'abs', 'mod', 'pow'] as const;
const ALLOWED_FN = new Set<string>(ALLOWED_FUNCTIONS);
/** How many arguments each function takes: [least, most]. mathjs's own checks throw plain errors at evaluation. */
const ARITY: Record<(typeof ALLOWED_FUNCTIONS)[number], [number, number]> = {
  ceil: [1, 1], floor: [1, 1], round: [1, 1], sqrt: [1, 1], log2: [1, 1], abs: [1, 1],
  min: [1, Infinity], max: [1, Infinity], mod: [2, 2], pow: [2, 2],
};
/** Parentheses (and calls) nested deeper than this are refused before parsing: mathjs's parser recurses. */
const MAX_NESTING = 64;
/**
 * Symbols are renamed before compiling, so a dimension named like a function (`ceil`) or like an
 * Object member (`constructor`) is looked up as data and never shadows or reaches anything else.
 */
const SYMBOL_PREFIX = 'dim__';
const ALLOWED_OPS = new Set(['+', '-', '*', '/', '^', '%', 'mod']);

let instance: { parse: (s: string) => MathNode } | undefined;

function sandbox(): { parse: (s: string) => MathNode } {
  if (instance) return instance;
  const factories = {
      parseDependencies,
      addDependencies,
      subtractDependencies,
      multiplyDependencies,
      divideDependencies,
      powDependencies,
      modDependencies,
      ceilDependencies,
      floorDependencies,
      roundDependencies,
      minDependencies,
      maxDependencies,
      sqrtDependencies,
      log2Dependencies,
      absDependencies,
      unaryMinusDependencies,
      unaryPlusDependencies,
  } as unknown as Parameters<typeof create>[0];
  const math = create(factories, { number: 'number' });
  const parse = math.parse.bind(math) as (s: string) => MathNode;
  const disabled = (name: string) => () => {
    throw new Error(`function ${name} is disabled in memplan expressions`);
  };
  const overrides: Record<string, unknown> = {};
  for (const name of ['import', 'createUnit', 'evaluate', 'parse', 'compile', 'simplify', 'derivative', 'resolve', 'reviver']) {
    overrides[name] = disabled(name);
  }
  math.import(overrides, { override: true });
  instance = { parse };
  return instance;
}

export interface CompiledExpr {
  source: string;
  /** Symbols the expression reads, in order of first use. */
  symbols: string[];
  evaluate(scope: ReadonlyMap<string, number>): number;
}

const cache = new Map<string, CompiledExpr>();

/** An expression as messages show it: long ones cut, so an error never repeats a whole file. */
export function shownExpr(source: string): string {
  return source.length > 80 ? `${source.slice(0, 60)}... (${count(source.length)} characters)` : source;
}

/** Parses, whitelists and compiles an expression once (cached by source text). Throws MemplanError. */
export function compileExpr(source: string, path?: string): CompiledExpr {
  const hit = cache.get(source);
  if (hit) return hit;
  const shown = shownExpr(source);
  if (source.length > LIMITS.exprLength) {
    throw new MemplanError('E_TOO_LARGE', `expression "${shown}" is longer than ${count(LIMITS.exprLength)} characters`, {
      path,
      expected: `an expression of at most ${count(LIMITS.exprLength)} characters`,
      hint: 'declare intermediate dimensions under dims: and use their names',
    });
  }
  if (nesting(source) > MAX_NESTING) {
    throw new MemplanError('E_EXPR_SYNTAX', `expression "${shown}" nests parentheses more than ${MAX_NESTING} deep`, {
      path,
      expected: `at most ${MAX_NESTING} levels of parentheses`,
      hint: 'declare intermediate dimensions under dims: and use their names',
    });
  }
  let node: MathNode;
  try {
    node = sandbox().parse(source);
  } catch (e) {
    throw new MemplanError('E_EXPR_SYNTAX', `cannot parse expression "${shown}": ${(e as Error).message}`, {
      path,
      expected: 'arithmetic on declared dimensions, e.g. "batch * token_limit"',
      hint: `operators + - * / ^ % and functions ${ALLOWED_FUNCTIONS.join(', ')} are allowed`,
    });
  }
  const symbols: string[] = [];
  const renamed: { name: string }[] = [];
  node.traverse((n: MathNode, _path: string, parent: MathNode | null) => {
    switch (n.type) {
      case 'ConstantNode': {
        const v = (n as unknown as { value: unknown }).value;
        if (typeof v !== 'number') forbidden(shown, path, `constant ${JSON.stringify(v)} is not a number`);
        return;
      }
      case 'ParenthesisNode':
        return;
      case 'OperatorNode': {
        const op = (n as unknown as { op: string }).op;
        if (!ALLOWED_OPS.has(op)) forbidden(shown, path, `operator "${op}" is not allowed`);
        return;
      }
      case 'FunctionNode': {
        const fn = (n as unknown as { fn: MathNode; args: MathNode[] }).fn;
        const name = fn.type === 'SymbolNode' ? (fn as unknown as { name: string }).name : '';
        if (!ALLOWED_FN.has(name)) forbidden(shown, path, `function "${name || 'a computed function'}" is not allowed`);
        const [least, most] = ARITY[name as keyof typeof ARITY];
        const got = (n as unknown as { args: MathNode[] }).args.length;
        if (got < least || got > most) {
          const takes = least === most ? `${least} argument${least === 1 ? '' : 's'}` : `at least ${least} argument`;
          throw new MemplanError('E_EXPR_SYNTAX', `expression "${shown}": ${name}() takes ${takes}, not ${got}`, {
            path,
            expected: `${name}(${Array.from({ length: Math.min(least, 2) }, (_, i) => 'xy'[i]).join(', ')}${most > least ? ', ...' : ''})`,
            hint: `functions and their arguments: ceil(x) floor(x) round(x) sqrt(x) log2(x) abs(x) min(x, ...) max(x, ...) mod(x, y) pow(x, y)`,
          });
        }
        return;
      }
      case 'SymbolNode': {
        const sym = n as unknown as { name: string };
        const isCallee = parent?.type === 'FunctionNode' && (parent as unknown as { fn: MathNode }).fn === n;
        if (isCallee) return;
        if (!symbols.includes(sym.name)) symbols.push(sym.name);
        renamed.push(sym);
        return;
      }
      default:
        forbidden(shown, path, `${n.type} is not allowed`);
    }
  });
  for (const sym of renamed) sym.name = SYMBOL_PREFIX + sym.name;
  const code: EvalFunction = node.compile();
  const compiled: CompiledExpr = {
    source,
    symbols,
    evaluate(scope) {
      const vars = new Map<string, number>();
      for (const s of symbols) {
        const v = scope.get(s);
        if (v !== undefined) vars.set(SYMBOL_PREFIX + s, v);
      }
      let value: unknown;
      try {
        value = code.evaluate(vars);
      } catch (e) {
        // The checks above leave nothing for mathjs to refuse; should it still, the user learns where.
        throw new MemplanError('E_EXPR_VALUE', `expression "${shown}" cannot be evaluated: ${(e as Error).message}`, { path, expected: 'arithmetic on declared dimensions' });
      }
      if (typeof value !== 'number') {
        throw new MemplanError('E_EXPR_VALUE', `expression "${shown}" did not evaluate to a number`, { path, expected: 'a number' });
      }
      return value;
    },
  };
  // Bounded: a long fuzzing run, or a library user, compiles any number of distinct expressions.
  if (cache.size >= 10_000) cache.clear();
  cache.set(source, compiled);
  return compiled;
}

/** The deepest parenthesis nesting in the text (a call's parentheses count too). */
function nesting(source: string): number {
  let depth = 0;
  let most = 0;
  for (const c of source) {
    if (c === '(' || c === '[' || c === '{') most = Math.max(most, ++depth);
    else if (c === ')' || c === ']' || c === '}') depth--;
  }
  return most;
}

function forbidden(source: string, path: string | undefined, what: string): never {
  throw new MemplanError('E_EXPR_FORBIDDEN', `expression "${source}": ${what}`, {
    path,
    expected: 'numbers, declared dimension names, + - * / ^ %, parentheses',
    hint: `allowed functions: ${ALLOWED_FUNCTIONS.join(', ')}`,
  });
}

/** A value that is either a number or an expression string (as written in YAML). */
export type NumOrExpr = number | string;

/**
 * Evaluates a number-or-expression against resolved dimensions. Reports undeclared symbols before
 * evaluating, division by zero, non-finite results, and (with `integer`) non-integers.
 */
export function evalValue(
  value: NumOrExpr,
  scope: ReadonlyMap<string, number>,
  path: string,
  opts: { integer?: boolean; min?: number; max?: number } = {},
): number {
  let v: number;
  if (typeof value === 'number') {
    v = value;
  } else {
    const c = compileExpr(value, path);
    const missing = c.symbols.filter((s) => !scope.has(s));
    if (missing.length > 0) throw undeclared(missing, value, path, [...scope.keys()]);
    v = c.evaluate(scope);
    if (!Number.isFinite(v) && (/\//.test(value) || /%|mod/.test(value))) {
      throw new MemplanError('E_DIVISION_BY_ZERO', `expression "${shownExpr(value)}" divides by zero`, {
        path,
        expected: 'a divisor that is not 0',
        hint: 'check the dimensions in the divisor; a chunk size or head count of 0 is a common cause',
      });
    }
  }
  return checkNumber(v, typeof value === 'string' ? `"${shownExpr(value)}" = ${v}` : String(v), path, opts);
}

/**
 * Checks a number against what its place needs: finite (YAML's .inf and .nan are numbers too), at
 * least `min`, whole with `integer`, and at most `max` (default: the dimension limit, LIMITS.dimension).
 */
export function checkNumber(v: number, shown: string, path: string, opts: { integer?: boolean; min?: number; max?: number }): number {
  if (!Number.isFinite(v)) {
    throw new MemplanError('E_EXPR_VALUE', `${shown} is not a finite number`, { path, expected: 'a finite number', hint: 'check the value and the dimensions it uses' });
  }
  // Decimal inputs such as 2000 / 0.1 land a few ulps off an integer; snap those, refuse real fractions.
  const r = Math.round(v);
  if (Math.abs(v - r) <= 1e-9 * Math.max(1, Math.abs(v))) v = r;
  const min = opts.min ?? 0;
  if (v < min) {
    throw new MemplanError('E_EXPR_VALUE', `${shown} is below ${min}`, {
      path,
      expected: min === 0 ? 'a non-negative number' : `a number >= ${min}`,
      hint: 'sizes and counts cannot be negative or empty; check the signs and the dimensions the expression uses',
    });
  }
  if (opts.integer && !Number.isInteger(v)) {
    throw new MemplanError('E_EXPR_VALUE', `${shown} is not an integer`, {
      path,
      expected: 'a whole number (tensor dimensions and counts are integers)',
      hint: 'wrap the expression in ceil() or floor() if a fractional result is expected',
    });
  }
  const max = opts.max ?? LIMITS.dimension;
  if (Math.abs(v) > max) {
    const limit = max === LIMITS.dimension ? '2^40, the dimension limit' : max === Number.MAX_SAFE_INTEGER ? '2^53' : `the limit of ${count(max)}`;
    throw new MemplanError('E_TOO_LARGE', `${shown} is past ${limit}`, {
      path,
      expected: `a value of at most ${max === LIMITS.dimension ? '2^40 (1,099,511,627,776)' : count(max)}`,
      hint: 'check for a value in the wrong unit or a missing division; docs/security.md lists the limits',
    });
  }
  return v;
}

export function undeclared(missing: string[], source: string, path: string, known: string[]): MemplanError {
  const suggestions = missing
    .slice(0, 5)
    .map((m) => {
      const close = m.length > 64 ? undefined : known.find((k) => k.length <= 64 && editDistance(k, m, false) <= 2);
      return close ? `"${m}" -> did you mean "${close}"?` : undefined;
    })
    .filter(Boolean);
  return new MemplanError(
    'E_UNDECLARED_SYMBOL',
    `expression "${shownExpr(source)}" uses undeclared ${missing.length > 1 ? 'symbols' : 'symbol'} ${listed(missing.map((m) => `"${m}"`))}`,
    {
      path,
      expected: `a dimension declared under dims: (${listed(known) || 'none declared'})`,
      hint: suggestions.length ? suggestions.join('; ') : 'declare it under dims:, or set it with --set NAME=VALUE',
    },
  );
}

/** At most 20 names, then how many more: a message stays one readable line. */
function listed(names: string[]): string {
  return names.length > 20 ? `${names.slice(0, 20).join(', ')} and ${names.length - 20} more` : names.join(', ');
}
