/**
 * Liveness simulation of one PyTorch micro-batch over the traced ops: forward frees what nothing
 * saved after its last use; backward walks the ops in reverse (autograd's order), allocating
 * gradients as consumers produce them and freeing saved tensors and gradients once their op is done.
 * Checkpointed segments save only their inputs and are recomputed right before their backward.
 * Bytes here are activation-side only (plus parameter gradients as backward makes them); weights,
 * optimizer state and the input batch are added by the estimator's terms.
 *
 * The phases (forward, backward, recompute) are functions over one `Liveness` state; with
 * `{ events: true }` every allocation and free is also recorded, in order, for the allocator model
 * and the step timeline.
 */
import { numel, DTYPE_BYTES } from '../graph.js';
import { bytesOf, storageOf, trainableParams, type OpRec, type Trace, type TTensor } from '../tracer.js';
import { maskDtype, pytorchBackwardTemp, pytorchForwardTemp, pytorchSaved, type DeviceRules } from './pytorch-ops.js';

export interface ActivationPeak {
  /** Activation-side bytes alive at the peak, excluding parameter gradients. */
  bytes: number;
  /** Parameter-gradient bytes alive at that moment (micro-batch 1 builds them up during backward). */
  paramGrads: number;
  phase: 'forward' | 'backward' | 'recompute';
  /** Op at the peak: `asv_encoder[3].attention softmax`. */
  at: string;
  saved: number;
  savedByBlock: number[];
  grads: number;
  transient: number;
  lossBuffers: number;
  /** Autocast weight copies held only by the cast cache (not saved by an op) at the peak; part of `bytes`. */
  autocastCache: number;
  /** Loss buffers per block at the peak (included in savedByBlock). */
  lossByBlock: number[];
}

/**
 * One allocation or free of micro-batch 1, in program order. `what` says which kind of tensor:
 * an activation (op output), an op's saved extra (mask, statistics), an activation gradient, a
 * parameter gradient (under accumulation a later micro-batch allocates it as a temporary and adds it
 * into the resident .grad), a transient workspace, or checkpoint's RNG state.
 */
export interface SimEvent {
  kind: 'alloc' | 'free';
  id: number;
  bytes: number;
  what: 'act' | 'extra' | 'grad' | 'param_grad' | 'temp' | 'rng';
  phase: 'forward' | 'backward' | 'recompute';
  /** Index of the op being run. */
  op: number;
}

export interface SimResult {
  /** Saved for backward at the end of forward, per block index (what stays between forward and backward). */
  savedByBlock: number[];
  savedTotal: number;
  lossBuffers: number;
  /** Peak of micro-batch 1 (no gradients exist when it starts). */
  first: ActivationPeak;
  /** Peak of a later micro-batch under accumulation (all gradients resident, plus the in-place add). */
  later: ActivationPeak;
  /** Largest per-tensor saved items, for explanation. */
  savedItems: SavedItem[];
  /** Every allocation and free of micro-batch 1 (only with `{ events: true }`). */
  events?: SimEvent[];
}

export interface SavedItem {
  block: number;
  scope: string;
  what: string;
  shape: readonly number[];
  dtype: string;
  bytes: number;
  loss: boolean;
}

export interface SimOptions {
  /** Record the alloc/free event stream (costs memory; the recommend search leaves it off). */
  events?: boolean;
}

interface Storage {
  id: number;
  bytes: number;
  /** Bytes of its gradient: its shape's, which a storage larger than its shape (CPU mse's 0-dim loss) exceeds. */
  gbytes: number;
  block: number;
  loss: boolean;
  lastUse: number;
  producer: number;
  isParam: boolean;
  isInput: boolean;
}

