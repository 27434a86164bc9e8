"""Measure real PyTorch training steps for memplan run configs and print JSON.

usage: /usr/bin/python3 bench/torch/validate.py [--device cpu|cuda] [--out FILE] CONFIG.yaml...

For each run config (memplan format; the model descriptor beside it) this builds the model with
models.py and runs step 1 and step 2 exactly as the config says: optimizer (SGD, SGD momentum, Adam, AdamW,
foreach or for-loop), gradient accumulation (loss / grad_accum per micro-batch), checkpointing and
chunking as the descriptor says, EMA (in-place foreach update after the optimizer step), bf16 autocast
(torch.autocast around forward and loss), frozen blocks under torch.no_grad, and
optimizer.zero_grad(set_to_none=...) at the start of every step, as the run's `set_to_none` says (default True; explicit, as torch 1.13 defaults to False).

Measured, all relative to the byte count taken BEFORE the model is built, so weights, gradients, optimizer
state, EMA copy and the micro-batch are all included, like memplan's `allocated` (which excludes nothing):
* forward_saved: bytes left alive by micro-batch 1's forward of step 1 (loss alive, its own storage
  excluded, the batch excluded): memplan's `forward_saved`.
* step1_peak / step2_peak: peak live bytes during step 1 / step 2 (forward, backward, optimizer, EMA):
  memplan's `step1_allocated` / `steady_allocated`.
The batch of a micro-batch is created right before its forward and dropped before the next micro-batch is
made (the last one lives through optimizer.step, as in `for batch in loader`); the loss tensor is dropped
after backward.

Checkpointing uses the non-reentrant torch.utils.checkpoint (it also works when a segment's input needs
no grad); MEMPLAN_REENTRANT=1 switches models.py to the reentrant one (1.13's default) for comparison.

CPU (default here): bytes come from libmemhook.so (LD_PRELOAD, see harness.py): exact tensor storage bytes
(torch 1.13 and 2.13, check_hook.py), plus the few aligned scratch buffers oneDNN allocates itself (conv);
MEMPLAN_COUNT=tensors counts tensor storage only.
bf16-mixed on torch 1.13: a bf16 tensor reaching a layer_norm block is normalised with the weight and bias
cast to bf16 (1.13 has no mixed-dtype CPU layer_norm; see models.LayerNorm).
CUDA (`--device cuda`): torch.cuda.memory_allocated / max_memory_allocated with reset_peak_memory_stats per
step; per case, after torch.cuda.empty_cache(): the peak of memory_reserved over the whole case (folded across
the per-step resets), the device in use at the end of each step (mem_get_info: total - free; reserved does
not shrink without empty_cache, so this is context + reserved at its peak), the context as device used -
memory_reserved at the same moment, and torch.cuda.memory_stats() (what `memplan calibrate` reads). When
torch.cuda.is_available() is False the output says so (`unavailable`) and has no cases.
The CUDA path is written to this plan but has not been run (no GPU where this was written).
`--budget-s N` starts no case after N seconds (the rest are reported as skipped).
"""
import argparse
import contextlib
import gc
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def _want_cuda(argv):
    if "--device" in argv:
        i = argv.index("--device")
        return i + 1 < len(argv) and argv[i + 1] == "cuda"
    return False


if not _want_cuda(sys.argv):
    import harness as H  # noqa: E402  (re-execs the interpreter with LD_PRELOAD=libmemhook.so)
import torch  # noqa: E402

import models as M  # noqa: E402

torch.set_num_threads(1)


class CpuCounter:
    """All aligned allocations the hook sees (default), or with MEMPLAN_COUNT=tensors only c10::alloc_cpu's
    (tensor storage, without oneDNN's scratchpads; see check_hook.py)."""
    device = "cpu"
    tensors_only = os.environ.get("MEMPLAN_COUNT") == "tensors"

    def cur(self):
        return H.tensor_cur() if self.tensors_only else H.cur()

    def peak(self):
        return H.tensor_peak() if self.tensors_only else H.peak()

    def reset_peak(self):
        H.reset_peak()

    def extra(self):
        return {}


