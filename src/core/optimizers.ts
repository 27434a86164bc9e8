/**
 * Optimizer state and step temporaries, per the framework notes (docs/memory-model.md): Adam/AdamW keep m and v
 * (created lazily at step 1); foreach (the CUDA default) needs about one parameter-sized buffer at
 * the step (the sqrt of v), the for-loop version about 2x the largest parameter (sqrt and division),
 * fused kernels none; transformers' own AdamW (`impl: hf`, HF Trainer `optim=adamw_hf`) one
 * `denom` per parameter. SGD with momentum keeps one buffer; Adafactor factors the second moment into
 * row and column statistics; 8-bit AdamW (bitsandbytes) keeps 1 byte per element and state plus one
 * fp32 absmax per 256-element block, and fp32 state for parameters under `min_8bit_size` (4096).
 *
 * Two views of the same rules: `stateTensors` (each parameter's state tensors, in bytes) and
 * `stepSchedule` (the step's temporary allocations and frees, in order). The allocator model replays
 * them; `optimizerCost` (the analytic terms) is their sum and the schedule's peak, so the two agree.
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
/** bitsandbytes' `min_8bit_size`: smaller parameters keep fp32 state. */
export const MIN_8BIT_SIZE = 4096;

/** Where and which PyTorch runs the step (measured differences: bench/torch/FACTS.md, docs/accuracy-pytorch.md). */
export interface OptimizerEnv {
  device: 'cuda' | 'cpu';
  pytorch: '2' | '1.13' | '1.10';
}

/** Bytes of Adam's per-parameter `step` counter: a 4-byte fp32 tensor on the CPU (host memory, not GPU, on CUDA). */
export const ADAM_STEP_BYTES = 4;

/** One allocation or free of the optimizer step's temporaries; `key` pairs a free with its allocation. */
export interface TempOp {
  kind: 'alloc' | 'free';
  key: number;
  bytes: number;
}

/** Each parameter's state tensors (bytes), in parameter order; [] for a parameter with no state. */
export function stateTensors(type: OptimizerName, params: readonly ParamShape[], sb: number, env: OptimizerEnv = { device: 'cuda', pytorch: '2' }): number[][] {
  return params.map((p) => {
    const e = numel(p.shape);
    switch (type) {
      case 'sgd':
        return [];
      case 'sgd-momentum':
        return [e * sb];
      case 'adam':
      case 'adamw':
        return env.device === 'cpu' ? [e * sb, e * sb, ADAM_STEP_BYTES] : [e * sb, e * sb];
      case 'adafactor': {
        const s = p.shape;
        return s.length >= 2 ? [(e / s[s.length - 1]!) * sb, (e / s[s.length - 2]!) * sb] : [e * sb];
      }
      case 'adamw-8bit': {
        if (e < MIN_8BIT_SIZE) return [e * 4, e * 4];
        const blocks = Math.ceil(e / BLOCK_8BIT);
        return [e, e, blocks * 4, blocks * 4];
      }
    }
  });
}

/**
 * The step's temporaries in order (state excluded). foreach: one list op over all parameters at once
 * (each element its own tensor); for-loop: per parameter; hf: `exp_avg_sq.sqrt().add_(eps)` per
 * parameter; Adafactor: grad^2 and the update per parameter.
 */
export function stepSchedule(type: OptimizerName, impl: OptimizerImpl, params: readonly ParamShape[], sb: number, weightDecay: number, env: OptimizerEnv = { device: 'cuda', pytorch: '2' }): TempOp[] {
  const ops: TempOp[] = [];
  let key = 0;
  const sizes = params.map((p) => numel(p.shape) * sb);
  const listOp = (): number[] => sizes.map((b) => {
    const k = key++;
    ops.push({ kind: 'alloc', key: k, bytes: b });
    return k;
  });
  const freeAll = (ks: number[]) => ks.forEach((k, i) => ops.push({ kind: 'free', key: k, bytes: sizes[i]! }));
  // 1.x (1.13 and 1.10 alike): the out-of-place foreach add, the for-loop's lingering denom.
  const v113 = env.pytorch !== '2';
  switch (type) {
    case 'sgd':
    case 'sgd-momentum':
      // grad + wd * p out of place (foreach); the for-loop and fused kernels add in place.
      if (weightDecay > 0 && impl === 'foreach') freeAll(listOp());
      break;
    case 'adam':
    case 'adamw':
      if (impl === 'foreach') {
        const sq = listOp();
        if (v113) {
          // torch 1.13: _foreach_add(sqrt, eps) is out of place: both lists alive.
          const add = listOp();
          freeAll(sq);
          freeAll(add);
        } else {
          freeAll(sq);
        }
      } else if (impl === 'for-loop') {
        let prev: { k: number; b: number } | undefined;
        sizes.forEach((b) => {
          const a = key++;
          const d = key++;
          ops.push({ kind: 'alloc', key: a, bytes: b }, { kind: 'alloc', key: d, bytes: b }, { kind: 'free', key: a, bytes: b });
          if (v113) {
            // 1.13: the previous parameter's denom is still referenced by the loop variable.
            if (prev) ops.push({ kind: 'free', key: prev.k, bytes: prev.b });
            prev = { k: d, b };
          } else {
            ops.push({ kind: 'free', key: d, bytes: b });
          }
        });
        if (prev) ops.push({ kind: 'free', key: prev.k, bytes: prev.b });
      } else if (impl === 'hf') {
        sizes.forEach((b) => {
          const d = key++;
          ops.push({ kind: 'alloc', key: d, bytes: b }, { kind: 'free', key: d, bytes: b });
        });
      }
      break;
    case 'adafactor':
      sizes.forEach((b) => {
        const u = key++;
        const v = key++;
        ops.push({ kind: 'alloc', key: u, bytes: b }, { kind: 'alloc', key: v, bytes: b }, { kind: 'free', key: u, bytes: b }, { kind: 'free', key: v, bytes: b });
      });
      break;
    case 'adamw-8bit':
      break;
  }
  return ops;
}

