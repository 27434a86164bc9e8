"""U-Net-style segmentation net whose decoder concatenates the encoder's skip connections, Adam.

Training program: batch of 4 single-channel images [4, 1, 64, 64] float32, binary target masks
[4, 1, 64, 64] float32 (0 or 1).

Architecture (DoubleConv(cin, cout) = Conv2d(cin, cout, 3, padding=1) -> BatchNorm2d(cout) -> ReLU(inplace)
-> Conv2d(cout, cout, 3, padding=1) -> BatchNorm2d(cout) -> ReLU(inplace); convolutions with bias):
- enc1 = DoubleConv(1, 16)(x)                        -> [4, 16, 64, 64]
- enc2 = DoubleConv(16, 32)(MaxPool2d(2)(enc1))      -> [4, 32, 32, 32]   (pooled input [4, 16, 32, 32])
- mid  = DoubleConv(32, 64)(MaxPool2d(2)(enc2))      -> [4, 64, 16, 16]   (pooled input [4, 32, 16, 16])
- up2  = ConvTranspose2d(64, 32, 2, stride=2)(mid)   -> [4, 32, 32, 32]
- dec2 = DoubleConv(64, 32)(torch.cat([up2, enc2], dim=1))   cat -> [4, 64, 32, 32], out [4, 32, 32, 32]
- up1  = ConvTranspose2d(32, 16, 2, stride=2)(dec2)  -> [4, 16, 64, 64]
- dec1 = DoubleConv(32, 16)(torch.cat([up1, enc1], dim=1))   cat -> [4, 32, 64, 64], out [4, 16, 64, 64]
- logits = Conv2d(16, 1, 1)(dec1)                    -> [4, 1, 64, 64]
Loss: F.binary_cross_entropy_with_logits(logits, masks) (mean).
Optimizer: torch.optim.Adam(lr=1e-3) (default foreach: for-loop on CPU).
Parameters: 117,393 (all trainable).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIG = {"kind": "train", "grad_accum": 1}


def double_conv(cin, cout):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc1 = double_conv(1, 16)
        self.enc2 = double_conv(16, 32)
        self.mid = double_conv(32, 64)
        self.pool = nn.MaxPool2d(2)
        self.up2 = nn.ConvTranspose2d(64, 32, 2, stride=2)
        self.dec2 = double_conv(64, 32)
        self.up1 = nn.ConvTranspose2d(32, 16, 2, stride=2)
        self.dec1 = double_conv(32, 16)
        self.out = nn.Conv2d(16, 1, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        m = self.mid(self.pool(e2))
        d2 = self.dec2(torch.cat([self.up2(m), e2], dim=1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], dim=1))
        return self.out(d1)


def build():
    return UNet()


def make_batch(gen):
    x = torch.randn(4, 1, 64, 64, generator=gen)
    masks = (torch.rand(4, 1, 64, 64, generator=gen) > 0.5).float()
    return x, masks


def make_optimizer(model):
    return torch.optim.Adam(model.parameters(), lr=1e-3)


def compute_loss(model, batch):
    x, masks = batch
    return F.binary_cross_entropy_with_logits(model(x), masks)
