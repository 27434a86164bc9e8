/**
 * The long run of the hostile-input fuzzer (issue 11; the fixed-seed slice is test/fuzz/fuzz.test.ts):
 *
 *   npm run fuzz -- --n 100000 [--seed 1] [--cli-share 0.05] [--out fuzz-out]
 *
 * Cases (test/fuzz/cases.ts) run in a worker thread through the in-process CLI against the contract
 * (test/fuzz/harness.ts); a share of them also through the real bin/memplan.js. The main thread is a
 * watchdog: a case that runs past its time limit is a hang, the worker is stopped and a fresh one
 * goes on with the next case. Every violation is written to --out as the case (files and command
 * line) with what was wrong; the summary is printed and written to --out/summary.json. Exit 1 when
 * anything was found.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import fc from 'fast-check';

interface Job {
  seed: number;
  from: number;
  to: number;
  cliShare: number;
}

type Msg =
  | { type: 'start'; index: number; argv: string[]; case: unknown }
  | { type: 'done'; index: number; argv: string[]; code: number; ms: number; cli?: { code: number; ms: number }; violations: string[]; case?: unknown; heapMiB: number; rssMiB: number }
  | { type: 'ready'; root: string }
  | { type: 'finished' };

async function worker(job: Job): Promise<void> {
  const { buildCase, caseParts } = await import('../test/fuzz/cases.js');
  const { baselineReport, runCase, sandbox } = await import('../test/fuzz/harness.js');
  const box = sandbox();
  const report = await baselineReport();
  const post = (m: Msg) => parentPort!.postMessage(m);
  post({ type: 'ready', root: box.root });
  for (let i = job.from; i < job.to; i++) {
    // One seed per case: a case is reproduced from (seed, index) alone, whatever ran before it.
    const parts = fc.sample(caseParts, { seed: job.seed * 1_000_003 + i, numRuns: 1 })[0]!;
    const c = buildCase(parts, report);
    post({ type: 'start', index: i, argv: c.argv, case: c });
    const viaCli = job.cliShare > 0 && (i * 0.6180339887) % 1 < job.cliShare;
    const rssBefore = process.resourceUsage().maxRSS / 1024;
    const v = await runCase(c, box, `w${process.pid}-${i % 4}`, viaCli);
    const heapMiB = process.memoryUsage().heapUsed / 2 ** 20;
    // The process's peak only grows: a case is blamed when it is the one that took the peak past 1 GiB.
    const rssMiB = process.resourceUsage().maxRSS / 1024;
    if (rssMiB > 1024 && rssBefore <= 1024) v.violations.push(`the fuzzing process's peak RSS passed 1 GiB at this case (${rssMiB.toFixed(0)} MiB)`);
    post({
      type: 'done', index: i, argv: c.argv, code: v.outcome.code, ms: v.outcome.ms, violations: v.violations, heapMiB, rssMiB,
      ...(v.cli ? { cli: { code: v.cli.code, ms: v.cli.ms } } : {}),
      ...(v.violations.length ? { case: c } : {}),
    });
  }
  post({ type: 'finished' });
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

async function mainThread(): Promise<number> {
  const n = Number(arg('n', '10000'));
  const seed = Number(arg('seed', '1'));
  const cliShare = Number(arg('cli-share', '0.05'));
  const out = arg('out', 'fuzz-out');
  mkdirSync(out, { recursive: true });
  const t0 = Date.now();
  const stats = { cases: 0, viaCli: 0, exit: { 0: 0, 1: 0, 2: 0 } as Record<number, number>, hangs: 0, violations: 0, slowest: [] as { ms: number; argv: string[] }[], maxRssMiB: 0, byCommand: {} as Record<string, number> };
  const found: { index: number; argv: string[]; violations: string[] }[] = [];
  const roots: string[] = [];
  let next = 0;
  while (next < n) {
    const job: Job = { seed, from: next, to: n, cliShare };
    next = await new Promise<number>((resolveNext) => {
      // The worker's heap is capped at 1 GiB, the contract's memory bound: a case past it kills the worker, is recorded, and the run goes on.
      const w = new Worker(new URL(import.meta.url), { workerData: job, resourceLimits: { maxOldGenerationSizeMb: 1024 } });
      let current: { index: number; argv: string[]; case: unknown; since: number; rss: number } | undefined;
      let last = job.from;
      // Once the watchdog has stopped the worker, nothing it still sends counts.
      let stopped = false;
      const dog = setInterval(() => {
        if (!current) return;
        // A recommend search may take minutes (its op budget); anything else gets 30 s before it is called a hang.
        const hang = Date.now() - current.since > (current.argv[0] === 'recommend' ? 180_000 : 30_000);
        // Memory outside the worker's heap cap (buffers of a file read without end) is watched here, process-wide.
        const rss = process.memoryUsage.rss() / 2 ** 20;
        if (hang || rss - current.rss > 2048) {
          clearInterval(dog);
          const why = hang ? 'hang: stopped after the watchdog limit' : `memory: the process grew by more than 2 GiB in this case (${rss.toFixed(0)} MiB)`;
          if (hang) stats.hangs++;
          else stats.violations++;
          stats.cases++;
          found.push({ index: current.index, argv: current.argv, violations: [why] });
          writeFileSync(join(out, `case-${current.index}.json`), JSON.stringify({ violations: [why], case: current.case }, null, 2));
          stopped = true;
          const resume = current.index + 1;
          // The next worker starts once this one's memory is released.
          void w.terminate().then(() => resolveNext(resume));
        }
      }, 100);
      w.on('message', (m: Msg) => {
        if (stopped) return;
        if (m.type === 'ready') roots.push(m.root);
        else if (m.type === 'start') current = { index: m.index, argv: m.argv, case: m.case, since: Date.now(), rss: process.memoryUsage.rss() / 2 ** 20 };
        else if (m.type === 'done') {
          current = undefined;
          last = m.index + 1;
          stats.cases++;
          stats.exit[m.code] = (stats.exit[m.code] ?? 0) + 1;
          stats.byCommand[m.argv[0]!] = (stats.byCommand[m.argv[0]!] ?? 0) + 1;
          if (m.cli) stats.viaCli++;
          stats.maxRssMiB = Math.max(stats.maxRssMiB, m.rssMiB);
          const ms = Math.max(m.ms, m.cli?.ms ?? 0);
          stats.slowest.push({ ms: Math.round(ms), argv: m.argv });
          stats.slowest.sort((a, b) => b.ms - a.ms).splice(5);
          if (m.violations.length) {
            stats.violations++;
            found.push({ index: m.index, argv: m.argv, violations: m.violations });
            writeFileSync(join(out, `case-${m.index}.json`), JSON.stringify({ violations: m.violations, case: m.case }, null, 2));
          }
          if (stats.cases % 1000 === 0) console.error(`fuzz: ${stats.cases}/${n} cases, ${stats.violations + stats.hangs} found, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
        } else {
          clearInterval(dog);
          resolveNext(n);
        }
      });
      w.on('error', (e) => {
        clearInterval(dog);
        if (stopped) return;
        stopped = true;
        const index = current?.index ?? last;
        stats.cases++;
        stats.violations++;
        found.push({ index, argv: current?.argv ?? [], violations: [`worker crashed: ${e.message}`] });
        if (current) writeFileSync(join(out, `case-${index}.json`), JSON.stringify({ violations: [`worker crashed: ${e.message}`], case: current.case }, null, 2));
        resolveNext(index + 1);
      });
    });
  }
  for (const r of roots) rmSync(r, { recursive: true, force: true });
  const summary = { seed, n, seconds: Math.round((Date.now() - t0) / 1000), ...stats, found: found.slice(0, 100) };
  writeFileSync(join(out, 'summary.json'), JSON.stringify(summary, null, 2));
  console.log(JSON.stringify({ ...summary, found: found.length }, null, 2));
  for (const f of found.slice(0, 20)) console.log(`case ${f.index}: ${f.argv.join(' ')}\n  ${f.violations.join('\n  ')}`);
  return found.length ? 1 : 0;
}

if (isMainThread) process.exitCode = await mainThread();
else await worker(workerData as Job);
