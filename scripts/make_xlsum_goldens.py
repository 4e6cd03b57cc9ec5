#!/usr/bin/env python
"""Goldens for `tarjama eval --rouge-tokenize xlsum`: XL-Sum's own multilingual ROUGE scorer.

The scorer is `multilingual_rouge_scoring/` of csebuetnlp/xl-sum (commit afcd803c), installed
as the package `rouge_score`. That name clashes with Google's rouge-score 0.1.2, which
scripts/make_eval_goldens.py needs, so it is installed into its own folder and put first on
sys.path here (see scripts/README.md):

    pip install --no-deps --target "$VIRTUAL_ENV/xlsum-rouge" path/to/multilingual_rouge_scoring
    python -m nltk.downloader -d "$VIRTUAL_ENV/nltk_data" stopwords

With `lang="arabic"` and stemming the scorer uses NLTK's Snowball Arabic stemmer with
`ignore_stopwords=True`, which needs NLTK's `stopwords` corpus; that list is written to
crates/tarjama/src/eval/xlsum_stopwords_ar.txt, which the Rust stemmer embeds.

Writes tests/fixtures/eval/goldens_xlsum.json: the team-written Arabic pairs below, the
scorer's tokens for every text, its per-pair P/R/F for rouge1/rouge2/rougeL/rougeLsum and
their mean, with and without stemming, for `lang="arabic"` (tarjama's `--lang ar`); the stems of a
word list (a fresh stemmer per word, and one stemmer over the whole list, since NLTK's Arabic
stemmer keeps one flag from word to word). No shared data is read (../shared has no Arabic
summarization set).
"""

import json
import os
import sys
from importlib.metadata import version

XLSUM = os.environ.get("XLSUM_ROUGE", os.path.join(sys.prefix, "xlsum-rouge"))
sys.path.insert(0, XLSUM)
os.environ.setdefault("NLTK_DATA", os.path.join(sys.prefix, "nltk_data"))

from nltk.stem import SnowballStemmer  # noqa: E402
from rouge_score import rouge_scorer  # noqa: E402
from rouge_score import tokenization_wrapper  # noqa: E402

assert rouge_scorer.__file__.startswith(XLSUM), rouge_scorer.__file__

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "eval", "goldens_xlsum.json")
STOPWORDS = os.path.join(ROOT, "crates", "tarjama", "src", "eval", "xlsum_stopwords_ar.txt")

# The order XL-Sum's seq2seq/utils.py passes (ROUGE_KEYS); it is also the order in which the
# scorer stems (target, prediction, then rougeLsum's sentences).
KEYS = ["rouge1", "rouge2", "rougeL", "rougeLsum"]

# Team-written (reference, hypothesis) pairs: clitics (و ب ل ك ف ال), diacritics, tatweel,
# Arabic-Indic and Latin digits, Arabic and Latin punctuation, Latin words, hamza forms,
# alef maqsura, a zero-width non-joiner, a blank hypothesis, a line break (rougeLsum).
PAIRS = [
    ("ذهب الولدُ إلى المدرسةِ صباحاً، وقرأ كتاباً جديداً.",
     "ذَهَبَ الولد للمدرسة في الصباح وقرأ الكتاب الجديد"),
    ("أعلنت الحكومة يوم الأحد عن خطة جديدة لدعم الاقتصاد بقيمة ٣٫٥ مليار دولار.",
     "الحكومة تعلن خطةً لدعم الاقتصاد بـ3.5 مليار دولار"),
    ("قال الرئيس: «لن نتراجع عن قراراتنا» في مؤتمر صحفي بالقاهرة.",
     "الرئيس يقول إنهم لن يتراجعوا عن قراراتهم خلال المؤتمر الصحفي في القاهرة"),
    ("فاز فريق برشلونة على ريال مدريد 3-1 في مباراة الكلاسيكو مساء السبت.",
     "برشلونة يفوز على ريال مدريد بثلاثة أهداف مقابل هدف في الـكلاسيكو"),
    ("حذّرت منظمة الصحة العالمية WHO من انتشار فيروس جديد في ٢٠٢٤.",
     "منظمة الصحة العالمية (WHO) تحذر من فيروس جديد عام 2024"),
    ("وصل عدد المشاركين في المؤتمر إلى ١٢٠٠ مشارك من ٤٥ دولة.",
     "شارك 1200 شخص من 45 دولة في المؤتمر"),
    ("المعلمون والمعلمات يطالبون بزيادة الرواتب، ويهددون بالإضراب!",
     "والمعلمون يطالبون بالزيادة في رواتبهم ويهددون بإضراب"),
    ("هل سيكتبون التقرير قبل نهاية الأسبوع؟ نعم، سيكتبونه.",
     "سيكتب الموظفون تقريرهم قبل نهاية الاسبوع"),
    ("استخدمت الشركةُ تقنيات الذكاء الاصطناعي (AI) لتحسين خدماتها للمستخدمين.",
     "الشركة تستخدم الذكاء الاصطناعي لتحسين الخدمات المقدمة للمستخدم"),
    ("افتُتح مستشفى جديد في مدينة الإسكندرية بتكلفة ٢٠ مليون جنيه.",
     "افتتاح مستشفى بالاسكندرية بتكلفة 20 مليون جنيه مصري"),
    ("ارتفعت درجات الحرارة إلى ٤٥° مئوية في الرياض، والأرصاد تحذّر المواطنين.",
     "الأرصاد تحذر من ارتفاع الحرارة إلى 45 درجة في الرياض"),
    ("سافرتُ مع أصدقائي إلى بيروت وكتبنا عنها مقالاتٍ كثيرة.",
     "سافرنا إلى بيروت وكتبتُ مقالة عنها مع الأصدقاء"),
    ("أُؤمن بأنّ التعليم حقٌّ للجميع.\nوالتعليمُ أساسُ التقدم.",
     "التعليم حق للجميع وهو أساس التقدم"),
    ("يستطيع الطلاب التسجيل عبر الموقع www.example.com حتى ٣١/١٢.",
     "التسجيل متاح للطلاب عبر الإنترنت حتى 31 ديسمبر"),
    ("نشرت الصحيفة تقريراً عن الفساد\u200c في البلديات.",
     ""),
    ("مصطفى وعيسى ذهبا إلى المستشفى ليلاً.",
     "ذهب مصطفي وعيسي للمستشفى ليلا"),
]

