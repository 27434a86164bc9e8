/** `memplan import <config.json | model dir>`: a model descriptor and a starter run config from a Hugging Face config.json. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import * as yaml from 'js-yaml';
import { MemplanError } from '../../core/errors.js';
import { examples } from '../common.js';
import { EXIT, type CommandContext } from '../context.js';
import { hfConfigPath, readHfConfig } from '../../io/hf.js';
import { display } from '../../io/files.js';

/** The starter run config, with the LLM settings it can take written out as comments. */
export function starterRun(run: Record<string, unknown>, family: string): string {
  const decoder = ['llama', 'mistral', 'qwen2', 'gpt2'].includes(family);
  const targets = family === 'gpt2' ? '[c_attn]' : family === 't5' ? '[q, v]' : decoder ? '[q_proj, k_proj, v_proj, o_proj]' : '[query, value]';
  return [
    '# yaml-language-server: $schema=https://memplan.dev/schema/run.schema.json',
    '# Written by memplan import. Full fine-tuning; uncomment a section for the others (docs/llm.md).',
    yaml.dump({ model: 'model.yaml', ...run }, { lineWidth: 100 }).trimEnd(),
    '# LoRA over a frozen base (PEFT); add quantization for QLoRA:',
    `# lora: { r: 16, alpha: 32, dropout: 0.05, targets: ${targets} }`,
    '# quantization: { weights: nf4, double_quant: true, compute: bf16 }   # or int8',
    ...(decoder
      ? ['# Inference with a KV cache (prefill: seq = the prompt; decode: --set seq=1):', '# mode: inference', '# precision: bf16', '# kv_cache: 4096                  # tokens in the cache after this pass']
      : ['# Inference:', '# mode: inference']),
    '',
  ].join('\n');
}

export function registerImport(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('import <config>')
    .description('write a model descriptor (model.yaml) and a starter run config (memplan.yaml) from a Hugging Face config.json or model directory, offline')
    .option('-o, --output <dir>', 'directory to write model.yaml and memplan.yaml into', '.')
    .option('--seq <n>', 'the sequence length of the `seq` dimension (default: the model\'s positions, at most 2048)')
    .option('--tgt-seq <n>', 'encoder-decoders (T5): the target length of the `tgt_seq` dimension (default: seq)')
    .option('--name <name>', 'the model\'s name (default: _name_or_path, else model_type)')
    .option('--stdout', 'print the descriptor instead of writing files')
    .option('--force', 'overwrite files that exist');
  examples(cmd, [
    'memplan import path/to/Llama-3.2-1B/ -o llama && memplan estimate llama/memplan.yaml --gpu 4090',
    'memplan import config.json --seq 4096 --stdout',
    'memplan estimate config.json --gpu a100 --set batch_size=4   # imported on the fly',
  ]);
  cmd.action((file: string, o: { output: string; seq?: string; tgtSeq?: string; name?: string; stdout?: boolean; force?: boolean }) => {
    const path = hfConfigPath(file);
    if (!path) {
      throw new MemplanError('E_FILE', `${file}: no config.json there`, { path: 'config', expected: 'a Hugging Face config.json, or a model directory holding one', hint: 'point at the model\'s config.json' });
    }
    let seq: number | undefined;
    if (o.seq !== undefined) {
      seq = Number(o.seq);
      if (!Number.isInteger(seq) || seq < 1 || seq > 1e8) throw new MemplanError('E_OPTION', `--seq ${o.seq}`, { path: '--seq', expected: 'a positive integer' });
    }
    let tgtSeq: number | undefined;
    if (o.tgtSeq !== undefined) {
      tgtSeq = Number(o.tgtSeq);
      if (!Number.isInteger(tgtSeq) || tgtSeq < 1 || tgtSeq > 1e8) throw new MemplanError('E_OPTION', `--tgt-seq ${o.tgtSeq}`, { path: '--tgt-seq', expected: 'a positive integer' });
    }
    const imp = readHfConfig(path, { ...(seq ? { seq } : {}), ...(tgtSeq ? { tgtSeq } : {}), ...(o.name ? { name: o.name } : {}) });
    const header = `# yaml-language-server: $schema=https://memplan.dev/schema/model.schema.json\n# Imported by memplan import from ${display(path)} (${imp.family}).\n`;
    const modelText = header + (imp.notes.length ? imp.notes.map((n) => `# note: ${n}\n`).join('') : '') + yaml.dump(imp.model, { lineWidth: 120, noRefs: true, flowLevel: 3 });
    if (o.stdout) {
      ctx.io.stdout.write(modelText);
      ctx.exit = EXIT.OK;
      return;
    }
    mkdirSync(o.output, { recursive: true });
    const files: [string, string][] = [['model.yaml', modelText], ['memplan.yaml', starterRun(imp.run, imp.family)]];
    const taken = files.map(([f]) => join(o.output, f)).filter((f) => existsSync(f));
    if (taken.length && !o.force) {
      throw new MemplanError('E_FILE', `${taken.map(display).join(' and ')} already exist${taken.length === 1 ? 's' : ''}`, { path: 'import', hint: 'pass --force to overwrite, or -o another directory' });
    }
    for (const [f, text] of files) writeFileSync(join(o.output, f), text);
    ctx.io.stdout.write(`wrote ${files.map(([f]) => display(join(o.output, f))).join(' and ')} (${imp.model.description})\nnext: memplan estimate ${display(join(o.output, 'memplan.yaml'))} --gpu 4090\n`);
    ctx.exit = EXIT.OK;
  });
}
