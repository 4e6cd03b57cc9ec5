"""hf_job.py SEGMENTS.jsonl TC DB DEVICE DTYPE NT NS: the main job in transformers (load, translate
the segments tarjama made, batch 8, beam 4, forced NT new tokens; summarize the joined translation,
truncated to 1024 tokens, the model's settings (beam 4, no-repeat 3, length penalty 2.0) with NS
forced new tokens). Prints one JSON line of seconds per stage."""
import json, sys, time
import torch
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer
segs_path, tc, db, dev, dt, nt, ns = sys.argv[1:8]
nt, ns = int(nt), int(ns)
dtype = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}[dt]
segs = [json.loads(l)["source"] for l in open(segs_path) if l.strip()]
sync = (lambda: torch.cuda.synchronize()) if dev.startswith("cuda") else (lambda: None)
r = {"system": "transformers", "device": dev, "dtype": dt, "segments": len(segs)}
with torch.inference_mode():
    t = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(tc)
    m = AutoModelForSeq2SeqLM.from_pretrained(tc, dtype=dtype).to(dev).eval(); sync()
    r["load_translator_s"] = time.perf_counter() - t
    t = time.perf_counter(); outs = []
    for i in range(0, len(segs), 8):
        enc = tok(segs[i:i + 8], return_tensors="pt", padding=True).to(dev)
        g = m.generate(**enc, num_beams=4, min_new_tokens=nt, max_new_tokens=nt)
        outs += tok.batch_decode(g, skip_special_tokens=True)
    sync(); r["translate_s"] = time.perf_counter() - t
    del m; torch.cuda.empty_cache() if dev.startswith("cuda") else None
    t = time.perf_counter()
    tok2 = AutoTokenizer.from_pretrained(db)
    m2 = AutoModelForSeq2SeqLM.from_pretrained(db, dtype=dtype).to(dev).eval(); sync()
    r["load_summarizer_s"] = time.perf_counter() - t
    t = time.perf_counter()
    enc = tok2(" ".join(outs), return_tensors="pt", truncation=True, max_length=1024).to(dev)
    r["summary_input_tokens"] = int(enc["input_ids"].shape[1])
    g = m2.generate(**enc, num_beams=4, no_repeat_ngram_size=3, length_penalty=2.0, min_new_tokens=ns, max_new_tokens=ns)
    sync(); r["summarize_s"] = time.perf_counter() - t
    r["summary_tokens"] = int(g.shape[1])
if dev.startswith("cuda"):
    r["peak_gpu_mib"] = torch.cuda.max_memory_allocated() / 2**20
print(json.dumps(r), flush=True)
