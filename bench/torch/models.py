"""PyTorch models built from memplan model descriptors (YAML), one torch module per memplan block type.

Each block mirrors what src/core/blocks/<type>.ts builds (same ops, same order, same parameter sizes),
written the way a PyTorch user writes it (nn.Linear, nn.LayerNorm, nn.TransformerEncoderLayer, ...), so
that measuring this model checks memplan's rules against PyTorch itself. Dimensions and expressions are
evaluated here independently of memplan (a small ast evaluator for memplan's expression language).
The assembly (repeat, from, input reshape, frozen, checkpoint per layer, chunking) follows
src/core/model.ts assemble().
"""
import ast
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as tuc
import yaml

# ---------------------------------------------------------------------------------------------------
# Expressions and dimensions (memplan: + - * / ^ % and ceil floor round min max sqrt log2 abs mod pow)

_FN = {"ceil": math.ceil, "floor": math.floor, "round": round, "min": min, "max": max, "sqrt": math.sqrt,
       "log2": math.log2, "abs": abs, "mod": lambda a, b: a % b, "pow": lambda a, b: a ** b}
_BIN = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
        ast.Div: lambda a, b: a / b, ast.Pow: lambda a, b: a ** b, ast.Mod: lambda a, b: a % b}


def _symbols(node):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} - set(_FN)


def _eval(node, scope):
    if isinstance(node, ast.Expression):
        return _eval(node.body, scope)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return node.value
    if isinstance(node, ast.Name):
        return scope[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
        return _BIN[type(node.op)](_eval(node.left, scope), _eval(node.right, scope))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _eval(node.operand, scope)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FN:
        return _FN[node.func.id](*[_eval(a, scope) for a in node.args])
    raise ValueError("unsupported expression: %s" % ast.dump(node))


def _parse(expr):
    return ast.parse(str(expr).replace("^", "**"), mode="eval")


def evaluate(v, scope):
    """A number or a memplan expression string -> number (integers stay int when whole)."""
    if isinstance(v, bool):
        raise ValueError("boolean where a number was expected")
    if isinstance(v, (int, float)):
        return v
    r = _eval(_parse(v), scope)
    return int(round(r)) if abs(r - round(r)) < 1e-9 else r


def resolve_dims(declared, overrides, batch):
    specs = {}
    for k, v in (declared or {}).items():
        specs[k] = v["value"] if isinstance(v, dict) else v
    specs.update(overrides or {})
    out = {"batch": batch}
    pending = dict(specs)
    while pending:
        progressed = False
        for k, v in list(pending.items()):
            deps = _symbols(_parse(v)) if isinstance(v, str) else set()
            if all(d in out and d not in pending for d in deps):
                out[k] = evaluate(v, out)
                del pending[k]
                progressed = True
        if not progressed:
            raise ValueError("dimension cycle among %s" % sorted(pending))
    return out


# ---------------------------------------------------------------------------------------------------
# Run config

def load_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)


def load_case(config_path):
    """Run config YAML (memplan format) -> (run dict with defaults as normalizeRun fills them, model dict)."""
    raw = load_yaml(config_path)
    model = raw["model"]
    if isinstance(model, str):
        model = load_yaml(os.path.join(os.path.dirname(config_path), model))
    opt = raw.get("optimizer", {"type": "adamw"})
    if isinstance(opt, str):
        opt = {"type": opt}
    ema = raw.get("ema", {"enabled": False})
    if isinstance(ema, bool):
        ema = {"enabled": ema}
    run = {
        "batch_size": raw.get("batch_size", 1),
        "grad_accum": raw.get("grad_accum", 1),
        "precision": raw.get("precision", "fp32"),
        "optimizer": {"type": opt["type"], "impl": opt.get("impl", "foreach"), "weight_decay": opt.get("weight_decay", 0)},
        "ema": {"enabled": ema.get("enabled", True), "dtype": ema.get("dtype", "f32"), "device": ema.get("device", "gpu")},
        "checkpointing": raw.get("checkpointing", False),
        "attention": raw.get("attention", "eager"),
        "device": raw.get("device", "cuda"),
        "dims": raw.get("dims", {}),
        "set_to_none": raw.get("set_to_none", True),
    }
    return run, model


