//! XL-Sum's multilingual ROUGE tokenization and its Arabic stemmer, as
//! `multilingual_rouge_scoring` of csebuetnlp/xl-sum (commit afcd803c) computes them; the
//! ROUGE formulas themselves are rouge-score's, in [`super::rouge`].
//!
//! For ROUGE-1, ROUGE-2 and ROUGE-L, `RougeScorer` tokenizes with `MultiTokenizer`: the text is
//! lowercased (`str.lower`), cleaned and split by BERT's `BasicTokenizer` (control and format
//! characters dropped, Unicode spaces split, punctuation — ASCII symbols and every `P*`
//! character — dropped), re-joined with spaces and re-split by OpenNMT's tokenizer in
//! `aggressive` mode (`pyonmttok.Tokenizer("aggressive")`: runs of letters and runs of numbers
//! are tokens, every other character is a token of its own, combining marks stay with the
//! character before them), then CJK ideographs are split apart. ROUGE-Lsum's sentences get only
//! the `BasicTokenizer` step, because the scorer calls `tokenize` there without its tokenizer.
//! With stemming, tokens longer than 3 characters are stemmed (`MultiStemmer`): with
//! `lang="arabic"` by NLTK's Snowball Arabic stemmer with `ignore_stopwords=True`
//! ([`ArabicStemmer`]). Only Arabic is supported; the scorer's language-free default (Porter
//! stemming) is not offered, as it is not how XL-Sum scored any language.
//!
//! Characters are Unicode scalar values, as Python strings are; general categories come from
//! the `unicode-general-category` crate (Python's `unicodedata` and ICU may differ on
//! characters assigned after that crate's Unicode version).

use std::collections::HashSet;
use std::str::FromStr;
use std::sync::OnceLock;

use unicode_general_category::{get_general_category, GeneralCategory as Gc};

/// The commit of csebuetnlp/xl-sum whose scorer this module reproduces; it ends the signature.
pub const XLSUM_COMMIT: &str = "afcd803c";

/// A language of XL-Sum's scorer (`RougeScorer(lang=...)`) that tarjama supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XlsumLang {
    /// `lang="arabic"`: no word segmenter; NLTK's Snowball Arabic stemmer.
    Arabic,
}

impl XlsumLang {
    /// The code tarjama prints (`ar`).
    pub fn code(self) -> &'static str {
        match self {
            XlsumLang::Arabic => "ar",
        }
    }
}

impl FromStr for XlsumLang {
    type Err = String;
    /// Parses `ar` (or the scorer's own name, `arabic`).
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "ar" | "arabic" => Ok(XlsumLang::Arabic),
            other => Err(format!(
                "XL-Sum ROUGE language {other:?} is not supported (supported: ar)"
            )),
        }
    }
}

/// `tokenizers._is_control`: categories `C*`, except tab, newline and carriage return.
fn is_control(c: char) -> bool {
    !matches!(c, '\t' | '\n' | '\r')
        && matches!(
            get_general_category(c),
            Gc::Control | Gc::Format | Gc::Surrogate | Gc::PrivateUse | Gc::Unassigned
        )
}

/// `tokenizers._is_whitespace`: space, tab, newline, carriage return and `Zs`.
fn is_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r') || get_general_category(c) == Gc::SpaceSeparator
}

/// `tokenizers._is_punctuation`: ASCII characters that are not letters, digits or space or
/// control, and every `P*` character.
fn is_punctuation(c: char) -> bool {
    matches!(c, '!'..='/' | ':'..='@' | '['..='`' | '{'..='~')
        || super::tokenizers::is_punctuation(c)
}

/// `BasicTokenizer.__call__` on already lowercased text: control characters, NUL and U+FFFD
/// dropped, whitespace split, each word split at (and without) its punctuation.
fn basic_tokenize(text: &str) -> Vec<String> {
    let cleaned: String = text
        .chars()
        .filter(|&c| c != '\0' && c != '\u{fffd}' && !is_control(c))
        .map(|c| if is_whitespace(c) { ' ' } else { c })
        .collect();
    cleaned
        .split_whitespace()
        .flat_map(|w| w.split(is_punctuation).filter(|p| !p.is_empty()))
        .map(str::to_string)
        .collect()
}

/// OpenNMT's character types (`unicode::get_char_type`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum CharType {
    Separator,
    Letter,
    Number,
    Mark,
    Other,
}