/** What the trace implies before anything runs: storages, per-op saves and extras, checkpoint segments. */
interface Plan {
  ops: readonly OpRec[];
  trace: Trace;
  dev: DeviceRules;
  get(t: TTensor): Storage;
  savedOf: Storage[][];
  extrasOf: number[];
  extraItems: SavedItem[][];
  segInputs: Map<number, Storage[]>;
  segFirst: Map<number, number>;
  segLast: Map<number, number>;
  /** First and last op of a segment that backward visits: where it recomputes and where it lets go of its inputs. */
  segBwdFirst: Map<number, number>;
  segBwdLast: Map<number, number>;
  /** Autocast weight-cache copies (alive until forward ends unless an op saved them). */
  cached: Set<Storage>;
}

// plan() is split into one function per pass: Turbofan compiles each hot function on its own, and one
// function holding every pass took several times longer to compile than these together (docs/recommend.md).
function plan(trace: Trace, dev: DeviceRules): Plan {
  const ops = trace.ops;
  const { get, segFirst, segLast } = storagesOf(trace);
  const { savedOf, extrasOf, extraItems } = savesOf(ops, dev, get);
  const { segInputs, segBwdFirst, segBwdLast } = segmentsOf(ops, get, segFirst, segLast);
  const cached = new Set<Storage>();
  for (const op of ops) if (op.kind === 'cast' && op.attrs.weightCache) cached.add(get(op.output));
  return { ops, trace, dev, get, savedOf, extrasOf, extraItems, segInputs, segFirst, segLast, segBwdFirst, segBwdLast, cached };
}

/** Each storage (a view's is its base's) with its last use, producer and block; each checkpoint segment's first and last op. */
function storagesOf(trace: Trace): { get: (t: TTensor) => Storage; segFirst: Map<number, number>; segLast: Map<number, number> } {
  // Tensor ids are dense (their index in trace.tensors): an array beats a Map here.
  const storages: (Storage | undefined)[] = new Array(trace.tensors.length);
  const get = (t: TTensor): Storage => {
    const s = t.alias ? storageOf(t) : t;
    let st = storages[s.id];
    if (!st) {
      const bytes = bytesOf(s);
      st = { id: s.id, bytes, gbytes: s.storageBytes === undefined ? bytes : numel(s.shape) * DTYPE_BYTES[s.dtype], block: -1, loss: false, lastUse: -1, producer: -1, isParam: s.role === 'param', isInput: s.role === 'input' };
      storages[s.id] = st;
    }
    return st;
  };
  const segFirst = new Map<number, number>();
  const segLast = new Map<number, number>();
  for (const op of trace.ops) {
    for (const t of op.inputs) get(t).lastUse = op.index;
    const out = get(op.output);
    if (!op.output.alias) {
      out.producer = op.index;
      out.block = op.block;
      out.loss = (op.kind === 'tensor' && op.attrs.lifetime === 'loss') || !!op.inLoss;
    }
    if (op.segment !== undefined) {
      if (!segFirst.has(op.segment)) segFirst.set(op.segment, op.index);
      segLast.set(op.segment, op.index);
    }
  }
  return { get, segFirst, segLast };
}

/** What each op saves for backward (activations, not parameters or inputs) and its saved extras. */
function savesOf(ops: readonly OpRec[], dev: DeviceRules, get: (t: TTensor) => Storage): { savedOf: Storage[][]; extrasOf: number[]; extraItems: SavedItem[][] } {
  const n = ops.length;
  const savedOf: Storage[][] = new Array(n);
  const extrasOf: number[] = new Array(n).fill(0);
  const extraItems: SavedItem[][] = new Array(n);
  for (const op of ops) {
    // An explicit `saved`/`loss` tensor is kept for backward even though it has no grad-requiring input.
    const keptTensor = op.kind === 'tensor' && (op.attrs.lifetime === 'saved' || op.attrs.lifetime === 'loss');
    const grad = !op.noGrad && (op.output.requiresGrad || keptTensor);
    const spec = grad ? pytorchSaved(op, dev) : { keep: [], extras: [] };
    const list: Storage[] = [];
    for (const t of spec.keep) {
      const s = get(t);
      if (!s.isParam && !s.isInput && !list.includes(s)) list.push(s);
    }
    savedOf[op.index] = list;
    let eb = 0;
    const items: SavedItem[] = [];
    for (const e of spec.extras) {
      const b = numel(e.shape) * DTYPE_BYTES[e.dtype];
      eb += b;
      items.push({ block: op.block, scope: op.scope, what: `${kindLabel(op)} ${e.name}`, shape: e.shape, dtype: e.dtype, bytes: b, loss: false });
    }
    extrasOf[op.index] = eb;
    extraItems[op.index] = items;
  }
  return { savedOf, extrasOf, extraItems };
}

