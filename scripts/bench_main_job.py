#!/usr/bin/env python3
"""The main job benchmark (`scripts/bench.py --main-job`): one Arabic article translated, then
the translation summarized, three ways with the same work:

- tarjama: `tarjama run` (it frees the translator before it loads the summarizer);
- transformers: `pipeline("translation")` on the segments, then `pipeline("summarization")` on
  the joined translation, as a user would write it, under `torch.inference_mode()` with
  `torch.set_num_threads`; int8 is torch's dynamic quantization of every `nn.Linear`;
- CTranslate2: a `Translator` for each model (float32, and `compute_type="int8"`), run once
  with `CT2_USE_MKL=0` and once with the default backend; the faster is kept.

Same work: the segments are the ones tarjama makes (`translate --format jsonl --normalize none`),
every segment gets exactly `--steps` new tokens and the summary exactly `--summary-steps`
(minimum = maximum), so random weights cannot change how much is computed; the summarizer's
input is cut at its 1024 positions (tarjama `--strategy truncate`, transformers
`truncation=True`, CTranslate2 the same tokenizer call), which makes it the same length in every
system once the translation is longer than that. Every other decoding setting is the models' own
(the translator's generation_config.json, the summarizer's config: beam 4, no-repeat 3, length
penalty 2.0); CTranslate2 is given them explicitly. Each system's token counts are checked.

Every measurement is a fresh process under /usr/bin/time; stage times come from the system
itself (tarjama `--stats`: `model_load_seconds`, `stages`; the Python peers: perf_counter around
each call, VmHWM after each stage). Repeats are interleaved; the best (translate + summarize)
run of each case is kept. A STREAM-style copy (torch, `--threads` threads) gives the memory
bandwidth that the weights read per decoder step are compared with.

    /work/pyenv/bin/python scripts/make_fixtures_real.py --full-size bench-models
    cargo build --release
    /work/pyenv/bin/python scripts/bench.py --main-job --write BENCHMARKS.md
    /work/pyenv/bin/python scripts/bench.py --main-job --smoke      # tiny fixtures, seconds
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

import bench

ROOT = bench.ROOT
FIXTURES = ROOT / "tests" / "fixtures"
MODELS = ROOT / "bench-models"
DEFAULT_TRANSLATOR = MODELS / "opus-mt-tc-big-ar-en-random"
DEFAULT_SUMMARIZER = MODELS / "distilbart-cnn-12-6-random"
SMOKE_TRANSLATOR = FIXTURES / "tc-big-tiny"
SMOKE_SUMMARIZER = FIXTURES / "distilbart-tiny"
MIB = bench.MIB
STAGES = ("load_translator", "translate", "load_summarizer", "summarize")
SYSTEMS = ("tarjama", "transformers", "ct2")
WEIGHTS = ("f32", "int8")
MARK_START, MARK_END = "<!-- main-job:start -->", "<!-- main-job:end -->"


# ----------------------------------------------------------------------------------------------
# Workers (the Python peers): run in their own process, print one JSON line on stdout.
# ----------------------------------------------------------------------------------------------


def stage(seconds: float, **counts) -> dict:
    return {"seconds": seconds, "peak_rss_mib": bench.vmhwm_mib(), **counts}


def join_segments(layout: list[tuple[int, int]], texts: list[str]) -> str:
    """The translation as one text: segments of a line joined by spaces, lines by newlines,
    paragraphs by blank lines (the layout tarjama keeps)."""
    out, prev = [], None
    for (par, line), t in zip(layout, texts):
        if prev is not None:
            out.append(" " if (par, line) == prev else ("\n" if par == prev[0] else "\n\n"))
        out.append(t.strip())
        prev = (par, line)
    return "".join(out)


def count_generated(ids, pad: int) -> int:
    """Generated tokens of one `generate` row: after the decoder start token, not padding."""
    return int(sum(1 for x in list(ids)[1:] if int(x) != pad))


def worker_transformers(job: dict) -> dict:
    import torch

    torch.set_num_threads(job["threads"])
    torch.set_num_interop_threads(1)
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer, pipeline
    from transformers.utils import logging

    logging.set_verbosity_error()
    n, m, b = job["steps"], job["summary_steps"], job["batch_size"]
    out = {"imports": stage(0.0)}

    def load(task: str, d: str):
        t0 = time.perf_counter()
        if job["int8"]:
            model = AutoModelForSeq2SeqLM.from_pretrained(d, dtype=torch.float32)
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
            pipe = pipeline(task, model=model, tokenizer=AutoTokenizer.from_pretrained(d), device="cpu")
        else:
            pipe = pipeline(task, model=d, tokenizer=d, dtype=torch.float32, device="cpu")
        return pipe, time.perf_counter() - t0

    with torch.inference_mode():
        translator, secs = load("translation", job["translator"])
        out["load_translator"] = stage(secs)
        t0 = time.perf_counter()
        res = translator(job["segments"], batch_size=b, min_new_tokens=n, max_new_tokens=n,
                         return_tensors=True)
        rows = [r[0] if isinstance(r, list) else r for r in res]
        tok = translator.tokenizer
        texts = [tok.decode(r["translation_token_ids"], skip_special_tokens=True) for r in rows]
        secs = time.perf_counter() - t0
        pad = translator.model.config.pad_token_id
        out["translate"] = stage(secs, segments=len(rows), target_tokens=sum(
            count_generated(r["translation_token_ids"], pad) for r in rows))
        del translator, res, rows
        gc.collect()  # the translator is gone before the summarizer loads, as in tarjama run
        text = join_segments(job["layout"], texts)

        summarizer, secs = load("summarization", job["summarizer"])
        out["load_summarizer"] = stage(secs)
        t0 = time.perf_counter()
        res = summarizer(text, min_new_tokens=m, max_new_tokens=m, truncation=True, return_tensors=True)
        secs = time.perf_counter() - t0
        ids = (res[0] if isinstance(res, list) else res)["summary_token_ids"]
        prefix = getattr(summarizer.model.config, "prefix", None) or ""
        enc = summarizer.tokenizer(prefix + text, truncation=True).input_ids
        full = summarizer.tokenizer(prefix + text).input_ids
        out["summarize"] = stage(secs, segments=1, target_tokens=count_generated(
            ids, summarizer.model.config.pad_token_id), source_tokens=len(enc),
            source_tokens_untruncated=len(full))
    return out


def worker_ct2(job: dict) -> dict:
    import ctranslate2
    from transformers import AutoTokenizer
    from transformers.utils import logging

    logging.set_verbosity_error()
    n, m, b = job["steps"], job["summary_steps"], job["batch_size"]
    out = {"imports": stage(0.0)}

    def load(ct2_dir: str, hf_dir: str):
        t0 = time.perf_counter()
        tr = ctranslate2.Translator(ct2_dir, device="cpu", compute_type=job["compute_type"],
                                    intra_threads=job["threads"], inter_threads=1)
        tok = AutoTokenizer.from_pretrained(hf_dir)
        return tr, tok, time.perf_counter() - t0

    def generate(tr, tok, sources: list[list[int]], steps: int, g: dict):
        res = tr.translate_batch(
            [tok.convert_ids_to_tokens(x) for x in sources], max_batch_size=b,
            beam_size=g["beams"], length_penalty=g["length_penalty"],
            no_repeat_ngram_size=g["no_repeat_ngram_size"], min_decoding_length=steps,
            max_decoding_length=steps, return_end_token=True)
        hyps = [r.hypotheses[0] for r in res]
        texts = [tok.decode(tok.convert_tokens_to_ids(h), skip_special_tokens=True) for h in hyps]
        return texts, sum(len(h) for h in hyps)

    tr, tok, secs = load(job["translator_ct2"], job["translator"])
    out["load_translator"] = stage(secs)
    t0 = time.perf_counter()
    texts, count = generate(tr, tok, [tok(s).input_ids for s in job["segments"]], n,
                            job["translator_generation"])
    out["translate"] = stage(time.perf_counter() - t0, segments=len(texts), target_tokens=count)
    del tr
    gc.collect()
    text = join_segments(job["layout"], texts)

    sm, stok, secs = load(job["summarizer_ct2"], job["summarizer"])
    out["load_summarizer"] = stage(secs)
    prefix = job["summarizer_generation"]["prefix"]
    t0 = time.perf_counter()
    enc = stok(prefix + text, truncation=True).input_ids
    _, count = generate(sm, stok, [enc], m, job["summarizer_generation"])
    secs = time.perf_counter() - t0
    full = stok(prefix + text).input_ids
    out["summarize"] = stage(secs, segments=1, target_tokens=count, source_tokens=len(enc),
                             source_tokens_untruncated=len(full))
    return out


def worker_main(kind: str, job_path: str) -> None:
    job = json.loads(Path(job_path).read_text(encoding="utf-8"))
    res = {"transformers": worker_transformers, "ct2": worker_ct2}[kind](job)
    print(json.dumps({"stages": res}), flush=True)


# ----------------------------------------------------------------------------------------------
# Model facts: decoding settings, weights read per decoder step, memory bandwidth
# ----------------------------------------------------------------------------------------------


def read_json(p: Path) -> dict:
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else {}


def generation_settings(model: Path, task: str | None) -> dict:
    """The model's own decoding settings as transformers resolves them: generation_config.json
    over config.json, and for the summarizer its `task_specific_params.summarization` (what
    `pipeline("summarization")` applies)."""
    cfg = read_json(model / "config.json")
    gen = {**cfg, **read_json(model / "generation_config.json")}
    if task:
        gen.update(cfg.get("task_specific_params", {}).get(task, {}))
    return {"beams": int(gen.get("num_beams", 1)), "length_penalty": float(gen.get("length_penalty", 1.0)),
            "no_repeat_ngram_size": int(gen.get("no_repeat_ngram_size", 0)),
            "prefix": cfg.get("prefix") or ""}


def decoder_step_bytes(model: Path) -> dict[str, float]:
    """Bytes of weights one decoder step reads at batch 1 (greedy; a beam of 4 reads them once
    too): per decoder layer the self-attention's four projections, the cross-attention's query
    and output projections (its key/value projections of the encoder output are computed once
    per input), the two feed-forward matrices, with their biases; then the output projection
    (vocabulary × d_model) and its bias. Layer norms and the one embedding row are left out
    (< 0.1%). `f32`: 4 bytes a weight; `int8`: 1 byte a weight plus a float32 scale per output
    row, biases in float32."""
    c = read_json(model / "config.json")
    d, f, v, layers = c["d_model"], c["decoder_ffn_dim"], c["vocab_size"], c["decoder_layers"]
    # (rows, columns) of each matrix; each has a bias of `rows`
    mats = [(d, d)] * 6 + [(f, d), (d, f)]
    weights = layers * sum(r * k for r, k in mats) + v * d
    rows = layers * sum(r for r, _ in mats) + v
    return {"f32": 4.0 * (weights + rows), "int8": weights + 4.0 * rows + 4.0 * rows}


def copy_bandwidth(threads: int, mib: int, repeats: int = 10) -> dict:
    """STREAM's Copy (b = a, float32, arrays well beyond the caches) with torch on `threads`
    threads: the best of `repeats` passes, counting the bytes read and written (2 × the array),
    as STREAM does."""
    import torch

    torch.set_num_threads(threads)
    n = mib * MIB // 4
    a = torch.ones(n, dtype=torch.float32)
    b = torch.empty_like(a)
    b.copy_(a)
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        b.copy_(a)
        best = min(best, time.perf_counter() - t0)
    return {"gb_s": 2 * a.numel() * 4 / best / 1e9, "array_mib": mib, "threads": threads,
            "repeats": repeats}


# ----------------------------------------------------------------------------------------------
# Driver
# ----------------------------------------------------------------------------------------------


def tarjama_case(binary: str, a, article: Path, weights: str, tmp: Path) -> tuple[list[str], dict]:
    out = tmp / f"run-{weights}.json"
    cmd = [binary, "run", str(article), "--translator", str(a.translator), "--summarizer",
           str(a.summarizer), "--normalize", "none", "--strategy", "truncate", "--batch-size",
           str(a.batch_size), "--min-new-tokens", str(a.steps), "--max-new-tokens", str(a.steps),
           "--summary-min-new-tokens", str(a.summary_steps), "--summary-max-new-tokens",
           str(a.summary_steps), "--threads", str(a.threads), "--stats", "--quiet", "--format",
           "json", "--force", "-o", str(out)]
    if weights == "int8":
        cmd += ["--quantize", "int8"]
    return cmd, {"RAYON_NUM_THREADS": str(a.threads)}


def run_tarjama(cmd: list[str], env: dict) -> dict:
    p, rss, wall = bench.timed(cmd, dict(os.environ, **env))
    stats = json.loads([line for line in p.stderr.splitlines() if line.startswith("{")][-1])
    record = json.loads(Path(cmd[cmd.index("-o") + 1]).read_text(encoding="utf-8"))
    st, loads = stats["stages"], stats["model_load_seconds"]
    summary = record["summary"]
    limit = summary["settings"]["max_input_tokens"]
    stages = {
        "load_translator": {"seconds": loads["translator"], "peak_rss_mib": None},
        "translate": {k: st["translate"][k] for k in ("seconds", "segments", "target_tokens")}
        | {"peak_rss_mib": st["translate"]["peak_rss_mb"]},
        "load_summarizer": {"seconds": loads["summarizer"], "peak_rss_mib": None},
        "summarize": {"seconds": st["summarize"]["seconds"], "segments": st["summarize"]["segments"],
                      "target_tokens": st["summarize"]["target_tokens"],
                      "source_tokens": min(summary["input_tokens"], limit),
                      "source_tokens_untruncated": summary["input_tokens"],
                      "peak_rss_mib": st["summarize"]["peak_rss_mb"]},
    }
    return {"stages": stages, "rss_mib": rss, "wall": wall}


def run_peer(kind: str, job: dict, env: dict, tmp: Path) -> dict:
    jp = tmp / f"job-{kind}.json"
    jp.write_text(json.dumps(job), encoding="utf-8")
    p, rss, wall = bench.timed([sys.executable, __file__, "--worker", kind, "--job", str(jp)],
                               dict(os.environ, **env))
    res = json.loads(p.stdout.strip().splitlines()[-1])
    res.update(rss_mib=rss, wall=wall)
    return res


def work_seconds(r: dict) -> float:
    return r["stages"]["translate"]["seconds"] + r["stages"]["summarize"]["seconds"]


def parse_args(argv: list[str]):
    ap = argparse.ArgumentParser(prog="bench.py --main-job", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--main-job", action="store_true", help="(this mode)")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny fixtures (tc-big-tiny, distilbart-tiny), 8 steps, one repeat, no "
                         "load wait, a small copy test: checks the script end to end in seconds")
    ap.add_argument("--tarjama", default=None,
                    help="tarjama binary (default target/release/tarjama; with --smoke "
                         "target/debug/tarjama when there is no release build)")
    ap.add_argument("--translator", type=Path, default=None,
                    help=f"translator directory (default {DEFAULT_TRANSLATOR.relative_to(ROOT)})")
    ap.add_argument("--summarizer", type=Path, default=None,
                    help=f"summarizer directory (default {DEFAULT_SUMMARIZER.relative_to(ROOT)})")
    ap.add_argument("--ct2-dir", type=Path, default=None,
                    help="where the CTranslate2 conversions are cached (default: beside the models; "
                         "with --smoke target/bench-smoke)")
    ap.add_argument("--article", type=Path, default=bench.SEED)
    ap.add_argument("--steps", type=int, default=None, help="new tokens per segment (default 64)")
    ap.add_argument("--summary-steps", type=int, default=None,
                    help="new tokens of the summary (default 100)")
    ap.add_argument("--lines", type=int, default=None,
                    help="only the article's first N lines (default all; --smoke 2)")
    ap.add_argument("--batch-size", type=int, default=1, help="segments per translation batch")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=None, help="runs per case, best kept (default 3)")
    ap.add_argument("--systems", default=",".join(SYSTEMS), help="comma list of " + ",".join(SYSTEMS))
    ap.add_argument("--weights", default=",".join(WEIGHTS), help="comma list of f32,int8")
    ap.add_argument("--copy-mib", type=int, default=None,
                    help="array size of the copy test (default 512; --smoke 32)")
    ap.add_argument("--max-load", type=float, default=None,
                    help="wait until the 1-minute load average is below this (default 1.5; "
                         "--smoke 0: don't wait)")
    ap.add_argument("--wait-minutes", type=float, default=20)
    ap.add_argument("--if-loaded", choices=["abort", "run"], default="abort")
    ap.add_argument("--write", type=Path, default=None,
                    help="put the report in this markdown file, replacing its main-job section "
                         "(between the main-job markers) or appending one")
    ap.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    ap.add_argument("--worker", choices=["transformers", "ct2"], help=argparse.SUPPRESS)
    ap.add_argument("--job", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    smoke = a.smoke
    if smoke and a.write and a.write.name == "BENCHMARKS.md":
        ap.error("--smoke measures the tiny fixtures: its numbers do not go into BENCHMARKS.md")
    a.translator = (a.translator or (SMOKE_TRANSLATOR if smoke else DEFAULT_TRANSLATOR)).resolve()
    a.summarizer = (a.summarizer or (SMOKE_SUMMARIZER if smoke else DEFAULT_SUMMARIZER)).resolve()
    a.steps = a.steps or (4 if smoke else 64)
    a.summary_steps = a.summary_steps or (4 if smoke else 100)
    a.lines = a.lines or (2 if smoke else None)
    a.repeats = a.repeats or (1 if smoke else 3)
    a.copy_mib = a.copy_mib or (32 if smoke else 512)
    a.max_load = (0.0 if smoke else 1.5) if a.max_load is None else a.max_load
    if a.tarjama is None:
        release, debug = ROOT / "target" / "release" / "tarjama", ROOT / "target" / "debug" / "tarjama"
        a.tarjama = str(debug if smoke and not release.exists() else release)
    a.systems = [s for s in a.systems.split(",") if s]
    a.weights = [w for w in a.weights.split(",") if w]
    for s in a.systems:
        if s not in SYSTEMS:
            ap.error(f"--systems: unknown system {s!r} ({', '.join(SYSTEMS)})")
    for w in a.weights:
        if w not in WEIGHTS:
            ap.error(f"--weights: unknown weights {w!r} (f32, int8)")
    return a


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    a = parse_args(argv)
    if a.worker:
        worker_main(a.worker, a.job)
        return
    tmp = Path(tempfile.mkdtemp(prefix="tarjama-main-job-"))
    try:
        measure(a, argv, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def measure(a, argv: list[str], tmp: Path) -> None:
    """The whole bench: checks, conversions, segments, the interleaved runs, the report."""
    command = shlex.join(["python", "scripts/bench.py"] + argv)
    binary = str(Path(a.tarjama).resolve())
    for name, d in (("translator", a.translator), ("summarizer", a.summarizer)):
        if not (d / "config.json").exists():
            raise SystemExit(f"{d}: no config.json (the {name}); make the full-size models with "
                             "`python scripts/make_fixtures_real.py --full-size bench-models`")
    if not Path(binary).exists():
        raise SystemExit(f"{binary}: no such tarjama binary (cargo build --release, or --tarjama)")
    if not a.article.exists():
        raise SystemExit(f"{a.article}: no such article")

    ct2_root = (a.ct2_dir or (ROOT / "target" / "bench-smoke" if a.smoke else a.translator.parent)).resolve()
    ct2 = {}
    if "ct2" in a.systems:
        ct2 = {"translator": bench.ensure_ct2(a.translator, ct2_root),
               "summarizer": bench.ensure_ct2(a.summarizer, ct2_root)}

    # The segments tarjama makes, and their layout for the peers' joined translation.
    article = tmp / "article.ar.txt"
    text = a.article.read_text(encoding="utf-8")
    if a.lines:
        text = "".join(text.splitlines(keepends=True)[: a.lines])
    article.write_text(text, encoding="utf-8")
    recs = bench.segments_of(binary, a.translator, article, a.threads)
    segments = [r["source"] for r in recs]
    layout = [(r["paragraph"], r["line"]) for r in recs]
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(a.translator))
    ids = [tok(s).input_ids for s in segments]
    bad = [i for i, (r, x) in enumerate(zip(recs, ids)) if r["source_tokens"] != len(x)]
    if bad:
        raise SystemExit(f"source token counts differ between tarjama and {type(tok).__name__} at "
                         f"segments {bad[:10]}")
    source_tokens = sum(len(x) for x in ids)
    print(f"{a.article.name}: {len(segments)} segments, {source_tokens} source tokens (tarjama and "
          f"{type(tok).__name__} agree on every segment)", flush=True)

    tgen = generation_settings(a.translator, None)
    sgen = generation_settings(a.summarizer, "summarization")
    job = {"translator": str(a.translator), "summarizer": str(a.summarizer), "segments": segments,
           "layout": layout, "steps": a.steps, "summary_steps": a.summary_steps,
           "batch_size": a.batch_size, "threads": a.threads, "translator_generation": tgen,
           "summarizer_generation": sgen}

    cases = []  # (system, weights, variant, how to run it)
    for w in a.weights:
        for s in a.systems:
            if s == "tarjama":
                cmd, env = tarjama_case(binary, a, article, w, tmp)
                cases.append((s, w, "", lambda cmd=cmd, env=env: run_tarjama(cmd, env)))
            elif s == "transformers":
                j = dict(job, int8=w == "int8")
                env = {"OMP_NUM_THREADS": str(a.threads)}
                cases.append((s, w, "", lambda j=j, env=env: run_peer("transformers", j, env, tmp)))
            else:
                q = "float32" if w == "f32" else "int8"
                j = dict(job, compute_type=q, translator_ct2=str(ct2["translator"][q]),
                         summarizer_ct2=str(ct2["summarizer"][q]))
                for variant, env in (("CT2_USE_MKL=0", {"CT2_USE_MKL": "0"}), ("default", {})):
                    env = dict(env, OMP_NUM_THREADS=str(a.threads))
                    cases.append((s, w, variant, lambda j=j, env=env: run_peer("ct2", j, env, tmp)))

    load_before, waited = os.getloadavg()[0], 0.0
    if a.max_load > 0:
        load_before, waited = bench.wait_for_load(a.max_load, a.wait_minutes)
        if load_before >= a.max_load and a.if_loaded == "abort":
            raise SystemExit(f"load average {load_before:.2f} still >= {a.max_load}; not measuring "
                             "(--if-loaded run to measure anyway)")
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    t_start = time.time()
    bandwidth = copy_bandwidth(a.threads, a.copy_mib)
    print(f"copy bandwidth: {bandwidth['gb_s']:.1f} GB/s ({a.threads} threads, "
          f"{a.copy_mib} MiB arrays)", flush=True)

    runs: dict[tuple[str, str, str], list[dict]] = {c[:3]: [] for c in cases}
    for r in range(a.repeats):
        k = r % len(cases)
        for s, w, variant, go in cases[k:] + cases[:k]:
            l0 = os.getloadavg()[0]
            res = go()
            res["load1"] = (l0 + os.getloadavg()[0]) / 2
            runs[(s, w, variant)].append(res)
            st = res["stages"]
            print(f"  {s:12s} {w:4s} {variant:13s} rep {r + 1}/{a.repeats}: "
                  + ", ".join(f"{n} {st[n]['seconds']:.2f} s" for n in STAGES)
                  + f"; tokens {st['translate']['target_tokens']}+{st['summarize']['target_tokens']}, "
                  f"summary input {st['summarize']['source_tokens']}, peak RSS {res['rss_mib']:.0f} MiB, "
                  f"load {res['load1']:.2f}", flush=True)
    elapsed = time.time() - t_start

    batches = math.ceil(len(segments) / a.batch_size)
    expected = {"translate": len(segments) * a.steps, "summarize": a.summary_steps}
    results = []
    for (s, w, variant), rs in runs.items():
        best = min(rs, key=work_seconds)
        results.append({"system": s, "weights": w, "variant": variant, "best": best,
                        "all_work_seconds": [work_seconds(x) for x in rs],
                        "load1": [x["load1"] for x in rs]})
    kept = []
    for s in a.systems:
        for w in a.weights:
            mine = [x for x in results if x["system"] == s and x["weights"] == w]
            kept.append(min(mine, key=lambda x: work_seconds(x["best"])))
    report = render(
        command=command, started=started, elapsed=elapsed, load_before=load_before, waited=waited,
        load_after=os.getloadavg(), a=a, results=results, kept=kept, bandwidth=bandwidth,
        machine=bench.machine_info(), vers=bench.versions(binary), segments=len(segments),
        source_tokens=source_tokens, batches=batches, expected=expected, tgen=tgen, sgen=sgen,
        step_bytes={"translator": decoder_step_bytes(a.translator),
                    "summarizer": decoder_step_bytes(a.summarizer)},
        disk={"translator": bench.dir_weights_mib(a.translator),
              "summarizer": bench.dir_weights_mib(a.summarizer)},
    )
    print()
    print(report)
    if a.write:
        write_section(a.write, report)
        print(f"wrote the main-job section of {a.write}")
    if a.json:
        a.json.write_text(json.dumps({"command": command, "results": results}, indent=1),
                          encoding="utf-8")


def write_section(path: Path, section: str) -> None:
    """Replaces the text between the main-job markers of `path` by `section` (appends it, with
    the markers, when they are missing); written atomically."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    block = f"{MARK_START}\n{section.rstrip()}\n{MARK_END}\n"
    if MARK_START in text and MARK_END in text:
        head, rest = text.split(MARK_START, 1)
        text = head + block + rest.split(MARK_END, 1)[1].lstrip("\n")
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + block
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


