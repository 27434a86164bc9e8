"""Message-passing GNN with edge features and a 2-layer node-update MLP, aggregation with index_add_; AdamW.

Training program: one graph of 2,000 nodes and 16,000 directed edges.
Batch: node features x [2000, 16] float32, edge_index [2, 16000] int64 (row 0 = source, row 1 = target,
values in 0..1999), edge features edge_attr [16000, 8] float32, node targets y [2000, 1] float32.

Architecture (hidden 64, 3 message-passing layers, SiLU everywhere):
- h = node_enc(x): Linear(16, 64)                                   -> [2000, 64]
- e = edge_enc(edge_attr): Linear(8, 64)                            -> [16000, 64] (shared by all layers)
- per layer (3 layers, separate weights):
    src, dst = edge_index[0], edge_index[1]                          (views, [16000] each)
    m   = msg_mlp(torch.cat([h[src], h[dst], e], dim=-1))           cat [16000, 192]
          msg_mlp = Linear(192, 64) -> SiLU -> Linear(64, 64)         m [16000, 64]
    agg = torch.zeros_like(h).index_add_(0, dst, m)                 -> [2000, 64]
    h   = h + upd_mlp(torch.cat([h, agg], dim=-1))                   cat [2000, 128]
          upd_mlp = Linear(128, 64) -> SiLU -> Linear(64, 64)         h [2000, 64]
- out = readout(h): Linear(64, 1)                                   -> [2000, 1]
Loss: F.mse_loss(out, y).
Optimizer: torch.optim.AdamW(lr=1e-3, weight_decay=0.01) (default foreach: for-loop on CPU).
Parameters: 88,513 (all trainable).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIG = {"kind": "train", "grad_accum": 1}

N_NODES, N_EDGES = 2000, 16000


class EdgeConv(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.msg_mlp = nn.Sequential(nn.Linear(3 * d, d), nn.SiLU(), nn.Linear(d, d))
        self.upd_mlp = nn.Sequential(nn.Linear(2 * d, d), nn.SiLU(), nn.Linear(d, d))

    def forward(self, h, edge_index, e):
        src, dst = edge_index[0], edge_index[1]
        m = self.msg_mlp(torch.cat([h[src], h[dst], e], dim=-1))
        agg = torch.zeros_like(h).index_add_(0, dst, m)
        return h + self.upd_mlp(torch.cat([h, agg], dim=-1))


class GNN(nn.Module):
    def __init__(self, d_node=16, d_edge=8, d=64, layers=3):
        super().__init__()
        self.node_enc = nn.Linear(d_node, d)
        self.edge_enc = nn.Linear(d_edge, d)
        self.layers = nn.ModuleList([EdgeConv(d) for _ in range(layers)])
        self.readout = nn.Linear(d, 1)

    def forward(self, x, edge_index, edge_attr):
        h = self.node_enc(x)
        e = self.edge_enc(edge_attr)
        for layer in self.layers:
            h = layer(h, edge_index, e)
        return self.readout(h)


def build():
    return GNN()


def make_batch(gen):
    x = torch.randn(N_NODES, 16, generator=gen)
    edge_index = torch.randint(0, N_NODES, (2, N_EDGES), generator=gen)
    edge_attr = torch.randn(N_EDGES, 8, generator=gen)
    y = torch.randn(N_NODES, 1, generator=gen)
    return x, edge_index, edge_attr, y


def make_optimizer(model):
    return torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)


def compute_loss(model, batch):
    x, edge_index, edge_attr, y = batch
    return F.mse_loss(model(x, edge_index, edge_attr), y)