/** Checkpoint segments: inner ops save nothing in forward; the segment saves its external inputs. */
function segmentsOf(
  ops: readonly OpRec[],
  get: (t: TTensor) => Storage,
  segFirst: Map<number, number>,
  segLast: Map<number, number>,
): { segInputs: Map<number, Storage[]>; segBwdFirst: Map<number, number>; segBwdLast: Map<number, number> } {
  const segInputs = new Map<number, Storage[]>();
  for (const [seg, first] of segFirst) {
    const last = segLast.get(seg)!;
    const ins: Storage[] = [];
    for (let i = first; i <= last; i++) {
      for (const t of ops[i]!.inputs) {
        const s = get(t);
        if (s.isParam || s.isInput) continue;
        if ((s.producer < first || s.producer > last) && !ins.includes(s)) ins.push(s);
      }
    }
    segInputs.set(seg, ins);
  }
  const segBwdFirst = new Map<number, number>();
  const segBwdLast = new Map<number, number>();
  for (const op of ops) {
    if (op.segment === undefined || !visitedInBackward(op)) continue;
    if (!segBwdFirst.has(op.segment)) segBwdFirst.set(op.segment, op.index);
    segBwdLast.set(op.segment, op.index);
  }
  // A segment nothing in backward visits (no input or parameter needs grad) keeps nothing.
  for (const seg of [...segInputs.keys()]) if (!segBwdFirst.has(seg)) segInputs.delete(seg);
  return { segInputs, segBwdFirst, segBwdLast };
}

/** The bytes alive during micro-batch 1, by kind, and the two peaks it produces. */
class Liveness {
  live = 0; // activation bytes alive (saved + not-yet-freed intermediates + grads + extras)
  savedLive = 0;
  lossLive = 0;
  gradLive = 0;
  paramGrads = 0;
  /** The 4-byte `loss / grad_accum` that replaced the loss op's output (lossDivided). */
  quotient: Storage | undefined;
  /** Bytes of pinned autocast copies no op saved (alive only through the cache). */
  cacheOnly = 0;
  readonly liveSet = new Set<Storage>();
  readonly liveSaved = new Set<Storage>();
  readonly liveByBlock: number[];
  /** The part of liveByBlock that is explicit loss buffers, so breakdowns can show them apart. */
  readonly lossByBlock: number[];
  readonly gradAlloc = new Set<Storage>();
  /** Gradients that are views of another storage's gradient (cat backward) own no bytes. */
  readonly viewGradOf = new Map<Storage, Storage>();
  readonly viewGradCount = new Map<Storage, number>();
  readonly first: ActivationPeak;
  readonly later: ActivationPeak;
  readonly allParamGrads: number;
  readonly events: SimEvent[] | undefined;
  /** The op being run and its phase, for events. */
  phase: SimEvent['phase'] = 'forward';
  at = 0;
  private nextId: number;
  /** Event ids of each op's extras and of each storage's gradient (tensor ids are their own). */
  private extraIds = new Map<number, number>();
  private gradIds = new Map<Storage, number>();

  constructor(readonly p: Plan, blocks: number, events: boolean) {
    this.liveByBlock = new Array<number>(blocks).fill(0);
    this.lossByBlock = new Array<number>(blocks).fill(0);
    this.first = emptyPeak(blocks);
    this.later = emptyPeak(blocks);
    this.allParamGrads = trainableParams(p.trace).reduce((a, t) => a + bytesOf(t), 0);
    this.events = events ? [] : undefined;
    this.nextId = p.trace.tensors.length;
  }

