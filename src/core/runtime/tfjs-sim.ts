/**
 * Byte-exact simulation of TensorFlow.js 4.22's memory accounting (tf.memory().numBytes and
 * tf.profile().peakBytes, identical on the cpu and wasm backends) for one training step done with
 * `optimizer.minimize(loss, false, varList)`. It mirrors the engine: every handle counts in full
 * (reshape and clone too); the peak is sampled only at kernel ends; each op is a scope that frees
 * what it made and does not return; with the tape on, each kernel clones what its gradient needs and
 * keeps the clones until backward ends; forward intermediates live until the forward scope ends;
 * backward keeps gradients of every intermediate until it ends; the optimizer runs as tfjs's does.
 * The model runs through tfjs-lower.ts, the same op sequence the probe executes for real.
 * Rules and measurements: docs/accuracy.md.
 */
import { MemplanError } from '../errors.js';
import { numel } from '../graph.js';
import type { OpRec, Trace } from '../tracer.js';
import { lowerOp, tfDtype, tfjsUnsupported, type LowerCtx, type TfDtype, type TfOps } from './tfjs-lower.js';

const BPE: Record<TfDtype, number> = { float32: 4, int32: 4, bool: 1 };

export class ST {
  alive = true;
  tracked = false;
  saved = false;
  constructor(
    readonly shape: readonly number[],
    readonly dtype: TfDtype,
    readonly id: number,
  ) {}
  get bytes(): number {
    return numel(this.shape) * BPE[this.dtype];
  }
  get rank(): number {
    return this.shape.length;
  }
}

type Ins = Record<string, ST>;
type GradFn = (dy: ST, saved: ST[]) => Record<string, () => ST>;
interface TapeNode {
  name: string;
  inputs: Ins;
  outputs: ST[];
  saved: ST[];
  grad: GradFn | null;
}
interface Save {
  inputs?: string[];
  outputs?: number[];
}

function bcast(a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  const o: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    o.push(x === 1 ? y : x);
  }
  return o;
}
function reduceAxes(inShape: readonly number[], outShape: readonly number[]): number[] {
  const ax: number[] = [];
  for (let i = 0; i < outShape.length; i++) {
    const inDim = inShape[inShape.length - outShape.length + i];
    if (inDim === undefined || (inDim === 1 && outShape[i]! > 1)) ax.push(i);
  }
  return ax;
}
function normAxes(axis: number | number[] | null, rank: number): number[] {
  if (axis === null) return [...Array(rank).keys()];
  return (Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a));
}
function redShape(shape: readonly number[], axes: number[], keep: boolean): number[] {
  return keep ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
}
function flat(r: unknown): ST[] {
  if (r == null) return [];
  if (r instanceof ST) return [r];
  if (Array.isArray(r)) return r.flatMap(flat);
  if (typeof r === 'object') return Object.values(r as object).flatMap(flat);
  return [];
}

export interface SavedClone {
  block: number;
  what: string;
  shape: readonly number[];
  dtype: TfDtype;
  bytes: number;
}

export interface PhaseBytes {
  forward: number;
  backward: number;
  optimizer: number;
  /** Saved clones alive when forward ended. */
  savedAfterForward: number;
  savedByBlock: number[];
  /** The largest of them. */
  savedItems: SavedClone[];
}

/** The engine: live bytes over the step's baseline, scopes, kept tensors, the tape. */
export class TfjsSim implements TfOps<ST> {
  L = 0;
  peak = 0;
  peakAt = '';
  savedL = 0;
  savedAtPeak = 0;
  block = 0;
  /** The memplan op being run (for the saved-tensor list). */
  opLabel = '';
  private nextId = 1;
  private scopes: ST[][] = [];
  private kept = new Set<ST>();
  private tapeOn = false;
  private tape: TapeNode[] = [];
  private kernelDepth = 0;
  private savedBlock = new Map<ST, number>();
  private savedWhat = new Map<ST, string>();

  /** An allocation made before the step (weights, inputs): part of the baseline, never counted. */
  constant(shape: readonly number[], dtype: TfDtype = 'float32'): ST {
    return new ST(shape, dtype, this.nextId++);
  }
  resetStep(): void {
    this.L = 0;
    this.peak = 0;
    this.savedL = 0;
    this.kept = new Set();
  }

