#!/usr/bin/env python3
"""Build tarjama's Marian test fixtures with Hugging Face transformers as the reference.

Run from the crate root:

    /path/to/venv/bin/python scripts/make_fixtures.py            # tests/fixtures/marian-tiny
    /path/to/venv/bin/python scripts/make_fixtures.py --full-size bench-models/opus-mt-ar-en-random

The tiny fixture (committed) holds:
  source.spm, target.spm   SentencePiece unigram models (nmt_nfkc normalization, the default)
  vocab.json               joint vocabulary as opus-mt ships it: </s>=0, <unk>=1, ..., <pad> last
  tokenizer_config.json    like Helsinki-NLP/opus-mt-ar-en's
  config.json, generation_config.json, model.safetensors
                           a random MarianMTModel in opus-mt-ar-en's layout
  golden.json              transformers generate() ids for the seed article and Tatoeba sentences
                           (inputs identified by sha256 only; their text is never stored)
  tokenizer_golden.json    MarianTokenizer encode/decode results on team-written texts

Text from ../shared/data is read at build time only. The Tatoeba set is used for golden inputs,
never for training. Everything is deterministic (fixed seeds, single-threaded SentencePiece and torch).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import sentencepiece as spm
import torch
import transformers
from transformers import GenerationConfig, MarianConfig, MarianMTModel, MarianTokenizer

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
SEED_ARTICLE = SHARED / "seed" / "article.ar.txt"
TATOEBA_AR = SHARED / "tatoeba-ara-eng" / "sample500.ar"
TEXT_DIR = ROOT / "scripts" / "fixture_text"
FIXTURE = ROOT / "tests" / "fixtures" / "marian-tiny"

SEED = 1  # the weight recipe below was tuned with this seed (other seeds give other length profiles)
SRC_VOCAB = 400
TGT_VOCAB = 300
# Source-only pieces deliberately left out of vocab.json (the last N source pieces that the target
# model does not have), so that "a piece the SentencePiece model knows but vocab.json lacks -> <unk>"
# is exercised. Real opus-mt vocabularies also miss some SentencePiece pieces.
N_OMITTED_PIECES = 2

TINY_DIMS = dict(d_model=32, layers=2, heads=4, ffn=64)
FULL_DIMS = dict(d_model=512, layers=6, heads=8, ffn=2048)
FULL_VOCAB_SIZE = 62834  # opus-mt-ar-en's vocab_size (pad = 62833)

# Random-weight recipe (see ../shared/PARITY.md and scripts/README.md): every parameter random,
# cross-attention amplified, and an EOS logit that rises with the decoding step (length channel below)
# so outputs depend on the input and stop at varied lengths. Tuned for the tiny model with SEED = 1.
CROSS_Q_GAIN = 3.0  # sharpen cross-attention (scales q_proj weight and bias)
CROSS_OUT_GAIN = 4.0  # make cross-attention dominate the residual stream (out_proj weight)
EOS_BOOST = -10.0  # added to final_logits_bias[eos] (offsets the length channel below)
FLB_STD = 0.5  # final_logits_bias std
FINAL_LN_GAIN = 2.0  # scales the last decoder layer's final layer norm (sharper logits)
# Length channel: one model dimension carries a slow sinusoid of the decoder position (column
# POS_DIM of the static table, frequency 10000**(-POS_DIM/(d/2))) to the last layer; decoder
# sublayers write into it only weakly and only the EOS embedding reads it strongly, so the EOS logit
# grows with the step and outputs stop at varied, input-dependent lengths.
POS_DIM = 7
POS_QUIET = 0.02  # scale of what decoder sublayers (and token embeddings other than EOS) put in POS_DIM
EOS_POS_WEIGHT = 6.0  # EOS embedding value in POS_DIM
POS_LN_GAIN = 1.5  # decoder layer-norm gain in POS_DIM, so the channel survives normalization
EMB_STD = 1.0  # token embedding std, in units of 1/sqrt(d_model)
SELF_OUT_GAIN = 1.0  # decoder self-attention out_proj gain

TINY_MAX_LENGTH = 64
N_TATOEBA = 100
N_EXTRA = 12  # first N seed + first N tatoeba cases get the extra decoding settings
N_BATCH = 8

COMMON_KWARGS = dict(output_scores=True, return_dict_in_generate=True)
MAIN_SETTINGS = {
    "greedy": {"num_beams": 1},
    "beam4": {"num_beams": 4},
}
EXTRA_SETTINGS = {
    "beam4_lp06_nr3": {"num_beams": 4, "length_penalty": 0.6, "no_repeat_ngram_size": 3},
    "greedy_rep13_min5": {"num_beams": 1, "repetition_penalty": 1.3, "min_new_tokens": 5},
    "beam4_es_true": {"num_beams": 4, "early_stopping": True},
    "beam4_es_never": {"num_beams": 4, "early_stopping": "never"},
    "beam3_minlen8_maxnew20": {"num_beams": 3, "min_length": 8, "max_new_tokens": 20},
    "beam4_ret2": {"num_beams": 4, "num_return_sequences": 2},
}

SENT_SPLIT = re.compile(r"(?<=[.!?؟…])\s+")


# ----------------------------------------------------------------------------------------------
# text sources


def read_lines(path: Path) -> list[str]:
    return [l.strip() for l in path.read_text(encoding="utf-8").splitlines() if l.strip()]


def require_shared() -> None:
    missing = [p for p in (SEED_ARTICLE, TATOEBA_AR) if not p.is_file()]
    if missing:
        sys.exit(
            "make_fixtures: needs ../shared/data beside the crate (missing: "
            + ", ".join(str(p) for p in missing)
            + "); the fixtures are built from the seed article and the Tatoeba sample."
        )


def seed_segments() -> list[str]:
    """Every sentence of the seed article: each non-empty stripped line is a paragraph, split after
    . ! ? ؟ … followed by whitespace."""
    out = []
    for line in SEED_ARTICLE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            continue
        out.extend(s for s in SENT_SPLIT.split(line) if s)
    return out


def tatoeba_segments() -> list[str]:
    lines = TATOEBA_AR.read_text(encoding="utf-8").splitlines()[:N_TATOEBA]
    return [l.strip() for l in lines]


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ----------------------------------------------------------------------------------------------
# SentencePiece + vocab


def train_spm(sentences: list[str], vocab_size: int, model_type: str = "unigram", **options) -> bytes:
    """A SentencePiece model trained deterministically on `sentences` (nmt_nfkc, full character
    coverage, one thread, no shuffling); `options` are further trainer flags (special-piece ids).
    Shared by make_fixtures_t5.py (unigram with T5's ids) and make_fixtures_m2m.py (BPE)."""
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences),
        model_writer=buf,
        model_type=model_type,
        vocab_size=vocab_size,
        character_coverage=1.0,
        normalization_rule_name="nmt_nfkc",
        **options,
        num_threads=1,
        shuffle_input_sentence=False,
        input_sentence_size=0,
        minloglevel=2,
    )
    return buf.getvalue()


