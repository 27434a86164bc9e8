/**
 * Picks the TensorFlow.js backend at run time. Everything here is loaded with dynamic import(), so
 * `estimate` and the library never load TensorFlow.js. Order when none is asked for:
 * @tensorflow/tfjs-node-gpu, @tensorflow/tfjs-node (both optional: install them yourself, their
 * install scripts download libtensorflow), then wasm (shipped in @tensorflow/tfjs-backend-wasm, the
 * default here), then the pure-JS cpu backend. wasm lacks UnsortedSegmentSum (the gradient of
 * gather: embeddings, gather_rows, scatter_add) and Conv2DBackpropFilter (conv weights); memplan
 * registers plain-JS versions (kernels.ts), so every model runs on wasm, 6x faster than cpu, with the
 * same bytes.
 */
import { MemplanError } from '../core/errors.js';
import { registerProbeKernels } from './kernels.js';

export type BackendChoice = 'node-gpu' | 'node' | 'wasm' | 'cpu';
export const BACKENDS: readonly BackendChoice[] = ['node-gpu', 'node', 'wasm', 'cpu'];

/** The parts of the tf namespace the probe uses (typed loosely: the namespace comes from one of several packages). */
export type Tf = typeof import('@tensorflow/tfjs');

export interface Backend {
  tf: Tf;
  choice: BackendChoice;
  /** tf.getBackend(): tensorflow, wasm or cpu. */
  name: string;
  gpu: boolean;
  notes: string[];
}

const PACKAGES: Record<BackendChoice, string> = {
  'node-gpu': '@tensorflow/tfjs-node-gpu',
  node: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs',
};

/** Kernels the wasm backend lacks (memplan supplies them), by the memplan op that needs them. */
export const WASM_MISSING: Record<string, string> = {
  embedding: 'UnsortedSegmentSum',
  gather_rows: 'UnsortedSegmentSum',
  scatter_add: 'UnsortedSegmentSum',
  conv: 'Conv2DBackpropFilter',
};

async function importOptional(pkg: string): Promise<Tf | undefined> {
  try {
    return (await import(pkg)) as Tf;
  } catch {
    return undefined;
  }
}

async function loadPure(choice: 'wasm' | 'cpu'): Promise<Tf> {
  const tf = (await import('@tensorflow/tfjs')) as Tf;
  // PROD silences the "install tfjs-node" banner tfjs prints in Node (it would corrupt --format json).
  tf.env().set('PROD', true);
  if (choice === 'wasm') await import('@tensorflow/tfjs-backend-wasm'); // registers 'wasm'; loads its .wasm from its own dist/
  registerProbeKernels(tf);
  if (!(await tf.setBackend(choice))) throw new MemplanError('E_PROBE', `the ${choice} backend failed to initialise`);
  await tf.ready();
  return tf;
}

/**
 * Loads the asked backend, or the first available in order. `supplied` names the kernels memplan
 * supplies for wasm that this model uses (said in the report).
 */
export async function loadBackend(want: BackendChoice | undefined, supplied: string[] = []): Promise<Backend> {
  const notes: string[] = [];
  const order: BackendChoice[] = want ? [want] : [...BACKENDS];
  for (const choice of order) {
    if (choice === 'node-gpu' || choice === 'node') {
      const tf = await importOptional(PACKAGES[choice]);
      if (!tf) {
        if (want) {
          throw new MemplanError('E_PROBE', `${PACKAGES[choice]} is not installed`, {
            hint: `npm install ${PACKAGES[choice]} (its install script downloads libtensorflow; needs access to storage.googleapis.com)`,
          });
        }
        continue;
      }
      tf.env().set('PROD', true);
      await tf.ready();
      notes.push('tfjs-node runs TensorFlow C++ kernels; the byte rules were derived on cpu/wasm (same engine accounting)');
      return { tf, choice, name: tf.getBackend(), gpu: choice === 'node-gpu', notes };
    }
    if (choice === 'wasm' && supplied.length) {
      notes.push(`wasm has no ${supplied.join(' or ')} kernel: memplan supplies a plain-JS one (same bytes; the engine counts kernel outputs alike)`);
    }
    return { tf: await loadPure(choice as 'wasm' | 'cpu'), choice, name: choice, gpu: false, notes };
  }
  throw new MemplanError('E_PROBE', 'no TensorFlow.js backend could be loaded');
}