# ---------------------------------------------------------------------------------------------------
# Blocks. Each builder gets (in_shape or None, spec accessor) and returns (module, out_shape, inputs):
# `inputs` lists the extra batch tensors the block reads, (key, shape, kind, max_value), created per
# micro-batch like memplan's trace inputs. module.forward(x, batch) -> y.

ACTS = {"gelu": F.gelu, "relu": F.relu, "silu": F.silu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}


class Args:
    def __init__(self, spec, scope, attention, path):
        self.spec, self.scope, self.attention, self.path = spec, scope, attention, path

    def num(self, key, default=None):
        v = self.spec.get(key, default)
        if v is None:
            raise ValueError("%s: missing %s" % (self.path, key))
        return evaluate(v, self.scope)

    def get(self, key, default):
        return self.spec.get(key, default)

    def shape(self, key):
        v = self.spec.get(key)
        return None if v is None else [evaluate(e, self.scope) for e in v]


class Linear(nn.Module):
    def __init__(self, shape, a):
        super().__init__()
        self.lin = nn.Linear(shape[-1], a.num("out"), bias=a.get("bias", True))
        self.out_shape = shape[:-1] + [a.num("out")]

    def forward(self, x, batch):
        return self.lin(x)


class FeedForward(nn.Module):
    """mlp.ts feedForward: fc1 -> act -> dropout(p) -> fc2 -> dropout(p_out)."""

    def __init__(self, d_in, hidden, d_out, act, p, bias, p_out):
        super().__init__()
        self.fc1 = nn.Linear(d_in, hidden, bias=bias)
        self.fc2 = nn.Linear(hidden, d_out, bias=bias)
        self.act, self.p, self.p_out = ACTS[act], p, p_out

    def forward(self, x):
        h = F.dropout(self.act(self.fc1(x)), self.p, self.training)
        return F.dropout(self.fc2(h), self.p_out, self.training)


class MLP(nn.Module):
    def __init__(self, shape, a):
        super().__init__()
        out = a.num("out", shape[-1])
        p = a.get("dropout", 0)
        self.ff = FeedForward(shape[-1], a.num("hidden"), out, a.get("activation", "gelu"), p, a.get("bias", True), p)
        self.out_shape = shape[:-1] + [out]

    def forward(self, x, batch):
        return self.ff(x)


class Activation(nn.Module):
    def __init__(self, shape, a):
        super().__init__()
        self.fn = ACTS[a.get("kind", "gelu")]
        self.out_shape = shape

    def forward(self, x, batch):
        return self.fn(x)


def _mixed_layer_norm_ok():
    """Whether F.layer_norm accepts a bf16 input with float32 weight and bias on the CPU. torch 2.x does
    (bf16 output, float32 mean/rstd); torch 1.13 raises "expected scalar type BFloat16 but found Float",
    which is what a bf16-mixed conv -> layer_norm descriptor ran into (CPU autocast does not cast
    layer_norm's input, so a bf16 conv/linear output reaches it as bf16)."""
    try:
        F.layer_norm(torch.zeros(1, 2, dtype=torch.bfloat16), (2,), torch.ones(2), torch.zeros(2))
        return True
    except RuntimeError:
        return False


MIXED_LAYER_NORM_OK = _mixed_layer_norm_ok()


class LayerNorm(nn.Module):
    def __init__(self, shape, a):
        super().__init__()
        self.ln = nn.LayerNorm(shape[-1])
        self.out_shape = shape

    def forward(self, x, batch):
        if x.dtype != self.ln.weight.dtype and not MIXED_LAYER_NORM_OK:
            # torch 1.13: what a user has to write there: weight and bias cast to the input's dtype (two
            # [d] casts, saved for backward), output in the input's dtype as torch 2.x gives it.
            return F.layer_norm(x, self.ln.normalized_shape, self.ln.weight.to(x.dtype), self.ln.bias.to(x.dtype),
                                self.ln.eps)
        return self.ln(x)