class CudaCounter:
    device = "cuda"

    def __init__(self):
        self.max_reserved = 0

    def begin_case(self):
        """Cached segments of the previous case go back to the driver; the case's reserved peak starts here."""
        gc.collect()
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        self.max_reserved = torch.cuda.memory_reserved()
        free, total = torch.cuda.mem_get_info()
        return {"reserved_at_start": self.max_reserved, "device_used_at_start": total - free}

    def cur(self):
        return torch.cuda.memory_allocated()

    def peak(self):
        return torch.cuda.max_memory_allocated()

    def reset_peak(self):
        torch.cuda.synchronize()
        # reset_peak_memory_stats also resets the reserved peak: keep the case's own.
        self.max_reserved = max(self.max_reserved, torch.cuda.max_memory_reserved())
        torch.cuda.reset_peak_memory_stats()

    def extra(self):
        torch.cuda.synchronize()
        free, total = torch.cuda.mem_get_info()
        reserved = torch.cuda.memory_reserved()
        self.max_reserved = max(self.max_reserved, torch.cuda.max_memory_reserved())
        return {"reserved": reserved, "max_reserved": self.max_reserved, "device_used": total - free,
                "context": total - free - reserved, "device_total": total, "device_name": torch.cuda.get_device_name()}


def storage_nbytes(t):
    return (t.untyped_storage() if hasattr(t, "untyped_storage") else t.storage()).nbytes()


def make_optimizer(run, params):
    o = run["optimizer"]
    t, impl, wd = o["type"], o["impl"], o["weight_decay"]
    if impl == "fused":
        raise ValueError("fused optimizers do not exist in torch 1.13")
    fe = impl == "foreach"
    if t == "sgd":
        return torch.optim.SGD(params, lr=1e-3, weight_decay=wd, foreach=fe)
    if t == "sgd-momentum":
        return torch.optim.SGD(params, lr=1e-3, momentum=0.9, weight_decay=wd, foreach=fe)
    if t == "adam":
        return torch.optim.Adam(params, lr=1e-3, weight_decay=wd, foreach=fe)
    if t == "adamw":
        return torch.optim.AdamW(params, lr=1e-3, weight_decay=wd, foreach=fe)
    raise ValueError("optimizer %s is not in torch" % t)


def autocast_ctx(run, device):
    p = run["precision"]
    if p == "fp32":
        return contextlib.nullcontext()
    if p == "bf16-mixed":
        return torch.autocast(device, dtype=torch.bfloat16)
    if p == "fp16-mixed" and device == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    raise ValueError("precision %s is not measured on %s here" % (p, device))


def to_device(batch, device):
    return batch if device == "cpu" else {k: v.to(device) for k, v in batch.items()}


