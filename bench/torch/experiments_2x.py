"""The small per-op experiments behind FACTS-2x.md sections 2, 3.3, 3.5, 3.6 and 6; run with each interpreter.

usage: python bench/torch/experiments_2x.py        (prints plain text; about a minute)

All bytes are tensor storage only (harness.tensor_cur / tensor_peak: allocations from libc10), so oneDNN's own
scratch buffers do not blur the per-op temporaries.
"""
import gc
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness as H  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.utils.checkpoint import checkpoint  # noqa: E402

import run_programs as R  # noqa: E402


def per_op():
    """retained after forward and backward temporaries = bwd peak - (4 root grad + output + produced grads)."""
    saved_cur, saved_peak = H.cur, H.peak
    H.cur, H.peak = H.tensor_cur, H.tensor_peak  # measure_op reads these module functions
    try:
        rows = [
            ("Conv1d(32, 32, 3, s1, p1) x[16, 32, 256]", lambda: nn.Conv1d(32, 32, 3, padding=1, bias=False), [(16, 32, 256)]),
            ("Conv1d(32, 32, 3, s2, p1) x[16, 32, 256]", lambda: nn.Conv1d(32, 32, 3, stride=2, padding=1, bias=False), [(16, 32, 256)]),
            ("Conv1d(40, 64, 7, s2, p3) x[16, 40, 512]", lambda: nn.Conv1d(40, 64, 7, stride=2, padding=3, bias=False), [(16, 40, 512)]),
            ("Conv2d(16, 32, 3, p1) x[4, 16, 32, 32]", lambda: nn.Conv2d(16, 32, 3, padding=1), [(4, 16, 32, 32)]),
            ("Conv2d(32, 64, 3, s2, p1) x[32, 32, 16, 16]", lambda: nn.Conv2d(32, 64, 3, stride=2, padding=1), [(32, 32, 16, 16)]),
            ("Conv2d(64, 128, 3, s2, p1) x[32, 64, 8, 8]", lambda: nn.Conv2d(64, 128, 3, stride=2, padding=1), [(32, 64, 8, 8)]),
            ("Conv2d(16, 32, 1, s2) x[16, 16, 32, 32]", lambda: nn.Conv2d(16, 32, 1, stride=2, bias=False), [(16, 16, 32, 32)]),
            ("Conv2d(3, 32, 3, s2, p1) x[32, 3, 32, 32]", lambda: nn.Conv2d(3, 32, 3, stride=2, padding=1), [(32, 3, 32, 32)]),
            ("AdaptiveAvgPool2d(1) x[32, 128, 4, 4]", lambda: nn.AdaptiveAvgPool2d(1), [(32, 128, 4, 4)]),
            ("x.mean(1) x[256, 16, 128]", lambda: (lambda x: x.mean(dim=1)), [(256, 16, 128)]),
            ("F.normalize(x, dim=1) x[32, 256]", lambda: (lambda x: F.normalize(x, dim=1)), [(32, 256)]),
            ("torch.logsumexp(x, 1) x[256, 256]", lambda: (lambda x: torch.logsumexp(x, dim=1)), [(256, 256)]),
        ]
        print("per op (tensor storage): retained, backward temporaries")
        for label, build, shapes in rows:
            r = H.measure_op(build, lambda shapes=shapes: [torch.randn(*s) for s in shapes])
            temp = r["bwd_peak"] - (4 + r["out_bytes"] + r["after_bwd"])
            print("  %-46s retained %9d  I %9d  O %9d  temporaries %9d" % (label, r["retained"], r["in_float_bytes"],
                                                                         r["out_bytes"], temp))
    finally:
        H.cur, H.peak = saved_cur, saved_peak


def mixed_layer_norm():
    ln = nn.LayerNorm(8)
    try:
        y = ln(torch.randn(2, 8, dtype=torch.bfloat16))
        print("layer_norm(bf16 input, float32 weight): runs, output %s" % str(y.dtype).replace("torch.", ""))
    except RuntimeError as e:
        print("layer_norm(bf16 input, float32 weight): RuntimeError: %s" % e)


def checkpoint_mlp():
    """FACTS.md's checkpoint table: 4 x [x + Linear(128, 512) -> GELU -> Linear(512, 128)], x[4, 64, 128]."""
    torch.manual_seed(0)
    blocks = nn.ModuleList([nn.Sequential(nn.Linear(128, 512), nn.GELU(), nn.Linear(512, 128)) for _ in range(4)])
    x = torch.randn(4, 64, 128, requires_grad=True)

    def run(ck):
        gc.collect()
        base = H.tensor_cur()
        H.reset_peak()
        h = x
        for b in blocks:
            h = h + (checkpoint(b, h, use_reentrant=False) if ck else b(h))
        loss = h.sum()
        gc.collect()
        ret, fwd = H.tensor_cur() - base - 4, H.tensor_peak() - base
        H.reset_peak()
        after = H.tensor_cur()
        loss.backward()
        bwd = H.tensor_peak() - after
        del loss, h
        gc.collect()
        for p in list(blocks.parameters()) + [x]:
            p.grad = None
        return ret, fwd, bwd
    print("CPU RNG state: %d B" % torch.get_rng_state().numel())
    for ck in (False, True):
        run(ck)
        print("4 MLP blocks, checkpoint=%s: retained %d, forward peak %d, backward peak above after-forward %d" % (
            ck, *run(ck)))


def padded_inference():
    """p26's encoder on its padded batch: with the mask (nested tensors on / off) and without a mask."""
    p = R.load(os.path.join(R.PROGRAMS, "p26_encoder_inference_padmask.py"))

    def peak(model, ids, lengths, mask=True):
        gc.collect()
        c0 = H.tensor_cur()
        H.reset_peak()
        model.eval()
        with torch.no_grad():
            y = model(ids, lengths) if mask else model.head(model.encoder(model.embed(ids)).mean(1))
        del y
        return H.tensor_peak() - c0
    torch.manual_seed(0)
    m = p.build()
    ids, lengths = p.make_batch(torch.Generator().manual_seed(1))
    res = []
    for setting in ("mask, nested tensors", "mask, nested off", "no mask"):
        if setting == "mask, nested off":
            m.encoder.enable_nested_tensor = False  # 1.13's switch
            m.encoder.use_nested_tensor = False  # 2.x's
        for _ in range(2):
            v = peak(m, ids, lengths, mask=setting != "no mask")
        res.append("%s %d" % (setting, v))
    print("p26 forward peak above weights and batch: " + ", ".join(res))


if __name__ == "__main__":
    print("torch", torch.__version__)
    mixed_layer_norm()
    per_op()
    checkpoint_mlp()
    padded_inference()
