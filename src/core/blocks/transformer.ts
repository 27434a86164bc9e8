import type { ActKind, Builder, T } from '../graph.js';
import { ACTIVATIONS } from './activation.js';
import { multiHeadAttention, stockAttention, type AttentionImpl } from './attention.js';
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
  const p = a.get('dropout', 0.1);
  return {
    heads: a.num('heads', { integer: true, min: 1 }),
    ffn: a.num('ffn_dim', { integer: true, min: 1, default: 4 * d }),
    act: a.get<ActKind>('activation', 'relu'),
    p,
    normFirst: a.get('norm_first', false),
    impl: stockAttention(a, p),
  };
}

/** A residual sub-layer, post-norm (PyTorch's default) or pre-norm. */
function residual(b: Builder, name: string, x: T, o: LayerOpts, f: (h: T) => T): T {
  if (o.normFirst) return b.add(x, b.dropout(b.scope(name, () => f(norm(b, 'norm', x))), o.p));
  return norm(b, `${name}.norm`, b.add(x, b.dropout(b.scope(name, () => f(x)), o.p)));
}

/**
 * nn.TransformerEncoderLayer's eval fast path (torch._transformer_encoder_layer_fwd), taken by
 * model.eval() under torch.no_grad() with batch_first, relu/gelu: one qkv matmul, q, k, v as new
 * [b, h, s, dh] tensors, one s x s score tensor softmaxed in place, residual adds and the activation
 * in place. Measured peak per layer (torch 1.13 and 2.13, CPU): the s x s scores + 3 activations.
 * On CUDA, PyTorch 2 runs the attention core fused.
 */
function fastPath(b: Builder, x: T, o: LayerOpts, fused: boolean, nested: boolean): T {
  const ip = b.inplace!.bind(b);
  const [n, s, d] = x.shape as [number, number, number];
  const dh = d / o.heads;
  const lin = (name: string, t: T, inF: number, out: number) =>
    b.linear(t, b.param(`${name}.weight`, [inF, out], { matmul: true }), b.param(`${name}.bias`, [out], { init: 'zeros' }));
  const attn = b.scope('self_attn', () => {
    const qkv = lin('in_proj', x, d, 3 * d);
    // _transform_bias_rescale_qkv writes q, k and v into one new [3, b, h, s, dh] tensor: q and k stay
    // allocated as long as v ("q & k are dead but cannot be freed because they were packed with v",
    // aten/src/ATen/native/transformers/attention.cpp).
    const packed = b.contiguous(b.transpose(b.reshape(qkv, [n, s, 3, o.heads, dh]), [2, 0, 3, 1, 4]));
    const head = (i: number) => b.reshape(b.slice(packed, 0, i, 1), [n, o.heads, s, dh]);
    const [q, k, v] = [head(0), head(1), head(2)];
    // PyTorch 2's CUDA native MHA hands q, k, v to scaled_dot_product_attention (fused, no s x s; not
    // measured here: no GPU); the CPU kernel (1.13 and 2.13, measured) materialises the scores.
    // With src_key_padding_mask the encoder hands the layers a nested tensor: the CPU kernel pads q, k, v
    // and the scores as before, but softmaxes into a new padded tensor (NestedTensor_softmax_dropout).
    const softmax = (t: T) => (nested && b.nestedSoftmax ? b.nestedSoftmax(t) : ip('softmax', t));
    // bmm_nn(q, qkt, v) writes the context into q's storage.
    const ctxOf = (p: T) => (b.matmulInto ? b.matmulInto(p, v, q) : b.matmul(p, v));
    const core = fused ? b.sdpa(q, k, v) : ctxOf(softmax(b.matmul(q, k, true)));
    const ctx = b.contiguous(b.transpose(core, [0, 2, 1, 3]));
    return lin('out_proj', b.reshape(ctx, [n, s, d]), d, d);
  });
  const h = o.normFirst ? ip('add', attn, x) : norm(b, 'self_attn.norm', ip('add', attn, x));
  const ff = b.scope('ffn', () => {
    const hidden = ip(o.act === 'gelu' ? 'gelu' : 'relu', lin('fc1', o.normFirst ? norm(b, 'norm', h) : h, d, o.ffn));
    return lin('fc2', hidden, o.ffn, d);
  });
  const out = o.normFirst ? ip('add', ff, h) : norm(b, 'ffn.norm', ip('add', ff, h));
  // The layer's forward holds its input (`src`) until it returns.
  b.hold?.(x);
  return out;
}

