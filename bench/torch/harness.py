"""memplan PyTorch measurement harness.

Counts bytes of live CPU tensor storage through libmemhook.so (LD_PRELOAD shim on
posix_memalign/free, which is what c10::alloc_cpu / free_cpu use in torch 1.13 and 2.13; check_hook.py
checks it against known tensor sizes and against the profiler's own allocation events).
Importing this module re-executes the interpreter with LD_PRELOAD set if needed.
"""
import ctypes
import gc
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
LIB = os.path.join(HERE, "libmemhook.so")


def _ensure_preloaded():
    if not os.path.exists(LIB) or os.path.getmtime(LIB) < os.path.getmtime(os.path.join(HERE, "memhook.c")):
        subprocess.check_call(["make", "-s", "-C", HERE])
    pre = os.environ.get("LD_PRELOAD", "")
    if LIB not in pre.split(":"):
        env = dict(os.environ)
        env["LD_PRELOAD"] = LIB + (":" + pre if pre else "")
        env.setdefault("OMP_NUM_THREADS", "1")
        os.execve(sys.executable, [sys.executable] + sys.argv, env)


_ensure_preloaded()

_h = ctypes.CDLL(LIB)
for _n in ("memhook_peak", "memhook_current", "memhook_count", "memhook_peak_usable", "memhook_current_usable",
           "memhook_total_bytes", "memhook_total_allocs"):
    getattr(_h, _n).restype = ctypes.c_longlong
_h.memhook_reset_peak.restype = None
for _n in ("memhook_inside_current", "memhook_inside_peak"):
    getattr(_h, _n).restype = ctypes.c_longlong
_h.memhook_set_range.argtypes = [ctypes.c_ulonglong, ctypes.c_ulonglong]
_h.memhook_caller.restype = ctypes.c_ulonglong
_h.memhook_caller.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_longlong), ctypes.POINTER(ctypes.c_longlong)]

import torch  # noqa: E402

torch.set_num_threads(1)


def _text_range(libname):
    """[lo, hi) of the executable mappings of a loaded shared library (from /proc/self/maps); libname matches
    with or without a version suffix (pip's libc10.so, Debian's libc10.so.1.13.0)."""
    lo = hi = None
    with open("/proc/self/maps") as f:
        for ln in f:
            parts = ln.split()
            base = os.path.basename(parts[-1]) if len(parts) >= 6 else ""
            if "x" in parts[1] and (base == libname or base.startswith(libname + ".")):
                a, b = (int(v, 16) for v in parts[0].split("-"))
                lo = a if lo is None else min(lo, a)
                hi = b if hi is None else max(hi, b)
    return lo, hi


# Allocations made from libc10.so are c10::alloc_cpu's, i.e. tensor storage; the hook also sees aligned
# allocations from elsewhere (oneDNN scratchpads inside libtorch_cpu.so, ...). The split is kept apart:
# cur()/peak() count everything, tensor_cur()/tensor_peak() only libc10's.
C10_RANGE = _text_range("libc10.so")
if C10_RANGE[0] is not None:
    _h.memhook_set_range(*C10_RANGE)
gc.disable()  # deterministic frees; we call gc.collect() explicitly


def cur():
    return _h.memhook_current()


def peak():
    return _h.memhook_peak()


def reset_peak():
    _h.memhook_reset_peak()


def tensor_cur():
    """Live bytes allocated from libc10.so (tensor storage) since the range was set at import."""
    return _h.memhook_inside_current()


def tensor_peak():
    return _h.memhook_inside_peak()


class _DlInfo(ctypes.Structure):
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p), ("dli_sname", ctypes.c_char_p),
                ("dli_saddr", ctypes.c_void_p)]


def trace_callers(fn):
    """Run fn() recording which code called posix_memalign: -> [(library, symbol, count, bytes)], largest first."""
    _h.memhook_trace(1)
    try:
        fn()
    finally:
        _h.memhook_trace(0)
    libc = ctypes.CDLL(None)
    libc.dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(_DlInfo)]
    agg = {}
    for i in range(_h.memhook_callers()):
        n, b = ctypes.c_longlong(), ctypes.c_longlong()
        addr = _h.memhook_caller(i, ctypes.byref(n), ctypes.byref(b))
        info = _DlInfo()
        lib = sym = "?"
        if libc.dladdr(ctypes.c_void_p(addr), ctypes.byref(info)):
            lib = os.path.basename((info.dli_fname or b"?").decode())
            sym = (info.dli_sname or b"?").decode()
        k = (lib, sym)
        c, t = agg.get(k, (0, 0))
        agg[k] = (c + n.value, t + b.value)
    return sorted(((k[0], k[1], v[0], v[1]) for k, v in agg.items()), key=lambda r: -r[3])


