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

/** Where and which PyTorch runs the step (measured differences: bench/torch/FACTS.md, docs/accuracy-pytorch.md). */
export interface OptimizerEnv {
  device: 'cuda' | 'cpu';
  pytorch: '2' | '1.13';
}

/** Bytes of Adam's per-parameter `step` counter: a 4-byte fp32 tensor on the CPU (host memory, not GPU, on CUDA). */
export const ADAM_STEP_BYTES = 4;

export function optimizerCost(
  type: OptimizerName,
  impl: OptimizerImpl,
  params: readonly ParamShape[],
  stateDtypeBytes: number,
  weightDecay: number,
  env: OptimizerEnv = { device: 'cuda', pytorch: '2' },
): OptimizerCost {
  const P = params.reduce((a, p) => a + numel(p.shape), 0);
  const largest = params.reduce((a, p) => Math.max(a, numel(p.shape)), 0);
  const sb = stateDtypeBytes;
  const v113 = env.pytorch === '1.13';
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
      // torch 1.13 foreach: _foreach_sqrt(v) and the out-of-place _foreach_add(.., eps) are both alive (2P);
      // 2.x adds eps in place (P).
      const foreachSets = v113 ? 2 : 1;
      // for-loop: sqrt(v) and its division for one param; 1.13 measured: the previous param's `denom` is
      // still held by the loop variable, so max over params of 2 P_i + P_(i-1).
      let loopElems = 2 * largest;
      let loopF = `2 x ${n(largest)}`;
      if (v113) {
        loopElems = 0;
        params.forEach((p, i) => {
          const prev = i > 0 ? numel(params[i - 1]!.shape) : 0;
          const e = 2 * numel(p.shape) + prev;
          if (e > loopElems) {
            loopElems = e;
            loopF = `2 x ${n(numel(p.shape))} + previous param's denom ${n(prev)}`;
          }
        });
      }
      const temp = impl === 'foreach' ? foreachSets * P * sb : impl === 'for-loop' ? loopElems * sb : 0;
      const steps = env.device === 'cpu' ? params.length * ADAM_STEP_BYTES : 0;
      return {
        stateBytes: 2 * P * sb + steps,
        stateFormula: `m and v: 2 x ${n(P)} params x ${sb} B` + (steps ? ` + a ${ADAM_STEP_BYTES} B step tensor per param tensor: ${params.length} x ${ADAM_STEP_BYTES} B` : ''),
        stepTempBytes: temp,
        stepTempFormula:
          impl === 'foreach'
            ? v113
              ? `foreach (torch 1.13): sqrt(v) and sqrt(v) + eps for all params at once: 2 x ${n(P)} x ${sb} B`
              : `foreach: sqrt(v) for all params at once: ${n(P)} x ${sb} B`
            : impl === 'for-loop'
              ? `for-loop: sqrt(v) and its division for the largest param: ${loopF} x ${sb} B`
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

/**
 * bitsandbytes' paged optimizers (PagedAdamW, PagedAdamW8bit, `is_paged=True`) keep their state in CUDA
 * unified memory, which the driver moves to host RAM when the GPU runs short (bitsandbytes' optimizer
 * docs), so the state does not make the step run out of GPU memory: it is left out of the GPU total and
 * named in the formula. The step is bitsandbytes' fused kernel (no parameter-sized temporaries).
 */
export function pagedOptimizer(c: OptimizerCost): OptimizerCost {
  return {
    stateBytes: 0,
    stateFormula: `paged: ${n(c.stateBytes)} B of state (${c.stateFormula}) in CUDA unified memory, moved to host RAM when the GPU runs short; not counted on the GPU`,
    stepTempBytes: 0,
    stepTempFormula: 'bitsandbytes fused kernel: no parameter-sized temporaries',
  };
}
