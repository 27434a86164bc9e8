# The caller holds the loss through loss.backward(): CPU mse keeps its [N] buffer behind the 0-dim loss, and
# the backward peak (at the linear, after mse's backward) includes it. usage: python bench/torch/loss_held.py
import gc, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H
import torch
torch.manual_seed(0)
def once():
    gc.collect()
    c0 = H.cur()
    lin = torch.nn.Linear(256, 1024)
    x = torch.randn(64, 256); t = torch.randn(64, 1024)
    loss = torch.nn.functional.mse_loss(lin(x), t)
    gc.collect()
    base = H.cur() - c0
    lb = loss.untyped_storage().nbytes() if hasattr(loss, 'untyped_storage') else loss.storage().nbytes()
    H.reset_peak()
    loss.backward()
    pk = H.peak() - c0
    return base, lb, pk
once()
base, lb, pk = once()
W = (256 * 1024 + 1024) * 4; X = 64 * 256 * 4; T = 64 * 1024 * 4
print(torch.__version__, "after fwd", base, "loss storage", lb, "bwd peak", pk)
print(" weights+x+t =", W + X + T, " + dy + dW,db =", W + X + T + T + W, " (+ loss storage", lb, ") =", W + X + T + T + W + lb)
