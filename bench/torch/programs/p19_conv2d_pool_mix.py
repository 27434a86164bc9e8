"""VGG-style 2-D conv net mixing max and average pooling, with a concatenated global avg+max pool; AdamW
with gradient accumulation 2.

Training program: micro-batch of 16 images [16, 3, 64, 64] float32, labels [16] int64 in 0..9.

Architecture (convolutions with bias, ReLU not in place):
- Conv2d(3, 32, 3, padding=1) -> ReLU                                               -> [16, 32, 64, 64]
- MaxPool2d(2)                                                                      -> [16, 32, 32, 32]
- Conv2d(32, 64, 3, padding=1) -> ReLU                                              -> [16, 64, 32, 32]
- AvgPool2d(2)                                                                      -> [16, 64, 16, 16]
- Conv2d(64, 64, 3, padding=1) -> ReLU                                              -> [16, 64, 16, 16]
- MaxPool2d(3, stride=2, padding=1)                                                 -> [16, 64, 8, 8]
- torch.cat([AdaptiveAvgPool2d(1)(x), AdaptiveMaxPool2d(1)(x)], dim=1).flatten(1)   -> [16, 128]
- Linear(128, 10)                                                                   -> logits [16, 10]
Loss: F.cross_entropy(logits, labels).
Optimizer: torch.optim.AdamW(lr=1e-3); gradient accumulation over 2 micro-batches.
Parameters: 57,610 (all trainable).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIG = {"kind": "train", "grad_accum": 2}


class PoolNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.conv3 = nn.Conv2d(64, 64, 3, padding=1)
        self.maxpool = nn.MaxPool2d(2)
        self.avgpool = nn.AvgPool2d(2)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, padding=1)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.gmp = nn.AdaptiveMaxPool2d(1)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        x = self.maxpool(F.relu(self.conv1(x)))
        x = self.avgpool(F.relu(self.conv2(x)))
        x = self.maxpool3(F.relu(self.conv3(x)))
        x = torch.cat([self.gap(x), self.gmp(x)], dim=1).flatten(1)
        return self.fc(x)


def build():
    return PoolNet()


def make_batch(gen):
    return torch.randn(16, 3, 64, 64, generator=gen), torch.randint(0, 10, (16,), generator=gen)


def make_optimizer(model):
    return torch.optim.AdamW(model.parameters(), lr=1e-3)


def compute_loss(model, batch):
    x, labels = batch
    return F.cross_entropy(model(x), labels)
