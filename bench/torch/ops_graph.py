"""Per-op measurements for the graph language's op families (issue 10): what each op keeps for backward
and what its backward allocates beyond the gradients, on the installed torch (CPU, libmemhook.so).

usage: python bench/torch/ops_graph.py [--out FILE]   (run once per torch version)

Method (harness.measure_op): float inputs are .clone()s of leaves, so an input the op does not save is
freed after forward; loss = (y * g).sum(), so backward starts from a dense y-sized gradient.
  retained  = bytes alive after forward above the baseline (the op's saved tensors and its output's
              storage if saved) -- the output itself is dropped before this is read unless saved.
  bwd_peak  = peak during backward above the after-forward level: grad_y (out_bytes) + the gradients of
              the inputs + the op's backward temporaries, at the worst moment.
  temps     = bwd_peak - out_bytes - float input grads - 4 (the scalar), a lower bound on the temporaries.
"""
import argparse
import json
import sys
import os

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402


class Fn(torch.nn.Module):
    def __init__(self, f):
        super().__init__()
        self.f = f

    def forward(self, *a):
        return self.f(*a)


A = (64, 32, 128)  # 262144 elements, 1 MiB fp32
N = 64 * 32 * 128


def x(*shape):
    return lambda: [torch.randn(*shape)]


def xy(sa, sb):
    return lambda: [torch.randn(*sa), torch.randn(*sb)]


