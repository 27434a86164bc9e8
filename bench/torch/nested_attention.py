# nn.TransformerEncoder with src_key_padding_mask in eval under no_grad (bench program p26): what one layer of
# the nested-tensor fast path allocates, op by op (memhook bytes; docs/blocks/transformer_encoder.md, Inference).
# usage: /work/venv/bin/python bench/torch/nested_attention.py   (or /usr/bin/python3 for torch 1.13)
import gc, importlib.util, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H
import torch
spec = importlib.util.spec_from_file_location("p26", os.path.join(os.path.dirname(os.path.abspath(__file__)), "programs", "p26_encoder_inference_padmask.py"))
p = importlib.util.module_from_spec(spec); spec.loader.exec_module(p)
torch.manual_seed(0)
m = p.build().eval()
ids, lengths = p.make_batch(torch.Generator().manual_seed(1))
def meas(name, fn):
    fn(); gc.collect()
    c0 = H.cur(); H.reset_peak()
    r = fn()
    gc.collect()
    print("%-44s peak %+11d  kept %+11d" % (name, H.peak() - c0, H.cur() - c0))
    return r
with torch.no_grad():
    pad = torch.arange(256)[None, :] >= lengths[:, None]
    x = m.embed(ids)
    nt = torch._nested_tensor_from_mask(x, pad.logical_not(), mask_check=False)
    a = m.encoder.layers[0].self_attn
    qkv = meas("qkv = nested @ in_proj_weight^T", lambda: torch.nn.functional.linear(nt, a.in_proj_weight))
    q_k_v = meas("_transform_bias_rescale_qkv(nested qkv)", lambda: torch._transform_bias_rescale_qkv(qkv, a.in_proj_bias, 8))
    q, k, v = q_k_v
    print("   q", list(q.shape))
    qkt = meas("bmm q k^T", lambda: torch.matmul(q, k.transpose(-1, -2)))
    sm = meas("_nested_tensor_softmax_with_shape", lambda: torch._nested_tensor_softmax_with_shape(qkt, nt))
    meas("to_padded_tensor(nested [1152, 256])", lambda: nt.to_padded_tensor(0.0, x.size()))
    meas("whole layer", lambda: m.encoder.layers[0](nt))
    meas("self_attn only (fast path inside the layer)", lambda: torch._native_multi_head_attention(nt, nt, nt, 256, 8, a.in_proj_weight, a.in_proj_bias, a.out_proj.weight, a.out_proj.bias, None, False))
print(torch.__version__)
P, S = 8 * 256 * 256 * 4, 8 * 8 * 256 * 256 * 4
print("accounted: q/k/v 3P %d + scores S %d + softmax output S %d + the 224-token sequence's slice copy and "
      "softmax 2 x 8*224*224*4 %d = %d" % (3 * P, S, S, 2 * 8 * 224 * 224 * 4, 3 * P + 2 * S + 2 * 8 * 224 * 224 * 4))
