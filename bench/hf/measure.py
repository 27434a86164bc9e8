"""Real Hugging Face models, measured: for each tiny config of test/fixtures/hf-tiny-*/ this builds the model
with transformers (`<Architecture>.from_config`, fp32, the default attention implementation: sdpa), and
measures on the CPU with bench/torch's allocation hook (LD_PRELOAD, exact tensor storage bytes):
  train     two AdamW (foreach) steps, loss = model(**batch).loss: peak of step 1 and step 2
  lora      the same with PEFT LoRA adapters (r 8, alpha 16) on the attention projections
  inference model.eval() under torch.no_grad(): peak of the prefill (use_cache=True, the DynamicCache kept),
            then of one decode step with that cache (decoders); one forward (encoders; T5: encoder and a
            teacher-forced decoder pass over TGT_SEQ decoder ids, with the config's use_cache)
T5 (encoder-decoder) gets input_ids [BATCH, SEQ] and labels [BATCH, TGT_SEQ] (the decoder ids are the labels
shifted right, as T5ForConditionalGeneration._shift_right makes them).
All bytes relative to the count before the model is built (weights, gradients, optimizer state, batch,
cache included). Writes JSON (stdout or --out) that scripts/accuracy-hf.ts reads with memplan's estimate.
usage: /work/venv/bin/python bench/hf/measure.py [--out FILE] [NAME ...]"""
import argparse, gc, glob, json, os, sys, time, warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bench/torch"))
import harness as H  # noqa: E402  (re-execs with LD_PRELOAD=libmemhook.so, 1 thread)
import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import AutoConfig  # noqa: E402

warnings.filterwarnings("ignore")
transformers.logging.set_verbosity_error()

BATCH, SEQ = 2, 64
TGT_SEQ = 32  # encoder-decoders: the target (decoder) length
# LoRA targets per family: PEFT's usual choices (module-name suffixes).
LORA_TARGETS = {"llama": ["q_proj", "k_proj", "v_proj", "o_proj"], "mistral": ["q_proj", "k_proj", "v_proj", "o_proj"],
                "qwen2": ["q_proj", "k_proj", "v_proj", "o_proj"], "gpt2": ["c_attn"], "bert": ["query", "value"],
                "roberta": ["query", "value"], "xlm-roberta": ["query", "value"], "esm": ["query", "value"], "vit": ["q_proj", "v_proj"],
                "t5": ["q", "v"]}
LORA = {"r": 8, "alpha": 16, "dropout": 0.0}
DECODERS = {"llama", "mistral", "qwen2", "gpt2"}


def build(cfg):
    return getattr(transformers, cfg.architectures[0])(cfg)


def make_batch(cfg, gen):
    if cfg.model_type == "vit":
        return {"pixel_values": torch.randn(BATCH, cfg.num_channels, cfg.image_size, cfg.image_size, generator=gen),
                "labels": torch.randint(0, cfg.num_labels, (BATCH,), generator=gen)}
    ids = torch.randint(0, cfg.vocab_size, (BATCH, SEQ), generator=gen)
    if cfg.model_type == "t5":
        return {"input_ids": ids, "labels": torch.randint(0, cfg.vocab_size, (BATCH, TGT_SEQ), generator=gen)}
    return {"input_ids": ids, "labels": ids.clone()}


def train_case(cfg, lora, steps=2):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    gc.collect()
    c0 = H.cur()
    model = build(cfg)
    if lora:
        from peft import LoraConfig, get_peft_model
        lc = LoraConfig(r=LORA["r"], lora_alpha=LORA["alpha"], lora_dropout=LORA["dropout"], target_modules=LORA_TARGETS[cfg.model_type],
                        fan_in_fan_out=cfg.model_type == "gpt2")
        model = get_peft_model(model, lc)
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=1e-4, foreach=True)
    out = {"params": sum(p.numel() for p in {id(p): p for p in model.parameters()}.values()),
           "trainable": sum(p.numel() for p in trainable), "weights_and_buffers": H.cur() - c0, "steps": []}
    for step in range(1, steps + 1):
        opt.zero_grad(set_to_none=True)
        gc.collect()
        batch = make_batch(cfg, gen)
        H.reset_peak()
        loss = model(**batch).loss
        gc.collect()
        fwd = H.peak() - c0
        H.reset_peak()
        loss.backward()
        del loss
        gc.collect()
        bwd = H.peak() - c0
        H.reset_peak()
        opt.step()
        del batch
        gc.collect()
        o = H.peak() - c0
        out["steps"].append({"step": step, "fwd_peak": fwd, "bwd_peak": bwd, "opt_peak": o, "peak": max(fwd, bwd, o)})
    del model, opt, trainable
    gc.collect()
    out["leaked"] = H.cur() - c0
    return out