  private emit(kind: SimEvent['kind'], id: number, bytes: number, what: SimEvent['what']): void {
    if (bytes > 0) this.events?.push({ kind, id, bytes, what, phase: this.phase, op: this.at });
  }

  /**
   * `loss = loss / grad_accum` at the end of forward: the 4-byte quotient replaces the loss op's output
   * (freed, unless an op saved it). Only a CPU mse / bce loss holds more than 4 bytes there.
   */
  divideLoss(loss: Storage): void {
    if (!this.liveSet.has(loss) || this.liveSaved.has(loss) || loss.bytes === 4) return;
    this.free(loss);
    this.quotient = { id: this.nextId++, bytes: 4, gbytes: 4, block: loss.block, loss: false, lastUse: -1, producer: -1, isParam: false, isInput: false };
    this.alloc(this.quotient);
  }

  /** A transient that exists only while the current op runs: alloc and free in one call. */
  temp(bytes: number): void {
    if (!this.events || bytes <= 0) return;
    const id = this.nextId++;
    this.emit('alloc', id, bytes, 'temp');
    this.emit('free', id, bytes, 'temp');
  }

  alloc(s: Storage): void {
    if (s.isParam || s.isInput || this.liveSet.has(s)) return;
    this.liveSet.add(s);
    this.live += s.bytes;
    if (this.p.cached.has(s)) this.cacheOnly += s.bytes;
    this.emit('alloc', s.id, s.bytes, 'act');
  }

  free(s: Storage): void {
    if (!this.liveSet.delete(s)) return;
    this.live -= s.bytes;
    if (this.liveSaved.delete(s)) {
      this.savedLive -= s.bytes;
      if (s.loss) this.lossLive -= s.bytes;
      if (s.block >= 0) this.liveByBlock[s.block]! -= s.bytes;
      if (s.block >= 0 && s.loss) this.lossByBlock[s.block]! -= s.bytes;
    } else if (this.p.cached.has(s)) {
      this.cacheOnly -= s.bytes;
    }
    this.emit('free', s.id, s.bytes, 'act');
  }

  markSaved(s: Storage): void {
    if (!this.liveSet.has(s) || this.liveSaved.has(s)) return;
    this.liveSaved.add(s);
    this.savedLive += s.bytes;
    if (s.loss) this.lossLive += s.bytes;
    if (s.block >= 0) this.liveByBlock[s.block]! += s.bytes;
    if (s.block >= 0 && s.loss) this.lossByBlock[s.block]! += s.bytes;
    if (this.p.cached.has(s)) this.cacheOnly -= s.bytes;
  }

  /** An op's saved extras (mask, statistics) appear (+1) or go (-1) together. */
  extras(op: OpRec, sign: 1 | -1): void {
    const b = this.p.extrasOf[op.index]!;
    if (!b) return;
    this.live += b * sign;
    this.savedLive += b * sign;
    this.liveByBlock[op.block]! += b * sign;
    if (!this.events) return;
    if (sign > 0) {
      const id = this.nextId++;
      this.extraIds.set(op.index, id);
      this.emit('alloc', id, b, 'extra');
    } else {
      this.emit('free', this.extraIds.get(op.index) ?? -1, b, 'extra');
    }
  }

  /** torch.utils.checkpoint keeps the RNG state of each checkpointed call (preserve_rng_state). */
  rng(op: OpRec, sign: 1 | -1): void {
    const b = this.p.dev.checkpointRngBytes;
    if (!b) return;
    this.live += b * sign;
    this.savedLive += b * sign;
    this.liveByBlock[op.block]! += b * sign;
    if (!this.events) return;
    const key = -1 - op.index;
    if (sign > 0) {
      const id = this.nextId++;
      this.extraIds.set(key, id);
      this.emit('alloc', id, b, 'rng');
    } else {
      this.emit('free', this.extraIds.get(key) ?? -1, b, 'rng');
    }
  }

