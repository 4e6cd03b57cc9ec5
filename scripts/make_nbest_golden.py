#!/usr/bin/env python3
"""Write tests/fixtures/marian-tiny/nbest_golden.json: transformers' n-best lists on the tiny Marian
fixture, for tarjama's `--num-return-sequences` test.

Run from the crate root (after scripts/make_fixtures.py has built the fixture):

    /path/to/venv/bin/python scripts/make_nbest_golden.py

For the first 24 inputs of tests/fixtures/marian-tiny/golden.json (stored there as ids), it runs
`generate(num_beams=4, num_return_sequences=4, output_scores=True, return_dict_in_generate=True)`
one input at a time, in float64 (the float32 weights, `model.double()`), and keeps every returned
sequence (trailing padding stripped) with its `sequences_scores`; `f32_agrees` says whether a
float32 run gives the same sequences. The file has golden.json's layout (`settings`, `cases`), so
the tests read it with the same helpers. Deterministic: no sampling, no training.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import transformers
from transformers import MarianMTModel

FIXTURE = Path("tests/fixtures/marian-tiny")
N_CASES = 24
SETTINGS = {"beam4_ret4": {"num_beams": 4, "num_return_sequences": 4}}


def strip_trailing_pad(seq: list[int], pad: int) -> list[int]:
    end = len(seq)
    while end > 1 and seq[end - 1] == pad:  # keep the leading decoder start token (= pad)
        end -= 1
    return seq[:end]


@torch.no_grad()
def run(model, input_ids: list[int], kwargs: dict, pad: int):
    ids = torch.tensor([input_ids], dtype=torch.long)
    out = model.generate(
        input_ids=ids,
        attention_mask=torch.ones_like(ids),
        output_scores=True,
        return_dict_in_generate=True,
        **kwargs,
    )
    seqs = [strip_trailing_pad(s, pad) for s in out.sequences.tolist()]
    return seqs, out.sequences_scores.tolist()


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    golden = json.loads((FIXTURE / "golden.json").read_text())
    m32 = MarianMTModel.from_pretrained(FIXTURE, torch_dtype=torch.float32).eval()
    m64 = MarianMTModel.from_pretrained(FIXTURE, torch_dtype=torch.float32).eval().double()
    pad = m32.generation_config.pad_token_id
    cases = []
    for c in golden["cases"][:N_CASES]:
        outputs = {}
        for name, kw in SETTINGS.items():
            s64, sc64 = run(m64, c["input_ids"], kw, pad)
            s32, _ = run(m32, c["input_ids"], kw, pad)
            outputs[name] = {"sequences": s64, "sequences_scores": sc64, "f32_agrees": s32 == s64}
        cases.append({k: c[k] for k in ("set", "index", "sha256", "input_ids")} | {"outputs": outputs})
    doc = {
        "meta": {
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "dtype": "float64 (weights stored as float32, model.double()); f32_agrees compares a float32 run",
            "kwargs": "output_scores=True, return_dict_in_generate=True",
        },
        "settings": SETTINGS,
        "cases": cases,
    }
    (FIXTURE / "nbest_golden.json").write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
