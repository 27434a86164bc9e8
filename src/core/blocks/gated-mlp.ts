import type { BlockModule } from './types.js';
import { need, numOrExpr } from './types.js';
import { gatedMlp as gated, pytorchOnly } from './llm-common.js';

export const HF_ACTIVATIONS = ['silu', 'gelu', 'gelu_new', 'gelu_pytorch_tanh', 'gelu_erf', 'relu', 'tanh'] as const;

/**
 * The gated feed-forward of Llama-family models (LlamaMLP, SwiGLU): down_proj(act(gate_proj(x)) *
 * up_proj(x)): three projections, 3 x d x ffn parameters (+ biases). Saves x (gate and up), the gate
 * output (silu), both factors of the product, and the product (down_proj's input).
 */
export const gatedMlp: BlockModule = {
  type: 'gated_mlp',
  summary: 'gated MLP (SwiGLU, LlamaMLP): down(act(gate(x)) * up(x)); 3 x d x hidden parameters',
  properties: { hidden: numOrExpr, activation: { enum: [...HF_ACTIVATIONS] }, bias: { type: 'boolean' } },
  required: ['hidden'],
  build(b, x, a) {
    pytorchOnly(a, 'gated_mlp');
    const input = need(x, 'gated_mlp', a.path);
    return gated(b, a, input, a.num('hidden', { integer: true, min: 1 }), a.get('activation', 'silu'), a.get('bias', false), 'mlp');
  },
};
