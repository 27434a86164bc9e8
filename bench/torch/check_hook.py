"""Is libmemhook.so exact on this torch? Two independent checks; exits 1 on any mismatch.

usage: python bench/torch/check_hook.py [--json FILE]

A. Known sizes: tensors whose storage size is known by construction (every dtype, odd sizes, a 64 MiB block,
   views, in-place ops, resize_, casts, cat, clone, torch.tensor from a list, a tensor of a Python list of
   scalars...) must add exactly their nbytes, and give them all back when deleted.
B. The profiler's own allocation events: torch.profiler(profile_memory=True) records every allocation and
   free of c10's CPU allocator (c10::reportMemoryUsageToProfiler in the DefaultCPUAllocator), independently
   of the hook. Over two full training steps / an inference forward of programs in programs/, the number
   of allocations and the bytes allocated by c10::alloc_cpu (the hook's caller table, libc10.so), the net
   change and the peak (the hook's libc10-only counters vs the cumulative sum of the profiler's events in
   order) must be equal. The hook's all-callers counters (what harness.cur()/peak() and the benches report)
   also see aligned allocations made outside libc10 (oneDNN scratchpads in libtorch_cpu.so): listed as
   "other", with how much they move the peak.
"""
import argparse
import gc
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness as H  # noqa: E402
import torch  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402

import run_programs as R  # noqa: E402


def known_sizes():
    """(label, make, expected bytes). `make` returns the objects to keep alive while measuring."""
    base = torch.ones(1000, 1000)
    cases = []
    for dt, size in [(torch.float32, 4), (torch.float64, 8), (torch.bfloat16, 2), (torch.float16, 2),
                     (torch.int64, 8), (torch.int32, 4), (torch.int16, 2), (torch.int8, 1), (torch.uint8, 1),
                     (torch.bool, 1), (torch.complex64, 8)]:
        for n in (1, 3, 17, 1001, 65537):
            cases.append(("empty(%d, %s)" % (n, str(dt)[6:]), lambda n=n, dt=dt: torch.empty(n, dtype=dt), n * size))
    cases += [
        ("empty(4096, 4096) fp32 (64 MiB)", lambda: torch.empty(4096, 4096), 4096 * 4096 * 4),
        ("empty(0)", lambda: torch.empty(0), 0),
        ("zeros(3, 0, 5)", lambda: torch.zeros(3, 0, 5), 0),
        ("views: t(), view, narrow, [::2], expand", lambda: [base.t(), base.view(-1), base.narrow(0, 0, 10), base[::2],
                                                          base[:1].expand(50, 1000)], 0),
        ("in-place add_, mul_, relu_ on a fresh tensor", lambda: torch.ones(1000).add_(1).mul_(2).relu_(), 4000),
        ("transpose().contiguous() copy", lambda: base.t().contiguous(), 4_000_000),
        ("clone", lambda: base.clone(), 4_000_000),
        ("to(bfloat16)", lambda: base.to(torch.bfloat16), 2_000_000),
        ("cat of two [1000, 1000]", lambda: torch.cat([base, base]), 8_000_000),
        ("torch.tensor(list of 10 floats)", lambda: torch.tensor([float(i) for i in range(10)]), 40),
        ("torch.tensor(0.)", lambda: torch.tensor(0.0), 4),
        ("arange(1000) int64", lambda: torch.arange(1000), 8000),
        ("randn with a Generator", lambda: torch.randn(123, 7, generator=torch.Generator().manual_seed(0)), 123 * 7 * 4),
        ("resize_ 10 -> 1000 floats (old storage freed)", lambda: torch.empty(10).resize_(1000), 4000),
        ("nn.Linear(128, 256) parameters", lambda: torch.nn.Linear(128, 256), (128 * 256 + 256) * 4),
        ("nn.BatchNorm1d(64): 2 params + 2 running stats + int64 counter", lambda: torch.nn.BatchNorm1d(64), 4 * 64 * 4 + 8),
    ]
    return cases


def check_known():
    rows, ok = [], True
    for label, make, expect in known_sizes():
        gc.collect()
        c0 = H.cur()
        obj = make()
        got = H.cur() - c0
        del obj
        gc.collect()
        back = H.cur() - c0
        good = got == expect and back == 0
        ok &= good
        rows.append({"case": label, "expected": expect, "counted": got, "after_del": back, "ok": good})
    return ok, rows


