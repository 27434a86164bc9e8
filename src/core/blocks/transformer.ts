import type { ActKind, Builder, T } from '../graph.js';
import { ACTIVATIONS } from './activation.js';
import { multiHeadAttention, type AttentionImpl } from './attention.js';
import { feedForward } from './mlp.js';
import type { BlockArgs, BlockModule } from './types.js';
import { need, numOrExpr } from './types.js';
import { MemplanError } from '../errors.js';

function norm(b: Builder, name: string, x: T): T {
  const d = x.shape[x.shape.length - 1]!;
  return b.scope(name, () => b.layerNorm(x, b.param('gamma', [d], { init: 'ones' }), b.param('beta', [d], { init: 'zeros' })));
}

interface LayerOpts {
  heads: number;
  ffn: number;
  act: ActKind;
  p: number;
  normFirst: boolean;
  impl: AttentionImpl;
}

function opts(a: BlockArgs, d: number): LayerOpts {
  return {
    heads: a.num('heads', { integer: true, min: 1 }),
    ffn: a.num('ffn_dim', { integer: true, min: 1, default: 4 * d }),
    act: a.get<ActKind>('activation', 'relu'),
    p: a.get('dropout', 0.1),
    normFirst: a.get('norm_first', false),
    impl: a.get<AttentionImpl>('attention', a.attention),
  };
}

/** A residual sub-layer, post-norm (PyTorch's default) or pre-norm. */
function residual(b: Builder, name: string, x: T, o: LayerOpts, f: (h: T) => T): T {
  if (o.normFirst) return b.add(x, b.dropout(b.scope(name, () => f(norm(b, 'norm', x))), o.p));
  return norm(b, `${name}.norm`, b.add(x, b.dropout(b.scope(name, () => f(x)), o.p)));
}

const common = {
  heads: numOrExpr,
  ffn_dim: numOrExpr,
  activation: { enum: [...ACTIVATIONS] },
  dropout: { type: 'number', minimum: 0, maximum: 1 },
  norm_first: { type: 'boolean' },
  attention: { enum: ['eager', 'sdpa'] },
};

/** nn.TransformerEncoderLayer: self-attention and feed-forward, each with dropout, residual and LayerNorm. */
export const transformerEncoder: BlockModule = {
  type: 'transformer_encoder',
  summary: 'nn.TransformerEncoderLayer: self-attention + feed-forward, residuals, layer norms (post- or pre-norm)',
  properties: common,
  required: ['heads'],
  build(b, x, a) {
    const input = need(x, 'transformer_encoder', a.path);
    const o = opts(a, input.shape[input.shape.length - 1]!);
    const h = residual(b, 'self_attn', input, o, (t) => multiHeadAttention(b, t, t, o.heads, o.impl, o.p, a.path, true));
    return residual(b, 'ffn', h, o, (t) => feedForward(b, t, o.ffn, t.shape[t.shape.length - 1]!, o.act, o.p, true, 0));
  },
};

/** nn.TransformerDecoderLayer: self-attention, cross-attention over `memory`, feed-forward. */
export const transformerDecoder: BlockModule = {
  type: 'transformer_decoder',
  summary: 'nn.TransformerDecoderLayer: self-attention, cross-attention over a memory input, feed-forward',
  properties: { ...common, memory: { type: 'array', items: numOrExpr, minItems: 3, maxItems: 3 } },
  required: ['heads', 'memory'],
  build(b, x, a) {
    const input = need(x, 'transformer_decoder', a.path);
    const o = opts(a, input.shape[input.shape.length - 1]!);
    const memShape = a.shape('memory');
    if (!memShape) throw new MemplanError('E_SHAPE', 'transformer_decoder needs memory: [batch, seq, dim]', { path: `${a.path}.memory` });
    const memory = b.input('memory', memShape, 'float');
    let h = residual(b, 'self_attn', input, o, (t) => multiHeadAttention(b, t, t, o.heads, o.impl, o.p, a.path, true));
    h = residual(b, 'cross_attn', h, o, (t) => multiHeadAttention(b, t, memory, o.heads, o.impl, o.p, a.path, true));
    return residual(b, 'ffn', h, o, (t) => feedForward(b, t, o.ffn, t.shape[t.shape.length - 1]!, o.act, o.p, true, 0));
  },
};
