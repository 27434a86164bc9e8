/**
 * One direction of imports (issue 15): no module under src/ reaches itself again through its imports,
 * the pure core imports neither the CLI nor the probe, and only the CLI imports the CLI. Every edge
 * counts, `import type` and `export ... from` and dynamic `import()` included: a type-only circle still
 * means two files that must change together.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** Every .ts file under dir, as repository-relative paths with forward slashes. */
function sources(dir: string): string[] {
  const out: string[] = [];
  for (const f of readdirSync(join(root, dir)).sort()) {
    const p = join(dir, f);
    if (statSync(join(root, p)).isDirectory()) out.push(...sources(p));
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p.split(sep).join('/'));
  }
  return out;
}

/** The file a relative specifier names (`./x.js` -> `x.ts`, `./dir` -> `dir/index.ts`); undefined for packages. */
function resolve(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = join(dirname(from), spec).split(sep).join('/');
  const candidates = [base.replace(/\.js$/, '.ts'), `${base}.ts`, `${base}/index.ts`];
  const hit = candidates.find((c) => existsSync(join(root, c)));
  assert.ok(hit, `${from}: import '${spec}' names no file`);
  return hit;
}

/** The import graph of src/: file -> the src files it imports (static, type-only, re-exports, dynamic). */
let cached: Map<string, string[]> | undefined;
function importGraph(): Map<string, string[]> {
  if (cached) return cached;
  const graph = new Map<string, string[]>();
  for (const file of sources('src')) {
    const info = ts.preProcessFile(readFileSync(join(root, file), 'utf8'), true, true);
    const deps = new Set<string>();
    for (const imp of info.importedFiles) {
      const dep = resolve(file, imp.fileName);
      if (dep) deps.add(dep);
    }
    graph.set(file, [...deps].sort());
  }
  cached = graph;
  return graph;
}

/** Tarjan's strongly connected components with more than one file (or a file importing itself). */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return out;
}

/** One shortest path a -> ... -> a inside a component, to name the circle in the failure message. */
function circleThrough(graph: Map<string, string[]>, scc: string[]): string {
  const members = new Set(scc);
  const start = scc[0]!;
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let u = v; u !== start; u = prev.get(u)!) path.unshift(u);
        path.unshift(start);
        return path.map((p) => p.replace(/^src\//, '')).join(' -> ');
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return scc.join(', ');
}

test('Tarjan finds a planted circle and leaves a chain alone (the check can fail)', () => {
  const g = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a', 'd']],
    ['d', []],
    ['e', ['e']],
  ]);
  assert.deepEqual(cycles(g).map((s) => s.join()).sort(), ['a,b,c', 'e']);
  assert.equal(circleThrough(g, ['a', 'b', 'c']), 'a -> b -> c -> a');
  assert.deepEqual(cycles(new Map([['a', ['b']], ['b', []]])), []);
});

test('the import graph sees type-only imports, re-exports and dynamic imports', () => {
  const g = importGraph();
  assert.ok(g.size > 50, `only ${g.size} files under src/`);
  // claims.ts reads the estimate's type only (`import type`); estimate.ts re-exports the types
  // (`export type * from`); src/index.ts is re-exports only; the recommend command loads the probe with import().
  assert.ok(g.get('src/core/claims.ts')!.includes('src/core/estimate-types.ts'));
  assert.ok(g.get('src/core/estimate.ts')!.includes('src/core/estimate-types.ts'));
  assert.ok(g.get('src/index.ts')!.includes('src/core/estimate.ts'));
  assert.ok(g.get('src/cli/commands/recommend.ts')!.includes('src/probe/probe.ts'));
});

test('no import circle in src/', () => {
  const g = importGraph();
  const found = cycles(g).map((scc) => `${scc.length} files: ${circleThrough(g, scc)}\n    (${scc.join(', ')})`);
  assert.deepEqual(found, [], `import circles:\n  ${found.join('\n  ')}`);
});

test('src/core imports only src/core; only src/cli imports src/cli', () => {
  const bad: string[] = [];
  for (const [file, deps] of importGraph()) {
    for (const dep of deps) {
      // The pure core is the bottom layer: no CLI, probe, file loaders (src/io) or reports above it.
      if (file.startsWith('src/core/') && !dep.startsWith('src/core/')) bad.push(`${file} -> ${dep}`);
      // The CLI is the top layer: the library (src/index.ts, src/files.ts), src/io and the probe stand without it.
      if (!file.startsWith('src/cli/') && dep.startsWith('src/cli/')) bad.push(`${file} -> ${dep}`);
    }
  }
  assert.deepEqual(bad, []);
});

test('the estimate does not reach claims.ts, and calls the simulators only through a Runtime', () => {
  const g = importGraph();
  const reach = (from: string): Set<string> => {
    const seen = new Set<string>();
    const todo = [from];
    while (todo.length) {
      for (const d of g.get(todo.pop()!) ?? []) {
        if (!seen.has(d)) {
          seen.add(d);
          todo.push(d);
        }
      }
    }
    return seen;
  };
  for (const f of ['src/core/estimate.ts', 'src/core/estimate-tfjs.ts']) {
    assert.ok(!reach(f).has('src/core/claims.ts'), `${f} reaches claims.ts: claims read a finished estimate (withClaims)`);
    const text = readFileSync(join(root, f), 'utf8');
    assert.doesNotMatch(text, /\bsimulate(Pytorch|Tfjs)\(/, `${f} calls a simulator directly, not through its Runtime`);
  }
  for (const f of ['src/core/runtime/pytorch.ts', 'src/core/runtime/tfjs.ts']) assert.ok(g.get(f)!.includes('src/core/runtime/types.ts'), f);
  // The check can fail: claims.ts itself reaches estimate-types.ts, the way estimate.ts must not reach claims.ts.
  assert.ok(reach('src/core/claims.ts').has('src/core/estimate-types.ts'));
});
