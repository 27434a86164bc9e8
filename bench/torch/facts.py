"""Regenerates facts.json and FACTS.md:  /usr/bin/python3 bench/torch/facts.py
All numbers are measured with libmemhook.so (see harness.py); formulas are checked against them."""
import json
import math
import os
import platform
import time

import harness as H
import torch
import torch.nn as nn
import torch.nn.functional as F

from cases_ops import OPS, B, S, D
from cases_more import (ATTN, OPTIMIZERS, ChunkAttn, FrozenEnc, Stack, mlp, NH, FF)

OUT = os.path.dirname(os.path.abspath(__file__))
facts = {"torch": torch.__version__, "python": platform.python_version(), "threads": torch.get_num_threads(),
         "mkldnn": torch.backends.mkldnn.is_available(),
         "has_F_scaled_dot_product_attention": hasattr(F, "scaled_dot_product_attention"),
         "has_foreach_lerp_": hasattr(torch, "_foreach_lerp_"),
         "optimizer_foreach_default_cpu": "False (torch/optim/adam.py: `if foreach is None: foreach = False`)",
         "zero_grad_default_set_to_none": __import__("inspect").signature(torch.optim.Optimizer.zero_grad).parameters["set_to_none"].default,
         "cpu_rng_state_bytes": torch.get_rng_state().numel(),
         "sections": {}}
md = []
RNG = torch.get_rng_state().numel()  # bytes of the CPU RNG state tensor saved by checkpoint


def table(title, intro, rows, cols):
    md.append("\n## %s\n" % title)
    if intro:
        md.append(intro.strip() + "\n")
    md.append("| " + " | ".join(c[0] for c in cols) + " |")
    md.append("|" + "---|" * len(cols))
    for r in rows:
        md.append("| " + " | ".join(str(c[1](r)) for c in cols) + " |")


def check(measured, formula, env):
    if formula is None:
        return None, ""
    v = eval(formula, {"math": math}, env)
    return v, ("ok" if v == measured else "MISMATCH (%d)" % v)


