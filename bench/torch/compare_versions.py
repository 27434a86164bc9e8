"""What changed between two torch versions, case by case: measured bytes and saved tensors.

usage:
  python bench/torch/compare_versions.py dump [--out FILE] [CONFIG.yaml ...]
      (run once per interpreter) lists, for every bench case (default bench/torch/cases/*.yaml) and every training program in programs/, the tensors the autograd graph saved
      after micro-batch 1's forward (autograd_saved.py: node, argument, shape, dtype, bytes; activation
      storages counted once, parameters and batch inputs left out). Writes measured/saved-<torch version>.json.
  python bench/torch/compare_versions.py diff SAVED_A SAVED_B [--cases VAL_A VAL_B] [--programs PROG_A PROG_B]
      prints markdown: per case / program, the measured quantities on both versions (validate.py --out /
      run_programs.py JSON) and the saved tensors present on one version only.
  python bench/torch/compare_versions.py table MEASURED_A MEASURED_B
      prints the programs' measured quantities on two versions as one markdown table.

The graph is read after a forward that is not measured (reading a non-reentrant checkpoint's saved tensor
recomputes its segment, so checkpointed segments show their recomputed tensors or nothing).
"""
import argparse
import contextlib
import glob
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def dump(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--out")
    ap.add_argument("configs", nargs="*")
    a = ap.parse_args(argv)
    import torch
    import autograd_saved as S
    import models as M
    import run_programs as R
    torch.set_num_threads(1)
    configs = a.configs or sorted(glob.glob(os.path.join(HERE, "cases", "*.yaml")))
    out = {"torch": torch.__version__, "cases": {}, "programs": {}}
    for path in configs:
        name = os.path.relpath(path, HERE)
        try:
            run, desc = M.load_case(path)
            torch.manual_seed(0)
            model = M.DescriptorModel(desc, run)
            batch = model.make_batch(torch.Generator().manual_seed(1))
            ctx = torch.autocast("cpu", dtype=torch.bfloat16) if run["precision"] == "bf16-mixed" else contextlib.nullcontext()
            with ctx:
                loss = model(batch)
            rep = S.saved_report([loss], list(model.parameters()) + list(model.buffers()), list(batch.values()))
            out["cases"][name] = {"activation_bytes": rep["activation_bytes"], "node_count": rep["node_count"],
                                  "saved": S.summarize(rep["nodes"])}
        except Exception as e:
            out["cases"][name] = {"error": "%s: %s" % (type(e).__name__, e)}
        print("%-50s %s" % (name, out["cases"][name].get("error") or out["cases"][name]["activation_bytes"]), file=sys.stderr)
    for path in sorted(glob.glob(os.path.join(R.PROGRAMS, "p[0-9]*.py"))):
        prog = R.load(path)
        if prog.CONFIG.get("kind", "train") != "train":
            continue
        name = os.path.basename(path)
        try:
            rep = R.saved_listing(prog)
            out["programs"][name] = {"activation_bytes": rep["activation_bytes"], "node_count": rep["node_count"],
                                     "saved": S.summarize(rep["nodes"])}
        except Exception as e:
            out["programs"][name] = {"error": "%s: %s" % (type(e).__name__, str(e).splitlines()[0])}
        print("%-50s %s" % (name, out["programs"][name].get("error") or out["programs"][name]["activation_bytes"]), file=sys.stderr)
    dest = a.out or os.path.join(HERE, "measured", "saved-%s.json" % torch.__version__.split("+")[0])
    with open(dest, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote %s" % dest, file=sys.stderr)


def _fmt(n):
    return "{:,}".format(n) if isinstance(n, int) else str(n)


def _pct(a, b):
    if not isinstance(a, int) or not isinstance(b, int) or a == 0:
        return ""
    return "%+.2f%%" % (100.0 * (b - a) / a)


def saved_diff(sa, sb):
    """Rows (key, count/bytes on A, count/bytes on B) where the two versions differ."""
    rows = []
    for k in sorted(set(sa) | set(sb)):
        ca, ba = sa.get(k, (0, 0))
        cb, bb = sb.get(k, (0, 0))
        if (ca, ba) != (cb, bb):
            rows.append((k, ca, ba, cb, bb))
    return rows


def diff(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("saved_a")
    ap.add_argument("saved_b")
    ap.add_argument("--cases", nargs=2)
    ap.add_argument("--programs", nargs=2)
    a = ap.parse_args(argv)
    A, B = (json.load(open(p)) for p in (a.saved_a, a.saved_b))
    va, vb = A["torch"], B["torch"]
    meas = {}
    if a.cases:
        for side, p in zip("ab", a.cases):
            for c in json.load(open(p))["cases"]:
                meas.setdefault(os.path.relpath(os.path.join(os.getcwd(), c["config"]), HERE) if not c["config"].startswith("bench/")
                                else os.path.relpath(c["config"], "bench/torch"), {})[side] = c
    if a.programs:
        for side, p in zip("ab", a.programs):
            for r in json.load(open(p))["programs"]:
                meas.setdefault(r["program"], {})[side] = r
    for section in ("cases", "programs"):
        print("\n## %s\n" % section)
        for name in sorted(set(A[section]) | set(B[section])):
            ra, rb = A[section].get(name, {}), B[section].get(name, {})
            m = meas.get(name, {})
            print("### %s\n" % name)
            qs = ["forward_saved", "step1_peak", "step2_peak", "forward_peak"]
            lines = []
            for q in qs:
                xa, xb = m.get("a", {}).get(q), m.get("b", {}).get(q)
                if xa is None and xb is None:
                    continue
                lines.append("| %s | %s | %s | %s | %s |" % (q, _fmt(xa), _fmt(xb), _fmt(xb - xa) if isinstance(xa, int) and isinstance(xb, int) else "", _pct(xa, xb)))
            for side, r in (("a", m.get("a", {})), ("b", m.get("b", {}))):
                if r.get("error"):
                    lines.append("| error on %s | %s | | | |" % (va if side == "a" else vb, r["error"]))
            lines.append("| saved activations (graph walk) | %s | %s | %s | |" % (
                _fmt(ra.get("activation_bytes", ra.get("error"))), _fmt(rb.get("activation_bytes", rb.get("error"))),
                _fmt(rb["activation_bytes"] - ra["activation_bytes"]) if "activation_bytes" in ra and "activation_bytes" in rb else ""))
            print("| quantity | %s | %s | difference | |\n|---|---:|---:|---:|---|" % (va, vb))
            print("\n".join(lines))
            rows = saved_diff(ra.get("saved", {}), rb.get("saved", {}))
            if rows:
                print("\nsaved tensors that differ (node.argument shape dtype: count x bytes):\n")
                for k, ca, ba, cb, bb in rows:
                    print("- `%s`: %s %d (%s B), %s %d (%s B)" % (k, va, ca, _fmt(ba), vb, cb, _fmt(bb)))
            print()


def table(argv):
    A, B = (json.load(open(p)) for p in argv[:2])
    va, vb = A["torch"].split("+")[0], B["torch"].split("+")[0]
    rb = {r["program"]: r for r in B["programs"]}
    print("| program | params (trainable) | quantity | %s | %s | %s vs %s |" % (va, vb, vb, va))
    print("|---|---:|---|---:|---:|---:|")
    for ra in A["programs"]:
        name = ra["program"]
        r2 = rb.get(name, {})
        qs = ["forward_peak"] if ra["kind"] == "infer" else ["forward_saved", "step1_peak", "step2_peak"]
        ref = ra if "params" in ra else r2
        pc = "%s (%s)" % (_fmt(ref.get("params")), _fmt(ref.get("trainable"))) if ref.get("params") != ref.get("trainable") else _fmt(ref.get("params"))
        for i, q in enumerate(qs):
            xa = ra.get(q, "error" if "error" in ra else "")
            xb = r2.get(q, "error" if "error" in r2 else "")
            print("| %s | %s | %s | %s | %s | %s |" % (name[:-3] if i == 0 else "", pc if i == 0 else "", q, _fmt(xa), _fmt(xb),
                                                      _pct(xa, xb)))


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "table":
        table(sys.argv[2:])
        sys.exit(0)
    if len(sys.argv) < 2 or sys.argv[1] not in ("dump", "diff"):
        print(__doc__)
        sys.exit(2)
    if sys.argv[1] == "dump":
        import harness  # noqa: F401  (LD_PRELOAD not needed, but keeps the environment identical to the runs)
        dump(sys.argv[2:])
    else:
        diff(sys.argv[2:])