def inference_case(cfg):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    gc.collect()
    c0 = H.cur()
    model = build(cfg)
    model.eval()
    out = {"params": sum(p.numel() for p in {id(p): p for p in model.parameters()}.values()), "weights_and_buffers": H.cur() - c0}
    batch = make_batch(cfg, gen)
    labels = batch.pop("labels")
    if cfg.model_type == "t5":
        batch["decoder_input_ids"] = model._shift_right(labels)
    del labels
    with torch.no_grad():
        H.reset_peak()
        if cfg.model_type in DECODERS:
            res = model(**batch, use_cache=True)
            cache = res.cache if hasattr(res, "cache") else res.past_key_values
            del res
            gc.collect()
            out["prefill_peak"] = H.peak() - c0
            nxt = torch.randint(0, cfg.vocab_size, (BATCH, 1), generator=gen)
            gc.collect()
            H.reset_peak()
            res = model(input_ids=nxt, cache=cache, use_cache=True)
            del res
            gc.collect()
            out["decode_peak"] = H.peak() - c0
            del cache, nxt
        else:
            res = model(**batch)
            del res
            gc.collect()
            out["prefill_peak"] = H.peak() - c0
    del model, batch
    gc.collect()
    out["leaked"] = H.cur() - c0
    return out


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("names", nargs="*")
    ap.add_argument("--out")
    a = ap.parse_args(argv)
    dirs = sorted(glob.glob(os.path.join(ROOT, "test/fixtures/hf-tiny-*")))
    if a.names:
        dirs = [d for d in dirs if os.path.basename(d) in a.names or os.path.basename(d).replace("hf-", "") in a.names]
    res = {"torch": torch.__version__, "transformers": transformers.__version__, "device": "cpu", "threads": torch.get_num_threads(),
           "batch": BATCH, "seq": SEQ, "tgt_seq": TGT_SEQ, "lora": LORA, "cases": []}
    try:
        import peft
        res["peft"] = peft.__version__
    except ImportError:
        pass
    for d in dirs:
        cfg = AutoConfig.from_pretrained(d)
        name = os.path.basename(d)
        t0 = time.time()
        case = {"config": os.path.relpath(os.path.join(d, "config.json"), ROOT), "model_type": cfg.model_type,
                "attn_implementation": None, "lora_targets": LORA_TARGETS[cfg.model_type]}
        try:
            train_case(cfg, False, steps=1)  # warm-up: first-call kernel caches fall before the baseline
            gc.collect()
            case["train"] = train_case(cfg, False)
            train_case(cfg, True, steps=1)
            gc.collect()
            case["lora"] = train_case(cfg, True)
            inference_case(cfg)
            gc.collect()
            case["inference"] = inference_case(cfg)
            case["attn_implementation"] = build(cfg).config._attn_implementation
        except Exception as e:  # reported, not fatal
            case["error"] = "%s: %s" % (type(e).__name__, e)
        case["seconds"] = round(time.time() - t0, 1)
        res["cases"].append(case)
        print("%-22s %s" % (name, case.get("error") or "train %d/%d lora %d/%d infer %s" % (
            case["train"]["steps"][0]["peak"], case["train"]["steps"][1]["peak"], case["lora"]["steps"][0]["peak"],
            case["lora"]["steps"][1]["peak"], case["inference"].get("prefill_peak"))), file=sys.stderr)
    text = json.dumps(res, indent=1) + "\n"
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    else:
        print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
