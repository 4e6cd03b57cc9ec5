#!/usr/bin/env python3
"""Golden Markdown reports of `tarjama compare --report X.md` and `tarjama eval --report X.md`,
with every number computed by sacrebleu 2.6.0.

Reads the team-written texts in tests/fixtures/eval/report/ (source.ar, ref.en, baseline.en,
system.en) and writes, beside them:
  compare.md  -- tarjama compare --ref ref.en baseline.en system.en --metrics bleu,chrf,ter
                 --source source.ar --report compare.md   (paired bootstrap, 1000 resamples)
  eval.md     -- tarjama eval --ref ref.en system.en --metrics bleu,chrf,ter --confidence
                 --report eval.md

The layout is the one tarjama's Markdown renderer (src/report.rs) writes; the figures are
sacrebleu's: corpus scores and the paired bootstrap (`PairedTest(..., test_type='bs')`), the
single-system estimate (`corpus_score(..., n_bootstrap=1000)`), and per segment
`BLEU(effective_order=True).sentence_score` and `CHRF().sentence_score`. tests/report.rs
compares tarjama's file with these byte for byte.

Usage: python scripts/make_report_golden.py   (from the crate root)
"""

import logging
import os
import sys
from pathlib import Path

import sacrebleu
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.significance import PairedTest

CRATE = Path(__file__).resolve().parent.parent
DIR = Path("tests/fixtures/eval/report")  # relative: tarjama names systems by the path given
WIDTH = 2
SEGMENTS = 20  # src/report.rs MARKDOWN_SEGMENTS

assert sacrebleu.__version__ == "2.6.0", sacrebleu.__version__
logging.getLogger("sacrebleu").setLevel(logging.ERROR)
assert "SACREBLEU_SEED" not in os.environ, "unset SACREBLEU_SEED: goldens use the default 12345"


def read_lines(path):
    """As tarjama and sacrebleu's command line read a file."""
    text = (CRATE / path).read_bytes().decode("utf-8")
    if text.endswith("\n"):
        text = text[:-1]
    return [line.rstrip() for line in text.split("\n")]


def md(s):
    """src/report.rs `md`: a backslash before Markdown's special characters, line breaks as
    spaces."""
    out = []
    for c in s:
        if c in "\\|*_`[]<>#~!&":
            out.append("\\" + c)
        elif c in "\r\n":
            out.append(" ")
        else:
            out.append(c)
    return "".join(out)


def num(x):
    return f"{x:.{WIDTH}f}"


def p_cell(p):
    if p is None:
        return "baseline"
    return f"{p:.4f} *" if p <= 0.05 else f"{p:.4f}"


def corpus_metrics():
    return [BLEU(), CHRF(), TER()]


def sentence_scores(hyps, refs):
    """(bleu, chrf) per segment, and the two signatures."""
    bleu, chrf = BLEU(effective_order=True), CHRF()
    rows = []
    for i, h in enumerate(hyps):
        seg_refs = [r[i] for r in refs]
        rows.append((bleu.sentence_score(h, seg_refs).score, chrf.sentence_score(h, seg_refs).score))
    return rows, bleu.get_signature().format(), chrf.get_signature().format()


