#!/usr/bin/env python3
"""Golden values for `tarjama eval` / `tarjama compare`, computed with the reference tools.

Writes:
  tests/fixtures/eval/goldens_inline.json  -- team-written texts (stored with their scores)
  tests/fixtures/eval/goldens_shared.json  -- scores on ../shared data (no text stored: only the
                                              perturbation recipe, sha256 of the inputs, scores)
  tests/fixtures/eval/goldens_options.json -- spBLEU (--tokenize flores101|flores200 with fixture
                                              SentencePiece models), rouge-score's
                                              BootstrapAggregator, --width; texts of goldens_inline

Reference implementations (pinned in scripts/requirements.txt): sacrebleu 2.6.0 (BLEU, chrF,
chrF++, TER, paired bootstrap), rouge-score 0.1.2 (ROUGE; its Porter stemmer is NLTK's).

The perturbations are deterministic functions of the line index and are re-implemented
identically in tests/eval.rs, so the hypotheses never need to be stored.

Usage: python scripts/make_eval_goldens.py   (from the crate root, with ../shared present)
"""

import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

# sacrebleu's SentencePiece tokenizers load $SACREBLEU/models/<file> (downloading it when it is
# absent); the spBLEU goldens place fixture models there, in a fresh directory, before import.
SACREBLEU_HOME = Path(tempfile.mkdtemp(prefix="sacrebleu-home-"))
os.environ["SACREBLEU"] = str(SACREBLEU_HOME)

import nltk
import numpy
import regex
import sacrebleu
from nltk.stem import porter
from rouge_score import rouge_scorer, tokenizers
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.significance import PairedTest

CRATE = Path(__file__).resolve().parent.parent
SHARED = CRATE.parent / "shared"
OUT = CRATE / "tests" / "fixtures" / "eval"
WIDTH = 2

assert sacrebleu.__version__ == "2.6.0", sacrebleu.__version__
logging.getLogger("sacrebleu").setLevel(logging.ERROR)  # its "tokenized period" hint is noise here
assert "SACREBLEU_SEED" not in os.environ, "unset SACREBLEU_SEED: goldens use the default 12345"


# ----------------------------------------------------------------------------------------
# Reading files exactly as tarjama does (and as sacrebleu's CLI does): split at "\n", a final
# newline ends the last line, trailing whitespace stripped.
# ----------------------------------------------------------------------------------------

def read_lines(path):
    text = Path(path).read_bytes().decode("utf-8")
    if text.endswith("\n"):
        text = text[:-1]
    return [line.rstrip() for line in text.split("\n")]


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ----------------------------------------------------------------------------------------
# Perturbations (mirrored in tests/eval.rs::perturb). `i` is the 0-based line index.
# ----------------------------------------------------------------------------------------

PERTURBATIONS = {
    "none": "line unchanged",
    "drop": "words = line.split(); drop word j when (i + j) % 4 == 3; join with ' '",
    "swap": "words = line.split(); if len(words) >= 2: k = i % (len(words) - 1), swap words k and k+1; join with ' '",
    "case": "i % 3 == 0: line.lower(); i % 3 == 1: line.upper(); else unchanged",
    "punct": "i % 3 == 0: delete every character of .,!?;:\"'; i % 3 == 1: replace '.' with ' . ' "
             "and ',' with ' , '; i % 3 == 2: append ' !!'",
    "empty": "i % 7 == 0: empty line; else unchanged",
    "mix": "drop, then swap, then lower() when i % 5 == 0, then empty when i % 11 == 0",
}
RSTRIP_NOTE = "every perturbed line is then right-stripped (as reading it back from a file does)"


def p_drop(i, line):
    return " ".join(w for j, w in enumerate(line.split()) if (i + j) % 4 != 3)


def p_swap(i, line):
    words = line.split()
    if len(words) >= 2:
        k = i % (len(words) - 1)
        words[k], words[k + 1] = words[k + 1], words[k]
    return " ".join(words)


def p_case(i, line):
    if i % 3 == 0:
        return line.lower()
    if i % 3 == 1:
        return line.upper()
    return line


def p_punct(i, line):
    if i % 3 == 0:
        return "".join(c for c in line if c not in ".,!?;:\"'")
    if i % 3 == 1:
        return line.replace(".", " . ").replace(",", " , ")
    return line + " !!"


def p_empty(i, line):
    return "" if i % 7 == 0 else line


def p_mix(i, line):
    line = p_swap(i, p_drop(i, line))
    if i % 5 == 0:
        line = line.lower()
    if i % 11 == 0:
        line = ""
    return line


FUNCS = {
    "none": lambda i, line: line,
    "drop": p_drop,
    "swap": p_swap,
    "case": p_case,
    "punct": p_punct,
    "empty": p_empty,
    "mix": p_mix,
}


def perturb(name, lines):
    return [FUNCS[name](i, line).rstrip() for i, line in enumerate(lines)]


# ----------------------------------------------------------------------------------------
# ROUGE tokenizers
# ----------------------------------------------------------------------------------------

class UnicodeTokenizer(tokenizers.Tokenizer):
    """tarjama's `--rouge-tokenize unicode`: like rouge-score's default tokenizer, but word
    characters are Unicode letters, combining marks and numbers instead of [a-z0-9]."""

    WORD = regex.compile(r"^[\p{L}\p{M}\p{N}]+$")
    NON_WORD = regex.compile(r"[^\p{L}\p{M}\p{N}]")

    def __init__(self, use_stemmer=False):
        self._stemmer = porter.PorterStemmer() if use_stemmer else None

    def tokenize(self, text):
        text = self.NON_WORD.sub(" ", text.lower())
        tokens = text.split(" ")
        if self._stemmer:
            tokens = [self._stemmer.stem(t) if len(t) > 3 else t for t in tokens]
        return [t for t in tokens if t and self.WORD.match(t)]


ROUGE_TYPES = [("rouge1", "ROUGE-1"), ("rouge2", "ROUGE-2"), ("rougeL", "ROUGE-L"),
               ("rougeLsum", "ROUGE-Lsum")]


