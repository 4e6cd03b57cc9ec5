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

/// The band of one row of the edit distance matrix: columns `lo..hi`, stored from `start` in
/// [`BeamScratch`]'s flat buffers.
#[derive(Clone, Copy, Debug)]
struct Band {
    start: usize,
    lo: usize,
    hi: usize,
}

/// The beam edit distance's matrix, kept to the band that `lib_ter` visits: row `i` holds
/// columns `lo..hi` only, every other cell reads as `(INFINITY, Undef)`, the value `lib_ter`
/// initialises its full matrix with. One scratch is reused for all the calls of one segment,
/// so no per-call allocation grows with `n_h × n_r`.
#[derive(Debug, Default)]
struct BeamScratch {
    cost: Vec<i64>,
    op: Vec<Op>,
    rows: Vec<Band>,
}

impl BeamScratch {
    /// Cost of cell `(i, j)`; `INFINITY` outside row `i`'s band.
    #[inline]
    fn cost(&self, i: usize, j: usize) -> i64 {
        let b = self.rows[i];
        if b.lo <= j && j < b.hi {
            self.cost[b.start + j - b.lo]
        } else {
            INFINITY
        }
    }

    /// Operation of cell `(i, j)`; `Undef` outside row `i`'s band.
    #[inline]
    fn op(&self, i: usize, j: usize) -> Op {
        let b = self.rows[i];
        if b.lo <= j && j < b.hi {
            self.op[b.start + j - b.lo]
        } else {
            Op::Undef
        }
    }

    /// Appends a row whose band is `lo..hi`, every cell `(INFINITY, Undef)`.
    fn push_row(&mut self, lo: usize, hi: usize) {
        let start = self.cost.len();
        self.cost.resize(start + (hi - lo), INFINITY);
        self.op.resize(start + (hi - lo), Op::Undef);
        self.rows.push(Band { start, lo, hi });
    }

