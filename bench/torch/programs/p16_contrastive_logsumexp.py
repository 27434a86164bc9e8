"""Two-tower contrastive model (CLIP-like) with losses written by hand: InfoNCE via torch.logsumexp and a
diagonal, the transposed direction via log_softmax + gather, and a label-smoothed classification loss via
log_softmax + gather; AdamW.

Training program: batch of 256 pairs: dense features a [256, 512] float32, token ids b [256, 16] int64 in
0..9999, class labels [256] int64 in 0..999.

Architecture:
- tower A: Linear(512, 512) -> GELU -> Linear(512, 128)                               -> za [256, 128]
- tower B: nn.Embedding(10000, 128)(ids) [256, 16, 128] -> mean over tokens -> Linear(128, 128) -> zb [256, 128]
- za, zb = F.normalize(za, dim=-1), F.normalize(zb, dim=-1)
- logits = za @ zb.t() * self.logit_scale.exp()   (logit_scale: nn.Parameter scalar)   -> [256, 256]
- class head on za: Linear(128, 1000)                                                  -> cls [256, 1000]
Loss (hand-written):
- loss_a = (torch.logsumexp(logits, dim=1) - logits.diagonal()).mean()
- loss_b = -F.log_softmax(logits.t(), dim=1).gather(1, arange(256)[:, None]).mean()
- logp = F.log_softmax(cls, dim=-1) [256, 1000];
  loss_c = -(0.9 * logp.gather(1, labels[:, None]).squeeze(1) + 0.1 * logp.mean(dim=-1)).mean()
- loss = (loss_a + loss_b) / 2 + loss_c
Optimizer: torch.optim.AdamW(lr=1e-3, weight_decay=0.01).
Parameters: 1,753,833 (all trainable).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIG = {"kind": "train", "grad_accum": 1}


class TwoTower(nn.Module):
    def __init__(self):
        super().__init__()
        self.tower_a = nn.Sequential(nn.Linear(512, 512), nn.GELU(), nn.Linear(512, 128))
        self.embed = nn.Embedding(10000, 128)
        self.proj_b = nn.Linear(128, 128)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        self.cls = nn.Linear(128, 1000)

    def forward(self, a, b):
        za = self.tower_a(a)
        zb = self.proj_b(self.embed(b).mean(dim=1))
        logits = F.normalize(za, dim=-1) @ F.normalize(zb, dim=-1).t() * self.logit_scale.exp()
        return logits, self.cls(za)


def build():
    return TwoTower()


def make_batch(gen):
    return (torch.randn(256, 512, generator=gen), torch.randint(0, 10000, (256, 16), generator=gen),
            torch.randint(0, 1000, (256,), generator=gen))


def make_optimizer(model):
    return torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)


def compute_loss(model, batch):
    a, b, labels = batch
    logits, cls = model(a, b)
    n = logits.shape[0]
    loss_a = (torch.logsumexp(logits, dim=1) - logits.diagonal()).mean()
    loss_b = -F.log_softmax(logits.t(), dim=1).gather(1, torch.arange(n)[:, None]).mean()
    logp = F.log_softmax(cls, dim=-1)
    loss_c = -(0.9 * logp.gather(1, labels[:, None]).squeeze(1) + 0.1 * logp.mean(dim=-1)).mean()
    return (loss_a + loss_b) / 2 + loss_c
