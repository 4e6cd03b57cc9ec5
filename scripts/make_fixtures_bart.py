#!/usr/bin/env python3
"""Build tarjama's BART test fixture with Hugging Face transformers as the reference.

Run from the crate root:

    /work/pyenv/bin/python scripts/make_fixtures_bart.py        # tests/fixtures/bart-tiny

The fixture (committed) holds:
  config.json, generation_config.json, model.safetensors
                           a tiny random BartForConditionalGeneration shaped like
                           sshleifer/distilbart-cnn-12-6 / facebook/bart-large-cnn (GELU, learned
                           positions with offset 2, layernorm_embedding, post layer norm, tied
                           embeddings, final_logits_bias); generation defaults like bart-large-cnn's
                           with min_length/max_length scaled down
  vocab.json, merges.txt   a byte-level BPE trained with the `tokenizers` library on team-written
                           English (scripts/fixture_text/en.txt plus TEAM_EXTRA below):
                           <s>=0 <pad>=1 </s>=2 <unk>=3 ... <mask> last
  tokenizer.json, tokenizer_config.json, special_tokens_map.json
                           what BartTokenizerFast.save_pretrained writes for those files
  golden.json              transformers generate() ids for English paragraphs made of consecutive
                           lines of ../shared/data/tatoeba-ara-eng/sample500.en (inputs identified
                           by sha256 only; their text is never stored)
  tokenizer_golden.json    BartTokenizerFast encode/decode results on team-written texts and on id
                           sequences whose bytes are not valid UTF-8

Helpers (generation with margins, the beam-margin probe, compact JSON) come from make_fixtures.py.
Everything is deterministic (fixed seeds, single-threaded torch).
"""

from __future__ import annotations

import json
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import tokenizers
import torch
import transformers
from tokenizers import ByteLevelBPETokenizer
from transformers import BartConfig, BartForConditionalGeneration, BartTokenizer, BartTokenizerFast, GenerationConfig
from transformers.models.bart.tokenization_bart import bytes_to_unicode

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_fixtures as mf  # noqa: E402

ROOT = mf.ROOT
TATOEBA_EN = mf.SHARED / "tatoeba-ara-eng" / "sample500.en"
FIXTURE = ROOT / "tests" / "fixtures" / "bart-tiny"

SEED = 3
VOCAB_SIZE = 500  # including <mask>, which is appended last as in facebook/bart-large-cnn's vocab.json
DIMS = dict(d_model=32, layers=2, heads=4, ffn=64)
MAX_POSITIONS = 256
MIN_LENGTH = 18  # bart-large-cnn: 56 (of 142; 48 * 56 / 142 ≈ 19)
MAX_LENGTH = 48  # bart-large-cnn: 142
PAD, BOS, EOS, UNK = 1, 0, 2, 3

# Random-weight recipe (see ../shared/PARITY.md): every parameter random, cross-attention
# amplified, and a length channel that raises the EOS logit with the decoding step, so outputs
# depend on the input and stop at varied lengths. Tuned for this model with SEED.
EMB_STD = 1.0 / math.sqrt(DIMS["d_model"])  # token and position embedding std
CROSS_Q_GAIN = 3.0  # sharpen cross-attention (q_proj weight and bias)
CROSS_OUT_GAIN = 8.0  # make cross-attention dominate the residual stream (out_proj weight)
FLB_STD = 0.5  # final_logits_bias std
FINAL_LN_GAIN = 2.0  # last decoder layer's final layer norm (sharper logits)
# Length channel: model dimension POS_DIM of the decoder's learned position table holds a ramp of
# the position; decoder sublayers write into it only weakly, and only the EOS embedding (tied to
# the output projection) reads it strongly.
POS_DIM = 7
POS_RAMP = 0.03  # position table value in POS_DIM per step (from -POS_RAMP_START)
POS_RAMP_START = 0.5
POS_QUIET = 0.02
EOS_POS_WEIGHT = 3.0
POS_LN_GAIN = 1.5
EOS_BOOST = 3.0  # added to final_logits_bias[eos]

