/** `memplan init [dir]`: writes a commented starter memplan.yaml (run config) and model.yaml (descriptor). */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { MemplanError } from '../../core/errors.js';
import { display } from '../../io/files.js';
import { EXIT, type CommandContext } from '../context.js';
import { examplesText } from '../common.js';

export const STARTER_RUN = `# memplan run config: the training settings memplan estimates. Every key: docs/descriptor.md.
# memplan reads this file when no config is named: \`memplan estimate\`, \`memplan recommend --effective-batch 64\`.
model: model.yaml          # the model descriptor, relative to this file
batch_size: 8              # micro-batch per GPU (the \`batch\` dimension in model.yaml)
grad_accum: 1              # micro-batches per optimizer step
precision: bf16-mixed      # fp32 | bf16-mixed | fp16-mixed | bf16 | fp16
optimizer: adamw           # sgd | sgd-momentum | adam | adamw | adafactor | adamw-8bit
attention: sdpa            # sdpa (flash / memory-efficient kernels) | eager
checkpointing: false       # true, or a list of block names to recompute in backward
gpu: rtx-4090              # the card (\`memplan gpus\` lists them; 4090, a100, h100 work too)
budget:                    # what \`memplan check\` holds this config to in CI (docs/ci.md)
  gpu: rtx-4090
  headroom: 10%            # leave 10% of the card free
`;

export const STARTER_MODEL = `# memplan model descriptor: dimensions and blocks, in order. Every key and block type: docs/descriptor.md.
name: my-model
dims:                      # numbers or expressions over other dims; \`batch\` is the run's batch_size
  seq: 512
  d_model: 512
  heads: 8
  layers: 6
  vocab: 32000
blocks:
  - name: embed
    type: embedding
    input: [batch, seq]    # token ids
    vocab: vocab
    dim: d_model
  - name: encoder
    type: transformer_encoder
    repeat: layers
    heads: heads
    ffn_dim: 4 * d_model
    activation: gelu
    dropout: 0.1
  - name: head
    type: linear
    out: vocab
  - name: loss
    type: loss
    kind: cross_entropy
`;

export function registerInit(program: Command, ctx: CommandContext): void {
  program
    .command('init [dir]')
    .description('write a commented starter memplan.yaml (run config) and model.yaml (model descriptor)')
    .option('--force', 'overwrite files that exist')
    .addHelpText('after', examplesText(['memplan init', 'memplan init my-model/ && cd my-model && memplan estimate']))
    .action((dir: string | undefined, o: { force?: boolean }) => {
      const target = dir ?? '.';
      mkdirSync(target, { recursive: true });
      const files: [string, string][] = [['memplan.yaml', STARTER_RUN], ['model.yaml', STARTER_MODEL]];
      const taken = files.map(([f]) => join(target, f)).filter((f) => existsSync(f));
      if (taken.length && !o.force) {
        throw new MemplanError('E_FILE', `${taken.map(display).join(' and ')} already exist${taken.length === 1 ? 's' : ''}`, {
          path: 'init',
          hint: 'pass --force to overwrite, or init another directory: memplan init my-model/',
        });
      }
      for (const [f, text] of files) writeFileSync(join(target, f), text);
      ctx.io.stdout.write(`wrote ${files.map(([f]) => display(join(target, f))).join(' and ')}\nnext: ${target === '.' ? '' : `cd ${target} && `}memplan estimate   (then: memplan recommend --effective-batch 64)\n`);
      ctx.exit = EXIT.OK;
    });
}
