"""MLP autoencoder (tanh / sigmoid) trained with SGD momentum and gradient accumulation 2, calling
optimizer.zero_grad(set_to_none=False): the zeroed gradients stay allocated through the next forward.

Training program: micro-batch x [128, 784] float32 in [0, 1) (flattened 28x28 images).

Architecture: encoder Linear(784, 256) -> Tanh -> Linear(256, 64) -> Tanh        -> code [128, 64]
              decoder Linear(64, 256) -> Tanh -> Linear(256, 784) -> Sigmoid     -> recon [128, 784]
Loss: F.binary_cross_entropy(recon, x); each micro-batch's loss is divided by 2 before backward.
Optimizer: torch.optim.SGD(lr=0.1, momentum=0.9); optimizer.zero_grad(set_to_none=False) at every step.
Parameters: 435,536 (all trainable).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIG = {"kind": "train", "grad_accum": 2, "zero_grad": "set_to_none=False"}


class AutoEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(784, 256), nn.Tanh(), nn.Linear(256, 64), nn.Tanh())
        self.decoder = nn.Sequential(nn.Linear(64, 256), nn.Tanh(), nn.Linear(256, 784), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))


def build():
    return AutoEncoder()


def make_batch(gen):
    return (torch.rand(128, 784, generator=gen),)


def make_optimizer(model):
    return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


def compute_loss(model, batch):
    (x,) = batch
    return F.binary_cross_entropy(model(x), x)
