#!/usr/bin/env python3
"""Build tarjama's fixtures shaped like the real Hub repos, with transformers' goldens.

Run from the crate root (needs ../shared beside the crate: ../shared/realconfigs for the real key
sets, ../shared/data for the translation golden inputs):

    /work/pyenv/bin/python scripts/make_fixtures_real.py            # every fixture
    /work/pyenv/bin/python scripts/make_fixtures_real.py --only tc-big-tiny
    /work/pyenv/bin/python scripts/make_fixtures_real.py --full-size bench-models   # not committed

Every fixture copies the real repo's config.json / generation_config.json / tokenizer_config.json /
special_tokens_map.json (from ../shared/realconfigs) and changes only dimension numbers and token
ids; the weights are stored in the format the real repo uses:

  tc-big-tiny           Helsinki-NLP/opus-mt-tc-big-ar-en: ReLU, alphabetically sorted vocab.json
                        (">" = 0, "</s>" and "<unk>" far from 0, "<pad>" last = decoder start),
                        bos 0, eos = forced_eos = vocab["</s>"], no renormalize_logits, 1024
                        positions; float16 weights in a zip pytorch_model.bin (torch.save default)
  opus-mt-ar-en-tiny    Helsinki-NLP/opus-mt-ar-en: marian-tiny's tokenizer and weights, the 2022
                        config key set, renormalize_logits; float32 legacy pytorch_model.bin
                        (torch.save(..., _use_new_zipfile_serialization=False)) holding every alias
                        and the sinusoidal tables, as a 2020 conversion does
  nllb-real-tiny        facebook/nllb-200-distilled-600M: nllb-tiny's tokenizer and weights, the
                        real key sets (max_length 200); zip pytorch_model.bin with the alias tensors
                        model.shared / model.encoder.embed_tokens / model.decoder.embed_tokens /
                        lm_head sharing one storage
  distilbart-tiny       sshleifer/distilbart-cnn-12-6: 3 encoder / 2 decoder layers, the old config
                        keys (force_bos_token_to_be_generated, prefix " ", task_specific_params,
                        generation keys at the top level), vocab_size = tokenizer size - 1 (<mask>
                        has no row), NO generation_config.json, NO tokenizer.json (bart-tiny's
                        vocab.json + merges.txt); float32 legacy pytorch_model.bin
  t5-small-tiny         google-t5/t5-small: t5-tiny's tokenizer and weights with the 2020 config (no
                        feed_forward_proj, relative_attention_max_distance, tie_word_embeddings,
                        num_decoder_layers: transformers' defaults apply) and the real
                        summarization task params (prefix "summarize: ", min 30, max 200)
  mt5-xlsum-tiny        csebuetnlp/mT5_multilingual_XLSum: mt5-tiny's weights (untied lm_head), its
                        spiece.model only (no tokenizer.json), generation keys in config.json, no
                        generation_config.json; zip pytorch_model.bin

--full-size OUT_ROOT instead writes the two default models of `tarjama run` at their real shapes
(random weights, same recipes and file formats, tokenizers filled with made-up entries up to the
real vocabulary sizes), opus-mt-tc-big-ar-en-random (float16 zip pytorch_model.bin, 60,000 rows)
and distilbart-cnn-12-6-random (float32 legacy pytorch_model.bin, 50,264 rows, 12+6 layers), and
their CTranslate2 float32/int8 conversions, for scripts/bench.py --main-job.

Each fixture has golden.json (generate() ids, float64 reference, greedy and beam 4, with the float32
agreement, the closest decision margin and a batch-of-8 check, as make_fixtures.py writes them).
The summarizers also have pipeline_golden.json: `pipeline("summarization", model=dir,
tokenizer=dir)` itself on team-written paragraphs (stored): `summary_text`, and the ids from
`return_tensors=True`, with whether a float64 copy of the model gives the same ids.

--scratch DIR (default target/fixtures-safetensors) also gets, per fixture, a model.safetensors
of the same tensors (float32 or the stored dtype, one name per tensor), for development while
tarjama cannot read legacy .bin files. Helpers come from make_fixtures*.py. Deterministic: fixed
seeds, single-threaded torch.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
import transformers
from safetensors.torch import save_file
from transformers import (
    AutoTokenizer,
    BartConfig,
    BartForConditionalGeneration,
    GenerationConfig,
    M2M100ForConditionalGeneration,
    MarianConfig,
    MarianMTModel,
    MarianTokenizer,
    MT5ForConditionalGeneration,
    T5ForConditionalGeneration,
    pipeline,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_fixtures as mf  # noqa: E402
import make_fixtures_bart as mb  # noqa: E402

ROOT = mf.ROOT
FIXTURES = ROOT / "tests" / "fixtures"
REAL = ROOT.parent / "shared" / "realconfigs"
N_TATOEBA = 25
N_BATCH = 8
N_PARAGRAPHS = 16

TRANSLATE_SETTINGS = {"greedy": {"num_beams": 1}, "beam4": {"num_beams": 4}}


# ----------------------------------------------------------------------------------------------
# files


def real(rel: str) -> dict:
    path = REAL / rel
    if not path.is_file():
        sys.exit(f"make_fixtures_real: needs {path} (../shared/realconfigs beside the crate)")
    return json.loads(path.read_text(encoding="utf-8"))


def write_json(path: Path, obj, compact: bool = False) -> None:
    if compact:  # one line, as the tc-big tokenizer_config.json is stored
        text = json.dumps(obj, ensure_ascii=False)
    else:
        text = json.dumps(obj, ensure_ascii=False, indent=2) + "\n"
    path.write_text(text, encoding="utf-8")


def replace(cfg: dict, **values) -> dict:
    """`cfg` with `values` replaced; every key must already exist (the real key set is kept)."""
    out = dict(cfg)
    for k, v in values.items():
        assert k in out, f"{k} is not a key of the real file"
        out[k] = v
    return out


def copy_files(src: Path, out: Path, names: list[str]) -> None:
    for n in names:
        shutil.copyfile(src / n, out / n)


def save_bin(sd: dict, path: Path, legacy: bool) -> None:
    """torch.save of a state dict: the zip format (torch >= 1.6 default) or the legacy one."""
    if legacy:
        save_legacy(sd, path)
    else:
        torch.save(sd, path)


def save_legacy(sd: dict, path: Path) -> None:
    """`torch.save(sd, path, _use_new_zipfile_serialization=False)`, the same container (pickled
    magic number, protocol version and sys-info, the object pickle whose tensors refer to
    storages by key, the sorted storage key list, then each storage as its element count and raw
    bytes), except that the storage keys are 0, 1, 2, ... in order of first use: torch writes
    each storage's memory address there, so two runs would differ. Checked against torch.load."""
    import pickle

    from torch.serialization import INT_SIZE, LONG_SIZE, MAGIC_NUMBER, PROTOCOL_VERSION, SHORT_SIZE

    storages: dict[int, tuple[str, torch.storage.TypedStorage]] = {}

    def persistent_id(obj):
        if isinstance(obj, torch.storage.TypedStorage):
            key, _ = storages.setdefault(obj._untyped_storage.data_ptr(), (str(len(storages)), obj))
            return ("storage", getattr(torch, obj._pickle_storage_type()), key, "cpu", obj._size(), None)
        return None

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return persistent_id(obj)

    sys_info = {"protocol_version": PROTOCOL_VERSION, "little_endian": sys.byteorder == "little",
                "type_sizes": {"short": SHORT_SIZE, "int": INT_SIZE, "long": LONG_SIZE}}
    with open(path, "wb") as f:
        for x in (MAGIC_NUMBER, PROTOCOL_VERSION, sys_info):
            pickle.dump(x, f, protocol=2)
        Pickler(f, protocol=2).dump(sd)
        by_key = dict(storages.values())
        keys = sorted(by_key)
        pickle.dump(keys, f, protocol=2)
        f.flush()
        for k in keys:
            st = by_key[k]
            st._untyped_storage._write_file(f, True, True, torch._utils._element_size(st.dtype))
    back = torch.load(path, weights_only=True)
    assert list(back) == list(sd) and all(torch.equal(back[k], sd[k]) for k in sd), "legacy round trip"
    ptr = {k: t.untyped_storage().data_ptr() for k, t in sd.items()}
    ptr_back = {k: t.untyped_storage().data_ptr() for k, t in back.items()}
    assert all((ptr[a] == ptr[b]) == (ptr_back[a] == ptr_back[b]) for a in sd for b in sd), "sharing lost"


