//! A SentencePiece unigram model in Rust: normalization, segmentation and piece decoding with
//! the exact rules of Google's C++ library (sentencepiece 0.2: `normalizer.cc`,
//! `unigram_model.cc` `EncodeOptimized`, `sentencepiece_processor.cc`).
//!
//! The `tokenizers` crate's `Precompiled` normalizer and `Unigram` model (what transformers'
//! `convert_slow_tokenizer` builds) are close but not identical to SentencePiece: `Precompiled`
//! maps grapheme clusters and takes the shortest rule where SentencePiece takes the longest
//! prefix rule, and `Unigram` lets control symbols such as `<s>` or byte pieces match text and
//! does not give user-defined symbols their bonus. Matching `MarianTokenizer` token for token
//! needs SentencePiece's own behaviour, so it is reimplemented here.

use std::collections::HashMap;

use super::protobuf::{ModelProto, NormalizerSpec, PieceType};

/// U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's visible space.
pub const SPACE_SYMBOL: &str = "\u{2581}";
const DEFAULT_UNK_SURFACE: &str = " \u{2047} ";
const UNK_PENALTY: f32 = 10.0;

/// SentencePiece's compiled character map: a Darts double-array trie over UTF-8 byte strings
/// whose values point into a blob of NUL-terminated replacement strings.
#[derive(Debug, Clone)]
struct CharsMap {
    trie: Vec<u32>,
    normalized: Vec<u8>,
}

impl CharsMap {
    fn parse(blob: &[u8]) -> Option<Self> {
        if blob.len() <= 4 {
            return None;
        }
        let trie_size = u32::from_le_bytes(blob[..4].try_into().ok()?) as usize;
        let rest = &blob[4..];
        if trie_size > rest.len() || !trie_size.is_multiple_of(4) {
            return None;
        }
        let trie = rest[..trie_size]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect();
        Some(CharsMap {
            trie,
            normalized: rest[trie_size..].to_vec(),
        })
    }

    /// Darts `commonPrefixSearch`, keeping only the longest match: `(match length, value)`.
    fn longest_prefix(&self, key: &[u8]) -> Option<(usize, usize)> {
        let offset = |u: u32| ((u >> 10) << ((u & (1 << 9)) >> 6)) as usize;
        let label = |u: u32| u & ((1 << 31) | 0xff);
        let has_leaf = |u: u32| (u >> 8) & 1 == 1;
        let value = |u: u32| (u & ((1 << 31) - 1)) as usize;

        let mut node = 0usize;
        let mut unit = *self.trie.first()?;
        node ^= offset(unit);
        let mut best = None;
        for (i, &c) in key.iter().enumerate() {
            node ^= c as usize;
            unit = *self.trie.get(node)?;
            if label(unit) != c as u32 {
                break;
            }
            node ^= offset(unit);
            if has_leaf(unit) {
                let v = value(*self.trie.get(node)?);
                best = Some((i + 1, v));
            }
        }
        best
    }

    /// The replacement string starting at `value` in the blob.
    fn replacement(&self, value: usize) -> &str {
        let tail = self.normalized.get(value..).unwrap_or(&[]);
        let end = tail.iter().position(|&b| b == 0).unwrap_or(tail.len());
        // The blob holds UTF-8 strings; a corrupt one is treated as empty.
        std::str::from_utf8(&tail[..end]).unwrap_or("")
    }
}

/// SentencePiece's `Normalizer`.
#[derive(Debug, Clone)]
struct Normalizer {
    spec: NormalizerSpec,
    treat_whitespace_as_suffix: bool,
    charsmap: Option<CharsMap>,
    /// User-defined symbols, matched before normalization and left as they are.
    user_defined: Vec<String>,
}