def load_spm_bytes(data: bytes) -> spm.SentencePieceProcessor:
    sp = spm.SentencePieceProcessor()
    sp.LoadFromSerializedProto(data)
    return sp


def normal_pieces(sp: spm.SentencePieceProcessor) -> list[str]:
    return [
        sp.id_to_piece(i)
        for i in range(sp.get_piece_size())
        if not (sp.is_control(i) or sp.is_unknown(i))
    ]


def build_vocab(src: spm.SentencePieceProcessor, tgt: spm.SentencePieceProcessor, pad_to: int | None = None):
    src_pieces, tgt_pieces = normal_pieces(src), normal_pieces(tgt)
    tgt_set = set(tgt_pieces)
    src_only = [p for p in src_pieces if p not in tgt_set]
    omitted = src_only[-N_OMITTED_PIECES:] if N_OMITTED_PIECES else []
    vocab: dict[str, int] = {"</s>": 0, "<unk>": 1}
    for p in src_pieces + tgt_pieces:
        if p not in vocab and p not in omitted:
            vocab[p] = len(vocab)
    if pad_to is not None:
        # full-size benchmark model: synthetic pieces fill the vocabulary up to opus-mt-ar-en's size
        n = 0
        while len(vocab) < pad_to - 1:
            piece = f"▁syn{n}"
            n += 1
            if piece not in vocab:
                vocab[piece] = len(vocab)
    vocab["<pad>"] = len(vocab)
    return vocab, omitted


# ----------------------------------------------------------------------------------------------
# model


def layer_dims(dims: dict) -> dict:
    """The size arguments of a BART-family config (Marian, BART, M2M100) for `dims`
    (`d_model`, `layers`, `heads`, `ffn`), the same for the encoder and the decoder."""
    return dict(
        d_model=dims["d_model"],
        encoder_layers=dims["layers"],
        decoder_layers=dims["layers"],
        encoder_attention_heads=dims["heads"],
        decoder_attention_heads=dims["heads"],
        encoder_ffn_dim=dims["ffn"],
        decoder_ffn_dim=dims["ffn"],
    )