def rouge_signature(tok, stem, nrefs):
    return f"nrefs:{nrefs}|tok:{tok}|stem:{'yes' if stem else 'no'}|version:rouge-score-0.1.2"


def rouge_scorer_for(tok, stem):
    keys = [k for k, _ in ROUGE_TYPES]
    if tok == "unicode":
        return rouge_scorer.RougeScorer(keys, tokenizer=UnicodeTokenizer(stem))
    return rouge_scorer.RougeScorer(keys, use_stemmer=stem)


def rouge_docs(hyps, refs, tok, stem):
    scorer = rouge_scorer_for(tok, stem)
    docs = []
    for i, h in enumerate(hyps):
        if len(refs) == 1:
            docs.append(scorer.score(refs[0][i], h))
        else:
            docs.append(scorer.score_multi([r[i] for r in refs], h))
    return docs


def rouge_entries(docs, tok, stem, nrefs):
    f_ = f
    sig = rouge_signature(tok, stem, nrefs)
    out = []
    n = len(docs)
    for key, name in ROUGE_TYPES:
        p = sum(d[key].precision for d in docs) / n
        r = sum(d[key].recall for d in docs) / n
        fm = sum(d[key].fmeasure for d in docs) / n
        line = f"{name}|{sig} = {100 * fm:.{WIDTH}f} (P = {100 * p:.{WIDTH}f} R = {100 * r:.{WIDTH}f})"
        out.append({"name": name, "signature": sig, "score": f_(100 * fm),
                    "precision": f_(p), "recall": f_(r), "fmeasure": f_(fm), "line": line})
    return out


# ----------------------------------------------------------------------------------------
# sacrebleu metrics
# ----------------------------------------------------------------------------------------

def f(x):
    """A raw float as Python's shortest round-trip repr, stored as a string so that readers
    parse it without JSON-library rounding."""
    return repr(float(x))


def bleu_entry(metric, score):
    sig = metric.get_signature().format()
    return {
        "name": score.name, "signature": sig, "score": f(score.score),
        "counts": list(score.counts), "totals": list(score.totals),
        "precisions": [f(p) for p in score.precisions], "bp": f(score.bp), "ratio": f(score.ratio),
        "sys_len": score.sys_len, "ref_len": score.ref_len,
        "line": score.format(width=WIDTH, signature=sig),
    }


def plain_entry(metric, score):
    sig = metric.get_signature().format()
    e = {"name": score.name, "signature": sig, "score": f(score.score),
         "line": score.format(width=WIDTH, signature=sig)}
    if hasattr(score, "num_edits"):
        e["num_edits"] = score.num_edits
        e["ref_length"] = f(score.ref_length)
    return e


def make_metrics(spec, refs=None):
    """The sacrebleu metric objects for a case, in tarjama's output order."""
    out = []
    for m in spec["metrics"]:
        if m == "bleu":
            out.append(BLEU(tokenize=spec.get("tokenize", "13a"), lowercase=spec.get("lowercase", False),
                            effective_order=spec.get("effective_order", False), references=refs))
        elif m == "chrf":
            out.append(CHRF(references=refs))
        elif m == "chrf++":
            out.append(CHRF(word_order=2, references=refs))
        elif m == "ter":
            out.append(TER(references=refs))
    return out


def corpus_entries(spec, hyps, refs):
    out = []
    for metric in make_metrics(spec):
        score = metric.corpus_score(hyps, refs)
        out.append(bleu_entry(metric, score) if isinstance(metric, BLEU) else plain_entry(metric, score))
    if "rouge" in spec["metrics"]:
        tok = spec.get("rouge_tokenize", "default")
        stem = spec.get("stem", False)
        out.extend(rouge_entries(rouge_docs(hyps, refs, tok, stem), tok, stem, len(refs)))
    return out


def sentence_entries(spec, hyps, refs, limit=None):
    spec = dict(spec, effective_order=True)
    metrics = make_metrics(spec)
    tok = spec.get("rouge_tokenize", "default")
    stem = spec.get("stem", False)
    rows = []
    for i, h in enumerate(hyps[:limit] if limit else hyps):
        seg_refs = [r[i] for r in refs]
        row = []
        for metric in metrics:
            score = metric.sentence_score(h, seg_refs)
            row.append(bleu_entry(metric, score) if isinstance(metric, BLEU) else plain_entry(metric, score))
        if "rouge" in spec["metrics"]:
            row.extend(rouge_entries(rouge_docs([h], [[r] for r in seg_refs], tok, stem), tok, stem,
                                     len(refs)))
        rows.append([{"name": e["name"], "score": e["score"], "line": e["line"]} for e in row])
    return rows


def compare_entries(spec, systems, refs):
    """sacrebleu's paired bootstrap test (what `sacrebleu -i A B ... --paired-bs` runs)."""
    metrics = {}
    for k, m in enumerate(make_metrics(spec, refs=refs)):
        metrics[f"metric{k}"] = m  # PairedTest renames them after the score names
    named = [(f"sys{k}", s) for k, s in enumerate(systems)]
    ps = PairedTest(named, metrics, references=None, test_type="bs", n_samples=1000)
    sigs, scores = ps()
    out = []
    for name, results in scores.items():
        if name == "System":
            continue
        rows = []
        for res in results:
            rows.append({
                "score": f(res.score), "mean": f(res.mean), "ci": f(res.ci),
                "p_value": None if res.p_value is None else f(res.p_value),
                "score_str": f"{res.score:.{WIDTH}f}", "mean_str": f"{res.mean:.{WIDTH}f}",
                "ci_str": f"{res.ci:.{WIDTH}f}",
                "p_str": None if res.p_value is None else f"{res.p_value:.4f}",
            })
        out.append({"name": name, "signature": sigs[name].format(), "results": rows})
    return out


