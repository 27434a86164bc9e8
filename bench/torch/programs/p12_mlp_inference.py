"""Inference with a plain MLP: model.eval() + torch.no_grad() (dropout off, nothing saved).

Inference program: batch x [256, 1024] float32.

Architecture: Linear(1024, 4096) -> ReLU -> Dropout(0.2) -> Linear(4096, 4096) -> ReLU -> Dropout(0.2)
              -> Linear(4096, 1024) -> ReLU -> Linear(1024, 10)                 -> logits [256, 10]
Intermediates: [256, 4096] (4 MiB) after the first two Linears, [256, 1024] after the third.
The forward: model.eval(); with torch.no_grad(): logits = model(x).
Parameters: 25,185,290.
"""
import torch
import torch.nn as nn

CONFIG = {"kind": "infer"}


def build():
    return nn.Sequential(
        nn.Linear(1024, 4096), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(4096, 1024), nn.ReLU(),
        nn.Linear(1024, 10))


def make_batch(gen):
    return (torch.randn(256, 1024, generator=gen),)


def infer(model, batch):
    (x,) = batch
    model.eval()
    with torch.no_grad():
        return model(x)