impl Normalizer {
    /// `Normalizer::NormalizePrefix`: the normalized form of the longest rule matching a prefix
    /// of `input`, and how many bytes of `input` it consumes.
    fn normalize_prefix<'a>(&'a self, input: &'a str) -> (&'a str, usize) {
        // User-defined symbols pass through unnormalized (longest match).
        if let Some(len) = self
            .user_defined
            .iter()
            .filter(|s| input.starts_with(s.as_str()))
            .map(|s| s.len())
            .max()
        {
            return (&input[..len], len);
        }
        if let Some(map) = &self.charsmap {
            if let Some((len, value)) = map.longest_prefix(input.as_bytes()) {
                // A rule keyed on a partial character cannot come from valid rules; guard anyway.
                if input.is_char_boundary(len) {
                    return (map.replacement(value), len);
                }
            }
        }
        let len = input.chars().next().map_or(0, char::len_utf8);
        (&input[..len], len)
    }

    /// `Normalizer::Normalize` (without the offset bookkeeping).
    fn normalize(&self, mut input: &str) -> String {
        let spec = &self.spec;
        let mut out = String::with_capacity(input.len() * 3);
        if spec.remove_extra_whitespaces {
            // Ignores heading spaces.
            while !input.is_empty() {
                let (norm, consumed) = self.normalize_prefix(input);
                if norm != " " {
                    break;
                }
                input = &input[consumed..];
            }
        }
        if input.is_empty() {
            return out;
        }
        let space = if spec.escape_whitespaces {
            SPACE_SYMBOL
        } else {
            " "
        };
        if !self.treat_whitespace_as_suffix && spec.add_dummy_prefix {
            out.push_str(space);
        }
        let mut is_prev_space = spec.remove_extra_whitespaces;
        while !input.is_empty() {
            let (norm, consumed) = self.normalize_prefix(input);
            let mut sp = norm;
            while is_prev_space && sp.starts_with(' ') {
                sp = &sp[1..];
            }
            if !sp.is_empty() {
                for c in sp.chars() {
                    if spec.escape_whitespaces && c == ' ' {
                        out.push_str(SPACE_SYMBOL);
                    } else {
                        out.push(c);
                    }
                }
                is_prev_space = sp.ends_with(' ');
            }
            input = &input[consumed..];
            if !spec.remove_extra_whitespaces {
                is_prev_space = false;
            }
        }
        if spec.remove_extra_whitespaces {
            while out.ends_with(space) {
                out.truncate(out.len() - space.len());
            }
        }
        if self.treat_whitespace_as_suffix && spec.add_dummy_prefix {
            out.push_str(space);
        }
        out
    }
}

/// A loaded SentencePiece unigram model.
#[derive(Debug, Clone)]
pub struct SentencePieceModel {
    pieces: Vec<(String, f32, PieceType)>,
    /// NORMAL, USER_DEFINED and UNUSED pieces: the ones segmentation may produce.
    trie_pieces: HashMap<String, u32>,
    /// CONTROL, UNKNOWN and BYTE pieces.
    reserved: HashMap<String, u32>,
    max_piece_len: usize,
    unk_id: u32,
    min_score: f32,
    max_score: f32,
    byte_fallback: bool,
    unk_surface: String,
    normalizer: Normalizer,
    denormalizer: Option<Normalizer>,
}