def save_scratch(sd: dict, scratch: Path, name: str) -> None:
    """A model.safetensors copy of the same tensors (one name per storage) for development."""
    out = scratch / name
    out.mkdir(parents=True, exist_ok=True)
    seen, tensors = set(), {}
    for k, t in sd.items():
        key = (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape))
        if key in seen:
            continue
        seen.add(key)
        tensors[k] = t.contiguous().clone()
    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})


# ----------------------------------------------------------------------------------------------
# inputs


def translation_inputs() -> list[tuple[str, int, str]]:
    mf.require_shared()
    segs = [("seed", i, t) for i, t in enumerate(mf.seed_segments())]
    segs += [("tatoeba", i, t) for i, t in enumerate(mf.tatoeba_segments()[:N_TATOEBA])]
    return segs


def team_paragraphs(lang: str) -> list[str]:
    """Paragraphs of consecutive team-written lines (scripts/fixture_text), 3 to 6 lines each."""
    lines = mf.read_lines(mf.TEXT_DIR / f"{lang}.txt")
    out = []
    for i in range(N_PARAGRAPHS):
        start, size = (i * 5) % len(lines), 3 + i % 4
        out.append(" ".join(lines[(start + j) % len(lines)] for j in range(size)))
    return out


# ----------------------------------------------------------------------------------------------
# goldens


def cut_after_eos(seq: list[int], eos: int) -> list[int]:
    return seq[:seq.index(eos, 1) + 1] if eos in seq[1:] else seq