class BatchNorm(nn.Module):
    def __init__(self, shape, a):
        super().__init__()
        c = shape[1] if len(shape) > 1 else shape[0]
        self.bn = nn.BatchNorm2d(c) if len(shape) == 4 else nn.BatchNorm1d(c)
        self.out_shape = shape

    def forward(self, x, batch):
        return self.bn(x)


class Dropout(nn.Module):
    def __init__(self, shape, a):
        super().__init__()
        self.p = a.get("p", 0.1)
        self.out_shape = shape

    def forward(self, x, batch):
        return F.dropout(x, self.p, self.training)


# F.scaled_dot_product_attention exists from torch 2.0; nn.MultiheadAttention (so nn.TransformerEncoderLayer)
# calls it whenever need_weights=False, which the transformer layers pass.
SDPA = hasattr(F, "scaled_dot_product_attention")


class MHA(nn.Module):
    """attention.ts multiHeadAttention: q/k/v/out Linear with bias; eager: q @ k^T * 1/sqrt(dh), softmax,
    dropout, @ v; sdpa: F.scaled_dot_product_attention; merge heads, out projection."""

    def __init__(self, d, heads, p, sdpa=False):
        super().__init__()
        self.q, self.k, self.v, self.out = (nn.Linear(d, d) for _ in range(4))
        self.h, self.p, self.sdpa = heads, p, sdpa

    def forward(self, x, kv):
        if self.sdpa:
            n, s, d = x.shape
            sk, dh = kv.shape[1], d // self.h
            split = lambda t, L: t.reshape(n, L, self.h, dh).transpose(1, 2)  # noqa: E731
            ctx = F.scaled_dot_product_attention(split(self.q(x), s), split(self.k(kv), sk), split(self.v(kv), sk),
                                                 dropout_p=self.p if self.training else 0.0)
            return self.out(ctx.transpose(1, 2).reshape(n, s, d))
        # Written so each intermediate dies at its last use (no long-lived locals), as memplan's liveness
        # assumes; a local holding e.g. the pre-softmax scores would keep s x s bytes alive to the end.
        n, s, d = x.shape
        sk, dh = kv.shape[1], d // self.h
        split = lambda t, L: t.reshape(n, L, self.h, dh).transpose(1, 2)  # noqa: E731
        probs = F.dropout(torch.softmax(torch.matmul(split(self.q(x), s), split(self.k(kv), sk).transpose(-2, -1)) * (1.0 / math.sqrt(dh)), dim=-1),
                          self.p, self.training)
        ctx = torch.matmul(probs, split(self.v(kv), sk))
        del probs
        return self.out(ctx.transpose(1, 2).reshape(n, s, d))


class Attention(nn.Module):
    def __init__(self, shape, a):
        super().__init__()
        impl = a.get("impl", a.attention)
        if impl != "eager" and not SDPA:
            raise ValueError("%s: sdpa attention does not exist in torch %s (F.scaled_dot_product_attention is 2.0+)" % (a.path, torch.__version__))
        self.mha = MHA(shape[-1], a.num("heads"), a.get("dropout", 0), sdpa=impl == "sdpa")
        self.out_shape = shape

    def forward(self, x, batch):
        return self.mha(x, x)


def _tel_opts(shape, a):
    d = shape[-1]
    # torch 1.x: the layer materialises s x s (eager); torch >= 2: it always calls SDPA (need_weights=False),
    # so the caller estimates these blocks with attention: sdpa there (scripts/validate-torch.mjs does).
    if a.get("attention", a.attention) != "eager" and not SDPA:
        raise ValueError("%s: sdpa attention does not exist in torch %s" % (a.path, torch.__version__))
    act = a.get("activation", "relu")
    return dict(d_model=d, nhead=a.num("heads"), dim_feedforward=a.num("ffn_dim", 4 * d),
                dropout=a.get("dropout", 0.1), activation=act if act in ("relu", "gelu") else ACTS[act],
                batch_first=True, norm_first=a.get("norm_first", False))


class TransformerEncoder(nn.Module):
    """PyTorch's own nn.TransformerEncoderLayer (what transformer.ts models)."""

    def __init__(self, shape, a):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(**_tel_opts(shape, a))
        self.out_shape = shape

    def forward(self, x, batch):
        return self.layer(x)


