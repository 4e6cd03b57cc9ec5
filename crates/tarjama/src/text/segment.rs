//! Segmentation: the document structure and the sentence splitter.
//!
//! [`split_document`] turns an article into a [`Document`]: paragraphs (runs of non-blank lines,
//! separated by one or more blank lines), lines, and per line the segments (sentences, or pieces of
//! an over-long sentence) that are translated one by one. [`Document::join`] rebuilds the output
//! text from per-segment translations with the input's structure: segments of a line joined with a
//! single space, lines with `\n`, paragraphs separated by as many blank lines as in the input.
//!
//! # Line structure
//! - `\r\n` and a lone `\r` count as line breaks; the output always uses `\n`. A leading byte order
//!   mark (U+FEFF) is dropped.
//! - A line that is empty or holds only whitespace is blank. Leading and trailing blank lines and
//!   the final newline are recorded and restored by [`Document::join`].
//! - A line's leading whitespace is kept as its indent; its trailing whitespace is dropped.
//! - Sentences never cross a line break.
//! - Empty or whitespace-only input gives an empty document (no paragraphs), which joins to `""`.
//!
//! # Sentence rule
//! Within a line (trimmed), a sentence ends at a whitespace run when the token before it ends with
//! a run of sentence punctuation `.` `!` `?` `؟` (U+061F) `…` (U+2026), optionally followed by
//! closing quotes or brackets (`»` `«` `"` `'` `)` `]` `}` `”` `’`). The punctuation and closers
//! stay with the sentence they end; the whitespace is dropped. A run such as `...` or `?!` is one
//! boundary. Punctuation not followed by whitespace never splits, so `3.5`, `٣٫٥`, `1,000`, `U.S.A`
//! and `example.com` stay whole.
//!
//! Exceptions, where a single `.` before whitespace does **not** end a sentence:
//! - a single uppercase letter (an initial): `J. Smith`;
//! - a dotted abbreviation: two or more groups of 1–3 letters separated by dots, such as `U.S.`,
//!   `e.g.`, `i.e.`, `a.m.`, `Ph.D.`, `أ.د.`;
//! - a title or common abbreviation from [`ABBREVIATIONS`] (case-sensitive), such as `Dr.`,
//!   `Mr.`, `Prof.`, `Gen.`, `Jan.`, `vs.`; and the Arabic titles `د.` (doctor) and `أ.` (professor);
//! - `No.`, `p.`, `pp.`, `Fig.`, `Vol.` and the rest of [`NUMBERED_ABBREVIATIONS`] when the next
//!   token starts with a digit: `No. 5`.
//!
//! `etc.`, `Inc.`, `Ltd.` and `Co.` are not exceptions: they end sentences too often.
//!
//! The Arabic semicolon `؛` (U+061B) ends a sentence when it is followed by whitespace and the
//! sentence it closes holds at least [`MIN_SEMICOLON_CLAUSE_WORDS`] words, i.e. when it closes a
//! clause rather than a short list item or a lead-in (`أولاً؛ ...` stays whole). This can be turned
//! off with [`SentenceSplitter::arabic_semicolon`]. The Latin `;` never ends a sentence, and the
//! Arabic comma `،` never does.
//!
//! On text without `؛`, closing quotes after the punctuation, or the exceptions above, the
//! sentences of a line equal Python's `re.split(r'(?<=[.!?؟…])\s+', line.strip())`.
//!
//! # Length fallback
//! A [`SentenceSplitter`] built with [`SentenceSplitter::with_max_len`] measures every sentence
//! with the caller's function (typically the tokenizer's token count) and splits any sentence over
//! the limit: first after clause punctuation `،` `,` `؛` `;` `:` followed by whitespace, then, for
//! a clause still too long, between words (at whitespace), then, for a single word still too long,
//! between characters (a combining mark stays with its base character). At each level the pieces
//! are packed greedily, so each segment is as long as the limit allows. No text is lost: joining
//! the pieces with spaces gives the sentence back modulo whitespace. Every piece is within the
//! limit unless a single character already exceeds it. Pieces carry their [`SplitLevel`].

use std::fmt;

use serde::Serialize;

use crate::error::{Error, Result};

