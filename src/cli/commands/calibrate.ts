/**
 * `memplan calibrate <config> <measured.json>`: fits the context and the allocator correction from a
 * run the user measured (docs/calibrate.md has the snippet that writes the JSON), writes a user preset
 * and says how far the uncalibrated estimate was off, and where the calibrated one lands.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import * as yaml from 'js-yaml';
import { calibrate, validateMeasured } from '../../core/calibrate.js';
import { MemplanError } from '../../core/errors.js';
import { estimate } from '../../core/estimate.js';
import { formatBytes } from '../../core/units.js';
import { withConfig } from '../config.js';
import { display } from '../../io/files.js';
import { getPreset } from '../../io/load.js';
import type { CommandContext } from '../context.js';
import { collect, parseFormat } from '../options.js';

interface CalibrateOptions {
  gpu?: string;
  id?: string;
  out?: string;
  set?: string[];
  format?: string;
}

function readMeasured(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new MemplanError('E_FILE', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file, expected: 'the JSON the snippet in docs/calibrate.md writes' });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new MemplanError('E_SCHEMA', `not JSON: ${(e as Error).message}`, { file, expected: 'the JSON the snippet in docs/calibrate.md writes' });
  }
}

export function registerCalibrate(program: Command, ctx: CommandContext): void {
  program
    .command('calibrate <config> <measured>')
    .description('fit the CUDA context and allocator correction from a run you measured (docs/calibrate.md) and write a card preset')
    .option('--gpu <id>', 'the card preset the run used (default: the config\'s gpu)')
    .option('--id <id>', 'id of the preset to write (default: <gpu>-calibrated)')
    .option('--out <file>', 'where to write the preset (default: memplan-presets/<id>.yaml; use it with --presets memplan-presets)')
    .option('--set <key=value>', 'override a run setting or a dimension, as the measured run had it (repeatable)', collect)
    .option('--format <format>', 'table | json', 'table')
    .action((file: string, measuredFile: string, o: CalibrateOptions) => {
      const format = parseFormat(o.format, ['table', 'json']);
      const raw = readMeasured(measuredFile);
      let measured;
      try {
        measured = validateMeasured(raw);
      } catch (e) {
        if (e instanceof MemplanError) e.at(display(measuredFile));
        throw e;
      }
      withConfig(file, o.set ?? [], (cfg) => {
        const id = o.gpu ?? cfg.run.gpu?.[0] ?? cfg.run.budget?.gpu?.[0];
        if (!id) throw new MemplanError('E_OPTION', 'calibrate needs the card the run used', { path: '--gpu', hint: 'pass --gpu ID (memplan gpus lists them)' });
        const base = getPreset(id);
        if (base.kind !== 'gpu') throw new MemplanError('E_OPTION', `${id} is a host-RAM preset; calibration is for GPUs`, { path: '--gpu' });
        const before = estimate(cfg.model, cfg.run, { preset: base });
        const res = calibrate(before, base, measured, { id: o.id, from: `${display(measuredFile)} (${display(cfg.file)})` });
        const after = estimate(cfg.model, cfg.run, { preset: res.preset });
        const out = o.out ?? join('memplan-presets', `${res.preset.id}.yaml`);
        const { origin: _origin, ...toWrite } = res.preset;
        const body = `# yaml-language-server: $schema=https://memplan.dev/schema/preset.schema.json\n# Written by memplan calibrate. Use it with --presets ${display(dirname(out)) || '.'} (or MEMPLAN_PRESETS).\n${yaml.dump(toWrite, { lineWidth: 120, noRefs: true })}`;
        try {
          mkdirSync(dirname(out), { recursive: true });
          writeFileSync(out, body);
        } catch (e) {
          throw new MemplanError('E_FILE', `cannot write ${out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { path: '--out' });
        }
        const measuredDevice = res.rows[res.rows.length - 1]!.measured;
        if (format === 'json') {
          ctx.io.stdout.write(JSON.stringify({ preset: toWrite, written: out, uncalibrated: res.rows, calibrated_device_total: after.device_total, measured_device_total: measuredDevice, notes: res.notes }, null, 2) + '\n');
          return;
        }
        const lines = [
          `memplan calibrate: ${before.model} (${display(cfg.file)}) measured on ${measured.device_name ?? base.name}`,
          '',
          'uncalibrated estimate vs the measurement:',
          ...res.rows.map((r) => `  ${r.level.padEnd(40)} measured ${formatBytes(r.measured).padEnd(26)} estimated ${formatBytes(r.estimated).padEnd(26)} ${r.errorPct >= 0 ? '+' : ''}${r.errorPct.toFixed(1)}%`),
          '',
          `fitted: context ${formatBytes(res.context)}; reserved/allocated correction x${res.reservedRatio.toFixed(4)} (allocated ratio ${res.allocatedRatio.toFixed(4)}, reported, not fitted)`,
          `calibrated estimate of the same config: ${formatBytes(after.device_total)} (measured ${formatBytes(measuredDevice)}, ${((100 * (after.device_total - measuredDevice)) / measuredDevice).toFixed(1)}%); band ${formatBytes(after.band!.low)} .. ${formatBytes(after.band!.high)}`,
          `wrote ${out} (preset ${res.preset.id}); use it with --presets ${dirname(out)} --gpu ${res.preset.id}`,
          ...res.notes.map((n) => `note: ${n}`),
        ];
        ctx.io.stdout.write(lines.join('\n') + '\n');
      });
    });
}
