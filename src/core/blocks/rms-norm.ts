import type { BlockModule } from './types.js';
import { need } from './types.js';
import { pytorchOnly, rmsNorm as rms } from './llm-common.js';
import { t5LayerNorm } from './t5-layer.js';

/**
 * RMSNorm as transformers' LlamaRMSNorm computes it: in fp32, pow(2), mean over the last axis, + eps,
 * rsqrt, x * rsqrt, back to the input type, weight * x. Its saves fall out of those ops: the fp32 input
 * (pow and the product), the [.., 1] rsqrt, and the normalised x (for the weight's grad). `style: t5`
 * is T5LayerNorm: only the variance is computed from an fp32 copy; x itself is multiplied by the rsqrt.
 */
export const rmsNorm: BlockModule = {
  type: 'rms_norm',
  summary: 'RMSNorm (LlamaRMSNorm): fp32 pow/mean/rsqrt/mul over the last axis, then weight * x; d parameters',
  properties: { eps: { type: 'number', exclusiveMinimum: 0 }, style: { enum: ['llama', 't5'] } },
  build(b, x, a) {
    pytorchOnly(a, 'rms_norm');
    const input = need(x, 'rms_norm', a.path);
    if (a.get<string>('style', 'llama') === 't5') return t5LayerNorm(b, 'norm', input, a.get('eps', 1e-6));
    return rms(b, 'norm', input, a.get('eps', 1e-6));
  },
};
