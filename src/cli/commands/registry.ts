/**
 * Commands beyond estimate/explain/gpus register here (recommend, check, probe), each in its own
 * file, so adding one touches this list only.
 */
import type { Command } from 'commander';
import type { CommandContext } from '../main.js';
import { registerCheck } from './check.js';
import { registerProbe } from './probe.js';
import { registerRecommend } from './recommend.js';

export function registerExtra(program: Command, ctx: CommandContext): void {
  registerCheck(program, ctx);
  registerProbe(program, ctx);
  registerRecommend(program, ctx);
}
