//! TER as sacrebleu 2.6.0 computes it with its defaults (`sacrebleu.metrics.ter.TER`):
//! case-insensitive, no normalization, punctuation kept, no Asian-specific handling.
//! The shift search and the beam edit distance follow `sacrebleu.metrics.lib_ter`.

use super::py::{py, py_normalize_spaces, py_rstrip, py_split, Num};
use super::{CorpusMetric, SACREBLEU_VERSION};

const COST_INS: i64 = 1;
const COST_DEL: i64 = 1;
const COST_SUB: i64 = 1;
const MAX_SHIFT_SIZE: usize = 10;
const MAX_SHIFT_DIST: usize = 50;
const BEAM_WIDTH: usize = 25;
const MAX_SHIFT_CANDIDATES: usize = 1000;
const INFINITY: i64 = 10_000_000_000_000_000;

/// Edit operations as `lib_ter` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Ins,
    Del,
    Nop,
    Sub,
    Undef,
}

/// TER scorer with sacrebleu's default settings (`sacrebleu.metrics.ter.TER()`).
#[derive(Clone, Debug, Default)]
pub struct Ter {
    /// Keep case (`case:mixed`); sacrebleu's default lowercases (`case:lc`).
    pub case_sensitive: bool,
}

/// A TER score (`sacrebleu.metrics.ter.TERScore`).
#[derive(Clone, Debug, PartialEq)]
pub struct TerScore {
    /// TER, in percent.
    pub score: f64,
    /// Total edits (shifts, insertions, deletions, substitutions).
    pub num_edits: f64,
    /// Sum over segments of the average reference length.
    pub ref_length: f64,
}

/// `BeamEditDistance._edit_distance` without its prefix cache (the cache only saves work:
/// rows computed for a shared prefix of equally long hypotheses are identical).
fn beam_edit_distance(words_h: &[&str], words_r: &[&str]) -> (i64, Vec<Op>) {
    let n_h = words_h.len();
    let n_r = words_r.len();
    let mut dist: Vec<Vec<(i64, Op)>> = Vec::with_capacity(n_h + 1);
    dist.push((0..=n_r).map(|j| (j as i64 * COST_INS, Op::Ins)).collect());
    for _ in 0..n_h {
        dist.push(vec![(INFINITY, Op::Undef); n_r + 1]);
    }
    let length_ratio = if n_h > 0 {
        n_r as f64 / n_h as f64
    } else {
        1.0
    };
    let beam_width = if (BEAM_WIDTH as f64) < length_ratio / 2.0 {
        (length_ratio / 2.0 + BEAM_WIDTH as f64).ceil() as i64
    } else {
        BEAM_WIDTH as i64
    };
    for i in 1..=n_h {
        let pseudo_diag = (i as f64 * length_ratio).floor() as i64;
        let min_j = (pseudo_diag - beam_width).max(0) as usize;
        let mut max_j = (n_r as i64 + 1).min(pseudo_diag + beam_width).max(0) as usize;
        if i == n_h {
            max_j = n_r + 1;
        }
        for j in min_j..max_j {
            if j == 0 {
                dist[i][0] = (dist[i - 1][0].0 + COST_DEL, Op::Del);
            } else {
                let (cost_sub, op_sub) = if words_h[i - 1] == words_r[j - 1] {
                    (0, Op::Nop)
                } else {
                    (COST_SUB, Op::Sub)
                };
                let ops = [
                    (dist[i - 1][j - 1].0 + cost_sub, op_sub),
                    (dist[i - 1][j].0 + COST_DEL, Op::Del),
                    (dist[i][j - 1].0 + COST_INS, Op::Ins),
                ];
                for (cost, op) in ops {
                    if dist[i][j].0 > cost {
                        dist[i][j] = (cost, op);
                    }
                }
            }
        }
    }
    let mut trace = Vec::new();
    let (mut i, mut j) = (n_h, n_r);
    while i > 0 || j > 0 {
        let op = dist[i][j].1;
        trace.push(op);
        match op {
            Op::Sub | Op::Nop => {
                i -= 1;
                j -= 1;
            }
            Op::Ins => j -= 1,
            Op::Del => i -= 1,
            Op::Undef => unreachable!("undefined cell on the edit distance path"),
        }
    }
    trace.reverse();
    (dist[n_h][n_r].0, trace)
}

