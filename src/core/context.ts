/**
 * The CUDA context as a model of the stack: what a process holds on the card outside PyTorch's
 * allocator, from the CUDA version, module loading (lazy / eager), the libraries initialised and the
 * card. Each number carries its source; the low / high edges are the spread of the published values
 * (or a stated margin where only one value is known). A run may give the context bytes directly
 * (`stack.context_bytes`), and a calibrated preset (`memplan calibrate`) gives the measured one.
 */
import { MemplanError } from './errors.js';
import type { CudaLibrary, RunConfig } from './model.js';
import { size } from './units.js';

const MiB = 1024 * 1024;

/** Published values the model is built from (docs/memory-model.md section 10 lists them). */
export const CONTEXT_FACTS = {
  lazy: {
    bytes: 287_047_680 - 8 * MiB,
    source:
      'PyTorch PR #86509: 287,047,680 B used (cudaMemGetInfo) after torch.randn(20,16,50,100).cuda() with CUDA_MODULE_LOADING=LAZY on CUDA 11.7, less the tensor\'s 8 MiB segment',
  },
  eager117: {
    bytes: 666_632_192 - 8 * MiB,
    source: 'PyTorch PR #86509: 666,632,192 B with CUDA_MODULE_LOADING=DEFAULT (eager) on the same stack, less the 8 MiB segment',
  },
  eagerPreLazy: {
    bytes: 1341 * MiB,
    source:
      'Hugging Face "Model training anatomy": nvidia-smi 1343 MiB after torch.ones((1, 1)).to("cuda") on a V100 16 GB, CUDA 11.2, driver 460.91 (all kernels loaded eagerly), less the tensor\'s 2 MiB segment',
  },
  preLazyRange: {
    low: 1000 * 1000 * 1000,
    high: 1700 * 1000 * 1000,
    source: '">1000MB before CUDA 11.7" (a PyTorch maintainer, pytorch/pytorch#107667); 1.3-1.7 GB on CUDA 11.x stacks (the framework notes gathered for this project)',
  },
  nccl: {
    twoRanks: 544 * MiB,
    moreRanks: 688 * MiB,
    source: 'NVIDIA/nccl#964: one process group with a 4 MB all-reduce on 4 x A100 (NVLink) held 544 MB for 2 ranks, 688 MB for more than 2',
  },
} as const;

/** Lazy loading's spread around a card's value: the published PyTorch contexts run from 266 MiB to about 1.3x the usual 450 MiB planning value. */
const LAZY_HIGH = 1.3;

export interface ContextModel {
  bytes: number;
  low: number;
  high: number;
  cuda: string;
  loading: 'lazy' | 'eager';
  libraries: CudaLibrary[];
  /** Measured (stack.context_bytes) or calibrated: no spread. */
  exact: boolean;
  formula: string;
}

/** The card's side of it (a subset of Preset, to keep this module free of estimate.ts). */
export interface ContextPreset {
  id: string;
  kind: 'gpu' | 'host';
  context_bytes: number;
  context_eager_bytes?: number;
  workspace_bytes?: number;
  cuda?: string;
  calibration?: { reserved_ratio: number };
}

function version(v: string, path: string): [number, number] {
  const m = /^(\d+)\.(\d+)$/.exec(v);
  if (!m) throw new MemplanError('E_CONFIG', `CUDA version "${v}" is not major.minor`, { path, expected: 'a version such as "12.4" or "11.2"' });
  return [Number(m[1]), Number(m[2])];
}

