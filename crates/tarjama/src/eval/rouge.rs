//! ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum as rouge-score 0.1.2 computes them
//! (`rouge_score.rouge_scorer.RougeScorer`), plus a Unicode-aware tokenizer for non-Latin text
//! and XL-Sum's multilingual scorer's tokenization and stemming ([`super::xlsum`]).

use std::collections::HashMap;
use std::str::FromStr;

use unicode_general_category::{get_general_category, GeneralCategory as Gc};

use super::stem::porter_stem;
use super::xlsum::{self, ArabicStemmer, XlsumLang, XLSUM_COMMIT};

/// rouge-score's version, written into the signature.
pub const ROUGE_SCORE_VERSION: &str = "0.1.2";

/// How text is split into tokens before ROUGE counts them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RougeTokenizer {
    /// rouge-score's `tokenize.tokenize`: lowercase, every character outside `[a-z0-9]`
    /// becomes a space. Non-Latin text has no tokens and scores 0.
    #[default]
    Default,
    /// Lowercase, every character that is not a Unicode letter (`L*`), mark (`M*`) or number
    /// (`Nd`, `Nl`, `No`) becomes a space, so Arabic and other scripts are scored. Similar to,
    /// not the same as, the multilingual ROUGE used for XL-Sum. Marks are kept so that
    /// vowelled Arabic words stay whole.
    Unicode,
    /// XL-Sum's multilingual ROUGE (csebuetnlp/xl-sum `multilingual_rouge_scoring`,
    /// `RougeScorer(lang=...)`) for one language: its Unicode-aware tokenization, and with
    /// stemming that language's stemmer (NLTK's Snowball Arabic stemmer for Arabic). See
    /// [`super::xlsum`].
    Xlsum(XlsumLang),
}

impl RougeTokenizer {
    /// The name printed in the output (`tok:default`, `tok:unicode`, `tok:xlsum-ar`).
    pub fn name(self) -> &'static str {
        match self {
            RougeTokenizer::Default => "default",
            RougeTokenizer::Unicode => "unicode",
            RougeTokenizer::Xlsum(XlsumLang::Arabic) => "xlsum-ar",
        }
    }

    /// The scorer whose results these are, for the signature (`rouge-score-0.1.2`,
    /// `xl-sum-afcd803c`).
    pub fn version(self) -> String {
        match self {
            RougeTokenizer::Xlsum(_) => format!("xl-sum-{XLSUM_COMMIT}"),
            _ => format!("rouge-score-{ROUGE_SCORE_VERSION}"),
        }
    }
}

impl FromStr for RougeTokenizer {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "default" => Ok(RougeTokenizer::Default),
            "unicode" => Ok(RougeTokenizer::Unicode),
            "xlsum" => Err("the xlsum ROUGE tokenizer needs a language (--lang ar)".into()),
            other => Err(format!(
                "unknown ROUGE tokenizer {other:?} (expected default, unicode or xlsum)"
            )),
        }
    }
}

/// ROUGE settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RougeConfig {
    /// Tokenizer.
    pub tokenizer: RougeTokenizer,
    /// Stem tokens longer than 3 characters (`use_stemmer=True`): Porter, or with
    /// [`RougeTokenizer::Xlsum`] its language's stemmer.
    pub use_stemmer: bool,
}

/// One ROUGE score (`rouge_score.scoring.Score`), each value in 0..=1.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RougeScore {
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// F1.
    pub fmeasure: f64,
}

/// The four ROUGE variants tarjama reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RougeType {
    /// Unigram overlap.
    Rouge1,
    /// Bigram overlap.
    Rouge2,
    /// Longest common subsequence over the whole text.
    RougeL,
    /// Summary-level LCS over newline-separated sentences.
    RougeLsum,
}

impl RougeType {
    /// All four, in output order.
    pub const ALL: [RougeType; 4] = [
        RougeType::Rouge1,
        RougeType::Rouge2,
        RougeType::RougeL,
        RougeType::RougeLsum,
    ];

