"""Seed 000's multi-scale RNA structure model: three transformer scales whose features are concatenated
by the coordinate decoder; Adam with gradient accumulation 2 (the guide's training loop).

Training program: micro-batch of 2 sequences of 128 nucleotides, token ids [2, 128] int64 in 0..4
(A, C, G, U, N), target coordinates [2, 128, 3] float32.

Architecture (every TransformerEncoderLayer: nn.TransformerEncoderLayer(d, nhead=4, dim_feedforward=4d,
dropout=0.1, activation relu, batch_first=True, post-norm), wrapped in nn.TransformerEncoder(num_layers=2)):
- embed = nn.Embedding(5, 32)(ids)                                  -> nuc_in [2, 128, 32]
- nucleotide scale: TransformerEncoder(d=32, ffn 128, 2 layers)      -> nuc [2, 128, 32]
- to_motif = Linear(32, 64)(nuc); motif scale: d=64, ffn 256, 2 layers -> motif [2, 128, 64]
- to_global = Linear(64, 128)(motif); global scale: d=128, ffn 512, 2 layers -> glob [2, 128, 128]
- decoder: torch.cat([nuc, motif, glob], dim=-1)                     -> [2, 128, 224]
           Linear(224, 128) -> ReLU -> Linear(128, 4)                 -> out [2, 128, 4]
- coords = out[..., :3] [2, 128, 3]; sigma = F.softplus(out[..., 3]) + 1e-3 [2, 128]
Loss (written by hand):
- coordinate MSE: F.mse_loss(coords, target)
- physics-style pairwise distance term: torch.cdist(coords, coords) and torch.cdist(target, target),
  both [2, 128, 128]; F.mse_loss between them, weight 0.1
- uncertainty NLL: err = ((coords - target) ** 2).sum(-1) [2, 128];
  (err / (2 * sigma ** 2) + torch.log(sigma)).mean(), weight 0.1
Optimizer: torch.optim.Adam(lr=1e-3); gradient accumulation over 2 micro-batches (loss / 2).
Parameters: 561,828 (all trainable).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIG = {"kind": "train", "grad_accum": 2}


def scale(d, layers=2):
    layer = nn.TransformerEncoderLayer(d, nhead=4, dim_feedforward=4 * d, dropout=0.1, batch_first=True)
    return nn.TransformerEncoder(layer, num_layers=layers)


class MultiScaleRNA(nn.Module):
    def __init__(self, nuc=32, motif=64, glob=128):
        super().__init__()
        self.embed = nn.Embedding(5, nuc)
        self.nucleotide = scale(nuc)
        self.to_motif = nn.Linear(nuc, motif)
        self.motif = scale(motif)
        self.to_global = nn.Linear(motif, glob)
        self.glob = scale(glob)
        self.decoder = nn.Sequential(nn.Linear(nuc + motif + glob, 128), nn.ReLU(), nn.Linear(128, 4))

    def forward(self, ids):
        nuc = self.nucleotide(self.embed(ids))
        motif = self.motif(self.to_motif(nuc))
        glob = self.glob(self.to_global(motif))
        out = self.decoder(torch.cat([nuc, motif, glob], dim=-1))
        coords = out[..., :3]
        sigma = F.softplus(out[..., 3]) + 1e-3
        return coords, sigma


def build():
    return MultiScaleRNA()


def make_batch(gen):
    return torch.randint(0, 5, (2, 128), generator=gen), torch.randn(2, 128, 3, generator=gen)


def make_optimizer(model):
    return torch.optim.Adam(model.parameters(), lr=1e-3)


def compute_loss(model, batch):
    ids, target = batch
    coords, sigma = model(ids)
    loss = F.mse_loss(coords, target)
    loss = loss + 0.1 * F.mse_loss(torch.cdist(coords, coords), torch.cdist(target, target))
    err = ((coords - target) ** 2).sum(-1)
    loss = loss + 0.1 * (err / (2 * sigma ** 2) + torch.log(sigma)).mean()
    return loss