def nbytes(t):
    return t.numel() * t.element_size()


class SavedRecorder:
    """saved_tensors_hooks that records (shape, dtype, bytes, data_ptr) of every saved tensor."""

    def __init__(self):
        self.items = []

    def pack(self, t):
        st = t.storage()
        self.items.append({"shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", ""),
                           "bytes": nbytes(t), "ptr": t.data_ptr() if t.numel() else 0,
                           "sptr": st.data_ptr(), "storage_bytes": st.nbytes(),
                           "requires_grad": t.requires_grad})
        return t

    def unpack(self, t):
        return t

    def ctx(self):
        return torch.autograd.graph.saved_tensors_hooks(self.pack, self.unpack)

    def label(self, roles):
        """roles: dict name -> tensor; mark saved tensors aliasing them (same storage)."""
        for it in self.items:
            it["role"] = "other"
            for name, t in roles.items():
                if t is not None and t.numel() and it["sptr"] == t.storage().data_ptr():
                    it["role"] = name
                    break
        return self.items

    def unique_storage_bytes(self, exclude_roles=()):
        seen = {}
        for it in self.items:
            if it.get("role") in exclude_roles or not it["sptr"]:
                continue
            seen[it["sptr"]] = it["storage_bytes"]
        return sum(seen.values())

    def strip(self):
        for it in self.items:
            it.pop("ptr", None)
            it.pop("sptr", None)
        return self.items


def measure_op(build, make_inputs, warmup=True, **kw):
    """measure_op_once twice (first run warms lazily-allocated kernel caches) and returns the second."""
    if warmup:
        measure_op_once(build, make_inputs, **kw)
        gc.collect()
    return measure_op_once(build, make_inputs, **kw)


def measure_op_once(build, make_inputs, inputs_require_grad=True, nograd_inputs=(), loss_is_output=False, ctx=None):
    """Measure one op.

    build(): returns fn (module or callable); its parameters are allocated before the baseline.
    make_inputs(): list of tensors (leaves). Float inputs are passed through .clone() of a leaf
      (requires_grad=inputs_require_grad) so the op input is a non-leaf intermediate: if the op saves
      it, it is retained; if not, it is freed.  (CloneBackward saves nothing.)
    Loss = (y * g).sum() with fixed random g (MulBackward saves only g, which is in the baseline),
    so backward feeds the op a dense y-sized gradient.  If loss_is_output, y itself is the loss.
    Returns dict: retained (bytes alive after forward with loss alive, above baseline),
      saved (list from saved_tensors_hooks), bwd_peak (peak during backward above the after-forward
      level), after_bwd (bytes alive after backward above baseline, i.e. input/param grads),
      out_bytes, in_bytes.
    """
    torch.manual_seed(0)
    fn = build()
    leaves = make_inputs()
    for i, t in enumerate(leaves):
        if t.is_floating_point():
            t.requires_grad_(inputs_require_grad and i not in nograd_inputs)
    import contextlib
    mk = ctx or contextlib.nullcontext
    with torch.no_grad(), mk():
        y0 = fn(*leaves)
    out_dtype = str(y0.dtype).replace("torch.", "")
    out_shape = list(y0.shape)
    out_bytes = nbytes(y0)
    g = torch.randn(y0.shape) if not loss_is_output else None
    del y0
    gc.collect()
    base = cur()
    rec = SavedRecorder()
    with rec.ctx():
        ins = [t.clone() if t.is_floating_point() else t for t in leaves]
        with mk():
            y = fn(*ins)
    params = list(fn.parameters()) if isinstance(fn, torch.nn.Module) else []
    roles = {}
    for i, t in enumerate(ins):
        roles["input%d" % i] = t
    roles["output"] = y
    for i, p in enumerate(params):
        roles["param%d" % i] = p
    for i, t in enumerate(leaves):
        roles["leaf%d" % i] = t
    rec.label(roles)
    saved_unique = rec.unique_storage_bytes(exclude_roles=tuple(k for k in roles if k.startswith(("param", "leaf"))))
    saved = rec.strip()
    in_bytes = sum(nbytes(t) for t in ins)
    in_float_bytes = sum(nbytes(t) for t in ins if t.is_floating_point())
    del ins, roles, t
    if loss_is_output:
        loss = y
    else:
        loss = (y.float() * g).sum() if y.dtype != torch.float32 else (y * g).sum()
    del y
    gc.collect()
    after_fwd = cur()
    res = {"retained": after_fwd - base - loss.storage().nbytes(), "loss_bytes": loss.storage().nbytes(), "saved_unique_nonparam_bytes": saved_unique,
           "saved": saved, "out_dtype": out_dtype, "out_shape": out_shape, "out_bytes": out_bytes,
           "in_bytes": in_bytes, "in_float_bytes": in_float_bytes, "param_bytes": sum(nbytes(p) for p in params)}
    if loss.requires_grad:
        reset_peak()
        loss.backward()
        res["bwd_peak"] = peak() - after_fwd
        del loss
        gc.collect()
        res["after_bwd"] = cur() - base
    else:
        res["bwd_peak"] = None
        del loss
    return res


