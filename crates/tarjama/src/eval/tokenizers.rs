//! BLEU tokenizers: sacrebleu's `13a`, `intl`, `char` and `none`, and its SentencePiece ones
//! (`flores101`, `flores200`; see [`super::spm`]).

use std::str::FromStr;

use unicode_general_category::{get_general_category, GeneralCategory as Gc};

use super::py::py_normalize_spaces;
use super::spm::SpmTokenizer;

/// The tokenizer BLEU applies to hypotheses and references before counting n-grams.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum BleuTokenizer {
    /// mteval-v13a, sacrebleu's default (`sacrebleu.tokenizers.tokenizer_13a.Tokenizer13a`).
    #[default]
    Tok13a,
    /// mteval-v14 international tokenization on Unicode punctuation and symbols
    /// (`tokenizer_intl.TokenizerV14International`).
    Intl,
    /// Every character is a token (`tokenizer_char.TokenizerChar`).
    Char,
    /// No tokenization (`tokenizer_none.NoneTokenizer`).
    None,
    /// SentencePiece pieces, for spBLEU (`tokenizer_spm.Flores101Tokenizer` /
    /// `Flores200Tokenizer`).
    Spm(SpmTokenizer),
}

impl BleuTokenizer {
    /// The name sacrebleu writes into the signature (`tok:13a`).
    pub fn signature(&self) -> &'static str {
        match self {
            BleuTokenizer::Tok13a => "13a",
            BleuTokenizer::Intl => "intl",
            BleuTokenizer::Char => "char",
            BleuTokenizer::None => "none",
            BleuTokenizer::Spm(t) => t.flores().signature(),
        }
    }

    /// Tokenizes one line; tokens come back separated by single spaces.
    pub fn tokenize(&self, line: &str) -> String {
        match self {
            BleuTokenizer::Tok13a => tokenize_13a(line),
            BleuTokenizer::Intl => tokenize_intl(line),
            BleuTokenizer::Char => {
                let mut out = String::with_capacity(line.len() * 2);
                for (i, c) in line.chars().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push(c);
                }
                out
            }
            BleuTokenizer::None => line.to_string(),
            BleuTokenizer::Spm(t) => t.tokenize(line),
        }
    }
}

/// The tokenizers that need nothing but their name; `flores101` and `flores200` need a model
/// ([`SpmTokenizer::load`]).
impl FromStr for BleuTokenizer {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "13a" => Ok(BleuTokenizer::Tok13a),
            "intl" => Ok(BleuTokenizer::Intl),
            "char" => Ok(BleuTokenizer::Char),
            "none" => Ok(BleuTokenizer::None),
            other => Err(format!(
                "unknown BLEU tokenizer {other:?} (expected 13a, intl, char or none)"
            )),
        }
    }
}

/// How a matched pair of characters is rewritten by one of the two-character rules.
#[derive(Clone, Copy)]
enum PairRewrite {
    /// `\1 \2 `
    SpaceAfterBoth,
    /// ` \1 \2`
    SpaceBeforeBoth,
}