impl SentencePieceModel {
    /// Builds the model from a parsed `ModelProto`, with the checks SentencePiece makes when it
    /// loads one. Errors are plain descriptions; the caller adds the file name.
    pub fn from_proto(proto: ModelProto) -> std::result::Result<Self, String> {
        match proto.trainer_spec.model_type {
            1 => {}
            2 => return Err("BPE SentencePiece models are not supported (only unigram)".into()),
            3 => return Err("word SentencePiece models are not supported (only unigram)".into()),
            4 => return Err("char SentencePiece models are not supported (only unigram)".into()),
            t => return Err(format!("unknown SentencePiece model type {t}")),
        }
        if proto.pieces.is_empty() {
            return Err("the model has no pieces".into());
        }
        let mut trie_pieces = HashMap::new();
        let mut reserved = HashMap::new();
        let mut unk_id = None;
        let mut user_defined = Vec::new();
        let mut min_score = f32::MAX;
        // SentencePiece starts from FLT_MIN (the smallest positive float), not -FLT_MAX.
        let mut max_score = f32::MIN_POSITIVE;
        let mut max_piece_len = 0;
        for (i, p) in proto.pieces.iter().enumerate() {
            let id = u32::try_from(i).map_err(|_| "too many pieces".to_string())?;
            if p.piece.is_empty() {
                return Err("piece must not be empty".into());
            }
            let normal = matches!(
                p.kind,
                PieceType::Normal | PieceType::UserDefined | PieceType::Unused
            );
            let map = if normal {
                &mut trie_pieces
            } else {
                &mut reserved
            };
            if map.insert(p.piece.clone(), id).is_some() {
                return Err(format!("piece {:?} is defined twice", p.piece));
            }
            if normal {
                max_piece_len = max_piece_len.max(p.piece.len());
            }
            match p.kind {
                PieceType::UserDefined => user_defined.push(p.piece.clone()),
                PieceType::Unknown if unk_id.replace(id).is_some() => {
                    return Err("<unk> is defined twice".into());
                }
                PieceType::Byte => {
                    if !proto.trainer_spec.byte_fallback {
                        return Err(format!(
                            "byte piece {:?} found although byte_fallback is off",
                            p.piece
                        ));
                    }
                    if piece_to_byte(&p.piece).is_none() {
                        return Err(format!("{:?} is not a byte piece", p.piece));
                    }
                }
                PieceType::Normal => {
                    min_score = min_score.min(p.score);
                    max_score = max_score.max(p.score);
                }
                _ => {}
            }
        }
        let unk_id = unk_id.ok_or_else(|| "the model defines no <unk> piece".to_string())?;
        let charsmap = if proto.normalizer_spec.precompiled_charsmap.is_empty() {
            None
        } else {
            Some(
                CharsMap::parse(&proto.normalizer_spec.precompiled_charsmap)
                    .ok_or_else(|| "malformed precompiled_charsmap".to_string())?,
            )
        };
        let denormalizer = match &proto.denormalizer_spec {
            Some(spec) if !spec.precompiled_charsmap.is_empty() => Some(Normalizer {
                spec: spec.clone(),
                treat_whitespace_as_suffix: false,
                charsmap: Some(
                    CharsMap::parse(&spec.precompiled_charsmap)
                        .ok_or_else(|| "malformed denormalizer charsmap".to_string())?,
                ),
                user_defined: Vec::new(),
            }),
            _ => None,
        };
        Ok(SentencePieceModel {
            pieces: proto
                .pieces
                .iter()
                .map(|p| (p.piece.clone(), p.score, p.kind))
                .collect(),
            trie_pieces,
            reserved,
            max_piece_len,
            unk_id,
            min_score,
            max_score,
            byte_fallback: proto.trainer_spec.byte_fallback,
            unk_surface: proto
                .trainer_spec
                .unk_surface
                .clone()
                .unwrap_or_else(|| DEFAULT_UNK_SURFACE.to_string()),
            normalizer: Normalizer {
                spec: proto.normalizer_spec.clone(),
                treat_whitespace_as_suffix: proto.trainer_spec.treat_whitespace_as_suffix,
                charsmap,
                user_defined,
            },
            denormalizer,
        })
    }

    /// Number of pieces (`GetPieceSize`).
    pub fn len(&self) -> usize {
        self.pieces.len()
    }

    /// Whether the model has no pieces (never true for a loaded model).
    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// `PieceToId`: reserved pieces first, then segmentable ones, else the unknown id.
    pub fn piece_to_id(&self, piece: &str) -> u32 {
        self.reserved
            .get(piece)
            .or_else(|| self.trie_pieces.get(piece))
            .copied()
            .unwrap_or(self.unk_id)
    }

    fn kind(&self, id: u32) -> PieceType {
        self.pieces[id as usize].2
    }

    /// The text after SentencePiece normalization (charsmap, whitespace rules, `▁`).
    pub fn normalize(&self, text: &str) -> String {
        self.normalizer.normalize(text)
    }

    /// `Encode(text, out_type=str)`: the pieces of `text`.
    pub fn encode(&self, text: &str) -> Vec<String> {
        let normalized = self.normalize(text);
        let segments = self
            .viterbi(&normalized)
            .into_iter()
            .map(|(piece, id)| Segment {
                piece,
                unknown: id == self.unk_id,
                control: self.kind(id) == PieceType::Control,
            });
        output_pieces(segments, self.byte_fallback)
    }

