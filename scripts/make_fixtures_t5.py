#!/usr/bin/env python3
"""Build tarjama's T5-family test fixtures with Hugging Face transformers as the reference.

Run from the crate root (needs ../shared/data beside the crate for the golden inputs):

    /path/to/venv/bin/python scripts/make_fixtures_t5.py

Writes two tiny random models, each a directory in the Hub's layout:

  tests/fixtures/t5-tiny/    T5ForConditionalGeneration like t5-small: ReLU feed-forward, tied
                             embeddings (output scaled by d_model**-0.5), 100 extra ids
  tests/fixtures/mt5-tiny/   MT5ForConditionalGeneration like google/mt5-*: gated-GELU feed-forward,
                             untied lm_head, inner attention size != d_model, 3+3 layers, no extra
                             ids (extra_ids 0)

Each holds spiece.model (SentencePiece unigram trained on scripts/fixture_text, team-written),
tokenizer.json (the fast tokenizer transformers converts from it), tokenizer_config.json,
config.json (with task_specific_params.summarization like t5-small's, lengths scaled down),
generation_config.json, model.safetensors, golden.json (generate() ids) and
tokenizer_golden.json (slow T5Tokenizer and fast tokenizer encode/decode results).

Golden inputs are paragraphs of consecutive lines of ../shared/data/tatoeba-ara-eng/sample500.en
(and, for mT5, sample500.ar), read at build time and identified by sha256 only. The Tatoeba text is
never used for training. Everything is deterministic (fixed seeds, single-threaded).
Generation helpers (run_generate with its float64 margin probes, dump_compact, sha256) come from
make_fixtures.py.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import sentencepiece as spm
import torch
import transformers
from transformers import (
    GenerationConfig,
    MT5Config,
    MT5ForConditionalGeneration,
    T5Config,
    T5ForConditionalGeneration,
    T5Tokenizer,
    T5TokenizerFast,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_fixtures import (  # noqa: E402  (reused helpers, see make_fixtures.py)
    COMMON_KWARGS,
    ROOT,
    SHARED,
    TEXT_DIR,
    batch_results,
    dump_compact,
    golden_outputs,
    load_pair,
    read_lines,
    run_generate,
    sha256,
    train_spm,
)

TATOEBA_EN = SHARED / "tatoeba-ara-eng" / "sample500.en"
TATOEBA_AR = SHARED / "tatoeba-ara-eng" / "sample500.ar"
FIXTURES = ROOT / "tests" / "fixtures"

PREFIX = "summarize: "
N_EN_PARAGRAPHS = 24
N_AR_PARAGRAPHS = 8  # mT5 only, from sample500.ar lines after AR_START (no prefix)
AR_START = 300
N_BATCH = 8

# t5-small's task_specific_params.summarization with the lengths scaled down for the tiny model
SUMMARIZATION = {
    "early_stopping": True,
    "length_penalty": 2.0,
    "max_length": 48,
    "min_length": 10,
    "no_repeat_ngram_size": 3,
    "num_beams": 4,
    "prefix": PREFIX,
}
SETTINGS = {
    "greedy": {"num_beams": 1, "max_length": 48},
    # the summarization parameters (prefix aside) as generate() kwargs
    "beam4_summarize": {k: v for k, v in SUMMARIZATION.items() if k != "prefix"},
    # transformers' defaults: no length penalty change, early_stopping False, max_length 20 new tokens
    "beam4": {"num_beams": 4},
}

MODELS = {
    "t5-tiny": dict(
        kind="t5",
        spm_vocab=300,
        spm_text=("en",),
        extra_ids=100,
        config=dict(d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2, num_heads=4,
                    feed_forward_proj="relu", tie_word_embeddings=True),
        seed=3,
    ),
    "mt5-tiny": dict(
        kind="mt5",
        spm_vocab=500,
        spm_text=("en", "ar"),
        extra_ids=0,
        config=dict(d_model=32, d_kv=12, d_ff=48, num_layers=3, num_decoder_layers=3, num_heads=4,
                    feed_forward_proj="gated-gelu", tie_word_embeddings=False),
        seed=5,
    ),
}

# Random-weight recipe (../shared/PARITY.md): every parameter random (layer-norm gains and the
# relative attention biases included), cross-attention amplified, and a length channel that lets
# the EOS logit rise with the decoding step, so outputs depend on the input and stop at varied
# lengths. T5 has no absolute positions; the length signal comes from attention itself: one
# decoder self-attention head (layer 0, head 0) attends almost uniformly over the decoded prefix
# and reads only model dimension LEN_DIM, where only the decoder start token (<pad>) carries a
# large value. Its output, written back into LEN_DIM, is ~START_VALUE/(t+1) at step t. The EOS
# output row reads LEN_DIM negatively and a constant dimension (BIAS_DIM, where every token has
# BIAS_VALUE) positively, so the EOS logit climbs as 1/(t+1) decays.
CROSS_Q_GAIN = 3.0
CROSS_O_GAIN = 4.0
LEN_DIM = 5
BIAS_DIM = 11
QUIET = 0.02  # what other sublayers write into LEN_DIM / BIAS_DIM, and other tokens' LEN_DIM
START_VALUE = 4.0  # decoder start (<pad>) embedding in LEN_DIM
BIAS_VALUE = 1.0  # every token's embedding in BIAS_DIM
HEAD_Q_SCALE = 0.05  # layer-0 head-0 queries and relative biases shrunk: near-uniform attention
HEAD_V = 3.0  # head 0's first value dimension reads LEN_DIM with this weight
HEAD_O = -3.0  # and writes it back into LEN_DIM negated (so the <pad> output row, which is the
# start embedding in tied models, scores low)
LEN_GAIN = 2.0  # decoder layer-norm gain in LEN_DIM and BIAS_DIM (the channel survives normalization)
EOS_LEN_WEIGHT = {"t5-tiny": 6.0, "mt5-tiny": 6.0}  # output row of EOS in LEN_DIM
EOS_BIAS_WEIGHT = {"t5-tiny": 32.0, "mt5-tiny": 32.0}  # output row of EOS in BIAS_DIM
FINAL_GAIN = 2.0  # decoder final layer norm scale (sharper logits)


# ----------------------------------------------------------------------------------------------
# text


def require_shared() -> None:
    missing = [p for p in (TATOEBA_EN, TATOEBA_AR) if not p.is_file()]
    if missing:
        sys.exit("make_fixtures_t5: needs ../shared/data beside the crate (missing: "
                 + ", ".join(str(p) for p in missing) + ")")


def paragraph_sizes(n: int) -> list[int]:
    """5..12 sentences, in a fixed shuffled order."""
    return [5 + (i * 3) % 8 for i in range(n)]


def paragraphs(path: Path, start: int, n: int) -> list[str]:
    lines = [l.strip() for l in path.read_text(encoding="utf-8").splitlines()]
    out, i = [], start
    for size in paragraph_sizes(n):
        out.append(" ".join(lines[i:i + size]))
        i += size
    return out


def golden_inputs(name: str) -> list[tuple[str, int, str]]:
    """(set, index, text) of the golden cases: English paragraphs with the summarization prefix;
    for mT5 also Arabic paragraphs without a prefix."""
    cases = [("en", i, PREFIX + p) for i, p in enumerate(paragraphs(TATOEBA_EN, 0, N_EN_PARAGRAPHS))]
    if name == "mt5-tiny":
        cases += [("ar", i, p) for i, p in enumerate(paragraphs(TATOEBA_AR, AR_START, N_AR_PARAGRAPHS))]
    return cases


# ----------------------------------------------------------------------------------------------
# SentencePiece in T5's layout: <pad>=0, </s>=1, <unk>=2, no <s>


def train_spiece(sentences: list[str], vocab_size: int) -> bytes:
    return train_spm(sentences, vocab_size,
                     pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
                     pad_piece="<pad>", eos_piece="</s>", unk_piece="<unk>")


def spiece_text(langs: tuple[str, ...]) -> list[str]:
    out = []
    for lang in langs:
        out += read_lines(TEXT_DIR / f"{lang}.txt")
    return out


# ----------------------------------------------------------------------------------------------
# model


def make_model(name: str, spec: dict, vocab_size: int):
    common = dict(
        vocab_size=vocab_size,
        relative_attention_num_buckets=32,
        relative_attention_max_distance=128,
        dropout_rate=0.1,
        layer_norm_epsilon=1e-6,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
        task_specific_params={"summarization": SUMMARIZATION},
        **spec["config"],
    )
    if spec["kind"] == "t5":
        cfg = T5Config(n_positions=512, architectures=["T5ForConditionalGeneration"], **common)
        torch.manual_seed(spec["seed"])
        model = T5ForConditionalGeneration(cfg)
    else:
        cfg = MT5Config(architectures=["MT5ForConditionalGeneration"], **common)
        torch.manual_seed(spec["seed"])
        model = MT5ForConditionalGeneration(cfg)
    return model.eval()


@torch.no_grad()
def randomize(model, name: str, seed: int) -> None:
    cfg = model.config
    d, eos, pad = cfg.d_model, cfg.eos_token_id, cfg.pad_token_id
    g = torch.Generator().manual_seed(seed)

    def randn(*shape):
        return torch.randn(shape, generator=g, dtype=torch.float64)

    for pname, p in model.named_parameters():  # tied parameters are listed once
        if pname == "shared.weight":
            w = randn(*p.shape)
        elif pname == "lm_head.weight":
            w = randn(*p.shape) / math.sqrt(p.shape[1])
        elif pname.endswith("layer_norm.weight"):
            w = 1.0 + 0.25 * randn(*p.shape)
        elif pname.endswith("relative_attention_bias.weight"):
            w = randn(*p.shape)
        elif p.ndim == 2:
            w = randn(*p.shape) / math.sqrt(p.shape[1])
        else:
            raise RuntimeError(f"unexpected parameter {pname} {tuple(p.shape)}")
        p.copy_(w.to(p.dtype))

    dec = model.decoder.block
    for block in dec:
        x = block.layer[1].EncDecAttention
        x.q.weight.mul_(CROSS_Q_GAIN)
        x.o.weight.mul_(CROSS_O_GAIN)

    # length channel
    emb = model.shared.weight
    emb[:, LEN_DIM] *= QUIET
    emb[pad, LEN_DIM] = START_VALUE
    emb[:, BIAS_DIM] = BIAS_VALUE + 0.05 * randn(emb.shape[0]).to(emb.dtype)
    for block in dec:
        sa, ca, ff = block.layer[0].SelfAttention, block.layer[1].EncDecAttention, block.layer[2]
        outs = [sa.o, ca.o, ff.DenseReluDense.wo]
        for lin in outs:
            lin.weight[LEN_DIM, :] *= QUIET
            lin.weight[BIAS_DIM, :] *= QUIET
        for sub in block.layer:
            ln = sub.layer_norm
            ln.weight[LEN_DIM] = LEN_GAIN * (1.0 + 0.1 * float(randn()))
            ln.weight[BIAS_DIM] = LEN_GAIN * (1.0 + 0.1 * float(randn()))
    dk = cfg.d_kv
    head = dec[0].layer[0].SelfAttention
    head.q.weight[:dk, :] *= HEAD_Q_SCALE
    head.relative_attention_bias.weight[:, 0] *= HEAD_Q_SCALE
    head.v.weight[0, :] *= QUIET
    head.v.weight[0, LEN_DIM] = HEAD_V
    head.o.weight[:, 0] *= QUIET
    head.o.weight[LEN_DIM, 0] = HEAD_O
    fl = model.decoder.final_layer_norm
    fl.weight.mul_(FINAL_GAIN)
    if cfg.tie_word_embeddings:
        # logits = (h * d**-0.5) @ shared.T, so the EOS row of shared is the output row, scaled
        out_row, scale = emb[eos], math.sqrt(d)
        lm = emb
    else:
        lm = model.lm_head.weight
        out_row, scale = lm[eos], 1.0
        lm[:, LEN_DIM] *= QUIET
        lm[:, BIAS_DIM] *= QUIET
    out_row[LEN_DIM] = EOS_LEN_WEIGHT[name] * scale
    out_row[BIAS_DIM] = EOS_BIAS_WEIGHT[name] * scale
    if cfg.tie_word_embeddings:
        assert model.lm_head.weight.data_ptr() == model.shared.weight.data_ptr(), "lm_head not tied"
    else:
        assert model.lm_head.weight.data_ptr() != model.shared.weight.data_ptr(), "lm_head tied"


def load_t5_pair(model_dir: Path, kind: str):
    return load_pair(model_dir, T5ForConditionalGeneration if kind == "t5" else MT5ForConditionalGeneration)


# ----------------------------------------------------------------------------------------------
# tokenizers


def write_tokenizers(out: Path, spiece: bytes, extra_ids: int):
    """spiece.model + tokenizer_config.json from the slow T5Tokenizer's save_pretrained, and the
    tokenizer.json transformers converts from it (what T5TokenizerFast / AutoTokenizer load)."""
    tmp = out / "_spiece_tmp.model"
    tmp.write_bytes(spiece)
    slow = T5Tokenizer(vocab_file=str(tmp), extra_ids=extra_ids, legacy=True, model_max_length=512)
    slow.save_pretrained(out)
    tmp.unlink()
    for extra in ("special_tokens_map.json", "added_tokens.json"):
        if (out / extra).exists():
            (out / extra).unlink()
    fast = T5TokenizerFast.from_pretrained(out, from_slow=True)
    fast.backend_tokenizer.save(str(out / "tokenizer.json"))
    assert (out / "spiece.model").read_bytes() == spiece


def load_tokenizers(out: Path):
    slow = T5Tokenizer.from_pretrained(out)
    fast = transformers.AutoTokenizer.from_pretrained(out)
    assert isinstance(fast, T5TokenizerFast), type(fast)
    return slow, fast


# Team-written texts for the tokenizer goldens (not from ../shared).
TOKENIZER_TEXTS = [
    "summarize: The health ministry opened a new hospital in the city on Monday.",
    "summarize: Prices rose by 4% in March, the report said.",
    "The weather will be sunny tomorrow.",
    "   many    spaces   between   words   ",
    "first line\nsecond line\twith a tab",
    "",
    " ",
    "a",
    "Hello <extra_id_0>.",
    "The <extra_id_1> sat on the <extra_id_0> mat",
    "<extra_id_0>",
    "text ending with the end token</s>",
    "text ending with the end token </s>",
    "</s> at the start",
    "a <pad> inside and an <unk> too",
    "Unknown letters: 漢字 и кириллица ünïcödé",
    "Fullwidth ＡＢＣ １２３ and ligature ﬁ",
    "Quotes: \"double\", 'single', „low“ and «guillemets».",
    "Numbers 1234567890 and 3.14 and 1,000,000.",
    "Emoji 🎉 party",
    "word_with_underscore and ▁ the spiece space",
    "Don't stop; won't stop: can't stop!",
    "The U.N. (United Nations) met in New York.",
    "It's 10:30 a.m. — time to go...",
    "أعلنت الحكومة اليوم خطة جديدة لدعم المزارعين.",
    "قال الوزير إن الاقتصاد سينمو بنسبة ٣٫٥٪ هذا العام.",
    "هل ستمطر غدًا؟ <extra_id_2> ربما.",
    "summarize: فاز المنتخب الوطني على نظيره بهدفين.",
]


def tokenizer_goldens(slow: T5Tokenizer, fast, golden_cases: list[dict], out: Path) -> dict:
    # the slow tokenizer with legacy=False (the config says true; tested through a copied config)
    nonlegacy = T5Tokenizer.from_pretrained(out, legacy=False)
    encode = []
    for t in TOKENIZER_TEXTS:
        encode.append({"text": t, "tokens": slow.tokenize(t), "slow_ids": slow(t).input_ids,
                       "fast_ids": fast(t).input_ids, "slow_nonlegacy_ids": nonlegacy(t).input_ids})
    vocab = slow.get_vocab()
    eng = slow("The minister said the economy grew.", add_special_tokens=False).input_ids
    eng2 = slow("Rain is expected on Friday.", add_special_tokens=False).input_ids
    pad, eos, unk = slow.pad_token_id, slow.eos_token_id, slow.unk_token_id
    id_seqs = []
    for c in golden_cases[:6]:
        id_seqs.append((f"golden {c['set']} {c['index']} greedy", c["outputs"]["greedy"]["sequences"][0]))
    for c in golden_cases[6:8]:
        id_seqs.append((f"golden {c['set']} {c['index']} beam4_summarize",
                        c["outputs"]["beam4_summarize"]["sequences"][0]))
    id_seqs += [
        ("english with start and eos", [pad] + eng + [eos]),
        ("english without specials", eng),
        ("unk inside", eng[:3] + [unk] + eng[3:] + [eos]),
        ("unk first", [unk] + eng2),
        ("pad inside", eng[:2] + [pad] + eng[2:]),
        ("eos inside then more", eng + [eos] + eng2 + [eos]),
        ("only specials", [pad, unk, eos]),
        ("empty", []),
        ("start only", [pad]),
        ("eos only", [eos]),
        ("bare word boundary first", [vocab["▁"]] + eng2 + [eos]) if "▁" in vocab else None,
        ("bare word boundaries inside", eng2[:2] + [vocab["▁"], vocab["▁"]] + eng2[2:]) if "▁" in vocab else None,
    ]
    if len(slow) > slow.vocab_size:  # extra ids exist
        top = len(slow) - 1
        id_seqs += [
            ("extra ids", [pad, top] + eng[:3] + [top - 1] + eng2[:2] + [eos]),
            ("extra id first", [top] + eng2),
            ("extra ids adjacent", eng[:2] + [top, top - 1, top - 2] + [eos]),
        ]
    decode = []
    for item in id_seqs:
        if item is None:
            continue
        label, ids = item
        decode.append({
            "label": label,
            "ids": ids,
            "tokens": slow.convert_ids_to_tokens(ids),
            "slow_skip_true": slow.decode(ids, skip_special_tokens=True),
            "slow_skip_false": slow.decode(ids, skip_special_tokens=False),
            "slow_nonlegacy_skip_true": nonlegacy.decode(ids, skip_special_tokens=True),
            "fast_skip_true": fast.decode(ids, skip_special_tokens=True),
            "fast_skip_false": fast.decode(ids, skip_special_tokens=False),
        })
    return {
        "note": "T5Tokenizer (slow, spiece.model, legacy) and the fast tokenizer (tokenizer.json via "
                "AutoTokenizer) of this directory; encode = tokenizer(text).input_ids; decode = "
                "tokenizer.decode(ids, skip_special_tokens=...)",
        "meta": {
            "transformers": transformers.__version__,
            "sentencepiece": spm.__version__,
            "tokenizers": __import__("tokenizers").__version__,
            "slow_vocab_size": slow.vocab_size,
            "len_slow": len(slow),
            "clean_up_tokenization_spaces": {"slow": slow.clean_up_tokenization_spaces,
                                             "fast": fast.clean_up_tokenization_spaces},
            "legacy": slow.legacy,
            "fast_differs_on": [e["text"] for e in encode if e["slow_ids"] != e["fast_ids"]],
            "nonlegacy_differs_on": [e["text"] for e in encode if e["slow_ids"] != e["slow_nonlegacy_ids"]],
        },
        "encode": encode,
        "decode": decode,
    }


# ----------------------------------------------------------------------------------------------
# goldens


def relative_buckets() -> dict:
    """transformers' _relative_position_bucket for relative positions -300..300 (32 buckets, max
    distance 128), bidirectional (encoder) and causal (decoder)."""
    from transformers.models.t5.modeling_t5 import T5Attention

    rp = torch.arange(-300, 301, dtype=torch.long)
    return {
        "relative_positions": [-300, 300],
        "bidirectional": T5Attention._relative_position_bucket(rp, True, 32, 128).tolist(),
        "causal": T5Attention._relative_position_bucket(rp, False, 32, 128).tolist(),
    }


@torch.no_grad()
def layer_probe(m64, input_ids: list[int]) -> dict:
    """Intermediate values for layer-by-layer debugging: the encoder output and the first two decoder
    steps' logits (float64 run), rounded."""
    ids = torch.tensor([input_ids])
    enc = m64.encoder(input_ids=ids).last_hidden_state
    dec_ids = torch.tensor([[0, input_ids[0]]])
    logits = m64(input_ids=ids, decoder_input_ids=dec_ids).logits
    return {
        "input_ids": input_ids,
        "decoder_input_ids": dec_ids[0].tolist(),
        "encoder_hidden_first_row": [round(float(x), 6) for x in enc[0, 0]],
        "encoder_hidden_last_row": [round(float(x), 6) for x in enc[0, -1]],
        "encoder_hidden_sum": float(enc.sum()),
        "logits_step0_first8": [round(float(x), 6) for x in logits[0, 0, :8]],
        "logits_step1_first8": [round(float(x), 6) for x in logits[0, 1, :8]],
        "logits_step1_argmax": int(logits[0, 1].argmax()),
    }