def compare_ar_entries(spec, systems, refs, trials=10000):
    """sacrebleu's paired approximate randomization test (what `sacrebleu -i A B ... --paired-ar`
    runs: `--paired-ar-n` trials, seed SACREBLEU_SEED=12345, no confidence estimation)."""
    metrics = {}
    for k, m in enumerate(make_metrics(spec, refs=refs)):
        metrics[f"metric{k}"] = m
    named = [(f"sys{k}", s) for k, s in enumerate(systems)]
    ps = PairedTest(named, metrics, references=None, test_type="ar", n_samples=trials)
    sigs, scores = ps()
    out = []
    for name, results in scores.items():
        if name == "System":
            continue
        rows = [{"score": f(res.score), "p_value": None if res.p_value is None else f(res.p_value),
                 "score_str": f"{res.score:.{WIDTH}f}",
                 "p_str": None if res.p_value is None else f"{res.p_value:.4f}"} for res in results]
        out.append({"name": name, "signature": sigs[name].format(), "results": rows})
    return out


def confidence_entries(spec, hyps, refs, n=1000):
    """sacrebleu's single-system bootstrap estimate (what `sacrebleu -i HYP --confidence
    --confidence-n N` prints): whole score lines plus the raw mean and CI."""
    out = []
    for metric in make_metrics(spec):
        score = metric.corpus_score(hyps, refs, n_bootstrap=n)
        sig = metric.get_signature().format()
        out.append({"name": score.name, "signature": sig, "score": f(score.score),
                    "mean": f(score._mean), "ci": f(score._ci),
                    "line": score.format(width=WIDTH, signature=sig),
                    "score_only": score.format(width=WIDTH, score_only=True)})
    return out


# ----------------------------------------------------------------------------------------
# Team-written texts (also written into tests/eval.rs, which checks they are the same)
# ----------------------------------------------------------------------------------------

EN_REF1 = [
    "The committee approved the budget on Monday, after a long debate.",
    "Prices rose by 3.5% in March — the highest rise since 1990.",
    "She said: “We will not give up.”",
    "The bridge, which was built in 1887, is 1,200 metres long.",
    "Can you tell me where the station is?",
    "He bought 12 apples, 3 oranges and a melon for $7.50.",
    "Rain is expected across the north; temperatures will fall to −5°C.",
    "The minister's visit was postponed until further notice.",
    "Children under 5 travel free of charge.",
    "It's the 21st century… and we still argue about this!",
    "The report (published in 2023) lists 14 recommendations.",
    "Visit www.example.com or call +44 20 7946 0958 for details.",
]
EN_REF2 = [
    "On Monday the committee passed the budget following a lengthy debate.",
    "In March prices went up 3.5%, the biggest increase since 1990.",
    "“We won't give up,” she said.",
    "Built in 1887, the bridge is 1,200 m long.",
    "Could you tell me where the station is?",
    "He paid $7.50 for twelve apples, three oranges and a melon.",
    "Rain is forecast in the north, with temperatures dropping to −5 °C.",
    "The minister's visit has been postponed indefinitely.",
    "Kids below the age of five travel for free.",
    "It is the twenty-first century... and we are still arguing about it!",
    "The 2023 report lists fourteen recommendations.",
    "For details, visit www.example.com or phone +44 20 7946 0958.",
]
EN_SYS_A = [
    "The committee approved the budget on Monday after a long discussion.",
    "Prices increased 3.5 % in March, the highest since 1990.",
    "She said: \"We will not surrender.\"",
    "The bridge, built in 1887, is 1.200 meters long.",
    "Can you tell me where is the station?",
    "He bought 12 apples, 3 oranges, and a melon for 7.50 dollars.",
    "Rain expected in the north; temperature will drop to -5 °C.",
    "The visit of the minister was postponed until further notice.",
    "Children under five years travel for free.",
    "It is the 21st century ... and we still argue about this !",
    "The report, published in 2023, lists 14 recommendations.",
    "Visit www.example.com or call +44 20 7946 0958 for more details.",
]
EN_SYS_B = [
    "Committee approve budget Monday long debate.",
    "The prices went up in March since 1990.",
    "She say we not give up.",
    "Bridge was build 1887 and long 1200 metre.",
    "Where station?",
    "He buy apples oranges melon.",
    "It will rain north and cold.",
    "Minister visit delayed.",
    "Small children travel free.",
    "This century we argue still.",
    "Report 2023 has recommendations 14.",
    "Call for details.",
]
EN_SYS_C = [
    "On Monday, the committee approved the budget after lengthy debate.",
    "In March, prices rose 3.5% — the largest rise since 1990.",
    "“We will never give up,” she said.",
    "The bridge was built in 1887 and is 1,200 metres long.",
    "Could you tell me where the station is?",
    "He bought twelve apples, three oranges and a melon for $7.50.",
    "Rain is expected in the north; temperatures will fall to −5°C.",
    "The minister's visit was postponed.",
    "Children under 5 travel free.",
    "It's the 21st century… yet we still argue about this!",
    "The report (published in 2023) lists 14 recommendations.",
    "Visit www.example.com or call +44 20 7946 0958 for details.",
]
AR_REF = [
    "ذهب الولد إلى المدرسة صباحاً.",
    "هل تعرف أين تقع محطة القطار؟",
    "وُلد الكاتب عام ١٩٤٥ في القاهرة، وتوفي عام ٢٠٠٦.",
    "ارتفعت الأسعار بنسبة ٣٫٥٪ في شهر مارس؛ وهي أعلى زيادة منذ عام ١٩٩٠.",
    "قال الوزير: «لن نتراجع عن هذا القرار».",
    "يبلغ طول الجسر 1200 متر.",
]
AR_SYS_A = [
    "ذهب الولد إلى المدرسة في الصباح.",
    "هل تعرف أين محطة القطار؟",
    "ولد الكاتب سنة ١٩٤٥ في القاهرة وتوفي سنة ٢٠٠٦.",
    "ارتفعت الأسعار ٣٫٥٪ في مارس، أعلى زيادة منذ ١٩٩٠.",
    "قال الوزير «لن نتراجع عن القرار».",
    "طول الجسر ١٢٠٠ متر.",
]
AR_SYS_B = [
    "الولد ذهب المدرسة.",
    "أين المحطة؟",
    "الكاتب ولد في القاهرة.",
    "الأسعار ارتفعت في مارس.",
    "الوزير قال لا تراجع.",
    "الجسر طويل.",
]
UNI_REF = [
    "Le prix est de 12,50 € (TVA incluse).",
    "Temperature: 25 °C ± 0.5 — stable.",
    "Ｔｏｋｙｏ\u3000２０２０ was postponed to 2021.",
    "½ cup of sugar, ² squared, ∞ loops 😀!",
    "İstanbul'da 3 gün kaldık; ΣΟΦΟΣ said «ça va».",
]
UNI_SYS = [
    "Le prix est 12.50 € TVA incluse.",
    "Temperature 25°C\x1c±0.5 - stable",
    "Tokyo 2020 was delayed to 2021.",
    "Half cup of sugar ² squared ∞ loops 😀 !",
    "istanbul'da 3 gun kaldik; σοφος said «ca va».",
]
STEM_WORDS = (
    "caresses ponies ties caress cats feed agreed plastered bled motoring sing conflated troubled "
    "sized hopping tanned falling hissing fizzed failing filing happy sky skies relational "
    "conditional rational valenci hesitanci digitizer conformabli radicalli differentli vileli "
    "analogousli vietnamization predication operator feudalism decisiveness hopefulness "
    "callousness formaliti sensitiviti sensibiliti triplicate formative formalize electriciti "
    "electrical hopeful goodness revival allowance inference airliner gyroscopic adjustable "
    "defensible irritant replacement adjustment dependent adoption homologou communism activate "
    "angulariti homologous effective bowdlerize probate rate cease controll roll generously "
    "dying lying tying news innings outings cannings howe proceed exceed succeed spied flies "
    "tried cried dies lies enjoy enjoyment yyyy syzygy toy boy eye committees arguing argued "
    "recommendations postponed metres centuries children travelling analysis analytical logically "
    "biology fully carefully sensibly ability abilities dogs running runs ran generalization "
    "generalizations oscillators hopefulli fearlessly cats1 a1b2c3 12345 abc ok was his is "
    "bus buses gas quizzed buzzing spelling smelled filled fluffy mayday agree agreement "
    "universal university universe crying crys knightly knighthood abatement abatements aeronautical"
).split()