# ---------------------------------------------------------------- per-op
# Formula symbols: I = bytes of the op's float activation inputs, O = output bytes, G = bytes of all
# gradients the backward produces (input + parameter grads, = alive after backward), rows = B*S,
# 4 = the fp32 scalar gradient of the loss (the backward root).  bwd = peak during backward above the
# after-forward level (saved tensors still alive then).
OPF = {
    "linear_bias": ("I", "4+O+G", "saves its input (weight is a param); bias saves nothing"),
    "linear_bias_input_nograd": ("I", "4+O+G", "input still saved (needed for weight grad)"),
    "linear_bias_frozen_weight": ("0", "4+O+G", "frozen weight: saves only the weight (a param) -> 0 extra"),
    "linear_nobias": ("I", "4+O+G", ""),
    "linear_bias_2d": ("I", "4+O+G", ""),
    "matmul_act": ("I", "4+O+G", "saves both operands"),
    "gelu": ("I", "4+O+G+8360", "saves input; erf-GELU backward has a constant 8360 B temporary"),
    "gelu_tanh": ("I", "4+O+G", "saves input"),
    "relu": ("O", "4+O+G", "saves output"),
    "relu_inplace": ("O", "4+O+G", "saves output (= the input buffer)"),
    "silu": ("I", "4+O+G", "saves input"),
    "tanh": ("O", "4+O+G", "saves output"),
    "sigmoid": ("O", "4+O+G", "saves output"),
    "softmax": ("O", "4+O+G", "saves output"),
    "log_softmax": ("O", "4+O+G", "saves output"),
    "layernorm": ("I+2*4*rows", "4+O+G+4*rows", "input + fp32 mean and rstd [rows,1]; backward temp 4*rows"),
    "layernorm_input_nograd": ("I+2*4*rows", "4+O+G+4*rows", "same saved set when input needs no grad"),
    "layernorm_frozen": ("I+2*4*rows", "4+O+G", "frozen affine: same saved set"),
    "batchnorm1d": ("I+2*4*C", "4+O+G+I", "input + save_mean/save_invstd [C] fp32; backward temp = input size"),
    "batchnorm2d": ("I+2*4*C", "4+O+G+I", "same"),
    "dropout": ("I", "4+O+G", "saves ONLY a float32 (input dtype) mask scaled by 1/(1-p): 4 B/elem on CPU"),
    "embedding": ("0", "4+O+G", "saves indices only (int64, held by caller); grad is dense V*D*4"),
    "conv1d": ("I", "4+O+G+I+O+7328", "saves input; mkldnn backward temporaries I+O+7328"),
    "conv2d": ("I", "4+O+G+I+O+7328", "saves input; mkldnn backward temporaries I+O+7328"),
    "maxpool2d": ("I+2*O", "4+O+G", "input + int64 indices of output shape (2*O bytes in fp32 terms)"),
    "avgpool2d": ("I", "4+O+G", "saves its input (only needs its shape)"),
    "index_select": ("0", "4+O+G", "saves only the index; grad is a dense zeros+index_add of source shape"),
    "gather": ("I", "4+O+G", "saves self (float) + index"),
    "index_add_": ("I", "4+O+G", "saves the source (per-edge messages) + index"),
    "index_add_src_times_w": ("I+4*1024*128", "4+2*4*1024*128+4*1024", "mul saves src,w; index_add_ saves the product (messages)"),
    "scatter_add": ("0", "4+O+G", "saves only the index (unlike index_add_)"),
    "add": ("0", "4+G", "saves nothing; grad passes through (one copy for the 2nd input)"),
    "mul": ("I", "4+O+G", "saves both operands"),
    "mul_scalar": ("8", "4+O+G+4", "saves the Python scalar as a 0-dim float64 (8 B)"),
    "reshape_transpose_contiguous": ("0", "4+O+G", "saves nothing"),
    "cross_entropy": ("4*N+4", "8*N", "log_softmax output (N=rows*classes) + 4 B total_weight; backward 2N fp32"),
    "mse_loss": ("I", "4+G", "saves pred and target; the returned 0-dim loss is a VIEW of an N-element buffer (see notes)"),
}
rows = []
for name, build, mk, opts, desc in OPS:
    r = H.measure_op(build, mk, **opts)
    fr, fb, note = OPF.get(name, (None, None, ""))
    env = {"I": r["in_float_bytes"], "O": r["out_bytes"], "G": r.get("after_bwd") or 0, "rows": B * S,
           "C": (128 if "1d" in name else 16), "N": (B * S * 1000)}
    r["formula_retained"], r["formula_bwd"], r["note"] = fr, fb, note
    r["formula_retained_value"], r["check_retained"] = check(r["retained"], fr, env)
    r["formula_bwd_value"], r["check_bwd"] = check(r["bwd_peak"], fb, env)
    r["case"], r["shapes"] = name, desc
    rows.append(r)
facts["sections"]["ops_fp32"] = rows
table("Per-op saved bytes (fp32, CPU, torch %s)" % torch.__version__,
      """Method: `measure_op` in harness.py. The op's float inputs are `.clone()`s of leaves (so they are freed
unless the op saves them), the loss is `(y*g).sum()` with a fixed random g (MulBackward saves only g, which
is in the baseline) so backward hands the op a dense y-sized gradient. **retained** = bytes alive after
forward above the baseline (loss tensor's own storage excluded). **bwd** = peak during `loss.backward()`
above the after-forward level. Symbols: I = op's float input bytes, O = output bytes, G = bytes alive
after backward (all produced input+param grads), rows = B*S, C = channels, N = logits elements.
`saved` lists what saved_tensors_hooks saw (param = a parameter, costs nothing extra).""",
      rows, [("case", lambda r: r["case"]), ("shapes", lambda r: r["shapes"]), ("I", lambda r: r["in_float_bytes"]),
             ("O", lambda r: r["out_bytes"]), ("retained", lambda r: r["retained"]),
             ("formula", lambda r: "`%s` %s" % (r["formula_retained"], r["check_retained"])),
             ("bwd peak", lambda r: r["bwd_peak"]), ("G", lambda r: r.get("after_bwd")),
             ("bwd formula", lambda r: "`%s` %s" % (r["formula_bwd"], r["check_bwd"])),
             ("saved tensors", lambda r: "; ".join("%s %s %s" % (i["role"], "x".join(map(str, i["shape"])), i["dtype"]) for i in r["saved"])),
             ("note", lambda r: r["note"])])

