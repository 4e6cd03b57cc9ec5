#!/usr/bin/env python3
"""Benchmark tarjama against Hugging Face transformers and CTranslate2 on the same machine.

One run measures every system on the same model (a full-size random opus-mt-ar-en-shaped Marian,
see `make_fixtures.py --full-size`), the same segments (exactly the ones tarjama translates) and the
same work: every segment gets exactly `--steps` decoder steps (minimum = maximum new tokens), so
random weights cannot change how much is computed. The generated-token count of every system is
checked against segments x steps.

Every measurement is a fresh process (load, optional warm-up for the Python peers, one timed pass
over all segments) run under `/usr/bin/time`, which gives the peak RSS of the whole process for all
systems alike. Repeats are interleaved across systems; the best time is reported.

    /work/pyenv/bin/python scripts/bench.py --tarjama /tmp/bench-target/release/tarjama \
        --write BENCHMARKS.md

See scripts/README.md ("bench.py") for what is measured and how.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = ROOT / "bench-models" / "opus-mt-ar-en-random"
SEED = ROOT.parent / "shared" / "data" / "seed" / "article.ar.txt"
TATOEBA = ROOT.parent / "shared" / "data" / "tatoeba-ara-eng" / "sample500.ar"
MIB = 1024 * 1024

# Issue 6's targets.
TARGET_VS_TRANSFORMERS = 1.5  # tarjama throughput >= 1.5 x transformers
TARGET_VS_CT2_F32 = 1.3  # tarjama time <= 1.3 x CTranslate2 float32
TARGET_VS_CT2_INT8 = 1.5  # tarjama int8 time <= 1.5 x CTranslate2 int8
RSS_FACTOR, RSS_EXTRA_MIB = 1.5, 200  # peak RSS <= 1.5 x weights on disk + 200 MB


# ----------------------------------------------------------------------------------------------
# Workers: run in their own process, print one JSON line on stdout.
# ----------------------------------------------------------------------------------------------


def vmhwm_mib() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def worker_transformers(job: dict) -> dict:
    import torch

    torch.set_num_threads(job["threads"])
    torch.set_num_interop_threads(1)
    from transformers import MarianMTModel

    t0 = time.perf_counter()
    model = MarianMTModel.from_pretrained(job["model"], dtype=torch.float32).eval()
    if job.get("int8"):
        model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    load = time.perf_counter() - t0
    pad = model.config.pad_token_id
    ids = job["ids"]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))  # like CTranslate2 and tarjama
    steps, b = job["steps"], job["batch"]

    def run(idxs, new_tokens):
        count = 0
        for s in range(0, len(idxs), b):
            chunk = [ids[i] for i in idxs[s : s + b]]
            width = max(len(x) for x in chunk)
            inp = torch.tensor([x + [pad] * (width - len(x)) for x in chunk])
            mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in chunk])
            out = model.generate(
                input_ids=inp,
                attention_mask=mask,
                num_beams=job["beams"],
                do_sample=False,
                min_new_tokens=new_tokens,
                max_new_tokens=new_tokens,
            )
            # Generated tokens: everything after the decoder start token that is not padding.
            count += int((out[:, 1:] != pad).sum())
        return count

    with torch.inference_mode():
        if job["warmup"]:
            run(order[:1], 4)
        t0 = time.perf_counter()
        count = run(order, steps)
        secs = time.perf_counter() - t0
    return {"load_seconds": load, "seconds": secs, "target_tokens": count, "segments": len(ids)}


def worker_ct2(job: dict) -> dict:
    import ctranslate2

    t0 = time.perf_counter()
    tr = ctranslate2.Translator(
        job["model"],
        device="cpu",
        compute_type=job["compute_type"],
        intra_threads=job["threads"],
        inter_threads=1,
    )
    load = time.perf_counter() - t0
    pieces = job["pieces"]
    steps = job["steps"]

    def run(src, n):
        res = tr.translate_batch(
            src,
            max_batch_size=job["batch"],
            beam_size=job["beams"],
            min_decoding_length=n,
            max_decoding_length=n,
            return_end_token=True,  # count an EOS if one were generated
        )
        return sum(len(r.hypotheses[0]) for r in res)

    if job["warmup"]:
        run(pieces[:1], 4)
    t0 = time.perf_counter()
    count = run(pieces, steps)
    secs = time.perf_counter() - t0
    return {"load_seconds": load, "seconds": secs, "target_tokens": count, "segments": len(pieces)}


def worker_main(kind: str, job_path: str) -> None:
    job = json.loads(Path(job_path).read_text())
    res = {"transformers": worker_transformers, "ct2": worker_ct2}[kind](job)
    res["vmhwm_mib"] = vmhwm_mib()
    print(json.dumps(res), flush=True)


# ----------------------------------------------------------------------------------------------
# Driver
# ----------------------------------------------------------------------------------------------


def sh(cmd: list[str], **kw) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=True, **kw).stdout


def loadavg() -> tuple[float, float, float]:
    return os.getloadavg()


def wait_for_load(max_load: float, minutes: float) -> tuple[float, float]:
    """Polls every minute until the 1-minute load average is below max_load; returns
    (load when done, minutes waited)."""
    t0 = time.time()
    while True:
        l1 = loadavg()[0]
        waited = (time.time() - t0) / 60
        if l1 < max_load:
            print(f"load average {l1:.2f} < {max_load}: starting", flush=True)
            return l1, waited
        if waited >= minutes:
            print(f"load average still {l1:.2f} after {waited:.0f} min", flush=True)
            return l1, waited
        print(f"load average {l1:.2f} >= {max_load}; waiting (waited {waited:.0f} min)", flush=True)
        time.sleep(60)


def timed(cmd: list[str], env=None) -> tuple[subprocess.CompletedProcess, float, float]:
    """Runs cmd under /usr/bin/time; returns (process, peak RSS of the process in MiB, wall s)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        full = ["/usr/bin/time", "-f", "%M", "-o", tf.name] + cmd
        t0 = time.perf_counter()
        p = subprocess.run(full, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            sys.stderr.write(p.stderr[-4000:])
            raise SystemExit(f"command failed ({p.returncode}): {shlex.join(cmd)}")
        kb = int(Path(tf.name).read_text().strip().splitlines()[-1])
    return p, kb / 1024, wall


def tarjama_help(binary: str) -> str:
    return sh([binary, "translate", "--help"])


def segments_of(binary: str, model: Path, path: Path, threads: int) -> list[dict]:
    """The segments tarjama translates from `path`, as `translate --format jsonl` reports them."""
    out = sh(
        [binary, "translate", str(path), "--model", str(model), "--normalize", "none",
         "--format", "jsonl", "--beams", "1", "--max-new-tokens", "1", "--batch-size", "16",
         "--threads", str(threads)]
    )
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def machine_info() -> dict:
    info = {"platform": platform.platform(), "python": platform.python_version()}
    try:
        lscpu = sh(["lscpu"])
        for key in ("Model name", "CPU(s)", "Thread(s) per core", "Core(s) per socket", "L2 cache",
                    "L3 cache", "Hypervisor vendor"):
            m = re.search(rf"^{re.escape(key)}:\s*(.+)$", lscpu, re.M)
            if m:
                info[key] = m.group(1).strip()
        flags = re.search(r"^Flags:\s*(.+)$", lscpu, re.M)
        if flags:
            have = set(flags.group(1).split())
            info["SIMD"] = " ".join(
                f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16",
                            "amx_tile", "amx_int8") if f in have
            )
    except (OSError, subprocess.CalledProcessError):
        pass
    try:
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
        info["memory"] = f"{int(mem) / MIB:.1f} GiB"
    except OSError:
        pass
    return info


