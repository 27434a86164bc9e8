"""Transfer-learning fine-tune: the bottom of a conv net is frozen with requires_grad=False (no
torch.no_grad(), BatchNorm left in train mode), the top stage and the classifier are trained; AdamW over
the trainable parameters.

The images need no grad and the frozen layers' parameters need none, so autograd records nothing until
the first trainable layer, which saves its (frozen-produced) input.

Training program: batch of 32 images [32, 3, 32, 32] float32, labels [32] int64 in 0..9.

Architecture (block(cin, cout) = Conv2d(cin, cout, 3, padding=1, bias=False) -> BatchNorm2d(cout) -> ReLU):
- frozen: block(3, 32) -> [32, 32, 32, 32]; block(32, 32) -> MaxPool2d(2)             -> [32, 32, 16, 16]
          block(32, 64) -> MaxPool2d(2)                                                -> [32, 64, 8, 8]
- trainable: block(64, 128) -> [32, 128, 8, 8]; block(128, 128) -> [32, 128, 8, 8]
             AdaptiveAvgPool2d(1) -> flatten -> Linear(128, 10)                       -> logits [32, 10]
Loss: F.cross_entropy(logits, labels).
Optimizer: torch.optim.AdamW(filter(lambda p: p.requires_grad, model.parameters()), lr=1e-3).
Parameters: 251,754 total; 222,986 trainable; frozen 28,768.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIG = {"kind": "train", "grad_accum": 1}


def block(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(block(3, 32), block(32, 32), nn.MaxPool2d(2), block(32, 64), nn.MaxPool2d(2))
        self.top = nn.Sequential(block(64, 128), block(128, 128), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(128, 10)
        for p in self.backbone.parameters():
            p.requires_grad = False

    def forward(self, x):
        return self.fc(self.top(self.backbone(x)))


def build():
    return Net()


def make_batch(gen):
    return torch.randn(32, 3, 32, 32, generator=gen), torch.randint(0, 10, (32,), generator=gen)


def make_optimizer(model):
    return torch.optim.AdamW(filter(lambda p: p.requires_grad, model.parameters()), lr=1e-3)


def compute_loss(model, batch):
    x, labels = batch
    return F.cross_entropy(model(x), labels)
