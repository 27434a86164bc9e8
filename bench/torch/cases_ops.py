"""Per-op cases: name -> (build, make_inputs, kwargs, shapes description)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

B, S, D, H = 4, 64, 128, 256
V = 1000


def x3(d=D):
    return lambda: [torch.randn(B, S, d)]


def frozen(m):
    for p in m.parameters():
        p.requires_grad_(False)
    return m


class Fn(nn.Module):
    def __init__(self, f, *mods):
        super().__init__()
        self.f = f
        self.mods = nn.ModuleList(mods)

    def forward(self, *a):
        return self.f(*a)


idx512 = lambda: torch.randint(0, 1024, (512,))
idx1024_256 = lambda: torch.randint(0, 256, (1024,))

OPS = [
    # name, build, inputs, opts, shape text
    ("linear_bias", lambda: nn.Linear(D, H), x3(), {}, "Linear(128,256) x[4,64,128]"),
    ("linear_bias_input_nograd", lambda: nn.Linear(D, H), x3(), {"inputs_require_grad": False}, "Linear(128,256) x[4,64,128] no input grad"),
    ("linear_bias_frozen_weight", lambda: frozen(nn.Linear(D, H)), x3(), {}, "Linear(128,256) frozen, x requires grad"),
    ("linear_nobias", lambda: nn.Linear(D, H, bias=False), x3(), {}, "Linear(128,256,bias=False) x[4,64,128]"),
    ("linear_bias_2d", lambda: nn.Linear(D, H), lambda: [torch.randn(B * S, D)], {}, "Linear(128,256) x[256,128]"),
    ("matmul_act", lambda: Fn(torch.matmul), lambda: [torch.randn(B, S, D), torch.randn(B, D, S)], {}, "a[4,64,128]@b[4,128,64]"),
    ("gelu", lambda: nn.GELU(), x3(), {}, "x[4,64,128]"),
    ("gelu_tanh", lambda: nn.GELU(approximate="tanh"), x3(), {}, "x[4,64,128]"),
    ("relu", lambda: nn.ReLU(), x3(), {}, "x[4,64,128]"),
    ("relu_inplace", lambda: nn.ReLU(inplace=True), x3(), {}, "x[4,64,128]"),
    ("silu", lambda: nn.SiLU(), x3(), {}, "x[4,64,128]"),
    ("tanh", lambda: nn.Tanh(), x3(), {}, "x[4,64,128]"),
    ("sigmoid", lambda: nn.Sigmoid(), x3(), {}, "x[4,64,128]"),
    ("softmax", lambda: nn.Softmax(dim=-1), x3(), {}, "x[4,64,128] dim=-1"),
    ("log_softmax", lambda: nn.LogSoftmax(dim=-1), x3(), {}, "x[4,64,128] dim=-1"),
    ("layernorm", lambda: nn.LayerNorm(D), x3(), {}, "LayerNorm(128) x[4,64,128]"),
    ("layernorm_input_nograd", lambda: nn.LayerNorm(D), x3(), {"inputs_require_grad": False}, "LayerNorm(128), x no grad"),
    ("layernorm_frozen", lambda: frozen(nn.LayerNorm(D)), x3(), {}, "LayerNorm(128) frozen"),
    ("batchnorm1d", lambda: nn.BatchNorm1d(D), lambda: [torch.randn(B, D, S)], {}, "BatchNorm1d(128) x[4,128,64]"),
    ("batchnorm2d", lambda: nn.BatchNorm2d(16), lambda: [torch.randn(B, 16, 32, 32)], {}, "BatchNorm2d(16) x[4,16,32,32]"),
    ("dropout", lambda: nn.Dropout(0.1), x3(), {}, "Dropout(0.1) train x[4,64,128]"),
    ("embedding", lambda: nn.Embedding(V, D), lambda: [torch.randint(0, V, (B, S))], {}, "Embedding(1000,128) idx[4,64]"),
    ("conv1d", lambda: nn.Conv1d(D, H, 3, padding=1), lambda: [torch.randn(B, D, S)], {}, "Conv1d(128,256,3,p=1) x[4,128,64]"),
    ("conv2d", lambda: nn.Conv2d(16, 32, 3, padding=1), lambda: [torch.randn(B, 16, 32, 32)], {}, "Conv2d(16,32,3,p=1) x[4,16,32,32]"),
    ("maxpool2d", lambda: nn.MaxPool2d(2), lambda: [torch.randn(B, 16, 32, 32)], {}, "MaxPool2d(2) x[4,16,32,32]"),
    ("avgpool2d", lambda: nn.AvgPool2d(2), lambda: [torch.randn(B, 16, 32, 32)], {}, "AvgPool2d(2) x[4,16,32,32]"),
    ("index_select", lambda: Fn(lambda x, i: x.index_select(0, i)), lambda: [torch.randn(1024, D), idx512()], {}, "x[1024,128].index_select(0, idx[512])"),
    ("gather", lambda: Fn(lambda x, i: x.gather(0, i)), lambda: [torch.randn(256, D), torch.randint(0, 256, (512, D))], {}, "x[256,128].gather(0, idx[512,128])"),
    ("index_add_", lambda: Fn(lambda s, i: torch.zeros(256, D).index_add_(0, i, s)), lambda: [torch.randn(1024, D), idx1024_256()], {}, "zeros[256,128].index_add_(0, idx[1024], src[1024,128])"),
    ("index_add_src_times_w", lambda: Fn(lambda s, i, w: torch.zeros(256, D).index_add_(0, i, s * w)), lambda: [torch.randn(1024, D), idx1024_256(), torch.randn(1024, 1)], {}, "index_add_ of src*w (message passing)"),
    ("scatter_add", lambda: Fn(lambda s, i: torch.zeros(256, D).scatter_add(0, i.unsqueeze(1).expand(-1, D), s)), lambda: [torch.randn(1024, D), idx1024_256()], {}, "zeros[256,128].scatter_add(0, idx[1024]->expand, src[1024,128])"),
    ("add", lambda: Fn(torch.add), lambda: [torch.randn(B, S, D), torch.randn(B, S, D)], {}, "a+b [4,64,128]"),
    ("mul", lambda: Fn(torch.mul), lambda: [torch.randn(B, S, D), torch.randn(B, S, D)], {}, "a*b [4,64,128]"),
    ("mul_scalar", lambda: Fn(lambda a: a * 0.5), x3(), {}, "a*0.5"),
    ("reshape_transpose_contiguous", lambda: Fn(lambda a: a.transpose(1, 2).contiguous().reshape(B, -1)), x3(), {}, "x.transpose(1,2).contiguous().reshape"),
    ("cross_entropy", lambda: Fn(lambda z, t: F.cross_entropy(z, t)), lambda: [torch.randn(B * S, V), torch.randint(0, V, (B * S,))], {"loss_is_output": True}, "logits[256,1000], target[256]"),
    ("mse_loss", lambda: Fn(lambda z, t: F.mse_loss(z, t)), lambda: [torch.randn(B * S, V), torch.randn(B * S, V)], {"loss_is_output": True, "nograd_inputs": (1,)}, "pred[256,1000] vs target[256,1000] (no grad)"),
]