# mse_loss view quirk + conv without mkldnn
extra = {}
p = torch.randn(256, 1000, requires_grad=True)
t = torch.randn(256, 1000)
for rg in (True, False):
    with torch.set_grad_enabled(rg):
        c = H.cur(); l = F.mse_loss(p, t); extra["mse_loss_result_bytes_grad_%s" % rg] = H.cur() - c
        extra["mse_loss_result_storage_bytes"] = l.storage().nbytes(); del l
        c = H.cur(); l = F.l1_loss(p, t); extra["l1_loss_result_bytes_grad_%s" % rg] = H.cur() - c; del l
del p, t
with torch.backends.mkldnn.flags(enabled=False):
    for name, build, mk, opts, desc in OPS:
        if name.startswith("conv"):
            r = H.measure_op(build, mk, **opts)
            extra[name + "_no_mkldnn"] = {k: r[k] for k in ("retained", "bwd_peak", "after_bwd", "out_bytes", "in_float_bytes")}
            extra[name + "_no_mkldnn"]["bwd_temp"] = r["bwd_peak"] - r["after_bwd"] - r["out_bytes"] - 4
facts["sections"]["op_extras"] = extra
md.append("\nExtras: mse_loss (mean) result: %s (storage %d B for a 0-dim loss over 256x1000; l1_loss: %s). "
          "Conv without mkldnn (slow_conv, im2col): %s." % (
              {k: v for k, v in extra.items() if k.startswith("mse")}, extra["mse_loss_result_storage_bytes"],
              {k: v for k, v in extra.items() if k.startswith("l1")},
              {k: v for k, v in extra.items() if k.startswith("conv")}))

# ---------------------------------------------------------------- attention / transformer
U = 4 * B * S * D                 # one fp32 [b,s,h] activation
A = 4 * NH * S * S * B            # one fp32 [b,a,s,s] score tensor
SB = B * S
ATF = {
    "eager_mha_p0.1": "5*U+3*A+8",
    "eager_mha_p0.0": "5*U+A+8",
    "tel_post_norm_p0.1_gelu": "22*U+3*A+16*SB+8",
    "tel_pre_norm_p0.1_gelu": "22*U+3*A+16*SB+8",
    "tel_post_norm_p0.0_gelu": "16*U+A+16*SB+8",
    "tel_pre_norm_p0.0_gelu": "16*U+A+16*SB+8",
    "tel_post_norm_p0.1_relu": "22*U+3*A+16*SB+8",
}
s_, b_, h_, a_ = S, B, D, NH
kor2 = s_ * b_ * h_ * (34 + 5 * a_ * s_ / h_)
rows = []
for name, build in ATTN:
    r = H.measure_op(build, lambda: [torch.randn(B, S, D)])
    f = ATF[name]
    v, ck = check(r["retained"], f, {"U": U, "A": A, "SB": SB})
    r.update(case=name, formula=f, formula_value=v, check=ck)
    p0 = "p0.0" in name
    r["korthikanti_2byte"] = kor2
    r["korthikanti_x2"] = 2 * kor2
    r["korthikanti_fp32_floatmask"] = (64 * s_ * b_ * h_ + 4 * a_ * s_ * s_ * b_) if p0 else (72 * s_ * b_ * h_ + 12 * a_ * s_ * s_ * b_)
    rows.append(r)
