"""cmp_ids.py A.jsonl B.jsonl: how many records have equal output_ids; the first difference."""
import json, sys
a = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
b = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
same = sum(x["output_ids"] == y["output_ids"] for x, y in zip(a, b))
first = next((i for i, (x, y) in enumerate(zip(a, b)) if x["output_ids"] != y["output_ids"]), None)
msg = f"{same}/{len(a)} segments identical ids" + ("" if len(a) == len(b) else f" (count {len(a)} vs {len(b)})")
if first is not None:
    x, y = a[first]["output_ids"], b[first]["output_ids"]
    k = next((j for j, (p, q) in enumerate(zip(x, y)) if p != q), min(len(x), len(y)))
    msg += f"; first diff segment {first} at step {k}"
print(msg)
