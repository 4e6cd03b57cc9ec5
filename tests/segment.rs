//! The text stage end to end: normalization, sentence splitting, the length fallback and the
//! document structure round trip.

use tarjama::text::segment::{split_document, Document, SentenceSplitter, SplitLevel};
use tarjama::text::Normalization;

/// Removes all whitespace, to compare texts modulo whitespace.
fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// A stand-in for a subword tokenizer's token count: one token per started 3 characters of
/// each word (so long words cost many tokens, as with SentencePiece).
fn pseudo_tokens(s: &str) -> usize {
    s.split_whitespace()
        .map(|w| w.chars().count().div_ceil(3))
        .sum()
}

fn texts(doc: &Document) -> Vec<&str> {
    doc.segments().map(|s| s.text.as_str()).collect()
}

/// Python's `[p for p in re.split(r'(?<=[.!?؟…])\s+', line.strip()) if p]`, written out.
fn python_split(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev: Option<char> = None;
    let mut chars = line.trim().chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_whitespace() && matches!(prev, Some('.' | '!' | '?' | '؟' | '…')) {
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            out.push(std::mem::take(&mut cur));
            prev = None;
            continue;
        }
        cur.push(c);
        prev = Some(c);
    }
    out.push(cur);
    out.retain(|p| !p.is_empty());
    out
}

#[test]
fn seed_article_matches_python_split() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/seed/article.ar.txt"
    );
    let Ok(text) = std::fs::read_to_string(path) else {
        println!("skipping: {path} is absent");
        return;
    };
    let doc = split_document(&text, &SentenceSplitter::new());
    // The article has no blank lines: one paragraph of 14 lines (one news paragraph per line).
    let lines: Vec<_> = doc.lines().collect();
    assert_eq!(lines.len(), 14);
    assert_eq!(doc.num_segments(), 23);
    let src_lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(src_lines.len(), lines.len());
    for (src, line) in src_lines.iter().zip(&lines) {
        let ours: Vec<&str> = line.segments.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(ours, python_split(src), "line {src:?}");
        assert_eq!(squash(&ours.join(" ")), squash(src));
        assert!(line.segments.iter().all(|s| !s.is_fallback()));
    }
    // Identity translation gives the article back.
    assert_eq!(doc.join(|s| s.text.clone()), text);
}

const TWENTY: [&str; 20] = [
    "استيقظ أحمد مبكرًا صباح يوم الجمعة.",
    "هل تناول فطوره قبل الخروج؟",
    "نعم، تناول الخبز والجبن وشرب الشاي.",
    "ثم خرج إلى السوق مع أخيه الصغير.",
    "كان الجو باردًا والسماء غائمة!",
    "اشترى أحمد ٣ كيلوغرامات من البرتقال بسعر ١٢٫٥ دينار.",
    "قال البائع: «هذا أفضل برتقال في المدينة».",
    "لماذا كان السوق مزدحمًا إلى هذا الحد؟",
    "لأن العيد يقترب، والناس يستعدون له.",
    "التقى أحمد بصديقه القديم سامي قرب المسجد.",
    "تحدثا عن الدراسة والعمل والسفر…",
    "أخبره سامي أنه سيسافر إلى لندن في 15 مارس.",
    "سيدرس هناك الهندسة في جامعة Imperial College.",
    "فرح أحمد كثيرًا بهذا الخبر!",
    "ثم عاد الأخوان إلى البيت قبل الظهر.",
    "وجدا أمهما تطبخ الأرز واللحم.",
    "ساعداها في ترتيب المائدة، وغسل الصحون.",
    "أليس الطعام لذيذًا يا أمي؟",
    "ضحكت الأم وقالت إن الطبخ يحتاج إلى صبر.",
    "وفي المساء، جلست العائلة كلها أمام التلفاز.",
];

#[test]
fn twenty_arabic_sentences_give_twenty_segments() {
    let para = TWENTY.join(" ");
    let doc = split_document(&para, &SentenceSplitter::new());
    assert_eq!(texts(&doc), TWENTY);
    // Also with a generous token limit: nothing is cut by the fallback.
    let sp = SentenceSplitter::new().with_max_len(511, pseudo_tokens);
    let doc = split_document(&para, &sp);
    assert_eq!(doc.num_segments(), 20);
    assert!(doc.segments().all(|s| s.split == SplitLevel::Sentence));
}

