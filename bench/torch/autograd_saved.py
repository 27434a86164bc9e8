"""List what the autograd graph of a forward holds: every node reachable from the given outputs and the
tensors it saved for backward (its `_saved_*` attributes), with shape, dtype and storage bytes, each
storage classified as a parameter, a batch input or an activation. Used by run_programs.py --saved and
compare_versions.py; it reads the graph after forward, so it is run outside any measured pass (reading a
saved tensor of a non-reentrant checkpoint segment would recompute it).

Works on torch 1.13 and 2.x (both expose `_saved_<name>` on generated backward nodes). Custom
autograd.Function nodes (checkpoint's own, user functions) keep their tensors in ctx: those are not listed.
"""
import torch


def storage_of(t):
    return t.untyped_storage() if hasattr(t, "untyped_storage") else t.storage()


def storage_ptr_bytes(t):
    s = storage_of(t)
    return s.data_ptr(), s.nbytes()


def nodes(roots):
    """Every autograd node reachable from the roots' grad_fn, in discovery order."""
    seen, order = set(), []
    stack = [r.grad_fn for r in roots if torch.is_tensor(r) and r.grad_fn is not None]
    while stack:
        n = stack.pop()
        if n is None or id(n) in seen:
            continue
        seen.add(id(n))
        order.append(n)
        for nf, _ in n.next_functions:
            stack.append(nf)
    return order


def saved_of(node):
    out = []
    for attr in sorted(dir(node)):
        if not attr.startswith("_saved_"):
            continue
        try:
            v = getattr(node, attr)
        except Exception:  # freed, or a checkpoint holder that cannot be unpacked here
            continue
        vals = v if isinstance(v, (tuple, list)) else [v]
        for t in vals:
            if torch.is_tensor(t) and t.numel():
                out.append((attr[len("_saved_"):], t))
    return out


def saved_report(roots, params=(), inputs=()):
    """-> {"nodes": [...], "activation_bytes": unique activation storage bytes, ...}. Each entry:
    [node name, argument, shape, dtype, storage bytes, kind, first?] where kind is param / input /
    activation and first is False when the storage was already listed (shared storage counted once)."""
    pptr = {storage_ptr_bytes(p)[0] for p in params}
    iptr = {storage_ptr_bytes(t)[0] for t in inputs if torch.is_tensor(t) and t.numel()}
    seen = {}
    rows = []
    for n in nodes(roots):
        for arg, t in saved_of(n):
            ptr, nb = storage_ptr_bytes(t)
            kind = "param" if ptr in pptr else "input" if ptr in iptr else "activation"
            first = ptr not in seen
            if first:
                seen[ptr] = (kind, nb)
            rows.append([n.name(), arg, list(t.shape), str(t.dtype).replace("torch.", ""), nb, kind, first])
    total = {"activation": 0, "param": 0, "input": 0}
    for kind, nb in seen.values():
        total[kind] += nb
    return {"nodes": rows, "activation_bytes": total["activation"], "param_bytes": total["param"],
            "input_bytes": total["input"], "node_count": len(nodes(roots))}


def summarize(rows):
    """Multiset of (node, argument, shape, dtype, bytes) over first occurrences of activation storages."""
    out = {}
    for name, arg, shape, dtype, nb, kind, first in rows:
        if kind != "activation" or not first:
            continue
        key = "%s.%s %s %s" % (name, arg, "x".join(map(str, shape)) or "scalar", dtype)
        c, b = out.get(key, (0, 0))
        out[key] = (c + 1, b + nb)
    return out