  // ---- engine primitives
  private track(t: ST): ST {
    t.tracked = true;
    this.L += t.bytes;
    this.scopes[this.scopes.length - 1]?.push(t);
    return t;
  }
  dispose(t: ST | undefined): void {
    if (t && t.alive && t.tracked) {
      t.alive = false;
      this.L -= t.bytes;
      if (t.saved) this.savedL -= t.bytes;
    }
  }
  private make(shape: readonly number[], dtype: TfDtype = 'float32'): ST {
    return this.track(new ST(shape, dtype, this.nextId++));
  }
  private snap(name: string): void {
    if (this.L > this.peak) {
      this.peak = this.L;
      this.peakAt = name;
      this.savedAtPeak = this.savedL;
    }
  }
  scope<R>(fn: () => R): R {
    this.scopes.push([]);
    const r = fn();
    const s = this.scopes.pop()!;
    const res = new Set(flat(r));
    for (const t of s) {
      if (res.has(t) || this.kept.has(t)) {
        if (res.has(t) && this.scopes.length && !this.kept.has(t)) this.scopes[this.scopes.length - 1]!.push(t);
      } else this.dispose(t);
    }
    return r;
  }
  private keep(t: ST): ST {
    this.kept.add(t);
    return t;
  }
  private saveClone(t: ST, what: string): ST {
    const c = this.keep(this.make(t.shape, t.dtype));
    c.saved = true;
    this.savedL += c.bytes;
    this.savedBlock.set(c, this.block);
    this.savedWhat.set(c, `${this.opLabel} ${what}`);
    return c;
  }
  private kernel(name: string, inputs: Ins, outSpecs: [readonly number[], TfDtype?][], save: Save | null, grad: GradFn | null): ST {
    const outs = outSpecs.map(([shape, dtype]) => this.make(shape, dtype ?? 'float32'));
    let saved: ST[] = [];
    const tapeOn = this.tapeOn && this.kernelDepth === 0;
    if (tapeOn && save) {
      const named = [...(save.inputs ?? []).map((n) => [inputs[n]!, `input ${n}`] as const), ...(save.outputs ?? []).map((i) => [outs[i]!, 'output'] as const)];
      saved = named.map(([t, role]) => this.saveClone(t, `${name} ${role}`));
    }
    this.snap(name);
    if (tapeOn) this.tape.push({ name, inputs, outputs: outs, saved, grad });
    return outs[0]!;
  }
  /** customGrad op: the forward runs with the tape off; save() clones and keeps. */
  private custom(name: string, inputs: Ins, forward: (save: (ts: ST[]) => void) => { value: ST; gradFunc: (dy: ST, saved: ST[]) => ST }): ST {
    const tapeOn = this.tapeOn && this.kernelDepth === 0;
    let saved: ST[] = [];
    let gradFunc: ((dy: ST, saved: ST[]) => ST) | undefined;
    this.kernelDepth++;
    const out = this.scope(() => {
      const r = forward((ts) => {
        if (tapeOn) {
          saved = ts.map((t) => {
            const c = this.saveClone(t, `${name} saved value`);
            this.snap('Identity');
            return c;
          });
        }
      });
      gradFunc = r.gradFunc;
      return r.value;
    });
    this.kernelDepth--;
    this.snap(name);
    if (tapeOn) {
      const gf = gradFunc!;
      this.tape.push({
        name, inputs, outputs: [out], saved,
        grad: (dy, sv) => {
          const g = gf(dy, sv);
          const m: Record<string, () => ST> = {};
          for (const k of Object.keys(inputs)) m[k] = () => g;
          return m;
        },
      });
    }
    return out;
  }

  /** engine.gradients: forward tidy, backward tidy; returns the loss and the gradients (undefined off-path). */
  gradients(f: () => ST, xs: ST[]): { value: ST; grads: (ST | undefined)[]; phase: Omit<PhaseBytes, 'optimizer'> } {
    this.tapeOn = true;
    this.tape = [];
    this.savedBlock = new Map();
    this.savedWhat = new Map();
    const p0 = this.peak;
    this.peak = 0;
    const y = this.scope(f);
    this.tapeOn = false;
    const forward = this.peak;
    const savedAfterForward = this.savedL;
    const savedByBlock: number[] = [];
    for (const [t, b] of this.savedBlock) if (t.alive) savedByBlock[b] = (savedByBlock[b] ?? 0) + t.bytes;
    const savedItems: SavedClone[] = [];
    for (const [t, b] of this.savedBlock) if (t.alive) savedItems.push({ block: b, what: this.savedWhat.get(t) ?? '', shape: t.shape, dtype: t.dtype, bytes: t.bytes });
    savedItems.sort((a, b) => b.bytes - a.bytes);
    const fwdAt = this.peakAt;
    const fwdSaved = this.savedAtPeak;
    this.peak = 0;
    const filtered = filterTape(this.tape, xs, y);
    const res = this.scope(() => {
      const acc = new Map<number, ST>();
      acc.set(y.id, this.make(y.shape)); // ones(y.shape): no kernel
      for (let i = filtered.length - 1; i >= 0; i--) {
        const node = filtered[i]!;
        const dy = acc.get(node.outputs[0]!.id)!;
        const ig = node.grad!(dy, node.saved);
        for (const name of Object.keys(node.inputs)) {
          const dx = this.scope(() => ig[name]!());
          const x = node.inputs[name]!;
          const cur = acc.get(x.id);
          if (!cur) acc.set(x.id, dx);
          else {
            acc.set(x.id, this.add(cur, dx));
            this.dispose(cur);
          }
        }
      }
      const grads = xs.map((x) => acc.get(x.id));
      for (const node of this.tape) for (const t of node.saved) this.dispose(t);
      this.tape = [];
      return [y, ...grads];
    });
    const backward = this.peak;
    if (forward >= backward) {
      this.peakAt = fwdAt;
      this.savedAtPeak = fwdSaved;
    }
    this.peak = Math.max(p0, forward, backward);
    return { value: res[0]!, grads: res.slice(1), phase: { forward, backward, savedAfterForward, savedByBlock, savedItems: savedItems.slice(0, 50) } };
  }