def long_ter_texts():
    """Long segments for TER's beam (see `long_ter_texts` in tests/eval.rs): a 333-word
    paragraph against a perturbed copy (words k and k+3 swapped every 7 words, last 5 dropped),
    its first 6 words against it and it against its first 6 words (length ratios beyond 50,
    where the beam widens)."""
    para = " ".join(EN_REF1 + EN_REF2 + EN_SYS_C).split()
    hyp = list(para)
    for k in range(0, len(hyp) - 3, 7):
        hyp[k], hyp[k + 3] = hyp[k + 3], hyp[k]
    hyp = hyp[:-5]
    short = para[:6]
    hyps = [" ".join(hyp), " ".join(short), " ".join(para)]
    refs = [" ".join(para), " ".join(para), " ".join(short)]
    return hyps, refs


def inline_goldens():
    cases = []

    def add(case_id, spec, hyps, refs, sentences=True):
        entry = {"id": case_id, "spec": spec, "expected": corpus_entries(spec, hyps, refs)}
        if sentences:
            entry["sentences"] = sentence_entries(spec, hyps, refs)
        cases.append(entry)

    all_metrics = ["bleu", "chrf", "chrf++", "ter", "rouge"]
    add("en-a-1ref", {"hyp": "EN_SYS_A", "refs": ["EN_REF1"], "metrics": all_metrics}, EN_SYS_A, [EN_REF1])
    add("en-b-1ref", {"hyp": "EN_SYS_B", "refs": ["EN_REF1"], "metrics": all_metrics}, EN_SYS_B, [EN_REF1])
    add("en-a-2ref", {"hyp": "EN_SYS_A", "refs": ["EN_REF1", "EN_REF2"], "metrics": all_metrics},
        EN_SYS_A, [EN_REF1, EN_REF2])
    add("en-c-2ref-stem", {"hyp": "EN_SYS_C", "refs": ["EN_REF1", "EN_REF2"], "metrics": all_metrics,
                           "stem": True}, EN_SYS_C, [EN_REF1, EN_REF2])
    for tok in ["intl", "char", "none"]:
        add(f"en-a-tok-{tok}", {"hyp": "EN_SYS_A", "refs": ["EN_REF1"], "metrics": ["bleu"], "tokenize": tok},
            EN_SYS_A, [EN_REF1], sentences=False)
    add("en-b-lowercase", {"hyp": "EN_SYS_B", "refs": ["EN_REF1", "EN_REF2"], "metrics": ["bleu"],
                           "lowercase": True}, EN_SYS_B, [EN_REF1, EN_REF2], sentences=False)
    add("ar-a", {"hyp": "AR_SYS_A", "refs": ["AR_REF"], "metrics": all_metrics, "rouge_tokenize": "unicode"},
        AR_SYS_A, [AR_REF])
    add("ar-b", {"hyp": "AR_SYS_B", "refs": ["AR_REF"], "metrics": all_metrics, "rouge_tokenize": "unicode"},
        AR_SYS_B, [AR_REF])
    add("ar-a-default-rouge", {"hyp": "AR_SYS_A", "refs": ["AR_REF"], "metrics": ["rouge"]},
        AR_SYS_A, [AR_REF], sentences=False)
    add("ar-a-intl", {"hyp": "AR_SYS_A", "refs": ["AR_REF"], "metrics": ["bleu"], "tokenize": "intl"},
        AR_SYS_A, [AR_REF])
    for tok in ["13a", "intl", "char"]:
        add(f"unicode-{tok}", {"hyp": "UNI_SYS", "refs": ["UNI_REF"], "metrics": all_metrics, "tokenize": tok,
                               "rouge_tokenize": "unicode"}, UNI_SYS, [UNI_REF])
    add("unicode-default-rouge-stem", {"hyp": "UNI_SYS", "refs": ["UNI_REF"], "metrics": ["rouge"], "stem": True},
        UNI_SYS, [UNI_REF])

    compare = [
        {"id": "en-abc", "spec": {"systems": ["EN_SYS_A", "EN_SYS_B", "EN_SYS_C"], "refs": ["EN_REF1"],
                                  "metrics": ["bleu", "chrf", "chrf++", "ter"]},
         "expected": compare_entries({"metrics": ["bleu", "chrf", "chrf++", "ter"]},
                                     [EN_SYS_A, EN_SYS_B, EN_SYS_C], [EN_REF1])},
        {"id": "en-abc-2ref", "spec": {"systems": ["EN_SYS_A", "EN_SYS_B", "EN_SYS_C"], "refs": ["EN_REF1", "EN_REF2"],
                                       "metrics": ["bleu", "chrf", "chrf++", "ter"]},
         "expected": compare_entries({"metrics": ["bleu", "chrf", "chrf++", "ter"]},
                                     [EN_SYS_A, EN_SYS_B, EN_SYS_C], [EN_REF1, EN_REF2])},
        {"id": "ar-ab", "spec": {"systems": ["AR_SYS_A", "AR_SYS_B"], "refs": ["AR_REF"],
                                 "metrics": ["bleu", "chrf", "chrf++", "ter"]},
         "expected": compare_entries({"metrics": ["bleu", "chrf", "chrf++", "ter"]},
                                     [AR_SYS_A, AR_SYS_B], [AR_REF])},
    ]

    # approximate randomization: the same cases, 10000 trials (sacrebleu's default) and 37
    named_texts = {"EN_REF1": EN_REF1, "EN_REF2": EN_REF2, "EN_SYS_A": EN_SYS_A, "EN_SYS_B": EN_SYS_B,
                   "EN_SYS_C": EN_SYS_C, "AR_REF": AR_REF, "AR_SYS_A": AR_SYS_A, "AR_SYS_B": AR_SYS_B}
    compare_ar = [dict(c, trials=t, expected=compare_ar_entries(
        {"metrics": c["spec"]["metrics"]}, [named_texts[x] for x in c["spec"]["systems"]],
        [named_texts[x] for x in c["spec"]["refs"]], trials=t)) for c in compare for t in (10000, 37)]

    conf_metrics = ["bleu", "chrf", "chrf++", "ter"]
    confidence = [{"id": f"{h}-{'+'.join(r)}-{n}", "hyp": h, "refs": r, "n": n, "metrics": conf_metrics,
                   "expected": confidence_entries({"metrics": conf_metrics}, named_texts[h],
                                                  [named_texts[x] for x in r], n=n)}
                  for h, r, n in [("EN_SYS_A", ["EN_REF1"], 1000), ("EN_SYS_B", ["EN_REF1", "EN_REF2"], 1000),
                                  ("EN_SYS_C", ["EN_REF1"], 37), ("AR_SYS_A", ["AR_REF"], 1000)]]

    long_hyps, long_refs = long_ter_texts()
    long_spec = {"metrics": ["ter"]}
    long_ter_cases = [{"id": "long-ter", "spec": long_spec,
                       "expected": corpus_entries(long_spec, long_hyps, [long_refs]),
                       "sentences": sentence_entries(long_spec, long_hyps, [long_refs])}]

    stemmer = porter.PorterStemmer()
    return {
        "texts": {
            "EN_REF1": EN_REF1, "EN_REF2": EN_REF2, "EN_SYS_A": EN_SYS_A, "EN_SYS_B": EN_SYS_B,
            "EN_SYS_C": EN_SYS_C, "AR_REF": AR_REF, "AR_SYS_A": AR_SYS_A, "AR_SYS_B": AR_SYS_B,
            "UNI_REF": UNI_REF, "UNI_SYS": UNI_SYS,
        },
        "cases": cases,
        "long_ter": "long_ter_texts(): EN_REF1 + EN_REF2 + EN_SYS_C joined and split into words (333); "
                    "hypotheses: that paragraph with words k and k+3 swapped for k in range(0, n - 3, 7) and "
                    "the last 5 dropped, its first 6 words, the paragraph itself; references: the paragraph, "
                    "the paragraph, its first 6 words",
        "long_ter_cases": long_ter_cases,
        "compare": compare,
        "compare_ar": compare_ar,
        "confidence": confidence,
        "stems": {w: stemmer.stem(w) for w in STEM_WORDS},
        "rng": {
            "seed": 12345,
            "choice_500_first_32": [int(x) for x in numpy.random.default_rng(12345).choice(500, size=32)],
            "choice_7_first_32": [int(x) for x in numpy.random.default_rng(12345).choice(7, size=32)],
            "choice_12_first_32": [int(x) for x in numpy.random.default_rng(7).choice(12, size=32)],
        },
    }