class TransformerDecoder(nn.Module):
    def __init__(self, shape, a):
        super().__init__()
        self.layer = nn.TransformerDecoderLayer(**_tel_opts(shape, a))
        self.mem_key = a.path + ".memory"
        self.inputs = [(self.mem_key, a.shape("memory"), "float", None)]
        self.out_shape = shape

    def forward(self, x, batch):
        return self.layer(x, batch[self.mem_key])


class Conv(nn.Module):
    def __init__(self, shape, a, rank):
        super().__init__()
        cls = nn.Conv1d if rank == 1 else nn.Conv2d
        k, s, p = a.num("kernel"), a.num("stride", 1), a.num("padding", 0)
        self.conv = cls(shape[1], a.num("out_channels"), k, stride=s, padding=p, bias=a.get("bias", True))
        self.out_shape = [shape[0], a.num("out_channels")] + [(L + 2 * p - k) // s + 1 for L in shape[2:]]

    def forward(self, x, batch):
        return self.conv(x)


class Pool(nn.Module):
    def __init__(self, shape, a):
        super().__init__()
        size = a.num("size")
        stride = a.num("stride", size)
        rank = len(shape) - 2
        kind = a.get("kind", "max")
        cls = {("max", 1): nn.MaxPool1d, ("max", 2): nn.MaxPool2d, ("avg", 1): nn.AvgPool1d, ("avg", 2): nn.AvgPool2d}[(kind, rank)]
        self.pool = cls(size, stride)
        self.out_shape = shape[:2] + [(L - size) // stride + 1 for L in shape[2:]]

    def forward(self, x, batch):
        return self.pool(x)


class MeanPool(nn.Module):
    def __init__(self, shape, a):
        super().__init__()
        ax = a.get("axis", 1)
        self.axis = ax + len(shape) if ax < 0 else ax
        self.out_shape = [d for i, d in enumerate(shape) if i != self.axis]

    def forward(self, x, batch):
        return x.mean(self.axis)


class Reshape(nn.Module):
    def __init__(self, shape, a):
        super().__init__()
        self.out_shape = a.shape("shape")

    def forward(self, x, batch):
        return x.reshape(self.out_shape)


class MessagePassing(nn.Module):
    """message-passing.ts: gather both endpoints (index_select saves only the index), concat, edge MLP,
    index-based scatter-add (scatter_add saves only its index) to the targets, update Linear on
    [h, aggregated], activation, residual."""

    def __init__(self, shape, a):
        super().__init__()
        nodes, d = shape
        hidden = a.num("hidden", d)
        self.msg1, self.msg2 = nn.Linear(2 * d, hidden), nn.Linear(hidden, d)
        self.update = nn.Linear(2 * d, d)
        self.act = ACTS[a.get("activation", "silu")]
        # one edge list for the graph, read by every layer (memplan: a shared input, counted once)
        self.src, self.dst = "edge_src", "edge_dst"
        edges = a.num("edges")
        self.inputs = [(self.src, [edges], "int", nodes), (self.dst, [edges], "int", nodes)]
        self.out_shape = shape

    def forward(self, h, batch):
        src, dst = batch[self.src], batch[self.dst]
        pair = torch.cat([h.index_select(0, src), h.index_select(0, dst)], 1)
        m = self.msg2(self.act(self.msg1(pair)))
        agg = torch.zeros(h.shape[0], m.shape[1], dtype=m.dtype, device=m.device).scatter_add(0, dst.unsqueeze(1).expand(-1, m.shape[1]), m)
        return h + self.act(self.update(torch.cat([h, agg], 1)))


class Embedding(nn.Module):
    source = True

    def __init__(self, shape, a):
        super().__init__()
        vocab, dim = a.num("vocab"), a.num("dim")
        self.emb = nn.Embedding(vocab, dim)
        self.key = a.path + ".ids"
        ids = a.shape("input")
        self.inputs = [(self.key, ids, "int", vocab)]
        self.out_shape = ids + [dim]

    def forward(self, x, batch):
        return self.emb(batch[self.key])


class _Hold(torch.autograd.Function):
    """Passes x through and keeps t alive until this node's backward has run, as a tensor saved for
    the backward of the block where it is declared (memplan's `saved` / `loss` lifetimes)."""

    @staticmethod
    def forward(ctx, x, t):
        ctx.t = t
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g):
        ctx.t = None
        return g, None


class Tensor(nn.Module):
    """tensor.ts: an explicit tensor with a lifetime; passes its input through. memplan keeps a `saved` /
    `loss` tensor until backward reaches its block, so it hangs on the autograd graph there (`_Hold`);
    with no grad-requiring input to hang on, it is held in `kept` (cleared by the caller after
    backward); `transient` exists only while created; `persistent` is a buffer."""
    source = True

    def __init__(self, shape, a, precision, kept):
        super().__init__()
        sh = a.shape("shape")
        count = a.num("count", 1)
        self.shape_ = sh if count == 1 else [count] + sh
        dt = a.get("dtype", "act")
        if dt == "act":
            dt = "bf16" if precision in ("bf16", "bf16-mixed") else "f16" if precision in ("fp16", "fp16-mixed") else "f32"
        self.dtype = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16, "i64": torch.int64,
                      "i32": torch.int32, "bool": torch.bool}[dt]
        self.life = a.get("lifetime", "saved")
        self.kept = kept
        if self.life == "persistent":
            self.register_buffer("buf", torch.zeros(self.shape_, dtype=self.dtype))
        self.out_shape = shape

    def dev(self, x):
        return x.device if x is not None else torch.device("cpu")

    def forward(self, x, batch):
        if self.life in ("saved", "loss") and torch.is_grad_enabled():
            t = torch.empty(self.shape_, dtype=self.dtype, device=self.dev(x))
            if x is not None and x.requires_grad:
                # held by the autograd graph at this block: freed when backward reaches it
                return _Hold.apply(x, t)
            self.kept.append(t)
        elif self.life == "transient":
            t = torch.empty(self.shape_, dtype=self.dtype, device=self.dev(x))
            del t
        return x