def generate_cases(m64, m32, tok, inputs, pad: int) -> list[dict]:
    cases = []
    for set_name, idx, text in inputs:
        input_ids = tok(text).input_ids
        outputs = golden_outputs(m64, m32, input_ids, SETTINGS, pad)
        cases.append({"set": set_name, "index": idx, "sha256": sha256(text), "input_ids": input_ids,
                      "outputs": outputs})
        print(f"  {set_name} {idx:3d} src {len(input_ids):4d} "
              + " ".join(f"{n} {len(o['sequences'][0]):3d}" for n, o in outputs.items()), flush=True)
    return cases


def cut_after_eos(seq: list[int], eos: int) -> list[int]:
    """The sequence up to its first EOS after the start token. Batched beam search pads finished
    rows with EOS, not <pad>, when pad_token_id is 0 (transformers 4.57 `_beam_search`:
    `output_fill_value = pad_token_id or eos_token_id[0]`, and a 0 pad id is falsy)."""
    return seq[:seq.index(eos, 1) + 1] if eos in seq[1:] else seq


def batch_check(m64, m32, tok, inputs, cases, pad: int) -> dict:
    texts = [t for _, _, t in inputs[:N_BATCH]]
    enc = tok(texts, padding=True, return_tensors="pt")
    report = {"note": "the first N_BATCH cases as one padded batch vs one by one; sequences compared "
                      "up to their first EOS (batched beam search pads finished rows with EOS when "
                      "pad_token_id is 0)",
              "indices": list(range(N_BATCH)), "padded_length": int(enc.input_ids.shape[1]),
              "input_lengths": [int(x) for x in enc.attention_mask.sum(1)], "results": {}}
    eos = m64.config.eos_token_id
    report["results"] = batch_results(m64, m32, enc.input_ids.tolist(), enc.attention_mask, cases[:N_BATCH],
                                      SETTINGS, ("greedy", "beam4_summarize"), pad,
                                      same=lambda a, b: cut_after_eos(a, eos) == cut_after_eos(b, eos),
                                      verbose=False)
    return report


