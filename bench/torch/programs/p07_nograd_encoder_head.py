"""Frozen feature extractor: an embedding + nn.TransformerEncoder run under torch.no_grad() (parameters
also requires_grad=False, kept in eval mode), feeding a trainable MLP head; AdamW over the head.

Nothing inside the torch.no_grad() block is recorded by autograd, so the encoder saves nothing; the head
saves its own activations. Because the encoder is in eval mode under no_grad, nn.TransformerEncoderLayer
may take its inference fast path.

Training program: batch of 16 sequences of 128 tokens, ids [16, 128] int64 in 0..999, labels [16] int64 in 0..3.

Architecture:
- frozen part (inside `with torch.no_grad():`, eval mode):
    x = nn.Embedding(1000, 128)(ids)                                               -> [16, 128, 128]
    nn.TransformerEncoder(nn.TransformerEncoderLayer(128, nhead=4, dim_feedforward=512, dropout=0.1,
    relu, batch_first=True, post-norm), num_layers=2)                              -> [16, 128, 128]
    features = mean over tokens                                                    -> [16, 128]
- trainable head: Linear(128, 256) -> GELU -> Dropout(0.1) -> Linear(256, 4)      -> logits [16, 4]
Loss: F.cross_entropy(logits, labels).
Optimizer: torch.optim.AdamW(model.head.parameters(), lr=1e-3).
Parameters: 558,596 total; 34,052 trainable (head); frozen: embedding 128,000 + encoder 396,544.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIG = {"kind": "train", "grad_accum": 1}


class FrozenEncoderClassifier(nn.Module):
    def __init__(self, vocab=1000, d=128, classes=4):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        layer = nn.TransformerEncoderLayer(d, nhead=4, dim_feedforward=4 * d, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2)
        for p in list(self.embed.parameters()) + list(self.encoder.parameters()):
            p.requires_grad = False
        self.head = nn.Sequential(nn.Linear(d, 256), nn.GELU(), nn.Dropout(0.1), nn.Linear(256, classes))

    def train(self, mode=True):
        super().train(mode)
        self.embed.eval()
        self.encoder.eval()  # the frozen extractor always runs in eval mode
        return self

    def forward(self, ids):
        with torch.no_grad():
            features = self.encoder(self.embed(ids)).mean(dim=1)
        return self.head(features)


def build():
    return FrozenEncoderClassifier().train()


def make_batch(gen):
    return torch.randint(0, 1000, (16, 128), generator=gen), torch.randint(0, 4, (16,), generator=gen)


def make_optimizer(model):
    return torch.optim.AdamW(model.head.parameters(), lr=1e-3)


def compute_loss(model, batch):
    ids, labels = batch
    return F.cross_entropy(model(ids), labels)
