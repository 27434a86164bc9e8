/**
 * The probe-able twin of a PyTorch run config: what `recommend --verify` runs in TensorFlow.js.
 * tfjs holds float32 only, has no fused attention, EMA, accumulation or multi-GPU training, so the
 * twin keeps the model graph (what the block rules are about; the probe may still shrink batch and
 * sequence to fit) and says plainly which settings it had to change. Pure: no tfjs import.
 */
import type { RunConfig } from '../core/model.js';

export interface ProbeVariant {
  run: RunConfig;
  /** Each setting changed to make the run probe-able, in words. */
  changes: string[];
}

export function probeVariant(src: RunConfig): ProbeVariant {
  const run: RunConfig = structuredClone(src);
  const changes: string[] = [];
  run.runtime = 'tfjs';
  if (run.precision !== 'fp32') {
    changes.push(`precision ${run.precision} -> fp32 (tfjs holds float32 only)`);
    run.precision = 'fp32';
  }
  if (run.attention !== 'eager') {
    changes.push(`attention ${run.attention} -> eager (tfjs has no fused attention)`);
    run.attention = 'eager';
  }
  if (run.grad_accum > 1) {
    changes.push(`grad_accum ${run.grad_accum} -> 1 (one micro-batch per step)`);
    run.grad_accum = 1;
  }
  if (run.ema.enabled) {
    changes.push('EMA off (tfjs has none)');
    run.ema = { ...run.ema, enabled: false };
  }
  if (run.distributed.gpus > 1 || run.distributed.strategy !== 'none') {
    changes.push(`${run.distributed.gpus} GPUs (${run.distributed.strategy}) -> one device`);
    run.distributed = { ...run.distributed, gpus: 1, strategy: 'none' };
  }
  if (run.optimizer.type === 'adafactor' || run.optimizer.type === 'adamw-8bit') {
    changes.push(`optimizer ${run.optimizer.type} -> adam`);
    run.optimizer = { ...run.optimizer, type: 'adam' };
  }
  return { run, changes };
}
