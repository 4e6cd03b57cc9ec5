"""Full-size random copies of tarjama run's default models (opus-mt-tc-big-ar-en: transformer-big,
float16; distilbart-cnn-12-6: 12+6 layers, float32), from the committed tiny fixtures' configs and
tokenizers, with made-up vocabulary entries up to the real sizes. Works with transformers 4.x/5.x.
usage: make_full.py FIXTURES OUT [--small]   (--small: tiny dims, to test the script)"""
import json, shutil, sys
from pathlib import Path
import torch
from safetensors.torch import save_file
from transformers import BartConfig, BartForConditionalGeneration, MarianConfig, MarianMTModel

fx, out, small = Path(sys.argv[1]), Path(sys.argv[2]), "--small" in sys.argv
torch.manual_seed(0)

def save(model, d, dtype):
    sd = {k: v.to(dtype).contiguous().clone() for k, v in model.state_dict().items()
          if "embed_positions" not in k or isinstance(model, BartForConditionalGeneration)}
    save_file(sd, str(d / "model.safetensors"), metadata={"format": "pt"})

def grow(vocab, last, prefix, n):
    """vocab without `last`, made-up pieces appended up to n-1 entries, then `last` as id n-1"""
    v = {p: i for p, i in sorted(vocab.items(), key=lambda x: x[1]) if p != last}
    assert list(v.values()) == list(range(len(v)))
    i = 0
    while len(v) < n - 1:
        p = f"{prefix}syn{i}"; i += 1
        if p not in v: v[p] = len(v)
    v[last] = n - 1
    return v

# tc-big
d = out / "tc-big-full"; d.mkdir(parents=True, exist_ok=True)
src = fx / "tc-big-tiny"
for f in ["source.spm", "target.spm", "tokenizer_config.json"]: shutil.copy(src / f, d / f)
V = 700 if small else 60000
vocab = grow(json.loads((src / "vocab.json").read_text()), "<pad>", "\u2581", V)
(d / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False, indent=2))
pad = V - 1
cfg = json.loads((src / "config.json").read_text())
dims = dict(d_model=64, heads=4, ffn=128, layers=2) if small else dict(d_model=1024, heads=16, ffn=4096, layers=6)
cfg.update(d_model=dims["d_model"], encoder_attention_heads=dims["heads"], decoder_attention_heads=dims["heads"],
           encoder_ffn_dim=dims["ffn"], decoder_ffn_dim=dims["ffn"], encoder_layers=dims["layers"],
           decoder_layers=dims["layers"], num_hidden_layers=dims["layers"], vocab_size=V, decoder_vocab_size=V,
           pad_token_id=pad, decoder_start_token_id=pad, bad_words_ids=[[pad]])
(d / "config.json").write_text(json.dumps(cfg, indent=2))
gen = json.loads((src / "generation_config.json").read_text())
gen.update(pad_token_id=pad, decoder_start_token_id=pad, bad_words_ids=[[pad]])
(d / "generation_config.json").write_text(json.dumps(gen, indent=2))
c = MarianConfig(**{k: v for k, v in cfg.items() if not k.startswith("_")})
save(MarianMTModel(c).eval(), d, torch.float16)
print("tc-big-full", sum(p.numel() for p in MarianMTModel(c).parameters()) / 1e6 if small else "", flush=True)

# distilbart
d = out / "distilbart-full"; d.mkdir(parents=True, exist_ok=True)
src = fx / "distilbart-tiny"
for f in ["merges.txt", "tokenizer_config.json", "special_tokens_map.json"]: shutil.copy(src / f, d / f)
V = 600 if small else 50265
vocab = grow(json.loads((src / "vocab.json").read_text()), "<mask>", "\u0120", V)
(d / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
cfg = json.loads((src / "config.json").read_text())
dims = dict(d_model=64, heads=4, ffn=128, enc=2, dec=2) if small else dict(d_model=1024, heads=16, ffn=4096, enc=12, dec=6)
cfg.update(d_model=dims["d_model"], encoder_attention_heads=dims["heads"], decoder_attention_heads=dims["heads"],
           encoder_ffn_dim=dims["ffn"], decoder_ffn_dim=dims["ffn"], encoder_layers=dims["enc"],
           decoder_layers=dims["dec"], num_hidden_layers=dims["enc"], vocab_size=V - 1)
(d / "config.json").write_text(json.dumps(cfg, indent=2))
c = BartConfig(**{k: v for k, v in cfg.items() if not k.startswith("_")})
save(BartForConditionalGeneration(c).eval(), d, torch.float32)
print("made", out, flush=True)
