"""Measure the PyTorch programs in bench/torch/programs/ (written the way users write PyTorch, independently of
memplan) and write bench/torch/programs/measured-<torch version>.json.

usage: python bench/torch/run_programs.py [--only p01,p13] [--out FILE] [--saved] [--print]

Protocol (each programs/pNN_*.py is one module; see programs/README.md):
  CONFIG = {"kind": "train" | "infer", "grad_accum": N (default 1),
            "zero_grad": "set_to_none=True" (default) | "set_to_none=False" | "default"}
  build() -> nn.Module                     the model; all its parameters and buffers are made here
  make_batch(gen) -> tuple of tensors      one micro-batch, random data from the torch.Generator gen
  train programs: make_optimizer(model) -> torch.optim optimizer; compute_loss(model, batch) -> loss
                  (forward and loss as the user writes them, autocast / no_grad / checkpoint included)
  infer programs: infer(model, batch) -> output (the program calls model.eval() and torch.no_grad())

The runner's training loop is the ordinary one:
  for step in (1, 2):
      optimizer.zero_grad(<CONFIG's zero_grad>)
      for micro-batch in range(grad_accum):
          batch = make_batch(gen)                # the previous micro-batch is dropped first
          loss = compute_loss(model, batch)
          if grad_accum > 1: loss = loss / grad_accum
          loss.backward(); del loss
      optimizer.step()                           # the last micro-batch is still alive here
Inference: batch = make_batch(gen); out = infer(model, batch).
Every program runs once unmeasured first (a throw-away model: first-call kernel caches such as oneDNN's are
allocated before the baseline), then measured.

Bytes: libmemhook.so (LD_PRELOAD, see harness.py and check_hook.py): exact bytes of live CPU tensor storage,
plus the aligned scratch buffers oneDNN allocates itself (conv; the *_tensors twins leave those out).
All quantities are relative to the byte count taken BEFORE build() and exclude nothing, like validate.py:
  forward_saved  bytes left alive by step 1's first micro-batch forward (the loss alive), minus the loss
                 tensor's own storage and minus the batch (measured from after make_batch)
  step1_peak     peak live bytes during step 1 (zero_grad, batches, forwards, backwards, optimizer.step)
  step2_peak     the same for step 2
  forward_peak   (infer programs) peak live bytes during infer(), weights and batch included
  *_tensors      the same quantities counting tensor storage (c10::alloc_cpu) only
"""
import argparse
import gc
import glob
import importlib.util
import json
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = os.path.join(HERE, "programs")
sys.path.insert(0, HERE)

import harness as H  # noqa: E402  (re-execs the interpreter with LD_PRELOAD=libmemhook.so)
import torch  # noqa: E402

import autograd_saved  # noqa: E402

torch.set_num_threads(1)


def load(path):
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def storage_bytes(t):
    return autograd_saved.storage_ptr_bytes(t)[1]


def tensors_bytes(ts):
    return sum(storage_bytes(t) for t in ts if torch.is_tensor(t))


def param_counts(model):
    ps = list(model.parameters())  # unique parameters (a tied weight once)
    return {"params": sum(p.numel() for p in ps), "trainable": sum(p.numel() for p in ps if p.requires_grad),
            "param_tensors": len(ps)}


def zero_grad(opt, how):
    if how == "default":
        opt.zero_grad()
    elif how == "set_to_none=False":
        opt.zero_grad(set_to_none=False)
    elif how == "set_to_none=True":
        opt.zero_grad(set_to_none=True)
    else:
        raise ValueError("CONFIG zero_grad must be 'default', 'set_to_none=True' or 'set_to_none=False', not %r" % how)


class Meter:
    """Bytes relative to the baseline taken at construction: all aligned allocations the hook sees, and
    tensor storage only (c10::alloc_cpu; the difference is oneDNN's own scratch buffers, see check_hook.py)."""

    def __init__(self):
        gc.collect()
        self.c0, self.t0 = H.cur(), H.tensor_cur()

    def cur(self):
        return H.cur() - self.c0, H.tensor_cur() - self.t0

    def peak(self):
        return H.peak() - self.c0, H.tensor_peak() - self.t0


