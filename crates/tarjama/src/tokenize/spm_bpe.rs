//! SentencePiece BPE models (`sentencepiece.bpe.model` of M2M100, NLLB, XLM-R): segmentation
//! with the exact rules of Google's C++ library (sentencepiece 0.2, `bpe_model.cc`
//! `Model::SampleEncode` without dropout, and the unknown-piece handling of
//! `sentencepiece_processor.cc`).
//!
//! Normalization and piece decoding do not depend on the model type; they are
//! [`SentencePieceModel`]'s.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::path::Path;

use super::files::{read_model_proto, tok_err};
use super::protobuf::{ModelProto, PieceType};
use super::sentencepiece::{output_pieces, Segment, SentencePieceModel};
use crate::Result;

/// A loaded SentencePiece BPE model.
#[derive(Debug, Clone)]
pub struct SentencePieceBpe {
    /// Normalizer and decoder (the same model read as unigram: those parts are model-agnostic).
    text: SentencePieceModel,
    /// NORMAL, USER_DEFINED and UNUSED pieces → (id, score, kind): what merges may produce.
    pieces: HashMap<String, (u32, f32, PieceType)>,
    /// CONTROL, UNKNOWN and BYTE pieces.
    reserved: HashMap<String, u32>,
    /// USER_DEFINED pieces, matched whole before splitting into characters.
    user_defined: Vec<String>,
    unk_id: u32,
    byte_fallback: bool,
}

/// A candidate merge of two adjacent symbols, ordered as `bpe_model.cc`'s agenda: higher score
/// first, then the leftmost.
#[derive(Debug, Clone, Copy)]
struct Pair {
    left: usize,
    right: usize,
    score: f32,
    size: usize,
}

impl PartialEq for Pair {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Pair {}

impl PartialOrd for Pair {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Pair {
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .partial_cmp(&other.score)
            .unwrap_or(Ordering::Equal)
            .then_with(|| other.left.cmp(&self.left))
    }
}

/// One symbol of the linked list the merges work on: a byte range of the normalized text.
#[derive(Debug, Clone, Copy)]
struct Symbol {
    prev: Option<usize>,
    next: Option<usize>,
    freeze: bool,
    start: usize,
    len: usize,
}

impl SentencePieceBpe {
    /// Reads a `.model` file. Errors name the file: unreadable, not a SentencePiece model, or
    /// not a BPE model.
    pub fn from_file(path: &Path) -> Result<Self> {
        let proto = read_model_proto(path)?;
        Self::from_proto(proto).map_err(|e| tok_err(path, e))
    }

    /// Builds the model from a parsed `ModelProto` of type BPE (2), with the checks
    /// SentencePiece makes on load. Errors are plain descriptions.
    pub fn from_proto(proto: ModelProto) -> std::result::Result<Self, String> {
        if proto.trainer_spec.model_type != 2 {
            return Err(format!(
                "not a BPE SentencePiece model (model type {})",
                proto.trainer_spec.model_type
            ));
        }
        let mut pieces = HashMap::new();
        let mut reserved = HashMap::new();
        let mut user_defined = Vec::new();
        let mut unk_id = None;
        for (i, p) in proto.pieces.iter().enumerate() {
            let id = u32::try_from(i).map_err(|_| "too many pieces".to_string())?;
            match p.kind {
                PieceType::Normal | PieceType::UserDefined | PieceType::Unused => {
                    pieces.insert(p.piece.clone(), (id, p.score, p.kind));
                    if p.kind == PieceType::UserDefined {
                        user_defined.push(p.piece.clone());
                    }
                }
                _ => {
                    reserved.insert(p.piece.clone(), id);
                    if p.kind == PieceType::Unknown {
                        unk_id = Some(id);
                    }
                }
            }
        }
        let unk_id = unk_id.ok_or_else(|| "the model defines no <unk> piece".to_string())?;
        let byte_fallback = proto.trainer_spec.byte_fallback;
        let mut as_unigram = proto;
        as_unigram.trainer_spec.model_type = 1;
        let text = SentencePieceModel::from_proto(as_unigram)?;
        Ok(SentencePieceBpe {
            text,
            pieces,
            reserved,
            user_defined,
            unk_id,
            byte_fallback,
        })
    }

    /// `PieceToId`: reserved pieces first, then the others, else the unknown id.
    pub fn piece_to_id(&self, piece: &str) -> u32 {
        self.reserved
            .get(piece)
            .copied()
            .or_else(|| self.pieces.get(piece).map(|p| p.0))
            .unwrap_or(self.unk_id)
    }

    /// The text after SentencePiece normalization (charsmap, whitespace rules, `▁`).
    pub fn normalize(&self, text: &str) -> String {
        self.text.normalize(text)
    }

    /// `Encode(text, out_type=str)`: the pieces of `text`.
    pub fn encode(&self, text: &str) -> Vec<String> {
        let normalized = self.normalize(text);
        let segments = self.segment(&normalized).into_iter().map(|piece| Segment {
            piece,
            unknown: self.piece_to_id(piece) == self.unk_id,
            control: false,
        });
        output_pieces(segments, self.byte_fallback)
    }

    /// `DecodePieces`: see [`SentencePieceModel::decode_pieces`].
    pub fn decode_pieces<S: AsRef<str>>(&self, pieces: &[S]) -> String {
        self.text.decode_pieces(pieces)
    }

    /// Length of the symbol at the start of `text`: the longest user-defined piece there
    /// (frozen), else one character.
    fn prefix_match(&self, text: &str) -> (usize, bool) {
        let user = self
            .user_defined
            .iter()
            .filter(|u| text.starts_with(u.as_str()))
            .map(String::len)
            .max();
        match user {
            Some(len) => (len, true),
            None => (text.chars().next().map_or(1, char::len_utf8), false),
        }
    }