def batch_check(m64, m32, cases, settings, pad: int, eos: int) -> dict:
    rows = [c["input_ids"] for c in cases[:N_BATCH]]
    width = max(map(len, rows))
    ids = [r + [pad] * (width - len(r)) for r in rows]
    mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
    report = {"note": "the first N_BATCH cases as one right-padded batch vs one by one; sequences "
                      "compared up to their first EOS",
              "indices": list(range(len(rows))), "padded_length": width,
              "input_lengths": [len(r) for r in rows]}
    report["results"] = mf.batch_results(m64, m32, ids, mask, cases[:N_BATCH], settings,
                                         list(settings), pad,
                                         same=lambda a, b: cut_after_eos(a, eos) == cut_after_eos(b, eos),
                                         verbose=False)
    return report


def write_golden(out: Path, cls, inputs, encode, settings: dict, note: dict, text_stored: bool) -> dict:
    m64, m32 = mf.load_pair(out, cls)
    pad, eos = m64.generation_config.pad_token_id, m64.generation_config.eos_token_id
    cases = []
    for set_name, idx, text in inputs:
        input_ids = encode(text)
        outputs = mf.golden_outputs(m64, m32, input_ids, settings, pad)
        case = {"set": set_name, "index": idx, "sha256": mf.sha256(text), "input_ids": input_ids,
                "outputs": outputs}
        if text_stored:
            case = {"set": set_name, "index": idx, "text": text, **case}
        cases.append(case)
    report = batch_check(m64, m32, cases, settings, pad, eos)
    golden = {
        "meta": {
            "generator": "scripts/make_fixtures_real.py",
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "model_class": cls.__name__,
            "dtype": "float64 (the stored weights upcast, model.double()); f32_agrees compares a float32 run",
            "attn_implementation": m64.config._attn_implementation,
            "common_generate_kwargs": mf.COMMON_KWARGS,
            "defaults": "the generation settings transformers derives from this directory "
                        f"(model.generation_config): {m64.generation_config.to_diff_dict()}",
            "sequences": "generate().sequences, leading decoder start token kept, trailing <pad> removed",
            "min_margin": "as in make_fixtures.py",
            **note,
        },
        "settings": settings,
        "batch_check": report,
        "cases": cases,
    }
    mf.dump_compact(golden, out / "golden.json", ("cases",))
    summary(out.name, cases, settings, report, eos)
    return golden


def summary(name: str, cases, settings, report, eos) -> None:
    print(f"=== {name}")
    for s in settings:
        outs = [c["outputs"][s] for c in cases]
        lens = [len(o["sequences"][0]) for o in outs]
        ended = sum(1 for o in outs if o["sequences"][0][-1] == eos)
        agree = sum(o["f32_agrees"] for o in outs)
        distinct = len({tuple(o["sequences"][0]) for o in outs})
        margins = [o.get("min_margin", math.inf) for o in outs]
        print(f"  {s:8s} n={len(outs)} len min/med/max={min(lens)}/{int(np.median(lens))}/{max(lens)} "
              f"eos={ended} distinct={distinct} f32_agrees={agree} min_margin={min(margins):.3g}")
    print("  batch:", {k: v["equal"] for k, v in report["results"].items()})


@torch.no_grad()
def write_pipeline_golden(out: Path, cls, texts: list[str]) -> None:
    """`pipeline("summarization", model=dir, tokenizer=dir)` on `texts` (float32, as a user runs
    it), and the same pipeline over a float64 copy of the model for the ids."""
    p32 = pipeline("summarization", model=str(out), tokenizer=str(out), device="cpu")
    m64 = cls.from_pretrained(out, torch_dtype=torch.float32).eval().double()
    p64 = pipeline("summarization", model=m64, tokenizer=p32.tokenizer, device="cpu")
    assert p64.prefix == p32.prefix
    cases = []
    for i, text in enumerate(texts):
        summary_text = p32(text)[0]["summary_text"]
        ids32 = p32(text, return_tensors=True)[0]["summary_token_ids"].tolist()
        ids64 = p64(text, return_tensors=True)[0]["summary_token_ids"].tolist()
        input_ids = p32.tokenizer((p32.prefix or "") + text).input_ids
        cases.append({"index": i, "text": text, "input_ids": input_ids, "summary_token_ids": ids32,
                      "summary_text": summary_text, "f64_agrees": ids64 == ids32})
    gen = p32.generation_config
    golden = {
        "meta": {
            "generator": "scripts/make_fixtures_real.py",
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "call": "pipeline('summarization', model=dir, tokenizer=dir)(text) -> summary_text; "
                    "(text, return_tensors=True) -> summary_token_ids (decoder start kept); float32",
            "prefix": p32.prefix,
            "tokenizer_class": type(p32.tokenizer).__name__,
            "generation_config": gen.to_diff_dict(),
            "effective": {"num_beams": gen.num_beams, "max_length": gen.max_length,
                          "max_new_tokens": gen.max_new_tokens, "min_length": gen.min_length,
                          "length_penalty": gen.length_penalty,
                          "no_repeat_ngram_size": gen.no_repeat_ngram_size,
                          "early_stopping": gen.early_stopping,
                          "forced_bos_token_id": gen.forced_bos_token_id,
                          "forced_eos_token_id": gen.forced_eos_token_id},
            "f64_agrees": "the same pipeline over model.double() gives the same ids",
            "input_ids": "tokenizer(prefix + text).input_ids, what the pipeline feeds generate()",
        },
        "cases": cases,
    }
    mf.dump_compact(golden, out / "pipeline_golden.json", ("cases",))
    lens = [len(c["summary_token_ids"]) for c in cases]
    print(f"  pipeline: prefix {p32.prefix!r} lens {min(lens)}..{max(lens)} "
          f"f64_agrees {sum(c['f64_agrees'] for c in cases)}/{len(cases)} effective {golden['meta']['effective']}")


