#!/usr/bin/env python3
"""Write the PyTorch checkpoint fixtures of tests/fixtures/weights/ with torch.save itself.

    /work/pyenv/bin/python scripts/make_weight_fixtures.py     # from the crate root, ~2 s

Deterministic: fixed seeds, torch.save's zip members carry no time stamps, and the legacy
files' storage keys (memory addresses) are renamed to 00000000000000, 00000000000001, ... in
order of first use (see save_legacy). Writes:

- tensors-zip.bin, tensors-legacy.bin: one state dict in both of torch.save's formats (zip, and
  _use_new_zipfile_serialization=False): float32, float16, bfloat16, float64 and int64 tensors; two
  names for one tensor; a base tensor with three views of its storage (rows 1..3, an offset
  column, the transpose); a Parameter.
- sharded/: the same kind of tensors split into pytorch_model-0000{1,2}-of-00002.bin (zip) and
  pytorch_model.bin.index.json.
- expected.json: dtype, shape and the row-major values of every tensor of those files.
- evil-zip.bin, evil-legacy.bin: a state dict whose second value is an object with a __reduce__
  returning (os.system, ("touch tarjama-pickle-marker",)): loading it with pickle would run the
  command. It is only written here, never loaded.
- expanded-zip.bin: one tensor that is a stride-0 view of a one-element storage announcing
  2^20 x 2^20 elements (torch.zeros(1).expand(...)): a 4 TiB tensor in a file of 1 KiB, which a
  reader must refuse by its shape before reading anything.
- marian-tiny-zip/pytorch_model.bin, marian-tiny-legacy/pytorch_model.bin: the tensors of
  tests/fixtures/marian-tiny/model.safetensors unchanged (float32), as zip and legacy checkpoints.
  The legacy copy stores the tied embedding under its four names (model.shared.weight,
  model.encoder.embed_tokens.weight, model.decoder.embed_tokens.weight, lm_head.weight) sharing one
  storage, as checkpoints saved by older transformers do; the zip copy stores it once.

With --tc-big OUT_DIR it writes instead the full-size random benchmark model of BENCHMARKS.md
("Loading pytorch_model.bin"); see make_tc_big.
"""

import argparse
import collections
import json
import io
import os
import pickle
import shutil
import warnings
from pathlib import Path

import torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests/fixtures/weights"
MARIAN = ROOT / "tests/fixtures/marian-tiny"
MARKER = "tarjama-pickle-marker"


def tensors() -> "collections.OrderedDict[str, torch.Tensor]":
    g = torch.Generator().manual_seed(11)
    base = torch.randn(4, 6, generator=g)
    f16 = torch.randn(3, 4, generator=g).to(torch.float16)
    d = collections.OrderedDict()
    d["f32"] = torch.randn(2, 3, generator=g)
    d["f16"] = f16
    d["bf16"] = torch.randn(2, 5, generator=g).to(torch.bfloat16)
    d["f64"] = torch.randn(3, generator=g).to(torch.float64)
    d["i64"] = torch.tensor([3, -1, 1 << 40, 0], dtype=torch.int64)
    d["tied.a"] = f16
    d["tied.b"] = f16
    d["base"] = base
    d["base.rows"] = base[1:3]
    d["base.column"] = base[:, 2]
    d["base.t"] = base.t()
    d["param"] = torch.nn.Parameter(torch.randn(2, 2, generator=g), requires_grad=False)
    return d


def sharded() -> "list[collections.OrderedDict[str, torch.Tensor]]":
    g = torch.Generator().manual_seed(12)
    first = collections.OrderedDict(
        [("enc.weight", torch.randn(3, 2, generator=g).to(torch.float16)),
         ("enc.bias", torch.randn(3, generator=g))])
    second = collections.OrderedDict(
        [("dec.weight", torch.randn(2, 3, generator=g).to(torch.bfloat16)),
         ("dec.bias", torch.randn(2, generator=g))])
    return [first, second]


def describe(t: torch.Tensor) -> dict:
    dtype = str(t.dtype).removeprefix("torch.")
    values = t.detach().contiguous().flatten()
    values = values.tolist() if dtype == "int64" else values.to(torch.float64).tolist()
    return {"dtype": dtype, "shape": list(t.shape), "values": values}


class Evil:
    def __reduce__(self):
        return (os.system, (f"touch {MARKER}",))


class _Scan(pickle.Unpickler):
    """Reads a legacy object pickle without building anything: records each storage key's
    storage class in order of first appearance; rebuild functions (and the evil fixture's
    os.system) are replaced by a function that does nothing."""

    def __init__(self, f, found):
        super().__init__(f)
        self.found = found

    def find_class(self, module, name):
        if module == "torch" and name.endswith("Storage"):
            return super().find_class(module, name)
        if module == "collections":
            return super().find_class(module, name)
        return lambda *args: None

    def persistent_load(self, pid):
        self.found.setdefault(pid[2], pid[1])
        return None