  // ---- ops (each mirrors the tfjs 4.22 op, wrapped in its op scope)
  private num(x: ST | number, dtype: TfDtype = 'float32'): ST {
    return typeof x === 'number' ? this.make([], dtype) : x;
  }
  private op<R>(fn: () => R): R {
    return this.scope(fn);
  }
  private binary(kname: string, a0: ST | number, b0: ST | number, gradFn: GradFn | null): ST {
    return this.op(() => {
      const a = this.num(a0);
      const b = this.num(b0);
      return this.kernel(kname, { a, b }, [[bcast(a.shape, b.shape)]], gradFn ? { inputs: ['a', 'b'] } : null, gradFn);
    });
  }
  private unary(kname: string, x: ST, save: Save | null, grad: GradFn | null, dtype?: TfDtype): ST {
    return this.op(() => this.kernel(kname, { x }, [[x.shape, dtype]], save, grad));
  }
  private reduceTo(res: ST, shape: readonly number[], outShape: readonly number[]): ST {
    const ax = reduceAxes(shape, outShape);
    if (ax.length) res = this.sumK(res, ax, false);
    return this.reshape(res, [...shape]);
  }
  shape(x: ST): readonly number[] {
    return x.shape;
  }
  add(a: ST, b: ST | number): ST {
    return this.binary('Add', a, b, (dy, [sa, sb]) => {
      const o = bcast(sa!.shape, sb!.shape);
      return { a: () => this.reduceTo(dy, sa!.shape, o), b: () => this.reduceTo(dy, sb!.shape, o) };
    });
  }
  sub(a: ST | number, b: ST): ST {
    return this.binary('Sub', a, b, (dy, [sa, sb]) => {
      const o = bcast(sa!.shape, sb!.shape);
      return {
        a: () => this.reduceTo(dy, sa!.shape, o),
        b: () => {
          let r = dy;
          const ax = reduceAxes(sb!.shape, o);
          if (ax.length) r = this.sumK(r, ax, false);
          return this.reshape(this.neg(r), [...sb!.shape]);
        },
      };
    });
  }
  mul(a: ST, b: ST | number): ST {
    return this.binary('Multiply', a, b, (dy, [sa, sb]) => {
      const o = bcast(sa!.shape, sb!.shape);
      const d = (other: ST, self: ST) => () => {
        const r = this.mul(dy, this.cast(other));
        const ax = reduceAxes(self.shape, o);
        return ax.length ? this.reshape(this.sumK(r, ax, false), [...self.shape]) : r;
      };
      return { a: d(sb!, sa!), b: d(sa!, sb!) };
    });
  }
  private div(a: ST, b: ST | number): ST {
    return this.binary('RealDiv', a, b, (dy, [sa, sb]) => {
      const o = bcast(sa!.shape, sb!.shape);
      return {
        a: () => {
          const r = this.div(dy, this.cast(sb!));
          const ax = reduceAxes(sa!.shape, o);
          return ax.length ? this.reshape(this.sumK(r, ax, false), [...sa!.shape]) : r;
        },
        b: () => {
          let r = this.mul(dy, this.cast(sa!));
          const ax = reduceAxes(sb!.shape, o);
          if (ax.length) r = this.reshape(this.sumK(r, ax, false), [...sb!.shape]);
          const tmp = this.square(sb!);
          return this.neg(this.div(r, this.cast(tmp)));
        },
      };
    });
  }
  private maximum(a: ST, b: ST): ST {
    return this.op(() => this.kernel('Maximum', { a, b }, [[bcast(a.shape, b.shape), a.dtype]], { inputs: ['a', 'b'] }, null));
  }
  private greaterEqual(a: ST, b0: ST | number): ST {
    return this.op(() => {
      const b = this.num(b0, 'int32');
      return this.kernel('GreaterEqual', { a, b }, [[bcast(a.shape, b.shape), 'bool']], { inputs: ['a', 'b'] }, null);
    });
  }
  private logicalAnd(a: ST, b: ST): ST {
    return this.op(() => this.kernel('LogicalAnd', { a, b }, [[bcast(a.shape, b.shape), 'bool']], null, null));
  }
  /** broadcastTo: same size => clone() (an Identity kernel, full bytes), else Tile. */
  private broadcastTo(x: ST, shape: number[]): ST {
    return this.op(() => (numel(x.shape) === numel(shape) ? this.clone(x) : this.kernel('Tile', { x }, [[shape, x.dtype]], null, null)));
  }
  private where(c: ST, a: ST, b: ST): ST {
    return this.op(() => {
      const sh = bcast(bcast(c.shape, a.shape), b.shape);
      const bc = this.broadcastTo(c, sh);
      const ba = this.broadcastTo(a, sh);
      const bb = this.broadcastTo(b, sh);
      return this.kernel('Select', { condition: bc, t: ba, e: bb }, [[sh]], { inputs: ['condition'] }, null);
    });
  }
  neg(x: ST): ST {
    return this.unary('Neg', x, null, (dy) => ({ x: () => this.neg(dy) }));
  }
  private cast(x: ST, dtype: TfDtype = 'float32'): ST {
    return this.unary('Cast', x, null, (dy) => ({ x: () => this.clone(dy) }), dtype);
  }
  private clone(x: ST): ST {
    return this.op(() => this.kernel('Identity', { x }, [[x.shape, x.dtype]], null, (dy) => ({ x: () => this.cast(dy) })));
  }
  private step(x: ST): ST {
    return this.unary('Step', x, null, null);
  }
  private floor(x: ST): ST {
    return this.unary('Floor', x, null, null);
  }
  square(x: ST): ST {
    return this.unary('Square', x, { inputs: ['x'] }, (dy, [sx]) => ({ x: () => this.mul(dy, this.mul(this.cast(sx!), 2)) }));
  }
  private sqrt(x: ST): ST {
    return this.unary('Sqrt', x, { inputs: ['x'] }, (dy, [sx]) => ({ x: () => this.div(dy, this.mul(this.sqrt(this.cast(sx!)), 2)) }));
  }
  rsqrt(x: ST): ST {
    return this.unary('Rsqrt', x, { inputs: ['x'] }, (dy, [sx]) => ({ x: () => this.neg(this.div(dy, this.mul(this.pow(sx!, 1.5), 2))) }));
  }
  private exp(x: ST): ST {
    return this.unary('Exp', x, { outputs: [0] }, (dy, [y]) => ({ x: () => this.mul(dy, y!) }));
  }
  private log(x: ST): ST {
    return this.unary('Log', x, { inputs: ['x'] }, (dy, [sx]) => ({ x: () => this.div(dy, this.cast(sx!)) }));
  }
  relu(x: ST): ST {
    return this.unary('Relu', x, { inputs: ['x'] }, (dy, [sx]) => ({ x: () => this.mul(dy, this.cast(this.step(sx!))) }));
  }
  sigmoid(x: ST): ST {
    return this.unary('Sigmoid', x, { outputs: [0] }, (dy, [y]) => ({ x: () => this.mul(dy, this.mul(y!, this.sub(this.make([]), y!))) }));
  }
  tanh(x: ST): ST {
    return this.unary('Tanh', x, { outputs: [0] }, (dy, [y]) => ({ x: () => this.mul(this.sub(this.make([]), this.square(y!)), dy) }));
  }
  private pow(a0: ST, b0: ST | number): ST {
    return this.op(() => {
      const a = this.num(a0);
      const b = this.num(b0);
      return this.kernel('Pow', { a, b }, [[bcast(a.shape, b.shape)]], { inputs: ['a', 'b'], outputs: [0] }, (dy, [sa, sb]) => {
        const o = bcast(sa!.shape, sb!.shape);
        return {
          a: () => {
            const ef = this.cast(sb!);
            let r = this.mul(dy, this.mul(ef, this.pow(sa!, this.sub(ef, this.make([])))));
            const ax = reduceAxes(sa!.shape, o);
            if (ax.length) r = this.sumK(r, ax, false);
            return this.reshape(r, [...sa!.shape]);
          },
        };
      });
    });
  }
  softmax(x: ST): ST {
    return this.op(() =>
      this.kernel('Softmax', { logits: x }, [[x.shape]], { outputs: [0] }, (dy, [y]) => {
        const dyy = this.mul(dy, y!);
        return { logits: () => this.sub(dyy, this.mul(this.sumK(dyy, [y!.rank - 1], true), y!)) };
      }),
    );
  }
  logSoftmax(x: ST): ST {
    return this.op(() =>
      this.custom('logSoftmax', { 0: x }, (save) => {
        const ax = x.rank - 1;
        const xMax = this.max(x, ax, true);
        const shifted = this.sub(x, xMax);
        const value = this.sub(this.cast(shifted), this.log(this.sumK(this.exp(shifted), [ax], true)));
        save([value]);
        return {
          value,
          gradFunc: (dy, [v]) => {
            const sm = this.exp(v!);
            return this.sub(dy, this.mul(this.sumK(dy, [ax], true), sm));
          },
        };
      }),
    );
  }
  private max(x: ST, axis: number, keep: boolean): ST {
    return this.op(() => this.kernel('Max', { x }, [[redShape(x.shape, normAxes(axis, x.rank), keep)]], { inputs: ['x'], outputs: [0] }, null));
  }
  private sumK(x: ST, axis: number[] | null, keep: boolean): ST {
    return this.op(() => {
      const ax = normAxes(axis, x.rank);
      return this.kernel('Sum', { x }, [[redShape(x.shape, ax, keep)]], { inputs: ['x'] }, (dy, [sx]) => {
        const e = this.reshape(dy, redShape(sx!.shape, ax, true));
        const d = this.mul(e, this.make(sx!.shape));
        return { x: () => d };
      });
    });
  }
  sum(x: ST, axis: number): ST {
    return this.sumK(x, [axis], false);
  }
  private meanK(x: ST, axis: number[] | null, keep: boolean): ST {
    return this.op(() => {
      const ax = normAxes(axis, x.rank);
      return this.kernel('Mean', { x }, [[redShape(x.shape, ax, keep)]], { inputs: ['x'] }, (dy, [sx]) => ({
        x: () => {
          const e = this.reshape(dy, redShape(sx!.shape, ax, true));
          return this.div(this.mul(e, this.make(sx!.shape)), numel(ax.map((a) => sx!.shape[a]!)));
        },
      }));
    });
  }
  mean(x: ST, axis?: number): ST {
    return this.meanK(x, axis === undefined ? null : [axis], false);
  }
  moments(x: ST, axes: number[]): { mean: ST; variance: ST } {
    return this.op(() => {
      const ax = normAxes(axes, x.rank);
      const m = this.meanK(x, ax, true);
      const dev = this.square(this.sub(this.cast(x), this.reshape(m, redShape(x.shape, ax, true))));
      const v = this.meanK(dev, ax, true);
      return { mean: m, variance: v };
    });
  }
  reshape(x: ST, shape: number[]): ST {
    return this.op(() => this.kernel('Reshape', { x }, [[shape, x.dtype]], { inputs: ['x'] }, (dy, [sx]) => ({ x: () => this.reshape(dy, [...sx!.shape]) })));
  }
  transpose(x: ST, perm: number[]): ST {
    return this.op(() => {
      const undo = perm.map((_, i) => perm.indexOf(i));
      return this.kernel('Transpose', { x }, [[perm.map((p) => x.shape[p]!), x.dtype]], null, (dy) => ({ x: () => this.transpose(dy, undo) }));
    });
  }
  matMul(a: ST, b: ST, tA: boolean, tB: boolean): ST {
    return this.op(() => {
      const r = a.rank;
      const m = tA ? a.shape[r - 1]! : a.shape[r - 2]!;
      const n = tB ? b.shape[r - 2]! : b.shape[r - 1]!;
      return this.kernel('BatchMatMul', { a, b }, [[[...a.shape.slice(0, r - 2), m, n]]], { inputs: ['a', 'b'] }, (dy, [sa, sb]) => {
        if (!tA && !tB) return { a: () => this.matMul(dy, sb!, false, true), b: () => this.matMul(sa!, dy, true, false) };
        if (!tA && tB) return { a: () => this.matMul(dy, sb!, false, false), b: () => this.matMul(dy, sa!, true, false) };
        if (tA && !tB) return { a: () => this.matMul(sb!, dy, false, true), b: () => this.matMul(sa!, dy, false, false) };
        return { a: () => this.matMul(sb!, dy, true, true), b: () => this.matMul(dy, sa!, true, true) };
      });
    });
  }
  concat(xs: ST[], axis: number): ST {
    return this.op(() => {
      const ax = axis < 0 ? axis + xs[0]!.rank : axis;
      const shape = [...xs[0]!.shape];
      shape[ax] = xs.reduce((s, t) => s + t.shape[ax]!, 0);
      const inputs: Ins = {};
      xs.forEach((t, i) => (inputs[i] = t));
      return this.kernel('Concat', inputs, [[shape]], { inputs: Object.keys(inputs) }, (dy, saved) => {
        const parts = this.split(dy, saved.map((t) => t.shape[ax]!), ax);
        const m: Record<string, () => ST> = {};
        parts.forEach((p, i) => (m[i] = () => p));
        return m;
      });
    });
  }
  private split(x: ST, sizes: number[], axis: number): ST[] {
    return this.op(() => {
      const outs = sizes.map((s) => this.make(x.shape.map((d, i) => (i === axis ? s : d))));
      this.snap('SplitV');
      return outs;
    });
  }
  slice(x: ST, _begin: number[], size: number[]): ST {
    return this.op(() =>
      this.kernel('Slice', { x }, [[size]], { inputs: ['x'] }, (dy, [sx]) => ({
        x: () => this.op(() => this.kernel('PadV2', { x: dy }, [[sx!.shape]], null, null)),
      })),
    );
  }
  private zerosLike(x: ST): ST {
    return this.op(() => this.kernel('ZerosLike', { x }, [[x.shape, x.dtype]], null, null));
  }
  dropout(x: ST, rate: number): ST {
    return this.op(() => {
      const keep = 1 - rate;
      const mult = this.div(this.floor(this.add(this.make(x.shape), keep)), keep); // randomUniform: no kernel
      return this.mul(x, mult);
    });
  }
  gather(x: ST, idx: ST): ST {
    return this.op(() =>
      this.kernel('GatherV2', { x, indices: idx }, [[[...idx.shape, ...x.shape.slice(1)], x.dtype]], { inputs: ['x', 'indices'] }, (dy, [sx, si]) => ({
        x: () => {
          const n = numel(si!.shape);
          const vals = this.reshape(dy, [n, ...sx!.shape.slice(1)]);
          const ri = this.reshape(si!, [n]);
          const vt = this.transpose(vals, [...vals.shape.keys()]);
          const g = this.unsortedSegmentSum(vt, ri, sx!.shape[0]!);
          return this.transpose(g, [...g.shape.keys()]);
        },
        indices: () => si!,
      })),
    );
  }
  unsortedSegmentSum(x: ST, ids: ST, n: number): ST {
    return this.op(() =>
      this.kernel('UnsortedSegmentSum', { x, segmentIds: ids }, [[[n, ...x.shape.slice(ids.rank)]]], { inputs: ['segmentIds'] }, (dy, [sids]) => ({
        x: () => {
          const zc = this.maximum(sids!, this.zerosLike(sids!));
          const gathered = this.gather(dy, zc);
          let pos = this.greaterEqual(sids!, 0);
          for (let i = 0; i < gathered.rank - pos.rank; ++i) {
            const p = pos;
            pos = this.op(() => this.kernel('ExpandDims', { input: p }, [[[...p.shape, 1], 'bool']], null, null));
          }
          pos = this.logicalAnd(pos, this.make(gathered.shape, 'bool'));
          const zs = this.zerosLike(gathered);
          return this.where(pos, gathered, zs);
        },
        segmentIds: () => sids!,
      })),
    );
  }
  conv2d(x: ST, f: ST, strides: [number, number], pad: [number, number]): ST {
    return this.op(() => {
      const [N, H, W] = x.shape as [number, number, number];
      const oh = Math.floor((H + 2 * pad[0] - f.shape[0]!) / strides[0]) + 1;
      const ow = Math.floor((W + 2 * pad[1] - f.shape[1]!) / strides[1]) + 1;
      return this.kernel('Conv2D', { x, filter: f }, [[[N, oh, ow, f.shape[3]!]]], { inputs: ['x', 'filter'] }, (dy, [sx, sf]) => ({
        x: () => this.op(() => this.kernel('Conv2DBackpropInput', { dy, filter: sf! }, [[sx!.shape]], null, null)),
        filter: () => this.op(() => this.kernel('Conv2DBackpropFilter', { x: sx!, dy }, [[sf!.shape]], null, null)),
      }));
    });
  }
  pool(kind: 'max' | 'avg', x: ST, size: [number, number], strides: [number, number]): ST {
    const out = [x.shape[0]!, Math.floor((x.shape[1]! - size[0]) / strides[0]) + 1, Math.floor((x.shape[2]! - size[1]) / strides[1]) + 1, x.shape[3]!];
    if (kind === 'max') {
      return this.op(() =>
        this.kernel('MaxPool', { x }, [[out]], { inputs: ['x'], outputs: [0] }, (_dy, [sx]) => ({
          x: () => this.op(() => this.kernel('MaxPoolGrad', {}, [[sx!.shape]], null, null)),
        })),
      );
    }
    return this.op(() => {
      const r = this.kernel('AvgPool', { x }, [[out]], { inputs: ['x'] }, (_dy, [sx]) => ({
        x: () => this.op(() => this.kernel('AvgPoolGrad', {}, [[sx!.shape]], null, null)),
      }));
      return this.cast(r);
    });
  }
  fill(shape: number[], dtype: TfDtype): ST {
    return this.op(() => this.kernel('Fill', {}, [[shape, dtype]], null, null));
  }