facts["sections"]["attention"] = rows
table("Attention block and nn.TransformerEncoderLayer (fp32, b=4, s=64, h=128, a=4, ffn=512)",
      """Input is a non-leaf (clone of a leaf), so saving the block input counts. U = 4*b*s*h = %d
(one fp32 activation), A = 4*a*s^2*b = %d (one fp32 score tensor), SB = b*s. `korthikanti_2byte` =
s*b*h*(34+5as/h) (2-byte acts, 1-byte masks) = %d; `x2` doubles it; `fp32_floatmask` re-derives the same
term list with 4-byte activations and 4-byte masks: 72sbh+12as^2b (p>0) / 64sbh+4as^2b (p=0).
TransformerEncoderLayer uses nn.MultiheadAttention (packed in_proj, q scaled by 1/sqrt(d) -> new tensor
saved, k/v saved) and has an extra dropout inside the FFN (mask 4U) that Korthikanti's count lacks: that
is exactly the 4U = 16sbh difference at p=0.1. LN stats add 2*4*b*s per LayerNorm (16*SB for two).
p=0.0: F.dropout returns its input unchanged (no mask, no copy).""" % (U, A, kor2),
      rows, [("case", lambda r: r["case"]), ("retained", lambda r: r["retained"]),
             ("formula", lambda r: "`%s` %s" % (r["formula"], r["check"])),
             ("korthikanti 2B", lambda r: int(r["korthikanti_2byte"])), ("x2", lambda r: int(r["korthikanti_x2"])),
             ("fp32+float mask", lambda r: int(r["korthikanti_fp32_floatmask"])),
             ("bwd peak", lambda r: r["bwd_peak"]), ("G", lambda r: r["after_bwd"]),
             ("saved (non-param)", lambda r: "; ".join("%s %s" % ("x".join(map(str, i["shape"])), i["dtype"]) for i in r["saved"] if not i["role"].startswith("param")))])

# ---------------------------------------------------------------- checkpoint
rows = []
for mode in ("none", "reentrant", "nonreentrant"):
    r = H.measure_module_fwd(lambda: Stack(mode), lambda: [torch.randn(B, S, D)])
    f = "35*U" if mode == "none" else "3*U+4*RNG"
    v, ck = check(r["retained"], f, {"U": U, "RNG": RNG})
    r.update(case="4 x [x + Linear(128,512) -> GELU -> Linear(512,128)], checkpoint=" + mode, formula=f, check=ck)
    rows.append(r)
facts["sections"]["checkpoint"] = rows
table("torch.utils.checkpoint on 4 MLP blocks (x[4,64,128] leaf requiring grad)",
      """Without checkpoint each block saves its input U (block 1's input is the leaf: free), GELU input 4U and
Linear2 input 4U -> 35U. With checkpoint (either flavour, preserve_rng_state=True default) only block inputs
2..4 are kept plus one CPU RNG-state ByteTensor per checkpoint call (RNG = %d B). fwd_peak is relative to the
same baseline. bwd peak is above the after-forward level; G = grads (input + params).""" % RNG,
      rows, [("case", lambda r: r["case"]), ("retained", lambda r: r["retained"]),
             ("formula", lambda r: "`%s` %s" % (r["formula"], r["check"])), ("fwd peak", lambda r: r["fwd_peak"]),
             ("bwd peak", lambda r: r["bwd_peak"]), ("bwd peak above base", lambda r: r["bwd_peak_above_base"]),
             ("G", lambda r: r["after_bwd"])])

# ---------------------------------------------------------------- chunking
rows = []
U2, A2 = 4 * 2 * 256 * 64, 4 * 2 * 256 * 256
for ch, ck in ((1, False), (4, False), (4, True), (8, False), (8, True)):
    r = H.measure_module_fwd(lambda: ChunkAttn(ch, ck), lambda: [torch.randn(2, 256, 64)])
    r2 = H.measure_module_fwd(lambda: ChunkAttn(ch, ck), lambda: [torch.randn(2, 256, 64)], grad_mode=False)
    f = "3*U2+4*RNG*c/4" if ck else "3*U2+A2+8*c"
    f = f.replace("4*RNG*c/4", "RNG*c")
    v, ckk = check(r["retained"], f, {"U2": U2, "A2": A2, "RNG": RNG, "c": ch})
    r.update(case="chunks=%d checkpoint=%s" % (ch, ck), formula=f, check=ckk, nograd_fwd_peak=r2["fwd_peak"])
    rows.append(r)