# ----------------------------------------------------------------------------------------------
# tc-big-tiny


def alphabetical_vocab(base: dict) -> dict:
    """marian-tiny's pieces renumbered like a tc-big vocab.json: ">" and ">>" first, the rest in
    code-point order, "</s>" and "<s>" placed at 84% and "<unk>" at 98% of the ids (where
    opus-mt-tc-big-fr-en has them: 43311 / 53017 and 52024 / 53017), "<pad>" last."""
    pieces = sorted(p for p in base if p not in ("</s>", "<unk>", "<pad>", ">", ">>"))
    pieces = [">", ">>"] + pieces
    n = len(pieces) + 3
    pieces.insert(round(0.843 * n), "</s>")
    pieces.insert(round(0.843 * n) + 1, "<s>")
    pieces.insert(round(0.981 * n), "<unk>")
    pieces.append("<pad>")
    return {p: i for i, p in enumerate(pieces)}


# make_fixtures.py's length channel is weaker with ReLU: a stronger EOS read-out (tuned with SEED 1)
TC_BIG_EOS_POS_WEIGHT = 24.0
TC_BIG_EOS_BOOST = -8.0


@torch.no_grad()
def permuted_marian(cfg: dict, base: dict, vocab: dict) -> MarianMTModel:
    """A random ReLU Marian model for `vocab` (the tc-big numbering): make_fixtures.py's recipe
    applied in `base`'s numbering (marian-tiny's: </s> = 0, the new pieces after, <pad> last),
    then the token rows renumbered. The recipe's length channel was tuned with EOS at 0; renumbering
    is an exact symmetry, so the outputs stop as marian-tiny's do."""
    std = {p: i for p, i in base.items() if p != "<pad>"}
    for p in vocab:
        if p not in std and p != "<pad>":
            std[p] = len(std)
    std["<pad>"] = len(std)
    assert len(std) == len(vocab)
    std_cfg = dict(cfg, eos_token_id=0, forced_eos_token_id=0)
    torch.manual_seed(mf.SEED)
    m = MarianMTModel(MarianConfig.from_dict(std_cfg)).eval()
    saved = mf.EOS_POS_WEIGHT, mf.EOS_BOOST
    mf.EOS_POS_WEIGHT, mf.EOS_BOOST = TC_BIG_EOS_POS_WEIGHT, TC_BIG_EOS_BOOST
    try:
        mf.randomize(m, mf.SEED)
    finally:
        mf.EOS_POS_WEIGHT, mf.EOS_BOOST = saved
    perm = torch.tensor([std[p] for p, _ in sorted(vocab.items(), key=lambda kv: kv[1])])
    sd = m.state_dict()
    sd["model.shared.weight"] = sd["model.shared.weight"][perm].clone()
    sd["final_logits_bias"] = sd["final_logits_bias"][:, perm].clone()
    model = MarianMTModel(MarianConfig.from_dict(cfg)).eval()
    missing, unexpected = model.load_state_dict(
        {k: v for k, v in sd.items() if not k.endswith("embed_tokens.weight") and k != "lm_head.weight"},
        strict=False)
    assert not unexpected and all("embed_tokens" in k or k == "lm_head.weight" for k in missing), missing
    assert model.lm_head.weight.data_ptr() == model.model.shared.weight.data_ptr()
    assert torch.equal(model.model.shared.weight[vocab["<pad>"]], torch.zeros(cfg["d_model"]))
    return model


TINY_DIMS = dict(d_model=32, heads=4, ffn=64, layers=2)
# --full-size: the real models' shapes (realconfigs; tc-big-ar-en's vocabulary size is not known,
# about 60k as its siblings')
TC_BIG_FULL = dict(d_model=1024, heads=16, ffn=4096, layers=6)
TC_BIG_FULL_VOCAB = 60000
DISTILBART_FULL = dict(d_model=1024, heads=16, ffn=4096, encoder_layers=12, decoder_layers=6)
DISTILBART_FULL_VOCAB = 50264  # rows; the tokenizer has one more (<mask>)


def synthetic_pieces(prefix: str, have, n: int) -> list[str]:
    """`n` made-up pieces `{prefix}syn0`, `{prefix}syn1`, ... not in `have`: they fill a small
    fixture tokenizer's vocabulary up to a full-size model's rows (never produced by encoding)."""
    out, i = [], 0
    while len(out) < n:
        p = f"{prefix}syn{i}"
        i += 1
        if p not in have:
            out.append(p)
    return out