def versions(binary: str) -> dict:
    v = {}
    try:
        v["tarjama"] = sh([binary, "--version"]).strip()
    except (OSError, subprocess.CalledProcessError):
        v["tarjama"] = "?"
    try:
        head = sh(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]).strip()
        dirty = sh(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"]).strip()
        v["tarjama source"] = f"git {head}" + (" + uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        pass
    try:
        v["rustc"] = sh(["rustc", "--version"]).strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    import ctranslate2
    import torch
    import transformers

    v["transformers"] = transformers.__version__
    v["torch"] = torch.__version__
    v["ctranslate2"] = ctranslate2.__version__
    v["python"] = platform.python_version()
    return v


WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def weights_file(model: Path) -> Path:
    """The model's weights file as the Hub stores it (model.safetensors or pytorch_model.bin)."""
    for n in WEIGHT_FILES:
        if (model / n).exists():
            return model / n
    raise SystemExit(f"{model} has no {' or '.join(WEIGHT_FILES)}")


def ensure_ct2(model: Path, out_root: Path) -> dict[str, Path]:
    """Converts the model with CTranslate2's converter (float32 and int8), cached by the
    weights file's size and mtime."""
    st = weights_file(model)
    stamp = f"{st.stat().st_size}:{st.stat().st_mtime_ns}"
    import ctranslate2

    stamp += f":ct2-{ctranslate2.__version__}"
    outs = {}
    for q in ("float32", "int8"):
        out = out_root / f"{model.name}-ct2-{q}"
        outs[q] = out
        sf = out / "bench-source.txt"
        if sf.exists() and sf.read_text() == stamp and (out / "model.bin").exists():
            continue
        print(f"converting {model} to CTranslate2 {q} in {out}", flush=True)
        code = (
            "import sys; from ctranslate2.converters import TransformersConverter as C; "
            "C(sys.argv[1]).convert(sys.argv[2], quantization=sys.argv[3], force=True)"
        )
        subprocess.run([sys.executable, "-c", code, str(model), str(out), q], check=True)
        sf.write_text(stamp)
    return outs


def dir_weights_mib(d: Path, names=WEIGHT_FILES + ("model.bin",)) -> float:
    return sum((d / n).stat().st_size for n in names if (d / n).exists()) / MIB


def fmt(x, nd=2):
    return "–" if x is None else f"{x:.{nd}f}"


def main() -> None:
    if "--main-job" in sys.argv[1:]:
        import bench_main_job  # scripts/bench_main_job.py: the translate-then-summarize bench

        bench_main_job.main()
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tarjama", default=str(ROOT / "target" / "release" / "tarjama"),
                    help="tarjama binary (default: target/release/tarjama)")
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    ap.add_argument("--ct2-dir", type=Path, default=None,
                    help="where converted CTranslate2 models are cached (default: beside --model)")
    ap.add_argument("--seed", type=Path, default=SEED, help="batch-1 input (the seed article)")
    ap.add_argument("--tatoeba", type=Path, default=TATOEBA, help="batch-16 input (500 lines)")
    ap.add_argument("--tatoeba-lines", type=int, default=256,
                    help="first N lines of --tatoeba for the greedy batch-16 case")
    ap.add_argument("--tatoeba-lines-beam", type=int, default=128,
                    help="first N lines of --tatoeba for the beam batch-16 case")
    ap.add_argument("--steps", type=int, default=64, help="decoder steps per segment")
    ap.add_argument("--beam", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3, help="best of N for the batch-1 cases")
    ap.add_argument("--repeats-large", type=int, default=1, help="best of N for the batch-16 cases")
    ap.add_argument("--cases", default="all",
                    help="comma list of b1-greedy,b1-beam,b16-greedy,b16-beam (default all)")
    ap.add_argument("--systems", default="all",
                    help="comma list of tarjama,tarjama-avx2,tarjama-q8_0,transformers,transformers-int8,"
                         "ct2-f32,ct2-int8")
    ap.add_argument("--torch-int8", action="store_true",
                    help="also run transformers with torch dynamic int8 quantization of nn.Linear")
    ap.add_argument("--avx2-row", action="store_true",
                    help="also run tarjama f32 with TARJAMA_CPU_KERNEL=avx2 (what a CPU without "
                         "AVX-512 gets), on a machine that has AVX-512")
    ap.add_argument("--quantize", default="q8_0", help="tarjama --quantize value for its int8 row")
    ap.add_argument("--no-warmup", action="store_true",
                    help="do not give the Python peers an untimed warm-up generation")
    ap.add_argument("--max-load", type=float, default=1.5,
                    help="wait until the 1-minute load average is below this (0: don't wait)")
    ap.add_argument("--wait-minutes", type=float, default=20)
    ap.add_argument("--if-loaded", choices=["abort", "run"], default="abort",
                    help="what to do when the load average is still high after --wait-minutes")
    ap.add_argument("--nice", type=int, default=0,
                    help="run the measured processes at this nice value (negative: ahead of other "
                         "work on a shared machine; needs privileges)")
    ap.add_argument("--write", type=Path, default=None, help="write the report (markdown) here")
    ap.add_argument("--json", type=Path, default=None, help="also write raw results as JSON")
    ap.add_argument("--main-job", action="store_true",
                    help="instead, benchmark the main job (tarjama run against transformers' and "
                         "CTranslate2's translate-then-summarize; scripts/bench_main_job.py); "
                         "`--main-job --help` lists its flags")
    ap.add_argument("--worker", choices=["transformers", "ct2"], help=argparse.SUPPRESS)
    ap.add_argument("--job", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker_main(args.worker, args.job)
        return

    command = shlex.join(["python", "scripts/bench.py"] + sys.argv[1:])
    binary = str(Path(args.tarjama).resolve())
    model = args.model.resolve()
    if not (model / "model.safetensors").exists():
        raise SystemExit(f"{model} has no model.safetensors; make it with "
                         "`python scripts/make_fixtures.py --full-size bench-models/opus-mt-ar-en-random`")
    help_text = tarjama_help(binary)
    has_quantize = "--quantize" in help_text
    has_threads = "--threads" in help_text

    all_cases = {
        "b1-greedy": dict(data="seed", batch=1, beams=1),
        "b1-beam": dict(data="seed", batch=1, beams=args.beam),
        "b16-greedy": dict(data="tatoeba", batch=16, beams=1, lines=args.tatoeba_lines),
        "b16-beam": dict(data="tatoeba", batch=16, beams=args.beam,
                         lines=args.tatoeba_lines_beam or args.tatoeba_lines),
    }
    case_names = list(all_cases) if args.cases == "all" else args.cases.split(",")
    systems = ["tarjama", "tarjama-avx2", "tarjama-" + args.quantize, "transformers",
               "transformers-int8", "ct2-f32", "ct2-int8"]
    if args.systems != "all":
        systems = [s for s in systems if s in args.systems.split(",")]
    if not has_quantize:
        systems = [s for s in systems if s != "tarjama-" + args.quantize]
        print("tarjama has no --quantize: no tarjama int8 row", flush=True)
    if not args.torch_int8:
        systems = [s for s in systems if s != "transformers-int8"]
    if not args.avx2_row:
        systems = [s for s in systems if s != "tarjama-avx2"]

    from transformers import MarianTokenizer

    tok = MarianTokenizer.from_pretrained(str(model))
    ct2 = ensure_ct2(model, (args.ct2_dir or model.parent).resolve())

    tmp = Path(tempfile.mkdtemp(prefix="tarjama-bench-"))
    # Inputs are read at run time and only written to a temporary folder.
    inputs: dict[tuple[str, int | None], Path] = {}
    segs: dict[tuple[str, int | None], dict] = {}
    for name in case_names:
        c = all_cases[name]
        key = (c["data"], c.get("lines"))
        if key in inputs:
            continue
        if c["data"] == "seed":
            p = tmp / "seed.ar.txt"
            p.write_text(args.seed.read_text(encoding="utf-8"), encoding="utf-8")
        else:
            lines = args.tatoeba.read_text(encoding="utf-8").splitlines()[: c["lines"]]
            p = tmp / f"tatoeba{c['lines']}.ar.txt"
            p.write_text("\n".join(lines) + "\n", encoding="utf-8")
        inputs[key] = p
        recs = segments_of(binary, model, p, args.threads)
        sources = [r["source"] for r in recs]
        ids = [tok(s).input_ids for s in sources]
        mism = [i for i, (r, x) in enumerate(zip(recs, ids)) if r["source_tokens"] != len(x)]
        if mism:
            raise SystemExit(f"source token counts differ between tarjama and MarianTokenizer at "
                             f"segments {mism[:10]} of {p.name}")
        segs[key] = {
            "n": len(ids),
            "ids": ids,
            "pieces": [tok.convert_ids_to_tokens(x) for x in ids],
            "source_tokens": sum(len(x) for x in ids),
            "lines": c.get("lines"),
        }
        print(f"{p.name}: {len(ids)} segments, {segs[key]['source_tokens']} source tokens "
              f"(tarjama and MarianTokenizer agree on every segment's length)", flush=True)

    load_before, waited = (loadavg()[0], 0.0)
    if args.max_load > 0:
        load_before, waited = wait_for_load(args.max_load, args.wait_minutes)
        if load_before >= args.max_load and args.if_loaded == "abort":
            raise SystemExit(
                f"load average {load_before:.2f} still >= {args.max_load} after "
                f"{waited:.0f} min; not measuring (--if-loaded run to measure anyway). With more "
                "runnable threads than cores the OpenMP-based peers slow down far more than tarjama, "
                "so such numbers are not comparable.")
    if args.nice:
        os.nice(args.nice)  # inherited by every measured process
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    t_start = time.time()

    def run_one(system: str, case: dict, data: dict, inp: Path) -> dict:
        warm = not args.no_warmup
        if system.startswith("tarjama"):
            cmd = [binary, "translate", str(inp), "--model", str(model), "--normalize", "none",
                   "--beams", str(case["beams"]), "--batch-size", str(case["batch"]),
                   "--min-new-tokens", str(args.steps), "--max-new-tokens", str(args.steps),
                   "--stats"]
            if has_threads:
                cmd += ["--threads", str(args.threads)]
            env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))
            if system == "tarjama-avx2":
                env["TARJAMA_CPU_KERNEL"] = "avx2"
            elif system != "tarjama":
                cmd += ["--quantize", args.quantize]
            p, rss, wall = timed(cmd, env)
            stats = json.loads([l for l in p.stderr.splitlines() if l.startswith("{")][-1])
            return {"seconds": stats["generate_seconds"], "load_seconds": stats["load_seconds"],
                    "target_tokens": stats["target_tokens"], "segments": stats["segments"],
                    "rss_mib": rss, "self_rss_mib": stats.get("peak_rss_mb"), "wall": wall,
                    "stats": stats}
        job = {"threads": args.threads, "beams": case["beams"], "batch": case["batch"],
               "steps": args.steps, "warmup": warm}
        if system.startswith("transformers"):
            kind = "transformers"
            job.update(model=str(model), ids=data["ids"], int8=system.endswith("int8"))
        else:
            kind = "ct2"
            q = "float32" if system == "ct2-f32" else "int8"
            job.update(model=str(ct2[q]), pieces=data["pieces"], compute_type=q)
        jp = tmp / "job.json"
        jp.write_text(json.dumps(job))
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
        p, rss, wall = timed([sys.executable, __file__, "--worker", kind, "--job", str(jp)], env)
        res = json.loads(p.stdout.strip().splitlines()[-1])
        res.update(rss_mib=rss, self_rss_mib=res.pop("vmhwm_mib"), wall=wall)
        return res

    results = []  # one per case x system
    for name in case_names:
        c = all_cases[name]
        key = (c["data"], c.get("lines"))
        data, inp = segs[key], inputs[key]
        reps = args.repeats if c["batch"] == 1 else args.repeats_large
        runs: dict[str, list] = {s: [] for s in systems}
        for r in range(reps):
            order = systems[r % len(systems):] + systems[: r % len(systems)]
            for s in order:
                l0 = loadavg()[0]
                res = run_one(s, c, data, inp)
                res["load1"] = (l0 + loadavg()[0]) / 2
                runs[s].append(res)
                print(f"  {name:10s} {s:18s} rep {r + 1}/{reps}: {res['seconds']:8.2f} s, "
                      f"{res['target_tokens']} tokens, {res['segments']} segments, "
                      f"peak RSS {res['rss_mib']:.0f} MiB, load {res['load1']:.2f}", flush=True)
        expected = data["n"] * args.steps
        for s in systems:
            best = min(runs[s], key=lambda x: x["seconds"])
            tokens = {x["target_tokens"] for x in runs[s]}
            results.append({
                "case": name, "system": s, "data": c["data"], "lines": c.get("lines"),
                "batch": c["batch"], "beams": c["beams"], "segments": data["n"],
                "source_tokens": data["source_tokens"], "expected_tokens": expected,
                "target_tokens": sorted(tokens), "equal_work": tokens == {expected},
                "seconds": best["seconds"], "all_seconds": [x["seconds"] for x in runs[s]],
                "rss_mib": max(x["rss_mib"] for x in runs[s]),
                "self_rss_mib": max((x["self_rss_mib"] or 0) for x in runs[s]) or None,
                "load_seconds": best.get("load_seconds"),
                "load1": [round(x["load1"], 2) for x in runs[s]],
            })
    elapsed = time.time() - t_start
    load_after = loadavg()

    weights = {
        "tarjama": dir_weights_mib(model),
        "ct2-f32": dir_weights_mib(ct2["float32"]),
        "ct2-int8": dir_weights_mib(ct2["int8"]),
    }
    report = render(
        results=results, command=command, started=started, elapsed=elapsed,
        load_before=load_before, waited=waited, load_after=load_after, max_load=args.max_load,
        machine=machine_info(), vers=versions(binary), weights=weights, steps=args.steps,
        threads=args.threads, quantize=args.quantize if has_quantize else None, nice=args.nice,
        warmup=not args.no_warmup, segs=segs, model=model,
    )
    print()
    print(report)
    if args.write:
        args.write.write_text(report, encoding="utf-8")
        print(f"wrote {args.write}")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "command": command}, indent=1))


