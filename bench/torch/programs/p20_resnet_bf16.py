"""The ResNet of p01_resnet_sgdm.py trained with bf16 autocast on CPU (torch.autocast('cpu', dtype=torch.bfloat16)
around forward and loss; parameters, gradients and optimizer state stay float32); SGD with momentum.

Training program: batch of 16 RGB images [16, 3, 32, 32] float32, labels [16] int64 in 0..9.

Architecture (torchvision BasicBlock style, nn.ReLU(inplace=True), convolutions without bias):
- stem: Conv2d(3, 16, 3, padding=1) -> BatchNorm2d(16) -> ReLU          -> [16, 16, 32, 32]
- layer1: 2 BasicBlocks 16 -> 16, stride 1, identity shortcut          -> [16, 16, 32, 32]
- layer2: BasicBlock 16 -> 32, stride 2, shortcut Conv2d(16, 32, 1, stride 2) + BatchNorm2d(32);
          then BasicBlock 32 -> 32 (identity)                           -> [16, 32, 16, 16]
- layer3: BasicBlock 32 -> 64, stride 2, shortcut Conv2d(32, 64, 1, stride 2) + BatchNorm2d(64);
          then BasicBlock 64 -> 64 (identity)                           -> [16, 64, 8, 8]
- AdaptiveAvgPool2d(1) -> flatten [16, 64] -> Linear(64, 10) -> logits [16, 10]
BasicBlock(cin, cout, stride): out = relu(bn1(conv1(x)))  [conv1: Conv2d(cin, cout, 3, stride, padding=1)]
                               out = bn2(conv2(out))       [conv2: Conv2d(cout, cout, 3, 1, padding=1)]
                               out = relu(out + shortcut(x))   (out += shortcut(x), then in-place ReLU)
Mixed precision: `with torch.autocast('cpu', dtype=torch.bfloat16):` wraps model(images) and the loss.
Loss: F.cross_entropy(logits, labels) (mean).
Optimizer: torch.optim.SGD(lr=0.1, momentum=0.9, weight_decay=5e-4) (default foreach: for-loop on CPU).
Parameters: 175,258 (all trainable); BatchNorm running stats are buffers.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIG = {"kind": "train", "grad_accum": 1}


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        return self.relu(out)


class ResNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(inplace=True))
        self.layer1 = nn.Sequential(BasicBlock(16, 16), BasicBlock(16, 16))
        self.layer2 = nn.Sequential(BasicBlock(16, 32, 2), BasicBlock(32, 32))
        self.layer3 = nn.Sequential(BasicBlock(32, 64, 2), BasicBlock(64, 64))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = self.stem(x)
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


def build():
    return ResNet()


def make_batch(gen):
    return torch.randn(16, 3, 32, 32, generator=gen), torch.randint(0, 10, (16,), generator=gen)


def make_optimizer(model):
    return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)


def compute_loss(model, batch):
    images, labels = batch
    with torch.autocast("cpu", dtype=torch.bfloat16):
        return F.cross_entropy(model(images), labels)