  // ---- optimizers (applyGradients), as tfjs 4.22 implements them
  private variable(t: ST): ST {
    const v = new ST(t.shape, t.dtype, this.nextId++);
    v.tracked = true;
    this.L += v.bytes;
    this.kept.add(v);
    return v;
  }
  adam(vars: ST[], grads: ST[], state: { m?: ST[]; v?: ST[] }): void {
    const m = (state.m ??= []);
    const vs = (state.v ??= []);
    const accB1 = this.constant([]);
    const accB2 = this.constant([]);
    this.scope(() => {
      const om1 = this.sub(1, accB1);
      const om2 = this.sub(1, accB2);
      vars.forEach((v, i) => {
        m[i] ??= this.scope(() => this.variable(this.zerosLike(v)));
        vs[i] ??= this.scope(() => this.variable(this.zerosLike(v)));
        const g = grads[i]!;
        const nm = this.add(this.mul(m[i]!, 0.9), this.mul(g, 0.1));
        const nv = this.add(this.mul(vs[i]!, 0.999), this.mul(this.square(g), 0.001));
        const bc1 = this.div(nm, om1);
        const bc2 = this.div(nv, om2);
        this.add(this.mul(this.div(bc1, this.add(this.sqrt(bc2), 1e-7)), -0.001), v);
      });
      this.mul(accB1, 0.9);
      this.mul(accB2, 0.999);
    });
  }
  sgd(vars: ST[], grads: ST[]): void {
    const c = this.constant([]);
    // The tidy returns nothing: the new value is assigned to the variable and the temporaries freed.
    vars.forEach((v, i) =>
      this.scope(() => {
        this.add(this.mul(c, grads[i]!), v);
      }),
    );
  }
  momentum(vars: ST[], grads: ST[], state: { acc?: ST[] }): void {
    const acc = (state.acc ??= []);
    const mom = this.constant([]);
    const c = this.constant([]);
    vars.forEach((v, i) => {
      acc[i] ??= this.scope(() => this.variable(this.zerosLike(v)));
      this.scope(() => {
        const na = this.add(this.mul(mom, acc[i]!), grads[i]!);
        this.add(this.mul(c, na), v);
      });
    });
  }
}