/// Titles and abbreviations after which a single `.` followed by whitespace does not end a
/// sentence (matched case-sensitively against the token before the period).
pub const ABBREVIATIONS: &[&str] = &[
    "Mr", "Mrs", "Ms", "Mx", "Dr", "Prof", "Sr", "Jr", "St", "Mt", "Ft", "Gen", "Lt", "Col", "Maj",
    "Capt", "Sgt", "Cmdr", "Adm", "Gov", "Sen", "Rep", "Rev", "Hon", "Pres", "Amb", "Messrs", "vs",
    "cf", "approx", "ca", "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct",
    "Nov", "Dec", "د", "أ",
];

/// Abbreviations after which a single `.` does not end a sentence when the next token starts
/// with a digit (`No. 5`, `pp. 10–12`), matched case-sensitively.
pub const NUMBERED_ABBREVIATIONS: &[&str] = &[
    "No", "no", "Nos", "p", "pp", "Fig", "fig", "Vol", "vol", "Art", "art", "Ch", "ch", "Sec",
    "sec", "para",
];

/// The fewest words (whitespace-separated tokens, the `؛` token included) a sentence must hold
/// for a following `؛` to end it.
pub const MIN_SEMICOLON_CLAUSE_WORDS: usize = 3;

const ARABIC_SEMICOLON: char = '\u{061B}';

fn is_sentence_punct(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '\u{061F}' | '\u{2026}')
}

fn is_clause_punct(c: char) -> bool {
    matches!(c, '\u{060C}' | ',' | ARABIC_SEMICOLON | ';' | ':')
}

fn is_closer(c: char) -> bool {
    matches!(
        c,
        '\u{00BB}' | '\u{00AB}' | '"' | '\'' | ')' | ']' | '}' | '\u{201D}' | '\u{2019}'
    )
}

fn is_opener(c: char) -> bool {
    matches!(
        c,
        '\u{00AB}' | '\u{00BB}' | '"' | '\'' | '(' | '[' | '{' | '\u{201C}' | '\u{2018}'
    )
}

/// Marks that must stay attached to the preceding character when a word is split by characters.
fn is_attached_mark(c: char) -> bool {
    super::normalize::is_arabic_diacritic(c)
        || matches!(c, '\u{0300}'..='\u{036F}' | '\u{200C}' | '\u{200D}' | '\u{FE00}'..='\u{FE0F}')
}

/// How a segment's boundaries were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SplitLevel {
    /// A whole sentence, split on sentence punctuation only.
    Sentence,
    /// Length fallback: a piece of a sentence cut after clause punctuation (`،` `,` `؛` `;` `:`).
    Clause,
    /// Length fallback: a piece of a clause cut between words.
    Word,
    /// Length fallback: a piece of a single word cut between characters.
    Char,
}

impl SplitLevel {
    /// The level's name as used in JSONL output: `sentence`, `clause`, `word` or `char`.
    pub fn as_str(self) -> &'static str {
        match self {
            SplitLevel::Sentence => "sentence",
            SplitLevel::Clause => "clause",
            SplitLevel::Word => "word",
            SplitLevel::Char => "char",
        }
    }
}

impl fmt::Display for SplitLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One unit of translation: a sentence, or a piece of a sentence made by the length fallback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Segment {
    /// The source text, trimmed of surrounding whitespace; never empty.
    pub text: String,
    /// How the segment was cut; anything but [`SplitLevel::Sentence`] came from the fallback.
    pub split: SplitLevel,
}

impl Segment {
    /// Whether the length fallback made this segment (it is part of a longer sentence).
    pub fn is_fallback(&self) -> bool {
        self.split != SplitLevel::Sentence
    }
}

/// One input line: its indent and its segments in order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Line {
    /// The line's leading whitespace, restored by [`Document::join`].
    pub indent: String,
    /// The line's segments in reading order; never empty.
    pub segments: Vec<Segment>,
}

/// A run of non-blank lines.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Paragraph {
    /// How many blank lines precede this paragraph in the input (for the first paragraph, the
    /// blank lines at the start of the input).
    pub blank_lines_before: usize,
    /// The paragraph's lines in order; never empty.
    pub lines: Vec<Line>,
}

/// A segmented document that remembers the input's paragraph and line structure.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Document {
    /// The paragraphs in order; empty for empty or whitespace-only input.
    pub paragraphs: Vec<Paragraph>,
    /// Blank lines after the last paragraph, not counting the final line break.
    pub trailing_blank_lines: usize,
    /// Whether the input ended with a line break.
    pub final_newline: bool,
}