/// `lib_ter.trace_to_alignment` on the flipped trace: reference position → hypothesis
/// position, and error flags for reference and hypothesis words.
fn trace_to_alignment(trace: &[Op]) -> (Vec<i64>, Vec<u8>, Vec<u8>) {
    let mut pos_hyp: i64 = -1;
    let mut pos_ref: i64 = -1;
    let mut align = Vec::new();
    let mut ref_err = Vec::new();
    let mut hyp_err = Vec::new();
    for &op in trace {
        // flip insertions and deletions (rewrite the reference into the hypothesis)
        let op = match op {
            Op::Ins => Op::Del,
            Op::Del => Op::Ins,
            o => o,
        };
        match op {
            Op::Nop | Op::Sub => {
                pos_hyp += 1;
                pos_ref += 1;
                align.push(pos_hyp);
                let e = u8::from(op == Op::Sub);
                hyp_err.push(e);
                ref_err.push(e);
            }
            Op::Ins => {
                pos_hyp += 1;
                hyp_err.push(1);
            }
            Op::Del => {
                pos_ref += 1;
                align.push(pos_hyp);
                ref_err.push(1);
            }
            Op::Undef => unreachable!("undefined operation in trace"),
        }
        debug_assert_eq!(align.len() as i64, pos_ref + 1);
    }
    (align, ref_err, hyp_err)
}

/// Python slice `v[a:b]` with clamping.
fn slice<T>(v: &[T], a: usize, b: usize) -> &[T] {
    let a = a.min(v.len());
    let b = b.min(v.len()).max(a);
    &v[a..b]
}

/// `lib_ter._perform_shift`: move `words[start..start+length]` to `target`.
fn perform_shift<'a>(
    words: &[&'a str],
    start: usize,
    length: usize,
    target: usize,
) -> Vec<&'a str> {
    let mut out = Vec::with_capacity(words.len());
    if target < start {
        out.extend_from_slice(slice(words, 0, target));
        out.extend_from_slice(slice(words, start, start + length));
        out.extend_from_slice(slice(words, target, start));
        out.extend_from_slice(slice(words, start + length, usize::MAX));
    } else if target > start + length {
        out.extend_from_slice(slice(words, 0, start));
        out.extend_from_slice(slice(words, start + length, target));
        out.extend_from_slice(slice(words, start, start + length));
        out.extend_from_slice(slice(words, target, usize::MAX));
    } else {
        out.extend_from_slice(slice(words, 0, start));
        out.extend_from_slice(slice(words, start + length, length + target));
        out.extend_from_slice(slice(words, start, start + length));
        out.extend_from_slice(slice(words, length + target, usize::MAX));
    }
    out
}

/// `lib_ter._find_shifted_pairs`: matching word runs `(h_start, r_start, length)`.
fn shifted_pairs(words_h: &[&str], words_r: &[&str]) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    let (n_h, n_r) = (words_h.len(), words_r.len());
    for start_h in 0..n_h {
        for start_r in 0..n_r {
            if start_r.abs_diff(start_h) > MAX_SHIFT_DIST {
                continue;
            }
            let mut length = 0;
            while words_h[start_h + length] == words_r[start_r + length] && length < MAX_SHIFT_SIZE
            {
                length += 1;
                out.push((start_h, start_r, length));
                if n_h == start_h + length || n_r == start_r + length {
                    break;
                }
            }
        }
    }
    out
}

/// Candidate ranking of `lib_ter._shift`: higher gain, then longer, then earlier start,
/// then earlier target, then the shifted words themselves (Python tuple order).
type Candidate<'a> = (i64, usize, i64, i64, Vec<&'a str>);

/// `lib_ter._shift`: the best shift of the hypothesis, or none.
fn best_shift<'a>(
    words_h: &[&'a str],
    words_r: &[&str],
    checked: &mut usize,
) -> (i64, Vec<&'a str>) {
    let (pre_score, inv_trace) = beam_edit_distance(words_h, words_r);
    let (align, ref_err, hyp_err) = trace_to_alignment(&inv_trace);
    let mut best: Option<Candidate<'a>> = None;
    for (start_h, start_r, length) in shifted_pairs(words_h, words_r) {
        if slice(&hyp_err, start_h, start_h + length)
            .iter()
            .all(|&e| e == 0)
        {
            continue;
        }
        if slice(&ref_err, start_r, start_r + length)
            .iter()
            .all(|&e| e == 0)
        {
            continue;
        }
        let a = align[start_r];
        if start_h as i64 <= a && a < (start_h + length) as i64 {
            continue;
        }
        let mut prev_idx: i64 = -1;
        for offset in -1i64..length as i64 {
            let pos = start_r as i64 + offset;
            let idx = if pos == -1 {
                0
            } else if (pos as usize) < align.len() {
                align[pos as usize] + 1
            } else {
                break;
            };
            if idx == prev_idx {
                continue;
            }
            prev_idx = idx;
            let shifted = perform_shift(words_h, start_h, length, idx as usize);
            let gain = pre_score - beam_edit_distance(&shifted, words_r).0;
            let cand: Candidate<'a> = (gain, length, -(start_h as i64), -idx, shifted);
            *checked += 1;
            if best.as_ref().is_none_or(|b| cand > *b) {
                best = Some(cand);
            }
        }
        if *checked >= MAX_SHIFT_CANDIDATES {
            break;
        }
    }
    match best {
        None => (0, words_h.to_vec()),
        Some((gain, _, _, _, shifted)) => (gain, shifted),
    }
}