function filterTape(tape: TapeNode[], xs: ST[], y: ST): TapeNode[] {
  const fromX = new Set(xs.map((x) => x.id));
  const nodesFromX = new Set<TapeNode>();
  for (const n of tape) {
    for (const k in n.inputs) {
      if (fromX.has(n.inputs[k]!.id)) {
        n.outputs.forEach((o) => fromX.add(o.id));
        nodesFromX.add(n);
        break;
      }
    }
  }
  const toY = new Set([y.id]);
  const nodesToY = new Set<TapeNode>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const n = tape[i]!;
    if (n.outputs.some((o) => toY.has(o.id))) {
      for (const k in n.inputs) toY.add(n.inputs[k]!.id);
      nodesToY.add(n);
    }
  }
  const out: TapeNode[] = [];
  for (const n of tape) {
    if (nodesFromX.has(n) && nodesToY.has(n)) {
      const pruned: Ins = {};
      for (const k in n.inputs) if (fromX.has(n.inputs[k]!.id)) pruned[k] = n.inputs[k]!;
      out.push({ ...n, inputs: pruned });
    }
  }
  return out;
}

// ---------------------------------------------------------------- the training step over a trace

export type TfjsOptimizer = 'sgd' | 'momentum' | 'adam';

export interface TfjsStep {
  /** Peak bytes over the step's baseline (what tf.profile(step).peakBytes - numBytes before measures). */
  peak: number;
  phase: 'forward' | 'backward' | 'optimizer step';
  at: string;
  forward: number;
  backward: number;
  optimizer: number;
  /** Saved-for-backward clones alive at the peak (0 in the optimizer phase). */
  savedAtPeak: number;
  savedAfterForward: number;
  savedByBlock: number[];
  savedItems: SavedClone[];
  /** Bytes the step leaves allocated (optimizer state created at step 1). */
  newBytes: number;
}