    /// Printed name (`ROUGE-1`).
    pub fn name(self) -> &'static str {
        match self {
            RougeType::Rouge1 => "ROUGE-1",
            RougeType::Rouge2 => "ROUGE-2",
            RougeType::RougeL => "ROUGE-L",
            RougeType::RougeLsum => "ROUGE-Lsum",
        }
    }

    /// rouge-score's key (`rouge1`).
    pub fn key(self) -> &'static str {
        match self {
            RougeType::Rouge1 => "rouge1",
            RougeType::Rouge2 => "rouge2",
            RougeType::RougeL => "rougeL",
            RougeType::RougeLsum => "rougeLsum",
        }
    }
}

/// Scores of one document for all four types.
pub type RougeDoc = [RougeScore; 4];

/// `scoring.fmeasure`.
fn fmeasure(p: f64, r: f64) -> f64 {
    if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    }
}

fn is_unicode_word_char(c: char) -> bool {
    matches!(
        get_general_category(c),
        Gc::UppercaseLetter
            | Gc::LowercaseLetter
            | Gc::TitlecaseLetter
            | Gc::ModifierLetter
            | Gc::OtherLetter
            | Gc::NonspacingMark
            | Gc::SpacingMark
            | Gc::EnclosingMark
            | Gc::DecimalNumber
            | Gc::LetterNumber
            | Gc::OtherNumber
    )
}

/// Whether most letters of `texts` are not ASCII (Arabic, Cyrillic, Chinese, ...). rouge-score's
/// default tokenizer keeps none of them, so its ROUGE on such text is near 0 and
/// [`RougeTokenizer::Unicode`] is the one to use. One pass over the characters.
pub fn mostly_non_ascii_letters<'a>(texts: impl IntoIterator<Item = &'a str>) -> bool {
    let (mut ascii, mut other) = (0usize, 0usize);
    for t in texts {
        for c in t.chars() {
            if c.is_ascii_alphabetic() {
                ascii += 1;
            } else if c.is_alphabetic() {
                other += 1;
            }
        }
    }
    other > ascii
}

/// Tokenizes text for ROUGE-1, ROUGE-2 and ROUGE-L (`rouge_score.tokenize.tokenize`, its
/// Unicode variant, or XL-Sum's with a fresh stemmer).
pub fn tokenize(text: &str, config: &RougeConfig) -> Vec<String> {
    RougeScorer::new(*config).tokenize(text, true)
}

/// rouge-score's tokenizer (`Default`) or its Unicode variant.
fn tokenize_plain(text: &str, config: &RougeConfig) -> Vec<String> {
    let keep: fn(char) -> bool = match config.tokenizer {
        RougeTokenizer::Unicode => is_unicode_word_char,
        _ => |c| c.is_ascii_lowercase() || c.is_ascii_digit(),
    };
    let lower = text.to_lowercase();
    let replaced: String = lower
        .chars()
        .map(|c| if keep(c) { c } else { ' ' })
        .collect();
    replaced
        .split(' ')
        .filter(|t| !t.is_empty())
        .map(|t| {
            if config.use_stemmer && t.chars().count() > 3 {
                porter_stem(t)
            } else {
                t.to_string()
            }
        })
        .filter(|t| !t.is_empty() && t.chars().all(keep))
        .collect()
}

fn ngram_counts(tokens: &[String], n: usize) -> HashMap<&[String], u64> {
    let mut c = HashMap::new();
    if tokens.len() >= n {
        for w in tokens.windows(n) {
            *c.entry(w).or_insert(0) += 1;
        }
    }
    c
}

/// `rouge_scorer._score_ngrams` on the n-grams of two token lists.
fn score_ngrams(target: &[String], prediction: &[String], n: usize) -> RougeScore {
    let t = ngram_counts(target, n);
    let p = ngram_counts(prediction, n);
    let inter: u64 = t
        .iter()
        .map(|(g, &c)| c.min(p.get(g).copied().unwrap_or(0)))
        .sum();
    let t_count: u64 = t.values().sum();
    let p_count: u64 = p.values().sum();
    let precision = inter as f64 / p_count.max(1) as f64;
    let recall = inter as f64 / t_count.max(1) as f64;
    RougeScore {
        precision,
        recall,
        fmeasure: fmeasure(precision, recall),
    }
}