/** The most bytes a schedule holds at once. */
export function schedulePeak(ops: readonly TempOp[]): number {
  let cur = 0;
  let peak = 0;
  for (const o of ops) {
    cur += o.kind === 'alloc' ? o.bytes : -o.bytes;
    if (cur > peak) peak = cur;
  }
  return peak;
}

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
  const v113 = env.pytorch !== '2';
  const stateBytes = stateTensors(type, params, sb, env).reduce((a, ts) => a + ts.reduce((x, y) => x + y, 0), 0);
  const stepTempBytes = schedulePeak(stepSchedule(type, impl, params, sb, weightDecay, env));
  switch (type) {
    case 'sgd':
    case 'sgd-momentum': {
      const wdText = stepTempBytes ? `weight decay adds grad + wd*p out of place: ${n(P)} x ${sb} B` : '';
      return {
        stateBytes,
        stateFormula: type === 'sgd' ? 'plain SGD keeps no state' : `momentum buffer: ${n(P)} params x ${sb} B`,
        stepTempBytes,
        stepTempFormula: wdText || (type === 'sgd' ? 'in-place update, no temporaries' : 'in-place momentum update, no temporaries'),
      };
    }
    case 'adam':
    case 'adamw': {
      const steps = env.device === 'cpu' ? params.length * ADAM_STEP_BYTES : 0;
      let loopF = `2 x ${n(largest)}`;
      if (v113 && impl === 'for-loop') {
        let best = -1;
        params.forEach((p, i) => {
          const prev = i > 0 ? numel(params[i - 1]!.shape) : 0;
          const e = 2 * numel(p.shape) + prev;
          if (e > best) {
            best = e;
            loopF = `2 x ${n(numel(p.shape))} + previous param's denom ${n(prev)}`;
          }
        });
      }
      return {
        stateBytes,
        stateFormula: `m and v: 2 x ${n(P)} params x ${sb} B` + (steps ? ` + a ${ADAM_STEP_BYTES} B step tensor per param tensor: ${params.length} x ${ADAM_STEP_BYTES} B` : ''),
        stepTempBytes,
        stepTempFormula:
          impl === 'foreach'
            ? v113
              ? `foreach (torch 1.13): sqrt(v) and sqrt(v) + eps for all params at once: 2 x ${n(P)} x ${sb} B`
              : `foreach: sqrt(v) for all params at once: ${n(P)} x ${sb} B`
            : impl === 'for-loop'
              ? `for-loop: sqrt(v) and its division for the largest param: ${loopF} x ${sb} B`
              : impl === 'hf'
                ? `transformers AdamW: sqrt(v) + eps for one param at a time, the largest: ${n(largest)} x ${sb} B`
                : 'fused kernel: no parameter-sized temporaries',
      };
    }
    case 'adafactor': {
      const factored = stateBytes / sb;
      return {
        stateBytes,
        stateFormula: `row + column second-moment statistics (vectors kept whole): ${n(factored)} x ${sb} B`,
        stepTempBytes,
        stepTempFormula: `grad^2 and the update for the largest param: 2 x ${n(largest)} x ${sb} B`,
      };
    }
    case 'adamw-8bit': {
      const small = params.filter((p) => numel(p.shape) < MIN_8BIT_SIZE);
      const smallP = small.reduce((a, p) => a + numel(p.shape), 0);
      const bigP = P - smallP;
      const blocks = params.filter((p) => numel(p.shape) >= MIN_8BIT_SIZE).reduce((a, p) => a + Math.ceil(numel(p.shape) / BLOCK_8BIT), 0);
      return {
        stateBytes,
        stateFormula:
          `m and v in 8 bits: 2 x ${n(bigP)} x 1 B + absmax per ${BLOCK_8BIT}-block: 2 x ${n(blocks)} x 4 B` +
          (smallP ? ` + fp32 m and v for ${small.length} params under ${MIN_8BIT_SIZE} elements: 2 x ${n(smallP)} x 4 B` : ''),
        stepTempBytes,
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