def build_tc_big(out: Path, scratch: Path | None, d: dict = TINY_DIMS, vocab_size: int | None = None,
                 goldens: bool = True) -> None:
    src = FIXTURES / "marian-tiny"
    copy_files(src, out, ["source.spm", "target.spm"])
    base_vocab = json.loads((src / "vocab.json").read_text(encoding="utf-8"))
    pieces = dict(base_vocab)
    if vocab_size is not None:
        grow = vocab_size - len(alphabetical_vocab(base_vocab))
        for p in synthetic_pieces("\u2581", base_vocab, grow):
            pieces[p] = len(pieces)
    vocab = alphabetical_vocab(pieces)
    assert vocab_size is None or len(vocab) == vocab_size
    write_json(out / "vocab.json", vocab)
    v, pad, eos = len(vocab), len(vocab) - 1, vocab["</s>"]
    base = "Helsinki-NLP__opus-mt-tc-big-ar-en/analog_opus-mt-tc-big-fr-en/"
    tc = replace(real(base + "tokenizer_config.json"), source_lang="ar",
                 name_or_path="marian-models/opusTCv20210807+bt_transformer-big_2022-03-09/ar-en")
    write_json(out / "tokenizer_config.json", tc, compact=True)
    cfg = replace(real(base + "config.json"), _name_or_path="/tmp/Helsinki-NLP/opus-mt-tc-big-ar-en",
                  bad_words_ids=[[pad]], d_model=d["d_model"], decoder_attention_heads=d["heads"],
                  decoder_ffn_dim=d["ffn"], decoder_layers=d["layers"], decoder_start_token_id=pad,
                  decoder_vocab_size=v, encoder_attention_heads=d["heads"], encoder_ffn_dim=d["ffn"],
                  encoder_layers=d["layers"], eos_token_id=eos, forced_eos_token_id=eos,
                  num_hidden_layers=d["layers"], pad_token_id=pad, vocab_size=v)
    write_json(out / "config.json", cfg)
    gen = replace(real(base + "generation_config.json"), bad_words_ids=[[pad]], decoder_start_token_id=pad,
                  eos_token_id=eos, forced_eos_token_id=eos, pad_token_id=pad)
    write_json(out / "generation_config.json", gen)
    model = permuted_marian(cfg, pieces, vocab)
    # transformers 4.22's save_pretrained: every alias of the tied embedding, no sinusoidal tables
    sd = {k: t for k, t in model.half().state_dict().items() if "embed_positions" not in k}
    save_bin(sd, out / "pytorch_model.bin", legacy=False)
    if scratch is not None:
        save_scratch(sd, scratch, out.name)
    tok = MarianTokenizer.from_pretrained(out)
    assert tok.eos_token_id == eos and tok.pad_token_id == pad and tok.unk_token_id == vocab["<unk>"]
    if not goldens:
        return
    write_golden(out, MarianMTModel, translation_inputs(), lambda t: tok(t).input_ids, TRANSLATE_SETTINGS,
                 {"input": "MarianTokenizer(text).input_ids; seed sentences and the first "
                           f"{N_TATOEBA} Tatoeba lines as in make_fixtures.py (text not stored)"},
                 text_stored=False)


# ----------------------------------------------------------------------------------------------
# opus-mt-ar-en-tiny


def build_opus_mt(out: Path, scratch: Path) -> None:
    src = FIXTURES / "marian-tiny"
    copy_files(src, out, ["source.spm", "target.spm", "vocab.json"])
    # the old opus-mt tokenizer_config.json (see realconfigs SOURCE.txt): the languages only
    write_json(out / "tokenizer_config.json", {"target_lang": "en", "source_lang": "ar"})
    tiny = json.loads((src / "config.json").read_text())
    v = tiny["vocab_size"]
    pad = v - 1
    base = "Helsinki-NLP__opus-mt-ar-en/analog_opus-mt-ar-fr/"
    cfg = replace(real(base + "config.json"), _name_or_path="/tmp/Helsinki-NLP/opus-mt-ar-en",
                  bad_words_ids=[[pad]], d_model=tiny["d_model"],
                  decoder_attention_heads=tiny["decoder_attention_heads"],
                  decoder_ffn_dim=tiny["decoder_ffn_dim"], decoder_layers=tiny["decoder_layers"],
                  decoder_start_token_id=pad, decoder_vocab_size=v,
                  encoder_attention_heads=tiny["encoder_attention_heads"],
                  encoder_ffn_dim=tiny["encoder_ffn_dim"], encoder_layers=tiny["encoder_layers"],
                  num_hidden_layers=tiny["encoder_layers"], pad_token_id=pad, vocab_size=v)
    write_json(out / "config.json", cfg)
    gen = replace(real(base + "generation_config.json"), bad_words_ids=[[pad]], decoder_start_token_id=pad,
                  pad_token_id=pad)
    write_json(out / "generation_config.json", gen)
    model = MarianMTModel.from_pretrained(src, torch_dtype=torch.float32).eval()
    sd = model.state_dict()  # a 2020 conversion: every alias and the sinusoidal tables
    assert "model.encoder.embed_positions.weight" in sd and "lm_head.weight" in sd
    save_bin(sd, out / "pytorch_model.bin", legacy=True)
    save_scratch(sd, scratch, out.name)
    tok = MarianTokenizer.from_pretrained(out)
    write_golden(out, MarianMTModel, translation_inputs(), lambda t: tok(t).input_ids, TRANSLATE_SETTINGS,
                 {"input": "MarianTokenizer(text).input_ids; seed sentences and the first "
                           f"{N_TATOEBA} Tatoeba lines as in make_fixtures.py (text not stored)",
                  "weights": "tests/fixtures/marian-tiny's, in a legacy (non-zip) pytorch_model.bin"},
                 text_stored=False)