export function contextModel(preset: ContextPreset, run: RunConfig): ContextModel {
  const stack = run.stack;
  const cuda = stack.cuda ?? preset.cuda ?? '12.4';
  const [maj, min] = version(cuda, stack.cuda ? 'stack.cuda' : `presets/${preset.id}.yaml: cuda`);
  const lazyOk = maj > 11 || (maj === 11 && min >= 7);
  const loading = stack.module_loading ?? (lazyOk ? 'lazy' : 'eager');
  if (loading === 'lazy' && !lazyOk) {
    throw new MemplanError('E_CONFIG', `lazy module loading needs CUDA 11.7 or later; the stack is CUDA ${cuda}`, {
      path: 'stack.module_loading',
      expected: 'module_loading: eager with CUDA < 11.7, or stack.cuda >= 11.7',
    });
  }
  const gpus = run.distributed.gpus;
  const libraries: CudaLibrary[] = stack.libraries ?? (gpus > 1 ? ['cublas', 'nccl'] : ['cublas']);
  const ws = libraries.includes('cublas') ? (preset.workspace_bytes ?? 0) : 0;
  const nccl = libraries.includes('nccl') && gpus > 1 ? (gpus === 2 ? CONTEXT_FACTS.nccl.twoRanks : CONTEXT_FACTS.nccl.moreRanks) : 0;
  const ncclText = nccl ? ` + NCCL buffers ${size(nccl)} (${gpus} ranks; NVIDIA/nccl#964)` : '';
  const wsText = ws ? ` + cuBLAS workspace ${size(ws)}` : '';

  if (preset.kind === 'host') {
    const b = preset.context_bytes;
    return { bytes: b, low: Math.round(b * 0.8), high: Math.round(b * 1.2), cuda, loading, libraries, exact: false, formula: `process baseline ${size(b)} (assumed; preset ${preset.id})` };
  }
  if (stack.context_bytes !== undefined) {
    const b = stack.context_bytes + ws + nccl;
    return { bytes: b, low: b, high: b, cuda, loading, libraries, exact: true, formula: `context ${size(stack.context_bytes)} as given (stack.context_bytes)${wsText}${ncclText}` };
  }
  if (preset.calibration) {
    const b = preset.context_bytes + nccl;
    return { bytes: b, low: b, high: b, cuda, loading, libraries, exact: true, formula: `context ${size(preset.context_bytes)} measured on this stack (calibrated preset ${preset.id})${ncclText}` };
  }
  let base: number;
  let low: number;
  let high: number;
  let why: string;
  if (loading === 'lazy') {
    base = preset.context_bytes;
    low = Math.min(base, CONTEXT_FACTS.lazy.bytes);
    high = Math.round(base * LAZY_HIGH);
    why = `lazy module loading, CUDA ${cuda}: ${size(base)} (preset ${preset.id})`;
  } else if (lazyOk) {
    base = preset.context_eager_bytes ?? preset.context_bytes + (CONTEXT_FACTS.eager117.bytes - CONTEXT_FACTS.lazy.bytes);
    low = Math.round(base * 0.9);
    high = Math.round(base * 1.25);
    why = preset.context_eager_bytes
      ? `eager module loading, CUDA ${cuda}: ${size(base)} (preset ${preset.id})`
      : `eager module loading, CUDA ${cuda}: the lazy ${size(preset.context_bytes)} + ${size(CONTEXT_FACTS.eager117.bytes - CONTEXT_FACTS.lazy.bytes)} eager minus lazy (PyTorch PR #86509)`;
  } else {
    base = preset.context_eager_bytes ?? CONTEXT_FACTS.eagerPreLazy.bytes;
    low = Math.min(base, CONTEXT_FACTS.preLazyRange.low);
    high = Math.max(base, CONTEXT_FACTS.preLazyRange.high);
    why = `CUDA ${cuda} (before lazy loading, every kernel loaded): ${size(base)} (${preset.context_eager_bytes ? `preset ${preset.id}` : 'V100, CUDA 11.2, Hugging Face'})`;
  }
  const extra = ws + nccl;
  return {
    bytes: base + extra,
    low: low + ws + Math.round(nccl * 0.5),
    high: high + ws + Math.round(nccl * 1.5),
    cuda,
    loading,
    libraries,
    exact: false,
    formula: `${why}${wsText}${ncclText}`,
  };
}