  private gradBytes(s: Storage): number {
    return this.viewGradOf.has(s) ? 0 : s.gbytes;
  }

  private gradId(s: Storage): number {
    let id = this.gradIds.get(s);
    if (id === undefined) {
      id = this.nextId++;
      this.gradIds.set(s, id);
    }
    return id;
  }

  /** A parameter's gradient, made by the first op that reaches it in backward. */
  paramGrad(s: Storage): void {
    if (this.gradAlloc.has(s)) return;
    this.gradAlloc.add(s);
    this.paramGrads += s.bytes;
    this.emit('alloc', this.gradId(s), s.bytes, 'param_grad');
  }

  /** An activation's gradient: a new buffer, or (second consumer) a temporary summed into the first. Returns temp bytes. */
  actGrad(s: Storage): number {
    if (this.gradAlloc.has(s) && this.viewGradOf.has(s)) {
      // The first gradient is another tensor's (add passed its output gradient through): the sum needs a buffer of its own.
      this.unlinkView(s);
      this.live += s.gbytes;
      this.gradLive += s.gbytes;
      this.emit('alloc', this.gradId(s), s.gbytes, 'grad');
      return s.gbytes;
    }
    if (this.gradAlloc.has(s)) return this.gradBytes(s);
    this.gradAlloc.add(s);
    this.live += this.gradBytes(s);
    this.gradLive += this.gradBytes(s);
    this.emit('alloc', this.gradId(s), this.gradBytes(s), 'grad');
    return 0;
  }

  /** cat's backward hands each input a narrow view of the output's gradient: no new bytes. */
  viewGrad(s: Storage, base: Storage): void {
    this.gradAlloc.add(s);
    this.viewGradOf.set(s, base);
    this.viewGradCount.set(base, (this.viewGradCount.get(base) ?? 0) + 1);
  }

  releaseGrad(g: Storage): void {
    this.gradAlloc.delete(g);
    const b = this.gradBytes(g);
    this.live -= b;
    this.gradLive -= b;
    this.emit('free', this.gradId(g), b, 'grad');
    this.unlinkView(g);
  }

  /** g no longer borrows its base's gradient; the base goes with its last borrower (its producer already ran backward). */
  private unlinkView(g: Storage): void {
    const base = this.viewGradOf.get(g);
    if (!base) return;
    this.viewGradOf.delete(g);
    const left = (this.viewGradCount.get(base) ?? 1) - 1;
    this.viewGradCount.set(base, left);
    if (left <= 0 && this.gradAlloc.has(base)) this.releaseGrad(base);
  }

  /** Records the peaks with `transient` extra bytes alive now (and `laterTemp` more in a later micro-batch). */
  note(phase: ActivationPeak['phase'], op: OpRec, transient: number, laterTemp: number): void {
    const cur = this.live + transient;
    const label = () => `${op.scope ? op.scope + ' ' : ''}${kindLabel(op)}`;
    const cache = phase === 'forward' ? this.cacheOnly : 0;
    const snap = (bytes: number, paramGrads: number): ActivationPeak => ({
      bytes, paramGrads, phase, at: label(), saved: this.savedLive, grads: this.gradLive, lossBuffers: this.lossLive, autocastCache: cache,
      transient: bytes - this.savedLive - this.gradLive - cache, savedByBlock: [...this.liveByBlock], lossByBlock: [...this.lossByBlock],
    });
    if (cur + this.paramGrads > this.first.bytes + this.first.paramGrads) Object.assign(this.first, snap(cur, this.paramGrads));
    const cl = cur + laterTemp;
    if (cl > this.later.bytes) Object.assign(this.later, snap(cl, this.allParamGrads));
  }
}

/**
 * Runs ops [from, to] forward. `keepSaved(op)` says whether the op's saves are kept (not inside a
 * checkpoint segment in the first forward); `pending` counts the savers each storage still waits for.
 */
