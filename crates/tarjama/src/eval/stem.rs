//! The Porter stemmer that rouge-score uses with `use_stemmer=True`: NLTK's
//! `nltk.stem.porter.PorterStemmer` in its default `NLTK_EXTENSIONS` mode.
//!
//! Words are handled as sequences of Unicode scalar values, as Python strings are.

/// `PorterStemmer.pool` in NLTK_EXTENSIONS mode: irregular forms and their stems.
const IRREGULAR: &[(&str, &str)] = &[
    ("sky", "sky"),
    ("skies", "sky"),
    ("dying", "die"),
    ("lying", "lie"),
    ("tying", "tie"),
    ("news", "news"),
    ("innings", "inning"),
    ("inning", "inning"),
    ("outings", "outing"),
    ("outing", "outing"),
    ("cannings", "canning"),
    ("canning", "canning"),
    ("howe", "howe"),
    ("proceed", "proceed"),
    ("exceed", "exceed"),
    ("succeed", "succeed"),
];

type Word = Vec<char>;

fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u')
}

/// Consonant flags for every position (`PorterStemmer._consonant_flags`): a `y` is a
/// consonant at the start of a word or after a vowel.
fn consonant_flags(w: &[char]) -> Vec<bool> {
    let mut flags: Vec<bool> = Vec::with_capacity(w.len());
    for (i, &c) in w.iter().enumerate() {
        let f = if is_vowel(c) {
            false
        } else if c == 'y' {
            i == 0 || !flags[i - 1]
        } else {
            true
        };
        flags.push(f);
    }
    flags
}

fn is_consonant(w: &[char], i: usize) -> bool {
    consonant_flags(&w[..=i])[i]
}

/// `PorterStemmer._measure`: the number of vowel-consonant sequences.
fn measure(stem: &[char]) -> usize {
    let flags = consonant_flags(stem);
    flags.windows(2).filter(|p| !p[0] && p[1]).count()
}

fn contains_vowel(stem: &[char]) -> bool {
    consonant_flags(stem).iter().any(|&c| !c)
}

fn ends_double_consonant(w: &[char]) -> bool {
    let n = w.len();
    n >= 2 && w[n - 1] == w[n - 2] && is_consonant(w, n - 1)
}

/// `PorterStemmer._ends_cvc` in NLTK_EXTENSIONS mode (which also accepts a two-letter
/// vowel-consonant word).
fn ends_cvc(w: &[char]) -> bool {
    let n = w.len();
    (n >= 3
        && is_consonant(w, n - 3)
        && !is_consonant(w, n - 2)
        && is_consonant(w, n - 1)
        && !matches!(w[n - 1], 'w' | 'x' | 'y'))
        || (n == 2 && !is_consonant(w, 0) && is_consonant(w, 1))
}

fn ends_with(w: &[char], suffix: &str) -> bool {
    let s: Vec<char> = suffix.chars().collect();
    w.len() >= s.len() && w[w.len() - s.len()..] == s[..]
}

/// `word` without its last `n` characters.
fn drop_last(w: &[char], n: usize) -> Word {
    w[..w.len() - n].to_vec()
}

fn concat(stem: &[char], tail: &str) -> Word {
    let mut out = stem.to_vec();
    out.extend(tail.chars());
    out
}

/// Condition of a suffix rule, evaluated on the stem left after removing the suffix.
type Cond<'a> = &'a dyn Fn(&[char]) -> bool;

/// A suffix rule: suffix, replacement, optional condition. The suffix `*d` stands for "ends
/// in a double consonant" (`PorterStemmer._apply_rule_list`).
type Rule<'a> = (&'a str, &'a str, Option<Cond<'a>>);

