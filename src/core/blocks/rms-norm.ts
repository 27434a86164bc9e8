import type { BlockModule } from './types.js';
import { need } from './types.js';
import { pytorchOnly, rmsNorm as rms } from './llm-common.js';

/**
 * RMSNorm as transformers' LlamaRMSNorm / T5LayerNorm computes it: in fp32, pow(2), mean over the last
 * axis, + eps, rsqrt, x * rsqrt, back to the input type, weight * x. Its saves fall out of those ops:
 * the fp32 input (pow and the product), the [.., 1] rsqrt, and the normalised x (for the weight's grad).
 */
export const rmsNorm: BlockModule = {
  type: 'rms_norm',
  summary: 'RMSNorm (LlamaRMSNorm): fp32 pow/mean/rsqrt/mul over the last axis, then weight * x; d parameters',
  properties: { eps: { type: 'number', exclusiveMinimum: 0 } },
  build(b, x, a) {
    pytorchOnly(a, 'rms_norm');
    return rms(b, 'norm', need(x, 'rms_norm', a.path), a.get('eps', 1e-6));
  },
};