    /// `unigram::Model::EncodeOptimized`, with its mixed float/double arithmetic.
    fn viterbi<'a>(&self, normalized: &'a str) -> Vec<(&'a str, u32)> {
        #[derive(Clone, Copy)]
        struct Best {
            id: u32,
            score: f32,
            starts_at: Option<usize>,
        }
        let size = normalized.len();
        if size == 0 {
            return Vec::new();
        }
        let unk_score = self.min_score - UNK_PENALTY;
        let mut best = vec![
            Best {
                id: 0,
                score: 0.0,
                starts_at: None
            };
            size + 1
        ];
        let mut starts_at = 0;
        while starts_at < size {
            let till_here = best[starts_at].score;
            let rest = &normalized[starts_at..];
            let mblen = rest.chars().next().map_or(1, char::len_utf8);
            let mut has_single_node = false;
            let mut ends = rest.char_indices().map(|(i, c)| i + c.len_utf8());
            for end in ends.by_ref() {
                if end > self.max_piece_len {
                    break;
                }
                let Some(&id) = self.trie_pieces.get(&rest[..end]) else {
                    continue;
                };
                let (_, score, kind) = self.pieces[id as usize];
                if kind == PieceType::Unused {
                    continue;
                }
                // `score` is a double in C++ (the ternary mixes float and double).
                let score: f64 = if kind == PieceType::UserDefined {
                    f64::from(end as f32 * self.max_score) - 0.1
                } else {
                    f64::from(score)
                };
                let candidate = score + f64::from(till_here);
                let target = &mut best[starts_at + end];
                if target.starts_at.is_none() || candidate > f64::from(target.score) {
                    *target = Best {
                        id,
                        score: candidate as f32,
                        starts_at: Some(starts_at),
                    };
                }
                if end == mblen {
                    has_single_node = true;
                }
            }
            if !has_single_node {
                let candidate = unk_score + till_here;
                let target = &mut best[starts_at + mblen];
                if target.starts_at.is_none() || candidate > target.score {
                    *target = Best {
                        id: self.unk_id,
                        score: candidate,
                        starts_at: Some(starts_at),
                    };
                }
            }
            starts_at += mblen;
        }
        let mut result = Vec::new();
        let mut ends_at = size;
        while ends_at > 0 {
            let node = best[ends_at];
            let start = node.starts_at.expect("every position is reachable");
            result.push((&normalized[start..ends_at], node.id));
            ends_at = start;
        }
        result.reverse();
        result
    }

    /// `DecodePieces`: joins pieces into text with SentencePiece's rules: control pieces vanish,
    /// the unknown piece becomes the unknown surface (` ⁇ `), pieces the model does not know
    /// come out as they are, byte pieces are reassembled into UTF-8 (invalid bytes → U+FFFD),
    /// `▁` becomes a space and the leading space of the first piece is dropped.
    pub fn decode_pieces<S: AsRef<str>>(&self, pieces: &[S]) -> String {
        let spec = &self.normalizer.spec;
        let mut text = String::new();
        let mut bytes: Vec<u8> = Vec::new();
        let mut is_bos_ws = true;
        let mut bos_ws_seen = false;
        for piece in pieces {
            let piece = piece.as_ref();
            let id = self.piece_to_id(piece);
            if self.kind(id) == PieceType::Byte {
                bytes.push(piece_to_byte(piece).expect("byte piece"));
                continue;
            }
            flush_bytes(&mut bytes, &mut text);
            if bos_ws_seen || !text.is_empty() {
                is_bos_ws = false;
            }
            let (decoded, seen) = self.decode_piece(piece, id, is_bos_ws, spec);
            bos_ws_seen = seen;
            text.push_str(&decoded);
        }
        flush_bytes(&mut bytes, &mut text);
        match &self.denormalizer {
            Some(d) => d.normalize(&text),
            None => text,
        }
    }

    fn decode_piece(
        &self,
        piece: &str,
        id: u32,
        is_bos_ws: bool,
        spec: &NormalizerSpec,
    ) -> (String, bool) {
        match self.kind(id) {
            PieceType::Control => return (String::new(), false),
            PieceType::Unknown => {
                return if self.pieces[id as usize].0 == piece {
                    (self.unk_surface.clone(), false)
                } else {
                    (piece.to_string(), false)
                };
            }
            _ => {}
        }
        let mut piece = piece;
        let mut has_bos_ws = false;
        if is_bos_ws && (spec.add_dummy_prefix || spec.remove_extra_whitespaces) {
            if let Some(rest) = piece.strip_prefix(SPACE_SYMBOL) {
                piece = rest;
                has_bos_ws = true;
            }
            if spec.remove_extra_whitespaces {
                has_bos_ws = false;
            }
        }
        (piece.replace(SPACE_SYMBOL, " "), has_bos_ws)
    }
}

/// One piece of a segmentation, as `Encode` turns it into output pieces.
pub(super) struct Segment<'a> {
    pub piece: &'a str,
    /// The piece is the model's unknown piece.
    pub unknown: bool,
    /// The piece is a CONTROL piece (written as it is).
    pub control: bool,
}