/// `rouge_scorer._lcs_table`.
fn lcs_table(r: &[String], c: &[String]) -> Vec<Vec<u32>> {
    let mut t = vec![vec![0u32; c.len() + 1]; r.len() + 1];
    for i in 1..=r.len() {
        for j in 1..=c.len() {
            t[i][j] = if r[i - 1] == c[j - 1] {
                t[i - 1][j - 1] + 1
            } else {
                t[i - 1][j].max(t[i][j - 1])
            };
        }
    }
    t
}

/// `rouge_scorer._score_lcs`.
fn score_lcs(target: &[String], prediction: &[String]) -> RougeScore {
    if target.is_empty() || prediction.is_empty() {
        return RougeScore::default();
    }
    let lcs = f64::from(lcs_table(target, prediction)[target.len()][prediction.len()]);
    let precision = lcs / prediction.len() as f64;
    let recall = lcs / target.len() as f64;
    RougeScore {
        precision,
        recall,
        fmeasure: fmeasure(precision, recall),
    }
}

/// `rouge_scorer.lcs_ind` (`_backtrack_norec`): reference indices of one LCS.
fn lcs_indices(r: &[String], c: &[String]) -> Vec<usize> {
    let t = lcs_table(r, c);
    let (mut i, mut j) = (r.len(), c.len());
    let mut out = Vec::new();
    while i > 0 && j > 0 {
        if r[i - 1] == c[j - 1] {
            out.push(i - 1);
            i -= 1;
            j -= 1;
        } else if t[i][j - 1] > t[i - 1][j] {
            j -= 1;
        } else {
            i -= 1;
        }
    }
    out.reverse();
    out
}

/// `rouge_scorer._summary_level_lcs`.
fn summary_level_lcs(ref_sents: &[Vec<String>], can_sents: &[Vec<String>]) -> RougeScore {
    if ref_sents.is_empty() || can_sents.is_empty() {
        return RougeScore::default();
    }
    let m: usize = ref_sents.iter().map(Vec::len).sum();
    let n: usize = can_sents.iter().map(Vec::len).sum();
    if m == 0 || n == 0 {
        return RougeScore::default();
    }
    let mut cnt_r: HashMap<&str, i64> = HashMap::new();
    let mut cnt_c: HashMap<&str, i64> = HashMap::new();
    for s in ref_sents {
        for t in s {
            *cnt_r.entry(t.as_str()).or_insert(0) += 1;
        }
    }
    for s in can_sents {
        for t in s {
            *cnt_c.entry(t.as_str()).or_insert(0) += 1;
        }
    }
    let mut hits = 0usize;
    for r in ref_sents {
        // union of the LCS index sets against every candidate sentence, sorted
        let mut union: Vec<usize> = can_sents.iter().flat_map(|c| lcs_indices(r, c)).collect();
        union.sort_unstable();
        union.dedup();
        for i in union {
            let t = r[i].as_str();
            let c = cnt_c.get(t).copied().unwrap_or(0);
            let rr = cnt_r.get(t).copied().unwrap_or(0);
            if c > 0 && rr > 0 {
                hits += 1;
                cnt_c.insert(t, c - 1);
                cnt_r.insert(t, rr - 1);
            }
        }
    }
    let recall = hits as f64 / m as f64;
    let precision = hits as f64 / n as f64;
    RougeScore {
        precision,
        recall,
        fmeasure: fmeasure(precision, recall),
    }
}

/// Sentences for ROUGE-Lsum: the text split on `\n`, empty pieces dropped.
fn sentences(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n').filter(|s| !s.is_empty())
}

/// A ROUGE scorer with the state its stemmer carries from word to word: NLTK's Arabic stemmer
/// (XL-Sum's `lang="arabic"`) changes how it stems after some words, so texts must be scored
/// in corpus order through one scorer to match XL-Sum's, which keeps one stemmer for all
/// pairs. The other tokenizers have no state.
#[derive(Clone, Debug)]
pub struct RougeScorer {
    config: RougeConfig,
    arabic: ArabicStemmer,
}