fn char_type(c: char) -> CharType {
    match get_general_category(c) {
        Gc::SpaceSeparator | Gc::LineSeparator | Gc::ParagraphSeparator => CharType::Separator,
        Gc::DecimalNumber | Gc::LetterNumber | Gc::OtherNumber => CharType::Number,
        Gc::UppercaseLetter
        | Gc::LowercaseLetter
        | Gc::TitlecaseLetter
        | Gc::ModifierLetter
        | Gc::OtherLetter => CharType::Letter,
        Gc::NonspacingMark | Gc::EnclosingMark | Gc::SpacingMark => CharType::Mark,
        _ => CharType::Other,
    }
}

/// OpenNMT's `substitutes` for its reserved characters (`TokensBuilder::safe_append`).
fn push_safe(token: &mut String, c: char) {
    match c {
        '\u{2581}' => token.push('_'),
        '\u{ffed}' => token.push('■'),
        '\u{ffe8}' => token.push('│'),
        '\u{ff05}' => token.push('%'),
        '\u{ff03}' => token.push('#'),
        '\u{ff1a}' => token.push(':'),
        _ => token.push(c),
    }
}

/// `pyonmttok.Tokenizer("aggressive").tokenize(text)[0]` (OpenNMT `Tokenizer::tokenize_text`
/// with default options) for text without placeholders, joiners or control characters, which
/// is what [`basic_tokenize`] leaves. A separator followed by combining marks becomes the
/// escaped separator (`％0020`) plus the marks.
fn onmt_aggressive(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut cur = String::new();
    let mut state = CharType::Separator;
    let flush = |cur: &mut String, tokens: &mut Vec<String>| {
        if !cur.is_empty() {
            tokens.push(std::mem::take(cur));
        }
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut next = i + 1;
        while next < chars.len() && char_type(chars[next]) == CharType::Mark {
            next += 1;
        }
        let marks = &chars[i + 1..next];
        match char_type(c) {
            CharType::Separator if marks.is_empty() => {
                flush(&mut cur, &mut tokens);
                state = CharType::Separator;
            }
            CharType::Separator => {
                flush(&mut cur, &mut tokens);
                cur.push_str(&format!("％{:04x}", u32::from(c)));
                cur.extend(marks);
                flush(&mut cur, &mut tokens);
                state = CharType::Other;
            }
            t @ (CharType::Letter | CharType::Number) => {
                let other = if t == CharType::Letter {
                    CharType::Number
                } else {
                    CharType::Letter
                };
                if state == other {
                    flush(&mut cur, &mut tokens);
                }
                push_safe(&mut cur, c);
                cur.extend(marks);
                state = t;
            }
            _ => {
                flush(&mut cur, &mut tokens);
                push_safe(&mut cur, c);
                cur.extend(marks);
                flush(&mut cur, &mut tokens);
                state = CharType::Other;
            }
        }
        i = next;
    }
    flush(&mut cur, &mut tokens);
    tokens
}

/// `BasicTokenizer._is_chinese_char`: the CJK ideograph blocks.
fn is_cjk(c: char) -> bool {
    matches!(u32::from(c),
        0x4E00..=0x9FFF
        | 0x3400..=0x4DBF
        | 0x20000..=0x2A6DF
        | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F
        | 0x2B820..=0x2CEAF
        | 0xF900..=0xFAFF
        | 0x2F800..=0x2FA1F)
}

