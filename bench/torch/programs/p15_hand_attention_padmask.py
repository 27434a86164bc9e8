"""Transformer encoder written by hand (no nn.MultiheadAttention): q/k/v Linear projections, scores by
torch.matmul, a key-padding mask applied with masked_fill(-inf), softmax, dropout; masked mean pooling;
SGD with momentum and gradient accumulation 2.

Training program: micro-batch of 8 variable-length sequences padded to 96, features x [8, 96, 64] float32,
lengths [8] int64 in 32..96, regression targets [8, 1] float32.

Architecture (d = 64, 4 heads of 16, 3 post-norm blocks, dropout 0.1):
- x = Linear(64, 64)(x)                                                             -> [8, 96, 64]
- mask = arange(96)[None, :] < lengths[:, None]          bool                       -> [8, 96]
- per block:
    q, k, v = Linear(64, 64) each, reshaped to [8, 96, 4, 16] and transposed to [8, 4, 96, 16]
    scores = torch.matmul(q, k.transpose(-2, -1)) / 4.0                            -> [8, 4, 96, 96]
    scores = scores.masked_fill(~mask[:, None, None, :], float('-inf'))
    attn = F.dropout(torch.softmax(scores, dim=-1), 0.1) ; ctx = torch.matmul(attn, v) -> [8, 4, 96, 16]
    ctx.transpose(1, 2).reshape(8, 96, 64) -> out Linear(64, 64) -> Dropout
    x = LayerNorm(64)(x + attn_out)
    x = LayerNorm(64)(x + Dropout(Linear(256, 64)(ReLU(Linear(64, 256)(x)))))
- pooled = (x * mask[..., None]).sum(1) / lengths[:, None]                         -> [8, 64]
- head Linear(64, 1)                                                               -> [8, 1]
Loss: F.mse_loss(pred, target).
Optimizer: torch.optim.SGD(lr=0.01, momentum=0.9); gradient accumulation over 2 micro-batches.
Parameters: 154,177 (all trainable).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIG = {"kind": "train", "grad_accum": 2}

D, HEADS, P = 64, 4, 0.1


class SelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.q = nn.Linear(D, D)
        self.k = nn.Linear(D, D)
        self.v = nn.Linear(D, D)
        self.out = nn.Linear(D, D)

    def forward(self, x, mask):
        b, s, _ = x.shape
        dh = D // HEADS
        q = self.q(x).reshape(b, s, HEADS, dh).transpose(1, 2)
        k = self.k(x).reshape(b, s, HEADS, dh).transpose(1, 2)
        v = self.v(x).reshape(b, s, HEADS, dh).transpose(1, 2)
        scores = torch.matmul(q, k.transpose(-2, -1)) / dh ** 0.5
        scores = scores.masked_fill(~mask[:, None, None, :], float("-inf"))
        attn = F.dropout(torch.softmax(scores, dim=-1), P, self.training)
        ctx = torch.matmul(attn, v).transpose(1, 2).reshape(b, s, D)
        return self.out(ctx)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = SelfAttention()
        self.norm1 = nn.LayerNorm(D)
        self.ff = nn.Sequential(nn.Linear(D, 4 * D), nn.ReLU(), nn.Linear(4 * D, D), nn.Dropout(P))
        self.norm2 = nn.LayerNorm(D)
        self.drop = nn.Dropout(P)

    def forward(self, x, mask):
        x = self.norm1(x + self.drop(self.attn(x, mask)))
        return self.norm2(x + self.ff(x))


class Encoder(nn.Module):
    def __init__(self, layers=3):
        super().__init__()
        self.inp = nn.Linear(64, D)
        self.blocks = nn.ModuleList([Block() for _ in range(layers)])
        self.head = nn.Linear(D, 1)

    def forward(self, x, lengths):
        mask = torch.arange(x.shape[1])[None, :] < lengths[:, None]
        x = self.inp(x)
        for block in self.blocks:
            x = block(x, mask)
        pooled = (x * mask[..., None]).sum(1) / lengths[:, None]
        return self.head(pooled)


def build():
    return Encoder()


def make_batch(gen):
    x = torch.randn(8, 96, 64, generator=gen)
    lengths = torch.randint(32, 97, (8,), generator=gen)
    return x, lengths, torch.randn(8, 1, generator=gen)


def make_optimizer(model):
    return torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)


def compute_loss(model, batch):
    x, lengths, target = batch
    return F.mse_loss(model(x, lengths), target)
