// Minimal lint: no console I/O or file access inside the pure core (src/core), no stray debugger.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const problems = [];
function walk(dir) {
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.ts')) check(p, readFileSync(p, 'utf8'));
  }
}
function check(file, text) {
  const core = file.startsWith(join('src', 'core'));
  text.split('\n').forEach((line, i) => {
    if (/\bdebugger\b/.test(line)) problems.push(`${file}:${i + 1}: debugger statement`);
    if (core && /\bconsole\.|process\.(stdout|stderr|exit)|from 'node:fs'|from 'fs'/.test(line)) {
      problems.push(`${file}:${i + 1}: I/O in the pure core (src/core must not print, exit or read files)`);
    }
  });
}
walk('src');
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log('lint: ok');