def run_train(prog, steps=2):
    cfg = prog.CONFIG
    accum = cfg.get("grad_accum", 1)
    how = cfg.get("zero_grad", "set_to_none=True")
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    meter = Meter()
    model = prog.build()
    out = {"weights": meter.cur()[0]}
    out.update(param_counts(model))
    opt = prog.make_optimizer(model)
    out["steps"] = []
    for step in range(1, steps + 1):
        gc.collect()
        H.reset_peak()
        zero_grad(opt, how)
        s = {"step": step, "start": meter.cur()[0], "micro": []}
        peaks = [meter.peak()]
        batch = None
        for mb in range(accum):
            del batch  # the previous micro-batch goes before the next is made
            batch = prog.make_batch(gen)
            m = {"batch": tensors_bytes(batch)}
            peaks.append(meter.peak())
            before = meter.cur()
            H.reset_peak()
            loss = prog.compute_loss(model, batch)
            if accum > 1:
                loss = loss / accum
            gc.collect()
            fp = meter.peak()
            peaks.append(fp)
            m["fwd_peak"] = fp[0]
            after = meter.cur()
            m["after_fwd"] = after[0]
            if step == 1 and mb == 0:
                lb = storage_bytes(loss)
                out["forward_saved"] = after[0] - before[0] - lb
                out["forward_saved_tensors"] = after[1] - before[1] - lb
                out["loss_storage"] = lb
            H.reset_peak()
            loss.backward()
            bp = meter.peak()
            peaks.append(bp)
            m["bwd_peak"] = bp[0]
            del loss
            gc.collect()
            m["after_bwd"] = meter.cur()[0]
            s["micro"].append(m)
        if step == 1:
            out["grads"] = sum(storage_bytes(p.grad) for p in model.parameters() if p.grad is not None)
        s["before_opt"] = meter.cur()[0]
        H.reset_peak()
        opt.step()
        op = meter.peak()
        peaks.append(op)
        s["opt_peak"] = op[0]
        del batch
        gc.collect()
        s["end"] = meter.cur()[0]
        s["peak"] = max(p[0] for p in peaks)
        s["peak_tensors"] = max(p[1] for p in peaks)
        out["steps"].append(s)
    st = [v for p in model.parameters() for v in opt.state[p].values() if torch.is_tensor(v)]
    out["optimizer_state"] = sum(storage_bytes(v) for v in st)
    out["step1_peak"] = out["steps"][0]["peak"]
    out["step2_peak"] = out["steps"][-1]["peak"]
    out["step1_peak_tensors"] = out["steps"][0]["peak_tensors"]
    out["step2_peak_tensors"] = out["steps"][-1]["peak_tensors"]
    del model, opt, st
    gc.collect()
    out["leaked"] = meter.cur()[0]
    return out


def run_infer(prog):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    meter = Meter()
    model = prog.build()
    out = {"weights": meter.cur()[0]}
    out.update(param_counts(model))
    batch = prog.make_batch(gen)
    out["batch"] = tensors_bytes(batch)
    H.reset_peak()
    y = prog.infer(model, batch)
    gc.collect()
    out["forward_peak"], out["forward_peak_tensors"] = meter.peak()
    out["output"] = tensors_bytes(y if isinstance(y, (tuple, list)) else [y])
    out["after_forward"] = meter.cur()[0]
    del y, batch, model
    gc.collect()
    out["leaked"] = meter.cur()[0]
    return out


def saved_listing(prog):
    """Unmeasured pass: step 1's first forward, then the autograd graph's saved tensors (autograd_saved)."""
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    model = prog.build()
    batch = prog.make_batch(gen)
    loss = prog.compute_loss(model, batch)
    rep = autograd_saved.saved_report([loss], params=list(model.parameters()) + list(model.buffers()), inputs=batch)
    del loss
    return rep


def measure(path, saved=False):
    prog = load(path)
    kind = prog.CONFIG.get("kind", "train")
    t0 = time.time()
    try:
        if kind == "train":
            run_train(prog, steps=1)  # warm-up on a throw-away model
            gc.collect()
            r = run_train(prog)
        elif kind == "infer":
            run_infer(prog)
            gc.collect()
            r = run_infer(prog)
        else:
            raise ValueError("CONFIG kind must be 'train' or 'infer', not %r" % kind)
        if saved and kind == "train":
            gc.collect()
            r["saved"] = saved_listing(prog)
    except Exception as e:  # a program this torch cannot run is reported, not fatal
        r = {"error": "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else ""),
             "where": traceback.format_exc().strip().splitlines()[-3].strip()}
    r = {"program": os.path.basename(path), "kind": kind, "grad_accum": prog.CONFIG.get("grad_accum", 1),
         "zero_grad": prog.CONFIG.get("zero_grad", "set_to_none=True"), **r}
    r["seconds"] = round(time.time() - t0, 2)
    return r


def line(r):
    if "error" in r:
        return "%-36s ERROR %s" % (r["program"], r["error"])
    if r["kind"] == "infer":
        return "%-36s params %9d  forward_peak %12d" % (r["program"], r["params"], r["forward_peak"])
    return "%-36s params %9d  forward_saved %12d  step1 %12d  step2 %12d" % (
        r["program"], r["params"], r["forward_saved"], r["step1_peak"], r["step2_peak"])


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", help="comma-separated program prefixes, e.g. p01,p13")
    ap.add_argument("--out", help="output JSON (default programs/measured-<torch version>.json)")
    ap.add_argument("--saved", action="store_true", help="also list each training program's saved tensors")
    ap.add_argument("--print", action="store_true", help="print the JSON instead of writing it")
    a = ap.parse_args(argv)
    paths = sorted(glob.glob(os.path.join(PROGRAMS, "p[0-9]*.py")))
    if a.only:
        want = a.only.split(",")
        paths = [p for p in paths if any(os.path.basename(p).startswith(w) for w in want)]
    version = torch.__version__.split("+")[0]
    res = {"torch": torch.__version__, "device": "cpu", "threads": torch.get_num_threads(),
           "counter": "libmemhook.so (posix_memalign/free), exact storage bytes", "programs": []}
    for p in paths:
        r = measure(p, a.saved)
        res["programs"].append(r)
        print(line(r), file=sys.stderr)
    text = json.dumps(res, indent=1)
    if a.print:
        print(text)
        return
    out = a.out or os.path.join(PROGRAMS, "measured-%s.json" % version)
    with open(out, "w") as f:
        f.write(text + "\n")
    print("wrote %s" % os.path.relpath(out), file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