impl RougeScorer {
    /// A fresh scorer (`RougeScorer(...)` in Python).
    pub fn new(config: RougeConfig) -> Self {
        RougeScorer {
            config,
            arabic: ArabicStemmer::new(),
        }
    }

    /// Tokens of `text`, stemmed when configured. `whole` is the text tokenization of ROUGE-1,
    /// ROUGE-2 and ROUGE-L; otherwise a ROUGE-Lsum sentence's, which differs only for
    /// [`RougeTokenizer::Xlsum`] (the scorer's `BasicTokenizer` alone).
    pub fn tokenize(&mut self, text: &str, whole: bool) -> Vec<String> {
        let RougeTokenizer::Xlsum(lang) = self.config.tokenizer else {
            return tokenize_plain(text, &self.config);
        };
        let tokens = xlsum::tokenize(text, whole);
        if !self.config.use_stemmer {
            return tokens;
        }
        tokens
            .iter()
            .map(|t| xlsum::stem(lang, &mut self.arabic, t))
            .filter(|t| !t.is_empty())
            .collect()
    }

    /// All four scores of one prediction against one target (`RougeScorer.score`), tokenizing
    /// the target, the prediction, then their ROUGE-Lsum sentences, in Python's order.
    pub fn score(&mut self, target: &str, prediction: &str) -> RougeDoc {
        let tt = self.tokenize(target, true);
        let pt = self.tokenize(prediction, true);
        let ts: Vec<Vec<String>> = sentences(target).map(|s| self.tokenize(s, false)).collect();
        let ps: Vec<Vec<String>> = sentences(prediction)
            .map(|s| self.tokenize(s, false))
            .collect();
        [
            score_ngrams(&tt, &pt, 1),
            score_ngrams(&tt, &pt, 2),
            score_lcs(&tt, &pt),
            summary_level_lcs(&ts, &ps),
        ]
    }

    /// Scores against several targets, keeping per type the target with the highest F1, the
    /// first one on ties (`RougeScorer.score_multi`); the targets are scored in order.
    pub fn score_multi(&mut self, targets: &[&str], prediction: &str) -> RougeDoc {
        let all: Vec<RougeDoc> = targets.iter().map(|t| self.score(t, prediction)).collect();
        best_of(&all)
    }
}

/// All four scores of one prediction against one target with a fresh [`RougeScorer`].
pub fn score(target: &str, prediction: &str, config: &RougeConfig) -> RougeDoc {
    RougeScorer::new(*config).score(target, prediction)
}

/// [`RougeScorer::score_multi`] with a fresh scorer.
pub fn score_multi(targets: &[&str], prediction: &str, config: &RougeConfig) -> RougeDoc {
    RougeScorer::new(*config).score_multi(targets, prediction)
}

/// Per type, the document with the highest F1, the first one on ties.
fn best_of(all: &[RougeDoc]) -> RougeDoc {
    let mut out = [RougeScore::default(); 4];
    for (k, slot) in out.iter_mut().enumerate() {
        let mut best = 0;
        for (i, d) in all.iter().enumerate() {
            if d[k].fmeasure > all[best][k].fmeasure {
                best = i;
            }
        }
        *slot = all[best][k];
    }
    out
}

/// Per-document ROUGE for a corpus, in order through one [`RougeScorer`]. `refs[k][i]` is
/// reference stream `k`, line `i`; with one stream this is `RougeScorer.score`, with several
/// `RougeScorer.score_multi`.
pub fn document_scores(
    hyps: &[String],
    refs: &[Vec<String>],
    config: &RougeConfig,
) -> Vec<RougeDoc> {
    let mut scorer = RougeScorer::new(*config);
    hyps.iter()
        .enumerate()
        .map(|(i, h)| {
            if refs.len() == 1 {
                scorer.score(&refs[0][i], h)
            } else {
                let t: Vec<&str> = refs.iter().map(|r| r[i].as_str()).collect();
                scorer.score_multi(&t, h)
            }
        })
        .collect()
}

