"""Inference with a stock nn.TransformerEncoder: model.eval() + torch.no_grad(), no padding mask, so
nn.TransformerEncoderLayer takes its inference fast path (torch._transformer_encoder_layer_fwd) in torch
1.12+ and 2.x.

Inference program: batch of 8 sequences of 128 tokens, ids [8, 128] int64 in 0..999.

Architecture:
- x = nn.Embedding(1000, 256)(ids)                                                  -> [8, 128, 256]
- nn.TransformerEncoder(nn.TransformerEncoderLayer(256, nhead=8, dim_feedforward=1024, dropout=0.1, relu,
  batch_first=True, post-norm), num_layers=4)                                       -> [8, 128, 256]
- mean over tokens -> [8, 256] -> Linear(256, 10)                                   -> logits [8, 10]
The forward: model.eval(); with torch.no_grad(): logits = model(ids).
Parameters: 3,417,610.
"""
import torch
import torch.nn as nn

CONFIG = {"kind": "infer"}


class EncoderClassifier(nn.Module):
    def __init__(self, vocab=1000, d=256, classes=10):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        layer = nn.TransformerEncoderLayer(d, nhead=8, dim_feedforward=4 * d, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=4)
        self.head = nn.Linear(d, classes)

    def forward(self, ids):
        return self.head(self.encoder(self.embed(ids)).mean(dim=1))


def build():
    return EncoderClassifier()


def make_batch(gen):
    return (torch.randint(0, 1000, (8, 128), generator=gen),)


def infer(model, batch):
    (ids,) = batch
    model.eval()
    with torch.no_grad():
        return model(ids)
