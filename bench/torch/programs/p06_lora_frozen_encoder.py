"""LoRA-style adapter fine-tune: a trainable embedding and low-rank adapter feed a FROZEN
nn.TransformerEncoder (parameters requires_grad=False, still run with autograd on), then a trainable head;
AdamW over the trainable parameters only.

Because the encoder's input requires grad (it comes from the trainable embedding/adapter), autograd
records the frozen layers and saves their activations (the gradient has to flow back through them).

Training program: batch of 8 sequences of 64 tokens, ids [8, 64] int64 in 0..999, labels [8] int64 in 0..3.

Architecture:
- x = nn.Embedding(1000, 128)(ids)                          (trainable)          -> [8, 64, 128]
- adapter (trainable, LoRA-style low rank 8, no bias): x = x + up(down(x)),
    down = Linear(128, 8, bias=False) -> [8, 64, 8], up = Linear(8, 128, bias=False) -> [8, 64, 128]
    (up is zero-initialised, as LoRA does)
- FROZEN nn.TransformerEncoder(nn.TransformerEncoderLayer(128, nhead=4, dim_feedforward=512, dropout=0.1,
  relu, batch_first=True, post-norm), num_layers=2), train mode (dropout active)   -> [8, 64, 128]
- mean over tokens -> [8, 128] -> head Linear(128, 4) (trainable)               -> logits [8, 4]
Loss: F.cross_entropy(logits, labels).
Optimizer: torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3).
Parameters: 527,108 total; 130,564 trainable (embedding 128,000 + adapter 2,048 + head 516);
frozen encoder 396,544 (2 layers of 198,272).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIG = {"kind": "train", "grad_accum": 1}


class AdapterClassifier(nn.Module):
    def __init__(self, vocab=1000, d=128, rank=8, classes=4):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.down = nn.Linear(d, rank, bias=False)
        self.up = nn.Linear(rank, d, bias=False)
        nn.init.zeros_(self.up.weight)
        layer = nn.TransformerEncoderLayer(d, nhead=4, dim_feedforward=4 * d, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2)
        for p in self.encoder.parameters():
            p.requires_grad = False
        self.head = nn.Linear(d, classes)

    def forward(self, ids):
        x = self.embed(ids)
        x = x + self.up(self.down(x))
        return self.head(self.encoder(x).mean(dim=1))


def build():
    return AdapterClassifier()


def make_batch(gen):
    return torch.randint(0, 1000, (8, 64), generator=gen), torch.randint(0, 4, (8,), generator=gen)


def make_optimizer(model):
    return torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)


def compute_loss(model, batch):
    ids, labels = batch
    return F.cross_entropy(model(ids), labels)