/// `tokenize_chinese_chars` then `whitespace_tokenize`: every CJK ideograph its own token.
fn split_cjk(token: String, out: &mut Vec<String>) {
    if !token.chars().any(is_cjk) {
        out.push(token);
        return;
    }
    let mut cur = String::new();
    for c in token.chars() {
        if is_cjk(c) {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            out.push(c.to_string());
        } else {
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
}

/// XL-Sum's unstemmed tokens of `text` (`tokenization_wrapper.tokenize` without a stemmer).
/// `whole` selects the scorer's `MultiTokenizer` (ROUGE-1, ROUGE-2, ROUGE-L); otherwise only
/// `BasicTokenizer` runs, as for ROUGE-Lsum's sentences.
pub fn tokenize(text: &str, whole: bool) -> Vec<String> {
    let basic = basic_tokenize(&text.to_lowercase());
    if !whole || basic.is_empty() {
        return basic;
    }
    let mut out = Vec::new();
    for t in onmt_aggressive(&basic.join(" ")) {
        split_cjk(t, &mut out);
    }
    out
}

/// XL-Sum's stemming step (`MultiStemmer.__call__`) for `lang`: tokens of more than 3
/// characters are stemmed by the language's stemmer (`stemmer`, which keeps its state from
/// word to word), others kept.
pub fn stem(lang: XlsumLang, stemmer: &mut ArabicStemmer, token: &str) -> String {
    if token.chars().count() <= 3 {
        return token.to_string();
    }
    match lang {
        XlsumLang::Arabic => stemmer.stem(token),
    }
}

/// NLTK's Arabic stopwords (`nltk.corpus.stopwords.words("arabic")`, from nltk_data's
/// `stopwords` corpus), one per line, as the golden script wrote them from NLTK's own stemmer.
const ARABIC_STOPWORDS: &str = include_str!("xlsum_stopwords_ar.txt");

fn arabic_stopwords() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| ARABIC_STOPWORDS.lines().collect())
}

type Word = Vec<char>;

fn w(s: &str) -> Word {
    s.chars().collect()
}

fn ends(word: &[char], suffix: &str) -> bool {
    let s = w(suffix);
    word.len() >= s.len() && word[word.len() - s.len()..] == s[..]
}

fn starts(word: &[char], prefix: &str) -> bool {
    let p = w(prefix);
    word.len() >= p.len() && word[..p.len()] == p[..]
}

fn drop_last(word: &mut Word, n: usize) {
    word.truncate(word.len() - n);
}

fn replace_prefix(word: &mut Word, old: &str, new: &str) {
    let mut out = w(new);
    out.extend_from_slice(&word[old.chars().count()..]);
    *word = out;
}

/// NLTK's `ArabicStemmer` (`nltk.stem.snowball`, the Snowball Arabic light stemmer) with
/// `ignore_stopwords=True`, step for step, including its quirks: the check for definite
/// articles and the feminine endings looks at the word before diacritics are removed, the
/// noun step for `ات` iterates over its two letters, and `suffixes_verb_step1_success` is never
/// reset, so once a word has lost a verb suffix in step 1 every later word of the same stemmer
/// takes step 1's success branch. Stemming a corpus therefore depends on word order, as it does
/// for XL-Sum's scorer, which keeps one stemmer for all pairs.
#[derive(Clone, Debug, Default)]
pub struct ArabicStemmer {
    verb_step1_success: bool,
}

/// The per-word flags `ArabicStemmer.stem` resets.
#[derive(Default)]
struct Flags {
    is_verb: bool,
    is_noun: bool,
    is_defined: bool,
    verb_step2a: bool,
    verb_step2b: bool,
    noun_step2c2: bool,
    noun_step2a: bool,
    noun_step2b: bool,
    noun_step1b: bool,
    prefix_step2a: bool,
    prefix_step3a_noun: bool,
    prefix_step3b_noun: bool,
}

const VERB_SUFFIX_1: [&str; 2] = ["ه", "ك"];
const VERB_SUFFIX_2: [&str; 7] = ["ني", "نا", "ها", "هم", "هن", "كم", "كن"];
const VERB_SUFFIX_3: [&str; 3] = ["هما", "كما", "كمو"];
const NOUN_SUFFIX_1: [&str; 3] = ["ي", "ك", "ه"];
const NOUN_SUFFIX_2: [&str; 5] = ["نا", "كم", "ها", "هن", "هم"];
const NOUN_SUFFIX_3: [&str; 2] = ["كما", "هما"];

/// Characters `__normalize_pre` removes: its two character classes, each of which (as
/// written, with `-` between the code points) also matches an ASCII hyphen.
fn removed_by_normalize_pre(c: char) -> bool {
    matches!(c, '-' | '\u{064b}'..='\u{0652}' | '\u{0640}' | '\u{060c}'..='\u{061b}' | '\u{061f}')
}

impl ArabicStemmer {
    /// A fresh stemmer (`SnowballStemmer("arabic", ignore_stopwords=True)`).
    pub fn new() -> Self {
        ArabicStemmer::default()
    }

