/**
 * Optimizer state and step temporaries, per ../shared/memory-model.md: Adam/AdamW keep m and v
 * (created lazily at step 1); foreach (the CUDA default) needs about one parameter-sized buffer at
 * the step (the sqrt of v), the for-loop version about 2x the largest parameter (sqrt and division),
 * fused kernels none. SGD with momentum keeps one buffer; Adafactor factors the second moment into
 * row and column statistics; 8-bit AdamW keeps 2 bytes per parameter plus one fp32 absmax per
 * 256-element block and state.
 */
import { numel } from './graph.js';
import type { OptimizerImpl, OptimizerName } from './model.js';
import { n } from './units.js';

export interface ParamShape {
  shape: readonly number[];
}

export interface OptimizerCost {
  stateBytes: number;
  stateFormula: string;
  stepTempBytes: number;
  stepTempFormula: string;
}

const BLOCK_8BIT = 256;

export function optimizerCost(
  type: OptimizerName,
  impl: OptimizerImpl,
  params: readonly ParamShape[],
  stateDtypeBytes: number,
  weightDecay: number,
): OptimizerCost {
  const P = params.reduce((a, p) => a + numel(p.shape), 0);
  const largest = params.reduce((a, p) => Math.max(a, numel(p.shape)), 0);
  const sb = stateDtypeBytes;
  switch (type) {
    case 'sgd': {
      const temp = weightDecay > 0 && impl === 'foreach' ? P * sb : 0;
      return {
        stateBytes: 0,
        stateFormula: 'plain SGD keeps no state',
        stepTempBytes: temp,
        stepTempFormula: temp ? `weight decay adds grad + wd*p out of place: ${n(P)} x ${sb} B` : 'in-place update, no temporaries',
      };
    }
    case 'sgd-momentum': {
      const temp = weightDecay > 0 && impl === 'foreach' ? P * sb : 0;
      return {
        stateBytes: P * sb,
        stateFormula: `momentum buffer: ${n(P)} params x ${sb} B`,
        stepTempBytes: temp,
        stepTempFormula: temp ? `weight decay adds grad + wd*p out of place: ${n(P)} x ${sb} B` : 'in-place momentum update, no temporaries',
      };
    }
    case 'adam':
    case 'adamw': {
      const temp = impl === 'foreach' ? P * sb : impl === 'for-loop' ? 2 * largest * sb : 0;
      return {
        stateBytes: 2 * P * sb,
        stateFormula: `m and v: 2 x ${n(P)} params x ${sb} B`,
        stepTempBytes: temp,
        stepTempFormula:
          impl === 'foreach'
            ? `foreach: sqrt(v) for all params at once: ${n(P)} x ${sb} B`
            : impl === 'for-loop'
              ? `for-loop: sqrt(v) and its division for the largest param: 2 x ${n(largest)} x ${sb} B`
              : 'fused kernel: no parameter-sized temporaries',
      };
    }
    case 'adafactor': {
      let factored = 0;
      for (const p of params) {
        const s = p.shape;
        factored += s.length >= 2 ? numel(s) / s[s.length - 1]! + numel(s) / s[s.length - 2]! : numel(s);
      }
      return {
        stateBytes: factored * sb,
        stateFormula: `row + column second-moment statistics (vectors kept whole): ${n(factored)} x ${sb} B`,
        stepTempBytes: 2 * largest * sb,
        stepTempFormula: `grad^2 and the update for the largest param: 2 x ${n(largest)} x ${sb} B`,
      };
    }
    case 'adamw-8bit': {
      const stats = 2 * Math.ceil(P / BLOCK_8BIT) * 4;
      return {
        stateBytes: 2 * P + stats,
        stateFormula: `m and v in 8 bits: 2 x ${n(P)} x 1 B + absmax per ${BLOCK_8BIT}-block: 2 x ${n(Math.ceil(P / BLOCK_8BIT))} x 4 B`,
        stepTempBytes: 0,
        stepTempFormula: 'fused blockwise kernel: no parameter-sized temporaries',
      };
    }
  }
}