/// The mean over documents of precision, recall and F1 for each type, summed in document
/// order and divided by the count (as `sum(values) / len(values)` in Python).
pub fn mean_scores(docs: &[RougeDoc]) -> RougeDoc {
    let mut out = [RougeScore::default(); 4];
    if docs.is_empty() {
        return out;
    }
    let n = docs.len() as f64;
    for (k, slot) in out.iter_mut().enumerate() {
        let (mut p, mut r, mut f) = (0.0, 0.0, 0.0);
        for d in docs {
            p += d[k].precision;
            r += d[k].recall;
            f += d[k].fmeasure;
        }
        *slot = RougeScore {
            precision: p / n,
            recall: r / n,
            fmeasure: f / n,
        };
    }
    out
}

/// The signature printed with ROUGE scores, e.g.
/// `nrefs:1|tok:default|stem:no|version:rouge-score-0.1.2` (with XL-Sum's tokenizer
/// `nrefs:1|tok:xlsum-ar|stem:yes|version:xl-sum-afcd803c`).
pub fn signature(config: &RougeConfig, nrefs: usize) -> String {
    format!(
        "nrefs:{nrefs}|tok:{}|stem:{}|version:{}",
        config.tokenizer.name(),
        if config.use_stemmer { "yes" } else { "no" },
        config.tokenizer.version()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xlsum_tokenizer_needs_a_language_and_names_its_scorer() {
        let e = "xlsum".parse::<RougeTokenizer>().unwrap_err();
        assert!(e.contains("--lang"), "{e}");
        let config = RougeConfig {
            tokenizer: RougeTokenizer::Xlsum(XlsumLang::Arabic),
            use_stemmer: true,
        };
        assert_eq!(
            signature(&config, 1),
            "nrefs:1|tok:xlsum-ar|stem:yes|version:xl-sum-afcd803c"
        );
        // one scorer carries NLTK's verb-suffix flag from word to word: once "كتبتموها" has
        // lost a verb suffix, "كتبوا" keeps its "و" (NLTK gives the same, goldens_xlsum.json)
        assert_eq!(tokenize("كتبوا", &config), ["كتب"]);
        let mut scorer = RougeScorer::new(config);
        scorer.tokenize("كتبتموها", true);
        assert_eq!(scorer.tokenize("كتبوا", true), ["كتبو"]);
    }

    #[test]
    fn default_tokenizer_drops_non_ascii() {
        let c = RougeConfig::default();
        assert_eq!(
            tokenize("The cat's 2 hats, café!", &c),
            ["the", "cat", "s", "2", "hats", "caf"]
        );
        assert!(tokenize("ذهب الولد", &c).is_empty());
    }

    #[test]
    fn non_ascii_letter_detection() {
        assert!(mostly_non_ascii_letters([
            "ذهب الولد إلى المدرسة",
            "the boy"
        ]));
        assert!(mostly_non_ascii_letters(["Москва 2024"]));
        assert!(!mostly_non_ascii_letters([
            "Le prix est de 12,50 € (TVA incluse)."
        ]));
        assert!(!mostly_non_ascii_letters([
            "İstanbul'da 3 gün kaldık",
            "١٢٣ 456"
        ]));
        assert!(!mostly_non_ascii_letters(["", "123 !?"]));
    }

    #[test]
    fn unicode_tokenizer_keeps_arabic() {
        let c = RougeConfig {
            tokenizer: RougeTokenizer::Unicode,
            use_stemmer: false,
        };
        assert_eq!(
            tokenize("ذَهَبَ الولدُ، ٣ مرات!", &c),
            ["ذَهَبَ", "الولدُ", "٣", "مرات"]
        );
    }

    #[test]
    fn rouge_score_readme_example() {
        // rouge-score's README: rouge1 P 0.75 R 0.6667, rougeL same, for this pair.
        let c = RougeConfig {
            tokenizer: RougeTokenizer::Default,
            use_stemmer: true,
        };
        let d = score(
            "The quick brown fox jumps over the lazy dog",
            "The quick brown dog jumps on the log.",
            &c,
        );
        assert!((d[0].precision - 0.75).abs() < 1e-12);
        assert!((d[0].recall - 6.0 / 9.0).abs() < 1e-12);
    }
}