# Words for the stemmer test: every rule family of NLTK's ArabicStemmer (prefixes أ، فال/وال،
# ف/و، ال/لل/بال/كال، ب/ك/ل، بب/كك، سي/ست/سن/سأ، يست/نست/تست; verb and noun suffixes; ة/ات;
# alef maqsura; hamza normalization), diacritics and tatweel, stopwords, Latin and digits.
WORDS = [
    "كتبتموها", "فالكتاب", "والمعلمون", "بالمدرسة", "كالبحر", "للطلاب", "فكتب", "وقال",
    "ببيت", "ككتاب", "لمدرسة", "سيكتبون", "ستذهب", "سنلعب", "سأكتب", "يستخدم", "نستعمل",
    "تستطيع", "أأنت", "أآمن", "أؤمن", "أاستاذ", "أإنسان", "مستشفى", "مصطفى", "سماء", "شيء",
    "مرأة", "سؤال", "مسائل", "إسلام", "آمال", "أحمد", "المعلمات", "معلمة", "مدرستها",
    "كتابهما", "بيتكم", "كتبوا", "كتبتما", "يكتبان", "يكتبون", "تكتبين", "كتبنا", "كتبتن",
    "ذهبت", "قالوا", "رأيتكمو", "علمتموه", "عربي", "عربية", "المصريون", "الـكتاب", "كـــتاب",
    "مُحَمَّدٌ", "الْكِتَابُ", "سَيَكْتُبُونَ", "في", "التي", "الذين", "هذه", "والذي", "لكن",
    "ما أفعله", "أن", "ها", "و", "hello", "news", "running", "٣٫٥", "2024", "WHO", "کتاب",
    "ی", "ةة", "اتات", "ـــ", "ًٌٍ", "ٰقال", "ؤ", "بالـ",
]


def scores(scorer):
    per_pair = []
    for ref, hyp in PAIRS:
        s = scorer.score(ref, hyp)
        per_pair.append([[s[k].precision, s[k].recall, s[k].fmeasure] for k in KEYS])
    n = len(per_pair)
    mean = [[sum(p[k][j] for p in per_pair) / n for j in range(3)] for k in range(len(KEYS))]
    return per_pair, mean


def main():
    cases = []
    tokens = {}
    for lang in ["arabic"]:
        for stem in [False, True]:
            scorer = rouge_scorer.RougeScorer(KEYS, use_stemmer=stem, lang=lang)
            per_pair, mean = scores(scorer)
            cases.append({"lang": lang, "stem": stem, "per_pair": per_pair, "mean": mean})
        plain = rouge_scorer.RougeScorer(KEYS, lang=lang)
        tokens[lang] = [
            [tokenization_wrapper.tokenize(t, None, plain._tokenizer),
             tokenization_wrapper.tokenize(t, None)]
            for pair in PAIRS for t in pair
        ]

    def stemmer():
        return SnowballStemmer("arabic", ignore_stopwords=True)

    one = stemmer()
    stems = {
        "fresh": [stemmer().stem(w) for w in WORDS],
        "sequential": [one.stem(w) for w in WORDS],
    }
    with open(STOPWORDS, "w", encoding="utf-8") as f:
        for w in sorted(one.stemmer.stopwords):
            assert "\n" not in w
            f.write(w + "\n")

    golden = {
        "generator": "scripts/make_xlsum_goldens.py",
        "scorer": "csebuetnlp/xl-sum multilingual_rouge_scoring (commit afcd803c)",
        "versions": {"nltk": version("nltk"), "pyonmttok": version("pyonmttok"),
                     "python": sys.version.split()[0]},
        "keys": KEYS,
        "pairs": [{"ref": r, "hyp": h} for r, h in PAIRS],
        "tokens_note": "per text (ref, hyp of each pair in order): [scorer tokenizer "
                       "(rouge1/2/L), BasicTokenizer only (rougeLsum)], unstemmed",
        "tokens": tokens,
        "cases": cases,
        "words": WORDS,
        "stems": stems,
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(golden, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {OUT} and {STOPWORDS}")


if __name__ == "__main__":
    main()
