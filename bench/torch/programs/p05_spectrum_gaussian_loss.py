"""Seed 004's peptide-to-spectrum model with the Gaussian spectrum rendering loss; AdamW with gradient
accumulation 2 (the guide's recommended loop).

Training program: micro-batch of 8 peptides of 32 residues, token ids [8, 32] int64 in 0..24, target
spectra [8, 2000] float32 (2,000 m/z bins of 1.0 Th from 0 to 2000).

Architecture:
- embed = nn.Embedding(25, 128)(ids) + pos (nn.Parameter [1, 32, 128])        -> [8, 32, 128]
- nn.TransformerEncoder(nn.TransformerEncoderLayer(128, nhead=4, dim_feedforward=512, dropout=0.1,
  activation gelu, batch_first=True, post-norm), num_layers=2)               -> [8, 32, 128]
- mean over residues                                                        -> [8, 128]
- peak_head = Linear(128, 200) -> [8, 200], split in two [8, 100]:
    mz = torch.sigmoid(first half) * 2000.0          predicted peak positions   [8, 100]
    intensity = torch.softmax(second half, dim=-1)   predicted peak heights     [8, 100]
Loss, written by hand as elementwise ops over [batch, peaks, bins] = [8, 100, 2000] (6.4 MB each in fp32):
- diff  = self.bins - mz.unsqueeze(-1)      bins is a buffer [2000] of bin centres    -> [8, 100, 2000]
- gauss = torch.exp(-0.5 * (diff / sigma) ** 2), sigma = 2.0                          -> [8, 100, 2000]
- pred  = (intensity.unsqueeze(-1) * gauss).sum(dim=1)   summed over peaks            -> [8, 2000]
- loss  = (1 - F.cosine_similarity(pred, target, dim=-1)).mean() + F.mse_loss(pred, target)
Optimizer: torch.optim.AdamW(lr=1e-4, weight_decay=0.01); gradient accumulation over 2 micro-batches.
Parameters: 429,640 (all trainable).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIG = {"kind": "train", "grad_accum": 2}

BINS, PEAKS, SIGMA = 2000, 100, 2.0


class PeptideToSpectrum(nn.Module):
    def __init__(self, d=128, length=32):
        super().__init__()
        self.embed = nn.Embedding(25, d)
        self.pos = nn.Parameter(torch.zeros(1, length, d))
        layer = nn.TransformerEncoderLayer(d, nhead=4, dim_feedforward=4 * d, dropout=0.1, activation="gelu",
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2)
        self.peak_head = nn.Linear(d, 2 * PEAKS)
        self.register_buffer("bins", torch.arange(BINS, dtype=torch.float32) + 0.5)

    def forward(self, ids):
        h = self.encoder(self.embed(ids) + self.pos).mean(dim=1)
        mz_logit, int_logit = self.peak_head(h).chunk(2, dim=-1)
        return torch.sigmoid(mz_logit) * float(BINS), torch.softmax(int_logit, dim=-1)

    def render(self, mz, intensity):
        diff = self.bins - mz.unsqueeze(-1)
        gauss = torch.exp(-0.5 * (diff / SIGMA) ** 2)
        return (intensity.unsqueeze(-1) * gauss).sum(dim=1)


def build():
    return PeptideToSpectrum()


def make_batch(gen):
    return torch.randint(0, 25, (8, 32), generator=gen), torch.rand(8, BINS, generator=gen)


def make_optimizer(model):
    return torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)


def compute_loss(model, batch):
    ids, target = batch
    mz, intensity = model(ids)
    pred = model.render(mz, intensity)
    return (1 - F.cosine_similarity(pred, target, dim=-1)).mean() + F.mse_loss(pred, target)
