import Table from 'cli-table3';
import type { Command } from 'commander';
import { formatBytes } from '../../core/units.js';
import { loadPresets } from '../load.js';
import type { CommandContext } from '../context.js';
import { parseFormat } from '../options.js';

export function registerGpus(program: Command, ctx: CommandContext): void {
  program
    .command('gpus')
    .description('list the GPU and host-RAM presets (data files under presets/)')
    .option('--format <format>', 'table | json | markdown', 'table')
    .action((o: { format: string }) => {
      const format = parseFormat(o.format);
      const presets = [...loadPresets().values()];
      if (format === 'json') {
        ctx.io.stdout.write(JSON.stringify(presets, null, 2) + '\n');
        return;
      }
      const rows = presets.map((p) => [p.id, p.name, formatBytes(p.capacity_bytes), formatBytes(p.context_bytes + (p.workspace_bytes ?? 0)), p.kind]);
      if (format === 'markdown') {
        const out = ['| id | name | capacity | context + workspace | kind |', '|---|---|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)];
        ctx.io.stdout.write(out.join('\n') + '\n');
        return;
      }
      const t = new Table({ head: ['id', 'name', 'capacity', 'context + workspace', 'kind'], style: { head: [], border: [] } });
      t.push(...rows);
      ctx.io.stdout.write(t.toString() + '\n');
    });
}
