/**
 * Plain-JS kernels the probe registers so every model runs on the fast wasm backend:
 * - UnsortedSegmentSum (the gradient of gather: embeddings, gather_rows; and scatter_add), which
 *   wasm lacks; on cpu it replaces tfjs's kernel, which loops over every segment (O(segments x n):
 *   10 s a step for a 1000-word embedding).
 * - Conv2DBackpropFilter (the gradient of conv weights), which wasm lacks.
 * Kernels only compute values: the engine counts their outputs exactly as for built-in kernels, so
 * the measured bytes do not change (checked against the cpu backend's own kernels in the tests).
 */
/** TensorFlow.js's module type (backend.ts loads it and registers these kernels; naming it here keeps the two files out of a circle). */
type Tf = typeof import('@tensorflow/tfjs');

interface Info {
  dataId: object;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool';
}
interface KBackend {
  readSync(dataId: object): ArrayLike<number>;
  makeOutput?(shape: number[], dtype: string, memoryOffset: undefined, values: ArrayLike<number>): Info;
  makeTensorInfo?(shape: number[], dtype: string, values: ArrayLike<number>): Info;
}
interface KArgs {
  inputs: Record<string, Info>;
  backend: KBackend;
  attrs: Record<string, unknown>;
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function output(backend: KBackend, shape: number[], dtype: string, values: Float32Array | Int32Array): Info {
  // cpu has makeTensorInfo (its makeOutput has another signature); wasm has only makeOutput.
  if (backend.makeTensorInfo) return backend.makeTensorInfo(shape, dtype, values);
  return backend.makeOutput!(shape, dtype, undefined, values);
}

function unsortedSegmentSum({ inputs, backend, attrs }: KArgs): Info {
  const x = inputs.x!;
  const ids = inputs.segmentIds!;
  const n = attrs.numSegments as number;
  const xv = backend.readSync(x.dataId);
  const iv = backend.readSync(ids.dataId);
  const count = size(ids.shape);
  const inner = size(x.shape) / count;
  const out = x.dtype === 'int32' ? new Int32Array(n * inner) : new Float32Array(n * inner);
  for (let i = 0; i < count; i++) {
    const s = iv[i]!;
    if (s < 0 || s >= n) continue;
    const o = s * inner;
    const b = i * inner;
    for (let j = 0; j < inner; j++) out[o + j]! += xv[b + j]!;
  }
  return output(backend, [n, ...x.shape.slice(ids.shape.length)], x.dtype, out);
}

function makeConv2DBackpropFilter(tf: Tf) {
  return ({ inputs, backend, attrs }: KArgs): Info => {
    const x = inputs.x!;
    const dy = inputs.dy!;
    const filterShape = attrs.filterShape as [number, number, number, number];
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filterShape,
      attrs.strides as [number, number],
      1,
      attrs.pad as 'valid',
      attrs.dimRoundingMode as 'floor' | undefined,
      false,
      'channelsLast',
    );
    const [N, H, W, C] = x.shape as [number, number, number, number];
    const { outHeight: OH, outWidth: OW, outChannels: O, strideHeight: sh, strideWidth: sw, filterHeight: KH, filterWidth: KW } = info;
    const top = info.padInfo.top;
    const left = info.padInfo.left;
    const xv = backend.readSync(x.dataId);
    const dv = backend.readSync(dy.dataId);
    const dW = new Float32Array(KH * KW * C * O);
    for (let b = 0; b < N; b++) {
      for (let yr = 0; yr < OH; yr++) {
        for (let yc = 0; yc < OW; yc++) {
          const dBase = ((b * OH + yr) * OW + yc) * O;
          for (let kr = 0; kr < KH; kr++) {
            const xr = yr * sh - top + kr;
            if (xr < 0 || xr >= H) continue;
            for (let kc = 0; kc < KW; kc++) {
              const xc = yc * sw - left + kc;
              if (xc < 0 || xc >= W) continue;
              const xBase = ((b * H + xr) * W + xc) * C;
              const wBase = (kr * KW + kc) * C * O;
              for (let c = 0; c < C; c++) {
                const xval = xv[xBase + c]!;
                if (xval === 0) continue;
                const w = wBase + c * O;
                for (let o = 0; o < O; o++) dW[w + o]! += xval * dv[dBase + o]!;
              }
            }
          }
        }
      }
    }
    return output(backend, [...filterShape], 'float32', dW);
  };
}

let registered = false;

/** Registers the kernels once per process (tfjs's kernel registry is global). */
export function registerProbeKernels(tf: Tf): void {
  if (registered) return;
  registered = true;
  const reg = (kernelName: string, backendName: string, kernelFunc: (a: KArgs) => Info) => {
    if (tf.getKernel(kernelName, backendName)) tf.unregisterKernel(kernelName, backendName);
    tf.registerKernel({ kernelName, backendName, kernelFunc: kernelFunc as never });
  };
  reg('UnsortedSegmentSum', 'wasm', unsortedSegmentSum);
  reg('UnsortedSegmentSum', 'cpu', unsortedSegmentSum);
  reg('Conv2DBackpropFilter', 'wasm', makeConv2DBackpropFilter(tf));
}