impl Document {
    /// All segments in reading order (the order [`Document::join`] consumes translations in).
    pub fn segments(&self) -> impl Iterator<Item = &Segment> + '_ {
        self.lines().flat_map(|l| l.segments.iter())
    }

    /// All non-blank lines in order.
    pub fn lines(&self) -> impl Iterator<Item = &Line> + '_ {
        self.paragraphs.iter().flat_map(|p| p.lines.iter())
    }

    /// The number of segments.
    pub fn num_segments(&self) -> usize {
        self.lines().map(|l| l.segments.len()).sum()
    }

    /// Whether the document holds no text to translate.
    pub fn is_empty(&self) -> bool {
        self.paragraphs.is_empty()
    }

    /// Rebuilds the output text, calling `translate` once per segment in reading order.
    ///
    /// Each translation is trimmed; the non-empty ones of a line are joined with a single space
    /// after the line's indent. Lines are joined with `\n`, paragraphs are separated by their
    /// original number of blank lines, and leading/trailing blank lines and the final newline are
    /// restored. With the identity translation (`|s| s.text.clone()`) this reproduces the input
    /// modulo trailing whitespace of lines, whitespace between sentences and `\r\n` line ends.
    /// It is the concatenation of [`Document::line_text`] over the lines.
    pub fn join<F, S>(&self, mut translate: F) -> String
    where
        F: FnMut(&Segment) -> S,
        S: AsRef<str>,
    {
        let mut out = String::new();
        for (p, para) in self.paragraphs.iter().enumerate() {
            for l in 0..para.lines.len() {
                out.push_str(&self.line_text(p, l, &mut translate));
            }
        }
        out
    }

    /// The part of [`Document::join`]'s text that line `l` of paragraph `p` contributes,
    /// calling `translate` once per segment of that line in reading order: the blank lines
    /// before it (for a paragraph's first line), its indent and translations, and its line
    /// break; the document's last line ends instead with the trailing blank lines and the
    /// final newline, if the input had them. A streaming caller writes these parts in order
    /// as lines are translated, and each (but perhaps the last) is a whole output line.
    ///
    /// # Panics
    /// When `(p, l)` is not a line of the document.
    pub fn line_text<F, S>(&self, p: usize, l: usize, mut translate: F) -> String
    where
        F: FnMut(&Segment) -> S,
        S: AsRef<str>,
    {
        let para = &self.paragraphs[p];
        let line = &para.lines[l];
        let mut out = String::new();
        if l == 0 {
            out.extend(std::iter::repeat_n('\n', para.blank_lines_before));
        }
        out.push_str(&line.indent);
        let mut first = true;
        for seg in &line.segments {
            let t = translate(seg);
            let t = t.as_ref().trim();
            if t.is_empty() {
                continue;
            }
            if !first {
                out.push(' ');
            }
            out.push_str(t);
            first = false;
        }
        if p + 1 < self.paragraphs.len() || l + 1 < para.lines.len() {
            out.push('\n');
        } else {
            out.extend(std::iter::repeat_n('\n', self.trailing_blank_lines));
            if self.final_newline {
                out.push('\n');
            }
        }
        out
    }

    /// Like [`Document::join`] with translations given in reading order, one per segment.
    ///
    /// # Errors
    /// [`Error::Config`] when `translations.len()` differs from [`Document::num_segments`].
    pub fn join_translations<S: AsRef<str>>(&self, translations: &[S]) -> Result<String> {
        let n = self.num_segments();
        if translations.len() != n {
            return Err(Error::Config(format!(
                "got {} translations for a document of {n} segments",
                translations.len()
            )));
        }
        let mut it = translations.iter();
        Ok(self.join(|_| it.next().map_or("", |t| t.as_ref())))
    }
}