def make_config(vocab_size: int, dims: dict, max_length: int) -> MarianConfig:
    pad = vocab_size - 1
    return MarianConfig(
        vocab_size=vocab_size,
        decoder_vocab_size=vocab_size,
        **layer_dims(dims),
        max_position_embeddings=512,
        activation_function="swish",
        scale_embedding=True,
        share_encoder_decoder_embeddings=True,
        tie_word_embeddings=True,
        pad_token_id=pad,
        decoder_start_token_id=pad,
        eos_token_id=0,
        bos_token_id=0,
        forced_eos_token_id=0,
        dropout=0.1,
        attention_dropout=0.0,
        activation_dropout=0.0,
        init_std=0.02,
        use_cache=True,
        architectures=["MarianMTModel"],
        # keys present in the converted opus-mt-ar-en config.json (informational for transformers)
        static_position_embeddings=True,
        normalize_before=False,
        normalize_embedding=False,
        add_final_layer_norm=False,
        add_bias_logits=False,
    )


def make_generation_config(pad: int, max_length: int) -> GenerationConfig:
    # opus-mt generation_config.json (Helsinki-NLP, transformers 4.32 era) holds exactly these keys
    return GenerationConfig(
        bad_words_ids=[[pad]],
        bos_token_id=0,
        decoder_start_token_id=pad,
        eos_token_id=0,
        forced_eos_token_id=0,
        max_length=max_length,
        num_beams=4,
        pad_token_id=pad,
        renormalize_logits=True,
    )


@torch.no_grad()
def randomize(model: MarianMTModel, seed: int) -> None:
    cfg = model.config
    pad, eos, d = cfg.pad_token_id, cfg.eos_token_id, cfg.d_model
    g = torch.Generator().manual_seed(seed)

    def randn(shape):
        return torch.randn(shape, generator=g, dtype=torch.float64)

    for name, p in model.named_parameters():  # tied embedding is listed once
        if "embed_positions" in name:
            continue  # static sinusoidal table, recomputed by transformers on load
        if name.endswith("shared.weight"):
            w = randn(p.shape) * (EMB_STD / math.sqrt(d))
            w[pad] = 0.0
        elif name.endswith("layer_norm.weight"):
            w = 1.0 + 0.25 * randn(p.shape)
        elif name.endswith(".bias"):
            w = 0.1 * randn(p.shape)
        elif p.ndim == 2:
            w = randn(p.shape) * (1.0 / math.sqrt(p.shape[1]))
        else:
            raise RuntimeError(f"unexpected parameter {name} {tuple(p.shape)}")
        p.copy_(w.to(p.dtype))
    for layer in model.model.decoder.layers:
        a = layer.encoder_attn
        a.q_proj.weight.mul_(CROSS_Q_GAIN)
        a.q_proj.bias.mul_(CROSS_Q_GAIN)
        a.out_proj.weight.mul_(CROSS_OUT_GAIN)
        layer.self_attn.out_proj.weight.mul_(SELF_OUT_GAIN)
        layer.self_attn.out_proj.bias.mul_(SELF_OUT_GAIN)
    c = POS_DIM * d // 32  # same frequency for any d_model
    for layer in model.model.decoder.layers:
        for lin in (layer.self_attn.out_proj, layer.encoder_attn.out_proj, layer.fc2):
            lin.weight[c, :] *= POS_QUIET
            lin.bias[c] *= POS_QUIET
        for ln in (layer.self_attn_layer_norm, layer.encoder_attn_layer_norm, layer.final_layer_norm):
            ln.weight[c] = POS_LN_GAIN * (1.0 + 0.1 * float(randn(())))
            ln.bias[c] *= POS_QUIET
    emb = model.model.shared.weight
    emb[:, c] *= POS_QUIET
    emb[eos, c] = EOS_POS_WEIGHT
    ln = model.model.decoder.layers[-1].final_layer_norm
    ln.weight.mul_(FINAL_LN_GAIN)
    ln.bias.mul_(FINAL_LN_GAIN)
    flb = FLB_STD * randn(model.final_logits_bias.shape)
    flb[0, pad] = 0.0
    flb[0, eos] += EOS_BOOST
    model.final_logits_bias.copy_(flb.to(model.final_logits_bias.dtype))
    assert model.lm_head.weight.data_ptr() == model.model.shared.weight.data_ptr(), "lm_head not tied"
    assert model.model.encoder.embed_tokens.weight.data_ptr() == model.model.shared.weight.data_ptr()


def tokenizer_config() -> dict:
    return {
        "source_lang": "ar",
        "target_lang": "en",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "model_max_length": 512,
        "separate_vocabs": False,
        "sp_model_kwargs": {},
        "tokenizer_class": "MarianTokenizer",
    }


