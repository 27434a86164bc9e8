import Table from 'cli-table3';
import type { Command } from 'commander';
import { size } from '../../core/units.js';
import { loadPresets } from '../../io/load.js';
import type { CommandContext } from '../context.js';
import { parseFormat } from '../options.js';
import { examples, unitsOption } from '../common.js';


export function registerGpus(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('gpus')
    .description('list the GPU and host-RAM presets (presets/, then MEMPLAN_PRESETS and --presets folders), their aliases and where each came from')
    .option('--format <format>', 'table | json | markdown', 'table');
  unitsOption(cmd);
  examples(cmd, ['memplan gpus', 'memplan gpus --units decimal', 'memplan gpus --format json']);
  cmd.action((o: { format: string }) => {
      const format = parseFormat(o.format);
      const presets = [...loadPresets().values()];
      if (format === 'json') {
        ctx.io.stdout.write(JSON.stringify(presets, null, 2) + '\n');
        return;
      }
      // Where each came from: a column only when a user folder (MEMPLAN_PRESETS, --presets) added or replaced one.
      const user = presets.some((p) => (p.origin ?? 'shipped') !== 'shipped');
      const from = (p: (typeof presets)[number]) => `${p.origin ?? 'shipped'}${p.calibration ? ' (calibrated)' : ''}`;
      const rows = presets.map((p) => [p.id, p.name, size(p.capacity_bytes), size(p.context_bytes + (p.workspace_bytes ?? 0)), p.kind, ...(user ? [from(p)] : []), (p.aliases ?? []).join(', ')]);
      const head = ['id', 'name', 'capacity', 'baseline', 'kind', ...(user ? ['from'] : []), 'also'];
      if (format === 'markdown') {
        const out = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
        ctx.io.stdout.write(out.join('\n') + '\n');
        return;
      }
      // One rule under the header, none between rows; within 100 columns.
      const colWidths = user ? [20, 17, 11, 11, 6, 14, 12] : [13, 33, 11, 14, 6, 16];
      // User ids and folder paths can be long: wrap them anywhere rather than cut them.
      const t = new Table({ head, style: { head: [], border: [] }, colWidths, wordWrap: true, ...(user ? { wrapOnWordBoundary: false } : {}), chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } });
      t.push(...rows);
      const lines = t.toString().split('\n');
      lines.splice(2, 0, lines[0]!.replace('┌', '├').replace(/┬/g, '┼').replace('┐', '┤'));
      ctx.io.stdout.write(`${lines.join('\n')}\nbaseline: CUDA context + library workspaces (gpu), or the process baseline (host)\n${user ? 'from: shipped (presets/), or the user folder and file it came from\n' : ''}also: aliases; any id or alias matches ignoring case, spaces, dashes and a GB suffix\n`);
    });
}