/// Applies a regular expression of the form `(A)(B)` with `re.sub` semantics: scan left to
/// right, replace each non-overlapping match and resume after it.
fn sub_pairs(
    chars: &[char],
    first: impl Fn(char) -> bool,
    second: impl Fn(char) -> bool,
    rewrite: PairRewrite,
) -> Vec<char> {
    let mut out = Vec::with_capacity(chars.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        if i + 1 < chars.len() && first(chars[i]) && second(chars[i + 1]) {
            match rewrite {
                PairRewrite::SpaceAfterBoth => {
                    out.extend([chars[i], ' ', chars[i + 1], ' ']);
                }
                PairRewrite::SpaceBeforeBoth => {
                    out.extend([' ', chars[i], ' ', chars[i + 1]]);
                }
            }
            i += 2;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// Surrounds every character matching `pred` with spaces (`(X)` → ` \1 `).
fn pad_chars(chars: &[char], pred: impl Fn(char) -> bool) -> Vec<char> {
    let mut out = Vec::with_capacity(chars.len() + 8);
    for &c in chars {
        if pred(c) {
            out.extend([' ', c, ' ']);
        } else {
            out.push(c);
        }
    }
    out
}

/// The ASCII punctuation class of sacrebleu's `TokenizerRegexp` first rule:
/// `{|}~`, `[\]^_` and backtick, space to `&`, `(` to `+`, `:` to `@`, and `/`.
fn is_13a_symbol(c: char) -> bool {
    matches!(c, '{'..='~' | '['..='`' | ' '..='&' | '('..='+' | ':'..='@' | '/')
}

fn is_period_or_comma(c: char) -> bool {
    c == '.' || c == ','
}

/// sacrebleu's `TokenizerRegexp.__call__`, the language-dependent half of 13a.
fn post_tokenize_13a(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let chars = pad_chars(&chars, is_13a_symbol);
    // period and comma unless preceded by a digit
    let chars = sub_pairs(
        &chars,
        |a| !a.is_ascii_digit(),
        is_period_or_comma,
        PairRewrite::SpaceAfterBoth,
    );
    // period and comma unless followed by a digit
    let chars = sub_pairs(
        &chars,
        is_period_or_comma,
        |b| !b.is_ascii_digit(),
        PairRewrite::SpaceBeforeBoth,
    );
    // dash when preceded by a digit
    let chars = sub_pairs(
        &chars,
        |a| a.is_ascii_digit(),
        |b| b == '-',
        PairRewrite::SpaceAfterBoth,
    );
    let s: String = chars.into_iter().collect();
    py_normalize_spaces(&s)
}

/// sacrebleu's `Tokenizer13a.__call__`.
pub fn tokenize_13a(line: &str) -> String {
    let mut s = line
        .replace("<skipped>", "")
        .replace("-\n", "")
        .replace('\n', " ");
    if s.contains('&') {
        s = s
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">");
    }
    post_tokenize_13a(&format!(" {s} "))
}

fn is_number(c: char) -> bool {
    matches!(
        get_general_category(c),
        Gc::DecimalNumber | Gc::LetterNumber | Gc::OtherNumber
    )
}

/// Unicode's punctuation categories (`P*`): sacrebleu's `intl` tokenizer's `\p{P}`, and the
/// Unicode half of XL-Sum's punctuation test ([`super::xlsum`]).
pub(super) fn is_punctuation(c: char) -> bool {
    matches!(
        get_general_category(c),
        Gc::ConnectorPunctuation
            | Gc::DashPunctuation
            | Gc::OpenPunctuation
            | Gc::ClosePunctuation
            | Gc::InitialPunctuation
            | Gc::FinalPunctuation
            | Gc::OtherPunctuation
    )
}

fn is_symbol(c: char) -> bool {
    matches!(
        get_general_category(c),
        Gc::MathSymbol | Gc::CurrencySymbol | Gc::ModifierSymbol | Gc::OtherSymbol
    )
}

/// sacrebleu's `TokenizerV14International.__call__`: punctuation is split off unless it sits
/// between digits, symbols are always split off.
pub fn tokenize_intl(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let chars = sub_pairs(
        &chars,
        |a| !is_number(a),
        is_punctuation,
        PairRewrite::SpaceAfterBoth,
    );
    let chars = sub_pairs(
        &chars,
        is_punctuation,
        |b| !is_number(b),
        PairRewrite::SpaceBeforeBoth,
    );
    let chars = pad_chars(&chars, is_symbol);
    let s: String = chars.into_iter().collect();
    py_normalize_spaces(&s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tok13a_basics() {
        assert_eq!(
            tokenize_13a("Hello, world! It costs $3.50, ok?"),
            "Hello , world ! It costs $ 3.50 , ok ?"
        );
        assert_eq!(tokenize_13a("1990-2000 &amp; co."), "1990 - 2000 & co .");
        assert_eq!(tokenize_13a("a.b"), "a . b");
    }

    #[test]
    fn intl_basics() {
        assert_eq!(
            tokenize_intl("Hello, world! 3.5 ٣٫٥ «x»"),
            "Hello , world ! 3.5 ٣٫٥ « x »"
        );
        assert_eq!(tokenize_intl("year 2020."), "year 2020.");
        assert_eq!(tokenize_intl("a+b"), "a + b");
    }

    #[test]
    fn char_tokenizer() {
        assert_eq!(BleuTokenizer::Char.tokenize("ab c"), "a b   c");
    }
}
