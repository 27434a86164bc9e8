"""SimSiam self-supervised training: a stop-gradient written as `.detach()` on the target branch
(the paper's pseudocode), symmetric loss; SGD with momentum.

Training program: two augmented views of 32 images, x1 and x2 [32, 3, 32, 32] float32 (x2 = x1 + noise).

Architecture:
- backbone f (conv): Conv2d(3, 32, 3, stride 2, padding 1) -> BatchNorm2d(32) -> ReLU   -> [32, 32, 16, 16]
                     Conv2d(32, 64, 3, stride 2, padding 1) -> BatchNorm2d(64) -> ReLU  -> [32, 64, 8, 8]
                     Conv2d(64, 128, 3, stride 2, padding 1) -> BatchNorm2d(128) -> ReLU -> [32, 128, 4, 4]
                     AdaptiveAvgPool2d(1) -> flatten                                    -> [32, 128]
  projector: Linear(128, 256) -> BatchNorm1d(256) -> ReLU -> Linear(256, 256) -> BatchNorm1d(256)
                                                                                  -> z [32, 256]
- predictor h: Linear(256, 64) -> BatchNorm1d(64) -> ReLU -> Linear(64, 256)    -> p [32, 256]
- z1, z2 = f(x1), f(x2); p1, p2 = h(z1), h(z2)
Loss: D(p1, z2) / 2 + D(p2, z1) / 2 with D(p, z) = -(F.normalize(p, dim=1) * F.normalize(z.detach(), dim=1)).sum(dim=1).mean()
(the gradient reaches z1 and z2 only through the predictor branch).
Optimizer: torch.optim.SGD(lr=0.05, momentum=0.9, weight_decay=1e-4).
Parameters: 226,752 (all trainable).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIG = {"kind": "train", "grad_accum": 1}


def conv_bn(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.BatchNorm2d(cout), nn.ReLU())


class SimSiam(nn.Module):
    def __init__(self, dim=256, pred_dim=64):
        super().__init__()
        self.backbone = nn.Sequential(conv_bn(3, 32), conv_bn(32, 64), conv_bn(64, 128),
                                      nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.projector = nn.Sequential(nn.Linear(128, dim), nn.BatchNorm1d(dim), nn.ReLU(),
                                       nn.Linear(dim, dim), nn.BatchNorm1d(dim))
        self.predictor = nn.Sequential(nn.Linear(dim, pred_dim), nn.BatchNorm1d(pred_dim), nn.ReLU(),
                                       nn.Linear(pred_dim, dim))

    def forward(self, x1, x2):
        z1 = self.projector(self.backbone(x1))
        z2 = self.projector(self.backbone(x2))
        return self.predictor(z1), self.predictor(z2), z1, z2


def D(p, z):
    z = z.detach()  # stop-gradient
    return -(F.normalize(p, dim=1) * F.normalize(z, dim=1)).sum(dim=1).mean()


def build():
    return SimSiam()


def make_batch(gen):
    x1 = torch.randn(32, 3, 32, 32, generator=gen)
    x2 = x1 + 0.1 * torch.randn(32, 3, 32, 32, generator=gen)
    return x1, x2


def make_optimizer(model):
    return torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)


def compute_loss(model, batch):
    x1, x2 = batch
    p1, p2, z1, z2 = model(x1, x2)
    return D(p1, z2) / 2 + D(p2, z1) / 2