function fastPathApplies(b: Builder, a: BlockArgs, o: LayerOpts, x: T): boolean {
  // The stock module checks these (TransformerEncoderLayer.forward's "why_not_sparsity_fast_path", 1.13
  // and 2.x): eval mode, relu/gelu, an even head count, and no tensor argument requiring grad while grad
  // is enabled (under no_grad, or a frozen layer whose input needs no grad).
  const gradFree = a.noGrad || (a.frozen && !(x as { requiresGrad?: boolean }).requiresGrad);
  return (
    a.eval && gradFree && o.heads % 2 === 0 && !!b.quirks && !!b.inplace && a.torch.runtime === 'pytorch' &&
    (o.act === 'relu' || o.act === 'gelu') && !a.get('no_fast_path', false)
  );
}

const common = {
  heads: numOrExpr,
  ffn_dim: numOrExpr,
  activation: { enum: [...ACTIVATIONS] },
  dropout: { type: 'number', minimum: 0, maximum: 1 },
  norm_first: { type: 'boolean' },
  attention: { enum: ['auto', 'eager', 'sdpa'] },
};

/** nn.TransformerEncoderLayer: self-attention and feed-forward, each with dropout, residual and LayerNorm. */
export const transformerEncoder: BlockModule = {
  type: 'transformer_encoder',
  summary: 'nn.TransformerEncoderLayer: self-attention + feed-forward, residuals, layer norms (post- or pre-norm); eval fast path in inference',
  properties: { ...common, no_fast_path: { type: 'boolean' }, padding_mask: { type: 'boolean' } },
  required: ['heads'],
  // nn.TransformerEncoder.forward keeps `src` referenced until the last layer returns.
  holdsInput: true,
  build(b, x, a) {
    const input = need(x, 'transformer_encoder', a.path);
    const o = opts(a, input.shape[input.shape.length - 1]!);
    if (fastPathApplies(b, a, o, input)) return fastPath(b, input, o, a.torch.version === '2' && a.torch.device === 'cuda', a.get('padding_mask', false));
    const h = residual(b, 'self_attn', input, o, (t) => multiHeadAttention(b, t, t, o.heads, o.impl, o.p, a.path, true));
    const out = residual(b, 'ffn', h, o, (t) => feedForward(b, t, o.ffn, t.shape[t.shape.length - 1]!, o.act, o.p, true, 0));
    // The layer's forward holds its input (`x = src`) until it returns.
    b.hold?.(input);
    return out;
  },
};

/** nn.TransformerDecoderLayer: self-attention, cross-attention over `memory`, feed-forward. */
export const transformerDecoder: BlockModule = {
  type: 'transformer_decoder',
  summary: 'nn.TransformerDecoderLayer: self-attention, cross-attention over a memory input, feed-forward',
  properties: { ...common, memory: { type: 'array', items: numOrExpr, minItems: 3, maxItems: 3 } },
  required: ['heads', 'memory'],
  holdsInput: true,
  build(b, x, a) {
    const input = need(x, 'transformer_decoder', a.path);
    const o = opts(a, input.shape[input.shape.length - 1]!);
    const memShape = a.shape('memory');
    if (!memShape) throw new MemplanError('E_SHAPE', 'transformer_decoder needs memory: [batch, seq, dim]', { path: `${a.path}.memory` });
    // A memory from `from: [x, encoder_out]`, or a fresh input of the memory shape.
    const memory = a.inputs[1] ?? b.input('memory', memShape, 'float');
    let h = residual(b, 'self_attn', input, o, (t) => multiHeadAttention(b, t, t, o.heads, o.impl, o.p, a.path, true));
    h = residual(b, 'cross_attn', h, o, (t) => multiHeadAttention(b, t, memory, o.heads, o.impl, o.p, a.path, true));
    const out = residual(b, 'ffn', h, o, (t) => feedForward(b, t, o.ffn, t.shape[t.shape.length - 1]!, o.act, o.p, true, 0));
    b.hold?.(input);
    return out;
  },
};