def run_case(run, desc, counter, steps=2):
    device = counter.device
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    gc.collect()
    c0 = counter.cur()
    model = M.DescriptorModel(desc, run).to(device)
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = make_optimizer(run, trainable)
    ema = None
    if run["ema"]["enabled"]:
        dt = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}[run["ema"]["dtype"]]
        ema = [p.detach().to(dtype=dt, copy=True) for p in trainable]
    out = {"weights_and_buffers": counter.cur() - c0 - (sum(e.numel() * e.element_size() for e in ema) if ema else 0),
           "params": sum(p.numel() for p in model.parameters()),
           "trainable": sum(p.numel() for p in trainable), "steps": []}
    accum = run["grad_accum"]
    for step in range(1, steps + 1):
        # The run's zero_grad: set_to_none (default) frees the gradients; False zeroes them in place, so they
        # stay allocated through the next forward and backward.
        opt.zero_grad(set_to_none=run.get("set_to_none", True))
        gc.collect()
        counter.reset_peak()
        s = {"step": step, "start": counter.cur() - c0}
        batch = None
        for mb in range(accum):
            del batch  # the previous micro-batch goes before the next is made
            batch = to_device(model.make_batch(gen), device)
            before = counter.cur()
            counter.reset_peak()
            with autocast_ctx(run, device):
                loss = model(batch)
            if accum > 1:
                loss = loss / accum
            gc.collect()
            s.setdefault("fwd_peaks", []).append(counter.peak() - c0)
            counter.reset_peak()
            if mb == 0:
                s["forward_saved"] = counter.cur() - before - storage_nbytes(loss)
                s["loss_storage"] = storage_nbytes(loss)
            loss.backward()
            s.setdefault("bwd_peaks", []).append(counter.peak() - c0)
            del loss
            model.kept.clear()
            gc.collect()
        s["before_opt"] = counter.cur() - c0
        counter.reset_peak()
        opt.step()  # the last micro-batch is still alive here, as in `for batch in loader: ...; opt.step()`
        if ema is not None:
            # in-place EMA update (no parameter-sized temporaries)
            with torch.no_grad():
                torch._foreach_mul_(ema, 0.999)
                torch._foreach_add_(ema, [p.detach().to(ema[0].dtype) for p in trainable] if ema[0].dtype != trainable[0].dtype else trainable, alpha=0.001)
        del batch
        gc.collect()
        s["opt_ema_peak"] = counter.peak() - c0
        s["peak"] = max(s["fwd_peaks"] + s["bwd_peaks"] + [s["opt_ema_peak"]])
        s["end"] = counter.cur() - c0
        s.update(counter.extra())
        out["steps"].append(s)
    if device == "cuda":
        out["memory_stats"] = {k: v for k, v in torch.cuda.memory_stats().items() if not isinstance(v, (list, dict))}
        out["max_memory_allocated_case"] = max(s["peak"] for s in out["steps"])
    st = [v for p in trainable for v in opt.state[p].values() if torch.is_tensor(v)]
    out["optimizer_state"] = sum(v.numel() * v.element_size() for v in st)
    out["forward_saved"] = out["steps"][0]["forward_saved"]
    out["step1_peak"] = out["steps"][0]["peak"]
    out["step2_peak"] = out["steps"][-1]["peak"]
    del model, opt, ema, trainable, st
    gc.collect()
    out["leaked"] = counter.cur() - c0
    return out


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("configs", nargs="+")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--out")
    ap.add_argument("--budget-s", type=float, default=0, help="start no case after this many seconds (0: no limit)")
    a = ap.parse_args(argv)
    results = {"torch": torch.__version__, "device": a.device, "threads": torch.get_num_threads(), "cases": []}
    if a.device == "cuda":
        results["cuda"] = torch.version.cuda
        # torch sets CUDA_MODULE_LOADING=LAZY when it is unset (CUDA >= 11.7); what the driver was told.
        results["cuda_module_loading"] = os.environ.get("CUDA_MODULE_LOADING", "LAZY (torch's default)")
        if not torch.cuda.is_available():
            results["unavailable"] = "torch.cuda.is_available() is False (torch %s, built with CUDA %s)" % (torch.__version__, torch.version.cuda)
            return write(results, a.out)
        torch.cuda.init()
        results["device_name"] = torch.cuda.get_device_name()
        results["device_total"] = torch.cuda.mem_get_info()[1]
    counter = CudaCounter() if a.device == "cuda" else CpuCounter()
    start = time.time()
    if a.device == "cpu" and counter.tensors_only:
        results["count"] = "tensors"
    for path in a.configs:
        if a.budget_s and time.time() - start > a.budget_s:
            results["cases"].append({"config": path, "error": "skipped: the %g s budget was spent" % a.budget_s})
            continue
        run, desc = M.load_case(path)
        t0 = time.time()
        try:
            run_case(run, desc, counter, steps=1)  # warm-up: first-call kernel caches are allocated before the baseline
            gc.collect()
            begin = counter.begin_case() if a.device == "cuda" else {}
            r = run_case(run, desc, counter)
            r.update(begin)
            r["config"] = path
        except Exception as e:  # a case PyTorch cannot run is reported, not fatal
            r = {"config": path, "error": "%s: %s" % (type(e).__name__, e)}
        r["seconds"] = round(time.time() - t0, 2)
        results["cases"].append(r)
        print("%-60s %s" % (path, r.get("error") or "saved %d step1 %d step2 %d" % (r["forward_saved"], r["step1_peak"], r["step2_peak"])), file=sys.stderr)
    results["seconds"] = round(time.time() - start, 1)
    write(results, a.out)


def write(results, out):
    text = json.dumps(results, indent=1)
    if out:
        with open(out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