#[test]
fn question_mark_ends_and_arabic_comma_does_not() {
    let doc = split_document(
        "هل أنت بخير؟ نعم، أنا بخير، شكرًا.",
        &SentenceSplitter::new(),
    );
    assert_eq!(texts(&doc), ["هل أنت بخير؟", "نعم، أنا بخير، شكرًا."]);
}

#[test]
fn numbers_quotes_names_and_abbreviations_survive() {
    let text = "قال Dr. John Smith إن النمو بلغ ٣٫٥٪ في عام ٢٠٢٣. وأضاف أن U.S. \
                ستستثمر 1,000,000 دولار، أي 3.5 مليون درهم. وقال: \"هذا مهم جدًا.\" \
                ثم صرّح J. K. Rowling بأن «القراءة حياة». انتهى الاجتماع في الساعة 10:30.";
    let doc = split_document(text, &SentenceSplitter::new());
    assert_eq!(
        texts(&doc),
        [
            "قال Dr. John Smith إن النمو بلغ ٣٫٥٪ في عام ٢٠٢٣.",
            "وأضاف أن U.S. ستستثمر 1,000,000 دولار، أي 3.5 مليون درهم.",
            "وقال: \"هذا مهم جدًا.\"",
            "ثم صرّح J. K. Rowling بأن «القراءة حياة».",
            "انتهى الاجتماع في الساعة 10:30.",
        ]
    );
}

#[test]
fn paragraph_line_and_blank_structure_round_trips() {
    let text = "العنوان الرئيسي\n\nالفقرة الأولى. فيها جملتان.\nوسطر ثان فيها؟\n\n\n\
                الفقرة الثانية بعد سطرين فارغين.\n    سطر مزاح.  \n\nالأخيرة!\n";
    let doc = split_document(text, &SentenceSplitter::new());
    assert_eq!(doc.paragraphs.len(), 4);
    let blanks: Vec<usize> = doc
        .paragraphs
        .iter()
        .map(|p| p.blank_lines_before)
        .collect();
    assert_eq!(blanks, [0, 1, 2, 1]);
    let lines: Vec<usize> = doc.paragraphs.iter().map(|p| p.lines.len()).collect();
    assert_eq!(lines, [1, 2, 2, 1]);
    assert_eq!(doc.num_segments(), 7);
    // Identity translation: the input back, except the trailing spaces of one line.
    let expected = text.replace("مزاح.  \n", "مزاح.\n");
    assert_eq!(doc.join(|s| s.text.clone()), expected);
    // Translations take the same structure.
    let out = doc.join(|s| format!("<{}>", s.text.chars().count()));
    assert_eq!(out, "<15>\n\n<14> <12>\n<14>\n\n\n<32>\n    <9>\n\n<8>\n");
}

#[test]
fn crlf_input() {
    let text = "السطر الأول. جملة ثانية.\r\nسطر آخر؟\r\n\r\nفقرة جديدة.\r\n";
    let doc = split_document(text, &SentenceSplitter::new());
    assert_eq!(doc.paragraphs.len(), 2);
    assert!(doc.segments().all(|s| !s.text.contains('\r')));
    assert_eq!(
        texts(&doc),
        ["السطر الأول.", "جملة ثانية.", "سطر آخر؟", "فقرة جديدة."]
    );
    assert_eq!(doc.join(|s| s.text.clone()), text.replace("\r\n", "\n"));
}

#[test]
fn empty_and_whitespace_only_input_give_empty_document() {
    for text in ["", " ", "\n", "\r\n\r\n", " \t \n  \n"] {
        let doc = split_document(text, &SentenceSplitter::new());
        assert!(doc.is_empty(), "{text:?}");
        assert_eq!(doc, Document::default());
        assert_eq!(doc.join(|s| s.text.clone()), "");
    }
}

#[test]
fn long_paragraph_without_punctuation_is_split_within_limit() {
    let vocab = [
        "الحكومة",
        "تعمل",
        "على",
        "تطوير",
        "البنية",
        "التحتية",
        "في",
        "المدن",
    ];
    let words: Vec<&str> = (0..3000).map(|i| vocab[i * 7 % vocab.len()]).collect();
    let text = words.join(" ");
    let max = 511;
    assert!(pseudo_tokens(&text) > 5 * max);
    let sp = SentenceSplitter::new().with_max_len(max, pseudo_tokens);
    let doc = split_document(&text, &sp);
    assert!(doc.num_segments() >= 6);
    assert!(doc.segments().all(|s| pseudo_tokens(&s.text) <= max));
    assert!(doc.segments().all(|s| s.split == SplitLevel::Word));
    // Greedy packing: every piece but the last is nearly full.
    let n = doc.num_segments();
    assert!(doc
        .segments()
        .take(n - 1)
        .all(|s| pseudo_tokens(&s.text) + 3 > max));
    assert_eq!(squash(&doc.join(|s| s.text.clone())), squash(&text));
}

