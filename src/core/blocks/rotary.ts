import type { DType } from '../graph.js';
import type { BlockModule } from './types.js';
import { need, numOrExpr } from './types.js';
import { MemplanError } from '../errors.js';
import { pytorchOnly } from './llm-common.js';

/**
 * Rotary position embeddings' cos/sin, as LlamaRotaryEmbedding computes them once per forward for all
 * layers: the inv_freq buffers ([head_dim / 2] fp32, and its original copy), position_ids[..., None] *
 * inv_freq -> freqs [1, seq, head_dim / 2], cat(freqs, freqs), cos and sin. No parameters; nothing needs
 * grad, so nothing is saved here; the layers' q * cos and rotate_half(q) * sin keep cos and sin for
 * backward. Output: cos and sin stacked, [2, 1, seq, head_dim], in the type of the hidden states it reads
 * (`rotary_emb(hidden_states, position_ids)`: cos.to(x.dtype)); layers take it with `from: [h, rope]`.
 */
export const rotary: BlockModule = {
  type: 'rotary',
  summary: 'rotary embedding cos/sin for the layers (LlamaRotaryEmbedding) from the hidden states: [2, 1, seq, head_dim], no parameters',
  properties: { seq: numOrExpr, head_dim: numOrExpr },
  required: ['head_dim'],
  build(b, x, a) {
    pytorchOnly(a, 'rotary');
    const hidden = need(x, 'rotary', a.path);
    const s = a.num('seq', { integer: true, min: 1, default: hidden.shape[1] ?? 1 });
    const hd = a.num('head_dim', { integer: true, min: 2 });
    if (hd % 2 !== 0) throw new MemplanError('E_SHAPE', `rotary: head_dim ${hd} must be even`, { path: `${a.path}.head_dim` });
    const inv = b.tensor('inv_freq', [hd / 2], 'f32', 'persistent');
    b.tensor('original_inv_freq', [hd / 2], 'f32', 'persistent');
    const pos = b.tensor('position_ids', [1, s, 1], 'f32', 'activation');
    const freqs = b.mul(inv, pos);
    const emb = b.concat([freqs, freqs], 2);
    // cos() * attention_scaling and sin() * attention_scaling: new tensors each.
    const cs = b.stack([b.scale(b.unary('cos', emb), 1), b.scale(b.unary('sin', emb), 1)], 0);
    const type = (hidden as unknown as { dtype?: DType }).dtype;
    return type && b.cast ? b.cast(cs, type) : cs;
  },
};