/// `Encode(text, out_type=str)`'s output for a segmentation: control pieces as they are,
/// unknown pieces as `<0xXX>` byte pieces with `byte_fallback`, else with runs of unknown
/// pieces (characters) merged into one piece; the other pieces as they are.
pub(super) fn output_pieces<'a>(
    segments: impl IntoIterator<Item = Segment<'a>>,
    byte_fallback: bool,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut prev_unk = false;
    for Segment {
        piece,
        unknown,
        control,
    } in segments
    {
        if control {
            out.push(piece.to_string());
        } else if unknown && byte_fallback {
            for b in piece.bytes() {
                out.push(format!("<0x{b:02X}>"));
            }
        } else if unknown && prev_unk {
            // Runs of unknown pieces become one piece.
            out.last_mut().expect("previous piece").push_str(piece);
        } else {
            out.push(piece.to_string());
        }
        prev_unk = unknown;
    }
    out
}

/// Appends pending byte pieces to `text`, one UTF-8 character at a time; each byte that does
/// not start a valid character becomes U+FFFD.
fn flush_bytes(bytes: &mut Vec<u8>, text: &mut String) {
    let mut rest = &bytes[..];
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                text.push_str(s);
                break;
            }
            Err(e) => {
                let valid = e.valid_up_to();
                text.push_str(std::str::from_utf8(&rest[..valid]).expect("valid prefix"));
                if valid < rest.len() {
                    text.push('\u{FFFD}');
                    rest = &rest[valid + 1..];
                } else {
                    break;
                }
            }
        }
    }
    bytes.clear();
}

/// `<0x41>` → `0x41`.
fn piece_to_byte(piece: &str) -> Option<u8> {
    let hex = piece.strip_prefix("<0x")?.strip_suffix('>')?;
    if hex.len() != 2 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u8::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenize::protobuf::{ProtoPiece, TrainerSpec};

    fn model(pieces: &[(&str, f32, PieceType)], normalizer: NormalizerSpec) -> SentencePieceModel {
        SentencePieceModel::from_proto(ModelProto {
            pieces: pieces
                .iter()
                .map(|&(p, s, k)| ProtoPiece {
                    piece: p.into(),
                    score: s,
                    kind: k,
                })
                .collect(),
            trainer_spec: TrainerSpec::default(),
            normalizer_spec: normalizer,
            denormalizer_spec: None,
        })
        .unwrap()
    }

    #[test]
    fn segments_with_viterbi_and_merges_unknown_runs() {
        use PieceType::*;
        let m = model(
            &[
                ("<unk>", 0.0, Unknown),
                ("<s>", 0.0, Control),
                ("</s>", 0.0, Control),
                ("▁", -2.0, Normal),
                ("a", -3.0, Normal),
                ("b", -3.0, Normal),
                ("▁ab", -3.5, Normal),
                ("ab", -1.0, Normal),
            ],
            NormalizerSpec::default(),
        );
        assert_eq!(m.normalize("  ab   b "), "▁ab▁b");
        assert_eq!(m.encode("ab"), vec!["▁", "ab"]);
        assert_eq!(m.encode("  ab  b"), vec!["▁", "ab", "▁", "b"]);
        assert_eq!(m.encode("a☃☃b"), vec!["▁", "a", "☃☃", "b"]);
        // Control symbols never match text.
        assert_eq!(m.encode("<s>"), vec!["▁", "<s>"]);
        assert!(m.encode("   ").is_empty());
        assert_eq!(m.decode_pieces(&["▁", "ab", "<s>", "▁", "b"]), "ab b");
        assert_eq!(m.decode_pieces(&["<unk>", "▁", "b"]), " ⁇  b");
        // Pieces the model does not know come out as they are, `▁` included.
        assert_eq!(m.decode_pieces(&["▁zz", "▁", "b"]), "▁zz b");
        // Every leading `▁` is dropped while the text is still empty.
        assert_eq!(m.decode_pieces(&["▁", "▁", "b"]), "b");
    }

    #[test]
    fn byte_pieces_decode_to_utf8_or_replacement() {
        let mut text = String::new();
        let mut bytes = vec![0xd8, 0xb9, 0xd8, b'x', 0xff];
        flush_bytes(&mut bytes, &mut text);
        assert_eq!(text, "ع\u{FFFD}x\u{FFFD}");
        assert_eq!(piece_to_byte("<0x0A>"), Some(10));
        assert_eq!(piece_to_byte("<0xZZ>"), None);
    }
}
