// Preloaded by scripts/time-cli.mjs (node --import): writes this process's CPU time (process.cpuUsage(),
// microseconds) to $MEMPLAN_CPU_OUT when it exits, so the timing covers start-up and module loading.
import { writeFileSync } from 'node:fs';

process.on('exit', () => {
  if (process.env.MEMPLAN_CPU_OUT) writeFileSync(process.env.MEMPLAN_CPU_OUT, JSON.stringify(process.cpuUsage()));
});