N_PARAGRAPHS = 24
PARAGRAPH_SIZES = [5, 6, 7, 8, 9, 10, 11, 12]  # sentences per paragraph, cycled
N_BATCH = 8

COMMON_KWARGS = mf.COMMON_KWARGS
SETTINGS = {
    # plain greedy search: the defaults' no-repeat and minimum length switched off
    "greedy": {"num_beams": 1, "no_repeat_ngram_size": 0, "min_length": 0},
    # generation_config.json as it is: 4 beams, length_penalty 2.0, no_repeat_ngram_size 3,
    # min_length 8, max_length 48, early_stopping true
    "beam4": {},
    "beam4_es_false": {"num_beams": 4, "early_stopping": False},
    "beam1_nr3_min": {"num_beams": 1, "no_repeat_ngram_size": 3, "min_length": MIN_LENGTH},
}

# More team-written training text for the BPE (besides scripts/fixture_text/en.txt).
TEAM_EXTRA = [
    "The café on the corner reopened after a long renovation — and it is busy again.",
    "Résumé writing workshops were held for young graduates in the city.",
    "The delegation met the minister; the talks lasted three hours.",
    "Officials said the new bridge would open next spring, weeks ahead of schedule.",
    "The court postponed the trial until the end of the month.",
    "Markets were calm on Monday, while oil prices edged higher.",
    "A spokesman said the company would hire 300 workers this year.",
    "Schools will stay closed on Thursday because of the storm.",
    "The festival drew thousands of visitors from across the region.",
    "Scientists said the summer was warmer than any on record.",
]

TOKENIZER_TEXTS = [
    "The minister said the economy grew by 4% in March.",
    "The café reopened — finally!",
    "Résumé, naïve, façade and déjà vu.",
    "Celebrations 🎉🎉 went on all night 🌙.",
    "He said مرحبا and left.",
    "قال الوزير إن الاقتصاد نما.",
    "Hello — «مرحبًا» — 你好",
    "   leading and trailing spaces   ",
    "two  spaces and\ttab\nnew line",
    "",
    " ",
    "The <mask> rose by 2%.",
    "The<mask>rose.",
    "<s> inside </s> text <pad> and <unk>",
    "Numbers: 1,234,567.89 and 2025-01-31.",
    "Don't stop; it's the U.N.'s report, isn't it?",
    "\"Quoted\" and 'single' and “curly” quotes…",
    "ＡＢＣ full-width and ﬁ ligature",
    "Emoji with skin tone 👍🏽 and flag 🇪🇬.",
    "Tabs\t\tand\u00a0no-break\u200bzero width",
    "A very long word: supercalifragilisticexpialidocious.",
]