CASES = [
    # name, fn, inputs, opts
    ("exp", lambda a: a.exp(), x(*A), {}),
    ("log", lambda a: a.abs().add(1).log() if False else a.log(), lambda: [torch.rand(*A) + 0.5], {}),
    ("log1p", lambda a: a.log1p(), lambda: [torch.rand(*A)], {}),
    ("neg", lambda a: -a, x(*A), {}),
    ("sqrt", lambda a: a.sqrt(), lambda: [torch.rand(*A) + 0.5], {}),
    ("rsqrt", lambda a: a.rsqrt(), lambda: [torch.rand(*A) + 0.5], {}),
    ("abs", lambda a: a.abs(), x(*A), {}),
    ("clamp", lambda a: a.clamp(-0.5, 0.5), x(*A), {}),
    ("clamp_min", lambda a: a.clamp(min=0.1), x(*A), {}),
    ("softplus", lambda a: F.softplus(a), x(*A), {}),
    ("pow2", lambda a: a.pow(2), x(*A), {}),
    ("pow3", lambda a: a ** 3, x(*A), {}),
    ("square", lambda a: a.square(), x(*A), {}),
    ("reciprocal", lambda a: a.reciprocal(), lambda: [torch.rand(*A) + 0.5], {}),
    ("sigmoid", lambda a: a.sigmoid(), x(*A), {}),
    ("tanh", lambda a: a.tanh(), x(*A), {}),
    ("add_scalar", lambda a: a + 1.0, x(*A), {}),
    ("mul_scalar", lambda a: a * 2.0, x(*A), {}),
    ("div_scalar", lambda a: a / 2.0, x(*A), {}),
    ("add", lambda a, b: a + b, xy(A, A), {}),
    ("sub", lambda a, b: a - b, xy(A, A), {}),
    ("mul", lambda a, b: a * b, xy(A, A), {}),
    ("div", lambda a, b: a / (b.abs() + 1) if False else a / b, lambda: [torch.randn(*A), torch.rand(*A) + 0.5], {}),
    ("maximum", lambda a, b: torch.maximum(a, b), xy(A, A), {}),
    ("add_bcast", lambda a, b: a + b, xy(A, (1, 32, 1)), {}),
    ("sub_bcast", lambda a, b: a - b, xy((64, 32, 1), (1, 1, 128)), {}),
    ("mul_bcast", lambda a, b: a * b, xy(A, (1, 32, 1)), {}),
    ("mul_bcast_both", lambda a, b: a * b, xy((64, 32, 1), (1, 1, 128)), {}),
    ("div_bcast", lambda a, b: a / b, lambda: [torch.randn(*A), torch.rand(1, 32, 1) + 0.5], {}),
    ("where", lambda a, b, c: torch.where(c, a, b), lambda: [torch.randn(*A), torch.randn(*A), torch.rand(*A) > 0.5], {}),
    ("masked_fill", lambda a, m: a.masked_fill(m, -1e9), lambda: [torch.randn(*A), torch.rand(*A) > 0.5], {}),
    ("sum_last", lambda a: a.sum(-1), x(*A), {}),
    ("sum_all", lambda a: a.sum(), x(*A), {"loss_is_output": True}),
    ("mean_last", lambda a: a.mean(-1), x(*A), {}),
    ("mean_mid", lambda a: a.mean(1), x(*A), {}),
    ("amax_last", lambda a: a.amax(-1), x(*A), {}),
    ("max_last", lambda a: a.max(-1).values, x(*A), {}),
    ("logsumexp_last", lambda a: a.logsumexp(-1), x(*A), {}),
    ("softmax_last", lambda a: a.softmax(-1), x(*A), {}),
    ("log_softmax_last", lambda a: a.log_softmax(-1), x(*A), {}),
    ("softmax_mid", lambda a: a.softmax(1), x(*A), {}),
    ("bmm", lambda a, b: a @ b, xy((64, 32, 128), (64, 128, 32)), {}),
    ("matmul_bcast", lambda a, b: a @ b, xy((64, 32, 128), (128, 64)), {}),
    ("cat", lambda a, b: torch.cat([a, b], -1), xy(A, A), {}),
    ("stack", lambda a, b: torch.stack([a, b], 1), xy(A, A), {}),
    ("select_cls", lambda a: a[:, 0], x(*A), {}),
    ("slice_mid", lambda a: a[:, 4:20], x(*A), {}),
    ("index_select", lambda a, i: a.index_select(1, i), lambda: [torch.randn(*A), torch.randint(0, 32, (48,))], {}),
    ("gather", lambda a, i: a.gather(1, i), lambda: [torch.randn(*A), torch.randint(0, 32, (64, 16, 128))], {}),
    ("gather_last_small", lambda a, i: a.gather(-1, i), lambda: [torch.randn(*A), torch.randint(0, 128, (64, 32, 1))], {}),
    ("scatter_add", lambda s, i: torch.zeros(64, 8, 128).scatter_add(1, i, s), lambda: [torch.randn(*A), torch.randint(0, 8, A)], {}),
    ("index_add_fn", lambda s, i: torch.zeros(512, 128).index_add(0, i, s), lambda: [torch.randn(2048, 128), torch.randint(0, 512, (2048,))], {}),
    ("index_add_self", lambda t, s, i: t.index_add(0, i, s), lambda: [torch.randn(512, 128), torch.randn(2048, 128), torch.randint(0, 512, (2048,))], {}),
    ("expand", lambda a: a.expand(64, 32, 128), x(64, 1, 128), {}),
    ("expand_contig", lambda a: a.expand(64, 32, 128).contiguous(), x(64, 1, 128), {}),
    ("repeat", lambda a: a.repeat(1, 4, 1), x(64, 8, 128), {}),
    ("repeat_interleave", lambda a: a.repeat_interleave(4, dim=1), x(64, 8, 128), {}),
    ("transpose_contig", lambda a: a.transpose(1, 2).contiguous(), x(*A), {}),
    ("permute_reshape", lambda a: a.permute(0, 2, 1).reshape(64, -1), x(*A), {}),
    ("detach_mul", lambda a, b: a.detach() * b, xy(A, A), {}),
    ("cosine_sim", lambda a, b: F.cosine_similarity(a, b, dim=-1), xy(A, A), {}),
    ("mse_none", lambda a, b: F.mse_loss(a, b, reduction="none"), lambda: [torch.randn(*A), torch.randn(*A)], {"nograd_inputs": (1,)}),
    # Added with the programs' descriptors (bench/torch/programs/descriptors): losses against a given
    # target, cdist, vector norms, diagonal, comparisons.
    ("bce", lambda a, t: F.binary_cross_entropy(a.sigmoid(), t), lambda: [torch.randn(*A), torch.rand(*A)],
     {"nograd_inputs": (1,), "loss_is_output": True}),
    ("bce_only", lambda p, t: F.binary_cross_entropy(p, t), lambda: [torch.rand(*A) * 0.9 + 0.05, torch.rand(*A)],
     {"nograd_inputs": (1,), "loss_is_output": True}),
    ("bce_with_logits", lambda a, t: F.binary_cross_entropy_with_logits(a, t), lambda: [torch.randn(*A), torch.rand(*A)],
     {"nograd_inputs": (1,), "loss_is_output": True}),
    ("mse_loss", lambda a, t: F.mse_loss(a, t), lambda: [torch.randn(*A), torch.randn(*A)],
     {"nograd_inputs": (1,), "loss_is_output": True}),
    ("cdist", lambda a, b: torch.cdist(a, b), xy((8, 256, 16), (8, 256, 16)), {}),
    ("cdist_self_view", lambda a: torch.cdist(a[..., :3], a[..., :3]), x(8, 256, 4), {}),
    ("norm_last", lambda a: a.norm(dim=-1, keepdim=True), x(*A), {}),
    ("diagonal", lambda a: a.diagonal(), x(512, 512), {}),
    ("eq_scalar", lambda a: (a == 0).float() if False else (a == 0), x(*A), {"inputs_require_grad": False}),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out")
    ap.add_argument("only", nargs="*")
    args = ap.parse_args()
    rows = []
    for name, f, mk, opts in CASES:
        if args.only and name not in args.only:
            continue
        r = H.measure_op(lambda: Fn(f), mk, **opts)
        grads = r["after_bwd"] if r.get("after_bwd") is not None else 0
        temps = None if r["bwd_peak"] is None else r["bwd_peak"] - (0 if opts.get("loss_is_output") else r["out_bytes"]) - grads - 4
        row = {"op": name, "retained": r["retained"], "out_bytes": r["out_bytes"], "in_float_bytes": r["in_float_bytes"],
               "bwd_peak": r["bwd_peak"], "input_grads": grads, "temps": temps,
               "saved": [(s["shape"], s["dtype"], s.get("role")) for s in r["saved"]]}
        rows.append(row)
        print("%-20s retained %9d  out %8d  bwd_peak %9s  grads %9d  temps %9s  saved %s" % (
            name, row["retained"], row["out_bytes"], row["bwd_peak"], grads, temps,
            ["%s%s:%s" % (s[1], s[0], s[2]) for s in row["saved"]]))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"torch": torch.__version__, "ops": rows}, fh, indent=1)


if __name__ == "__main__":
    main()
