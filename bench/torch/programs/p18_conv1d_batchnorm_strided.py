"""1-D conv net with BatchNorm1d and strided convolutions for downsampling; SGD with momentum.

Training program: batch of 16 signals [16, 40, 512] float32 (batch, channels, time), labels [16] int64 in 0..9.

Architecture (each stage Conv1d (bias=False) -> BatchNorm1d -> ReLU(inplace=True)):
- Conv1d(40, 64, 7, stride=2, padding=3)                                            -> [16, 64, 256]
- Conv1d(64, 128, 5, stride=2, padding=2)                                           -> [16, 128, 128]
- Conv1d(128, 128, 3, stride=1, padding=1)                                          -> [16, 128, 128]
- Conv1d(128, 256, 3, stride=2, padding=1)                                          -> [16, 256, 64]
- AdaptiveAvgPool1d(1) -> flatten [16, 256] -> Linear(256, 10)                      -> logits [16, 10]
Loss: F.cross_entropy(logits, labels).
Optimizer: torch.optim.SGD(lr=0.05, momentum=0.9, weight_decay=1e-4).
Parameters: 210,058 (all trainable).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIG = {"kind": "train", "grad_accum": 1}


def stage(cin, cout, k, stride):
    return nn.Sequential(nn.Conv1d(cin, cout, k, stride=stride, padding=k // 2, bias=False),
                         nn.BatchNorm1d(cout), nn.ReLU(inplace=True))


def build():
    return nn.Sequential(
        stage(40, 64, 7, 2), stage(64, 128, 5, 2), stage(128, 128, 3, 1), stage(128, 256, 3, 2),
        nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(256, 10))


def make_batch(gen):
    return torch.randn(16, 40, 512, generator=gen), torch.randint(0, 10, (16,), generator=gen)


def make_optimizer(model):
    return torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)


def compute_loss(model, batch):
    x, labels = batch
    return F.cross_entropy(model(x), labels)