facts["sections"]["chunking"] = rows
table("Chunked attention (x[2,256,64], qkv=Linear(64,192), softmax(q_c k^T/8) v per query chunk, torch.cat)",
      """U2 = 4*2*256*64 = %d, A2 = 4*2*256*256 = %d (full score matrix). The qkv Linear output (3*U2) is saved
through the q/k/v views; each chunk's softmax output is saved, so plain chunking keeps the full A2 (plus one
8-byte float64 scalar per chunk from `/ 8.0`). Per-chunk checkpoint (non-reentrant) keeps only qkv + one RNG
state per chunk. nograd fwd peak = inference peak (torch.no_grad).""" % (U2, A2),
      rows, [("case", lambda r: r["case"]), ("retained", lambda r: r["retained"]),
             ("formula", lambda r: "`%s` %s" % (r["formula"], r["check"])), ("fwd peak", lambda r: r["fwd_peak"]),
             ("bwd peak", lambda r: r["bwd_peak"]), ("bwd peak above base", lambda r: r["bwd_peak_above_base"]),
             ("no_grad fwd peak", lambda r: r["nograd_fwd_peak"])])

# ---------------------------------------------------------------- frozen
rows = []
for mode, ig, f in (("trainable", False, "9*U"), ("requires_grad_false", False, "U"), ("no_grad", False, "U"),
                    ("requires_grad_false", True, "5*U")):
    r = H.measure_module_fwd(lambda: FrozenEnc(mode), lambda: [torch.randn(B, S, D)], inputs_require_grad=ig)
    v, ck = check(r["retained"], f, {"U": U})
    r.update(case="enc=Linear(128,512)-GELU-Linear(512,128) %s, head Linear(128,256); input requires_grad=%s" % (mode, ig), formula=f, check=ck)
    rows.append(r)
facts["sections"]["frozen"] = rows
table("Frozen submodule", "U = %d. A frozen encoder (requires_grad=False or under torch.no_grad) saves nothing when its input needs no grad; only the head saves its input U. If the input does require grad, the frozen Linears save nothing extra (their weights) but GELU saves its input (4U) -> 5U." % U,
      rows, [("case", lambda r: r["case"]), ("retained", lambda r: r["retained"]),
             ("formula", lambda r: "`%s` %s" % (r["formula"], r["check"])), ("fwd peak", lambda r: r["fwd_peak"]),
             ("bwd peak", lambda r: r["bwd_peak"]), ("G", lambda r: r["after_bwd"])])

# ---------------------------------------------------------------- optimizers
mkb = lambda i: (torch.randn(4, 512), torch.randn(4, 512))
rows = []
PW = 512 * 512 * 4
Pb = 512 * 4
for name, o in OPTIMIZERS:
    r = H.measure_training(lambda: mlp(), mkb, F.mse_loss, o, steps=3)
    r["case"] = name
    P = r["param_bytes"]
    n = 8
    exp = {
        "none": ("-", "-"), "sgd": ("292", "292"),
        "sgd_momentum": ("P", "292"), "sgd_momentum_foreach": ("P", "292"),
        "adam_default": ("2*P+4*n+(2*PW+Pb+12)", "2*PW+Pb+12"),
        "adam_foreach_false": ("2*P+4*n+(2*PW+Pb+12)", "2*PW+Pb+12"),
        "adamw_foreach_false": ("2*P+4*n+(2*PW+Pb+12)", "2*PW+Pb+12"),
        "adam_foreach_true": ("2*P+4*n+(2*P+12)", "2*P+12"),
        "adamw_foreach_true": ("2*P+4*n+(2*P+12)", "2*P+12"),
    }[name]
    env = {"P": P, "n": n, "PW": PW, "Pb": Pb}
    for i, s in enumerate(r["steps"][:2]):
        f = exp[min(i, 1)]
        if "peak_opt_above_before_opt" in s:
            v, ck = check(s["peak_opt_above_before_opt"], f, env)
            s["formula"], s["check"] = f, ck
    rows.append(r)