def measure_module_fwd(build, make_inputs, warmup=True, **kw):
    if warmup:
        measure_module_fwd_once(build, make_inputs, **kw)
        gc.collect()
    return measure_module_fwd_once(build, make_inputs, **kw)


def measure_module_fwd_once(build, make_inputs, inputs_require_grad=True, grad_mode=True):
    """Retained bytes after forward of a module on a leaf input (input itself in the baseline).
    Also backward peak above after-forward. Params are built before the baseline."""
    torch.manual_seed(0)
    fn = build()
    leaves = make_inputs()
    for t in leaves:
        if t.is_floating_point():
            t.requires_grad_(inputs_require_grad)
    with torch.no_grad():
        y0 = fn(*leaves)
    g = torch.randn_like(y0)
    out_bytes = nbytes(y0)
    del y0
    gc.collect()
    base = cur()
    reset_peak()
    if grad_mode:
        y = fn(*leaves)
    else:
        with torch.no_grad():
            y = fn(*leaves)
    fwd_peak = peak() - base
    if y.requires_grad:
        loss = (y * g).sum()
    else:
        loss = None
    del y
    gc.collect()
    after_fwd = cur()
    lb = loss.storage().nbytes() if loss is not None else 0
    res = {"retained": after_fwd - base - lb, "fwd_peak": fwd_peak, "out_bytes": out_bytes}
    if loss is not None:
        reset_peak()
        loss.backward()
        res["bwd_peak"] = peak() - after_fwd
        res["bwd_peak_above_base"] = peak() - base
        del loss
        gc.collect()
        res["after_bwd"] = cur() - base
    return res


def measure_training(build_model, make_batch, loss_fn, make_opt=None, steps=2, accum=1, set_to_none=True,
                     ema=None):
    """Full training steps. Returns per-step dict with bytes relative to the step baseline
    (weights + optimizer state + grads if they survived zero_grad), all in bytes.
    make_batch(i) -> (x, target); batches are allocated before measurements.
    ema: optional callable(model) run after optimizer.step (measured separately)."""
    torch.manual_seed(0)
    gc.collect()
    c0 = cur()
    model = build_model()
    param_bytes = cur() - c0
    batches = [make_batch(i) for i in range(accum)]
    opt = make_opt(model.parameters()) if make_opt else None
    extra = ema_state = None
    if ema is not None:
        ema_state = ema("init", model)
    out = {"param_bytes": param_bytes, "n_params": sum(p.numel() for p in model.parameters()), "steps": []}
    c1 = cur()
    for step in range(1, steps + 1):
        gc.collect()
        if opt is not None:
            opt.zero_grad(set_to_none=set_to_none)
        else:
            model.zero_grad(set_to_none=set_to_none)
        base = cur()
        s = {"step": step, "base_above_params_and_batches": base - c1}
        fwd_ret = []
        peak_fb = 0
        for mb in range(accum):
            x, t = batches[mb]
            reset_peak()
            y = model(x)
            loss = loss_fn(y, t)
            del y
            gc.collect()
            fwd_ret.append(cur() - base)
            pf = peak() - base
            reset_peak()
            loss.backward()
            del loss
            gc.collect()
            peak_fb = max(peak_fb, pf, peak() - base)
            s.setdefault("after_bwd", []).append(cur() - base)
        s["retained_after_fwd"] = fwd_ret
        s["peak_fwd_bwd"] = peak_fb
        before_opt = cur()
        s["before_opt"] = before_opt - base
        if opt is not None:
            reset_peak()
            opt.step()
            s["peak_opt"] = peak() - base
            s["peak_opt_above_before_opt"] = peak() - before_opt
            s["after_opt"] = cur() - base
        if ema is not None:
            gc.collect()
            b = cur()
            reset_peak()
            ema("update", model, ema_state)
            s["ema_peak_above_before"] = peak() - b
            s["ema_after"] = cur() - b
        s["peak_step"] = max(peak_fb, s.get("peak_opt", 0))
        out["steps"].append(s)
    if opt is not None:
        st = []
        for p in model.parameters():
            for k, v in opt.state[p].items():
                if torch.is_tensor(v):
                    st.append(nbytes(v))
        out["opt_state_bytes"] = sum(st)
        out["opt_state_tensors"] = len(st)
    return out


def dump(obj, path):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=False)
