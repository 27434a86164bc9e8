/**
 * Liveness simulation of one PyTorch micro-batch over the traced ops: forward frees what nothing
 * saved after its last use; backward walks the ops in reverse (autograd's order), allocating
 * gradients as consumers produce them and freeing saved tensors and gradients once their op is done.
 * Checkpointed segments save only their inputs and are recomputed right before their backward.
 * Bytes here are activation-side only; weights, optimizer state and the input batch are added by
 * the estimator's terms.
 */
import { numel, DTYPE_BYTES } from '../graph.js';
import { bytesOf, storageOf, type OpRec, type Trace, type TTensor } from '../tracer.js';
import { maskDtype, pytorchBackwardTemp, pytorchSaved, type DeviceRules } from './pytorch-ops.js';

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

interface Storage {
  id: number;
  bytes: number;
  block: number;
  loss: boolean;
  /** Op indices that save it. */
  savers: number[];
  lastUse: number;
  producer: number;
  requiresGrad: boolean;
  isParam: boolean;
  isInput: boolean;
}

export function simulatePytorch(trace: Trace, dev: DeviceRules, blocks: number): SimResult {
  const ops = trace.ops;
  const n = ops.length;
  // Tensor ids are dense (their index in trace.tensors): an array beats a Map here.
  const storages: (Storage | undefined)[] = new Array(trace.tensors.length);
  const get = (t: TTensor): Storage => {
    const s = t.alias ? storageOf(t) : t;
    let st = storages[s.id];
    if (!st) {
      st = {
        id: s.id,
        bytes: bytesOf(s),
        block: -1,
        loss: false,
        savers: [],
        lastUse: -1,
        producer: -1,
        requiresGrad: s.requiresGrad,
        isParam: s.role === 'param',
        isInput: s.role === 'input',
      };
      storages[s.id] = st;
    }
    return st;
  };

  // Per-op saved storages and extras (extras are owned by the op: freed with it).
  const savedOf: Storage[][] = new Array(n);
  const extrasOf: number[] = new Array(n).fill(0);
  const extraItems: SavedItem[][] = new Array(n);
  const segInputs = new Map<number, Storage[]>();
  const segFirst = new Map<number, number>();
  const segLast = new Map<number, number>();

  for (const op of ops) {
    for (const t of op.inputs) {
      const s = get(t);
      s.lastUse = op.index;
    }
    const out = get(op.output);
    if (!op.output.alias) {
      out.producer = op.index;
      out.block = op.block;
      out.loss = op.kind === 'tensor' && op.attrs.lifetime === 'loss';
    }
    if (op.segment !== undefined) {
      if (!segFirst.has(op.segment)) segFirst.set(op.segment, op.index);
      segLast.set(op.segment, op.index);
    }
  }
  for (const op of ops) {
    // An explicit `saved`/`loss` tensor is kept for backward even though it has no grad-requiring input.
    const keptTensor = op.kind === 'tensor' && (op.attrs.lifetime === 'saved' || op.attrs.lifetime === 'loss');
    const grad = !op.noGrad && (op.output.requiresGrad || keptTensor);
    const spec = grad ? pytorchSaved(op, dev) : { keep: [], extras: [] };
    const list: Storage[] = [];
    for (const t of spec.keep) {
      const s = get(t);
      if (s.isParam || s.isInput) continue;
      if (!list.includes(s)) list.push(s);
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
  // Checkpoint segments: inner ops save nothing in forward; the segment saves its external inputs.
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
  const inSeg = (op: OpRec) => op.segment !== undefined && segInputs.has(op.segment);

  // Forward-phase saver sets (checkpointed ops replaced by their segment).
  const fwdSavers = new Map<Storage, number>(); // storage -> count of pending savers
  const savedItems: SavedItem[] = [];
  for (const op of ops) {
    if (inSeg(op)) continue;
    for (const s of savedOf[op.index]!) fwdSavers.set(s, (fwdSavers.get(s) ?? 0) + 1);
  }
  for (const [, ins] of segInputs) for (const s of ins) fwdSavers.set(s, (fwdSavers.get(s) ?? 0) + 1);

  const savedByBlock = new Array<number>(blocks).fill(0);
  let live = 0; // activation bytes alive (saved + not-yet-freed intermediates + grads + extras)
  let savedLive = 0;
  let lossLive = 0;
  let gradLive = 0;
  const liveSet = new Set<Storage>();
  // Autocast's weight cache holds each cast weight copy until the autocast context exits at the end of
  // forward (then only the copies ops saved stay, until their backward): pinned here during forward.
  const cached = new Set<Storage>();
  for (const op of ops) if (op.kind === 'cast' && op.attrs.weightCache) cached.add(get(op.output));
  let cacheOnly = 0; // bytes of pinned copies no op saved (alive only through the cache), kept in step below
  const liveSaved = new Set<Storage>();
  const liveByBlock = new Array<number>(blocks).fill(0);
  // The part of liveByBlock that is explicit loss buffers, so breakdowns can show them apart.
  const lossByBlock = new Array<number>(blocks).fill(0);

  const first: ActivationPeak = emptyPeak(blocks);
  const later: ActivationPeak = emptyPeak(blocks);
  let paramGrads = 0;
  const allParamGrads = trace.params.filter((p) => p.requiresGrad).reduce((a, p) => a + bytesOf(p), 0);

  const note = (phase: ActivationPeak['phase'], op: OpRec, transient: number, laterTemp: number) => {
    const cur = live + transient;
    const label = () => `${op.scope ? op.scope + ' ' : ''}${kindLabel(op)}`;
    const cache = phase === 'forward' ? cacheOnly : 0;
    if (cur + paramGrads > first.bytes + first.paramGrads) {
      const at = label();
      Object.assign(first, {
        bytes: cur, paramGrads, phase, at, saved: savedLive, grads: gradLive, lossBuffers: lossLive, autocastCache: cache,
        transient: cur - savedLive - gradLive - cache, savedByBlock: [...liveByBlock], lossByBlock: [...lossByBlock],
      });
    }
    const cl = cur + laterTemp;
    if (cl > later.bytes) {
      const at = label();
      Object.assign(later, {
        bytes: cl, paramGrads: allParamGrads, phase, at, saved: savedLive, grads: gradLive, lossBuffers: lossLive, autocastCache: cache,
        transient: cl - savedLive - gradLive - cache, savedByBlock: [...liveByBlock], lossByBlock: [...lossByBlock],
      });
    }
  };

  const alloc = (s: Storage) => {
    if (s.isParam || s.isInput || liveSet.has(s)) return;
    liveSet.add(s);
    live += s.bytes;
    if (cached.has(s)) cacheOnly += s.bytes;
  };
  const free = (s: Storage) => {
    if (!liveSet.delete(s)) return;
    live -= s.bytes;
    if (liveSaved.delete(s)) {
      savedLive -= s.bytes;
      if (s.loss) lossLive -= s.bytes;
      if (s.block >= 0) liveByBlock[s.block]! -= s.bytes;
      if (s.block >= 0 && s.loss) lossByBlock[s.block]! -= s.bytes;
    } else if (cached.has(s)) {
      cacheOnly -= s.bytes;
    }
  };
  const markSaved = (s: Storage) => {
    if (!liveSet.has(s) || liveSaved.has(s)) return;
    liveSaved.add(s);
    savedLive += s.bytes;
    if (s.loss) lossLive += s.bytes;
    if (s.block >= 0) liveByBlock[s.block]! += s.bytes;
    if (s.block >= 0 && s.loss) lossByBlock[s.block]! += s.bytes;
    if (cached.has(s)) cacheOnly -= s.bytes;
  };
  const addExtras = (op: OpRec, sign: 1 | -1) => {
    const b = extrasOf[op.index]! * sign;
    if (!b) return;
    live += b;
    savedLive += b;
    liveByBlock[op.block]! += b;
  };

  // One forward step over ops [from, to], with `keepSaved(op)` telling whether its saves are kept.
  const forward = (from: number, to: number, phase: 'forward' | 'recompute', keepSaved: (op: OpRec) => boolean, pending: Map<Storage, number>) => {
    for (let i = from; i <= to; i++) {
      const op = ops[i]!;
      const out = get(op.output);
      // Persistent explicit tensors are counted once, as buffers, by the estimator.
      const persistent = op.kind === 'tensor' && op.attrs.lifetime === 'persistent';
      if (!op.output.alias && !persistent) alloc(out);
      const keep = keepSaved(op);
      if (keep) {
        addExtras(op, 1);
        for (const s of savedOf[i]!) markSaved(s);
        if (phase === 'forward') for (const it of extraItems[i]!) savedItems.push(it);
      }
      if (phase === 'forward' && op.segment !== undefined && segFirst.get(op.segment) === i) {
        for (const s of segInputs.get(op.segment)!) markSaved(s);
        // torch.utils.checkpoint also keeps the RNG state of each checkpointed call (preserve_rng_state).
        if (dev.checkpointRngBytes) {
          live += dev.checkpointRngBytes;
          savedLive += dev.checkpointRngBytes;
          liveByBlock[op.block]! += dev.checkpointRngBytes;
        }
      }
      // Dropout makes its mask even when nothing keeps it (no_grad, checkpointed forward): a transient.
      const dropTemp = op.kind === 'dropout' && (!keep || !extrasOf[i]) ? numel(op.output.shape) * DTYPE_BYTES[maskDtype(dev, op.inputs[0]!.dtype)] : 0;
      // A `transient` explicit tensor exists only while its op runs.
      note(phase, op, dropTemp, 0);
      if (op.kind === 'tensor' && op.attrs.lifetime === 'transient') free(out);
      for (const t of op.inputs) {
        const s = get(t);
        if (phase === 'forward' && cached.has(s)) continue;
        if (s.lastUse <= i && !liveSaved.has(s) && !(pending.get(s) ?? 0)) free(s);
      }
      const lu = out.lastUse;
      if (lu < i && !liveSaved.has(out) && out.producer === i && ops[i]!.output !== trace.loss && !(pending.get(out) ?? 0)) free(out);
    }
  };

  forward(0, n - 1, 'forward', (op) => !inSeg(op), fwdSavers);
  // The autocast context exits: cached copies no op saved are released.
  for (const c of cached) if (!liveSaved.has(c)) free(c);
  for (const s of liveSaved) {
    if (s.block >= 0) {
      // Tensor ids are their index in trace.tensors.
      const t = trace.tensors[s.id]!;
      savedItems.push({
        block: s.block, scope: ops[s.producer]?.scope ?? '', what: ops[s.producer] ? kindLabel(ops[s.producer]!) : t.name,
        shape: t.shape, dtype: t.dtype, bytes: s.bytes, loss: s.loss,
      });
    }
  }
  for (let b = 0; b < blocks; b++) savedByBlock[b] = liveByBlock[b]!;
  const savedTotal = savedLive;
  const lossBuffers = lossLive;

  // Backward.
  const gradAlloc = new Set<Storage>();
  // Parameters no op reads (a `params` block: known only by count) still get gradients in backward
  // (measured: they appear as soon as backward reaches the loss term that uses them); count them from its start.
  for (const p of trace.params) {
    if (!p.requiresGrad) continue;
    const s = get(p);
    if (s.lastUse < 0 && !gradAlloc.has(s)) {
      gradAlloc.add(s);
      paramGrads += s.bytes;
    }
  }
  const pendingSavers = new Map<Storage, number>(fwdSavers);
  // Gradients that are views of another storage's gradient (cat backward) own no bytes.
  const viewGradOf = new Map<Storage, Storage>();
  const viewGradCount = new Map<Storage, number>();
  const gradBytes = (s: Storage) => (viewGradOf.has(s) ? 0 : s.bytes);
  const releaseGrad = (g: Storage): void => {
    gradAlloc.delete(g);
    live -= gradBytes(g);
    gradLive -= gradBytes(g);
    const base = viewGradOf.get(g);
    if (base) {
      viewGradOf.delete(g);
      const left = (viewGradCount.get(base) ?? 1) - 1;
      viewGradCount.set(base, left);
      // the base's own producer already ran its backward (cat): release it with its last view
      if (left <= 0 && gradAlloc.has(base)) releaseGrad(base);
    }
  };
  let segRecomputePending = new Map<Storage, number>();
  for (let i = n - 1; i >= 0; i--) {
    const op = ops[i]!;
    if (op.noGrad || !op.output.requiresGrad) continue;
    if (op.segment !== undefined && segInputs.has(op.segment) && segLast.get(op.segment) === i) {
      // Recompute the segment's forward, keeping its saves this time.
      const first_ = segFirst.get(op.segment)!;
      segRecomputePending = new Map();
      for (let j = first_; j <= i; j++) for (const s of savedOf[j]!) segRecomputePending.set(s, (segRecomputePending.get(s) ?? 0) + 1);
      forward(first_, i, 'recompute', () => true, segRecomputePending);
    }
    const seg = op.segment !== undefined && segInputs.has(op.segment);
    // The output's gradient: the loss starts with a scalar 1.
    const outS = get(op.output);
    // Gradients of the inputs.
    let temp = pytorchBackwardTemp(op, dev);
    let laterTemp = 0;
    for (const t of op.inputs) {
      if (!t.requiresGrad) continue;
      const s = get(t);
      // A view's gradient is a view of its base's gradient: nothing new, and not a second consumer.
      if (op.output.alias && s === outS) continue;
      if (s.isParam) {
        if (!gradAlloc.has(s)) {
          gradAlloc.add(s);
          paramGrads += s.bytes;
        }
        laterTemp += s.bytes; // accumulate into an existing .grad: the new gradient is a temporary
        continue;
      }
      if (s.isInput) continue;
      if (op.kind === 'concat' && !gradAlloc.has(s) && gradAlloc.has(outS)) {
        // cat's backward hands each input a narrow view of the output's gradient: no new bytes, and
        // the whole output gradient lives until the last of those views is consumed.
        gradAlloc.add(s);
        viewGradOf.set(s, outS);
        viewGradCount.set(outS, (viewGradCount.get(outS) ?? 0) + 1);
        continue;
      }
      if (gradAlloc.has(s)) {
        temp += gradBytes(s); // a second consumer: its gradient is summed into the first
      } else {
        gradAlloc.add(s);
        live += gradBytes(s);
        gradLive += gradBytes(s);
      }
    }
    note(seg ? 'recompute' : 'backward', op, temp, laterTemp);
    // Done with this op: its output's gradient, its saved tensors, its extras.
    if (op.output === storageOf(op.output) && gradAlloc.has(outS) && outS.producer === i && !viewGradCount.get(outS)) releaseGrad(outS);
    const pend = seg ? segRecomputePending : pendingSavers;
    const keepsSaves = seg || !inSeg(op);
    const release = (o: OpRec) => {
      addExtras(o, -1);
      for (const s of savedOf[o.index]!) {
        const left = (pend.get(s) ?? 1) - 1;
        pend.set(s, left);
        if (left <= 0) free(s);
      }
    };
    if (keepsSaves) release(op);
    if (seg && segFirst.get(op.segment!) === i) {
      if (dev.checkpointRngBytes) {
        live -= dev.checkpointRngBytes;
        savedLive -= dev.checkpointRngBytes;
        liveByBlock[op.block]! -= dev.checkpointRngBytes;
      }
      for (const s of segInputs.get(op.segment!)!) {
        const left = (pendingSavers.get(s) ?? 1) - 1;
        pendingSavers.set(s, left);
        if (left <= 0) free(s);
      }
    }
    if (op.output === trace.loss) free(outS);
    // A recompute leaves unsaved intermediates only until their consumers ran backward.
    if (seg && outS.producer === i && !liveSaved.has(outS)) free(outS);
  }

  savedItems.sort((a, b) => b.bytes - a.bytes);
  return { savedByBlock, savedTotal, lossBuffers, first, later, savedItems };
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
  return op.kind.replace('_', ' ');
}