facts["sections"]["optimizers"] = rows
md.append("\n## Optimizers (MLP 4 x Linear(512,512)+bias, P = %d B = 1,050,624 params, x[4,512], MSE; foreach default on CPU in 1.13 = False)\n" % rows[0]["param_bytes"])
md.append("""`opt peak` = peak during optimizer.step() above the level just before it (params + grads + existing
state + batch). PW = largest param (512x512 fp32 = %d B), Pb = a bias (%d B), n = number of param tensors (8).
State includes a 4-byte fp32 `step` tensor per param for Adam/AdamW (opt_state_bytes = 2P + 4n). Step 1 creates
state lazily inside step() (counted in its peak). zero_grad(set_to_none=True) before each step.\n""" % (PW, Pb))
md.append("| optimizer | state bytes | step1 opt peak | formula | step2 opt peak | formula | step3 | step1 whole-step peak | step2 whole-step peak |")
md.append("|---|---|---|---|---|---|---|---|---|")
for r in rows:
    st = r["steps"]
    g = lambda s, k: s.get(k, "-")
    md.append("| %s | %s | %s | `%s` %s | %s | `%s` %s | %s | %s | %s |" % (
        r["case"], r.get("opt_state_bytes", "-"), g(st[0], "peak_opt_above_before_opt"), st[0].get("formula", "-"), st[0].get("check", ""),
        g(st[1], "peak_opt_above_before_opt"), st[1].get("formula", "-"), st[1].get("check", ""),
        g(st[2], "peak_opt_above_before_opt"), st[0]["peak_step"], st[1]["peak_step"]))

# gradient accumulation / zero_grad
rows = []
for stn in (True, False):
    for acc in (1, 2):
        r = H.measure_training(lambda: mlp(), mkb, F.mse_loss, lambda p: torch.optim.Adam(p, lr=1e-3, foreach=False), steps=2, accum=acc, set_to_none=stn)
        r["case"] = "adam foreach=False accum=%d zero_grad(set_to_none=%s)" % (acc, stn)
        rows.append(r)
facts["sections"]["grad_accum"] = rows
md.append("\n## Gradient accumulation and zero_grad (same MLP, Adam foreach=False)\n")
md.append("Note: in torch 1.13 `zero_grad()` defaults to set_to_none=False (2.0 changed it to True). base = bytes above params+batches at the start of the step (after zero_grad). Values per micro-batch.\n")
md.append("| case | step | base | retained after fwd | after bwd | before opt | peak fwd+bwd | opt peak above before |")
md.append("|---|---|---|---|---|---|---|---|")
for r in rows:
    for s in r["steps"]:
        md.append("| %s | %d | %d | %s | %s | %d | %d | %d |" % (r["case"], s["step"], s["base_above_params_and_batches"], s["retained_after_fwd"], s["after_bwd"], s["before_opt"], s["peak_fwd_bwd"], s["peak_opt_above_before_opt"]))

# ---------------------------------------------------------------- EMA
def ema_factory(kind):
    def f(what, model, st=None):
        ps = [p.detach() for p in model.parameters()]
        if what == "init":
            return [p.clone() for p in ps]
        with torch.no_grad():
            d = 0.999
            if kind == "foreach_mul_add":
                torch._foreach_mul_(st, d)
                torch._foreach_add_(st, ps, alpha=1 - d)
            elif kind == "lerp_loop":
                for e, p in zip(st, ps):
                    e.lerp_(p, 1 - d)
            elif kind == "mul_add_loop":
                for e, p in zip(st, ps):
                    e.mul_(d).add_(p, alpha=1 - d)
            elif kind == "out_of_place_copy_loop":
                for e, p in zip(st, ps):
                    e.copy_(d * e + (1 - d) * p)
            elif kind == "foreach_lerp":
                torch._foreach_lerp_(st, ps, 1 - d)
    return f