# ----------------------------------------------------------------------------------------------
# nllb-real-tiny


def build_nllb(out: Path, scratch: Path) -> None:
    src = FIXTURES / "nllb-tiny"
    copy_files(src, out, ["sentencepiece.bpe.model", "tokenizer.json", "tokenizer_config.json",
                          "special_tokens_map.json"])
    tiny = json.loads((src / "config.json").read_text())
    base = "facebook__nllb-200-distilled-600M/"
    dims = {k: tiny[k] for k in ("d_model", "decoder_attention_heads", "decoder_ffn_dim", "decoder_layers",
                                 "encoder_attention_heads", "encoder_ffn_dim", "encoder_layers",
                                 "num_hidden_layers", "vocab_size")}
    cfg = replace(real(base + "config.json"), **dims)
    write_json(out / "config.json", cfg)
    shutil.copyfile(REAL / base / "generation_config.json", out / "generation_config.json")
    model = M2M100ForConditionalGeneration.from_pretrained(src, torch_dtype=torch.float32).eval()
    sd = model.state_dict()
    names = ["model.shared.weight", "model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight",
             "lm_head.weight"]
    assert all(n in sd for n in names), [n for n in names if n not in sd]
    assert len({sd[n].untyped_storage().data_ptr() for n in names}) == 1, "aliases do not share storage"
    save_bin(sd, out / "pytorch_model.bin", legacy=False)
    save_scratch(sd, scratch, out.name)
    tok = AutoTokenizer.from_pretrained(out, src_lang="arb_Arab", tgt_lang="eng_Latn")
    eng = tok.convert_tokens_to_ids("eng_Latn")
    settings = {k: {**v, "forced_bos_token_id": eng} for k, v in TRANSLATE_SETTINGS.items()}
    write_golden(out, M2M100ForConditionalGeneration, translation_inputs(), lambda t: tok(t).input_ids,
                 settings,
                 {"input": "NllbTokenizerFast(src_lang='arb_Arab')(text).input_ids; seed sentences and "
                           f"the first {N_TATOEBA} Tatoeba lines (text not stored)",
                  "weights": "tests/fixtures/nllb-tiny's, every alias stored (one storage)"},
                 text_stored=False)


# ----------------------------------------------------------------------------------------------
# distilbart-tiny

# The Hub original of distilbart-cnn-12-6's config.json is the 4.44 re-save without the keys
# save_pretrained added (see realconfigs SOURCE.txt).
RESAVE_ADDED = ("_name_or_path", "forced_bos_token_id", "forced_eos_token_id", "torch_dtype",
                "transformers_version")
DISTILBART_RAMP = 0.012  # slower EOS ramp than bart-tiny's: outputs end between min 56 and max 142


def build_distilbart(out: Path, scratch: Path | None, full: bool = False) -> None:
    src = FIXTURES / "bart-tiny"
    copy_files(src, out, ["merges.txt"])
    vocab = json.loads((src / "vocab.json").read_text(encoding="utf-8"))
    if full:
        # made-up tokens before <mask> (the last id, which has no row) up to the real 50,265
        mask = vocab.pop("<mask>")
        assert mask == len(vocab)
        for p in synthetic_pieces("\u0120", vocab, DISTILBART_FULL_VOCAB - len(vocab)):
            vocab[p] = len(vocab)
        vocab["<mask>"] = len(vocab)
        write_json(out / "vocab.json", vocab, compact=True)
    else:
        copy_files(src, out, ["vocab.json"])
    n_tokens = len(vocab)
    base = "sshleifer__distilbart-cnn-12-6/"
    write_json(out / "tokenizer_config.json", {"model_max_length": 1024})
    shutil.copyfile(REAL / base / "special_tokens_map.resaved.json", out / "special_tokens_map.json")
    resaved = real(base + "config.resaved-4.44.2.json")
    orig = {k: v for k, v in resaved.items() if k not in RESAVE_ADDED}
    d = DISTILBART_FULL if full else dict(d_model=32, heads=4, ffn=64, encoder_layers=3, decoder_layers=2)
    cfg = replace(orig, d_model=d["d_model"], decoder_attention_heads=d["heads"], decoder_ffn_dim=d["ffn"],
                  decoder_layers=d["decoder_layers"], encoder_attention_heads=d["heads"],
                  encoder_ffn_dim=d["ffn"], encoder_layers=d["encoder_layers"],
                  num_hidden_layers=d["encoder_layers"], vocab_size=n_tokens - 1)
    write_json(out / "config.json", cfg)
    torch.manual_seed(mb.SEED)
    model = BartForConditionalGeneration(BartConfig.from_dict(cfg)).eval()
    assert model.config.forced_bos_token_id == 0 and model.config.forced_eos_token_id == 2
    ramp = mb.POS_RAMP
    mb.POS_RAMP = DISTILBART_RAMP
    try:
        mb.randomize(model, mb.SEED)
    finally:
        mb.POS_RAMP = ramp
    sd = model.state_dict()
    save_bin(sd, out / "pytorch_model.bin", legacy=True)
    if scratch is not None:
        save_scratch(sd, scratch, out.name)
    if full:
        return
    assert not (out / "generation_config.json").exists() and not (out / "tokenizer.json").exists()
    tok = AutoTokenizer.from_pretrained(out)
    texts = team_paragraphs("en")
    settings = {"greedy": {"num_beams": 1, "no_repeat_ngram_size": 0, "min_length": 0},
                "beam4": {}}
    write_golden(out, BartForConditionalGeneration, [("team-en", i, " " + t) for i, t in enumerate(texts)],
                 lambda t: tok(t).input_ids, settings,
                 {"input": "tokenizer(' ' + text).input_ids (the config's prefix ' ' prepended, as the "
                           "summarization pipeline does); text = team-written paragraphs, stored",
                  "beam4": "no kwargs: the config.json defaults (4 beams, lp 2.0, min 56, max 142, no-repeat 3, "
                           "early_stopping, forced BOS 0 from force_bos_token_to_be_generated, forced EOS 2)"},
                 text_stored=True)
    write_pipeline_golden(out, BartForConditionalGeneration, texts)