/// Splits `text` into a [`Document`] of paragraphs, lines and segments using `splitter`.
///
/// See the [module documentation](self) for the line structure, the sentence rule and the length
/// fallback. Never fails; empty or whitespace-only input gives an empty document.
pub fn split_document(text: &str, splitter: &SentenceSplitter) -> Document {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    if text.trim().is_empty() {
        return Document::default();
    }
    let text = if text.contains('\r') {
        text.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        text.to_owned()
    };
    let mut raw: Vec<&str> = text.split('\n').collect();
    let final_newline = text.ends_with('\n');
    if final_newline {
        raw.pop();
    }
    let mut doc = Document {
        final_newline,
        ..Document::default()
    };
    let mut blanks = 0;
    let mut current: Option<Paragraph> = None;
    for line in raw {
        let content = line.trim();
        if content.is_empty() {
            if let Some(p) = current.take() {
                doc.paragraphs.push(p);
            }
            blanks += 1;
            continue;
        }
        let indent = &line[..line.len() - line.trim_start().len()];
        let para = current.get_or_insert_with(|| Paragraph {
            blank_lines_before: std::mem::take(&mut blanks),
            lines: Vec::new(),
        });
        para.lines.push(Line {
            indent: indent.to_owned(),
            segments: splitter.split_line(content),
        });
    }
    if let Some(p) = current.take() {
        doc.paragraphs.push(p);
    }
    doc.trailing_blank_lines = blanks;
    doc
}

struct Limit<'a> {
    max: usize,
    measure: Box<dyn Fn(&str) -> usize + 'a>,
}

/// Splits lines into sentences and, optionally, over-long sentences into pieces within a limit.
///
/// `SentenceSplitter::new()` splits on sentence punctuation only. [`with_max_len`] adds the
/// length fallback, measured by a caller-supplied function such as the tokenizer's token count.
///
/// [`with_max_len`]: SentenceSplitter::with_max_len
pub struct SentenceSplitter<'a> {
    limit: Option<Limit<'a>>,
    arabic_semicolon: bool,
}

impl fmt::Debug for SentenceSplitter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentenceSplitter")
            .field("max_len", &self.max_len())
            .field("arabic_semicolon", &self.arabic_semicolon)
            .finish()
    }
}