def summarize(name: str, cases: list[dict], batch: dict, eos: int) -> None:
    from collections import Counter

    print(f"\n=== {name} summary ===")
    for setting, kw in SETTINGS.items():
        outs = [c["outputs"][setting] for c in cases]
        lens = [len(o["sequences"][0]) for o in outs]
        limit = kw.get("max_length", 21)
        ended = sum(1 for o in outs if o["sequences"][0][-1] == eos and len(o["sequences"][0]) < limit)
        agree = sum(o["f32_agrees"] for o in outs)
        distinct = len({tuple(o["sequences"][0]) for o in outs})
        margins = [o["min_margin"] for o in outs]
        print(f"{setting:16s} n={len(outs)} len min/med/max={min(lens)}/{int(np.median(lens))}/{max(lens)} "
              f"ended_with_eos={ended}/{len(outs)} distinct={distinct} f32_agrees={agree}/{len(outs)} "
              f"min_margin min={min(margins):.3g} median={float(np.median(margins)):.3g}")
    print("greedy lengths:", dict(sorted(Counter(len(c["outputs"]["greedy"]["sequences"][0]) for c in cases).items())))
    print("batch check:", {k: v["equal"] for k, v in batch["results"].items()})


def build(name: str, spec: dict, tune: bool) -> None:
    out = FIXTURES / name
    spiece = train_spiece(spiece_text(spec["spm_text"]), spec["spm_vocab"])
    assert train_spiece(spiece_text(spec["spm_text"]), spec["spm_vocab"]) == spiece, "spm not deterministic"
    sp = spm.SentencePieceProcessor()
    sp.LoadFromSerializedProto(spiece)
    vocab_size = sp.get_piece_size() + spec["extra_ids"]
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    write_tokenizers(out, spiece, spec["extra_ids"])
    model = make_model(name, spec, vocab_size)
    randomize(model, name, spec["seed"])
    model.generation_config = GenerationConfig(decoder_start_token_id=0, eos_token_id=1, pad_token_id=0)
    model.save_pretrained(out, safe_serialization=True)
    slow, fast = load_tokenizers(out)
    m64, m32 = load_t5_pair(out, spec["kind"])
    inputs = golden_inputs(name)
    if tune:
        from collections import Counter
        lens = []
        for _, _, t in inputs:
            s, _, _ = run_generate(m32, [slow(t).input_ids], SETTINGS["greedy"], 0)
            lens.append(len(s[0]))
        print(name, "greedy lengths", sorted(lens), dict(Counter(lens)))
        return
    cases = generate_cases(m64, m32, slow, inputs, 0)
    for c, (_, _, t) in zip(cases, inputs):
        assert fast(t).input_ids == c["input_ids"], f"fast and slow tokenizers differ on golden {c['set']} {c['index']}"
    batch = batch_check(m64, m32, slow, inputs, cases, 0)
    golden = {
        "meta": {
            "generator": "scripts/make_fixtures_t5.py",
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "sentencepiece": spm.__version__,
            "numpy": np.__version__,
            "model_class": type(m64).__name__,
            "dtype": "float64 (weights stored as float32, model.double()); note that transformers' T5 "
                     "computes the layer-norm variance and the attention softmax in float32 even then. "
                     "f32_agrees compares a float32 run",
            "attn_implementation": m64.config._attn_implementation,
            "common_generate_kwargs": COMMON_KWARGS,
            "defaults": "generation_config.json of this directory (decoder_start 0, eos 1, pad 0; "
                        "max_length default 20 new tokens)",
            "sequences": "generate().sequences, leading decoder start token kept, trailing <pad> removed",
            "min_margin": "as in make_fixtures.py: greedy: smallest top1-top2 gap of the processed "
                          "scores; beam: smallest gap among the top 2*num_beams+1 candidates and the "
                          "scores competing for finished slots",
            "input": "en: PREFIX + ' '.join of consecutive stripped lines of tatoeba-ara-eng/sample500.en "
                     f"from line 0, paragraph sizes {paragraph_sizes(N_EN_PARAGRAPHS)}; "
                     + (f"ar: the same from sample500.ar line {AR_START}, sizes "
                        f"{paragraph_sizes(N_AR_PARAGRAPHS)}, no prefix; " if name == "mt5-tiny" else "")
                     + "input_ids = T5Tokenizer(text).input_ids (the fast tokenizer agrees); text "
                       "identified by sha256 of its UTF-8 bytes",
            "prefix": PREFIX,
        },
        "settings": SETTINGS,
        "relative_buckets": relative_buckets(),
        "layer_probe": layer_probe(m64, cases[0]["input_ids"]),
        "batch_check": batch,
        "cases": cases,
    }
    dump_compact(golden, out / "golden.json", ("cases",))
    tg = tokenizer_goldens(slow, fast, cases, out)
    dump_compact(tg, out / "tokenizer_golden.json", ("encode", "decode"))
    summarize(name, cases, batch, m64.config.eos_token_id)
    if tg["meta"]["fast_differs_on"]:
        print("fast tokenizer differs from slow on:", tg["meta"]["fast_differs_on"])
    sizes = {p.name: p.stat().st_size for p in sorted(out.iterdir())}
    print(f"{name}: {sum(sizes.values())} bytes", sizes)


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tune", action="store_true", help="print greedy lengths only (writes the model dirs)")
    ap.add_argument("--only", choices=list(MODELS), help="build one fixture")
    args = ap.parse_args()
    require_shared()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    transformers.logging.set_verbosity_error()
    for name, spec in MODELS.items():
        if args.only and name != args.only:
            continue
        build(name, spec, args.tune)


if __name__ == "__main__":
    main()