SYSTEM_TITLES = {"tarjama": "tarjama `run`", "transformers": "transformers `pipeline`",
                 "ct2": "CTranslate2 `Translator`"}
WEIGHT_TITLES = {
    "tarjama": {"f32": "float32", "int8": "`--quantize int8`"},
    "transformers": {"f32": "float32", "int8": "torch dynamic int8"},
    "ct2": {"f32": "float32", "int8": "`compute_type=int8`"},
}


def render(*, command, started, elapsed, load_before, waited, load_after, a, results, kept,
           bandwidth, machine, vers, segments, source_tokens, batches, expected, tgen, sgen,
           step_bytes, disk) -> str:
    f = bench.fmt
    L = []
    rel = lambda p: os.path.relpath(p, ROOT)  # noqa: E731
    L.append("## The main job: translate, then summarize (`scripts/bench.py --main-job`)")
    L.append("")
    if a.smoke:
        L.append("**Smoke run** (`--smoke`: the tiny test fixtures, one repeat): it shows that the "
                 "script works end to end. The timings measure nothing about the real models.")
        L.append("")
    L.append(f"Translator `{rel(a.translator)}` ({disk['translator']:.1f} MiB of weights on disk), "
             f"summarizer `{rel(a.summarizer)}` ({disk['summarizer']:.1f} MiB), article "
             + (f"`{a.article.name}` (its first {a.lines} lines)" if a.lines else f"`{a.article.name}`")
             + f": {segments} segments, {source_tokens} source tokens. Every segment "
             f"gets exactly {a.steps} new tokens and the summary {a.summary_steps} (minimum = "
             f"maximum); batch size {a.batch_size}; {a.threads} threads per system. Translator "
             f"decoding: beam {tgen['beams']}, length penalty {tgen['length_penalty']:g}, no-repeat "
             f"{tgen['no_repeat_ngram_size']}; summarizer: beam {sgen['beams']}, length penalty "
             f"{sgen['length_penalty']:g}, no-repeat {sgen['no_repeat_ngram_size']}, input cut at "
             "its positions (the models' own settings).")
    L.append("")
    L.append("```")
    L.append(command)
    L.append("```")
    L.append("")
    L.append(f"- started {started}, measuring took {elapsed / 60:.1f} min, best of {a.repeats} "
             "(translate + summarize seconds)")
    wait = f" after waiting {waited:.0f} min" if waited else ""
    L.append(f"- load average (1 min) at start {load_before:.2f}{wait}; at the end "
             f"{load_after[0]:.2f} / {load_after[1]:.2f} / {load_after[2]:.2f} (1/5/15 min)")
    L.append("- machine: " + "; ".join(f"{k}: {v}" for k, v in machine.items()))
    L.append("- versions: " + "; ".join(f"{k} {v}" for k, v in vers.items()))
    L.append(f"- copy bandwidth (STREAM Copy, torch, {bandwidth['threads']} threads, "
             f"{bandwidth['array_mib']} MiB arrays, best of {bandwidth['repeats']}): "
             f"{bandwidth['gb_s']:.1f} GB/s")
    ct2_note = [f"{x['weights']}: {x['variant']}" for x in kept if x["system"] == "ct2"]
    if ct2_note:
        L.append("- CTranslate2 ran with `CT2_USE_MKL=0` and with its default backend; kept the "
                 "faster: " + ", ".join(ct2_note) + " (both in the details table)")
    L.append("")
    L.append("Seconds per stage as each system reports them (tarjama: `--stats`' "
             "`model_load_seconds` and `stages`; the peers: a timer around each call). Tokens/s: "
             "tokens generated ÷ the stage's seconds. RSS: the process's peak (VmHWM) when the "
             "stage ended, in MiB; tarjama reports none after a load; \"process\" is "
             "`/usr/bin/time`'s maximum resident set size of the whole run.")
    L.append("")
    L.append("| system | weights | load translator s | translate s | translate tokens/s | RSS after "
             "translate | load summarizer s | summarize s | summarize tokens/s | RSS after summary "
             "| process peak RSS | tokens generated | summarizer input tokens |")
    L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    ref = kept[0]["best"]["stages"]["summarize"]["source_tokens"]
    for x in kept:
        st = x["best"]["stages"]
        t, s = st["translate"], st["summarize"]
        marks = []
        for name, want in expected.items():
            if st[name]["target_tokens"] != want:
                marks.append(f"≠ {want}!")
        toks = f"{t['target_tokens']} + {s['target_tokens']}" + (" " + " ".join(marks) if marks else "")
        inp = f"{s['source_tokens']} of {s['source_tokens_untruncated']}" + (
            "" if s["source_tokens"] == ref else f" ≠ {ref}!")
        L.append(f"| {SYSTEM_TITLES[x['system']]} | {WEIGHT_TITLES[x['system']][x['weights']]} | "
                 f"{st['load_translator']['seconds']:.2f} | {t['seconds']:.2f} | "
                 f"{t['target_tokens'] / t['seconds']:.1f} | {f(t['peak_rss_mib'], 0)} | "
                 f"{st['load_summarizer']['seconds']:.2f} | {s['seconds']:.2f} | "
                 f"{s['target_tokens'] / s['seconds']:.1f} | {f(s['peak_rss_mib'], 0)} | "
                 f"{x['best']['rss_mib']:.0f} | {toks} | {inp} |")
    L.append("")
    L.append(f"Tokens generated: translation + summary; the work asks for {segments} × {a.steps} = "
             f"{expected['translate']} + {expected['summarize']} (a mismatch is marked). "
             "Summarizer input tokens: what the summarizer encoded, of the whole translation's "
             "tokens (marked where it differs from the first row's). Each system summarizes its "
             "own translation, so the input is the same length in all of them only once every "
             "translation is longer than the summarizer's positions. CTranslate2 has no forced "
             "EOS: its last token of each segment is a word where the others' is `</s>`, so its "
             "translation is a little longer.")
    L.append("")
    gb = bandwidth["gb_s"] * 1e9
    L.append("### Against memory bandwidth")
    L.append("")
    L.append(f"Weights read per decoder step at batch 1 (greedy; a beam reads them once per step "
             f"too): each decoder layer's self-attention, cross-attention query/output and "
             f"feed-forward matrices, and the output projection, with biases (int8: 1 byte a weight "
             f"and a float32 scale per row). Floor: those bytes ÷ the copy bandwidth. Measured: the "
             f"stage's seconds ÷ its decoder steps ({batches} batches × {a.steps} for the "
             f"translation, {a.summary_steps} for the summary), so it also holds the encoder, the "
             "search and tokenizing; floor ÷ measured is the share of the time that reading the "
             "weights once per step at full bandwidth would take.")
    L.append("")
    L.append("| system | weights | translator MiB/step | floor ms | measured ms/step | floor ÷ measured "
             "| summarizer MiB/step | floor ms | measured ms/step | floor ÷ measured |")
    L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for x in kept:
        st, w = x["best"]["stages"], x["weights"]
        cells = []
        for model, name, steps in (("translator", "translate", batches * a.steps),
                                   ("summarizer", "summarize", a.summary_steps)):
            by = step_bytes[model][w]
            floor = by / gb * 1e3
            ms = st[name]["seconds"] / steps * 1e3
            cells += [f"{by / MIB:.3g}", f"{floor:.3g}", f"{ms:.3g}", f"{floor / ms:.1%}"]
        L.append(f"| {SYSTEM_TITLES[x['system']]} | {WEIGHT_TITLES[x['system']][w]} | "
                 + " | ".join(cells) + " |")
    L.append("")
    L.append("### Details")
    L.append("")
    L.append("RSS after imports: the Python peers' peak before any model loads (the interpreter, "
             "torch, transformers, ctranslate2), in MiB.")
    L.append("")
    L.append("| system | weights | variant | translate + summarize s, each run | load avg (1 min) per run "
             "| RSS after imports |")
    L.append("|---|---|---|---|---|---:|")
    for x in results:
        imports = x["best"]["stages"].get("imports", {}).get("peak_rss_mib")
        L.append(f"| {SYSTEM_TITLES[x['system']]} | {WEIGHT_TITLES[x['system']][x['weights']]} | "
                 f"{x['variant'] or '–'} | {', '.join(f'{s:.2f}' for s in x['all_work_seconds'])} | "
                 f"{', '.join(f'{s:.2f}' for s in x['load1'])} | {f(imports, 0)} |")
    L.append("")
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    main()
