"""Seed 003's AAM-style sample model with chunked ASV processing, each chunk (embedding + ASV transformer
encoder + mean pool over base pairs) run through torch.utils.checkpoint.checkpoint(fn, chunk,
use_reentrant=False) as one segment; AdamW with gradient accumulation 2.

Training program: micro-batch of 2 samples, each 128 ASVs (token_limit) of 50 base pairs (max_bp):
ids [2, 128, 50] int64 in 0..5 (pad, A, C, G, T, N); target [2, 1] float32.

Architecture (d = 64, every encoder layer nn.TransformerEncoderLayer(64, nhead=4, dim_feedforward=256,
dropout=0.1, relu, batch_first=True, post-norm)):
- ASV encoder, applied per chunk of 32 ASVs (ids.split(32, dim=1): 4 chunks of [2, 32, 50]):
    x = nn.Embedding(6, 64)(chunk.reshape(64, 50)) + pos (nn.Parameter [1, 50, 64])   -> [64, 50, 64]
    nn.TransformerEncoder(layer, num_layers=2)                                       -> [64, 50, 64]
    mean over base pairs -> [64, 64] -> reshape                                      -> [2, 32, 64]
  each chunk call is checkpoint(self.asv_encoder, chunk, use_reentrant=False): only the chunk's ids (and
  an RNG state) are kept; the chunk is recomputed in backward.
- torch.cat of the 4 chunk outputs along ASVs                                       -> [2, 128, 64]
- sample encoder: nn.TransformerEncoder(layer, num_layers=2) over ASVs               -> [2, 128, 64]
- mean over ASVs -> [2, 64] -> head Linear(64, 1)                                   -> [2, 1]
Loss: F.mse_loss(pred, target).
Optimizer: torch.optim.AdamW(lr=1e-4); gradient accumulation over 2 micro-batches.
Parameters: 203,585 (all trainable).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

CONFIG = {"kind": "train", "grad_accum": 2}

CHUNK = 32
USE_CHECKPOINT = True


def encoder(d=64, layers=2):
    layer = nn.TransformerEncoderLayer(d, nhead=4, dim_feedforward=4 * d, dropout=0.1, batch_first=True)
    return nn.TransformerEncoder(layer, num_layers=layers)


class ASVEncoder(nn.Module):
    def __init__(self, d=64, max_bp=50):
        super().__init__()
        self.embed = nn.Embedding(6, d)
        self.pos = nn.Parameter(torch.zeros(1, max_bp, d))
        self.encoder = encoder(d)

    def forward(self, ids):
        b, n, bp = ids.shape
        x = self.embed(ids.reshape(b * n, bp)) + self.pos
        x = self.encoder(x)
        return x.mean(dim=1).reshape(b, n, -1)


class SampleModel(nn.Module):
    def __init__(self, d=64):
        super().__init__()
        self.asv_encoder = ASVEncoder(d)
        self.sample_encoder = encoder(d)
        self.head = nn.Linear(d, 1)

    def forward(self, ids):
        chunks = []
        for chunk in ids.split(CHUNK, dim=1):
            if USE_CHECKPOINT:
                chunks.append(checkpoint(self.asv_encoder, chunk, use_reentrant=False))
            else:
                chunks.append(self.asv_encoder(chunk))
        x = torch.cat(chunks, dim=1)
        x = self.sample_encoder(x)
        return self.head(x.mean(dim=1))


def build():
    return SampleModel()


def make_batch(gen):
    return torch.randint(0, 6, (2, 128, 50), generator=gen), torch.randn(2, 1, generator=gen)


def make_optimizer(model):
    return torch.optim.AdamW(model.parameters(), lr=1e-4)


def compute_loss(model, batch):
    ids, target = batch
    return F.mse_loss(model(ids), target)