    /// BPE merges over the characters of `normalized`, highest-scoring pair first, then
    /// unused pieces split back into the pieces they were merged from.
    fn segment<'a>(&self, normalized: &'a str) -> Vec<&'a str> {
        let mut symbols: Vec<Symbol> = Vec::new();
        let mut pos = 0;
        while pos < normalized.len() {
            let (len, freeze) = self.prefix_match(&normalized[pos..]);
            let index = symbols.len();
            symbols.push(Symbol {
                prev: index.checked_sub(1),
                next: (pos + len < normalized.len()).then_some(index + 1),
                freeze,
                start: pos,
                len,
            });
            pos += len;
        }
        if symbols.is_empty() {
            return Vec::new();
        }
        let text = |s: &Symbol| &normalized[s.start..s.start + s.len];
        let mut agenda: BinaryHeap<Pair> = BinaryHeap::new();
        // merged piece → the two pieces it came from, for unused pieces.
        let mut rev_merge: HashMap<&'a str, (&'a str, &'a str)> = HashMap::new();
        let mut add_pair = |left: Option<usize>,
                            right: Option<usize>,
                            symbols: &[Symbol],
                            agenda: &mut BinaryHeap<Pair>| {
            let (Some(l), Some(r)) = (left, right) else {
                return;
            };
            let (ls, rs) = (symbols[l], symbols[r]);
            if ls.freeze || rs.freeze {
                return;
            }
            // Adjacent symbols are contiguous in the text.
            let merged = &normalized[ls.start..ls.start + ls.len + rs.len];
            let Some(&(_, score, kind)) = self.pieces.get(merged) else {
                return;
            };
            agenda.push(Pair {
                left: l,
                right: r,
                score,
                size: merged.len(),
            });
            if kind == PieceType::Unused {
                rev_merge.insert(merged, (text(&ls), text(&rs)));
            }
        };
        for i in 1..symbols.len() {
            add_pair(Some(i - 1), Some(i), &symbols, &mut agenda);
        }
        while let Some(top) = agenda.pop() {
            let (l, r) = (symbols[top.left], symbols[top.right]);
            // The pair is gone when either side was merged away or has grown since.
            if l.len == 0 || r.len == 0 || l.len + r.len != top.size {
                continue;
            }
            symbols[top.left].len += r.len;
            symbols[top.left].next = r.next;
            if let Some(n) = r.next {
                symbols[n].prev = Some(top.left);
            }
            symbols[top.right].len = 0;
            let left = symbols[top.left];
            add_pair(left.prev, Some(top.left), &symbols, &mut agenda);
            add_pair(Some(top.left), left.next, &symbols, &mut agenda);
        }
        let mut out = Vec::new();
        let mut index = Some(0);
        while let Some(i) = index {
            self.resegment(text(&symbols[i]), &rev_merge, &mut out);
            index = symbols[i].next;
        }
        out
    }

    fn resegment<'a>(
        &self,
        piece: &'a str,
        rev_merge: &HashMap<&'a str, (&'a str, &'a str)>,
        out: &mut Vec<&'a str>,
    ) {
        let unused = matches!(self.pieces.get(piece), Some(&(_, _, PieceType::Unused)));
        match rev_merge.get(piece) {
            Some(&(a, b)) if unused => {
                self.resegment(a, rev_merge, out);
                self.resegment(b, rev_merge, out);
            }
            _ => out.push(piece),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenize::protobuf::{NormalizerSpec, ProtoPiece, TrainerSpec};

    fn model(pieces: &[(&str, f32, PieceType)]) -> SentencePieceBpe {
        let trainer_spec = TrainerSpec {
            model_type: 2,
            ..TrainerSpec::default()
        };
        SentencePieceBpe::from_proto(ModelProto {
            pieces: pieces
                .iter()
                .map(|&(p, s, k)| ProtoPiece {
                    piece: p.into(),
                    score: s,
                    kind: k,
                })
                .collect(),
            trainer_spec,
            normalizer_spec: NormalizerSpec::default(),
            denormalizer_spec: None,
        })
        .unwrap()
    }

    #[test]
    fn merges_best_pairs_first_and_merges_unknown_runs() {
        use PieceType::*;
        let m = model(&[
            ("<unk>", 0.0, Unknown),
            ("<s>", 0.0, Control),
            ("</s>", 0.0, Control),
            ("ab", -0.0, Normal),
            ("▁a", -1.0, Normal),
            ("abc", -2.0, Normal),
            ("▁", -3.0, Normal),
            ("a", -4.0, Normal),
            ("b", -5.0, Normal),
            ("c", -6.0, Normal),
            ("<X>", 0.0, UserDefined),
        ]);
        // "ab" (score 0) beats "▁a" (-1): ▁ + ab, then ab + c.
        assert_eq!(m.encode("abc"), vec!["▁", "abc"]);
        assert_eq!(m.encode("a"), vec!["▁a"]);
        assert_eq!(m.encode("a☃☃b"), vec!["▁a", "☃☃", "b"]);
        // User-defined pieces are kept whole and never merged.
        assert_eq!(m.encode("ab<X>c"), vec!["▁", "ab", "<X>", "c"]);
        assert_eq!(m.piece_to_id("abc"), 5);
        assert_eq!(m.piece_to_id("zz"), 0);
        assert_eq!(m.decode_pieces(&["▁", "abc", "<X>", "c"]), "abc<X>c");
    }

    #[test]
    fn rejects_unigram_models() {
        let err = SentencePieceBpe::from_proto(ModelProto::default()).unwrap_err();
        assert!(err.contains("not a BPE"), "{err}");
    }
}