def profiler_events(prof):
    evs = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"
           and str(e.device_type()).endswith("CPU")]
    t = (lambda e: e.start_ns()) if hasattr(evs[0], "start_ns") else (lambda e: e.start_us())
    order = sorted(range(len(evs)), key=lambda i: (t(evs[i]), i))
    return [evs[i].nbytes() for i in order]


def profiled(name, work):
    """Run work() under the profiler and the hook; compare their allocation counts, bytes, net, peak."""
    gc.collect()
    c0, t0 = H.cur(), H.tensor_cur()
    H.reset_peak()
    box = {}

    def traced():
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            work()
            gc.collect()
        box["prof"] = prof
    callers = H.trace_callers(traced)
    prof = box["prof"]
    c10 = [r for r in callers if r[0].startswith("libc10.so")]
    other = [r for r in callers if not r[0].startswith("libc10.so")]
    hook = {"allocs": sum(r[2] for r in c10), "bytes_allocated": sum(r[3] for r in c10),
            "net": H.tensor_cur() - t0, "peak": H.tensor_peak() - t0}
    all_callers = {"peak": H.peak() - c0, "net": H.cur() - c0, "other_allocs": sum(r[2] for r in other),
                   "other_bytes_allocated": sum(r[3] for r in other),
                   "other_callers": [list(r) for r in other]}
    ev = profiler_events(prof)
    cur = peak = 0
    for nb in ev:
        cur += nb
        peak = max(peak, cur)
    prof_counts = {"allocs": sum(1 for nb in ev if nb > 0), "bytes_allocated": sum(nb for nb in ev if nb > 0),
                   "net": cur, "peak": peak}
    same = all(hook[k] == prof_counts[k] for k in hook)
    return same, {"workload": name, "hook": hook, "profiler": prof_counts, "ok": same, "all_callers": all_callers}


def program_work(fname):
    prog = R.load(os.path.join(R.PROGRAMS, fname))
    gen = torch.Generator().manual_seed(1)
    if prog.CONFIG.get("kind") == "infer":
        def work():
            model = prog.build()
            y = prog.infer(model, prog.make_batch(gen))
            del y, model
        return work

    def work():
        model = prog.build()
        opt = prog.make_optimizer(model)
        for _ in range(2):
            opt.zero_grad(set_to_none=True)
            batch = prog.make_batch(gen)
            loss = prog.compute_loss(model, batch)
            loss.backward()
            del loss
            opt.step()
            del batch
        del model, opt
    return work


WORKLOADS = ["p01_resnet_sgdm.py", "p18_conv1d_batchnorm_strided.py", "p04_gnn_edge_index_add.py", "p09_asv_chunked_checkpoint.py", "p13_gpt_tied.py",
             "p21_gpt_tied_bf16.py", "p22_conv1d_layernorm_bf16.py", "p11_encoder_inference.py",
             "p26_encoder_inference_padmask.py"]


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    ok_a, rows = check_known()
    for r in rows:
        if not r["ok"]:
            print("MISMATCH %-50s expected %d counted %d after del %d" % (r["case"], r["expected"], r["counted"], r["after_del"]))
    print("A. known sizes: %d cases, %s" % (len(rows), "all exact" if ok_a else "MISMATCHES above"))
    res_b, ok_b = [], True
    for w in WORKLOADS:
        work = program_work(w)
        try:
            work()  # warm-up (first-call caches)
        except Exception as e:  # e.g. a program this torch cannot run
            print("B. %-34s skipped: %s" % (w, str(e).splitlines()[0]))
            continue
        same, r = profiled(w, work)
        ok_b &= same
        res_b.append(r)
        h, p, o = r["hook"], r["profiler"], r["all_callers"]
        print("B. %-34s c10 allocs %5d/%5d  allocated %10d/%10d  net %d/%d  peak %9d/%9d %s | other: %5d allocs %8d B, peak +%d B" % (
            w, h["allocs"], p["allocs"], h["bytes_allocated"], p["bytes_allocated"], h["net"], p["net"], h["peak"],
            p["peak"], "same" if same else "DIFFERENT", o["other_allocs"], o["other_bytes_allocated"], o["peak"] - h["peak"]))
    print("torch %s: %s" % (torch.__version__, "hook exact for tensor storage" if ok_a and ok_b else "HOOK NOT EXACT"))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"torch": torch.__version__, "known_sizes": rows, "profiler": res_b}, f, indent=1)
    sys.exit(0 if ok_a and ok_b else 1)


if __name__ == "__main__":
    main(sys.argv[1:])