# ----------------------------------------------------------------------------------------
# Options: spBLEU, ROUGE bootstrap intervals, --width (on the team-written texts)
# ----------------------------------------------------------------------------------------

# Fixture SentencePiece models standing in for sacrebleu's (which are 256k-piece downloads): a
# unigram one for flores101 and a BPE one for flores200, both trained on Arabic and English.
SPM_FIXTURES = {
    "flores101": "tests/fixtures/marian-tiny/target.spm",
    "flores200": "tests/fixtures/nllb-tiny/sentencepiece.bpe.model",
}

# Lines whose pieces are checked against EncodeAsPieces directly.
SPM_TRICKY = [
    "",
    " ",
    "  leading and   inner  spaces, trailing   ",
    "\ttabs\tand\u00a0no-break\u2009thin spaces",
    "Prices rose by 3.5% in 1990 — 1,200,000 or ١٢٣٤٥٦٧٨٩٠ or ۱۲۳",
    "وُلِدَ الكَاتِبُ عامَ ١٩٤٥ فِي القَاهِرَة",
    "ذهب الولد إلى المدرسة صباحاً، ثم عاد؟",
    "emoji 😀👍🏽 🇪🇬 and ❤️ end",
    "ﬁne ﬂour Ｔｏｋｙｏ　２０２０ ① ½ ㎏ ﷺ ﻻ ﺍﻟﻌﺮﺑﻴﺔ Å Ω",
    "zero\u200bwidth\u200djoiner\u200cnon-joiner\ufeffbom",
    "tatweel: عـــربي and combining e\u0301 vs é",
    "MiXeD CaSe, UPPER and lower; <s> </s> <unk> <pad>",
]