    /// `ArabicStemmer.stem(word)`.
    pub fn stem(&mut self, word: &str) -> String {
        let mut f = Flags {
            is_verb: true,
            is_noun: true,
            ..Flags::default()
        };
        let orig = w(word);
        checks_1(&orig, &mut f);
        checks_2(&orig, &mut f);
        let mut m: Word = orig
            .into_iter()
            .filter(|&c| !removed_by_normalize_pre(c))
            .collect();
        let as_string: String = m.iter().collect();
        if m.len() <= 2 || arabic_stopwords().contains(as_string.as_str()) {
            return as_string;
        }
        if f.is_verb {
            self.suffix_verb_step1(&mut m);
            if self.verb_step1_success {
                suffix_verb_step2a(&mut m, &mut f);
                if !f.verb_step2a {
                    suffix_verb_step2c(&mut m);
                }
            } else {
                suffix_verb_step2b(&mut m, &mut f);
                if !f.verb_step2b {
                    suffix_verb_step2a(&mut m, &mut f);
                }
            }
        }
        if f.is_noun {
            if ends(&m, "ة") && m.len() >= 3 {
                drop_last(&mut m, 1);
                f.noun_step2c2 = true;
            }
            if !f.noun_step2c2 {
                if !f.is_defined {
                    suffix_noun_step1a(&mut m);
                    noun_steps_2(&mut m, &mut f);
                } else {
                    if ends(&m, "ن") && m.len() > 5 {
                        drop_last(&mut m, 1);
                        f.noun_step1b = true;
                    }
                    if f.noun_step1b {
                        noun_steps_2(&mut m, &mut f);
                    } else {
                        if !f.is_defined {
                            suffix_noun_step2a(&mut m, &mut f);
                        }
                        suffix_noun_step2b(&mut m, &mut f);
                    }
                }
            }
            if ends(&m, "ي") && m.len() >= 3 {
                drop_last(&mut m, 1);
            }
        }
        if !f.is_noun && f.is_verb && ends(&m, "ى") {
            drop_last(&mut m, 1);
            m.push('ي');
        }
        prefix_step1(&mut m);
        prefix_step2a(&mut m, &mut f);
        if !f.prefix_step2a {
            prefix_step2b(&mut m);
        }
        prefix_step3a_noun(&mut m, &mut f);
        if !f.prefix_step3a_noun && f.is_noun {
            prefix_step3b_noun(&mut m, &mut f);
        } else if !f.prefix_step3b_noun && f.is_verb {
            prefix_step3_verb(&mut m);
            prefix_step4_verb(&mut m, &mut f);
        }
        normalize_post(&mut m);
        m.into_iter().collect()
    }

    /// `__Suffix_Verb_Step1`; sets the flag that is never reset.
    fn suffix_verb_step1(&mut self, m: &mut Word) {
        let suffixes = VERB_SUFFIX_1
            .iter()
            .chain(&VERB_SUFFIX_2)
            .chain(&VERB_SUFFIX_3);
        if drop_pronoun_suffix(m, suffixes) {
            self.verb_step1_success = true;
        }
    }
}

/// `__checks_1`: a definite article (`كال`, `بال`, `ال`, `لل`) makes the word a defined noun.
fn checks_1(word: &[char], f: &mut Flags) {
    for (prefix, min) in [("كال", 4), ("بال", 4), ("ال", 3), ("لل", 3)] {
        if starts(word, prefix) && word.len() > min {
            f.is_noun = true;
            f.is_verb = false;
            f.is_defined = true;
            break;
        }
    }
}

/// `__checks_2`: `ة` or `ات` at the end makes the word a noun.
fn checks_2(word: &[char], f: &mut Flags) {
    for (suffix, min) in [("ة", 2), ("ات", 3)] {
        if ends(word, suffix) && word.len() > min {
            f.is_noun = true;
            f.is_verb = false;
            break;
        }
    }
}

/// `__Suffix_Verb_Step2a`.
fn suffix_verb_step2a(m: &mut Word, f: &mut Flags) {
    const SUFFIXES: [&str; 11] = [
        "ت", "ا", "ن", "ي", "نا", "تا", "تن", "ان", "ون", "ين", "تما",
    ];
    for suffix in SUFFIXES {
        if !(ends(m, suffix) && m.len() > 3) {
            continue;
        }
        let cut = match suffix {
            "ت" | "ا" | "ن" | "ي" if m.len() >= 4 => 1,
            "نا" | "تا" | "تن" if m.len() >= 5 => 2,
            "ان" | "ون" | "ين" if m.len() > 5 => 2,
            "تما" if m.len() >= 6 => 3,
            _ => continue,
        };
        drop_last(m, cut);
        f.verb_step2a = true;
        break;
    }
}