    /// `BeamEditDistance._edit_distance` without its prefix cache (the cache only saves work:
    /// rows computed for a shared prefix of equally long hypotheses are identical). Fills the
    /// band of the matrix and returns the edit distance; [`BeamScratch::trace`] reads the path.
    fn edit_distance(&mut self, words_h: &[&str], words_r: &[&str]) -> i64 {
        let n_h = words_h.len();
        let n_r = words_r.len();
        self.cost.clear();
        self.op.clear();
        self.rows.clear();
        // first row: one insertion per reference word
        self.push_row(0, n_r + 1);
        for (j, c) in self.cost.iter_mut().enumerate() {
            *c = j as i64 * COST_INS;
        }
        self.op.fill(Op::Ins);
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
            // an empty range (`range(min_j, max_j)` with max_j <= min_j) visits nothing
            let max_j = max_j.max(min_j);
            self.push_row(min_j, max_j);
            let start = self.rows[i].start;
            let word_h = words_h[i - 1];
            for j in min_j..max_j {
                let k = start + j - min_j;
                if j == 0 {
                    self.cost[k] = self.cost(i - 1, 0) + COST_DEL;
                    self.op[k] = Op::Del;
                } else {
                    let (cost_sub, op_sub) = if word_h == words_r[j - 1] {
                        (0, Op::Nop)
                    } else {
                        (COST_SUB, Op::Sub)
                    };
                    let left = if j > min_j {
                        self.cost[k - 1]
                    } else {
                        INFINITY
                    };
                    let ops = [
                        (self.cost(i - 1, j - 1) + cost_sub, op_sub),
                        (self.cost(i - 1, j) + COST_DEL, Op::Del),
                        (left + COST_INS, Op::Ins),
                    ];
                    let (mut best, mut best_op) = (INFINITY, Op::Undef);
                    for (cost, op) in ops {
                        if best > cost {
                            (best, best_op) = (cost, op);
                        }
                    }
                    self.cost[k] = best;
                    self.op[k] = best_op;
                }
            }
        }
        self.cost(n_h, n_r)
    }

    /// The operations on the path to the last cell of the matrix [`Self::edit_distance`]
    /// filled, first to last.
    fn trace(&self) -> Vec<Op> {
        let mut trace = Vec::new();
        let mut i = self.rows.len() - 1;
        let mut j = self.rows[i].hi - 1;
        while i > 0 || j > 0 {
            let op = self.op(i, j);
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
        trace
    }
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
        // only runs that start at most MAX_SHIFT_DIST words apart (same order as lib_ter's
        // full loop, which skips the others)
        let r_lo = start_h.saturating_sub(MAX_SHIFT_DIST);
        let r_hi = n_r.min(start_h + MAX_SHIFT_DIST + 1);
        for start_r in r_lo..r_hi {
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
    scratch: &mut BeamScratch,
) -> (i64, Vec<&'a str>) {
    let pre_score = scratch.edit_distance(words_h, words_r);
    let (align, ref_err, hyp_err) = trace_to_alignment(&scratch.trace());
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
            let gain = pre_score - scratch.edit_distance(&shifted, words_r);
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
    let mut scratch = BeamScratch::default();
    loop {
        let (delta, new_input) = best_shift(&input, words_ref, &mut checked, &mut scratch);
        if checked >= MAX_SHIFT_CANDIDATES || delta <= 0 {
            break;
        }
        shifts += 1;
        input = new_input;
    }
    let edit_distance = scratch.edit_distance(&input, words_ref);
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

    /// The previous implementation: `lib_ter`'s full `(n_h + 1) × (n_r + 1)` matrix.
    fn full_matrix_edit_distance(words_h: &[&str], words_r: &[&str]) -> (i64, Vec<Op>) {
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

    /// A small deterministic generator (xorshift64*), enough to vary the inputs.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
        }
    }

    /// The banded matrix gives the full matrix's distance and path, for hypotheses much
    /// shorter, much longer and about as long as the reference (the beam widens with the
    /// length ratio), one scratch reused across all calls.
    #[test]
    fn banded_matrix_equals_full_matrix() {
        const VOCAB: [&str; 6] = ["a", "b", "c", "d", "e", "f"];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut scratch = BeamScratch::default();
        let mut cases = 0;
        for &(n_h, n_r) in &[
            (0, 0),
            (0, 5),
            (5, 0),
            (1, 1),
            (1, 200),
            (200, 1),
            (3, 180),
            (180, 3),
            (30, 31),
            (60, 90),
            (90, 60),
            (120, 120),
            (140, 20),
            (20, 140),
            (77, 400),
        ] {
            for round in 0..6 {
                let vocab = 2 + round % 5;
                let r: Vec<&str> = (0..n_r).map(|_| VOCAB[rng.below(vocab)]).collect();
                let h: Vec<&str> = if round % 2 == 0 && n_h <= n_r {
                    // a noisy copy of the reference prefix, so the path stays near the diagonal
                    (0..n_h)
                        .map(|k| if rng.below(5) == 0 { "x" } else { r[k] })
                        .collect()
                } else {
                    (0..n_h).map(|_| VOCAB[rng.below(vocab)]).collect()
                };
                let want = full_matrix_edit_distance(&h, &r);
                let got = scratch.edit_distance(&h, &r);
                assert_eq!(got, want.0, "distance, n_h {n_h} n_r {n_r} round {round}");
                assert_eq!(scratch.trace(), want.1, "trace, n_h {n_h} n_r {n_r}");
                cases += 1;
            }
        }
        assert_eq!(cases, 90);
    }

    /// The matrix holds the band only: a 7,000-word segment needs a few MB, not
    /// `7,001² × 16` bytes.
    #[test]
    fn long_segment_matrix_stays_small() {
        let r: Vec<String> = (0..7000).map(|k| format!("w{}", k % 97)).collect();
        let r: Vec<&str> = r.iter().map(String::as_str).collect();
        let mut h = r.clone();
        h.swap(10, 20);
        h.remove(3000);
        let mut scratch = BeamScratch::default();
        // two substitutions (the swap) and one deletion
        assert_eq!(scratch.edit_distance(&h, &r), 3);
        assert!(
            scratch.cost.len() < 60 * 7001,
            "{} cells",
            scratch.cost.len()
        );
    }
}