CASE_TITLES = {
    "b1-greedy": "greedy, batch 1",
    "b1-beam": "beam {beam}, batch 1",
    "b16-greedy": "greedy, batch 16",
    "b16-beam": "beam {beam}, batch 16",
}
SYSTEM_TITLES = {
    "tarjama": "tarjama f32",
    "tarjama-avx2": "tarjama f32, AVX2 kernel",
    "transformers": "transformers f32",
    "transformers-int8": "transformers int8 (torch dynamic)",
    "ct2-f32": "CTranslate2 float32",
    "ct2-int8": "CTranslate2 int8",
}


def render(*, results, command, started, elapsed, load_before, waited, load_after, max_load,
           machine, vers, weights, steps, threads, quantize, warmup, segs, model, nice) -> str:
    L = []
    L.append("# Benchmarks: tarjama vs transformers vs CTranslate2 (CPU)")
    L.append("")
    L.append("Generated by `scripts/bench.py` (see scripts/README.md). All numbers from one run on one "
             "machine. Model: a full-size random Marian with opus-mt-ar-en's dimensions (d_model 512, "
             "6+6 layers, 8 heads, ffn 2048, vocabulary 62,834; 76.4 M parameters), made by "
             "`scripts/make_fixtures.py --full-size`; CTranslate2 gets the same weights through its "
             "own converter. Every segment gets exactly "
             f"{steps} decoder steps (minimum = maximum new tokens), {threads} threads per system, "
             "tokenization not timed.")
    L.append("")
    L.append("```")
    L.append(command)
    L.append("```")
    L.append("")
    L.append(f"- started {started}, measuring took {elapsed / 60:.1f} min")
    wait_note = f" after waiting {waited:.0f} min for it to fall below {max_load}" if max_load > 0 else ""
    L.append(f"- load average (1 min) at start: {load_before:.2f}{wait_note}; at the end: "
             f"{load_after[0]:.2f} / {load_after[1]:.2f} / {load_after[2]:.2f} (1/5/15 min); per run "
             "in the details table"
             + (f"; every measured process ran at nice {nice} (ahead of the other work on the "
                "machine)" if nice else ""))
    L.append("- machine: " + "; ".join(f"{k}: {v}" for k, v in machine.items()))
    L.append("- versions: " + "; ".join(f"{k} {v}" for k, v in vers.items()))
    w = weights
    L.append(f"- weights on disk: {w['tarjama']:.1f} MiB safetensors (tarjama, transformers); "
             f"CTranslate2 model.bin {w['ct2-f32']:.1f} MiB float32, {w['ct2-int8']:.1f} MiB int8")
    L.append("")

    by = {(r["case"], r["system"]): r for r in results}
    cases = list(dict.fromkeys(r["case"] for r in results))
    beam = next((r["beams"] for r in results if r["beams"] > 1), 4)

    def title(case):
        r = next(x for x in results if x["case"] == case)
        data = (f"seed article, {r['segments']} segments" if r["data"] == "seed" else
                f"Tatoeba sample500 first {r['lines']} lines, {r['segments']} segments")
        return CASE_TITLES[case].format(beam=beam) + f" ({data}, {r['source_tokens']} source tokens)"

    def sys_title(s):
        if s.startswith("tarjama-") and s not in SYSTEM_TITLES:
            return f"tarjama int8 (--quantize {s[8:]})"
        return SYSTEM_TITLES.get(s, s)

    L.append("## Results")
    L.append("")
    L.append("Seconds: best of the repeats, generation only (encoder + decoder + search). Throughput "
             "from those seconds. Peak RSS: the whole process (`/usr/bin/time` maximum resident set "
             "size; MiB), for the Python peers including the interpreter and imports. "
             "\"× tarjama\" columns: time ÷ tarjama's f32 time (>1: tarjama is faster) and "
             "RSS ÷ tarjama f32's RSS.")
    L.append("")
    L.append("| case | system | seconds | segments/s | target tokens/s | peak RSS MiB | time × tarjama | RSS × tarjama | tokens generated |")
    L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for case in cases:
        base = by.get((case, "tarjama"))
        for i, r in enumerate([x for x in results if x["case"] == case]):
            t = r["seconds"]
            tr = fmt(t / base["seconds"]) if base else "–"
            rr = fmt(r["rss_mib"] / base["rss_mib"]) if base else "–"
            toks = "/".join(str(x) for x in r["target_tokens"])
            ok = "" if r["equal_work"] else f" ≠ {r['expected_tokens']}!"
            L.append(f"| {title(case) if i == 0 else ''} | {sys_title(r['system'])} | "
                     f"{t:.2f} | {r['segments'] / t:.2f} | {r['target_tokens'][0] / t:.0f} | "
                     f"{r['rss_mib']:.0f} | {tr} | {rr} | {toks}{ok} |")
    L.append("")

    L.append("## Against the issue's targets")
    L.append("")
    rss_bound = RSS_FACTOR * weights["tarjama"] + RSS_EXTRA_MIB
    L.append(f"Targets: throughput ≥ {TARGET_VS_TRANSFORMERS} × transformers; time ≤ "
             f"{TARGET_VS_CT2_F32} × CTranslate2 float32; int8 time ≤ {TARGET_VS_CT2_INT8} × "
             f"CTranslate2 int8; peak RSS ≤ {RSS_FACTOR} × {weights['tarjama']:.1f} MiB + "
             f"{RSS_EXTRA_MIB} = {rss_bound:.0f} MiB.")
    L.append("")
    L.append("| case | tarjama ÷ transformers throughput (≥ 1.5) | tarjama ÷ CT2 f32 time (≤ 1.3) | tarjama int8 ÷ CT2 int8 time (≤ 1.5) | tarjama peak RSS (≤ %.0f) | tarjama int8 peak RSS |" % rss_bound)
    L.append("|---|---|---|---|---|---|")

    def check(v, target, higher):
        if v is None:
            return "–"
        ok = v >= target if higher else v <= target
        return f"{v:.2f} {'✅' if ok else '❌'}"

    for case in cases:
        t = by.get((case, "tarjama"))
        hf = by.get((case, "transformers"))
        c32 = by.get((case, "ct2-f32"))
        c8 = by.get((case, "ct2-int8"))
        tq = by.get((case, f"tarjama-{quantize}")) if quantize else None
        a = hf["seconds"] / t["seconds"] if (t and hf) else None
        b = t["seconds"] / c32["seconds"] if (t and c32) else None
        c = tq["seconds"] / c8["seconds"] if (tq and c8) else None
        rss = f"{t['rss_mib']:.0f} {'✅' if t['rss_mib'] <= rss_bound else '❌'}" if t else "–"
        rssq = f"{tq['rss_mib']:.0f} {'✅' if tq['rss_mib'] <= rss_bound else '❌'}" if tq else "–"
        L.append(f"| {CASE_TITLES[case].format(beam=beam)} | {check(a, TARGET_VS_TRANSFORMERS, True)} | "
                 f"{check(b, TARGET_VS_CT2_F32, False)} | {check(c, TARGET_VS_CT2_INT8, False)} | "
                 f"{rss} | {rssq} |")
    if not quantize:
        L.append("")
        L.append("The tarjama binary measured has no `--quantize`, so there is no tarjama int8 row "
                 "and no int8 comparison; CTranslate2 int8 is shown for reference.")
    L.append("")

    L.append("## Same work in every system")
    L.append("")
    L.append("- Segments: exactly the ones tarjama translates (`tarjama translate --format jsonl "
             "--normalize none`, field `source`), tokenized for the peers with `MarianTokenizer`; "
             "the script checks that tarjama's per-segment `source_tokens` equals MarianTokenizer's "
             "length for every segment. tarjama runs with `--normalize none` so that it feeds the "
             "same text to the tokenizer. CTranslate2 gets `convert_ids_to_tokens` of the same ids.")
    L.append(f"- Length: every system must generate exactly {steps} tokens per segment, i.e. "
             f"{steps} decoder steps. tarjama: `--min-new-tokens {steps} --max-new-tokens {steps}`, "
             "`target_tokens` from `--stats`. transformers: `generate(min_new_tokens="
             f"{steps}, max_new_tokens={steps})`, counting the non-pad ids after the decoder start "
             f"token; the {steps}th token is the forced EOS (`forced_eos_token_id`). CTranslate2: "
             f"`translate_batch(min_decoding_length={steps}, max_decoding_length={steps}, "
             "return_end_token=True)`, counting hypothesis tokens; it emits no EOS at all (it stops "
             f"at the length limit after {steps} non-EOS tokens), which is the same {steps} decoder "
             "steps. The \"tokens generated\" column is each system's own count; the script marks "
             "any count ≠ segments × steps.")
    L.append("- Batching: all three sort segments by source length before cutting batches "
             "(CTranslate2 does it inside `translate_batch(max_batch_size=…)`, tarjama inside "
             "`translate`, the transformers driver in this script), then pad per batch.")
    L.append(f"- Threads: tarjama `--threads {threads}` (and RAYON_NUM_THREADS); "
             f"`torch.set_num_threads({threads})`, one interop thread; CTranslate2 "
             f"`intra_threads={threads}, inter_threads=1`.")
    L.append("- Each measurement is a fresh process: load, then one timed pass over all segments. "
             + ("The Python peers first get an untimed warm-up (one segment, 4 steps) to pay "
                "one-time initialisation outside the timing; tarjama, a CLI, gets none, so the "
                "comparison leans towards the peers. " if warmup else "")
             + "Repeats are interleaved across systems (order rotated) and the best is kept.")
    L.append("- Decoding settings otherwise come from the model (transformers: "
             "generation_config.json: renormalize_logits, bad_words_ids [[pad]], forced EOS; "
             "CTranslate2: its defaults, length_penalty 1). With a fixed number of steps they "
             "change what is chosen, not how much is computed.")
    L.append("")

    L.append("## Details")
    L.append("")
    L.append("| case | system | all runs (s) | load avg (1 min) per run | model load s | peak RSS (self-reported VmHWM) MiB |")
    L.append("|---|---|---|---|---:|---:|")
    for r in results:
        L.append(f"| {r['case']} | {sys_title(r['system'])} | "
                 f"{', '.join(f'{x:.2f}' for x in r['all_seconds'])} | "
                 f"{', '.join(f'{x:.2f}' for x in r['load1'])} | {fmt(r['load_seconds'])} | "
                 f"{fmt(r['self_rss_mib'], 0)} |")
    L.append("")
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    main()