impl Default for SentenceSplitter<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> SentenceSplitter<'a> {
    /// A splitter without a length limit; `؛` splitting on.
    pub fn new() -> Self {
        SentenceSplitter {
            limit: None,
            arabic_semicolon: true,
        }
    }

    /// Adds the length fallback: any sentence for which `measure` returns more than `max` is
    /// split into pieces for which it returns at most `max`.
    ///
    /// `measure` gives a text's length in the caller's unit, typically the number of tokens the
    /// model's tokenizer makes of it (without special tokens), and `max` the model's input limit
    /// in that unit minus room for special tokens (e.g. 512 − 1 for `</s>`). `measure` is called
    /// O(log n) times per piece and should be roughly monotonic in the text's length.
    pub fn with_max_len(mut self, max: usize, measure: impl Fn(&str) -> usize + 'a) -> Self {
        self.limit = Some(Limit {
            max,
            measure: Box::new(measure),
        });
        self
    }

    /// Whether `؛` (U+061B) may end a sentence (see the module documentation). Default: `true`.
    pub fn arabic_semicolon(mut self, on: bool) -> Self {
        self.arabic_semicolon = on;
        self
    }

    /// The length limit, in the unit of the measure function, if any.
    pub fn max_len(&self) -> Option<usize> {
        self.limit.as_ref().map(|l| l.max)
    }

    /// Splits one line into segments: sentences, then the length fallback where one is set.
    /// The line is trimmed first; a blank line gives no segments.
    pub fn split_line(&self, line: &str) -> Vec<Segment> {
        let mut out = Vec::new();
        for sentence in self.sentences(line) {
            match &self.limit {
                Some(limit) if (limit.measure)(sentence) > limit.max => {
                    let clauses = clause_units(sentence);
                    self.pack(limit, sentence, &clauses, SplitLevel::Clause, &mut out);
                }
                _ => out.push(Segment {
                    text: sentence.to_owned(),
                    split: SplitLevel::Sentence,
                }),
            }
        }
        out
    }

    /// Splits one line into sentences by the sentence rule only (no length fallback). The
    /// returned slices are trimmed and non-empty; a blank line gives none.
    pub fn sentences<'t>(&self, line: &'t str) -> Vec<&'t str> {
        let line = line.trim();
        let mut out = Vec::new();
        if line.is_empty() {
            return out;
        }
        let mut start = 0;
        let mut iter = line.char_indices().peekable();
        while let Some((pos, c)) = iter.next() {
            if !c.is_whitespace() {
                continue;
            }
            let mut next = line.len();
            while let Some(&(p, c2)) = iter.peek() {
                if !c2.is_whitespace() {
                    next = p;
                    break;
                }
                iter.next();
            }
            if self.ends_sentence(&line[start..pos], &line[next..]) {
                out.push(&line[start..pos]);
                start = next;
            }
        }
        out.push(&line[start..]);
        out
    }

    /// Whether the sentence `before` (ending right before whitespace) is complete, given the
    /// text `after` the whitespace.
    fn ends_sentence(&self, before: &str, after: &str) -> bool {
        let token = before.rsplit(char::is_whitespace).next().unwrap_or(before);
        let token = token.trim_end_matches(is_closer);
        let stem = token.trim_end_matches(|c| is_sentence_punct(c) || c == ARABIC_SEMICOLON);
        let run = &token[stem.len()..];
        if run.is_empty() {
            return false;
        }
        if !run.chars().any(is_sentence_punct) {
            // Only `؛`: a clause end when long enough.
            return self.arabic_semicolon
                && before.split_whitespace().count() >= MIN_SEMICOLON_CLAUSE_WORDS;
        }
        if run == "." && is_abbreviation(stem.trim_start_matches(is_opener), after) {
            return false;
        }
        true
    }

    /// Packs `units` (byte ranges of `text`, in order) greedily into segments within the limit,
    /// descending to a finer level for a unit that alone exceeds it.
    fn pack(
        &self,
        limit: &Limit<'_>,
        text: &str,
        units: &[(usize, usize)],
        level: SplitLevel,
        out: &mut Vec<Segment>,
    ) {
        let fits = |i: usize, j: usize| (limit.measure)(&text[units[i].0..units[j].1]) <= limit.max;
        let mut i = 0;
        while i < units.len() {
            if !fits(i, i) {
                let unit = &text[units[i].0..units[i].1];
                match level {
                    SplitLevel::Sentence | SplitLevel::Clause => {
                        self.pack(limit, unit, &word_units(unit), SplitLevel::Word, out)
                    }
                    SplitLevel::Word => {
                        self.pack(limit, unit, &char_units(unit), SplitLevel::Char, out)
                    }
                    // A single character over the limit: emit it rather than lose it.
                    SplitLevel::Char => out.push(Segment {
                        text: unit.to_owned(),
                        split: SplitLevel::Char,
                    }),
                }
                i += 1;
                continue;
            }
            // Gallop to bracket the last unit that still fits, then binary search.
            let mut lo = i;
            let mut hi = units.len();
            let mut step = 1;
            while lo + step < units.len() {
                if fits(i, lo + step) {
                    lo += step;
                    step *= 2;
                } else {
                    hi = lo + step;
                    break;
                }
            }
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if fits(i, mid) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            out.push(Segment {
                text: text[units[i].0..units[lo].1].to_owned(),
                split: level,
            });
            i = lo + 1;
        }
    }
}

fn is_abbreviation(stem: &str, after: &str) -> bool {
    let mut chars = stem.chars();
    match (chars.next(), chars.next()) {
        (None, _) => return false,
        (Some(c), None) if c.is_uppercase() => return true,
        _ => {}
    }
    if ABBREVIATIONS.contains(&stem) {
        return true;
    }
    if NUMBERED_ABBREVIATIONS.contains(&stem) && after.starts_with(|c: char| c.is_numeric()) {
        return true;
    }
    stem.contains('.')
        && stem.split('.').all(|g| {
            let n = g.chars().count();
            (1..=3).contains(&n) && g.chars().all(char::is_alphabetic)
        })
}

/// Byte ranges of whitespace-separated pieces of `text`, split at whitespace that follows clause
/// punctuation (plus closers).
fn clause_units(text: &str) -> Vec<(usize, usize)> {
    let mut units = Vec::new();
    let mut start = None;
    let mut prev_end = 0;
    let mut words = word_units(text).into_iter().peekable();
    while let Some((s, e)) = words.next() {
        let unit_start = *start.get_or_insert(s);
        prev_end = e;
        let ends_clause = text[s..e]
            .trim_end_matches(is_closer)
            .ends_with(is_clause_punct);
        if ends_clause && words.peek().is_some() {
            units.push((unit_start, e));
            start = None;
        }
    }
    if let Some(s) = start {
        units.push((s, prev_end));
    }
    units
}

