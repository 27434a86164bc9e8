/**
 * Hugging Face `config.json` -> memplan model descriptor (and a starter run config), offline and pure:
 * the conversion reads the config object only (the CLI reads the file). One function per family,
 * chosen by `model_type`; each writes the model as transformers builds it for `architectures[0]`
 * (the head included), so the parameter count is the real model's (test/core/hf-import.test.ts holds
 * it to counts measured with transformers). The blocks are the LLM layers of blocks/decoder-layer.ts.
 */
import { MemplanError } from './errors.js';
import type { BlockSpec, ModelDescriptor } from './model.js';

export interface HfImport {
  model: ModelDescriptor;
  /** A starter run config (without `model:`, which the caller fills in). */
  run: Record<string, unknown>;
  /** The family the config was read as, and what the import assumed. */
  family: string;
  notes: string[];
}

export interface HfImportOptions {
  /** Sequence length of the descriptor's `seq` dimension (default: min(max positions, 2048)). */
  seq?: number;
  /** Name of the model (default: the config's `_name_or_path`, else model_type). */
  name?: string;
  /** Encoder-decoders (T5): the target (decoder) length, the `tgt_seq` dimension (default: `seq`). */
  tgtSeq?: number;
}

type Cfg = Record<string, unknown>;

/** The model types `memplan import` reads. */
export const HF_FAMILIES = ['llama', 'mistral', 'qwen2', 'gpt2', 'bert', 'roberta', 'xlm-roberta', 'esm', 'vit', 't5'] as const;

function fail(what: string, path: string, expected: string, hint?: string): MemplanError {
  return new MemplanError('E_CONFIG', what, { path, expected, hint });
}

/** A positive integer key, or the fallback; anything else is a located error. */
function int(c: Cfg, key: string, fallback?: number): number {
  const v = c[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw fail(`config.json has no "${key}"`, key, `a positive integer ${key}`);
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 1e9) throw fail(`"${key}" is ${JSON.stringify(v)}`, key, 'a positive integer below 1e9');
  return v;
}