def spm_pieces():
    import sentencepiece as spm
    from sacrebleu.tokenizers.tokenizer_spm import Flores101Tokenizer, Flores200Tokenizer
    out = {}
    for name, cls in (("flores101", Flores101Tokenizer), ("flores200", Flores200Tokenizer)):
        sp = spm.SentencePieceProcessor()
        sp.Load(str(CRATE / SPM_FIXTURES[name]))
        tok = cls()
        rows = []
        for line in SPM_TRICKY:
            pieces = sp.EncodeAsPieces(line)
            assert tok(line) == " ".join(pieces)
            rows.append({"line": line, "pieces": pieces, "tokenized": tok(line)})
        out[name] = rows
    return out


def place_spm_models():
    """Copies the fixture models to where sacrebleu looks for its own."""
    from sacrebleu.tokenizers.tokenizer_spm import SPM_MODELS
    models = SACREBLEU_HOME / "models"
    models.mkdir(parents=True, exist_ok=True)
    for name, fixture in SPM_FIXTURES.items():
        shutil.copyfile(CRATE / fixture, models / os.path.basename(SPM_MODELS[name]["url"]))


def rouge_bootstrap_entries(spec, hyps, refs, n_samples, seed, confidence_interval=0.95):
    """rouge-score's `BootstrapAggregator(confidence_interval, n_samples)` over the documents'
    scores, after `numpy.random.seed(seed)` (it draws from numpy's global RandomState)."""
    from rouge_score import scoring
    tok = spec.get("rouge_tokenize", "default")
    stem = spec.get("stem", False)
    agg = scoring.BootstrapAggregator(confidence_interval=confidence_interval, n_samples=n_samples)
    for d in rouge_docs(hyps, refs, tok, stem):
        agg.add_scores(d)
    numpy.random.seed(seed)
    result = agg.aggregate()
    out = []
    for key, name in ROUGE_TYPES:
        a = result[key]
        out.append({"name": name, **{
            bound: {"precision": f(getattr(a, bound).precision), "recall": f(getattr(a, bound).recall),
                    "fmeasure": f(getattr(a, bound).fmeasure),
                    "text": {m: f"{100 * getattr(getattr(a, bound), m):.{WIDTH}f}"
                             for m in ("precision", "recall", "fmeasure")}}
            for bound in ("low", "mid", "high")}})
    return out


def width_entries(spec, hyps, refs, width):
    """sacrebleu's `Score.format(width, ...)` as text, score-only and JSON."""
    out = []
    for metric in make_metrics(spec):
        score = metric.corpus_score(hyps, refs)
        sig = metric.get_signature().format()
        out.append({"name": score.name, "line": score.format(width=width, signature=sig),
                    "score_only": score.format(width=width, score_only=True),
                    "json": json.loads(score.format(width=width, signature=sig, is_json=True))})
    return out


def options_goldens():
    place_spm_models()
    texts = {"EN_REF1": EN_REF1, "EN_REF2": EN_REF2, "EN_SYS_A": EN_SYS_A, "EN_SYS_B": EN_SYS_B,
             "EN_SYS_C": EN_SYS_C, "AR_REF": AR_REF, "AR_SYS_A": AR_SYS_A, "AR_SYS_B": AR_SYS_B,
             "UNI_REF": UNI_REF, "UNI_SYS": UNI_SYS}
    spm_cases = []
    spm_compare = []
    spm_compare_ar = []
    spm_confidence = []
    for tok in SPM_FIXTURES:
        for hyp, refs, lc in (("EN_SYS_A", ["EN_REF1"], False), ("EN_SYS_B", ["EN_REF1", "EN_REF2"], True),
                              ("AR_SYS_A", ["AR_REF"], False), ("AR_SYS_B", ["AR_REF"], False),
                              ("UNI_SYS", ["UNI_REF"], False)):
            spec = {"hyp": hyp, "refs": refs, "metrics": ["bleu", "chrf"], "tokenize": tok, "lowercase": lc}
            h, r = texts[hyp], [texts[x] for x in refs]
            spm_cases.append({"id": f"{tok}-{hyp}-{'+'.join(refs)}", "spec": spec,
                              "expected": corpus_entries(spec, h, r), "sentences": sentence_entries(spec, h, r)})
        for systems, refs in ((["AR_SYS_A", "AR_SYS_B"], ["AR_REF"]),
                              (["EN_SYS_A", "EN_SYS_B", "EN_SYS_C"], ["EN_REF1", "EN_REF2"])):
            spec = {"systems": systems, "refs": refs, "metrics": ["bleu"], "tokenize": tok}
            s_, r_ = [texts[x] for x in systems], [texts[x] for x in refs]
            cid = f"{tok}-{'+'.join(systems)}"
            spm_compare.append({"id": cid, "spec": spec, "expected": compare_entries(spec, s_, r_)})
            spm_compare_ar.append({"id": cid, "spec": spec, "trials": 10000,
                                   "expected": compare_ar_entries(spec, s_, r_, trials=10000)})
        spec = {"metrics": ["bleu"], "tokenize": tok}
        spm_confidence.append({"id": f"{tok}-AR_SYS_A", "hyp": "AR_SYS_A", "refs": ["AR_REF"], "n": 1000,
                               "spec": spec,
                               "expected": confidence_entries(spec, AR_SYS_A, [AR_REF], n=1000)})

    rouge_bootstrap = []
    for hyp, refs, spec, n, seed in (
            ("EN_SYS_A", ["EN_REF1"], {"metrics": ["rouge"]}, 1000, 12345),
            ("EN_SYS_B", ["EN_REF1", "EN_REF2"], {"metrics": ["rouge"], "stem": True}, 1000, 0),
            ("EN_SYS_C", ["EN_REF1"], {"metrics": ["rouge"]}, 37, 4294967295),
            ("AR_SYS_A", ["AR_REF"], {"metrics": ["rouge"], "rouge_tokenize": "unicode"}, 1000, 12345),
            ("UNI_SYS", ["UNI_REF"], {"metrics": ["rouge"], "rouge_tokenize": "unicode"}, 2000, 7)):
        rouge_bootstrap.append({"id": f"{hyp}-{n}-{seed}", "hyp": hyp, "refs": refs, "spec": spec,
                                "n_samples": n, "seed": seed,
                                "expected": rouge_bootstrap_entries(spec, texts[hyp], [texts[x] for x in refs],
                                                                    n, seed)})

    width = []
    for w in (0, 1, 3, 6):
        for hyp, refs in (("EN_SYS_A", ["EN_REF1"]), ("AR_SYS_B", ["AR_REF"])):
            spec = {"metrics": ["bleu", "chrf", "chrf++", "ter"]}
            width.append({"id": f"{hyp}-w{w}", "hyp": hyp, "refs": refs, "width": w, "spec": spec,
                          "expected": width_entries(spec, texts[hyp], [texts[x] for x in refs], w)})

    return {
        "spm_models": SPM_FIXTURES,
        "spm_pieces": spm_pieces(),
        "spm_cases": spm_cases,
        "spm_compare": spm_compare,
        "spm_compare_ar": spm_compare_ar,
        "spm_confidence": spm_confidence,
        "rouge_bootstrap": rouge_bootstrap,
        "width_cases": width,
    }