/// `__Suffix_Verb_Step2c` (`و` is tried before `تمو`, so it always wins).
fn suffix_verb_step2c(m: &mut Word) {
    for (suffix, min) in [("و", 4), ("تمو", 6)] {
        if ends(m, suffix) && m.len() >= min {
            drop_last(m, suffix.chars().count());
            break;
        }
    }
}

/// `__Suffix_Verb_Step2b`.
fn suffix_verb_step2b(m: &mut Word, f: &mut Flags) {
    for suffix in ["وا", "تم"] {
        if ends(m, suffix) && m.len() >= 5 {
            drop_last(m, 2);
            f.verb_step2b = true;
            break;
        }
    }
}

/// `__Suffix_Noun_Step1a`.
fn suffix_noun_step1a(m: &mut Word) {
    let suffixes = NOUN_SUFFIX_1
        .iter()
        .chain(&NOUN_SUFFIX_2)
        .chain(&NOUN_SUFFIX_3);
    drop_pronoun_suffix(m, suffixes);
}

/// The first of `suffixes` that ends the word and leaves enough of it is removed: a suffix of
/// 1, 2 or 3 letters needs a word of at least 4, 5 or 6 (`__Suffix_Verb_Step1`,
/// `__Suffix_Noun_Step1a`). Returns whether one was.
fn drop_pronoun_suffix<'a>(m: &mut Word, suffixes: impl Iterator<Item = &'a &'a str>) -> bool {
    for suffix in suffixes {
        let n = suffix.chars().count();
        if ends(m, suffix) && m.len() >= n + 3 {
            drop_last(m, n);
            return true;
        }
    }
    false
}

/// `__Suffix_Noun_Step2a`, then `__Suffix_Noun_Step2b` if it did nothing, then
/// `__Suffix_Noun_Step2c1` if neither did anything.
fn noun_steps_2(m: &mut Word, f: &mut Flags) {
    suffix_noun_step2a(m, f);
    if !f.noun_step2a {
        suffix_noun_step2b(m, f);
    }
    if !f.noun_step2b && !f.noun_step2a && ends(m, "ت") && m.len() >= 4 {
        drop_last(m, 1);
    }
}

/// `__Suffix_Noun_Step2a`.
fn suffix_noun_step2a(m: &mut Word, f: &mut Flags) {
    for suffix in ["ا", "ي", "و"] {
        if ends(m, suffix) && m.len() > 4 {
            drop_last(m, 1);
            f.noun_step2a = true;
            break;
        }
    }
}

/// `__Suffix_Noun_Step2b`: NLTK iterates over the string `"ات"`, so it tests its letters `ا`
/// and `ت` and removes two characters after either.
fn suffix_noun_step2b(m: &mut Word, f: &mut Flags) {
    for suffix in ["ا", "ت"] {
        if ends(m, suffix) && m.len() >= 5 {
            drop_last(m, 2);
            f.noun_step2b = true;
            break;
        }
    }
}

/// `__Prefix_Step1`: a doubled initial hamza is reduced (`أ` alone matches but does nothing).
fn prefix_step1(m: &mut Word) {
    for (prefix, new) in [
        ("أأ", "أ"),
        ("أآ", "آ"),
        ("أؤ", "ؤ"),
        ("أا", "ا"),
        ("أإ", "إ"),
    ] {
        if starts(m, prefix) && m.len() > 3 {
            replace_prefix(m, prefix, new);
            break;
        }
    }
}

/// `__Prefix_Step2a`.
fn prefix_step2a(m: &mut Word, f: &mut Flags) {
    for prefix in ["فال", "وال"] {
        if starts(m, prefix) && m.len() > 5 {
            replace_prefix(m, prefix, "");
            f.prefix_step2a = true;
            break;
        }
    }
}

/// `__Prefix_Step2b`.
fn prefix_step2b(m: &mut Word) {
    for prefix in ["ف", "و"] {
        if starts(m, prefix) && m.len() > 3 {
            if !(starts(m, "وا") || starts(m, "فا")) {
                replace_prefix(m, prefix, "");
            }
            break;
        }
    }
}

