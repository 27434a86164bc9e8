"""Tabular MLP regressor with dropout, AdamW with gradient accumulation over 4 micro-batches, and the
plain `optimizer.zero_grad()` call (its default is set_to_none=False in torch 1.13, True in torch 2.x).

Training program: micro-batch x [64, 512] float32, targets y [64, 1] float32.

Architecture: Linear(512, 1024) -> ReLU -> Dropout(0.1) -> Linear(1024, 1024) -> ReLU -> Dropout(0.1)
              -> Linear(1024, 1)                                                   -> [64, 1]
Intermediates [64, 1024] (256 KiB each).
Loss: F.mse_loss(pred, y); each micro-batch's loss is divided by 4 before backward.
Optimizer: torch.optim.AdamW(lr=1e-3, weight_decay=0.01); optimizer.zero_grad() with its default.
Parameters: 1,575,937 (all trainable).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIG = {"kind": "train", "grad_accum": 4, "zero_grad": "default"}


def build():
    return nn.Sequential(
        nn.Linear(512, 1024), nn.ReLU(), nn.Dropout(0.1),
        nn.Linear(1024, 1024), nn.ReLU(), nn.Dropout(0.1),
        nn.Linear(1024, 1))


def make_batch(gen):
    return torch.randn(64, 512, generator=gen), torch.randn(64, 1, generator=gen)


def make_optimizer(model):
    return torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)


def compute_loss(model, batch):
    x, y = batch
    return F.mse_loss(model(x), y)