function num(c: Cfg, key: string, fallback: number): number {
  const v = c[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw fail(`"${key}" is ${JSON.stringify(v)}`, key, 'a non-negative number');
  return v;
}

function bool(c: Cfg, key: string, fallback: boolean): boolean {
  const v = c[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw fail(`"${key}" is ${JSON.stringify(v)}`, key, 'true or false');
  return v;
}

function str(c: Cfg, key: string, fallback: string): string {
  const v = c[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string') throw fail(`"${key}" is ${JSON.stringify(v)}`, key, 'a string');
  return v;
}

const HF_ACTS = new Set(['silu', 'swish', 'gelu', 'gelu_new', 'gelu_pytorch_tanh', 'relu', 'tanh', 'gelu_fast']);
function act(c: Cfg, key: string, fallback: string): string {
  const a = str(c, key, fallback);
  if (!HF_ACTS.has(a)) throw fail(`activation "${a}" is not one memplan models`, key, [...HF_ACTS].join(', '));
  // gelu_pytorch_tanh is one F.gelu(approximate='tanh') op: memory as gelu.
  return a === 'swish' ? 'silu' : a === 'gelu_pytorch_tanh' ? 'gelu' : a === 'gelu_fast' ? 'gelu_new' : a;
}

function arch(c: Cfg): string | undefined {
  const a = c.architectures;
  return Array.isArray(a) && typeof a[0] === 'string' ? a[0] : undefined;
}

/** Converts a parsed config.json. */
export function importHfConfig(config: unknown, opts: HfImportOptions = {}): HfImport {
  if (!config || typeof config !== 'object' || Array.isArray(config)) {
    throw new MemplanError('E_CONFIG', 'config.json is not a JSON object', { expected: 'a Hugging Face config.json (an object with model_type)' });
  }
  const c = config as Cfg;
  const type = c.model_type;
  if (typeof type !== 'string') throw fail('config.json has no "model_type"', 'model_type', `one of ${HF_FAMILIES.join(', ')}`);
  const maxPos = (key: string, fallback: number) => int(c, key, fallback);
  const seqFor = (positions: number) => {
    const s = opts.seq ?? Math.min(positions, 2048);
    if (!Number.isInteger(s) || s < 1) throw fail(`sequence length ${s}`, '--seq', 'a positive integer');
    return s;
  };
  const baseName = opts.name ?? (typeof c._name_or_path === 'string' && c._name_or_path ? c._name_or_path : type);
  const notes: string[] = [];
  let r: { blocks: BlockSpec[]; dims: Record<string, number | string>; arch: string; knobs?: ModelDescriptor['knobs'] | undefined };
  switch (type) {
    case 'llama':
    case 'mistral':
    case 'qwen2':
      r = llamaFamily(c, type, seqFor(maxPos('max_position_embeddings', 2048)), notes);
      break;
    case 'gpt2':
      r = gpt2(c, seqFor(maxPos('n_positions', 1024)));
      break;
    case 'bert':
    case 'roberta':
    case 'xlm-roberta':
      r = bertFamily(c, type, seqFor(maxPos('max_position_embeddings', 512) - (type === 'bert' ? 0 : 2)), notes);
      break;
    case 'esm':
      r = esm(c, seqFor(maxPos('max_position_embeddings', 1026) - 2), notes);
      break;
    case 'vit':
      r = vit(c, notes);
      break;
    case 't5': {
      // Relative positions: no table bounds the length; n_positions (512 in Google's configs) is the trained length.
      const tgt = opts.tgtSeq;
      if (tgt !== undefined && (!Number.isInteger(tgt) || tgt < 1)) throw fail(`target length ${tgt}`, '--tgt-seq', 'a positive integer');
      r = t5(c, seqFor(maxPos('n_positions', 512)), tgt, notes);
      break;
    }
    default:
      throw fail(`model_type "${type}" is not one memplan imports`, 'model_type', HF_FAMILIES.join(', '), 'write the descriptor by hand with the LLM blocks (docs/llm.md)');
  }
  // attn_implementation in the config (transformers' default is sdpa): the layers' `attention`.
  const impl = c.attn_implementation ?? c._attn_implementation;
  if (impl === 'eager' || impl === 'sdpa') {
    for (const b of r.blocks) if (b.type === 'decoder_layer' || b.type === 'encoder_layer' || b.type === 't5_layer') b.attention = impl;
  } else if (impl !== undefined && impl !== null) {
    notes.push(`attn_implementation ${JSON.stringify(impl)} is modelled as sdpa (fused: no s x s tensor)`);
  }
  const model: ModelDescriptor = {
    name: baseName,
    description: `${r.arch} from a Hugging Face config.json (model_type ${type}), imported by memplan import`,
    source: typeof c._name_or_path === 'string' && c._name_or_path ? `https://huggingface.co/${c._name_or_path}` : 'config.json',
    dims: r.dims as ModelDescriptor['dims'],
    blocks: r.blocks,
    ...(r.knobs ? { knobs: r.knobs } : {}),
  };
  const run: Record<string, unknown> = { batch_size: 1, precision: 'bf16-mixed', optimizer: 'adamw' };
  return { model, run, family: type, notes };
}

const loss: BlockSpec = { type: 'loss', kind: 'cross_entropy' };
/** Context lengths worth trying, up to the model's positions. */
function seqKnob(positions: number): ModelDescriptor['knobs'] {
  const values = [512, 1024, 2048, 4096, 8192].filter((v) => v <= positions);
  return values.length ? { seq: { values, note: 'sequence length (context), up to the model\'s positions' } } : undefined;
}

function llamaFamily(c: Cfg, type: string, seq: number, notes: string[]) {
  const hidden = int(c, 'hidden_size');
  const heads = int(c, 'num_attention_heads');
  const kv = int(c, 'num_key_value_heads', heads);
  const headDim = int(c, 'head_dim', Math.floor(hidden / heads));
  const tied = bool(c, 'tie_word_embeddings', false);
  const qwen = type === 'qwen2';
  // Qwen2 projects q, k and v with bias (hard-wired in Qwen2Attention), o without; Llama / Mistral per attention_bias.
  const attnBias = qwen ? true : bool(c, 'attention_bias', false);
  const outBias = qwen ? false : attnBias;
  if (c.rope_scaling && typeof c.rope_scaling === 'object') notes.push('rope_scaling changes the cos/sin values, not their memory: imported as plain rotary');
  const layer: BlockSpec = {
    name: 'layers', type: 'decoder_layer', from: ['embed_tokens', 'rotary_emb'], repeat: 'layers', style: 'llama',
    heads: 'heads', kv_heads: 'kv_heads', head_dim: 'head_dim', ffn_dim: 'ffn', activation: act(c, 'hidden_act', 'silu'),
    bias: attnBias, out_bias: outBias, mlp_bias: bool(c, 'mlp_bias', false), eps: num(c, 'rms_norm_eps', 1e-6),
    attention_dropout: num(c, 'attention_dropout', 0),
  };
  return {
    arch: arch(c) ?? `${type}ForCausalLM`,
    dims: { seq, hidden, heads, kv_heads: kv, head_dim: headDim, ffn: int(c, 'intermediate_size'), layers: int(c, 'num_hidden_layers'), vocab: int(c, 'vocab_size') },
    knobs: seqKnob(int(c, 'max_position_embeddings', 2048)),
    blocks: [
      { name: 'embed_tokens', type: 'embedding', input: ['batch', 'seq'], vocab: 'vocab', dim: 'hidden' },
      { name: 'rotary_emb', type: 'rotary', from: 'embed_tokens', head_dim: 'head_dim' },
      layer,
      { name: 'norm', type: 'rms_norm', from: 'layers', eps: num(c, 'rms_norm_eps', 1e-6) },
      { name: 'lm_head', type: 'linear', out: 'vocab', bias: false, ...(tied ? { tie: 'embed_tokens' } : {}) },
      loss,
    ],
  };
}

function gpt2(c: Cfg, seq: number) {
  const hidden = int(c, 'n_embd');
  return {
    arch: arch(c) ?? 'GPT2LMHeadModel',
    dims: { seq, hidden, heads: int(c, 'n_head'), ffn: int(c, 'n_inner', 4 * hidden), layers: int(c, 'n_layer'), vocab: int(c, 'vocab_size'), positions: int(c, 'n_positions', 1024) },
    knobs: seqKnob(int(c, 'n_positions', 1024)),
    blocks: [
      { name: 'wte', type: 'embedding', input: ['batch', 'seq'], vocab: 'vocab', dim: 'hidden' },
      { name: 'wpe', type: 'embedding', input: [1, 'seq'], vocab: 'positions', dim: 'hidden', doc: 'position ids are an arange [1, seq]' },
      { name: 'embed', type: 'add', from: ['wte', 'wpe'] },
      { name: 'drop', type: 'dropout', p: num(c, 'embd_pdrop', 0.1) },
      {
        name: 'h', type: 'decoder_layer', style: 'gpt2', repeat: 'layers', hold: ['wte', 'wpe'], heads: 'heads', ffn_dim: 'ffn', activation: act(c, 'activation_function', 'gelu_new'),
        dropout: num(c, 'resid_pdrop', 0.1), attention_dropout: num(c, 'attn_pdrop', 0.1),
      },
      { name: 'ln_f', type: 'layer_norm' },
      { name: 'lm_head', type: 'linear', out: 'vocab', bias: false, ...(bool(c, 'tie_word_embeddings', true) ? { tie: 'wte' } : {}) },
      loss,
    ],
  };
}

/** BERT / RoBERTa / XLM-R with the masked-LM head (BertForMaskedLM, RobertaForMaskedLM). */
function bertFamily(c: Cfg, type: string, seq: number, notes: string[]) {
  const a = arch(c) ?? (type === 'bert' ? 'BertForMaskedLM' : type === 'roberta' ? 'RobertaForMaskedLM' : 'XLMRobertaForMaskedLM');
  if (!/ForMaskedLM$/.test(a)) notes.push(`${a}: imported with the masked-LM head (the encoder is the same; heads differ in parameters)`);
  const p = num(c, 'hidden_dropout_prob', 0.1);
  const hf = { name: 'lm_head', tie: 'word_embeddings' };
  return {
    arch: a,
    dims: {
      seq, hidden: int(c, 'hidden_size'), heads: int(c, 'num_attention_heads'), ffn: int(c, 'intermediate_size'), layers: int(c, 'num_hidden_layers'),
      vocab: int(c, 'vocab_size'), positions: int(c, 'max_position_embeddings', 512), type_vocab: int(c, 'type_vocab_size', 2),
    },
    knobs: seqKnob(int(c, 'max_position_embeddings', 512) - (type === 'bert' ? 0 : 2)),
    blocks: [
      { name: 'position_ids', type: 'buffer', shape: [1, 'positions'], dtype: 'i64', doc: 'registered buffer (arange)' },
      { name: 'token_type_ids', type: 'buffer', shape: [1, 'positions'], dtype: 'i64', doc: 'registered buffer (zeros)' },
      { name: 'word_embeddings', type: 'embedding', input: ['batch', 'seq'], vocab: 'vocab', dim: 'hidden' },
      { name: 'token_type_embeddings', type: 'embedding', input: ['batch', 'seq'], vocab: 'type_vocab', dim: 'hidden', doc: 'ids: the buffer expanded to [batch, seq]' },
      { name: 'position_embeddings', type: 'embedding', input: [1, 'seq'], vocab: 'positions', dim: 'hidden' },
      { name: 'embed_sum', type: 'add', from: ['word_embeddings', 'token_type_embeddings'] },
      { name: 'embeddings', type: 'add', from: ['embed_sum', 'position_embeddings'] },
      { name: 'embeddings_norm', type: 'layer_norm' },
      { name: 'embeddings_dropout', type: 'dropout', p },
      {
        name: 'layer', type: 'encoder_layer', style: 'bert', repeat: 'layers', heads: 'heads', ffn_dim: 'ffn', activation: act(c, 'hidden_act', 'gelu'),
        dropout: p, attention_dropout: num(c, 'attention_probs_dropout_prob', 0.1),
      },
      { name: 'transform', type: 'linear', out: 'hidden' },
      { name: 'transform_act', type: 'activation', kind: 'gelu' },
      { name: 'transform_norm', type: 'layer_norm' },
      { name: hf.name, type: 'linear', out: 'vocab', hold: 'layer', doc: 'the encoder output (sequence_output) is referenced until the head returns', ...(bool(c, 'tie_word_embeddings', true) ? { tie: hf.tie } : {}) },
      loss,
    ],
  };
}

/** ESM-2 (EsmForMaskedLM): rotary, pre-norm, token dropout, the contact head's regression parameters. */
function esm(c: Cfg, seq: number, notes: string[]) {
  const heads = int(c, 'num_attention_heads');
  const hidden = int(c, 'hidden_size');
  const layers = int(c, 'num_hidden_layers');
  if (str(c, 'position_embedding_type', 'absolute') !== 'rotary') notes.push('ESM with absolute positions (ESM-1b): imported with rotary layers; parameters differ by the position table');
  const p = num(c, 'hidden_dropout_prob', 0.1);
  return {
    arch: arch(c) ?? 'EsmForMaskedLM',
    dims: { seq, hidden, heads, head_dim: Math.floor(hidden / heads), ffn: int(c, 'intermediate_size'), layers, vocab: int(c, 'vocab_size'), positions: int(c, 'max_position_embeddings', 1026) },
    knobs: seqKnob(int(c, 'max_position_embeddings', 1026) - 2),
    blocks: [
      { name: 'position_ids', type: 'buffer', shape: [1, 'positions'], dtype: 'i64', doc: 'registered buffer (arange)' },
      { name: 'rotary_inv_freq', type: 'buffer', shape: ['layers', 'head_dim / 2'], dtype: 'f32', doc: 'each layer\'s EsmRotaryEmbedding.inv_freq' },
      { name: 'contact_head', type: 'params', count: 'layers * heads + 1', matmul: false, frozen: true, doc: 'EsmContactPredictionHead.regression: unused by the MLM loss, so it gets no gradient' },
      { name: 'word_embeddings', type: 'embedding', input: ['batch', 'seq'], vocab: 'vocab', dim: 'hidden' },
      { name: 'token_dropout_fill', type: 'mul', value: 1, doc: 'token_dropout: masked_fill of <mask> positions (a new tensor)' },
      { name: 'token_dropout_ratio', type: 'mul', value: 0.88, doc: 'token_dropout: x (1 - 0.15 x 0.8)' },
      { name: 'token_dropout_scale', type: 'mul', value: 1, doc: 'token_dropout: / (1 - observed mask ratio) per sequence (a new tensor)' },
      { name: 'rotary_emb', type: 'rotary', from: 'token_dropout_scale', head_dim: 'head_dim' },
      {
        name: 'layer', type: 'encoder_layer', style: 'esm', from: ['token_dropout_scale', 'rotary_emb'], repeat: 'layers', heads: 'heads', ffn_dim: 'ffn',
        activation: 'gelu_erf', dropout: p, attention_dropout: num(c, 'attention_probs_dropout_prob', 0.1),
        doc: 'EsmIntermediate applies ESM\'s own erf gelu whatever hidden_act says',
      },
      { name: 'emb_layer_norm_after', type: 'layer_norm' },
      { name: 'lm_head_dense', type: 'linear', out: 'hidden' },
      ...erfGelu('lm_head_dense', 'lm_head_gelu'),
      { name: 'lm_head_norm', type: 'layer_norm' },
      { name: 'lm_head', type: 'linear', out: 'vocab', bias: false, hold: 'emb_layer_norm_after', ...(bool(c, 'tie_word_embeddings', true) ? { tie: 'word_embeddings' } : {}) },
      { name: 'lm_head_bias', type: 'parameter', shape: ['vocab'], init: 'zeros', doc: 'EsmLMHead.bias, added after the decoder (a new logits-sized tensor)' },
      { name: 'logits', type: 'add', from: ['lm_head', 'lm_head_bias'] },
      loss,
    ],
  };
}

/** ESM's own gelu, x * 0.5 * (1.0 + erf(x / sqrt(2))), as op blocks (modeling_esm.py's gelu()). */
function erfGelu(input: string, name: string): BlockSpec[] {
  return [
    { name: `${name}_half`, type: 'mul', value: 0.5, from: input },
    { name: `${name}_scaled`, type: 'mul', value: Math.SQRT1_2, from: input },
    { name: `${name}_erf`, type: 'erf' },
    { name: `${name}_plus1`, type: 'add', value: 1 },
    { name, type: 'mul', from: [`${name}_half`, `${name}_plus1`] },
  ];
}

/** ViTForImageClassification: patch conv, CLS token, positions, pre-norm layers, classifier on the CLS token. */
function vit(c: Cfg, notes: string[]) {
  const image = int(c, 'image_size', 224);
  const patch = int(c, 'patch_size', 16);
  if (image % patch !== 0) throw fail(`image_size ${image} is not a multiple of patch_size ${patch}`, 'patch_size', 'a divisor of image_size');
  const labels = c.id2label && typeof c.id2label === 'object' ? Object.keys(c.id2label as object).length : int(c, 'num_labels', 2);
  if (!c.id2label) notes.push('no id2label: 2 labels assumed (transformers\' default)');
  const p = num(c, 'hidden_dropout_prob', 0);
  return {
    arch: arch(c) ?? 'ViTForImageClassification',
    dims: {
      image, patch, channels: int(c, 'num_channels', 3), hidden: int(c, 'hidden_size'), heads: int(c, 'num_attention_heads'), ffn: int(c, 'intermediate_size'),
      layers: int(c, 'num_hidden_layers'), labels, patches: '(image / patch)^2', tokens: 'patches + 1',
    },
    blocks: [
      { name: 'pixel_values', type: 'input', shape: ['batch', 'channels', 'image', 'image'] },
      { name: 'patch_embeddings', type: 'conv2d', out_channels: 'hidden', kernel: 'patch', stride: 'patch' },
      { name: 'flatten', type: 'reshape', shape: ['batch', 'hidden', 'patches'] },
      { name: 'patch_tokens', type: 'transpose', dims: [1, 2] },
      { name: 'cls_token', type: 'parameter', shape: [1, 1, 'hidden'] },
      { name: 'cls_tokens', type: 'expand', shape: ['batch', 1, 'hidden'] },
      { name: 'tokens_cat', type: 'concat', from: ['cls_tokens', 'patch_tokens'], axis: 1 },
      { name: 'position_embeddings', type: 'parameter', shape: [1, 'tokens', 'hidden'] },
      { name: 'embeddings', type: 'add', from: ['tokens_cat', 'position_embeddings'] },
      { name: 'embeddings_dropout', type: 'dropout', p },
      {
        name: 'layer', type: 'encoder_layer', style: 'vit', repeat: 'layers', heads: 'heads', ffn_dim: 'ffn', activation: act(c, 'hidden_act', 'gelu'), bias: bool(c, 'qkv_bias', true),
        dropout: p, attention_dropout: num(c, 'attention_probs_dropout_prob', 0),
      },
      { name: 'layernorm', type: 'layer_norm' },
      { name: 'cls_output', type: 'select', axis: 1, index: 0 },
      { name: 'classifier', type: 'linear', out: 'labels' },
      loss,
    ],
  };
}

/**
 * T5ForConditionalGeneration (T5 v1.0, T5 v1.1 / flan-t5 with `feed_forward_proj: gated-gelu`), as
 * transformers 5.24 builds it: one `shared` embedding for the encoder, the decoder and lm_head (5.24 ties
 * them whatever `tie_word_embeddings` says; that key only decides the d_model^-0.5 rescale before lm_head),
 * the relative position bias of each stack's first layer ([1, heads, q, k], reused by every layer), the
 * encoder and decoder stacks of t5_layer blocks, their final T5LayerNorm and dropout, and cross entropy
 * over the decoder's logits. Inputs: input_ids [batch, seq] and labels [batch, tgt_seq] (the decoder ids
 * are the labels shifted right).
 */
function t5(c: Cfg, seq: number, tgtSeq: number | undefined, notes: string[]) {
  const ffp = str(c, 'feed_forward_proj', 'relu');
  const parts = ffp.split('-');
  if ((parts.length > 1 && parts[0] !== 'gated') || parts.length > 2) {
    throw fail(`feed_forward_proj "${ffp}" is not one transformers accepts`, 'feed_forward_proj', '"gated-{ACT}" or "{ACT}", e.g. relu, gated-gelu');
  }
  const gated = parts[0] === 'gated' && parts.length === 2;
  // T5Config: `gated-gelu` means gelu_new (backwards compatibility); otherwise the activation is the last part.
  const actName = ffp === 'gated-gelu' ? 'gelu_new' : parts[parts.length - 1]!;
  const activation = act({ feed_forward_proj: actName }, 'feed_forward_proj', 'relu');
  const hidden = int(c, 'd_model', 512);
  const layers = int(c, 'num_layers', 6);
  const p = num(c, 'dropout_rate', 0.1);
  const eps = num(c, 'layer_norm_epsilon', 1e-6);
  // T5Config.scale_decoder_outputs: `tie_word_embeddings` not false (T5 v1.0) rescales the decoder output.
  const scale = c.tie_word_embeddings !== false;
  if (c.tie_word_embeddings === false) notes.push('tie_word_embeddings false: transformers 5 still ties lm_head to `shared` (one table); it only turns off the d_model^-0.5 rescale');
  if (arch(c) && arch(c) !== 'T5ForConditionalGeneration') notes.push(`${arch(c)}: imported as T5ForConditionalGeneration (the LM head; other heads differ in parameters)`);
  const useCache = bool(c, 'use_cache', true);
  const layer = (stack: 'encoder' | 'decoder') => ({
    type: 't5_layer', stack, heads: 'heads', head_dim: 'head_dim', ffn_dim: 'ffn', gated, activation, dropout: p, eps,
    ...(stack === 'decoder' ? { cache: useCache } : {}),
  });
  // compute_bias: relative_attention_bias(bucket ids [q, k]) -> [q, k, heads], .permute([2, 0, 1]).unsqueeze(0) (a view).
  const bias = (stack: string, q: string): BlockSpec[] => [
    { name: `${stack}_relative_attention_bias`, type: 'embedding', input: [q, q], vocab: 'buckets', dim: 'heads', doc: `${stack}.block.0.layer.0.SelfAttention.relative_attention_bias over the [${q}, ${q}] bucket ids` },
    { name: `${stack}_position_bias_view`, type: 'reshape', shape: [1, q, q, 'heads'] },
    { name: `${stack}_position_bias`, type: 'permute', perm: [0, 3, 1, 2], doc: 'the stack\'s position_bias, reused by every layer' },
  ];
  return {
    arch: 'T5ForConditionalGeneration',
    dims: {
      seq, tgt_seq: tgtSeq ?? 'seq', hidden, heads: int(c, 'num_heads', 8), head_dim: int(c, 'd_kv', 64), ffn: int(c, 'd_ff', 2048),
      layers, decoder_layers: int(c, 'num_decoder_layers', layers), vocab: int(c, 'vocab_size', 32128), buckets: int(c, 'relative_attention_num_buckets', 32),
    },
    knobs: seqKnob(int(c, 'n_positions', 512)),
    blocks: [
      { name: 'shared', type: 'embedding', input: ['batch', 'seq'], vocab: 'vocab', dim: 'hidden', doc: 'encoder.embed_tokens (the shared table)' },
      { name: 'encoder_dropout', type: 'dropout', p, from: 'shared' },
      ...bias('encoder', 'seq'),
      { name: 'encoder_block', ...layer('encoder'), from: ['encoder_dropout', 'encoder_position_bias'], repeat: 'layers' },
      { name: 'encoder_final_layer_norm', type: 'rms_norm', style: 't5', eps },
      { name: 'encoder_output', type: 'dropout', p, hold: ['shared', 'encoder_position_bias'], doc: 'inputs_embeds and position_bias are T5Stack.forward locals until it returns' },
      { name: 'decoder_embed_tokens', type: 'embedding', input: ['batch', 'tgt_seq'], vocab: 'vocab', dim: 'hidden', tie: 'shared', doc: 'decoder_input_ids: the labels shifted right' },
      { name: 'decoder_dropout', type: 'dropout', p, from: 'decoder_embed_tokens' },
      ...bias('decoder', 'tgt_seq'),
      { name: 'decoder_block', ...layer('decoder'), from: ['decoder_dropout', 'decoder_position_bias', 'encoder_output'], repeat: 'decoder_layers' },
      { name: 'decoder_final_layer_norm', type: 'rms_norm', style: 't5', eps },
      { name: 'decoder_output', type: 'dropout', p, hold: ['decoder_embed_tokens', 'decoder_position_bias'] },
      ...(scale ? [{ name: 'scale_decoder_outputs', type: 'mul', value: hidden ** -0.5, doc: 'sequence_output * d_model ** -0.5 (scale_decoder_outputs)' }] : []),
      { name: 'lm_head', type: 'linear', out: 'vocab', bias: false, tie: 'shared', hold: 'encoder_output', doc: 'encoder_outputs is referenced until the forward returns' },
      loss,
    ],
  };
}
