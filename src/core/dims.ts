/**
 * Named symbolic dimensions: `token_limit: 1024`, `asv_chunk_size: token_limit`. Resolved in
 * dependency order; cycles, undeclared names and bad values are descriptor errors.
 */
import { didYouMean } from './names.js';
import { MemplanError } from './errors.js';
import { compileExpr, evalValue, undeclared, type NumOrExpr } from './expr.js';

export type DimSpec = NumOrExpr | { value: NumOrExpr; assumed?: boolean | string; doc?: string };

export function dimValue(spec: DimSpec): NumOrExpr {
  return typeof spec === 'object' ? spec.value : spec;
}

/**
 * Resolves every dimension. `overrides` (run config and --set) replace the declared value before
 * resolution, so a derived default like `asv_chunk_size: token_limit` follows an overridden token_limit.
 * `reserved` names are provided by the run (e.g. `batch`).
 */
export function resolveDims(
  declared: Record<string, DimSpec>,
  overrides: Record<string, NumOrExpr>,
  reserved: Record<string, number>,
  pathPrefix = 'dims',
): Map<string, number> {
  const specs = new Map<string, { value: NumOrExpr; path: string }>();
  // Reserved names (`batch`) come from the run config; a second definition would make them disagree.
  for (const [k, v] of Object.entries(declared)) {
    if (Object.hasOwn(reserved, k)) {
      throw new MemplanError('E_CONFIG', `dimension "${k}" is reserved: it is the run's ${k === 'batch' ? 'batch_size' : k}`, {
        path: `${pathPrefix}.${k}`,
        expected: 'another name for a model dimension',
        hint: k === 'batch' ? 'use `batch` in shapes without declaring it; set it with batch_size in the run config' : undefined,
      });
    }
    specs.set(k, { value: dimValue(v), path: `${pathPrefix}.${k}` });
  }
  for (const [k, v] of Object.entries(overrides)) {
    if (Object.hasOwn(reserved, k)) {
      throw new MemplanError('E_CONFIG', `"${k}" is set by the run config, not as a dimension override`, {
        path: `dims.${k}`,
        expected: k === 'batch' ? 'batch_size: N (or --set batch_size=N)' : `the run key for ${k}`,
      });
    }
    if (!specs.has(k)) {
      throw new MemplanError('E_CONFIG', `override of "${k}", which the model does not declare`, {
        path: `dims.${k}`,
        expected: `one of: ${[...specs.keys()].join(', ')}`,
        hint: `${didYouMean(k, [...specs.keys()]) ? `did you mean "${didYouMean(k, [...specs.keys()])}"? ` : ''}dimension overrides must name a dimension declared in the model descriptor`,
      });
    }
    specs.set(k, { value: v, path: `dims.${k} (override)` });
  }
  const out = new Map<string, number>(Object.entries(reserved));
  const state = new Map<string, 'visiting' | 'done'>();
  const known = [...new Set([...specs.keys(), ...Object.keys(reserved)])];

  // Depth-first, with an explicit stack: a chain of thousands of dimensions must not exhaust the call stack.
  const stack: { name: string; deps: string[]; next: number }[] = [];
  const enter = (name: string): void => {
    const st = state.get(name);
    if (st === 'done') return;
    if (st === 'visiting') {
      const names = stack.map((f) => f.name);
      const cycle = [...names.slice(names.indexOf(name)), name];
      const shown = cycle.length > 12 ? [...cycle.slice(0, 5), `... (${cycle.length - 10} more)`, ...cycle.slice(-5)] : cycle;
      throw new MemplanError('E_DIM_CYCLE', `dimensions form a cycle: ${shown.join(' -> ')}`, {
        path: specs.get(name)?.path,
        expected: 'each dimension defined from numbers or from dimensions defined without it',
        hint: `give one of ${shown.slice(0, -1).join(', ')} a number`,
      });
    }
    const spec = specs.get(name)!;
    state.set(name, 'visiting');
    let deps: string[] = [];
    if (typeof spec.value === 'string') {
      const c = compileExpr(spec.value, spec.path);
      const missing = c.symbols.filter((s) => !specs.has(s) && !Object.hasOwn(reserved, s));
      if (missing.length) throw undeclared(missing, spec.value, spec.path, known);
      deps = c.symbols.filter((s) => specs.has(s));
    }
    stack.push({ name, deps, next: 0 });
  };
  const visit = (root: string): void => {
    enter(root);
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      if (top.next < top.deps.length) {
        enter(top.deps[top.next++]!);
        continue;
      }
      const spec = specs.get(top.name)!;
      out.set(top.name, evalValue(spec.value, out, spec.path));
      state.set(top.name, 'done');
      stack.pop();
    }
  };
  for (const name of specs.keys()) visit(name);
  return out;
}