/// `lib_ter.translation_edit_rate`: (edits, reference length).
pub fn translation_edit_rate(words_hyp: &[&str], words_ref: &[&str]) -> (i64, usize) {
    if words_ref.is_empty() {
        return (words_hyp.len() as i64, 0);
    }
    let mut shifts = 0;
    let mut input: Vec<&str> = words_hyp.to_vec();
    let mut checked = 0;
    loop {
        let (delta, new_input) = best_shift(&input, words_ref, &mut checked);
        if checked >= MAX_SHIFT_CANDIDATES || delta <= 0 {
            break;
        }
        shifts += 1;
        input = new_input;
    }
    let (edit_distance, _) = beam_edit_distance(&input, words_ref);
    (shifts + edit_distance, words_ref.len())
}

impl Ter {
    /// `TercomTokenizer.__call__` with default settings, applied to the right-stripped line.
    fn preprocess(&self, sent: &str) -> String {
        let s = py_rstrip(sent);
        if s.is_empty() {
            return String::new();
        }
        if self.case_sensitive {
            py_normalize_spaces(s)
        } else {
            py_normalize_spaces(&s.to_lowercase())
        }
    }

    fn segment(&self, hyp: &str, refs: &[&str]) -> Vec<f64> {
        let hyp = self.preprocess(hyp);
        let words_hyp: Vec<&str> = py_split(&hyp).collect();
        let mut ref_lengths = 0usize;
        let mut best_edits = i64::MAX;
        for r in refs {
            let r = self.preprocess(r);
            let words_ref: Vec<&str> = py_split(&r).collect();
            let (edits, len) = translation_edit_rate(&words_hyp, &words_ref);
            ref_lengths += len;
            best_edits = best_edits.min(edits);
        }
        vec![best_edits as f64, ref_lengths as f64 / refs.len() as f64]
    }

    /// Turns summed statistics into a [`TerScore`] (`TER._compute_score_from_stats`).
    pub fn score_from_totals(&self, stats: &[f64]) -> TerScore {
        TerScore {
            score: self.score_from_stats(&[py(stats[0]), py(stats[1])]).value(),
            num_edits: stats[0],
            ref_length: stats[1],
        }
    }

    /// Corpus TER (`TER.corpus_score`). `refs[k][i]` is reference stream `k`, line `i`.
    pub fn corpus_score(&self, hyps: &[String], refs: &[Vec<String>]) -> TerScore {
        let stats = self.segment_stats(hyps, refs);
        self.score_from_totals(&super::sum_stats(&stats))
    }

    /// Sentence TER (`TER.sentence_score`).
    pub fn sentence_score(&self, hyp: &str, refs: &[&str]) -> TerScore {
        self.score_from_totals(&self.segment(hyp, refs))
    }
}

impl CorpusMetric for Ter {
    fn name(&self) -> String {
        "TER".to_string()
    }

    /// `TERSignature`, e.g. `nrefs:1|case:lc|tok:tercom|norm:no|punct:yes|asian:no|version:2.6.0`.
    fn signature(&self, nrefs: usize) -> String {
        format!(
            "nrefs:{nrefs}|case:{}|tok:tercom|norm:no|punct:yes|asian:no|version:{SACREBLEU_VERSION}",
            if self.case_sensitive { "mixed" } else { "lc" }
        )
    }

    fn segment_stats(&self, hyps: &[String], refs: &[Vec<String>]) -> Vec<Vec<f64>> {
        hyps.iter()
            .enumerate()
            .map(|(i, h)| {
                let seg_refs: Vec<&str> = refs.iter().map(|r| r[i].as_str()).collect();
                self.segment(h, &seg_refs)
            })
            .collect()
    }

    fn score_from_stats(&self, stats: &[Num]) -> Num {
        let (total_edits, sum_ref_lengths) = (stats[0], stats[1]);
        let score = if sum_ref_lengths.value() > 0.0 {
            total_edits / sum_ref_lengths
        } else if total_edits.value() > 0.0 {
            py(1.0)
        } else {
            py(0.0)
        };
        py(100.0) * score
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_counts_as_one_edit() {
        let h: Vec<&str> = "d a b c".split(' ').collect();
        let r: Vec<&str> = "a b c d".split(' ').collect();
        assert_eq!(translation_edit_rate(&h, &r), (1, 4));
    }

    #[test]
    fn empty_reference() {
        assert_eq!(translation_edit_rate(&["a", "b"], &[]), (2, 0));
    }
}