def train_tokenizer(out: Path) -> None:
    """Trains the byte-level BPE and writes vocab.json + merges.txt, then the files
    BartTokenizerFast.save_pretrained writes (tokenizer.json, tokenizer_config.json, ...)."""
    lines = mf.read_lines(mf.TEXT_DIR / "en.txt") + TEAM_EXTRA
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(lines, vocab_size=VOCAB_SIZE - 1, min_frequency=2,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>"], show_progress=False)
    raw = out / "raw-bpe"
    raw.mkdir(parents=True)
    bpe.save_model(str(raw))
    vocab = json.loads((raw / "vocab.json").read_text(encoding="utf-8"))
    assert len(vocab) == VOCAB_SIZE - 1, len(vocab)
    assert [vocab[t] for t in ("<s>", "<pad>", "</s>", "<unk>")] == [0, 1, 2, 3]
    vocab["<mask>"] = len(vocab)
    (raw / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    fast = BartTokenizerFast(vocab_file=str(raw / "vocab.json"), merges_file=str(raw / "merges.txt"),
                             model_max_length=1024)
    fast.save_pretrained(out)  # tokenizer.json, tokenizer_config.json, special_tokens_map.json
    # vocab.json + merges.txt as the Hub's BART repos ship them (the slow tokenizer's files)
    slow = BartTokenizer(vocab_file=str(raw / "vocab.json"), merges_file=str(raw / "merges.txt"),
                         model_max_length=1024)
    slow.save_vocabulary(str(out))
    shutil.rmtree(raw)


def make_config() -> BartConfig:
    return BartConfig(
        vocab_size=VOCAB_SIZE,
        **mf.layer_dims(DIMS),
        max_position_embeddings=MAX_POSITIONS,
        activation_function="gelu",
        scale_embedding=False,
        tie_word_embeddings=True,
        pad_token_id=PAD,
        bos_token_id=BOS,
        eos_token_id=EOS,
        decoder_start_token_id=EOS,
        forced_bos_token_id=BOS,
        forced_eos_token_id=EOS,
        dropout=0.1,
        attention_dropout=0.0,
        activation_dropout=0.0,
        init_std=0.02,
        use_cache=True,
        architectures=["BartForConditionalGeneration"],
        # keys present in facebook/bart-large-cnn's config.json (informational for transformers)
        add_bias_logits=False,
        add_final_layer_norm=False,
        normalize_before=False,
        normalize_embedding=True,
        static_position_embeddings=False,
        classif_dropout=0.0,
    )


def make_generation_config() -> GenerationConfig:
    # facebook/bart-large-cnn's generation_config.json, with min_length/max_length scaled down
    return GenerationConfig(
        bos_token_id=BOS,
        decoder_start_token_id=EOS,
        early_stopping=True,
        eos_token_id=EOS,
        forced_bos_token_id=BOS,
        forced_eos_token_id=EOS,
        length_penalty=2.0,
        max_length=MAX_LENGTH,
        min_length=MIN_LENGTH,
        no_repeat_ngram_size=3,
        num_beams=4,
        pad_token_id=PAD,
    )


@torch.no_grad()
def randomize(model: BartForConditionalGeneration, seed: int) -> None:
    cfg = model.config
    d = cfg.d_model
    g = torch.Generator().manual_seed(seed)

    def randn(shape):
        return torch.randn(shape, generator=g, dtype=torch.float64)

    for name, p in model.named_parameters():  # the tied embedding is listed once
        if name.endswith("shared.weight") or "embed_positions" in name:
            w = EMB_STD * randn(p.shape)
        elif name.endswith("layer_norm.weight") or name.endswith("layernorm_embedding.weight"):
            w = 1.0 + 0.25 * randn(p.shape)
        elif name.endswith(".bias"):
            w = 0.1 * randn(p.shape)
        elif p.ndim == 2:
            w = randn(p.shape) * (1.0 / math.sqrt(p.shape[1]))
        else:
            raise RuntimeError(f"unexpected parameter {name} {tuple(p.shape)}")
        p.copy_(w.to(p.dtype))
    dec = model.model.decoder
    for layer in dec.layers:
        a = layer.encoder_attn
        a.q_proj.weight.mul_(CROSS_Q_GAIN)
        a.q_proj.bias.mul_(CROSS_Q_GAIN)
        a.out_proj.weight.mul_(CROSS_OUT_GAIN)
    c = POS_DIM
    # the learned table's row for position p is p + 2
    n = dec.embed_positions.weight.shape[0]
    ramp = torch.tensor([POS_RAMP * max(r - 2, 0) - POS_RAMP_START for r in range(n)], dtype=torch.float64)
    dec.embed_positions.weight[:, c] = ramp.to(dec.embed_positions.weight.dtype)
    dec.layernorm_embedding.weight[c] = POS_LN_GAIN
    dec.layernorm_embedding.bias[c] *= POS_QUIET
    for layer in dec.layers:
        for lin in (layer.self_attn.out_proj, layer.encoder_attn.out_proj, layer.fc2):
            lin.weight[c, :] *= POS_QUIET
            lin.bias[c] *= POS_QUIET
        for ln in (layer.self_attn_layer_norm, layer.encoder_attn_layer_norm, layer.final_layer_norm):
            ln.weight[c] = POS_LN_GAIN * (1.0 + 0.1 * float(randn(())))
            ln.bias[c] *= POS_QUIET
    emb = model.model.shared.weight
    emb[:, c] *= POS_QUIET
    emb[EOS, c] = EOS_POS_WEIGHT
    ln = dec.layers[-1].final_layer_norm
    ln.weight.mul_(FINAL_LN_GAIN)
    ln.bias.mul_(FINAL_LN_GAIN)
    flb = FLB_STD * randn(model.final_logits_bias.shape)
    flb[0, EOS] += EOS_BOOST
    model.final_logits_bias.copy_(flb.to(model.final_logits_bias.dtype))
    assert model.lm_head.weight.data_ptr() == model.model.shared.weight.data_ptr(), "lm_head not tied"
    assert model.model.encoder.embed_tokens.weight.data_ptr() == model.model.shared.weight.data_ptr()


def write_model(out: Path) -> None:
    cfg = make_config()
    torch.manual_seed(SEED)
    model = BartForConditionalGeneration(cfg)
    randomize(model, SEED)
    model.generation_config = make_generation_config()
    model.save_pretrained(out, safe_serialization=True)
    # bart-large-cnn's config.json also carries its generation and summarization settings
    path = out / "config.json"
    c = json.loads(path.read_text(encoding="utf-8"))
    summarization = {"early_stopping": True, "length_penalty": 2.0, "max_length": MAX_LENGTH,
                     "min_length": MIN_LENGTH, "no_repeat_ngram_size": 3, "num_beams": 4}
    c.update(summarization)
    c["forced_bos_token_id"] = BOS
    c["task_specific_params"] = {"summarization": summarization}
    path.write_text(json.dumps(c, indent=2, sort_keys=True) + "\n", encoding="utf-8")


# ----------------------------------------------------------------------------------------------
# golden inputs


def paragraphs() -> list[str]:
    if not TATOEBA_EN.is_file():
        sys.exit(f"make_fixtures_bart: needs {TATOEBA_EN} (../shared/data beside the crate)")
    lines = [l.strip() for l in TATOEBA_EN.read_text(encoding="utf-8").splitlines()]
    out, start = [], 0
    for i in range(N_PARAGRAPHS):
        n = PARAGRAPH_SIZES[i % len(PARAGRAPH_SIZES)]
        out.append(" ".join(lines[start:start + n]))
        start += n
    return out


# ----------------------------------------------------------------------------------------------
# tokenizer goldens


def byte_ids(tok, data: bytes) -> list[int]:
    """The ids of the single-byte tokens spelling `data` (every byte is in the base alphabet)."""
    b2u = bytes_to_unicode()
    return [tok.convert_tokens_to_ids(b2u[b]) for b in data]


def tokenizer_goldens(fast, slow, cases: list[dict]) -> dict:
    encode = []
    for t in TOKENIZER_TEXTS:
        ids = fast(t).input_ids
        encode.append({"text": t, "tokens": fast.convert_ids_to_tokens(ids), "input_ids": ids,
                       "slow_agrees": slow(t).input_ids == ids})
    words = fast("The report said", add_special_tokens=False).input_ids
    more = fast(" prices rose", add_special_tokens=False).input_ids
    b = lambda data: byte_ids(fast, data)  # noqa: E731
    mask = fast.mask_token_id
    id_seqs: list[tuple[str, list[int]]] = []
    for c in cases[:4]:
        id_seqs.append((f"golden {c['index']} greedy", c["outputs"]["greedy"]["sequences"][0]))
    for c in cases[4:6]:
        id_seqs.append((f"golden {c['index']} beam4", c["outputs"]["beam4"]["sequences"][0]))
    id_seqs += [
        ("words with specials", [EOS, BOS] + words + more + [EOS]),
        ("words without specials", words + more),
        ("e-acute split over two byte tokens", words + b(b" caf") + b("é".encode())),
        ("lone lead byte of e-acute", b(b"caf") + b("é".encode()[:1]) + more),
        ("lone continuation byte", words + b(b"\xa9") + more),
        ("emoji: first two of four bytes", words + b("🎉".encode()[:2]) + more),
        ("emoji: first three bytes then eos", [BOS] + words + b("🎉".encode()[:3]) + [EOS]),
        ("emoji bytes reversed", b("🎉".encode()[::-1])),
        ("arabic: lead byte alone", b(" م".encode()[:2]) + more),
        ("arabic: full letters from byte tokens", b(" مرحبا".encode())),
        ("invalid bytes c0 af, ed a0 80, f8, ff", b(b"\xc0\xaf x \xed\xa0\x80 y \xf8\xff")),
        ("partial bytes around a special token", b("é".encode()[:1]) + [EOS] + b("é".encode()[1:])),
        ("mask, unk and pad inside", words + [mask] + more + [UNK, PAD]),
        ("only specials", [EOS, BOS, PAD, UNK, mask, EOS]),
        ("empty", []),
        ("start only", [EOS]),
    ]
    decode = []
    for label, ids in id_seqs:
        entry = {"label": label, "ids": ids, "tokens": fast.convert_ids_to_tokens(ids)}
        for skip in (True, False):
            key = f"skip_special_tokens_{str(skip).lower()}"
            entry[key] = fast.decode(ids, skip_special_tokens=skip)
            entry[f"slow_agrees_{str(skip).lower()}"] = slow.decode(ids, skip_special_tokens=skip) == entry[key]
        decode.append(entry)
    return {
        "note": "BartTokenizerFast (tokenizer.json) of tests/fixtures/bart-tiny; encode = tokenizer(text).input_ids; "
                "decode = tokenizer.decode(ids, skip_special_tokens=...) with clean_up_tokenization_spaces "
                "as in tokenizer_config.json; slow_agrees* compare BartTokenizer(vocab.json, merges.txt)",
        "meta": {
            "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__,
            "clean_up_tokenization_spaces": fast.clean_up_tokenization_spaces,
            "vocab_size": fast.vocab_size,
            "len": len(fast),
        },
        "encode": encode,
        "decode": decode,
    }


# ----------------------------------------------------------------------------------------------


def generate_cases(m64, m32, tok, texts: list[str]) -> list[dict]:
    cases = []
    for idx, text in enumerate(texts):
        input_ids = tok(text).input_ids
        assert len(input_ids) <= MAX_POSITIONS, len(input_ids)
        outputs = mf.golden_outputs(m64, m32, input_ids, SETTINGS, PAD)
        cases.append({"set": "tatoeba-en-paragraphs", "index": idx, "sha256": mf.sha256(text),
                      "input_ids": input_ids, "outputs": outputs})
        print(f"  {idx:3d} src {len(input_ids):3d} " + " ".join(
            f"{k} {len(o['sequences'][0]):2d}{'' if o['f32_agrees'] else '*'}" for k, o in outputs.items()),
            flush=True)
    return cases


def batch_check(m64, m32, tok, texts: list[str], cases: list[dict]) -> dict:
    enc = tok(texts[:N_BATCH], padding=True, return_tensors="pt")
    report = {"indices": list(range(N_BATCH)), "padded_length": int(enc.input_ids.shape[1]),
              "input_lengths": [int(x) for x in enc.attention_mask.sum(1)], "results": {}}
    report["results"] = mf.batch_results(m64, m32, enc.input_ids.tolist(), enc.attention_mask, cases[:N_BATCH],
                                         SETTINGS, ("greedy", "beam4"), PAD)
    return report


def summarize(cases: list[dict], report: dict) -> None:
    print("\n=== summary ===")
    for setting in SETTINGS:
        outs = [c["outputs"][setting] for c in cases]
        lens = [len(o["sequences"][0]) for o in outs]
        ended = sum(1 for o in outs if o["sequences"][0][-1] == EOS and len(o["sequences"][0]) < MAX_LENGTH)
        distinct = len({tuple(o["sequences"][0]) for o in outs})
        agree = sum(o["f32_agrees"] for o in outs)
        margins = [o["min_margin"] for o in outs]
        print(f"{setting:16s} n={len(outs)} len min/med/max={min(lens)}/{int(np.median(lens))}/{max(lens)} "
              f"ended_with_eos={ended}/{len(outs)} distinct={distinct} f32_agrees={agree}/{len(outs)} "
              f"min_margin min={min(margins):.3g} median={float(np.median(margins)):.3g}")
    print("batch check:", {k: v["equal"] for k, v in report["results"].items()})


def main() -> None:
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    texts = paragraphs()
    if FIXTURE.exists():
        shutil.rmtree(FIXTURE)
    FIXTURE.mkdir(parents=True)
    train_tokenizer(FIXTURE)
    write_model(FIXTURE)

    fast = BartTokenizerFast.from_pretrained(FIXTURE)
    slow = BartTokenizer.from_pretrained(FIXTURE)
    assert (fast.bos_token_id, fast.pad_token_id, fast.eos_token_id, fast.unk_token_id) == (BOS, PAD, EOS, UNK)
    assert fast.mask_token_id == VOCAB_SIZE - 1 and len(fast) == VOCAB_SIZE
    for t in texts:
        assert fast(t).input_ids == slow(t).input_ids

    m64, m32 = mf.load_pair(FIXTURE, BartForConditionalGeneration)
    print(f"cases: {len(texts)} paragraphs")
    cases = generate_cases(m64, m32, fast, texts)
    report = batch_check(m64, m32, fast, texts, cases)
    golden = {
        "meta": {
            "generator": "scripts/make_fixtures_bart.py",
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "tokenizers": tokenizers.__version__,
            "dtype": "float64 (weights stored as float32, model.double()); f32_agrees compares a float32 run",
            "attn_implementation": m64.config._attn_implementation,
            "common_generate_kwargs": COMMON_KWARGS,
            "defaults": "generation_config.json of this directory (num_beams 4, length_penalty 2.0, "
                        f"min_length {MIN_LENGTH}, max_length {MAX_LENGTH}, no_repeat_ngram_size 3, "
                        "early_stopping true, forced_bos_token_id 0, forced_eos_token_id 2)",
            "sequences": "generate().sequences, leading decoder start token kept, trailing <pad> removed",
            "min_margin": "greedy settings: smallest top1-top2 gap of the processed next-token scores over "
                          "all steps; beam settings: smallest gap among the top 2*num_beams+1 accumulated "
                          "candidate scores and among the length-normalized scores competing for finished "
                          "slots, over all steps",
            "input": f"paragraph i joins lines of sample500.en (stripped) with single spaces; paragraph sizes "
                     f"cycle through {PARAGRAPH_SIZES} consecutive lines from line 0; input_ids = "
                     "BartTokenizerFast(text).input_ids; text identified by sha256 of its UTF-8 bytes",
        },
        "settings": SETTINGS,
        "batch_check": report,
        "cases": cases,
    }
    mf.dump_compact(golden, FIXTURE / "golden.json", ("cases",))
    tg = tokenizer_goldens(fast, slow, cases)
    mf.dump_compact(tg, FIXTURE / "tokenizer_golden.json", ("encode", "decode"))
    summarize(cases, report)
    total = sum(p.stat().st_size for p in FIXTURE.iterdir())
    print(f"fixture size: {total} bytes")


if __name__ == "__main__":
    main()