export interface TfjsRun {
  steps: TfjsStep[];
  /** Baseline before step 1: weights, inputs as tfjs holds them, persistent stand-ins. */
  weights: number;
  inputs: number;
  buffers: number;
  /** Trainable parameters that get a gradient (tfjs updates only those). */
  trainedParams: number;
  untrainedParams: string[];
  notes: string[];
}

/** Which tfjs optimizer runs a memplan optimizer, or why none can. */
export function tfjsOptimizer(type: string): { opt: TfjsOptimizer; note?: string } {
  if (type === 'sgd') return { opt: 'sgd' };
  if (type === 'sgd-momentum') return { opt: 'momentum' };
  if (type === 'adam') return { opt: 'adam' };
  if (type === 'adamw') return { opt: 'adam', note: 'tfjs has no AdamW: tf.train.adam runs instead (same state and temporaries; weight decay is not applied)' };
  throw new MemplanError('E_CONFIG', `optimizer ${type} has no TensorFlow.js implementation`, {
    path: 'optimizer',
    expected: 'sgd, sgd-momentum, adam or adamw with runtime: tfjs',
  });
}

/** Checks that every op of the trace can run in tfjs (the probe and the estimator refuse the same things). */
export function checkTfjsTrace(trace: Trace): void {
  for (const op of trace.ops) {
    const why = tfjsUnsupported(op.kind, op.kind === 'conv' || op.kind === 'pool' ? op.inputs[0]!.shape.length : undefined, op.output.dtype, op.attrs);
    if (why) throw new MemplanError('E_CONFIG', `${op.scope || 'model'}: ${why}`, { path: 'runtime', hint: 'use runtime: pytorch for this model' });
  }
  if (!trace.loss) {
    throw new MemplanError('E_CONFIG', 'the model has nothing to train (no loss on a trainable path)', { path: 'blocks' });
  }
}

