// Times the real CLI, start-up included, on every shipped run config (models/*/*.yaml with a
// `model:` key): `memplan recommend FILE` (its own card and effective batch; not for tfjs configs,
// which recommend refuses) and `memplan estimate FILE`. Each command runs --runs times (default 3)
// and the fastest run is kept, by CPU time (user + system of the whole process, read at exit by
// scripts/cpu-at-exit.mjs): on a shared machine the wall clock includes waiting for a core.
//
//   npm run build && node scripts/time-cli.mjs [--runs N] [--only recommend|estimate] [FILTER...]
//
// FILTER narrows the configs to paths containing it (`aam/`). Needs the build (bin/ runs dist/).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
let runs = 3;
let only;
const filters = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--runs') runs = Number(args[++i]);
  else if (args[i] === '--only') only = args[++i];
  else filters.push(args[i]);
}
if (!Number.isInteger(runs) || runs < 1) {
  console.error('time-cli: --runs needs a whole number >= 1');
  process.exit(2);
}

/** The shipped run configs (as test/recommend/holds.test.ts finds them), and whether each is tfjs. */
function configs() {
  const out = [];
  for (const dir of readdirSync(join(ROOT, 'models')).sort()) {
    for (const f of readdirSync(join(ROOT, 'models', dir)).filter((x) => x.endsWith('.yaml')).sort()) {
      const text = readFileSync(join(ROOT, 'models', dir, f), 'utf8');
      // A run config names its model; a descriptor does not. A line check keeps this script dependency-free.
      if (!/^model:/m.test(text)) continue;
      const file = join('models', dir, f);
      if (filters.length && !filters.some((s) => file.includes(s))) continue;
      out.push({ file, tfjs: /^runtime:\s*tfjs\b/m.test(text) });
    }
  }
  return out;
}

const tmp = mkdtempSync(join(tmpdir(), 'memplan-time-'));
const cpuFile = join(tmp, 'cpu.json');
const preload = new URL('./cpu-at-exit.mjs', import.meta.url).href;

/** The fastest of `runs` runs of `memplan ...argv`: wall and CPU ms, exit code, and stdout of that run. */
function time(argv) {
  let best;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ['--import', preload, join(ROOT, 'bin', 'memplan.js'), ...argv], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, MEMPLAN_CPU_OUT: cpuFile },
      maxBuffer: 64 * 1024 * 1024,
    });
    const wall = performance.now() - t0;
    const cpu = JSON.parse(readFileSync(cpuFile, 'utf8'));
    const run = { wall, cpu: (cpu.user + cpu.system) / 1000, code: r.status, stdout: r.stdout, stderr: r.stderr };
    if (!best || run.cpu < best.cpu) best = run;
  }
  return best;
}

const rows = [];
for (const { file, tfjs } of configs()) {
  const row = { file };
  if (only !== 'estimate' && !tfjs) {
    const r = time(['recommend', file]);
    if (r.code === 2) console.error(`${file}: recommend exited 2: ${r.stderr.trim().split('\n')[0]}`);
    const m = /searched ([\d,]+) configs \(([\d,]+) distinct traces?/.exec(r.stdout.replace(/\s+/g, ' '));
    row.recommend = { wall: r.wall, cpu: r.cpu, code: r.code, searched: m?.[1] ?? '', traces: m?.[2] ?? '' };
  }
  if (only !== 'recommend') {
    const r = time(['estimate', file]);
    if (r.code === 2) console.error(`${file}: estimate exited 2: ${r.stderr.trim().split('\n')[0]}`);
    row.estimate = { wall: r.wall, cpu: r.cpu, code: r.code };
  }
  rows.push(row);
}
rmSync(tmp, { recursive: true, force: true });

const s = (ms) => (ms / 1000).toFixed(2);
const load = (await import('node:os')).loadavg()[0].toFixed(1);
console.log(`memplan CLI on ${rows.length} shipped run configs, node ${process.version}, fastest of ${runs} by CPU, load average ${load}`);
console.log('seconds: CPU is user + system of the whole process (start-up included); wall includes waiting for a core\n');
console.log('| config | recommend CPU | wall | searched | traces | estimate CPU | wall |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  const rec = r.recommend ? [s(r.recommend.cpu), s(r.recommend.wall), r.recommend.searched, r.recommend.traces] : ['-', '-', '-', '-'];
  const est = r.estimate ? [s(r.estimate.cpu), s(r.estimate.wall)] : ['-', '-'];
  console.log(`| ${r.file} | ${[...rec, ...est].join(' | ')} |`);
}
const slowest = (k) => rows.filter((r) => r[k]).sort((a, b) => b[k].cpu - a[k].cpu).slice(0, 5);
for (const k of ['recommend', 'estimate']) {
  const top = slowest(k);
  if (!top.length) continue;
  const all = rows.filter((r) => r[k]).map((r) => r[k].cpu);
  console.log(`\n${k}: slowest ${top.map((r) => `${r.file} ${s(r[k].cpu)} s`).join(', ')}; median ${s(all.sort((a, b) => a - b)[all.length >> 1])} s CPU`);
}