class Params(nn.Module):
    """params.ts: parameters known only by count. Their gradient is made to exist (p.sum() * 0 is
    added to the loss) so that grads and optimizer state are real, as memplan counts them."""
    source = True

    def __init__(self, shape, a):
        super().__init__()
        self.p = nn.Parameter(torch.zeros(a.num("count")))
        self.out_shape = shape

    def forward(self, x, batch):
        return x


class Loss(nn.Module):
    def __init__(self, shape, a):
        super().__init__()
        self.kind = a.get("kind", "mean")
        self.key = a.path + ".target"
        if self.kind == "mse":
            self.inputs = [(self.key, list(shape), "float", None)]
        elif self.kind == "cross_entropy":
            self.inputs = [(self.key, list(shape[:-1]), "int", shape[-1])]
        self.out_shape = []

    def forward(self, x, batch):
        if self.kind == "mse":
            return F.mse_loss(x, batch[self.key])
        if self.kind == "cross_entropy":
            return F.cross_entropy(x.reshape(-1, x.shape[-1]), batch[self.key].reshape(-1))
        return x.mean()


def make_block(type_, shape, a, precision, kept):
    if type_ == "linear":
        return Linear(shape, a)
    if type_ == "mlp":
        return MLP(shape, a)
    if type_ == "activation":
        return Activation(shape, a)
    if type_ == "layer_norm":
        return LayerNorm(shape, a)
    if type_ == "batch_norm":
        return BatchNorm(shape, a)
    if type_ == "dropout":
        return Dropout(shape, a)
    if type_ == "attention":
        return Attention(shape, a)
    if type_ == "transformer_encoder":
        return TransformerEncoder(shape, a)
    if type_ == "transformer_decoder":
        return TransformerDecoder(shape, a)
    if type_ in ("conv1d", "conv2d"):
        return Conv(shape, a, 1 if type_ == "conv1d" else 2)
    if type_ == "pool":
        return Pool(shape, a)
    if type_ == "mean_pool":
        return MeanPool(shape, a)
    if type_ == "reshape":
        return Reshape(shape, a)
    if type_ == "message_passing":
        return MessagePassing(shape, a)
    if type_ == "embedding":
        return Embedding(shape, a)
    if type_ == "tensor":
        return Tensor(shape, a, precision, kept)
    if type_ == "params":
        return Params(shape, a)
    if type_ == "loss":
        return Loss(shape, a)
    raise ValueError("unknown block type %s" % type_)