/// `PorterStemmer._apply_rule_list`: the first rule whose suffix matches decides; if its
/// condition fails the word is returned unchanged.
fn apply_rules(word: &[char], rules: &[Rule<'_>]) -> Word {
    for &(suffix, replacement, cond) in rules {
        if suffix == "*d" && ends_double_consonant(word) {
            let stem = drop_last(word, 2);
            return if cond.is_none_or(|c| c(&stem)) {
                concat(&stem, replacement)
            } else {
                word.to_vec()
            };
        }
        if ends_with(word, suffix) {
            let stem = drop_last(word, suffix.chars().count());
            return if cond.is_none_or(|c| c(&stem)) {
                concat(&stem, replacement)
            } else {
                word.to_vec()
            };
        }
    }
    word.to_vec()
}

fn positive_measure(stem: &[char]) -> bool {
    measure(stem) > 0
}

fn step1a(word: &[char]) -> Word {
    if ends_with(word, "ies") && word.len() == 4 {
        return concat(&drop_last(word, 3), "ie");
    }
    apply_rules(
        word,
        &[
            ("sses", "ss", None),
            ("ies", "i", None),
            ("ss", "ss", None),
            ("s", "", None),
        ],
    )
}

fn step1b(word: &[char]) -> Word {
    if ends_with(word, "ied") {
        let tail = if word.len() == 4 { "ie" } else { "i" };
        return concat(&drop_last(word, 3), tail);
    }
    if ends_with(word, "eed") {
        let stem = drop_last(word, 3);
        return if measure(&stem) > 0 {
            concat(&stem, "ee")
        } else {
            word.to_vec()
        };
    }
    let mut intermediate: Option<Word> = None;
    for suffix in ["ed", "ing"] {
        if ends_with(word, suffix) {
            let stem = drop_last(word, suffix.len());
            if contains_vowel(&stem) {
                intermediate = Some(stem);
                break;
            }
        }
    }
    let Some(stem) = intermediate else {
        return word.to_vec();
    };
    let last = stem.last().copied().unwrap_or(' ');
    let last_s = last.to_string();
    let not_lsz = move |_: &[char]| !matches!(last, 'l' | 's' | 'z');
    let add_e = |s: &[char]| measure(s) == 1 && ends_cvc(s);
    apply_rules(
        &stem,
        &[
            ("at", "ate", None),
            ("bl", "ble", None),
            ("iz", "ize", None),
            ("*d", &last_s, Some(&not_lsz)),
            ("", "e", Some(&add_e)),
        ],
    )
}

fn step1c(word: &[char]) -> Word {
    let cond = |s: &[char]| s.len() > 1 && is_consonant(s, s.len() - 1);
    apply_rules(word, &[("y", "i", Some(&cond))])
}

fn step2(word: &[char]) -> Word {
    if ends_with(word, "alli") && positive_measure(&drop_last(word, 4)) {
        return step2(&concat(&drop_last(word, 4), "al"));
    }
    let pm: Cond<'_> = &positive_measure;
    let logi_word = word.to_vec();
    let logi = move |_: &[char]| {
        logi_word.len() >= 3 && positive_measure(&logi_word[..logi_word.len() - 3])
    };
    apply_rules(
        word,
        &[
            ("ational", "ate", Some(pm)),
            ("tional", "tion", Some(pm)),
            ("enci", "ence", Some(pm)),
            ("anci", "ance", Some(pm)),
            ("izer", "ize", Some(pm)),
            ("bli", "ble", Some(pm)),
            ("alli", "al", Some(pm)),
            ("entli", "ent", Some(pm)),
            ("eli", "e", Some(pm)),
            ("ousli", "ous", Some(pm)),
            ("ization", "ize", Some(pm)),
            ("ation", "ate", Some(pm)),
            ("ator", "ate", Some(pm)),
            ("alism", "al", Some(pm)),
            ("iveness", "ive", Some(pm)),
            ("fulness", "ful", Some(pm)),
            ("ousness", "ous", Some(pm)),
            ("aliti", "al", Some(pm)),
            ("iviti", "ive", Some(pm)),
            ("biliti", "ble", Some(pm)),
            ("fulli", "ful", Some(pm)),
            ("logi", "log", Some(&logi)),
        ],
    )
}

fn step3(word: &[char]) -> Word {
    let pm: Cond<'_> = &positive_measure;
    apply_rules(
        word,
        &[
            ("icate", "ic", Some(pm)),
            ("ative", "", Some(pm)),
            ("alize", "al", Some(pm)),
            ("iciti", "ic", Some(pm)),
            ("ical", "ic", Some(pm)),
            ("ful", "", Some(pm)),
            ("ness", "", Some(pm)),
        ],
    )
}

fn step4(word: &[char]) -> Word {
    let gt1 = |s: &[char]| measure(s) > 1;
    let m: Cond<'_> = &gt1;
    let ion = |s: &[char]| measure(s) > 1 && matches!(s.last(), Some('s' | 't'));
    apply_rules(
        word,
        &[
            ("al", "", Some(m)),
            ("ance", "", Some(m)),
            ("ence", "", Some(m)),
            ("er", "", Some(m)),
            ("ic", "", Some(m)),
            ("able", "", Some(m)),
            ("ible", "", Some(m)),
            ("ant", "", Some(m)),
            ("ement", "", Some(m)),
            ("ment", "", Some(m)),
            ("ent", "", Some(m)),
            ("ion", "", Some(&ion)),
            ("ou", "", Some(m)),
            ("ism", "", Some(m)),
            ("ate", "", Some(m)),
            ("iti", "", Some(m)),
            ("ous", "", Some(m)),
            ("ive", "", Some(m)),
            ("ize", "", Some(m)),
        ],
    )
}

fn step5a(word: &[char]) -> Word {
    if ends_with(word, "e") {
        let stem = drop_last(word, 1);
        let m = measure(&stem);
        if m > 1 || (m == 1 && !ends_cvc(&stem)) {
            return stem;
        }
    }
    word.to_vec()
}

fn step5b(word: &[char]) -> Word {
    let whole = word.to_vec();
    let cond = move |_: &[char]| measure(&whole[..whole.len() - 1]) > 1;
    apply_rules(word, &[("ll", "l", Some(&cond))])
}

/// Stems one word like `nltk.stem.porter.PorterStemmer().stem(word)` (NLTK_EXTENSIONS mode,
/// lowercasing first).
pub fn porter_stem(word: &str) -> String {
    let lower = word.to_lowercase();
    if let Some((_, s)) = IRREGULAR.iter().find(|(w, _)| *w == lower) {
        return (*s).to_string();
    }
    if word.chars().count() <= 2 {
        return lower;
    }
    let w: Word = lower.chars().collect();
    let w = step1a(&w);
    let w = step1b(&w);
    let w = step1c(&w);
    let w = step2(&w);
    let w = step3(&w);
    let w = step4(&w);
    let w = step5a(&w);
    let w = step5b(&w);
    w.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_examples() {
        for (w, s) in [
            ("caresses", "caress"),
            ("ponies", "poni"),
            ("ties", "tie"),
            ("cats", "cat"),
            ("agreed", "agre"),
            ("plastered", "plaster"),
            ("motoring", "motor"),
            ("hopping", "hop"),
            ("falling", "fall"),
            ("filing", "file"),
            ("happy", "happi"),
            ("relational", "relat"),
            ("generalization", "gener"),
            ("dying", "die"),
            ("controlling", "control"),
            ("running", "run"),
        ] {
            assert_eq!(porter_stem(w), s, "{w}");
        }
    }
}
