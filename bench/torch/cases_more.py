"""Composite cases: attention/transformer, checkpoint, chunking, autocast, EMA, frozen, optimizers."""
import math
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp

B, S, D, NH, FF = 4, 64, 128, 4, 512


class EagerMHA(nn.Module):
    """q,k,v Linear, scores=q@k^T/sqrt(dh), softmax, dropout, probs@v, out proj."""

    def __init__(self, d=D, h=NH, p=0.1):
        super().__init__()
        self.h, self.dh = h, d // h
        self.q, self.k, self.v, self.o = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.drop = nn.Dropout(p)

    def forward(self, x):
        b, s, d = x.shape
        q = self.q(x).view(b, s, self.h, self.dh).transpose(1, 2)
        k = self.k(x).view(b, s, self.h, self.dh).transpose(1, 2)
        v = self.v(x).view(b, s, self.h, self.dh).transpose(1, 2)
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.dh)
        probs = self.drop(scores.softmax(-1))
        out = (probs @ v).transpose(1, 2).reshape(b, s, d)
        return self.o(out)


def tel(norm_first, p, act="gelu"):
    return lambda: nn.TransformerEncoderLayer(D, NH, FF, dropout=p, activation=act, batch_first=True, norm_first=norm_first)


ATTN = [
    ("eager_mha_p0.1", lambda: EagerMHA(p=0.1)),
    ("eager_mha_p0.0", lambda: EagerMHA(p=0.0)),
    ("tel_post_norm_p0.1_gelu", tel(False, 0.1)),
    ("tel_pre_norm_p0.1_gelu", tel(True, 0.1)),
    ("tel_post_norm_p0.0_gelu", tel(False, 0.0)),
    ("tel_pre_norm_p0.0_gelu", tel(True, 0.0)),
    ("tel_post_norm_p0.1_relu", tel(False, 0.1, "relu")),
]


class Block(nn.Module):
    def __init__(self, d=D, f=FF):
        super().__init__()
        self.l1, self.l2 = nn.Linear(d, f), nn.Linear(f, d)

    def forward(self, x):
        return x + self.l2(F.gelu(self.l1(x)))


class Stack(nn.Module):
    def __init__(self, mode):
        super().__init__()
        self.blocks = nn.ModuleList(Block() for _ in range(4))
        self.mode = mode

    def forward(self, x):
        for b in self.blocks:
            if self.mode == "none":
                x = b(x)
            elif self.mode == "reentrant":
                x = cp.checkpoint(b, x, use_reentrant=True)
            else:
                x = cp.checkpoint(b, x, use_reentrant=False)
        return x


class ChunkAttn(nn.Module):
    """single-head attention over a [B2, S2, D2] sequence; query dimension processed in chunks."""

    def __init__(self, chunks, ckpt, d=64):
        super().__init__()
        self.qkv = nn.Linear(d, 3 * d)
        self.chunks, self.ckpt, self.d = chunks, ckpt, d

    @staticmethod
    def _attn(qc, k, v):
        return torch.softmax(qc @ k.transpose(-2, -1) / 8.0, -1) @ v

    def forward(self, x):
        q, k, v = self.qkv(x).chunk(3, -1)
        outs = []
        for qc in q.chunk(self.chunks, 1):
            if self.ckpt:
                outs.append(cp.checkpoint(self._attn, qc, k, v, use_reentrant=False))
            else:
                outs.append(self._attn(qc, k, v))
        return torch.cat(outs, 1)


class FrozenEnc(nn.Module):
    def __init__(self, mode):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(D, FF), nn.GELU(), nn.Linear(FF, D))
        self.head = nn.Linear(D, 256)
        self.mode = mode
        if mode in ("requires_grad_false", "requires_grad_false_input_grad"):
            for p in self.enc.parameters():
                p.requires_grad_(False)

    def forward(self, x):
        if self.mode == "no_grad":
            with torch.no_grad():
                h = self.enc(x)
        else:
            h = self.enc(x)
        return self.head(h)


def mlp(n=4, d=512):
    layers = []
    for i in range(n):
        layers.append(nn.Linear(d, d))
        if i < n - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


OPTIMIZERS = [
    ("none", None),
    ("sgd", lambda p: torch.optim.SGD(p, lr=1e-3)),
    ("sgd_momentum", lambda p: torch.optim.SGD(p, lr=1e-3, momentum=0.9)),
    ("sgd_momentum_foreach", lambda p: torch.optim.SGD(p, lr=1e-3, momentum=0.9, foreach=True)),
    ("adam_default", lambda p: torch.optim.Adam(p, lr=1e-3)),
    ("adam_foreach_false", lambda p: torch.optim.Adam(p, lr=1e-3, foreach=False)),
    ("adam_foreach_true", lambda p: torch.optim.Adam(p, lr=1e-3, foreach=True)),
    ("adamw_foreach_false", lambda p: torch.optim.AdamW(p, lr=1e-3, foreach=False)),
    ("adamw_foreach_true", lambda p: torch.optim.AdamW(p, lr=1e-3, foreach=True)),
]