BLOCK_TYPES = ["embedding", "linear", "mlp", "activation", "layer_norm", "batch_norm", "dropout", "attention",
               "transformer_encoder", "transformer_decoder", "conv1d", "conv2d", "pool", "mean_pool", "reshape",
               "message_passing", "tensor", "params", "loss"]
SOURCE_TYPES = {"embedding", "tensor", "params"}


# ---------------------------------------------------------------------------------------------------
# The assembled model

class Step:
    """One descriptor block: its layers (repeat), input handling, frozen / checkpoint / chunk settings."""

    def __init__(self, index, name, spec, layers, declared, frm, frozen, ckpt, chunk, source):
        self.index, self.name, self.spec, self.layers = index, name, spec, layers
        self.declared, self.frm, self.frozen, self.ckpt, self.chunk, self.source = declared, frm, frozen, ckpt, chunk, source


class DescriptorModel(nn.Module):
    def __init__(self, desc, run):
        super().__init__()
        self.run = run
        self.kept = []  # explicit `saved` / `loss` tensors, freed after backward
        self.dims = resolve_dims(desc.get("dims"), run["dims"], run["batch_size"])
        ck = run["checkpointing"]
        ck_all = ck is True
        ck_names = set(ck) if isinstance(ck, list) else set()
        self.steps = []
        self.inputs = []  # (key, shape, kind, max_value)
        self.mods = nn.ModuleList()
        out_shapes = {}
        prev = None
        has_loss = False
        for i, spec in enumerate(desc["blocks"]):
            t = spec["type"]
            name = spec.get("name", "%s_%d" % (t, i))
            path = "blocks[%d]" % i
            source = t in SOURCE_TYPES
            repeat = evaluate(spec.get("repeat", 1), self.dims)
            frozen = spec.get("frozen", False)
            nograd = spec.get("no_grad", False)
            ckpt = (not nograd) and spec.get("checkpoint", ck_all or name in ck_names) and not source
            declared = None if source or "input" not in spec else [evaluate(e, self.dims) for e in spec["input"]]
            frm = spec.get("from")
            x_shape = prev
            if frm and frm != "data":
                x_shape = out_shapes[frm]
            fresh = False
            if declared is not None:
                if frm == "data" or x_shape is None:
                    fresh = True
                    self.inputs.append((path + ".input", declared, "float", None))
                elif math.prod(x_shape) != math.prod(declared):
                    raise ValueError("%s: input %s does not match %s" % (path, declared, x_shape))
                x_shape = declared
            chunk = spec.get("chunk")
            layers = nn.ModuleList()
            shape = x_shape
            scope = self.dims
            if chunk:
                size = min(evaluate(chunk["size"], self.dims), self.dims[chunk["dim"]])
                scope = dict(self.dims)
                scope[chunk["dim"]] = size
                shape = [evaluate(e, scope) for e in spec["input"]]
            for r in range(repeat):
                m = make_block(t, shape, Args(spec, scope, run["attention"], path + ("[%d]" % r if repeat > 1 else "")), run["precision"], self.kept)
                self.inputs.extend(getattr(m, "inputs", []))
                layers.append(m)
                shape = m.out_shape
            if chunk:
                # chunks concatenate along the chunked axis: the full output has the unchunked size there
                full = [evaluate(e, self.dims) for e in spec["input"]]
                axis = next((j for j, (a_, b_) in enumerate(zip(full, [evaluate(e, scope) for e in spec["input"]])) if a_ != b_), 0)
                shape = list(shape)
                shape[axis] = full[axis]
            if frozen:
                for p in layers.parameters():
                    p.requires_grad_(False)
            self.mods.append(layers)
            st = Step(i, name, spec, layers, declared, frm, frozen, ckpt, chunk, source)
            st.fresh = fresh
            st.nograd = nograd
            self.steps.append(st)
            if t == "loss":
                has_loss = True
            if not source or shape is not None:
                prev = shape
            if prev is not None:
                out_shapes[name] = prev
        self.auto_mean = not has_loss
        self.has_params_block = any(s.spec["type"] == "params" for s in self.steps)

    def make_batch(self, gen=None):
        b = {}
        for key, shape, kind, mx in self.inputs:
            if kind == "int":
                b[key] = torch.randint(0, mx, shape, dtype=torch.int64, generator=gen)
            else:
                b[key] = torch.randn(shape, generator=gen)
        return b

    def _run_layers(self, st, holder, batch, seg):
        # the input arrives in a list so that no caller frame keeps it alive after its last use
        x = holder.pop()
        for m in st.layers:
            if seg:
                # checkpoint with preserve_rng_state (default): keeps the input and a CPU RNG state
                x = tuc.checkpoint(lambda t, m=m: m(t, batch), x, use_reentrant=os.environ.get("MEMPLAN_REENTRANT") == "1")
            else:
                x = m(x, batch)
        return x

    def _run_chunk(self, st, holder, batch, seg):
        if not seg:
            return self._run_layers(st, holder, batch, False)
        x = holder.pop()

        def fn(t):
            for m in st.layers:
                t = m(t, batch)
            return t
        return tuc.checkpoint(fn, x, use_reentrant=os.environ.get("MEMPLAN_REENTRANT") == "1")

    def forward(self, batch):
        # only outputs a later block reads via `from:` are kept (a dict of all outputs would keep every
        # intermediate alive to the end of forward)
        wanted = {st.frm for st in self.steps if st.frm and st.frm != "data"}
        outputs = {}
        prev = None
        loss = None
        for st in self.steps:
            x = prev
            if st.frm and st.frm != "data":
                x = outputs[st.frm]
            if st.declared is not None:
                x = batch["blocks[%d].input" % st.index] if st.fresh else x.reshape(st.declared)
            # frozen: requires_grad_(False) on the block's parameters (set above); no_grad: torch.no_grad().
            with torch.no_grad() if st.nograd else _null():
                if st.chunk:
                    c = st.chunk
                    full = self.dims[c["dim"]]
                    size = min(evaluate(c["size"], self.dims), full)
                    per_chunk = c.get("checkpoint", st.ckpt) and not st.nograd
                    # the chunked axis: where the declared shape with dim=size differs from the full one
                    sc = dict(self.dims)
                    sc[c["dim"]] = size
                    small = [evaluate(e, sc) for e in st.spec["input"]]
                    axis = next((j for j, (a_, b_) in enumerate(zip(st.declared, small)) if a_ != b_), 0)
                    # chunk k covers dim values [k*size, ...): its extent on the axis is the declared shape's there
                    outs, start = [], 0
                    for k in range(0, full, size):
                        sc[c["dim"]] = min(size, full - k)
                        ext = evaluate(st.spec["input"][axis], sc)
                        # checkpoint(fn, chunk): one segment over all of the block's layers per chunk
                        outs.append(self._run_chunk(st, [x.narrow(axis, start, ext)], batch, per_chunk))
                        start += ext
                    out = outs[0] if len(outs) == 1 else torch.cat(outs, axis)
                    del outs
                else:
                    holder = [x]
                    x = prev = None
                    out = self._run_layers(st, holder, batch, st.ckpt)
            if st.spec["type"] == "loss":
                loss = out
            elif not st.source:
                prev = out
            elif out is not None:
                prev = out
            if prev is not None and st.name in wanted:
                outputs[st.name] = prev
            del x, out
        if loss is None and self.auto_mean and prev is not None and prev.requires_grad:
            loss = prev.mean()
        del outputs, prev
        if self.has_params_block:
            for st in self.steps:
                if st.spec["type"] == "params" and not st.frozen:
                    for m in st.layers:
                        loss = loss + m.p.sum() * 0.0
        return loss


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False