def save_legacy(obj, path: Path) -> None:
    """torch.save in the legacy format, with the storage keys (memory addresses, different on
    every run) renamed to 00000000000000, 00000000000001, ... in order of first use, and the
    storages reordered to match the sorted key list, so that the file is the same on every
    run. Only the key strings, the key-list pickle and the order of the storage blocks change."""
    torch.save(obj, path, _use_new_zipfile_serialization=False)
    data = path.read_bytes()
    f = io.BytesIO(data)
    for _ in range(3):  # magic number, protocol version, sys info
        pickle.load(f)
    found: dict[str, type] = {}
    _Scan(f, found).load()
    objects_end = f.tell()
    old_keys = pickle.load(f)
    blocks = {}
    for key in old_keys:
        numel = int.from_bytes(f.read(8), "little")
        with warnings.catch_warnings():  # TypedStorage is deprecated, but it is what is stored
            warnings.simplefilter("ignore")
            size = numel * found[key](0).element_size()
        blocks[key] = numel.to_bytes(8, "little") + f.read(size)
    assert f.read() == b"", "bytes after the last storage"
    rename = {old: str(i).zfill(14) for i, old in enumerate(found)}
    head = data[:objects_end]
    for old, new in rename.items():
        assert len(old) == len(new), old
        assert head.count(old.encode()) >= 1, old
        head = head.replace(old.encode(), new.encode())
    new_keys = sorted(rename.values())
    back = {v: k for k, v in rename.items()}
    out = head + pickle.dumps(new_keys, protocol=2)
    out += b"".join(blocks[back[k]] for k in new_keys)
    path.write_bytes(out)


def save_both(obj, stem: Path) -> None:
    torch.save(obj, stem.with_name(stem.name + "-zip.bin"))
    save_legacy(obj, stem.with_name(stem.name + "-legacy.bin"))


TC_BIG_CONFIG = Path("/work/shared/realconfigs/Helsinki-NLP__opus-mt-tc-big-ar-en/"
                     "analog_opus-mt-tc-big-fr-en/config.json")
TC_BIG_VOCAB = 61_000


def make_tc_big(out: Path) -> None:
    """A full-size random opus-mt-tc-big-shaped Marian model (the real tc-big config, vocabulary
    TC_BIG_VOCAB) saved by transformers' save_pretrained as a float16 zip pytorch_model.bin, with
    marian-tiny's SentencePiece models and its vocab.json padded with synthetic pieces. For the
    load benchmark in BENCHMARKS.md; never committed."""
    from transformers import MarianConfig, MarianMTModel

    torch.manual_seed(13)
    cfg = json.loads(TC_BIG_CONFIG.read_text())
    vocab = json.loads((MARIAN / "vocab.json").read_text())
    pad = vocab.pop("<pad>")
    n = 0
    while len(vocab) < TC_BIG_VOCAB - 1:
        vocab.setdefault(f"\u2581syn{n}", len(vocab))
        n += 1
    pad = vocab["<pad>"] = len(vocab)
    eos = vocab["</s>"]
    cfg.update(vocab_size=TC_BIG_VOCAB, decoder_vocab_size=TC_BIG_VOCAB, pad_token_id=pad,
               decoder_start_token_id=pad, eos_token_id=eos, forced_eos_token_id=eos,
               bad_words_ids=[[pad]])
    for k in ("_name_or_path", "transformers_version", "architectures", "torch_dtype"):
        cfg.pop(k, None)
    model = MarianMTModel(MarianConfig(**cfg)).half().eval()
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=False)
    for f in ("source.spm", "target.spm", "tokenizer_config.json"):
        shutil.copy(MARIAN / f, out / f)
    (out / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False) + "\n")
    params = sum(p.numel() for p in model.parameters())
    print(f"wrote {out}: {params} parameters, float16 pytorch_model.bin "
          f"{(out / 'pytorch_model.bin').stat().st_size} bytes")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tc-big", metavar="OUT_DIR", type=Path,
                    help="write the full-size random tc-big benchmark model to OUT_DIR instead")
    args = ap.parse_args()
    if args.tc_big:
        make_tc_big(args.tc_big.resolve())
        return
    OUT.mkdir(parents=True, exist_ok=True)
    d = tensors()
    save_both(d, OUT / "tensors")
    expected = {"tensors": {k: describe(v) for k, v in d.items()}}

    shard_dir = OUT / "sharded"
    shard_dir.mkdir(exist_ok=True)
    weight_map, total = {}, 0
    expected["sharded"] = {}
    for i, part in enumerate(sharded(), start=1):
        name = f"pytorch_model-{i:05d}-of-00002.bin"
        torch.save(part, shard_dir / name)
        for k, v in part.items():
            weight_map[k] = name
            total += v.numel() * v.element_size()
            expected["sharded"][k] = describe(v)
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    (shard_dir / "pytorch_model.bin.index.json").write_text(json.dumps(index, indent=2) + "\n")

    evil = collections.OrderedDict([("weight", torch.ones(2)), ("payload", Evil())])
    save_both(evil, OUT / "evil")

    expanded = collections.OrderedDict(
        [("model.shared.weight", torch.zeros(1).expand(1 << 20, 1 << 20))])
    torch.save(expanded, OUT / "expanded-zip.bin")

    st = load_file(MARIAN / "model.safetensors")
    for kind in ("zip", "legacy"):
        out = OUT / f"marian-tiny-{kind}"
        out.mkdir(exist_ok=True)
        sd = collections.OrderedDict(sorted(st.items()))
        if kind == "legacy":
            shared = sd["model.shared.weight"]
            for alias in ("model.encoder.embed_tokens.weight",
                          "model.decoder.embed_tokens.weight", "lm_head.weight"):
                sd[alias] = shared
            save_legacy(sd, out / "pytorch_model.bin")
        else:
            torch.save(sd, out / "pytorch_model.bin")

    expected["torch"] = torch.__version__
    (OUT / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    for p in sorted(OUT.rglob("*")):
        if p.is_file():
            print(f"{p.relative_to(ROOT)}: {p.stat().st_size} bytes")


if __name__ == "__main__":
    main()