/** Cross-entropy targets are held as float one-hot [..., classes]: input id -> classes. */
export function oneHotTargets(trace: Trace): Map<number, number> {
  const m = new Map<number, number>();
  for (const op of trace.ops) {
    if (op.kind === 'loss' && op.attrs.loss === 'cross_entropy') {
      const t = op.inputs[1]!;
      m.set(t.id, t.maxValue ?? 1);
    }
  }
  return m;
}

/** Chunk-view offsets: consecutive views of one source advance along the chunked axis. */
export function sliceOffsets<X>(): LowerCtx<X> {
  const next = new Map<X, number>();
  return {
    sliceOffset(src, _axis, len) {
      const at = next.get(src) ?? 0;
      next.set(src, at + len);
      return at;
    },
  };
}

/** Replays the traced forward on `o` (used by the simulator; the probe runs the builder instead). */
function replay(sim: TfjsSim, ops: readonly OpRec[], env: Map<number, ST>): ST {
  const ctx = sliceOffsets<ST>();
  let last: ST | undefined;
  for (const op of ops) {
    sim.block = op.block;
    sim.opLabel = `${op.scope} ${op.kind}`.trim();
    const ins = op.kind === 'tensor' && op.attrs.lifetime === 'persistent' ? [env.get(op.output.id)!] : op.inputs.map((t) => env.get(t.id)!);
    last = lowerOp<ST>(sim, ctx, op.kind, ins, op.attrs, op.output.shape, op.output.dtype);
    env.set(op.output.id, last);
  }
  return last!;
}