function forwardPass(st: Liveness, from: number, to: number, phase: 'forward' | 'recompute', keepSaved: (op: OpRec) => boolean, pending: Map<Storage, number>, savedItems: SavedItem[]): void {
  const p = st.p;
  st.phase = phase;
  for (let i = from; i <= to; i++) {
    const op = p.ops[i]!;
    st.at = i;
    const out = p.get(op.output);
    // Persistent explicit tensors are counted once, as buffers, by the estimator.
    const persistent = op.kind === 'tensor' && op.attrs.lifetime === 'persistent';
    if (!op.output.alias && !persistent) st.alloc(out);
    const keep = keepSaved(op);
    if (keep) {
      st.extras(op, 1);
      for (const s of p.savedOf[i]!) st.markSaved(s);
      if (phase === 'forward') for (const it of p.extraItems[i]!) savedItems.push(it);
    }
    // A segment nothing in backward visits (all frozen) was dropped from segInputs: it keeps nothing.
    if (phase === 'forward' && op.segment !== undefined && p.segFirst.get(op.segment) === i && p.segInputs.has(op.segment)) {
      for (const s of p.segInputs.get(op.segment)!) st.markSaved(s);
      st.rng(op, 1);
    }
    // Dropout makes its mask even when nothing keeps it (no_grad, checkpointed forward): a transient.
    // A quantised linear's dequantised weight (bitsandbytes) and a CPU conv's reorders exist only while it runs.
    const dropTemp = op.kind === 'dropout' && (!keep || !p.extrasOf[i]) ? numel(op.output.shape) * DTYPE_BYTES[maskDtype(p.dev, op.inputs[0]!.dtype)] : 0;
    const fwdTemp = dropTemp + pytorchForwardTemp(op, p.dev);
    st.temp(fwdTemp);
    st.note(phase, op, fwdTemp, 0);
    // A `transient` explicit tensor exists only while its op runs.
    if (op.kind === 'tensor' && op.attrs.lifetime === 'transient') st.free(out);
    for (const t of op.inputs) {
      const s = p.get(t);
      if (phase === 'forward' && p.cached.has(s)) continue;
      if (s.lastUse <= i && !st.liveSaved.has(s) && !(pending.get(s) ?? 0)) st.free(s);
    }
    if (out.lastUse < i && !st.liveSaved.has(out) && out.producer === i && op.output !== p.trace.loss && !(pending.get(out) ?? 0)) st.free(out);
  }
}

/** The saved items alive when forward ends (after the autocast cache is released). */
function savedAtForwardEnd(st: Liveness, savedItems: SavedItem[]): void {
  const p = st.p;
  for (const s of st.liveSaved) {
    if (s.block < 0) continue;
    const t = p.trace.tensors[s.id]!; // tensor ids are their index in trace.tensors
    const prod = p.ops[s.producer];
    savedItems.push({ block: s.block, scope: prod?.scope ?? '', what: prod ? kindLabel(prod) : t.name, shape: t.shape, dtype: t.dtype, bytes: s.bytes, loss: s.loss });
  }
}

/**
 * Autograd's reverse walk. A checkpoint segment is recomputed (its saves kept this time) when
 * backward reaches its last op; its saves then go op by op, its inputs when its first op is done.
 */