#[test]
fn repeated_punctuation_gives_bounded_pieces() {
    let max = 64;
    let chars = |s: &str| s.chars().count();
    let cases = [
        "!".repeat(400),
        "،".repeat(400),
        ".".repeat(400),
        "، ".repeat(400),
        "! ".repeat(400),
        format!("قال {} ثم سكت", "؟".repeat(400)),
    ];
    for text in &cases {
        let sp = SentenceSplitter::new().with_max_len(max, chars);
        let doc = split_document(text, &sp);
        assert!(doc.num_segments() > 0);
        assert!(doc.num_segments() <= 400, "{} segments", doc.num_segments());
        assert!(doc.segments().all(|s| chars(&s.text) <= max));
        assert_eq!(squash(&doc.join(|s| s.text.clone())), squash(text));
    }
    // One 400-character word with no break point is cut by characters and marked so.
    let doc = split_document(
        &"!".repeat(400),
        &SentenceSplitter::new().with_max_len(max, chars),
    );
    assert_eq!(doc.num_segments(), 7);
    assert!(doc
        .segments()
        .all(|s| s.split == SplitLevel::Char && s.is_fallback()));
}

#[test]
fn clause_fallback_splits_at_commas_and_semicolons() {
    let sentence = "أعلنت الوزارة اليوم عن خطة جديدة، تشمل بناء مدارس ومستشفيات في عدة محافظات، \
                    وتهدف إلى تحسين الخدمات؛ كما تتضمن برامج تدريب للشباب: في الزراعة والصناعة.";
    let words = |s: &str| s.split_whitespace().count();
    let sp = SentenceSplitter::new()
        .arabic_semicolon(false)
        .with_max_len(12, words);
    let doc = split_document(sentence, &sp);
    assert!(doc.segments().all(|s| words(&s.text) <= 12));
    assert!(doc.segments().all(|s| s.split == SplitLevel::Clause));
    assert_eq!(
        texts(&doc),
        [
            "أعلنت الوزارة اليوم عن خطة جديدة،",
            "تشمل بناء مدارس ومستشفيات في عدة محافظات، وتهدف إلى تحسين الخدمات؛",
            "كما تتضمن برامج تدريب للشباب: في الزراعة والصناعة.",
        ]
    );
}

#[test]
fn vowelled_arabic_with_and_without_diacritics_removal() {
    // Fully vowelled, with tatweel in one word and shadda typed before its fatha.
    let vowelled = "ذَهَبَ الوَلَدُ إِلَى المَدْرَسَةِ. هَلْ قَرَأَ الكِتـَـابَ؟ رَبِّ زِدْنِي عِلْمًا.";
    let default = Normalization::default().normalize(vowelled);
    assert_eq!(
        default,
        "ذَهَبَ الوَلَدُ إِلَى المَدْرَسَةِ. هَلْ قَرَأَ الكِتَابَ؟ رَبِّ زِدْنِي عِلْمًا."
    );
    let stripped = Normalization::strip_diacritics().normalize(vowelled);
    assert_eq!(
        stripped,
        "ذهب الولد إلى المدرسة. هل قرأ الكتاب؟ رب زدني علما."
    );
    assert_eq!(Normalization::none().normalize(vowelled), vowelled);

    // NFC puts shadda (ccc 33) after fatha (ccc 30); `none` leaves the typed order.
    let shadda_first = "رَب\u{0651}\u{064E}";
    assert_eq!(
        Normalization::default().normalize(shadda_first),
        "رَب\u{064E}\u{0651}"
    );
    assert_eq!(Normalization::none().normalize(shadda_first), shadda_first);

    for text in [vowelled, default.as_str(), stripped.as_str()] {
        let doc = split_document(text, &SentenceSplitter::new());
        assert_eq!(doc.num_segments(), 3, "{text}");
        assert_eq!(doc.join(|s| s.text.clone()), text);
    }
}