# ----------------------------------------------------------------------------------------
# ../shared data
# ----------------------------------------------------------------------------------------

def shared_goldens():
    en_path = SHARED / "data/tatoeba-ara-eng/sample500.en"
    ar_path = SHARED / "data/tatoeba-ara-eng/sample500.ar"
    js_path = SHARED / "data/summarization-en/articles.jsonl"
    en = read_lines(en_path)
    ar = read_lines(ar_path)
    all_metrics = ["bleu", "chrf", "chrf++", "ter", "rouge"]
    cases = []

    def add(case_id, spec, sentences_limit=None):
        src = {"en": en, "ar": ar}
        hyp_src, hyp_p = spec["hyp"]
        hyps = perturb(hyp_p, src[hyp_src])
        refs = [perturb(p, src[s]) for s, p in spec["refs"]]
        entry = {"id": case_id, "spec": spec, "expected": corpus_entries(spec, hyps, refs)}
        if sentences_limit:
            entry["sentences"] = sentence_entries(spec, hyps, refs, limit=sentences_limit)
        cases.append(entry)
        print(case_id, [round(float(e["score"]), 2) for e in entry["expected"]], file=sys.stderr)

    for p in ["none", "drop", "swap", "case", "punct", "empty", "mix"]:
        add(f"en-{p}", {"hyp": ["en", p], "refs": [["en", "none"]], "metrics": all_metrics},
            sentences_limit=60 if p == "mix" else None)
    add("en-mix-stem", {"hyp": ["en", "mix"], "refs": [["en", "none"]], "metrics": ["rouge"], "stem": True})
    add("en-drop-stem", {"hyp": ["en", "drop"], "refs": [["en", "none"]], "metrics": ["rouge"], "stem": True})
    add("en-case-lowercase", {"hyp": ["en", "case"], "refs": [["en", "none"]], "metrics": ["bleu"],
                              "lowercase": True})
    for tok in ["intl", "char", "none"]:
        add(f"en-punct-{tok}", {"hyp": ["en", "punct"], "refs": [["en", "none"]], "metrics": ["bleu"],
                                "tokenize": tok})
    add("en-mix-2ref", {"hyp": ["en", "mix"], "refs": [["en", "none"], ["en", "swap"]], "metrics": all_metrics})
    add("en-drop-2ref", {"hyp": ["en", "drop"], "refs": [["en", "none"], ["en", "case"]], "metrics": all_metrics})
    add("en-punct-3ref", {"hyp": ["en", "punct"], "refs": [["en", "none"], ["en", "swap"], ["en", "drop"]],
                          "metrics": ["bleu", "chrf", "ter", "rouge"]})
    for p in ["drop", "swap", "mix"]:
        add(f"ar-{p}", {"hyp": ["ar", p], "refs": [["ar", "none"]], "metrics": all_metrics,
                        "rouge_tokenize": "unicode"}, sentences_limit=40 if p == "mix" else None)
    add("ar-mix-intl", {"hyp": ["ar", "mix"], "refs": [["ar", "none"]], "metrics": ["bleu"], "tokenize": "intl"})
    add("ar-mix-default-rouge", {"hyp": ["ar", "mix"], "refs": [["ar", "none"]], "metrics": ["rouge"]})

    # ROUGE-Lsum on multi-sentence summaries from JSON Lines: the hypothesis is the first three
    # lines of each article (joined by "\n"), the reference is the `reference` field.
    items = [json.loads(l) for l in js_path.read_text(encoding="utf-8").splitlines() if l.strip()]
    lead3 = ["\n".join(it["article"].split("\n")[:3]).rstrip() for it in items]
    refs = [it["reference"].rstrip() for it in items]
    jsonl_cases = []
    for stem in [False, True]:
        spec = {"hyp": "lead3 of article", "refs": ["reference"], "metrics": ["rouge"], "stem": stem}
        jsonl_cases.append({"id": f"xsum-lead3-stem-{stem}", "spec": spec,
                            "expected": corpus_entries(spec, lead3, [refs])})

    # Long segments (about 90 words), where TER's beam and its shift-candidate limit matter:
    # paragraphs of 15 consecutive lines of the full Tatoeba test set, and a hypothesis that
    # swaps words k and k+3 for k = 0, 7, 14, ... and drops the last five words.
    test_en_path = SHARED / "data/tatoeba-ara-eng/test.en"
    test_en = read_lines(test_en_path)
    paras = [" ".join(test_en[i:i + 15]) for i in range(0, 15 * 60, 15)]
    long_hyps = []
    for para in paras:
        w = para.split()
        for k in range(0, len(w) - 3, 7):
            w[k], w[k + 3] = w[k + 3], w[k]
        long_hyps.append(" ".join(w[:-5]).rstrip())
    long_spec = {"hyp": "long-swap", "refs": ["long"], "metrics": ["bleu", "chrf", "ter"]}
    long_cases = [{"id": "en-long-paragraphs", "spec": long_spec,
                   "expected": corpus_entries(long_spec, long_hyps, [paras])}]
    print("long", [e["line"] for e in long_cases[0]["expected"]], file=sys.stderr)

    compare = []
    systems = ["drop", "swap", "punct", "mix", "case"]
    cmp_metrics = ["bleu", "chrf", "chrf++", "ter"]
    for refs_spec in ([["en", "none"]], [["en", "none"], ["en", "swap"]],
                      [["en", "none"], ["en", "swap"], ["en", "drop"]]):
        refs_l = [perturb(p, {"en": en}[s]) for s, p in refs_spec]
        sys_l = [perturb(p, en) for p in systems]
        cid = f"en-{len(refs_spec)}ref"
        compare.append({"id": cid, "spec": {"systems": [["en", p] for p in systems], "refs": refs_spec,
                                            "metrics": cmp_metrics},
                        "expected": compare_entries({"metrics": cmp_metrics}, sys_l, refs_l)})
        print("compare", cid, file=sys.stderr)
    # close systems, so that p-values land away from 0.001
    close = ["case", "punct", "empty", "swap"]
    for refs_spec in ([["en", "none"]], [["en", "none"], ["en", "drop"]]):
        refs_l = [perturb(p, en) for _, p in refs_spec]
        cid = f"en-close-{len(refs_spec)}ref"
        compare.append({"id": cid, "spec": {"systems": [["en", p] for p in close], "refs": refs_spec,
                                            "metrics": cmp_metrics},
                        "expected": compare_entries({"metrics": cmp_metrics}, [perturb(p, en) for p in close],
                                                    refs_l)})
    ar_sys = ["drop", "mix"]
    compare.append({"id": "ar-1ref", "spec": {"systems": [["ar", p] for p in ar_sys], "refs": [["ar", "none"]],
                                              "metrics": cmp_metrics},
                    "expected": compare_entries({"metrics": cmp_metrics}, [perturb(p, ar) for p in ar_sys],
                                                [ar])})

    # approximate randomization (10000 trials) on close systems, where p lands away from 0
    compare_ar = []
    for refs_spec in ([["en", "none"]], [["en", "none"], ["en", "drop"]]):
        refs_l = [perturb(p, en) for _, p in refs_spec]
        ar_close = ["case", "punct", "swap"]
        cid = f"en-close-{len(refs_spec)}ref"
        compare_ar.append({"id": cid, "spec": {"systems": [["en", p] for p in ar_close], "refs": refs_spec,
                                               "metrics": cmp_metrics},
                           "expected": compare_ar_entries({"metrics": cmp_metrics},
                                                          [perturb(p, en) for p in ar_close], refs_l)})
        print("compare_ar", cid, file=sys.stderr)

    confidence = []
    for hyp_p, refs_spec in (("swap", [["en", "none"]]), ("drop", [["en", "none"], ["en", "swap"]]),
                             ("case", [["en", "none"]])):
        refs_l = [perturb(p, en) for _, p in refs_spec]
        confidence.append({"id": f"en-{hyp_p}-{len(refs_spec)}ref", "hyp": ["en", hyp_p], "refs": refs_spec,
                           "metrics": cmp_metrics,
                           "expected": confidence_entries({"metrics": cmp_metrics}, perturb(hyp_p, en), refs_l)})
    confidence.append({"id": "ar-mix-1ref", "hyp": ["ar", "mix"], "refs": [["ar", "none"]], "metrics": cmp_metrics,
                       "expected": confidence_entries({"metrics": cmp_metrics}, perturb("mix", ar), [ar])})

    return {
        "data": {
            "en": {"path": "data/tatoeba-ara-eng/sample500.en", "sha256": sha256(en_path)},
            "ar": {"path": "data/tatoeba-ara-eng/sample500.ar", "sha256": sha256(ar_path)},
            "xsum": {"path": "data/summarization-en/articles.jsonl", "sha256": sha256(js_path)},
            "test_en": {"path": "data/tatoeba-ara-eng/test.en", "sha256": sha256(test_en_path)},
        },
        "long_paragraphs": "paragraphs: ' '.join(test.en lines 15k..15k+15) for k < 60; hypothesis: "
                           "words = paragraph.split(); swap words k and k+3 for k in range(0, len(words) - 3, 7); "
                           "drop the last 5 words; join with ' '",
        "long_cases": long_cases,
        "perturbations": PERTURBATIONS,
        "perturbation_note": RSTRIP_NOTE,
        "cases": cases,
        "jsonl_cases": jsonl_cases,
        "compare": compare,
        "compare_ar": compare_ar,
        "confidence": confidence,
    }


def versions():
    from importlib.metadata import version
    assert version("rouge-score") == "0.1.2", version("rouge-score")
    return {"sacrebleu": sacrebleu.__version__, "rouge-score": version("rouge-score"), "nltk": nltk.__version__,
            "numpy": numpy.__version__, "python": sys.version.split()[0]}


def write(name, payload):
    OUT.mkdir(parents=True, exist_ok=True)
    payload = {"generator": "scripts/make_eval_goldens.py", "versions": versions(), "width": WIDTH, **payload}
    path = OUT / name
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print("wrote", path.relative_to(CRATE), file=sys.stderr)


def main():
    write("goldens_inline.json", inline_goldens())
    write("goldens_options.json", options_goldens())
    if SHARED.is_dir():
        write("goldens_shared.json", shared_goldens())
    else:
        print(f"{SHARED} not found: goldens_shared.json not regenerated", file=sys.stderr)


if __name__ == "__main__":
    main()
