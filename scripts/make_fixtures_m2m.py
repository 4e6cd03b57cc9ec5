#!/usr/bin/env python3
"""Build tarjama's NLLB-200 and M2M100 test fixtures with Hugging Face transformers as the reference.

Run from the crate root:

    /path/to/venv/bin/python scripts/make_fixtures_m2m.py            # both fixtures
    /path/to/venv/bin/python scripts/make_fixtures_m2m.py --only nllb
    /path/to/venv/bin/python scripts/make_fixtures_m2m.py --tune     # length statistics only, nothing written

tests/fixtures/nllb-tiny/ (the layout of facebook/nllb-200-distilled-600M):
  tokenizer.json, tokenizer_config.json, special_tokens_map.json, sentencepiece.bpe.model
                           NllbTokenizerFast converted from a small SentencePiece BPE model, with the
                           202 NLLB language codes as special tokens after the pieces and <mask> last
  config.json, generation_config.json, model.safetensors
                           a random M2M100ForConditionalGeneration (model_type m2m_100, as NLLB's)
  golden.json              generate() ids (forced target-language BOS) for the seed article and Tatoeba
  tokenizer_golden.json    NllbTokenizerFast encode (also legacy_behaviour) / decode results

tests/fixtures/m2m100-tiny/ (the layout of facebook/m2m100_418M):
  sentencepiece.bpe.model  a small SentencePiece BPE model
  vocab.json               fairseq dictionary order (specials, then pieces by corpus frequency), so its
                           ids are not the SentencePiece ids; two rare pieces left out (-> <unk>)
  tokenizer_config.json, special_tokens_map.json
                           M2M100Tokenizer with the 100 __xx__ language tokens as additional special
                           tokens (ids appended after vocab.json, as transformers does)
  config.json, generation_config.json, model.safetensors
                           a random M2M100ForConditionalGeneration; vocab_size = vocab.json + 100
                           language tokens + 8 made-up words, as the real model has
  golden.json, tokenizer_golden.json

Inputs are stored as sha256 + input_ids only, never the text. Helpers (text sources, generate with
margin probes, compact JSON) are imported from make_fixtures.py. Deterministic: fixed seeds,
single-threaded SentencePiece and torch.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import sentencepiece as spm
import torch
import transformers
from transformers import (
    GenerationConfig,
    M2M100Config,
    M2M100ForConditionalGeneration,
    M2M100Tokenizer,
    NllbTokenizer,
    NllbTokenizerFast,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_fixtures import (  # noqa: E402
    COMMON_KWARGS,
    N_TATOEBA,
    SEED_ARTICLE,
    TEXT_DIR,
    TOKENIZER_TEXTS,
    batch_results,
    dump_compact,
    golden_outputs,
    layer_dims,
    load_pair,
    load_spm_bytes,
    read_lines,
    require_shared,
    seed_segments,
    sha256,
    tatoeba_segments,
    train_spm,
)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"

SPM_VOCAB = 500
N_OMITTED_PIECES = 2  # M2M100: rare pieces left out of vocab.json
TINY_MAX_LENGTH = 64
N_BATCH = 8
N_EXTRA = 12
DIMS = dict(d_model=32, layers=2, heads=4, ffn=64)
MADEUP_WORDS = 8

# Random-weight recipe (see ../shared/PARITY.md): every parameter random, cross-attention amplified,
# and an EOS logit that rises with the decoding step, so outputs depend on the input and stop at
# varied lengths. Pre-norm models have no final_logits_bias: the EOS offset comes from a constant
# channel (the decoder's final layer norm with gain 0 and a large bias there), read only by EOS.
RECIPES = {  # tuned with --tune for varied, input-dependent output lengths
    "nllb": dict(seed=3, cross_q=3.0, cross_out=4.0, eos_bias=8.0, const_gain=20.0, len_gain=16.0,
                 eos_len=3.0, final_gain=2.0),
    "m2m100": dict(seed=7, cross_q=3.0, cross_out=4.0, eos_bias=9.5, const_gain=20.0, len_gain=18.0,
                   eos_len=3.0, final_gain=2.0),
}
CONST_DIM = 3  # decoder final layer norm: gain 0, bias const_gain -> a constant channel
LEN_DIM = 7  # the slow sinusoid column of the position table carries the step to the last layer
QUIET = 0.02  # what sublayers and ordinary token embeddings write into the two special channels

SENT = "The weather will be sunny tomorrow."


# ----------------------------------------------------------------------------------------------
# SentencePiece


def train_bpe(sentences: list[str], vocab_size: int) -> bytes:
    return train_spm(sentences, vocab_size, model_type="bpe")


def corpus() -> list[str]:
    return read_lines(SEED_ARTICLE) + read_lines(TEXT_DIR / "ar.txt") + read_lines(TEXT_DIR / "en.txt")


def build_spm() -> bytes:
    data = train_bpe(corpus(), SPM_VOCAB)
    assert train_bpe(corpus(), SPM_VOCAB) == data, "SentencePiece training is not deterministic"
    return data


# ----------------------------------------------------------------------------------------------
# tokenizers


def reorder_nllb_added_tokens(tok_dir: Path) -> None:
    """transformers 4.57 puts <mask> right after the pieces and the language codes after it; the
    Hub's NLLB tokenizer.json has the language codes first and <mask> last. Renumber to the Hub's
    layout (tokenizer.json, tokenizer_config.json)."""
    tj = json.loads((tok_dir / "tokenizer.json").read_text(encoding="utf-8"))
    added = tj["added_tokens"]
    mask = next(t for t in added if t["content"] == "<mask>")
    first = mask["id"]
    remap = {}
    for t in added:
        if t["id"] > first:
            remap[t["id"]] = t["id"] - 1
    last = max(t["id"] for t in added)
    remap[first] = last
    for t in added:
        t["id"] = remap.get(t["id"], t["id"])
    added.sort(key=lambda t: t["id"])
    for st in tj["post_processor"]["special_tokens"].values():
        st["ids"] = [remap.get(i, i) for i in st["ids"]]
    (tok_dir / "tokenizer.json").write_text(json.dumps(tj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    tc = json.loads((tok_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
    tc.pop("from_slow", None)  # the Hub's file loads from tokenizer.json
    dec = {str(remap.get(int(k), int(k))): v for k, v in tc["added_tokens_decoder"].items()}
    tc["added_tokens_decoder"] = dict(sorted(dec.items(), key=lambda kv: int(kv[0])))
    (tok_dir / "tokenizer_config.json").write_text(json.dumps(tc, ensure_ascii=False, indent=2) + "\n",
                                                   encoding="utf-8")


def make_nllb_tokenizer(out: Path, spm_bytes: bytes) -> NllbTokenizerFast:
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "sentencepiece.bpe.model"
        model.write_bytes(spm_bytes)
        slow = NllbTokenizer(str(model))
        slow.save_pretrained(Path(tmp) / "slow")
        fast = NllbTokenizerFast.from_pretrained(Path(tmp) / "slow", from_slow=True)
        fast.save_pretrained(out)
    reorder_nllb_added_tokens(out)
    (out / "added_tokens.json").unlink()  # the Hub repo has none (it would hold the old ids)
    tok = NllbTokenizerFast.from_pretrained(out, src_lang="arb_Arab", tgt_lang="eng_Latn")
    n_pieces = len(load_spm_bytes(spm_bytes)) + 1
    assert tok.convert_tokens_to_ids("ace_Arab") == n_pieces, tok.convert_tokens_to_ids("ace_Arab")
    assert tok.convert_tokens_to_ids("<mask>") == len(tok) - 1
    return tok


def m2m_vocab(spm_bytes: bytes) -> tuple[dict, list[str]]:
    """fairseq dictionary order: <s> <pad> </s> <unk>, then pieces by frequency in the training
    corpus (ties: SentencePiece id); the two rarest pieces are left out."""
    sp = load_spm_bytes(spm_bytes)
    cnt: Counter = Counter()
    for s in corpus():
        cnt.update(sp.encode(s, out_type=str))
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())
              if not (sp.is_control(i) or sp.is_unknown(i))]
    order = sorted(pieces, key=lambda p: (-cnt[p], sp.piece_to_id(p)))
    omitted = order[-N_OMITTED_PIECES:]
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for p in order:
        if p not in omitted:
            vocab[p] = len(vocab)
    assert any(vocab[p] != sp.piece_to_id(p) for p in vocab if p in pieces)
    return vocab, omitted


def make_m2m_tokenizer(out: Path, spm_bytes: bytes) -> tuple[M2M100Tokenizer, list[str]]:
    vocab, omitted = m2m_vocab(spm_bytes)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "sentencepiece.bpe.model").write_bytes(spm_bytes)
        (Path(tmp) / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False, indent=2) + "\n",
                                             encoding="utf-8")
        codes = transformers.models.m2m_100.tokenization_m2m_100.FAIRSEQ_LANGUAGE_CODES["m2m100"]
        # As facebook/m2m100_418M's special_tokens_map.json: the language tokens are special.
        tok = M2M100Tokenizer(str(Path(tmp) / "vocab.json"), str(Path(tmp) / "sentencepiece.bpe.model"),
                              src_lang="ar", tgt_lang="en",
                              additional_special_tokens=[f"__{c}__" for c in codes])
        tok.save_pretrained(out)
    (out / "added_tokens.json").unlink()  # as facebook/m2m100_418M: special_tokens_map.json lists them
    tok = M2M100Tokenizer.from_pretrained(out, src_lang="ar", tgt_lang="en")
    assert tok.get_lang_id("ar") == len(vocab) + codes.index("ar")
    assert tok.convert_tokens_to_ids("__en__") == tok.get_lang_id("en")
    assert "__en__" in tok.all_special_tokens
    return tok, omitted


# ----------------------------------------------------------------------------------------------
# model


def make_config(vocab_size: int, max_length: int) -> M2M100Config:
    return M2M100Config(
        vocab_size=vocab_size,
        **layer_dims(DIMS),
        max_position_embeddings=1024,
        activation_function="relu",
        scale_embedding=True,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=2,
        dropout=0.1,
        attention_dropout=0.1,
        activation_dropout=0.0,
        encoder_layerdrop=0.0,
        decoder_layerdrop=0.0,
        init_std=0.02,
        use_cache=True,
        tie_word_embeddings=True,
        architectures=["M2M100ForConditionalGeneration"],
    )


def make_generation_config(kind: str, max_length: int) -> GenerationConfig:
    if kind == "nllb":  # facebook/nllb-200-distilled-600M generation_config.json (max_length 200 there)
        return GenerationConfig(bos_token_id=0, decoder_start_token_id=2, eos_token_id=2,
                                max_length=max_length, pad_token_id=1)
    # facebook/m2m100_418M generation_config.json (max_length 200 there)
    return GenerationConfig(bos_token_id=0, decoder_start_token_id=2, early_stopping=True, eos_token_id=2,
                            max_length=max_length, num_beams=5, pad_token_id=1)


@torch.no_grad()
def randomize(model: M2M100ForConditionalGeneration, r: dict) -> None:
    cfg = model.config
    pad, eos, d = cfg.pad_token_id, cfg.eos_token_id, cfg.d_model
    g = torch.Generator().manual_seed(r["seed"])

    def randn(shape):
        return torch.randn(shape, generator=g, dtype=torch.float64)

    for name, p in model.named_parameters():  # the tied embedding is listed once
        if name.endswith("shared.weight"):
            w = randn(p.shape) / math.sqrt(d)
            w[pad] = 0.0  # fairseq never trains the padding row
        elif name.endswith("layer_norm.weight"):
            w = 1.0 + 0.25 * randn(p.shape)
        elif name.endswith(".bias"):
            w = 0.1 * randn(p.shape)
        elif p.ndim == 2:
            w = randn(p.shape) / math.sqrt(p.shape[1])
        else:
            raise RuntimeError(f"unexpected parameter {name} {tuple(p.shape)}")
        p.copy_(w.to(p.dtype))
    dec = model.model.decoder
    for layer in dec.layers:
        a = layer.encoder_attn
        a.q_proj.weight.mul_(r["cross_q"])
        a.q_proj.bias.mul_(r["cross_q"])
        a.out_proj.weight.mul_(r["cross_out"])
    c, k = LEN_DIM * d // 32, CONST_DIM * d // 32
    # Sublayers write only weakly into the two channels, so the position sinusoid (channel c)
    # reaches the final layer norm intact.
    for layer in dec.layers:
        for lin in (layer.self_attn.out_proj, layer.encoder_attn.out_proj, layer.fc2):
            for ch in (c, k):
                lin.weight[ch, :] *= QUIET
                lin.bias[ch] *= QUIET
    emb = model.model.shared.weight
    emb[:, c] *= QUIET
    emb[:, k] *= QUIET * 5
    emb[eos, c] = r["eos_len"]
    emb[eos, k] = r["eos_bias"] / r["const_gain"]
    ln = dec.layer_norm
    ln.weight.mul_(r["final_gain"])
    ln.bias.mul_(r["final_gain"])
    ln.weight[c] = r["len_gain"]
    ln.weight[k] = 0.0
    ln.bias[k] = r["const_gain"]
    assert model.lm_head.weight.data_ptr() == model.model.shared.weight.data_ptr(), "lm_head not tied"


def write_model(out: Path, kind: str, vocab_size: int, r: dict) -> None:
    cfg = make_config(vocab_size, TINY_MAX_LENGTH)
    torch.manual_seed(r["seed"])
    model = M2M100ForConditionalGeneration(cfg)
    randomize(model, r)
    model.generation_config = make_generation_config(kind, TINY_MAX_LENGTH)
    model.save_pretrained(out, safe_serialization=True)


# ----------------------------------------------------------------------------------------------
# goldens


# Team-written inputs with special tokens inside: <pad> in the middle shifts the M2M100
# positions of the tokens after it (they are counted over non-padding tokens), and language codes
# or </s> inside the text are tokens of their own.
TEAM_GENERATION_TEXTS = [
    "نص <pad> في الوسط",
    "قال الوزير <pad><pad> إن الاقتصاد سينمو بنسبة ٣٫٥٪ هذا العام.",
    "<unk> في بداية النص",
    "نص ينتهي برمز النهاية </s>",
    "نص مع رمز لغة eng_Latn في الوسط",
    "نص مع __en__ و __ar__ داخله",
    "مبروك الفوز 🎉🎉 للفريق!",
]


def segments() -> list[tuple[str, int, str]]:
    return (
        [("seed", i, t) for i, t in enumerate(seed_segments())]
        + [("tatoeba", i, t) for i, t in enumerate(tatoeba_segments())]
        + [("team", i, t) for i, t in enumerate(TEAM_GENERATION_TEXTS)]
    )


def settings_for(kind: str, tok) -> tuple[dict, dict]:
    if kind == "nllb":
        tgt, other = tok.convert_tokens_to_ids("eng_Latn"), tok.convert_tokens_to_ids("fra_Latn")
    else:
        tgt, other = tok.get_lang_id("en"), tok.get_lang_id("fr")
    main = {
        "greedy": {"num_beams": 1, "forced_bos_token_id": tgt},
        "beam4": {"num_beams": 4, "forced_bos_token_id": tgt},
    }
    extra = {
        "greedy_tgt_fr": {"num_beams": 1, "forced_bos_token_id": other},
        "beam4_lp06_nr3": {"num_beams": 4, "length_penalty": 0.6, "no_repeat_ngram_size": 3,
                           "forced_bos_token_id": tgt},
        "beam4_ret2": {"num_beams": 4, "num_return_sequences": 2, "forced_bos_token_id": tgt},
    }
    return main, extra


def generate_cases(kind: str, tok, m64, m32, segs, main: dict, extra: dict, verbose: bool = True):
    pad = m64.config.pad_token_id
    cases = []
    for set_name, idx, text in segs:
        input_ids = tok(text).input_ids
        settings = dict(main)
        if idx < N_EXTRA:
            settings.update(extra)
        outputs = golden_outputs(m64, m32, input_ids, settings, pad)
        cases.append({"set": set_name, "index": idx, "sha256": sha256(text), "input_ids": input_ids,
                      "outputs": outputs})
        if verbose:
            print(f"  {kind} {set_name:7s} {idx:3d} src {len(input_ids):3d} "
                  f"greedy {len(outputs['greedy']['sequences'][0]):3d} "
                  f"beam4 {len(outputs['beam4']['sequences'][0]):3d}", flush=True)
    return cases


def batch_check(tok, m64, m32, cases, main: dict) -> dict:
    pad = m64.config.pad_token_id
    seed = [c for c in cases if c["set"] == "seed"][:N_BATCH]
    width = max(len(c["input_ids"]) for c in seed)
    ids = [c["input_ids"] + [pad] * (width - len(c["input_ids"])) for c in seed]
    mask = torch.tensor([[1] * len(c["input_ids"]) + [0] * (width - len(c["input_ids"])) for c in seed])
    report = {"set": "seed", "indices": [c["index"] for c in seed], "padded_length": width,
              "input_lengths": [len(c["input_ids"]) for c in seed], "results": {}}
    report["results"] = batch_results(m64, m32, ids, mask, seed, main, ("greedy", "beam4"), pad)
    return report


EXTRA_TOKENIZER_TEXTS = [
    "نص مع رمز لغة eng_Latn في الوسط",
    "arb_Arab",
    "نص مع __en__ و __ar__ داخله",
    "__fr__",
    "<mask> قناع",
    "نص <s> مع بداية",
    "  فراغات  متعددة  ",
]


def tokenizer_goldens(kind: str, tok, cases: list[dict], fixture: Path, omitted: list[str]) -> dict:
    texts = list(TOKENIZER_TEXTS) + EXTRA_TOKENIZER_TEXTS
    if omitted:
        texts.append(" ".join(p.replace("▁", "") for p in omitted) + " تجربة")
    src_default = "arb_Arab" if kind == "nllb" else "ar"
    src_other = "eng_Latn" if kind == "nllb" else "en"
    encode = []
    for t in texts:
        encode.append({"text": t, "src_lang": src_default, "input_ids": tok(t).input_ids})
    tok.src_lang = src_other
    for t in texts[:3] + ["The weather will be sunny tomorrow.", "Prices rose by 4% in March, the report said."]:
        encode.append({"text": t, "src_lang": src_other, "input_ids": tok(t).input_ids})
    tok.src_lang = src_default
    legacy = []
    if kind == "nllb":
        ltok = NllbTokenizerFast.from_pretrained(fixture, src_lang="arb_Arab", legacy_behaviour=True)
        for t in texts[:8]:
            legacy.append({"text": t, "src_lang": "arb_Arab", "input_ids": ltok(t).input_ids})
        ltok.src_lang = "fra_Latn"
        legacy.append({"text": texts[0], "src_lang": "fra_Latn", "input_ids": ltok(texts[0]).input_ids})

    pad, unk, eos = tok.pad_token_id, tok.unk_token_id, tok.eos_token_id
    en = tok.convert_tokens_to_ids("eng_Latn") if kind == "nllb" else tok.get_lang_id("en")
    ar = tok.convert_tokens_to_ids("arb_Arab") if kind == "nllb" else tok.get_lang_id("ar")
    eng = [i for i in tok(SENT).input_ids if i not in (pad, eos, ar, en)]
    eng = [i for i in eng if i not in tok.all_special_ids]
    arab = [i for i in tok("قال الوزير إن الاقتصاد نما.").input_ids if i not in tok.all_special_ids]
    id_seqs: list[tuple[str, list[int]]] = []
    for c in cases[:6]:
        id_seqs.append((f"golden {c['set']} {c['index']} greedy", c["outputs"]["greedy"]["sequences"][0]))
    for c in cases[6:8]:
        id_seqs.append((f"golden {c['set']} {c['index']} beam4", c["outputs"]["beam4"]["sequences"][0]))
    id_seqs += [
        ("start, language, english, eos", [eos, en] + eng + [eos]),
        ("english without specials", eng),
        ("arabic pieces", [eos, ar] + arab + [eos]),
        ("language token inside", eng[:3] + [ar] + eng[3:]),
        ("unk inside", eng[:3] + [unk] + eng[3:] + [eos]),
        ("pad inside", eng[:2] + [pad] + eng[2:]),
        ("bos first", [tok.bos_token_id] + eng),
        ("only specials", [pad, unk, eos, en]),
        ("empty", []),
        ("eos only", [eos]),
    ]
    if kind == "m2m100":
        n = len(tok)  # ids past the tokenizer: the model's made-up words
        id_seqs.append(("made-up word ids", eng[:2] + [n, n + 3] + eng[2:4]))
    decode = []
    for label, ids in id_seqs:
        decode.append({
            "label": label,
            "ids": ids,
            "skip_special_tokens_true": tok.decode(ids, skip_special_tokens=True),
            "skip_special_tokens_false": tok.decode(ids, skip_special_tokens=False),
        })
    name = "NllbTokenizerFast(tokenizer.json)" if kind == "nllb" else \
        "M2M100Tokenizer(sentencepiece.bpe.model, vocab.json)"
    return {
        "note": f"{name} of tests/fixtures/{fixture.name}; encode = tokenizer(text).input_ids with "
                "tokenizer.src_lang set to src_lang; decode = tokenizer.decode(ids, skip_special_tokens=...)",
        "meta": {
            "transformers": transformers.__version__,
            "sentencepiece": spm.__version__,
            "clean_up_tokenization_spaces": tok.clean_up_tokenization_spaces,
            "pieces_omitted_from_vocab": omitted,
        },
        "encode": encode,
        "encode_legacy_behaviour": legacy,
        "decode": decode,
    }


def summarize(kind: str, cases: list[dict], settings: dict, eos: int) -> None:
    print(f"\n=== {kind} summary ===")
    for setting in settings:
        outs = [c["outputs"][setting] for c in cases if setting in c["outputs"]]
        lens = [len(s) for o in outs for s in o["sequences"]]
        ended = sum(1 for o in outs for s in o["sequences"] if s[-1] == eos and len(s) < TINY_MAX_LENGTH)
        agree = sum(o["f32_agrees"] for o in outs)
        distinct = len({tuple(o["sequences"][0]) for o in outs})
        line = (f"{setting:16s} n={len(outs):3d} len min/med/max={min(lens)}/{int(np.median(lens))}/{max(lens)} "
                f"ended_with_eos={ended}/{len(lens)} distinct={distinct} f32_agrees={agree}/{len(outs)}")
        margins = [o["min_margin"] for o in outs if "min_margin" in o]
        if margins:
            line += f" min_margin min={min(margins):.3g} median={float(np.median(margins)):.3g}"
        print(line)


def build(kind: str, tune: bool) -> None:
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    spm_bytes = build_spm()
    fixture = FIXTURES / ("nllb-tiny" if kind == "nllb" else "m2m100-tiny")
    out = Path(tempfile.mkdtemp()) if tune else fixture
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    omitted: list[str] = []
    if kind == "nllb":
        tok = make_nllb_tokenizer(out, spm_bytes)
        vocab_size = len(tok)
    else:
        tok, omitted = make_m2m_tokenizer(out, spm_bytes)
        vocab_size = len(tok) + MADEUP_WORDS
    write_model(out, kind, vocab_size, RECIPES[kind])
    m64, m32 = load_pair(out, M2M100ForConditionalGeneration)
    main, extra = settings_for(kind, tok)
    segs = segments()
    if tune:
        segs = segs[:23] + segs[23:63]
        cases = generate_cases(kind, tok, m32, m32, segs, {"greedy": main["greedy"]}, {}, verbose=False)
        summarize(kind, cases, {"greedy": 1}, m64.config.eos_token_id)
        shutil.rmtree(out)
        return
    cases = generate_cases(kind, tok, m64, m32, segs, main, extra)
    report = batch_check(tok, m64, m32, cases, main)
    golden = {
        "meta": {
            "generator": "scripts/make_fixtures_m2m.py",
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "sentencepiece": spm.__version__,
            "numpy": np.__version__,
            "dtype": "float64 (weights stored as float32, model.double()); f32_agrees compares a float32 run",
            "attn_implementation": m64.config._attn_implementation,
            "common_generate_kwargs": COMMON_KWARGS,
            "defaults": f"generation_config.json of this directory (max_length {TINY_MAX_LENGTH})",
            "sequences": "generate().sequences per returned sequence, leading decoder start token kept, "
                         "trailing <pad> removed",
            "min_margin": "as in tests/fixtures/marian-tiny/golden.json (make_fixtures.py run_generate)",
            "segmentation": "seed: each non-empty stripped line of article.ar.txt split with "
                            "re.split(r'(?<=[.!?؟…])\\s+', line), empties dropped; tatoeba: first "
                            f"{N_TATOEBA} lines of sample500.ar, stripped; team: "
                            "TEAM_GENERATION_TEXTS of make_fixtures_m2m.py (special tokens inside)",
            "input": ("input_ids = NllbTokenizerFast(src_lang='arb_Arab')(text).input_ids" if kind == "nllb"
                      else "input_ids = M2M100Tokenizer(src_lang='ar')(text).input_ids")
                     + "; text identified by sha256 of its UTF-8 bytes",
            "extra_settings_cases": f"first {N_EXTRA} seed and first {N_EXTRA} tatoeba cases",
            "languages": {"source": "arb_Arab" if kind == "nllb" else "ar",
                          "target": "eng_Latn" if kind == "nllb" else "en",
                          "other_target": "fra_Latn" if kind == "nllb" else "fr"},
        },
        "settings": {**main, **extra},
        "batch_check": report,
        "cases": cases,
    }
    dump_compact(golden, out / "golden.json", ("cases",))
    tg = tokenizer_goldens(kind, tok, cases, out, omitted)
    dump_compact(tg, out / "tokenizer_golden.json", ("encode", "encode_legacy_behaviour", "decode"))
    summarize(kind, cases, {**main, **extra}, m64.config.eos_token_id)
    print("batch check:", {k: v["equal"] for k, v in report["results"].items()})
    total = sum(p.stat().st_size for p in out.iterdir())
    print(f"{out}: {total / 1e6:.2f} MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=["nllb", "m2m100"])
    ap.add_argument("--tune", action="store_true", help="print greedy length statistics only")
    args = ap.parse_args()
    require_shared()
    for kind in ([args.only] if args.only else ["nllb", "m2m100"]):
        build(kind, args.tune)


if __name__ == "__main__":
    main()