rows = []
for kind in ("foreach_mul_add", "lerp_loop", "mul_add_loop", "out_of_place_copy_loop", "foreach_lerp"):
    try:
        r = H.measure_training(lambda: mlp(), mkb, F.mse_loss, lambda p: torch.optim.SGD(p, lr=1e-3), steps=2, ema=ema_factory(kind))
        rows.append({"case": kind, "ema_peak_above_before": r["steps"][1]["ema_peak_above_before"], "ema_after": r["steps"][1]["ema_after"]})
    except Exception as e:  # noqa
        rows.append({"case": kind, "error": repr(e)})
facts["sections"]["ema"] = rows
md.append("\n## EMA update (MLP above, EMA copy = P = %d B held outside the step)\n" % 4202496)
md.append("Peak during the update above the level before it (EMA copy already counted). 2*PW = %d.\n" % (2 * PW))
md.append("| variant | peak above before | after |")
md.append("|---|---|---|")
for r in rows:
    md.append("| %s | %s | %s |" % (r["case"], r.get("ema_peak_above_before", r.get("error")), r.get("ema_after", "")))

# ---------------------------------------------------------------- autocast bf16 on CPU
ac = lambda: torch.autocast("cpu", dtype=torch.bfloat16)
rows = []
for name, build, mk, opts, desc in OPS:
    if name in ("linear_bias", "linear_nobias", "linear_bias_input_nograd", "linear_bias_frozen_weight", "matmul_act", "gelu", "relu",
                "softmax", "log_softmax", "layernorm", "batchnorm1d", "dropout", "conv1d", "cross_entropy", "mse_loss", "mul"):
        r = H.measure_op(build, mk, ctx=ac, **opts)
        r["case"], r["shapes"] = name, desc
        rows.append(r)
facts["sections"]["autocast_ops"] = rows
table("bf16 autocast on CPU: per op (fp32 inputs)",
      """Same method, the op runs inside `torch.autocast('cpu', dtype=torch.bfloat16)` (context exited before
`retained` is read, so the cast cache is gone; what is retained is only saved tensors). Linear/matmul/conv
save bf16 copies of their input AND of the weight (the weight's bf16 copy is kept by the graph: +2 B/param
per matmul weight until backward). Ops not on the CPU lower-precision list run in their input dtype.""",
      rows, [("case", lambda r: r["case"]), ("out dtype", lambda r: r["out_dtype"]), ("I", lambda r: r["in_float_bytes"]),
             ("retained", lambda r: r["retained"]), ("bwd peak", lambda r: r["bwd_peak"]), ("G", lambda r: r["after_bwd"]),
             ("saved tensors", lambda r: "; ".join("%s %s %s" % (i["role"], "x".join(map(str, i["shape"])), i["dtype"]) for i in r["saved"]))])

# chain under autocast: dtypes of every op's output and what is saved
torch.manual_seed(0)
l1, ln, l2 = nn.Linear(D, 512), nn.LayerNorm(512), nn.Linear(512, 1000)
x = torch.randn(B * S, D, requires_grad=True)
tgt = torch.randint(0, 1000, (B * S,))
chain = {}
rec = H.SavedRecorder()
def _try(label, fn, fallback=None):
    try:
        v = fn()
        chain[label] = str(v.dtype).replace("torch.", "")
        return v
    except Exception as e:  # noqa
        chain[label] = "ERROR: " + str(e).splitlines()[0]
        return fallback() if fallback else None