function backwardPass(st: Liveness, pendingSavers: Map<Storage, number>, savedItems: SavedItem[]): void {
  const p = st.p;
  // Parameters no op reads (a `params` block: known only by count) still get gradients in backward
  // (measured: they appear as soon as backward reaches the loss term that uses them); count them from its start.
  st.phase = 'backward';
  for (const t of p.trace.params) if (t.requiresGrad && p.get(t).lastUse < 0) st.paramGrad(p.get(t));
  let recomputePending = new Map<Storage, number>();
  for (let i = p.ops.length - 1; i >= 0; i--) {
    const op = p.ops[i]!;
    if (!visitedInBackward(op)) continue;
    const seg = op.segment !== undefined && p.segInputs.has(op.segment);
    if (seg && p.segBwdLast.get(op.segment!) === i) {
      const first = p.segFirst.get(op.segment!)!;
      const last = p.segLast.get(op.segment!)!;
      recomputePending = new Map();
      for (let j = first; j <= last; j++) for (const s of p.savedOf[j]!) recomputePending.set(s, (recomputePending.get(s) ?? 0) + 1);
      const before = new Set(st.liveSet);
      forwardPass(st, first, last, 'recompute', () => true, recomputePending, savedItems);
      // The recompute only refills saved tensors: what it produced for consumers outside the segment
      // (its output) is dropped as soon as it returns (torch.utils.checkpoint's unpack hook).
      for (let j = first; j <= last; j++) {
        const o = p.ops[j]!;
        const s = p.get(o.output);
        if (!o.output.alias && s.lastUse > last && !before.has(s) && !st.liveSaved.has(s)) st.free(s);
      }
    }
    st.phase = seg ? 'recompute' : 'backward';
    st.at = i;
    const { temp, laterTemp } = inputGrads(st, op);
    st.temp(temp);
    st.note(seg ? 'recompute' : 'backward', op, temp, laterTemp);
    releaseAfter(st, op, seg, seg ? recomputePending : pendingSavers, pendingSavers);
  }
  // `loss.backward()` returns: the caller's `loss` goes (`del loss`, the next micro-batch's assignment).
  if (p.trace.loss) st.free(p.get(p.trace.loss));
  if (st.quotient) st.free(st.quotient);
}

/** Allocates the gradients of an op's inputs; returns the op's transient bytes and the later micro-batches' extra. */
function inputGrads(st: Liveness, op: OpRec): { temp: number; laterTemp: number } {
  const p = st.p;
  const outS = p.get(op.output);
  let temp = pytorchBackwardTemp(op, p.dev, p.trace.permutedGrads);
  let laterTemp = 0;
  for (const t of op.inputs) {
    if (!t.requiresGrad) continue;
    const s = p.get(t);
    // A view's gradient is a view of its base's gradient: nothing new, and not a second consumer.
    if (op.output.alias && s === outS) continue;
    const passes = op.kind === 'concat' || passesGradient(op, t);
    // The consumer of an expand() view makes a gradient of the view's full size before ExpandBackward
    // sums it down (unless it hands on its own output gradient, which already exists).
    if (t.expanded && !passes) temp += numel(t.shape) * DTYPE_BYTES[t.dtype];
    if (s.isParam) {
      st.paramGrad(s);
      laterTemp += s.bytes; // accumulate into an existing .grad: the new gradient is a temporary
      continue;
    }
    if (s.isInput) continue;
    if (passes && !st.gradAlloc.has(s) && st.gradAlloc.has(outS)) {
      st.viewGrad(s, outS);
      continue;
    }
    temp += st.actGrad(s);
  }
  return { temp, laterTemp };
}

/**
 * Ops whose backward hands `t` the output's gradient itself (no new tensor, measured): add (and
 * `x + scalar`) for an operand of the output's shape, sub's first operand, and the target tensor of
 * index_add / scatter_add. cat's narrow views are handled alongside.
 */
function passesGradient(op: OpRec, t: TTensor): boolean {
  const same = numel(t.shape) === numel(op.output.shape);
  switch (op.kind) {
    case 'add':
      return same;
    case 'unary':
      return op.attrs.fn === 'add_scalar';
    case 'reduce':
      // sum's backward is grad.expand(sizes): a view of the output gradient until its consumer reads it.
      return op.attrs.fn === 'sum';
    case 'binary':
      return op.attrs.fn === 'sub' && t === op.inputs[0] && same;
    case 'index_add':
    case 'scatter_add_axis':
      return !!op.attrs.base && t === op.inputs[0];
    default:
      return false;
  }
}