/// Byte ranges of the whitespace-separated words of `text`.
fn word_units(text: &str) -> Vec<(usize, usize)> {
    let mut units = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                units.push((s, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        units.push((s, text.len()));
    }
    units
}

/// Byte ranges of the characters of `text`, each with its attached combining marks.
fn char_units(text: &str) -> Vec<(usize, usize)> {
    let mut units: Vec<(usize, usize)> = Vec::new();
    for (i, c) in text.char_indices() {
        let end = i + c.len_utf8();
        match units.last_mut() {
            Some(last) if is_attached_mark(c) => last.1 = end,
            _ => units.push((i, end)),
        }
    }
    units
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sents(line: &str) -> Vec<&str> {
        SentenceSplitter::new().sentences(line)
    }

    /// Removes all whitespace, to compare texts modulo whitespace.
    fn squash(s: &str) -> String {
        s.chars().filter(|c| !c.is_whitespace()).collect()
    }

    #[test]
    fn splits_on_arabic_and_latin_punctuation() {
        assert_eq!(
            sents("ذهب الولد. هل عاد؟ نعم! حقاً? ربما… انتهى"),
            ["ذهب الولد.", "هل عاد؟", "نعم!", "حقاً?", "ربما…", "انتهى"]
        );
    }

    #[test]
    fn arabic_comma_does_not_split() {
        assert_eq!(sents("قال، ثم مشى، ثم نام."), ["قال، ثم مشى، ثم نام."]);
    }

    #[test]
    fn punctuation_runs_and_closers_stay_with_sentence() {
        assert_eq!(
            sents("انتظر... ماذا؟! قال «نعم.» ثم (ذهب.) وانتهى"),
            ["انتظر...", "ماذا؟!", "قال «نعم.»", "ثم (ذهب.)", "وانتهى"]
        );
        assert_eq!(
            sents("He said \"no.\" Then left."),
            ["He said \"no.\"", "Then left."]
        );
    }

    #[test]
    fn numbers_stay_whole() {
        assert_eq!(
            sents("بلغ النمو 3.5 في المئة و٣٫٥ مليون و1,000 دولار. ثم ١٢٫٧٥."),
            [
                "بلغ النمو 3.5 في المئة و٣٫٥ مليون و1,000 دولار.",
                "ثم ١٢٫٧٥."
            ]
        );
    }

    #[test]
    fn abbreviations_and_initials_do_not_split() {
        assert_eq!(
            sents("التقى Dr. Smith و J. R. Tolkien في U.S. الأسبوع الماضي. ثم غادر."),
            [
                "التقى Dr. Smith و J. R. Tolkien في U.S. الأسبوع الماضي.",
                "ثم غادر."
            ]
        );
        assert_eq!(
            sents("Mr. Brown, e.g. a Ph.D. holder, read No. 5 today. It was good."),
            [
                "Mr. Brown, e.g. a Ph.D. holder, read No. 5 today.",
                "It was good."
            ]
        );
        assert_eq!(
            sents("قال د. أحمد إن أ.د. علي وصل."),
            ["قال د. أحمد إن أ.د. علي وصل."]
        );
        // `no.` only protects a following number.
        assert_eq!(sents("He said no. Then"), ["He said no.", "Then"]);
        // `etc.` ends a sentence.
        assert_eq!(
            sents("Apples, pears etc. Then"),
            ["Apples, pears etc.", "Then"]
        );
    }

    #[test]
    fn arabic_semicolon_rule() {
        // Closes a clause of at least three words.
        assert_eq!(
            sents("تأخر القطار ساعتين؛ لذلك ألغي الاجتماع."),
            ["تأخر القطار ساعتين؛", "لذلك ألغي الاجتماع."]
        );
        // A short lead-in stays.
        assert_eq!(sents("أولاً؛ الصحة مهمة."), ["أولاً؛ الصحة مهمة."]);
        // Turned off.
        let s = SentenceSplitter::new().arabic_semicolon(false);
        assert_eq!(
            s.sentences("تأخر القطار ساعتين؛ لذلك ألغي الاجتماع."),
            ["تأخر القطار ساعتين؛ لذلك ألغي الاجتماع."]
        );
        // Latin `;` never ends a sentence.
        assert_eq!(sents("one two three; four"), ["one two three; four"]);
    }

    #[test]
    fn punctuation_without_whitespace_does_not_split() {
        assert_eq!(sents("a.b!c؟d"), ["a.b!c؟d"]);
        assert_eq!(sents("   "), Vec::<&str>::new());
        assert_eq!(sents(" . "), ["."]);
    }

    #[test]
    fn clause_and_word_units() {
        let t = "أ، ب, ج: 1,000 د";
        let u: Vec<&str> = clause_units(t).iter().map(|&(s, e)| &t[s..e]).collect();
        assert_eq!(u, ["أ،", "ب,", "ج:", "1,000 د"]);
        let t = "  a  b ";
        let u: Vec<&str> = word_units(t).iter().map(|&(s, e)| &t[s..e]).collect();
        assert_eq!(u, ["a", "b"]);
        let t = "بِسْمِ";
        let u: Vec<&str> = char_units(t).iter().map(|&(s, e)| &t[s..e]).collect();
        assert_eq!(u, ["بِ", "سْ", "مِ"]);
    }

    #[test]
    fn fallback_prefers_clauses_then_words_then_chars() {
        let words = |s: &str| s.split_whitespace().count();
        let sp = SentenceSplitter::new().with_max_len(4, words);
        let segs = sp.split_line("one two three, four five six seven eight nine ten, eleven.");
        let texts: Vec<&str> = segs.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "one two three,",
                "four five six seven",
                "eight nine ten,",
                "eleven."
            ]
        );
        let levels: Vec<SplitLevel> = segs.iter().map(|s| s.split).collect();
        use SplitLevel::*;
        assert_eq!(levels, [Clause, Word, Word, Clause]);

        let chars = |s: &str| s.chars().count();
        let sp = SentenceSplitter::new().with_max_len(4, chars);
        let segs = sp.split_line("abcdefghij");
        let texts: Vec<&str> = segs.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["abcd", "efgh", "ij"]);
        assert!(segs.iter().all(|s| s.split == Char && s.is_fallback()));
    }

    #[test]
    fn short_sentences_are_not_fallback() {
        let sp = SentenceSplitter::new().with_max_len(100, |s: &str| s.chars().count());
        let segs = sp.split_line("جملة قصيرة. وأخرى.");
        assert_eq!(segs.len(), 2);
        assert!(segs.iter().all(|s| !s.is_fallback()));
    }

    #[test]
    fn fallback_loses_no_text() {
        let text = "كلمة، ".repeat(50) + &"طويلةجداً".repeat(20) + " نهاية";
        let sp = SentenceSplitter::new().with_max_len(7, |s: &str| s.chars().count());
        let segs = sp.split_line(&text);
        assert!(segs.iter().all(|s| s.text.chars().count() <= 7));
        let joined: String = segs
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(squash(&joined), squash(&text));
    }

    #[test]
    fn structure_round_trips() {
        let text = "\n\nفقرة أولى. سطر.\n  سطر ثان؟\n\n\n\nفقرة ثانية.\n\n";
        let doc = split_document(text, &SentenceSplitter::new());
        assert_eq!(doc.paragraphs.len(), 2);
        assert_eq!(doc.paragraphs[0].blank_lines_before, 2);
        assert_eq!(doc.paragraphs[1].blank_lines_before, 3);
        assert_eq!(doc.paragraphs[0].lines.len(), 2);
        assert_eq!(doc.paragraphs[0].lines[1].indent, "  ");
        assert_eq!(doc.trailing_blank_lines, 1);
        assert!(doc.final_newline);
        assert_eq!(doc.num_segments(), 4);
        assert_eq!(doc.join(|s| s.text.clone()), text);
    }

    #[test]
    fn join_translations_checks_count() {
        let doc = split_document("نعم. لا.\n\nربما.", &SentenceSplitter::new());
        assert_eq!(
            doc.join_translations(&["A.", "B.", "C."]).unwrap(),
            "A. B.\n\nC."
        );
        assert!(doc.join_translations(&["A."]).is_err());
        // Empty translations leave no double spaces.
        assert_eq!(
            doc.join_translations(&["", "B.", "C."]).unwrap(),
            "B.\n\nC."
        );
    }

    #[test]
    fn empty_and_blank_input() {
        for t in ["", "   ", "\n\n", " \r\n\t\n", "\u{FEFF}"] {
            let doc = split_document(t, &SentenceSplitter::new());
            assert!(doc.is_empty(), "{t:?}");
            assert_eq!(doc.num_segments(), 0);
            assert_eq!(doc.join(|s| s.text.clone()), "");
        }
    }
}