/** Simulates `steps` training steps (step 1 creates optimizer state) of the traced model. */
export function simulateTfjs(trace: Trace, optimizer: TfjsOptimizer, steps = 2): TfjsRun {
  checkTfjsTrace(trace);
  const sim = new TfjsSim();
  const env = new Map<number, ST>();
  const notes: string[] = [];
  let weights = 0;
  let inputs = 0;
  let buffers = 0;
  for (const p of trace.params) {
    const c = sim.constant(p.shape);
    env.set(p.id, c);
    weights += c.bytes;
  }
  const oneHot = oneHotTargets(trace);
  for (const t of trace.inputs) {
    const classes = oneHot.get(t.id);
    const c = classes ? sim.constant([...t.shape, classes]) : sim.constant(t.shape, tfDtype(t.dtype));
    env.set(t.id, c);
    inputs += c.bytes;
  }
  for (const op of trace.ops) {
    if (op.kind === 'tensor' && op.attrs.lifetime === 'persistent') {
      const c = sim.constant(op.output.shape, tfDtype(op.output.dtype));
      env.set(op.output.id, c);
      buffers += c.bytes;
    }
  }
  const trainable = trace.params.filter((p) => p.requiresGrad);
  const vars = trainable.map((p) => env.get(p.id)!);
  const state = {};
  const out: TfjsStep[] = [];
  let trained: ST[] = [];
  let untrained: string[] = [];
  for (let s = 0; s < steps; s++) {
    sim.resetStep();
    const lossOp = trace.loss!;
    const g = sim.gradients(() => {
      replay(sim, trace.ops, env);
      return env.get(lossOp.id)!;
    }, vars);
    const fwdBwdPeak = sim.peak;
    const at = sim.peakAt;
    const savedAtPeak = sim.savedAtPeak;
    // tfjs updates (and makes state for) only the variables that got a gradient.
    const pairs = vars.map((v, i) => [v, g.grads[i]] as const).filter((p): p is readonly [ST, ST] => p[1] !== undefined);
    trained = pairs.map((p) => p[0]);
    untrained = trainable.filter((_, i) => g.grads[i] === undefined).map((p) => p.name);
    sim.peak = 0;
    const pv = pairs.map((p) => p[0]);
    const pg = pairs.map((p) => p[1]);
    if (optimizer === 'adam') sim.adam(pv, pg, state);
    else if (optimizer === 'sgd') sim.sgd(pv, pg);
    else sim.momentum(pv, pg, state);
    const optPeak = sim.peak;
    pg.forEach((t) => sim.dispose(t));
    sim.dispose(g.value);
    const phase = optPeak > fwdBwdPeak ? 'optimizer step' : g.phase.forward >= g.phase.backward ? 'forward' : 'backward';
    out.push({
      peak: Math.max(fwdBwdPeak, optPeak),
      phase,
      at: phase === 'optimizer step' ? `${optimizer} update` : at,
      forward: g.phase.forward,
      backward: g.phase.backward,
      optimizer: optPeak,
      savedAtPeak: phase === 'optimizer step' ? 0 : savedAtPeak,
      savedAfterForward: g.phase.savedAfterForward,
      savedByBlock: g.phase.savedByBlock,
      savedItems: g.phase.savedItems,
      newBytes: sim.L,
    });
  }
  if (untrained.length) {
    notes.push(`no gradient reaches ${untrained.length} trainable parameter(s) in tfjs (${untrained.slice(0, 3).join(', ')}${untrained.length > 3 ? ', ...' : ''}): they get no optimizer state`);
  }
  const trainedParams = trained.reduce((a, t) => a + numel(t.shape), 0);
  return { steps: out, weights, inputs, buffers, trainedParams, untrainedParams: untrained, notes };
}
