"""The conv1d + LayerNorm classifier of p17_conv1d_layernorm.py trained with bf16 autocast on CPU
(torch.autocast('cpu', dtype=torch.bfloat16) around forward and loss; the LayerNorm then receives the
convolution's bf16 output with its float32 weight); AdamW.

Training program: batch of 16 feature sequences [16, 40, 256] float32 (batch, 40 mel channels, 256 frames),
labels [16] int64 in 0..9.

Architecture (ConvLNBlock(cin, cout) = Conv1d(cin, cout, 5, padding=2) -> x.transpose(1, 2) ->
LayerNorm(cout) -> .transpose(1, 2) -> GELU):
- ConvLNBlock(40, 128)                                                             -> [16, 128, 256]
- ConvLNBlock(128, 128)                                                            -> [16, 128, 256]
- ConvLNBlock(128, 128)                                                            -> [16, 128, 256]
  (LayerNorm sees [16, 256, 128], a transposed view; GELU gets the transposed-back view)
- mean over frames -> [16, 128] -> Linear(128, 10)                                 -> logits [16, 10]
Mixed precision: `with torch.autocast('cpu', dtype=torch.bfloat16):` wraps model(x) and the loss.
Loss: F.cross_entropy(logits, labels).
Optimizer: torch.optim.AdamW(lr=1e-3).
Parameters: 191,882 (all trainable).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIG = {"kind": "train", "grad_accum": 1}


class ConvLNBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, 5, padding=2)
        self.norm = nn.LayerNorm(cout)

    def forward(self, x):
        x = self.conv(x)
        x = self.norm(x.transpose(1, 2)).transpose(1, 2)
        return F.gelu(x)


class ConvClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(ConvLNBlock(40, 128), ConvLNBlock(128, 128), ConvLNBlock(128, 128))
        self.head = nn.Linear(128, 10)

    def forward(self, x):
        return self.head(self.blocks(x).mean(dim=-1))


def build():
    return ConvClassifier()


def make_batch(gen):
    return torch.randn(16, 40, 256, generator=gen), torch.randint(0, 10, (16,), generator=gen)


def make_optimizer(model):
    return torch.optim.AdamW(model.parameters(), lr=1e-3)


def compute_loss(model, batch):
    x, labels = batch
    with torch.autocast("cpu", dtype=torch.bfloat16):
        return F.cross_entropy(model(x), labels)
