"""The tied-embedding GPT of p13_gpt_tied.py trained with bf16 autocast on CPU (torch.autocast('cpu',
dtype=torch.bfloat16) around forward and loss; parameters and optimizer state stay float32); AdamW.

Training program: batch of 8 sequences of 64 tokens, idx [8, 64] int64 in 0..511, next-token targets
[8, 64] int64.

Architecture (d = 128, 4 heads of 32, 4 blocks, dropout 0.1 everywhere, biases on):
- x = wte(idx) + wpe(arange(64)): nn.Embedding(512, 128) -> [8, 64, 128] plus nn.Embedding(64, 128) -> [64, 128];
  then Dropout(0.1)                                                                -> [8, 64, 128]
- per block (pre-norm): x = x + attn(ln_1(x)); x = x + mlp(ln_2(x))
  attn: c_attn = Linear(128, 384) -> [8, 64, 384], split into q, k, v [8, 64, 128] each,
        view/transpose to [8, 4, 64, 32];
        att = (q @ k.transpose(-2, -1)) * (1 / sqrt(32))                          -> [8, 4, 64, 64]
        att = att.masked_fill(self.bias[:, :, :64, :64] == 0, float('-inf'))  (bias: tril buffer [1, 1, 64, 64])
        att = softmax(att, dim=-1) -> Dropout(0.1) -> y = att @ v                -> [8, 4, 64, 32]
        y.transpose(1, 2).contiguous().view(8, 64, 128) -> c_proj Linear(128, 128) -> Dropout(0.1)
  mlp: Linear(128, 512) -> GELU -> Linear(512, 128) -> Dropout(0.1)
- ln_f = LayerNorm(128) -> lm_head Linear(128, 512, bias=False) whose weight IS wte.weight
  (self.lm_head.weight = self.wte.weight)                                          -> logits [8, 64, 512]
Mixed precision: `with torch.autocast('cpu', dtype=torch.bfloat16):` wraps the model call (forward + loss).
Loss: F.cross_entropy(logits.view(-1, 512), targets.view(-1)) over 512 rows.
Optimizer: torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1) (the tied weight is one
parameter: one gradient, one pair of moments).
Parameters: 867,072 (all trainable; the tied [512, 128] matrix counted once).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIG = {"kind": "train", "grad_accum": 1}

VOCAB, BLOCK, D, HEADS, LAYERS, DROPOUT = 512, 64, 128, 4, 4, 0.1


class CausalSelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_attn = nn.Linear(D, 3 * D)
        self.c_proj = nn.Linear(D, D)
        self.attn_dropout = nn.Dropout(DROPOUT)
        self.resid_dropout = nn.Dropout(DROPOUT)
        self.register_buffer("bias", torch.tril(torch.ones(BLOCK, BLOCK)).view(1, 1, BLOCK, BLOCK))

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(D, dim=2)
        k = k.view(B, T, HEADS, C // HEADS).transpose(1, 2)
        q = q.view(B, T, HEADS, C // HEADS).transpose(1, 2)
        v = v.view(B, T, HEADS, C // HEADS).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        att = self.attn_dropout(att)
        y = att @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_fc = nn.Linear(D, 4 * D)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * D, D)
        self.dropout = nn.Dropout(DROPOUT)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(D)
        self.attn = CausalSelfAttention()
        self.ln_2 = nn.LayerNorm(D)
        self.mlp = MLP()

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(VOCAB, D)
        self.wpe = nn.Embedding(BLOCK, D)
        self.drop = nn.Dropout(DROPOUT)
        self.h = nn.ModuleList([Block() for _ in range(LAYERS)])
        self.ln_f = nn.LayerNorm(D)
        self.lm_head = nn.Linear(D, VOCAB, bias=False)
        self.lm_head.weight = self.wte.weight  # weight tying

    def forward(self, idx, targets):
        b, t = idx.size()
        pos = torch.arange(0, t, dtype=torch.long)
        x = self.drop(self.wte(idx) + self.wpe(pos))
        for block in self.h:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def build():
    return GPT()


def make_batch(gen):
    data = torch.randint(0, VOCAB, (8, BLOCK + 1), generator=gen)
    return data[:, :-1].contiguous(), data[:, 1:].contiguous()


def make_optimizer(model):
    return torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1)


def compute_loss(model, batch):
    idx, targets = batch
    with torch.autocast("cpu", dtype=torch.bfloat16):
        return model(idx, targets)
