"""ViT-style classifier on token sequences: a learned CLS token is concatenated in front of the embedded
tokens, a pre-norm GELU nn.TransformerEncoder runs over them, and the CLS output is selected by indexing
(x[:, 0]); AdamW.

Training program: batch of 16 sequences of 63 tokens, ids [16, 63] int64 in 0..4095, labels [16] int64 in 0..9.

Architecture (d = 128):
- tok = nn.Embedding(4096, 128)(ids)                                               -> [16, 63, 128]
- cls = self.cls_token (nn.Parameter [1, 1, 128]).expand(16, -1, -1)              -> [16, 1, 128] (a view)
- x = torch.cat([cls, tok], dim=1) + self.pos_embed (nn.Parameter [1, 64, 128])    -> [16, 64, 128]
- nn.TransformerEncoder(nn.TransformerEncoderLayer(128, nhead=4, dim_feedforward=512, dropout=0.1,
  activation="gelu", batch_first=True, norm_first=True), num_layers=3)            -> [16, 64, 128]
- x = x[:, 0] (CLS token)                                                          -> [16, 128]
- LayerNorm(128) -> Linear(128, 10)                                                -> logits [16, 10]
Loss: F.cross_entropy(logits, labels).
Optimizer: torch.optim.AdamW(lr=1e-3, weight_decay=0.05).
Parameters: 1,128,970 (all trainable).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIG = {"kind": "train", "grad_accum": 1}


class CLSTransformer(nn.Module):
    def __init__(self, vocab=4096, d=128, length=63, classes=10):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed = nn.Parameter(torch.zeros(1, length + 1, d))
        layer = nn.TransformerEncoderLayer(d, nhead=4, dim_feedforward=4 * d, dropout=0.1, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=3)
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, classes)

    def forward(self, ids):
        tok = self.embed(ids)
        cls = self.cls_token.expand(tok.shape[0], -1, -1)
        x = torch.cat([cls, tok], dim=1) + self.pos_embed
        x = self.encoder(x)
        return self.head(self.norm(x[:, 0]))


def build():
    return CLSTransformer()


def make_batch(gen):
    return torch.randint(0, 4096, (16, 63), generator=gen), torch.randint(0, 10, (16,), generator=gen)


def make_optimizer(model):
    return torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)


def compute_loss(model, batch):
    ids, labels = batch
    return F.cross_entropy(model(ids), labels)
