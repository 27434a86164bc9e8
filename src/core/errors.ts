/**
 * Errors are data: one class, a code from the catalog, where it happened, what was expected and a
 * hint. The CLI prints it once at the top level (text or JSON); nothing below it prints or exits.
 */

export const ERROR_CODES = {
  E_SCHEMA: 'the file does not match the schema',
  E_YAML: 'the file is not valid YAML',
  E_FILE: 'a file could not be read',
  E_UNKNOWN_BLOCK: 'unknown block type',
  E_UNKNOWN_PRESET: 'unknown GPU preset',
  E_UNDECLARED_SYMBOL: 'an expression uses a symbol that is not declared',
  E_EXPR_SYNTAX: 'an expression could not be parsed',
  E_EXPR_FORBIDDEN: 'an expression uses something the sandbox does not allow',
  E_EXPR_VALUE: 'an expression evaluated to an unusable value',
  E_DIM_CYCLE: 'dimensions depend on each other in a cycle',
  E_DIVISION_BY_ZERO: 'an expression divides by zero',
  E_TOO_LARGE: 'a size is past 2^53 bytes',
  E_SHAPE: 'tensor shapes do not fit together',
  E_OPTION: 'a command-line option is wrong',
  E_CONFIG: 'the run configuration is inconsistent',
  E_PROBE: 'the probe cannot run this configuration',
  E_INTERNAL: 'internal error',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The hint an error gets when the code that raised it has nothing more specific to say. */
export const DEFAULT_HINTS: Record<ErrorCode, string> = {
  E_SCHEMA: 'docs/descriptor.md lists every key and its values',
  E_YAML: 'check indentation and quoting near that line',
  E_FILE: 'check the path',
  E_UNKNOWN_BLOCK: 'use a `tensor` block for a component no block type covers',
  E_UNKNOWN_PRESET: 'run `memplan gpus` for the list',
  E_UNDECLARED_SYMBOL: 'declare it under dims:, or set it with --set NAME=VALUE',
  E_EXPR_SYNTAX: 'expressions are arithmetic: + - * / ^ %, parentheses, ceil, floor, round, min, max, sqrt, log2, abs, mod, pow',
  E_EXPR_FORBIDDEN: 'expressions are arithmetic: + - * / ^ %, parentheses, ceil, floor, round, min, max, sqrt, log2, abs, mod, pow',
  E_EXPR_VALUE: 'check the dimensions the expression uses; `memplan explain` lists their values',
  E_DIM_CYCLE: 'give one of the dimensions in the cycle a number',
  E_DIVISION_BY_ZERO: 'check the dimensions in the divisor',
  E_TOO_LARGE: 'check for a value in the wrong unit or a missing division',
  E_SHAPE: 'check the `input:` shapes; `memplan explain` on a working variant lists every tensor shape',
  E_OPTION: 'run `memplan <command> --help`',
  E_CONFIG: 'docs/descriptor.md describes the run config',
  E_PROBE: 'run `memplan estimate` for the analytic numbers',
  E_INTERNAL: 'this is a bug in memplan; please report it with the command and files that caused it',
};

export interface ErrorDetails {
  /** Where: `models/aam.yaml: blocks[3].heads`; file and path are joined by the CLI when it knows the file. */
  file?: string;
  path?: string;
  expected?: string;
  hint?: string;
  /** 1-based line in the file, when the YAML loader could map the path to a node. */
  line?: number;
}

export class MemplanError extends Error {
  readonly code: ErrorCode;
  file: string | undefined;
  path: string | undefined;
  readonly expected: string | undefined;
  readonly hint: string | undefined;
  line: number | undefined;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message);
    this.name = 'MemplanError';
    this.code = code;
    this.file = details.file;
    this.path = details.path;
    this.expected = details.expected;
    this.hint = details.hint ?? DEFAULT_HINTS[code];
    this.line = details.line;
  }

  /** `models/aam.yaml:12: blocks[3].heads`, or whichever parts are known. */
  get location(): string {
    const file = this.file ? (this.line ? `${this.file}:${this.line}` : this.file) : '';
    if (file && this.path) return `${file}: ${this.path}`;
    return file || this.path || '';
  }

  /** Adds a file (and a path prefix, for errors raised inside a nested object) without losing the rest. */
  at(file: string | undefined, pathPrefix?: string): this {
    if (file && !this.file) this.file = file;
    if (pathPrefix) this.path = this.path ? joinPath(pathPrefix, this.path) : pathPrefix;
    return this;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      location: this.location || undefined,
      file: this.file,
      line: this.line,
      path: this.path,
      expected: this.expected,
      hint: this.hint,
    };
  }
}

export function joinPath(prefix: string, rest: string): string {
  if (!prefix) return rest;
  if (!rest) return prefix;
  return rest.startsWith('[') ? `${prefix}${rest}` : `${prefix}.${rest}`;
}

/** Wraps anything thrown into a MemplanError so the top level has one shape to print. */
export function asMemplanError(err: unknown): MemplanError {
  if (err instanceof MemplanError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new MemplanError('E_INTERNAL', msg, {
    hint: 'this is a bug in memplan; please report it with the command and files that caused it',
  });
}