with rec.ctx(), ac():
    h1 = _try("linear", lambda: l1(x))
    h2 = _try("gelu(bf16 in)", lambda: F.gelu(h1))
    h3 = _try("layer_norm(bf16 in, fp32 affine)", lambda: ln(h2), lambda: ln(h2.float()))
    _try("layer_norm(bf16 in, no affine)", lambda: F.layer_norm(h2, (512,)))
    h4 = _try("dropout(fp32 in: output of the LN fp32 fallback)", lambda: F.dropout(h3, 0.1))
    h5 = _try("linear2(fp32 in)", lambda: l2(h4))
    h6 = _try("softmax(bf16 in)", lambda: torch.softmax(h5, -1))
    h7 = _try("log_softmax(bf16 in)", lambda: torch.log_softmax(h5, -1))
    loss = _try("cross_entropy(bf16 logits)", lambda: F.cross_entropy(h5, tgt))
    loss2 = _try("mse_loss(bf16)", lambda: F.mse_loss(h5, torch.zeros_like(h5)))
    m = _try("matmul", lambda: h4 @ l2.weight.t())
    c = _try("cat(bf16)", lambda: torch.cat([h1, h1]))
    sm = _try("sum(bf16)", lambda: h1.sum())
    mean = _try("mean(bf16)", lambda: h1.mean())
    bn = _try("batch_norm(bf16 in)", lambda: F.batch_norm(h1, None, None, training=True))
rec.label({"x": x})
chain["saved"] = ["%s:%s" % ("x".join(map(str, i["shape"])) or "scalar", i["dtype"]) for i in rec.strip()]
del h1, h2, h3, h4, h5, h6, h7, loss, loss2, m, c, sm, mean, bn, rec
# dropout / softmax on a bf16 activation: dtype of what is saved
xb = torch.randn(B * S, D, requires_grad=True)
for label, fn in (("dropout(bf16 in)", lambda h: F.dropout(h, 0.1)), ("softmax(bf16 in)", lambda h: torch.softmax(h, -1)),
                  ("gelu(bf16 in)", F.gelu)):
    with ac():
        hb = (xb @ torch.randn(D, D))  # bf16 activation (autocast matmul)
        r2 = H.SavedRecorder()
        c0 = H.cur()
        with r2.ctx():
            yb = fn(hb)
        chain["saved_by_" + label] = ["%s:%s" % ("x".join(map(str, i["shape"])), i["dtype"]) for i in r2.strip()]
        del hb, yb, r2
del xb
# weight cast cache
lin = nn.Linear(512, 512)
xx = torch.randn(4, 512, requires_grad=True)
cache = {}
for label, rg in (("trainable weight", True), ("frozen weight", False)):
    lin.weight.requires_grad_(rg); lin.bias.requires_grad_(rg)
    for _ in range(2):  # warm-up then measure
        H.gc.collect()
        c0 = H.cur()
        with ac():
            y1 = lin(xx); c1 = H.cur(); y2 = lin(xx); c2 = H.cur(); del y1, y2; H.gc.collect(); c3 = H.cur()
        c4 = H.cur()
    cache[label] = {"first_call": c1 - c0, "second_call": c2 - c1, "inside_ctx_after_outputs_freed": c3 - c0, "after_ctx_exit": c4 - c0}
chain["cast_cache_linear_512x512_x4x512"] = cache
facts["sections"]["autocast_chain"] = chain
md.append("\n### Autocast chain dtypes and cast cache (Linear(512,512), x[4,512] leaf requiring grad)\n")
md.append("```\n" + "\n".join("%s: %s" % (k, json.dumps(v)) for k, v in chain.items()) + "\n```\n")
md.append("""Cast cache: trainable weight W (524288 B fp32) and bias: the first autocast linear allocates the bf16 copies
of W, b (and of x, itself a leaf requiring grad) and keeps them until the autocast context exits; the second call
only allocates its output. Frozen weight: no caching, every call casts again.\n""")

facts["generated"] = time.strftime("%Y-%m-%d %H:%M:%S")
H.dump(facts, os.path.join(OUT, "facts.json"))
head = open(os.path.join(OUT, "FACTS_head.md")).read() if os.path.exists(os.path.join(OUT, "FACTS_head.md")) else ""
with open(os.path.join(OUT, "FACTS.md"), "w") as f:
    f.write(head + "\n# Measured tables (generated by facts.py; torch %s, %d thread)\n" % (torch.__version__, torch.get_num_threads()))
    f.write("\n".join(md) + "\n")
print("wrote facts.json and FACTS.md")
