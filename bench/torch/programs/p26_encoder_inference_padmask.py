"""Inference with a stock nn.TransformerEncoder on padded sequences with src_key_padding_mask:
model.eval() + torch.no_grad(); with enable_nested_tensor=True (the default) the encoder converts the
padded batch to a nested tensor on the fast path (only the real tokens are processed) and pads it back.

Inference program: batch of 8 sequences padded to 256 tokens, ids [8, 256] int64 in 1..999 and lengths
[8] = 32, 64, 96, 128, 160, 192, 224, 256 (mask = arange(256)[None, :] >= lengths[:, None], True = padding;
1,152 real tokens of 2,048 positions).

Architecture:
- x = nn.Embedding(1000, 256)(ids)                                                  -> [8, 256, 256]
- nn.TransformerEncoder(nn.TransformerEncoderLayer(256, nhead=8, dim_feedforward=1024, dropout=0.1, relu,
  batch_first=True, post-norm), num_layers=4) called with src_key_padding_mask=mask -> [8, 256, 256]
- masked mean over tokens -> [8, 256] -> Linear(256, 10)                            -> logits [8, 10]
The forward: model.eval(); with torch.no_grad(): logits = model(ids, lengths).
Parameters: 3,417,610.
"""
import torch
import torch.nn as nn

CONFIG = {"kind": "infer"}

LENGTHS = [32, 64, 96, 128, 160, 192, 224, 256]


class EncoderClassifier(nn.Module):
    def __init__(self, vocab=1000, d=256, classes=10):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        layer = nn.TransformerEncoderLayer(d, nhead=8, dim_feedforward=4 * d, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=4)
        self.head = nn.Linear(d, classes)

    def forward(self, ids, lengths):
        pad = torch.arange(ids.shape[1])[None, :] >= lengths[:, None]
        h = self.encoder(self.embed(ids), src_key_padding_mask=pad)
        keep = (~pad).unsqueeze(-1).to(h.dtype)
        return self.head((h * keep).sum(dim=1) / lengths[:, None].to(h.dtype))


def build():
    return EncoderClassifier()


def make_batch(gen):
    return torch.randint(1, 1000, (8, 256), generator=gen), torch.tensor(LENGTHS)


def infer(model, batch):
    ids, lengths = batch
    model.eval()
    with torch.no_grad():
        return model(ids, lengths)