/** Done with an op in backward: its output's gradient, its saved tensors and extras, a segment's inputs. */
function releaseAfter(st: Liveness, op: OpRec, seg: boolean, pend: Map<Storage, number>, pendingSavers: Map<Storage, number>): void {
  const p = st.p;
  const i = op.index;
  const outS = p.get(op.output);
  if (op.output === storageOf(op.output) && st.gradAlloc.has(outS) && outS.producer === i && !st.viewGradCount.get(outS)) st.releaseGrad(outS);
  if (seg || !inSegment(p, op)) {
    st.extras(op, -1);
    for (const s of p.savedOf[i]!) {
      const left = (pend.get(s) ?? 1) - 1;
      pend.set(s, left);
      if (left <= 0) st.free(s);
    }
  }
  if (seg && p.segBwdFirst.get(op.segment!) === i) {
    st.rng(p.ops[p.segFirst.get(op.segment!)!]!, -1);
    for (const s of p.segInputs.get(op.segment!)!) {
      const left = (pendingSavers.get(s) ?? 1) - 1;
      pendingSavers.set(s, left);
      if (left <= 0) st.free(s);
    }
  }

  // A recompute leaves unsaved intermediates only until their consumers ran backward.
  if (seg && outS.producer === i && !st.liveSaved.has(outS)) st.free(outS);
}

/** Backward runs an op when it recorded a graph: not under no_grad, and its output requires grad. */
function visitedInBackward(op: OpRec): boolean {
  return !op.noGrad && op.output.requiresGrad;
}

function inSegment(p: Plan, op: OpRec): boolean {
  return op.segment !== undefined && p.segInputs.has(op.segment);
}

export function simulatePytorch(trace: Trace, dev: DeviceRules, blocks: number, opts: SimOptions = {}): SimResult {
  const p = plan(trace, dev);
  const st = new Liveness(p, blocks, opts.events ?? false);
  // Forward-phase saver counts (checkpointed ops replaced by their segment).
  const fwdSavers = new Map<Storage, number>();
  for (const op of p.ops) {
    if (inSegment(p, op)) continue;
    for (const s of p.savedOf[op.index]!) fwdSavers.set(s, (fwdSavers.get(s) ?? 0) + 1);
  }
  for (const [, ins] of p.segInputs) for (const s of ins) fwdSavers.set(s, (fwdSavers.get(s) ?? 0) + 1);

  const savedItems: SavedItem[] = [];
  forwardPass(st, 0, p.ops.length - 1, 'forward', (op) => !inSegment(p, op), fwdSavers, savedItems);
  // The autocast context exits: cached copies no op saved are released.
  for (const c of p.cached) if (!st.liveSaved.has(c)) st.free(c);
  if (trace.lossDivided && trace.loss) st.divideLoss(p.get(trace.loss));
  savedAtForwardEnd(st, savedItems);
  const savedByBlock = [...st.liveByBlock];
  const savedTotal = st.savedLive;
  const lossBuffers = st.lossLive;

  backwardPass(st, new Map(fwdSavers), savedItems);

  savedItems.sort((a, b) => b.bytes - a.bytes);
  return { savedByBlock, savedTotal, lossBuffers, first: st.first, later: st.later, savedItems, ...(st.events ? { events: st.events } : {}) };
}

function emptyPeak(blocks: number): ActivationPeak {
  return {
    bytes: 0, paramGrads: 0, phase: 'forward', at: '', saved: 0, savedByBlock: new Array<number>(blocks).fill(0),
    lossByBlock: new Array<number>(blocks).fill(0),
    grads: 0, transient: 0, lossBuffers: 0, autocastCache: 0,
  };
}

export function kindLabel(op: OpRec): string {
  if (op.kind === 'act') return String(op.attrs.act);
  if (op.kind === 'loss') return `${String(op.attrs.loss)} loss`;
  if (op.kind === 'pool') return `${String(op.attrs.pool)} pool`;
  if (op.kind === 'tensor') return op.output.name;
  if (op.kind === 'unary' || op.kind === 'binary' || op.kind === 'reduce') return String(op.attrs.fn);
  return op.kind.replace('_', ' ');
}