/// `__Prefix_Step3a_Noun`.
fn prefix_step3a_noun(m: &mut Word, f: &mut Flags) {
    for prefix in ["ال", "لل", "كال", "بال"] {
        if !starts(m, prefix) {
            continue;
        }
        if prefix.chars().count() == 2 && m.len() > 4 {
            replace_prefix(m, prefix, "");
            f.prefix_step3a_noun = true;
            break;
        }
        if prefix.chars().count() == 3 && m.len() > 5 {
            replace_prefix(m, prefix, "");
            break;
        }
    }
}

/// `__Prefix_Step3b_Noun`.
fn prefix_step3b_noun(m: &mut Word, f: &mut Flags) {
    for prefix in ["ب", "ك", "ل", "بب", "كك"] {
        if !starts(m, prefix) {
            continue;
        }
        if m.len() > 3 {
            if prefix == "ب" {
                replace_prefix(m, prefix, "");
                f.prefix_step3b_noun = true;
                break;
            }
            if prefix == "بب" || prefix == "كك" {
                let second: String = prefix.chars().skip(1).collect();
                replace_prefix(m, prefix, &second);
                f.prefix_step3b_noun = true;
                break;
            }
        }
        if (prefix == "ك" || prefix == "ل") && m.len() > 4 {
            replace_prefix(m, prefix, "");
            f.prefix_step3b_noun = true;
            break;
        }
    }
}

/// `__Prefix_Step3_Verb`: `سي`, `ست`, `سن`, `سأ` lose their `س`.
fn prefix_step3_verb(m: &mut Word) {
    for prefix in ["سي", "ست", "سن", "سأ"] {
        if starts(m, prefix) && m.len() > 4 {
            m.remove(0);
            break;
        }
    }
}

/// `__Prefix_Step4_Verb`: `يست`, `نست`, `تست` become `است` and the word a verb.
fn prefix_step4_verb(m: &mut Word, f: &mut Flags) {
    for prefix in ["يست", "نست", "تست"] {
        if starts(m, prefix) && m.len() > 4 {
            replace_prefix(m, prefix, "است");
            f.is_verb = true;
            f.is_noun = false;
            break;
        }
    }
}

/// `__normalize_post`: a final hamza carrier becomes `ء`, an initial `أ`/`إ`/`آ` and then
/// every `أ`/`إ`/`آ` becomes `ا`, `ؤ` becomes `و` and `ئ` becomes `ي`.
fn normalize_post(m: &mut Word) {
    if let Some(last) = m.last_mut() {
        if matches!(*last, 'أ' | 'إ' | 'آ' | 'ؤ' | 'ئ') {
            *last = 'ء';
        }
    }
    for c in m.iter_mut() {
        *c = match *c {
            'أ' | 'إ' | 'آ' => 'ا',
            'ؤ' => 'و',
            'ئ' => 'ي',
            other => other,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn onmt_splits_letters_numbers_and_symbols() {
        // pyonmttok.Tokenizer("aggressive").tokenize(s)[0] of pyonmttok 1.38.1 on these strings.
        assert_eq!(
            onmt_aggressive("abc123 ١٢٣كتب x²€5 a\u{651}b"),
            ["abc", "123", "١٢٣", "كتب", "x", "²", "€", "5", "a\u{651}b"]
        );
        assert_eq!(onmt_aggressive("a \u{651}b"), ["a", "％0020\u{651}", "b"]);
        assert_eq!(
            onmt_aggressive("\u{651}\u{651}ab c"),
            ["\u{651}\u{651}", "ab", "c"]
        );
        assert_eq!(
            onmt_aggressive("x \u{ff03}y \u{2581}z \u{ffe8}q"),
            ["x", "#", "y", "_", "z", "│", "q"]
        );
    }

    #[test]
    fn basic_tokenizer_drops_punctuation_and_format_characters() {
        assert_eq!(
            tokenize("قال: «لن نتراجع»، ٣٫٥ ab\u{200c}c؟", true),
            ["قال", "لن", "نتراجع", "٣", "٥", "abc"]
        );
        assert_eq!(tokenize("abc123 中文", false), ["abc123", "中文"]);
        assert_eq!(tokenize("abc123 中文", true), ["abc", "123", "中", "文"]);
    }
}
