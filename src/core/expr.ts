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

/** Functions an expression may call. Everything else (including matrix, unit and string functions) is refused. */
export const ALLOWED_FUNCTIONS = ['ceil', 'floor', 'round', 'min', 'max', 'sqrt', 'log2', 'abs', 'mod', 'pow'] as const;
const ALLOWED_FN = new Set<string>(ALLOWED_FUNCTIONS);
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

/** Parses, whitelists and compiles an expression once (cached by source text). Throws MemplanError. */
export function compileExpr(source: string, path?: string): CompiledExpr {
  const hit = cache.get(source);
  if (hit) return hit;
  let node: MathNode;
  try {
    node = sandbox().parse(source);
  } catch (e) {
    throw new MemplanError('E_EXPR_SYNTAX', `cannot parse expression "${source}": ${(e as Error).message}`, {
      path,
      expected: 'arithmetic on declared dimensions, e.g. "batch * token_limit"',
      hint: `operators + - * / ^ % and functions ${ALLOWED_FUNCTIONS.join(', ')} are allowed`,
    });
  }
  const symbols: string[] = [];
  node.traverse((n: MathNode, _path: string, parent: MathNode | null) => {
    switch (n.type) {
      case 'ConstantNode': {
        const v = (n as unknown as { value: unknown }).value;
        if (typeof v !== 'number') forbidden(source, path, `constant ${JSON.stringify(v)} is not a number`);
        return;
      }
      case 'ParenthesisNode':
        return;
      case 'OperatorNode': {
        const op = (n as unknown as { op: string }).op;
        if (!ALLOWED_OPS.has(op)) forbidden(source, path, `operator "${op}" is not allowed`);
        return;
      }
      case 'FunctionNode': {
        const fn = (n as unknown as { fn: MathNode }).fn;
        const name = fn.type === 'SymbolNode' ? (fn as unknown as { name: string }).name : '';
        if (!ALLOWED_FN.has(name)) forbidden(source, path, `function "${name || fn.toString()}" is not allowed`);
        return;
      }
      case 'SymbolNode': {
        const name = (n as unknown as { name: string }).name;
        const isCallee = parent?.type === 'FunctionNode' && (parent as unknown as { fn: MathNode }).fn === n;
        if (!isCallee && !symbols.includes(name)) symbols.push(name);
        return;
      }
      default:
        forbidden(source, path, `${n.type} is not allowed`);
    }
  });
  const code: EvalFunction = node.compile();
  const compiled: CompiledExpr = {
    source,
    symbols,
    evaluate(scope) {
      const value: unknown = code.evaluate(new Map(scope));
      if (typeof value !== 'number') {
        throw new MemplanError('E_EXPR_VALUE', `expression "${source}" did not evaluate to a number`, { path, expected: 'a number' });
      }
      return value;
    },
  };
  cache.set(source, compiled);
  return compiled;
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
  opts: { integer?: boolean; min?: number } = {},
): number {
  let v: number;
  if (typeof value === 'number') {
    v = value;
  } else {
    const c = compileExpr(value, path);
    const missing = c.symbols.filter((s) => !scope.has(s));
    if (missing.length > 0) throw undeclared(missing, value, path, [...scope.keys()]);
    v = c.evaluate(scope);
    if (!Number.isFinite(v)) {
      if (/\//.test(value) || /%|mod/.test(value)) {
        throw new MemplanError('E_DIVISION_BY_ZERO', `expression "${value}" divides by zero`, {
          path,
          expected: 'a divisor that is not 0',
          hint: 'check the dimensions in the divisor; a chunk size or head count of 0 is a common cause',
        });
      }
      throw new MemplanError('E_EXPR_VALUE', `expression "${value}" is not finite`, { path, expected: 'a finite number' });
    }
    if (Number.isNaN(v)) throw new MemplanError('E_EXPR_VALUE', `expression "${value}" is not a number`, { path, expected: 'a number' });
  }
  return checkNumber(v, typeof value === 'string' ? `"${value}" = ${v}` : String(v), path, opts);
}

export function checkNumber(v: number, shown: string, path: string, opts: { integer?: boolean; min?: number }): number {
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
  if (Math.abs(v) > Number.MAX_SAFE_INTEGER) {
    throw new MemplanError('E_TOO_LARGE', `${shown} is past 2^53`, { path, expected: 'a value below 2^53', hint: 'check for a value in the wrong unit or a missing division' });
  }
  return v;
}

export function undeclared(missing: string[], source: string, path: string, known: string[]): MemplanError {
  const suggestions = missing
    .map((m) => {
      const close = known.find((k) => editDistance(k, m) <= 2);
      return close ? `"${m}" -> did you mean "${close}"?` : undefined;
    })
    .filter(Boolean);
  return new MemplanError(
    'E_UNDECLARED_SYMBOL',
    `expression "${source}" uses undeclared ${missing.length > 1 ? 'symbols' : 'symbol'} ${missing.map((m) => `"${m}"`).join(', ')}`,
    {
      path,
      expected: `a dimension declared under dims: (${known.join(', ') || 'none declared'})`,
      hint: suggestions.length ? suggestions.join('; ') : 'declare it under dims:, or set it with --set NAME=VALUE',
    },
  );
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) dp[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      dp[i]![j] = Math.min(dp[i - 1]![j]! + 1, dp[i]![j - 1]! + 1, dp[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return dp[a.length]![b.length]!;
}