# ----------------------------------------------------------------------------------------------
# t5-small-tiny

# save_pretrained added these to the 2020 t5-small config.json (realconfigs SOURCE.txt)
T5_RESAVE_ADDED = ("_name_or_path", "classifier_dropout", "dense_act_fn", "feed_forward_proj", "is_gated_act",
                   "num_decoder_layers", "relative_attention_max_distance", "torch_dtype",
                   "transformers_version", "use_cache")


def build_t5_small(out: Path, scratch: Path) -> None:
    src = FIXTURES / "t5-tiny"
    copy_files(src, out, ["spiece.model", "tokenizer.json", "tokenizer_config.json", "model.safetensors"])
    tiny = json.loads((src / "config.json").read_text())
    base = "google-t5__t5-small/"
    resaved = real(base + "config.resaved-4.46.3.xformer.json")
    orig = {k: v for k, v in resaved.items() if k not in T5_RESAVE_ADDED}
    tsp = json.loads(json.dumps(orig["task_specific_params"]))
    tsp["summarization"]["prefix"] = "summarize: "  # popped by the pipeline in that re-save
    cfg = replace(orig, d_ff=tiny["d_ff"], d_kv=tiny["d_kv"], d_model=tiny["d_model"], num_heads=tiny["num_heads"],
                  num_layers=tiny["num_layers"], vocab_size=tiny["vocab_size"], task_specific_params=tsp)
    write_json(out / "config.json", cfg)
    write_json(out / "generation_config.json",
               {"_from_model_config": True, "decoder_start_token_id": 0, "eos_token_id": 1, "pad_token_id": 0,
                "transformers_version": "4.27.0.dev0"})
    m = T5ForConditionalGeneration.from_pretrained(out)
    assert m.config.feed_forward_proj == "relu" and m.config.tie_word_embeddings
    assert m.config.relative_attention_max_distance == 128 and m.config.num_decoder_layers == tiny["num_layers"]
    tok = AutoTokenizer.from_pretrained(out)
    texts = team_paragraphs("en")
    settings = {"greedy": {"num_beams": 1}, "beam4": {"num_beams": 4}}
    write_golden(out, T5ForConditionalGeneration,
                 [("team-en", i, "summarize: " + t) for i, t in enumerate(texts)],
                 lambda t: tok(t).input_ids, settings,
                 {"input": "tokenizer('summarize: ' + text).input_ids; text = team-written paragraphs, stored",
                  "weights": "tests/fixtures/t5-tiny's model.safetensors"},
                 text_stored=True)
    write_pipeline_golden(out, T5ForConditionalGeneration, texts)


# ----------------------------------------------------------------------------------------------
# mt5-xlsum-tiny


