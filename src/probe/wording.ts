/**
 * What a probe shows, in words that claim no more than was measured: the probe runs a TensorFlow.js
 * twin of the config (fp32, eager attention, one micro-batch, no EMA, one device, often shrunk), and
 * compares its measured peak with memplan's `runtime: tfjs` estimate of that twin. Pure.
 */
export interface TwinFacts {
  backend: string;
  /** Micro-batch of the config, and the one the twin ran at. */
  configBatch: number;
  batch: number;
  scale: number;
  /** Each setting changed from the config to make the twin (probeVariant). */
  changes: string[];
  ok: boolean;
  maxErrorPct: number;
}

/** `TWIN MATCHES` / `TWIN OFF`: the verdict names the twin, never the PyTorch config. */
export function twinWord(ok: boolean): string {
  return ok ? 'TWIN MATCHES' : 'TWIN OFF';
}

/** One line on what the twin was: the changes and the scale. */
export function twinLine(f: TwinFacts): string {
  const scaled = f.scale !== 1 ? `batch ${f.configBatch} -> ${f.batch} (scale ${f.scale}; sequence-like dimensions shrink once the batch is 1)` : `batch ${f.batch} (not scaled)`;
  const changes = f.changes.length ? f.changes.join('; ') : 'no setting changed';
  return `probed: a TensorFlow.js twin on ${f.backend}: ${changes}; ${scaled}`;
}

/** The verdict and its scope: what matching (or missing) does and does not say about the PyTorch config. */
export function twinScope(f: TwinFacts): string[] {
  const verdict = f.ok
    ? `${twinWord(true)}: the twin's measured peak is within 1% of memplan's tfjs estimate of it (max ${f.maxErrorPct.toFixed(3)}%)`
    : `${twinWord(false)}: the twin's measured peak is off memplan's tfjs estimate of it by up to ${f.maxErrorPct.toFixed(3)}% (over 1%)`;
  const shows = f.ok
    ? 'shows: memplan\'s op rules (what each block saves and frees, and when) hold for this model graph as tfjs runs it'
    : 'shows: memplan\'s op rules miss this model graph as tfjs runs it; the PyTorch estimate rests on the same rules';
  const untested = ['PyTorch itself', ...f.changes.map((c) => c.split(' ->')[0]!.split(' (tfjs')[0]!.replace(/ off$/, '')), ...(f.scale !== 1 ? ['the full-size batch'] : []), 'the CUDA caching allocator and context'];
  return [verdict, shows, `does not show: the PyTorch config's bytes (${untested.join(', ')} are not exercised); npm run validate:torch measures PyTorch on CPU (docs/accuracy-pytorch.md)`];
}