def write_model_dir(out: Path, src_bytes: bytes, tgt_bytes: bytes, vocab: dict, dims: dict,
                    max_length: int, seed: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "source.spm").write_bytes(src_bytes)
    (out / "target.spm").write_bytes(tgt_bytes)
    with open(out / "vocab.json", "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False, indent=2)
        f.write("\n")
    with open(out / "tokenizer_config.json", "w", encoding="utf-8") as f:
        json.dump(tokenizer_config(), f, ensure_ascii=False, indent=2)
        f.write("\n")
    cfg = make_config(len(vocab), dims, max_length)
    torch.manual_seed(seed)
    model = MarianMTModel(cfg)
    randomize(model, seed)
    model.generation_config = make_generation_config(cfg.pad_token_id, max_length)
    model.save_pretrained(out, safe_serialization=True)


# ----------------------------------------------------------------------------------------------
# generation helpers


def strip_trailing_pad(seq: list[int], pad: int) -> list[int]:
    end = len(seq)
    while end > 1 and seq[end - 1] == pad:  # keep the leading decoder start token (= pad)
        end -= 1
    return seq[:end]


@torch.no_grad()
def run_generate(model, input_ids: list[list[int]], kwargs: dict, pad: int, attention_mask=None):
    ids = torch.tensor(input_ids, dtype=torch.long)
    if attention_mask is None:
        attention_mask = torch.ones_like(ids)
    beam_gaps: list[float] = []
    watch_beams = kwargs.get("num_beams", 1) > 1 and len(input_ids) == 1
    if watch_beams:
        install_beam_margin_probe(model, beam_gaps)
    try:
        out = model.generate(input_ids=ids, attention_mask=attention_mask, **COMMON_KWARGS, **kwargs)
    finally:
        if watch_beams:
            del model._get_top_k_continuations
            del model._update_finished_beams
    seqs = [strip_trailing_pad(s, pad) for s in out.sequences.tolist()]
    scores = out.sequences_scores.tolist() if getattr(out, "sequences_scores", None) is not None else None
    margin = None
    if kwargs.get("num_beams", 1) == 1 and len(input_ids) == 1:
        m = math.inf
        for step in out.scores:
            top = torch.topk(step[0].double(), 2).values
            m = min(m, float(top[0] - top[1]))
        margin = m
    if watch_beams:
        margin = min(beam_gaps) if beam_gaps else math.inf
    return seqs, scores, margin


def golden_outputs(m64, m32, input_ids: list[int], settings: dict, pad: int) -> dict:
    """Per setting of `settings` (name -> generate kwargs): the float64 model's sequences (and
    sequences_scores, min_margin) for one input, and whether the float32 model's agree."""
    outputs = {}
    for name, kw in settings.items():
        s64, sc64, margin = run_generate(m64, [input_ids], kw, pad)
        s32, _, _ = run_generate(m32, [input_ids], kw, pad)
        o = {"sequences": s64}
        if sc64 is not None:
            o["sequences_scores"] = sc64
        o["f32_agrees"] = s32 == s64
        if margin is not None:
            o["min_margin"] = margin
        outputs[name] = o
    return outputs


def batch_results(m64, m32, ids: list[list[int]], attention_mask, cases: list[dict], settings: dict,
                  names, pad: int, same=None, verbose: bool = True) -> dict:
    """The batch check: `cases` (one-by-one goldens) run as one padded batch (`ids`,
    `attention_mask`) under each of the settings `names`, in float64 against the golden
    sequences (and scores) and in float32 against float32 one-by-one runs. `same` compares two
    sequences (default: equality)."""
    same = same or (lambda a, b: a == b)
    results = {}
    for name in names:
        for dtype_name, m in (("f64", m64), ("f32", m32)):
            seqs, scores, _ = run_generate(m, ids, settings[name], pad, attention_mask=attention_mask)
            if dtype_name == "f64":
                ref = [c["outputs"][name]["sequences"][0] for c in cases]
            else:
                ref = [run_generate(m32, [c["input_ids"]], settings[name], pad)[0][0] for c in cases]
            equal = [same(a, b) for a, b in zip(seqs, ref)]
            res = {"equal": all(equal), "per_case": equal}
            if scores is not None and dtype_name == "f64":
                ref_sc = [c["outputs"][name]["sequences_scores"][0] for c in cases]
                res["max_abs_score_diff"] = max(abs(a - b) for a, b in zip(scores, ref_sc))
            results[f"{name}_{dtype_name}"] = res
            if verbose:
                print(f"batch {name} {dtype_name}: equal={all(equal)} {res.get('max_abs_score_diff', '')}")
    return results


def _min_gap(values: torch.Tensor) -> float | None:
    """Smallest difference between consecutive sorted finite values (None for fewer than two)."""
    v = values[torch.isfinite(values) & (values > -1.0e8)].double().sort(descending=True).values
    if v.numel() < 2:
        return None
    return float((v[:-1] - v[1:]).min())


def install_beam_margin_probe(model, gaps: list[float]) -> None:
    """Records, at every beam-search step, the closest call a float32 run could decide otherwise:
    the smallest gap among the top (2 * num_beams + 1) accumulated candidate scores, and among the
    length-normalized scores competing for the finished slots. Instance attributes shadow the
    class methods; run_generate removes them afterwards."""
    top_k = type(model)._get_top_k_continuations
    update = type(model)._update_finished_beams

    def top_k_probe(**kw):
        acc = kw["accumulated_log_probs"]
        k = min(kw["beams_to_keep"] + 1, acc.shape[-1])
        g = _min_gap(torch.topk(acc[0].double(), k).values)
        if g is not None:
            gaps.append(g)
        return top_k(model, **kw)

    def update_probe(**kw):
        denom = (kw["cur_len"] + 1 - kw["decoder_prompt_len"]) ** kw["length_penalty"]
        finishing = kw["next_token_hits_stopping_criteria"][0] & kw["top_num_beam_mask"]
        new = kw["topk_log_probs"][0][finishing].double() / denom
        old = kw["beam_scores"][0].double()
        g = _min_gap(torch.cat([old, new]))
        if g is not None and new.numel() > 0:
            gaps.append(g)
        return update(model, **kw)

    model._get_top_k_continuations = top_k_probe
    model._update_finished_beams = update_probe


def load_pair(model_dir: Path, cls=MarianMTModel):
    """The model of `model_dir` (class `cls`) in float64 and in float32."""
    m32 = cls.from_pretrained(model_dir, torch_dtype=torch.float32).eval()
    m64 = cls.from_pretrained(model_dir, torch_dtype=torch.float32).eval().double()
    return m64, m32


# ----------------------------------------------------------------------------------------------
# tokenizer goldens (texts written by the team)

TOKENIZER_TEXTS = [
    "أعلنت الحكومة اليوم خطة جديدة لدعم المزارعين.",
    "قال الوزير إن الاقتصاد سينمو بنسبة ٣٫٥٪ هذا العام.",
    "وَصَلَ الوَفْدُ إِلَى العَاصِمَةِ مَسَاءَ أَمْسِ.",
    "الـــطـــقـــس جـمـيـل اليوم",
    "هل ستمطر غدًا؟",
    "درجة الحرارة: ٢٨ مئوية، والرطوبة ٦٠٪؛ والرياح خفيفة.",
    "قالت المتحدثة: «سنواصل العمل».",
    "التقى \"Joe Biden\" بالرئيس في البيت الأبيض.",
    "فاز نادي Liverpool على Chelsea بنتيجة 3-1.",
    "   مسافات    كثيرة   بين   الكلمات   ",
    "سطر أول\nسطر ثانٍ\tمع علامة جدولة",
    "",
    " ",
    "مبروك الفوز 🎉🎉 للفريق!",
    "نص يحتوي حروفًا غير معروفة: 漢字 и кириллица",
    "The weather will be sunny tomorrow.",
    "Prices rose by 4% in March, the report said.",
    "١٢٣٤٥٦٧٨٩٠ و 1234567890",
    "ﻻ ﺃﺣﺪ ﻳﻌﺮﻑ",
    "ＡＢＣ ١٢٣ ｆｕｌｌ",
    "رقم الهاتف: ٠١٢٣-٤٥٦٧٨٩",
    "كتب \u200cالمراسل\u200d تقريرًا\u00a0مطولًا.",
    "يقول „الخبراء“ إن الأسعار ستنخفض… ربما.",
    "بدأ العام الدراسي في ١/٩/٢٠٢٤.",
    "<unk> في بداية النص",
    "نص ينتهي برمز النهاية </s>",
    "نص <pad> في الوسط",
    ">>ara<< نص مع رمز لغة",
    ">>eng<<",
    "الاتحاد الأوروبي (EU) ومنظمة OPEC والأمم المتحدة UN.",
    "؟؟؟!!!...،،،",
    "ـــــ",
    "ً",
    "a",
    "التَّضَخُّمُ وَالبَطَالَةُ مِنْ أَكْبَرِ التَّحَدِّيَاتِ.",
    "مباراة الأحد بين \"Al Ahly\" و\"Zamalek\" انتهت بالتعادل ١-١.",
    "ارتفع سعر برميل النفط إلى ٨٥٫٤ دولارًا.",
    "گزارش پژوهشی چاپ شد",
    "Ce texte est en français, avec des accents: é è ç.",
    "قال: 'نعم' - ثم غادر — بسرعة.",
    "Hello — «مرحبًا» — 你好",
    "إعصار «Daniel» ضرب مدينة درنة في ليبيا عام ٢٠٢٣.",
]


def tokenizer_goldens(tok: MarianTokenizer, golden_cases: list[dict], omitted: list[str]) -> dict:
    vocab = tok.get_vocab()
    pad, unk, eos = tok.pad_token_id, tok.unk_token_id, tok.eos_token_id
    texts = list(TOKENIZER_TEXTS)
    # make sure the pieces left out of vocab.json are exercised: a text made of exactly those pieces
    texts.append(" ".join(p.replace("▁", "") for p in omitted) + " تجربة")
    encode = []
    for t in texts:
        enc = tok(t)
        encode.append({
            "text": t,
            "pieces": tok.tokenize(t),
            "input_ids": enc.input_ids,
        })

    src_sp = tok.spm_source
    tgt_sp = tok.spm_target
    tgt_pieces = normal_pieces(tgt_sp)
    src_only = [p for p in normal_pieces(src_sp) if p not in set(tgt_pieces) and p in vocab]
    arabic_src = [p for p in src_only if re.search(r"[\u0600-\u06FF]", p)]
    eng = [vocab[p] for p in tgt_sp.encode("The minister said the economy grew.", out_type=str)]
    eng2 = [vocab[p] for p in tgt_sp.encode("Rain is expected on Friday.", out_type=str)]
    word_boundary = vocab.get("▁")
    id_seqs: list[tuple[str, list[int]]] = []
    # outputs of the model (golden)
    for c in golden_cases[:6]:
        id_seqs.append((f"golden {c['set']} {c['index']} greedy", c["outputs"]["greedy"]["sequences"][0]))
    for c in golden_cases[6:8]:
        id_seqs.append((f"golden {c['set']} {c['index']} beam4", c["outputs"]["beam4"]["sequences"][0]))
    id_seqs += [
        ("english with start and eos", [pad] + eng + [eos]),
        ("english without specials", eng),
        ("unk inside", eng[:3] + [unk] + eng[3:] + [eos]),
        ("unk first", [unk] + eng2),
        ("pad inside", eng[:2] + [pad] + eng[2:]),
        ("eos inside then more", eng + [eos] + eng2 + [eos]),
        ("arabic source-only pieces decoded with target spm", [pad] + [vocab[p] for p in arabic_src[:6]] + [eos]),
        ("mixed arabic and english pieces", eng[:3] + [vocab[p] for p in arabic_src[6:9]] + eng2[:3]),
        ("only specials", [pad, unk, eos]),
        ("empty", []),
        ("start only", [pad]),
        ("eos only", [eos]),
    ]
    if word_boundary is not None:
        id_seqs.append(("bare word boundary pieces", [word_boundary] + eng2[:2] + [word_boundary, word_boundary] + [eos]))
    decode = []
    for label, ids in id_seqs:
        decode.append({
            "label": label,
            "ids": ids,
            "tokens": tok.convert_ids_to_tokens(ids),
            "skip_special_tokens_true": tok.decode(ids, skip_special_tokens=True),
            "skip_special_tokens_false": tok.decode(ids, skip_special_tokens=False),
        })
    return {
        "note": "MarianTokenizer(source.spm, target.spm, vocab.json) of tests/fixtures/marian-tiny; "
                "encode = tokenizer(text).input_ids; decode = tokenizer.decode(ids, skip_special_tokens=...) "
                "with clean_up_tokenization_spaces at its effective default (see meta)",
        "meta": {
            "transformers": transformers.__version__,
            "sentencepiece": spm.__version__,
            "sacremoses_installed": sacremoses_installed(),
            "clean_up_tokenization_spaces": tok.clean_up_tokenization_spaces,
            "pieces_omitted_from_vocab": omitted,
        },
        "encode": encode,
        "decode": decode,
    }


def sacremoses_installed() -> bool:
    try:
        import sacremoses  # noqa: F401
        return True
    except ImportError:
        return False


# ----------------------------------------------------------------------------------------------
# JSON writing: one compact line per case


def dump_compact(obj: dict, path: Path, line_keys: tuple[str, ...]) -> None:
    parts = ["{"]
    keys = list(obj)
    for i, k in enumerate(keys):
        sep = "," if i < len(keys) - 1 else ""
        v = obj[k]
        if k in line_keys and isinstance(v, list):
            parts.append(f"  {json.dumps(k)}: [")
            for j, item in enumerate(v):
                s = "," if j < len(v) - 1 else ""
                parts.append("    " + json.dumps(item, ensure_ascii=False, separators=(",", ":")) + s)
            parts.append("  ]" + sep)
        else:
            parts.append(f"  {json.dumps(k)}: " + json.dumps(v, ensure_ascii=False, separators=(",", ":")) + sep)
    parts.append("}")
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")


# ----------------------------------------------------------------------------------------------


def build_spms():
    ar_team = read_lines(TEXT_DIR / "ar.txt")
    en_team = read_lines(TEXT_DIR / "en.txt")
    article = read_lines(SEED_ARTICLE)
    src_bytes = train_spm(article + ar_team, SRC_VOCAB)
    tgt_bytes = train_spm(en_team, TGT_VOCAB)
    # determinism check
    assert train_spm(article + ar_team, SRC_VOCAB) == src_bytes, "source spm training is not deterministic"
    return src_bytes, tgt_bytes


def make_tiny() -> None:
    require_shared()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    src_bytes, tgt_bytes = build_spms()
    src_sp, tgt_sp = load_spm_bytes(src_bytes), load_spm_bytes(tgt_bytes)
    vocab, omitted = build_vocab(src_sp, tgt_sp)
    print(f"vocab: {len(vocab)} ids (source spm {src_sp.get_piece_size()}, target spm {tgt_sp.get_piece_size()}), "
          f"omitted from vocab.json: {omitted}")

    if FIXTURE.exists():
        shutil.rmtree(FIXTURE)
    write_model_dir(FIXTURE, src_bytes, tgt_bytes, vocab, TINY_DIMS, TINY_MAX_LENGTH, SEED)

    tok = MarianTokenizer.from_pretrained(FIXTURE)
    assert tok.pad_token_id == len(vocab) - 1 and tok.eos_token_id == 0 and tok.unk_token_id == 1
    # round trip on English through the target side
    probe = "The minister said the economy grew by 4% in March."
    ids = [vocab.get(p, 1) for p in tgt_sp.encode(probe, out_type=str)]
    assert tok.decode(ids, skip_special_tokens=True) == probe, tok.decode(ids, skip_special_tokens=True)
    ar_probe = "قال الوزير إن الاقتصاد نما."
    assert tok.decode(tok(ar_probe).input_ids, skip_special_tokens=True, use_source_tokenizer=True) == ar_probe

    m64, m32 = load_pair(FIXTURE)
    pad = m64.config.pad_token_id

    segs = [("seed", i, t) for i, t in enumerate(seed_segments())] + [
        ("tatoeba", i, t) for i, t in enumerate(tatoeba_segments())
    ]
    print(f"cases: {sum(1 for s in segs if s[0] == 'seed')} seed + {sum(1 for s in segs if s[0] == 'tatoeba')} tatoeba")

    cases = []
    for set_name, idx, text in segs:
        input_ids = tok(text).input_ids
        settings = dict(MAIN_SETTINGS)
        if idx < N_EXTRA:
            settings.update(EXTRA_SETTINGS)
        outputs = golden_outputs(m64, m32, input_ids, settings, pad)
        cases.append({"set": set_name, "index": idx, "sha256": sha256(text), "input_ids": input_ids,
                      "outputs": outputs})
        print(f"  {set_name:7s} {idx:3d} src {len(input_ids):3d} greedy {len(outputs['greedy']['sequences'][0]):3d} "
              f"beam4 {len(outputs['beam4']['sequences'][0]):3d}", flush=True)

    # batched vs one-by-one
    batch_texts = [t for s, i, t in segs if s == "seed"][:N_BATCH]
    enc = tok(batch_texts, padding=True, return_tensors="pt")
    batch_report = {"set": "seed", "indices": list(range(N_BATCH)),
                    "padded_length": int(enc.input_ids.shape[1]),
                    "input_lengths": [int(x) for x in enc.attention_mask.sum(1)], "results": {}}
    batch_report["results"] = batch_results(m64, m32, enc.input_ids.tolist(), enc.attention_mask, cases[:N_BATCH],
                                            MAIN_SETTINGS, ("greedy", "beam4"), pad)

    settings_doc = {k: v for k, v in {**MAIN_SETTINGS, **EXTRA_SETTINGS}.items()}
    golden = {
        "meta": {
            "generator": "scripts/make_fixtures.py",
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "sentencepiece": spm.__version__,
            "numpy": np.__version__,
            "dtype": "float64 (weights stored as float32, model.double()); f32_agrees compares a float32 run",
            "attn_implementation": m64.config._attn_implementation,
            "common_generate_kwargs": COMMON_KWARGS,
            "defaults": "generation_config.json of this directory (num_beams 4, max_length "
                        f"{TINY_MAX_LENGTH}, bad_words_ids [[pad]], forced_eos_token_id 0, renormalize_logits true)",
            "sequences": "generate().sequences per returned sequence, leading decoder start token kept, "
                         "trailing <pad> removed",
            "min_margin": "greedy settings: smallest top1-top2 gap of the processed next-token scores over all steps; beam settings: smallest gap among the top 2*num_beams+1 accumulated candidate scores and among the length-normalized scores competing for finished slots, over all steps",
            "segmentation": "seed: each non-empty stripped line of article.ar.txt split with "
                            "re.split(r'(?<=[.!?؟…])\\s+', line), empties dropped; tatoeba: first "
                            f"{N_TATOEBA} lines of sample500.ar, stripped",
            "input": "input_ids = MarianTokenizer(text).input_ids; text identified by sha256 of its UTF-8 bytes",
            "extra_settings_cases": f"first {N_EXTRA} seed and first {N_EXTRA} tatoeba cases",
            "pieces_omitted_from_vocab": omitted,
        },
        "settings": settings_doc,
        "batch_check": batch_report,
        "cases": cases,
    }
    dump_compact(golden, FIXTURE / "golden.json", ("cases",))

    tg = tokenizer_goldens(tok, cases, omitted)
    dump_compact(tg, FIXTURE / "tokenizer_golden.json", ("encode", "decode"))
    summarize(cases, batch_report)


def summarize(cases: list[dict], batch_report: dict) -> None:
    from collections import Counter

    print("\n=== summary ===")
    for setting in list(MAIN_SETTINGS) + list(EXTRA_SETTINGS):
        outs = [c["outputs"][setting] for c in cases if setting in c["outputs"]]
        lens = [len(s) for o in outs for s in o["sequences"]]
        # EOS chosen by the model, not forced at the length limit
        kw = {**MAIN_SETTINGS, **EXTRA_SETTINGS}[setting]
        limit = kw["max_new_tokens"] + 1 if "max_new_tokens" in kw else TINY_MAX_LENGTH
        ended = sum(1 for o in outs for s in o["sequences"] if s[-1] == 0 and len(s) < limit)
        agree = sum(o["f32_agrees"] for o in outs)
        distinct = len({tuple(o["sequences"][0]) for o in outs})
        line = (f"{setting:24s} n={len(outs):3d} len min/med/max={min(lens)}/{int(np.median(lens))}/{max(lens)} "
                f"ended_with_eos={ended}/{len(lens)} distinct={distinct} f32_agrees={agree}/{len(outs)}")
        margins = [o["min_margin"] for o in outs if "min_margin" in o]
        if margins:
            line += f" min_margin min={min(margins):.3g} median={float(np.median(margins)):.3g}"
        print(line)
    hist = Counter(len(c["outputs"]["greedy"]["sequences"][0]) for c in cases)
    print("greedy length histogram:", dict(sorted(hist.items())))
    print("batch check:", {k: v["equal"] for k, v in batch_report["results"].items()})


def make_full(out_dir: Path) -> None:
    require_shared()
    src_bytes, tgt_bytes = build_spms()
    src_sp, tgt_sp = load_spm_bytes(src_bytes), load_spm_bytes(tgt_bytes)
    vocab, omitted = build_vocab(src_sp, tgt_sp, pad_to=FULL_VOCAB_SIZE)
    assert len(vocab) == FULL_VOCAB_SIZE
    if out_dir.exists():
        shutil.rmtree(out_dir)
    write_model_dir(out_dir, src_bytes, tgt_bytes, vocab, FULL_DIMS, 512, SEED + 1)
    print(f"wrote full-size random model to {out_dir}: vocab {len(vocab)}, dims {FULL_DIMS}")
    # one sanity generation (greedy, f32) of the first seed sentence, for benchmark cross-checks
    tok = MarianTokenizer.from_pretrained(out_dir)
    model = MarianMTModel.from_pretrained(out_dir).eval()
    text = seed_segments()[0]
    ids = tok(text).input_ids
    seqs, _, margin = run_generate(model, [ids], {"num_beams": 1}, model.config.pad_token_id)
    sample = {"set": "seed", "index": 0, "sha256": sha256(text), "input_ids": ids,
              "greedy_f32": seqs[0], "min_margin": margin,
              "transformers": transformers.__version__, "torch": torch.__version__}
    (out_dir / "sample_golden.json").write_text(json.dumps(sample) + "\n")
    print(f"sample greedy output length {len(seqs[0])}, min margin {margin:.3g}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full-size", metavar="OUT_DIR", type=Path,
                    help="write a full-size random model with opus-mt-ar-en's dimensions to OUT_DIR instead")
    args = ap.parse_args()
    if args.full_size:
        make_full(args.full_size.resolve())
    else:
        make_tiny()


if __name__ == "__main__":
    main()