def build_mt5_xlsum(out: Path, scratch: Path) -> None:
    src = FIXTURES / "mt5-tiny"
    copy_files(src, out, ["spiece.model"])
    tiny = json.loads((src / "config.json").read_text())
    # csebuetnlp/mT5_multilingual_XLSum (2021; realconfigs has no copy, SOURCE.txt gives the believed
    # keys): an MT5Config save of that time with the generation settings at the top level
    keep = ("architectures", "d_ff", "d_kv", "d_model", "decoder_start_token_id", "dropout_rate", "eos_token_id",
            "feed_forward_proj", "initializer_factor", "is_encoder_decoder", "layer_norm_epsilon", "model_type",
            "num_decoder_layers", "num_heads", "num_layers", "pad_token_id", "relative_attention_num_buckets",
            "tie_word_embeddings", "tokenizer_class", "use_cache", "vocab_size")
    cfg = {k: tiny[k] for k in keep}
    cfg.update({"_name_or_path": "csebuetnlp/mT5_multilingual_XLSum", "output_past": True,
                "length_penalty": 0.6, "max_length": 84, "no_repeat_ngram_size": 2, "num_beams": 4,
                "transformers_version": "4.6.1"})
    write_json(out / "config.json", dict(sorted(cfg.items())))
    write_json(out / "tokenizer_config.json",
               {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>", "extra_ids": 0,
                "additional_special_tokens": None, "special_tokens_map_file": None, "tokenizer_file": None,
                "name_or_path": "csebuetnlp/mT5_multilingual_XLSum"})
    write_json(out / "special_tokens_map.json", {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"})
    model = MT5ForConditionalGeneration.from_pretrained(src, torch_dtype=torch.float32).eval()
    sd = model.state_dict()
    assert sd["lm_head.weight"].untyped_storage().data_ptr() != sd["shared.weight"].untyped_storage().data_ptr()
    assert "encoder.embed_tokens.weight" in sd
    save_bin(sd, out / "pytorch_model.bin", legacy=False)
    save_scratch(sd, scratch, out.name)
    tok = AutoTokenizer.from_pretrained(out)
    texts = team_paragraphs("ar")
    settings = {"greedy": {"num_beams": 1}, "beam4": {}}
    write_golden(out, MT5ForConditionalGeneration, [("team-ar", i, t) for i, t in enumerate(texts)],
                 lambda t: tok(t).input_ids, settings,
                 {"input": f"{type(tok).__name__}(text).input_ids (converted from spiece.model); text = "
                           "team-written Arabic paragraphs, stored",
                  "beam4": "no kwargs: config.json's 4 beams, max_length 84, no-repeat 2, length_penalty 0.6",
                  "weights": "tests/fixtures/mt5-tiny's, every alias stored"},
                 text_stored=True)
    write_pipeline_golden(out, MT5ForConditionalGeneration, texts)


BUILDERS = {
    "tc-big-tiny": build_tc_big,
    "opus-mt-ar-en-tiny": build_opus_mt,
    "nllb-real-tiny": build_nllb,
    "distilbart-tiny": build_distilbart,
    "t5-small-tiny": build_t5_small,
    "mt5-xlsum-tiny": build_mt5_xlsum,
}


FULL_SIZE = {
    "opus-mt-tc-big-ar-en-random": lambda out: build_tc_big(out, None, TC_BIG_FULL, TC_BIG_FULL_VOCAB,
                                                            goldens=False),
    "distilbart-cnn-12-6-random": lambda out: build_distilbart(out, None, full=True),
}


def make_full_size(root: Path, only: str | None) -> None:
    """The main job's two default models at their real shapes with random weights (for
    scripts/bench.py --main-job), in the real repos' file formats, plus CTranslate2 copies
    (float32 and int8) made by its converter."""
    import bench  # noqa: E402 (scripts/bench.py: the converter call, cached)

    for name, build in FULL_SIZE.items():
        if only and name != only:
            continue
        out = root / name
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        build(out)
        n = sum(t.numel() for t in torch.load(out / "pytorch_model.bin", weights_only=True).values())
        print(f"{name}: {n / 1e6:.1f} M tensor elements (aliases counted), "
              f"{(out / 'pytorch_model.bin').stat().st_size / 2**20:.0f} MiB pytorch_model.bin", flush=True)
        bench.ensure_ct2(out, root)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=list(BUILDERS) + list(FULL_SIZE))
    ap.add_argument("--full-size", metavar="OUT_ROOT", type=Path,
                    help="instead of the fixtures, write full-size random copies of the main job's "
                         "models (tc-big ar-en, distilbart-cnn-12-6) and their CTranslate2 "
                         "conversions under OUT_ROOT (e.g. bench-models)")
    ap.add_argument("--scratch", type=Path, default=ROOT / "target" / "fixtures-safetensors",
                    help="where the model.safetensors copies go (not committed)")
    args = ap.parse_args()
    if args.only and args.full_size is None and args.only in FULL_SIZE:
        ap.error(f"--only {args.only} is a full-size model: give --full-size OUT_ROOT")
    if args.only and args.full_size is not None and args.only not in FULL_SIZE:
        ap.error(f"--only {args.only} is a test fixture; with --full-size: {', '.join(FULL_SIZE)}")
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    transformers.logging.set_verbosity_error()
    if args.full_size:
        torch.use_deterministic_algorithms(False)
        torch.set_num_threads(os.cpu_count() or 1)
        make_full_size(args.full_size.resolve(), args.only)
        return
    for name, build in BUILDERS.items():
        if args.only and name != args.only:
            continue
        out = FIXTURES / name
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        build(out, args.scratch.resolve())
        sizes = {p.name: p.stat().st_size for p in sorted(out.iterdir())}
        print(f"{name}: {sum(sizes.values())} bytes {sizes}", flush=True)


if __name__ == "__main__":
    main()