def table(header, rows, numeric):
    out = ["| " + " | ".join(header) + " |",
           "| " + " | ".join("---:" if h in numeric else "---" for h in header) + " |"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def summary(names, metrics, with_ci, compared, test_line, n, sent_sigs):
    """The title, intro, corpus-score and signature tables. `metrics`: (name, signature,
    [(score, mean, ci, p)])."""
    out = [f"# tarjama {'compare' if compared else 'eval'} report", ""]
    out += [test_line if compared else f"System {names[0]}; {n} segments.", ""]
    out += ["## Corpus scores", ""]
    header = ["metric", "system", "score"] + (["mean ± 95% CI"] if with_ci else []) + (["p"] if compared else [])
    rows = []
    for name, _, results in metrics:
        for sys_name, (score, mean, ci, p) in zip(names, results):
            cells = [md(name), sys_name, num(score)]
            if with_ci:
                cells.append(f"{num(mean)} ± {num(ci)}" if ci is not None else "")
            if compared:
                cells.append(md(p_cell(p)))
            rows.append(cells)
    head = ["| " + " | ".join(header) + " |",
            "| " + " | ".join("---" if k < 2 else "---:" for k in range(len(header))) + " |"]
    out += head + ["| " + " | ".join(r) + " |" for r in rows]
    out += ["", "## Signatures", "", "| metric | signature |", "| --- | --- |"]
    out += [f"| {md(name)} | {md(sig)} |" for name, sig, _ in metrics]
    out += [f"| sentence chrF | {md(sent_sigs[1])} |", f"| sentence BLEU | {md(sent_sigs[0])} |"]
    return out


def segment_table(lines, s, source, refs, systems, scores):
    """src/report.rs `segment_table` for system `s` (with the baseline beside it when s > 0)."""
    if not lines:
        return ["None."]
    header = ["line"] + (["Δ chrF", "Δ BLEU"] if s > 0 else []) + ["chrF", "BLEU"]
    header += (["source"] if source is not None else []) + ["reference"]
    header += (["baseline"] if s > 0 else []) + ["output"]
    rows = []
    for line in lines:
        i = line - 1
        bleu, chrf = scores[s][i]
        cells = [str(line)]
        if s > 0:
            cells += [f"{chrf - scores[0][i][1]:+.{WIDTH}f}", f"{bleu - scores[0][i][0]:+.{WIDTH}f}"]
        cells += [num(chrf), num(bleu)]
        if source is not None:
            cells.append(md(source[i]))
        cells.append(md(" / ".join(r[i] for r in refs)))
        if s > 0:
            cells.append(md(systems[0][i]))
        cells.append(md(systems[s][i]))
        rows.append(cells)
    return table(header, rows, {"line", "Δ chrF", "Δ BLEU", "chrF", "BLEU"})


def most_changed(scores, s, k):
    """src/report.rs / eval::report `most_changed`: lines whose chrF rose most (largest first)
    and fell most (most negative first), ties by line, unchanged ones in neither."""
    deltas = [(scores[s][i][1] - scores[0][i][1], i + 1) for i in range(len(scores[0]))]
    up = [line for d, line in sorted(deltas, key=lambda t: (-t[0], t[1])) if d > 0][:k]
    down = [line for d, line in sorted(deltas, key=lambda t: (t[0], t[1])) if d < 0][:k]
    return up, down


def compare_report():
    paths = [DIR / "baseline.en", DIR / "system.en"]
    names = [md(str(p)) for p in paths]
    systems = [read_lines(p) for p in paths]
    refs = [read_lines(DIR / "ref.en")]
    source = read_lines(DIR / "source.ar")
    # Metrics with the references cached, as sacrebleu's command line builds them for -i A B.
    metrics = {f"metric{k}": m for k, m in
               enumerate([BLEU(references=refs), CHRF(references=refs), TER(references=refs)])}
    ps = PairedTest([(f"sys{k}", s) for k, s in enumerate(systems)], metrics,
                    references=None, test_type="bs", n_samples=1000)
    sigs, results = ps()
    table_metrics = []
    for name, rs in results.items():
        if name == "System":
            continue
        table_metrics.append((name, sigs[name].format(),
                              [(r.score, r.mean, r.ci, r.p_value) for r in rs]))
    sent = [sentence_scores(s, refs) for s in systems]
    scores = [rows for rows, _, _ in sent]
    test_line = (f"Baseline {names[0]}; paired bootstrap resampling: 1000 resamples, seed 12345; "
                 f"{len(source)} segments. * marks p <= 0.05.")
    out = summary(names, table_metrics, True, True, test_line, len(source), sent[0][1:])
    up, down = most_changed(scores, 1, SEGMENTS)
    for title, lines in (("improved most", up), ("worsened most", down)):
        out += ["", f"## {names[1]}: segments whose chrF {title} against {names[0]}", ""]
        out += segment_table(lines, 1, source, refs, systems, scores)
    return "\n".join(out) + "\n"


def eval_report():
    path = DIR / "system.en"
    hyps = read_lines(path)
    refs = [read_lines(DIR / "ref.en")]
    table_metrics = []
    for m in corpus_metrics():
        score = m.corpus_score(hyps, refs, n_bootstrap=1000)
        table_metrics.append((score.name, m.get_signature().format(),
                              [(score.score, score._mean, score._ci, None)]))
    scores, bsig, csig = sentence_scores(hyps, refs)
    out = summary([md(str(path))], table_metrics, True, False, None, len(hyps), (bsig, csig))
    lowest = [line for _, line in sorted((c, i + 1) for i, (_, c) in enumerate(scores))][:SEGMENTS]
    out += ["", "## Segments with the lowest chrF", ""]
    out += segment_table(lowest, 0, None, refs, [hyps], [scores])
    return "\n".join(out) + "\n"


def main():
    for name, text in (("compare.md", compare_report()), ("eval.md", eval_report())):
        path = CRATE / DIR / name
        path.write_text(text, encoding="utf-8")
        print("wrote", path.relative_to(CRATE), file=sys.stderr)


if __name__ == "__main__":
    main()
