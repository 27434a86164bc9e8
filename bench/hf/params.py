"""Parameter (and buffer) counts of the Hugging Face models of test/fixtures/hf-*/config.json, built by
transformers from the config on the meta device (no weights, no download), and the Accelerate
estimate-memory figures for them. Writes bench/hf/params.json, which test/core/hf-import.test.ts reads.
usage: /work/venv/bin/python bench/hf/params.py"""
import glob, json, os, sys, warnings
import torch
import transformers
from transformers import AutoConfig
import accelerate
warnings.filterwarnings("ignore")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def model_class(cfg):
    arch = (cfg.architectures or [None])[0]
    return getattr(transformers, arch)


def accelerate_estimate(path):
    """`accelerate estimate-memory DIR --library_name transformers` run offline: the estimator's own
    gather_data (accelerate/commands/estimate.py) with its Hub lookup (verify_on_hub) answered from the
    local config.json. Rows per dtype: largest layer, total size, "Training using Adam" (bytes)."""
    import types
    import accelerate.commands.estimate as E
    with open(os.path.join(path, "config.json")) as f:
        local = json.load(f)
    E.verify_on_hub = lambda repo, token=None: types.SimpleNamespace(config=local, library_name="transformers")
    args = types.SimpleNamespace(model_name=path, library_name="transformers", dtypes=["float32", "float16", "int8", "int4"], trust_remote_code=False)
    import contextlib, io
    with contextlib.redirect_stdout(io.StringIO()):
        rows = E.gather_data(args)
    out = {}
    for dtype, largest, total, training in rows:
        t = max(training.values())
        out[dtype] = {"largest_layer": int(largest), "total_size": int(total), "training_adam": int(t) if t != -1 else None}
    return out


def main():
    out = {"transformers": transformers.__version__, "accelerate": accelerate.__version__, "torch": torch.__version__, "models": {}}
    for d in sorted(glob.glob(os.path.join(ROOT, "test/fixtures/hf-*"))):
        cfg = AutoConfig.from_pretrained(d)
        with torch.device("meta"):
            m = model_class(cfg)(cfg)
        params = {id(p): p.numel() for p in m.parameters()}  # tied weights counted once
        bufs = {n: b.numel() * b.element_size() for n, b in m.named_buffers()}
        out["models"][os.path.basename(d)] = {
            "architecture": cfg.architectures[0], "params": sum(params.values()),
            "buffer_bytes": sum(bufs.values()), "accelerate": accelerate_estimate(d)}
        print(os.path.basename(d), sum(params.values()), file=sys.stderr)
    with open(os.path.join(ROOT, "bench/hf/params.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
