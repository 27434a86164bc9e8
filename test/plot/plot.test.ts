/**
 * `memplan plot`: the pictures are checked as pictures. The SVG is rendered by headless Chromium
 * (Debian's `chromium` package; .ci/run installs it) and the PNG's pixels are read with pngjs: the
 * capacity line's colour must be on the row worked out below, across the plot. Without chromium on a
 * developer machine the rendering test is skipped and says so; under CI it fails instead.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PNG } from 'pngjs';
import { estimate } from '../../src/index.js';
import { stepTimeline } from '../../src/cli/commands/plot.js';
import { getPreset, loadConfig } from '../../src/io/load.js';
import { cli, ROOT } from '../cli/run.js';

function findChromium(): string | undefined {
  for (const bin of ['chromium', 'chromium-browser', 'google-chrome']) {
    if (spawnSync('which', [bin]).status === 0) return bin;
  }
  return undefined;
}
const CHROMIUM = findChromium();
const NO_CHROMIUM = 'chromium is not installed: `apt-get install -y chromium` (Debian) to run the rendering test';
if (!CHROMIUM) process.stderr.write(`plot.test: SKIPPING the rendering test: ${NO_CHROMIUM}\n`);

function render(svgFile: string, width: number, height: number): PNG {
  const png = svgFile.replace(/\.svg$/, '.png');
  execFileSync(CHROMIUM!, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--hide-scrollbars', `--screenshot=${png}`, `--window-size=${width},${height}`, `file://${svgFile}`], { stdio: 'ignore', timeout: 60_000 });
  return PNG.sync.read(readFileSync(png));
}

/** Pixels of row y between x0 and x1 within 8 of the colour (antialiasing aside). */
function countColour(img: PNG, y: number, x0: number, x1: number, [r, g, b]: [number, number, number]): number {
  let n = 0;
  for (let x = x0; x < x1; x++) {
    const i = (img.width * y + x) * 4;
    if (Math.abs(img.data[i]! - r) <= 8 && Math.abs(img.data[i + 1]! - g) <= 8 && Math.abs(img.data[i + 2]! - b) <= 8) n++;
  }
  return n;
}

describe('memplan plot', () => {
  const dir = mkdtempSync(join(tmpdir(), 'memplan-plot-'));
  const svg = join(dir, 'mini.svg');

  it('writes one SVG with the three pictures; the capacity line sits where the axis puts it', async () => {
    const r = await cli('plot', 'models/mini-transformer/config.yaml', '--gpu', '4090', '-o', svg);
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(svg, 'utf8');
    assert.match(text, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="860"/);
    for (const t of ['device total vs micro-batch', 'breakdown at micro-batch 8', 'allocated bytes over one step, micro-batch 8 (predicted)', 'OOM at ']) assert.ok(text.includes(t), t);
    // The y axis runs from 0 to 1.1 x the capacity over a 240 px plot whose top is 40 px down:
    // the capacity is at 40 + 240 x (1 - 1 / 1.1) = 61.8, drawn on row 62.
    assert.match(text, /<line class="capacity" x1="86" x2="690" y1="62" y2="62" stroke="#e4002b"/);
  });

  it('renders in headless Chromium with the capacity line on row 62', { skip: !CHROMIUM && !process.env.CI ? NO_CHROMIUM : false }, () => {
    assert.ok(CHROMIUM, `CI must render the pictures: ${NO_CHROMIUM}`);
    const height = Number(/height="(\d+)"/.exec(readFileSync(svg, 'utf8'))![1]);
    const img = render(svg, 860, height);
    assert.equal(img.width, 860);
    // The line is 3 px wide around y = 62 (rows 61-63), from x = 86 to 690: 604 px. #e4002b = (228, 0, 43).
    const red: [number, number, number] = [228, 0, 43];
    const onLine = Math.max(...[61, 62, 63].map((y) => countColour(img, y, 86, 690, red)));
    assert.ok(onLine >= 0.9 * 604, `capacity colour on ${onLine} of 604 px of row 62`);
    // Thirty rows below, only where the memory curve's OOM marker might be: far fewer.
    assert.ok(countColour(img, 92, 86, 690, red) < 30, 'the capacity colour is a line, not a fill');
    // The memory curve (#1f77b4) is drawn in the first panel, and the timeline's phase bands below it.
    let curve = 0;
    for (let y = 40; y < 280; y++) curve += countColour(img, y, 86, 690, [31, 119, 180]);
    assert.ok(curve > 200, `memory curve pixels: ${curve}`);
    const bands = (c: [number, number, number]) => {
      let k = 0;
      for (let y = 0; y < img.height; y++) k += countColour(img, y, 86, 690, c);
      return k;
    };
    assert.ok(bands([0xdb, 0xe9, 0xf6]) > 1000 && bands([0xfd, 0xe3, 0xcf]) > 1000, 'forward and backward bands');
  });

  it('--format html is one self-contained file', async () => {
    const html = join(dir, 'report.html');
    const r = await cli('plot', 'models/peptide/current-48x2.yaml', '--gpu', '4090,a100', '--format', 'html', '-o', html);
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(html, 'utf8');
    assert.match(text, /^<!doctype html>/);
    assert.equal(text.match(/<svg /g)!.length, 1);
    assert.ok(!/(src|href)="?(https?:|\/\/)/.test(text), 'no external resources');
    assert.equal(text.match(/class="capacity"/g)!.length, 2, 'a capacity line per card');
  });

  it('the step timeline replays the simulation to the micro-batch-1 peak the estimate reports', () => {
    const cfg = loadConfig(join(ROOT, 'models', 'mini-transformer', 'config.yaml'));
    const preset = getPreset('rtx-4090');
    const t = stepTimeline(cfg.model, cfg.run, preset);
    assert.equal(t.source, 'events');
    const est = estimate(cfg.model, cfg.run, { preset });
    const mb1 = est.phases.find((p) => p.microbatch === 'first' && p.step === 'steady')!;
    const fwdBwd = t.points.filter((p) => p.phase !== 'optimizer step');
    assert.equal(Math.max(...fwdBwd.map((p) => p.bytes)), mb1.allocated);
    const opt = est.phases.find((p) => p.phase === 'optimizer step' && p.step === 'steady')!;
    assert.ok(t.points.some((p) => p.phase === 'optimizer step' && p.bytes === opt.allocated));
    assert.deepEqual([...new Set(t.points.map((p) => p.phase))], ['forward', 'backward', 'optimizer step']);
  });

  it('refuses a bad --format and --max-batch', async () => {
    assert.equal((await cli('plot', 'models/mini-transformer/config.yaml', '--format', 'png')).code, 2);
    assert.equal((await cli('plot', 'models/mini-transformer/config.yaml', '--max-batch', '0')).code, 2);
  });
});
