//! A minimal protobuf wire-format reader and the parts of SentencePiece's `ModelProto` that
//! encoding and decoding need.
//!
//! Only what `sentencepiece_model.proto` uses is supported: varints (wire type 0), 64-bit (1),
//! length-delimited (2) and 32-bit (5) fields. Unknown fields are skipped, as protobuf requires,
//! so models written by newer SentencePiece versions still load.

/// A protobuf decoding failure at a byte offset of the whole message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtoError {
    /// Offset, from the start of the file, where the malformed data starts.
    pub offset: usize,
    /// What was wrong there.
    pub msg: String,
}

impl std::fmt::Display for ProtoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}", self.msg, self.offset)
    }
}

type PResult<T> = std::result::Result<T, ProtoError>;

/// The value of one field as it appears on the wire.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WireValue<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1 (little-endian 8 bytes).
    Fixed64(u64),
    /// Wire type 2: the payload and its offset in the outermost buffer.
    Bytes(&'a [u8], usize),
    /// Wire type 5 (little-endian 4 bytes).
    Fixed32(u32),
}

/// Iterates over the fields of one protobuf message.
pub struct WireReader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Offset of `buf[0]` in the outermost buffer, for error messages.
    base: usize,
}

impl<'a> WireReader<'a> {
    /// Reads the message in `buf`, whose first byte is at `base` in the outermost buffer.
    pub fn new(buf: &'a [u8], base: usize) -> Self {
        WireReader { buf, pos: 0, base }
    }

    fn err<T>(&self, at: usize, msg: impl Into<String>) -> PResult<T> {
        Err(ProtoError {
            offset: self.base + at,
            msg: msg.into(),
        })
    }

    fn varint(&mut self) -> PResult<u64> {
        let start = self.pos;
        let mut value: u64 = 0;
        for shift in (0..70).step_by(7) {
            let Some(&b) = self.buf.get(self.pos) else {
                return self.err(start, "truncated varint");
            };
            self.pos += 1;
            if shift == 63 && b > 1 {
                return self.err(start, "varint overflows 64 bits");
            }
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        self.err(start, "varint longer than 10 bytes")
    }

    fn take(&mut self, n: usize, what: &str) -> PResult<&'a [u8]> {
        let start = self.pos;
        match start.checked_add(n) {
            Some(end) if end <= self.buf.len() => {
                self.pos = end;
                Ok(&self.buf[start..end])
            }
            _ => self.err(start, format!("truncated {what}")),
        }
    }

    /// The next `(field number, value)`, or `None` at the end of the message.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> PResult<Option<(u32, WireValue<'a>)>> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key_at = self.pos;
        let key = self.varint()?;
        let field = key >> 3;
        if field == 0 || field > u64::from(u32::MAX >> 3) {
            return self.err(key_at, format!("invalid field number {field}"));
        }
        let value = match key & 7 {
            0 => WireValue::Varint(self.varint()?),
            1 => {
                let b = self.take(8, "fixed64 field")?;
                WireValue::Fixed64(u64::from_le_bytes(b.try_into().expect("8 bytes")))
            }
            2 => {
                let len_at = self.pos;
                let len = self.varint()?;
                let Ok(len) = usize::try_from(len) else {
                    return self.err(len_at, "length does not fit in memory");
                };
                let at = self.base + self.pos;
                WireValue::Bytes(self.take(len, "length-delimited field")?, at)
            }
            5 => {
                let b = self.take(4, "fixed32 field")?;
                WireValue::Fixed32(u32::from_le_bytes(b.try_into().expect("4 bytes")))
            }
            w => return self.err(key_at, format!("unsupported wire type {w}")),
        };
        Ok(Some((field as u32, value)))
    }
}

/// `ModelProto.SentencePiece.Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PieceType {
    /// A normal piece, learned from data.
    Normal,
    /// The unknown symbol.
    Unknown,
    /// A control symbol such as `<s>` or `</s>`: never produced from text, decodes to nothing.
    Control,
    /// A user-defined symbol: always segmented as one piece, never normalized.
    UserDefined,
    /// A byte piece `<0xXX>` used by byte fallback.
    Byte,
    /// A piece excluded from segmentation.
    Unused,
}

impl PieceType {
    fn from_proto(v: u64) -> Option<Self> {
        Some(match v {
            1 => PieceType::Normal,
            2 => PieceType::Unknown,
            3 => PieceType::Control,
            4 => PieceType::UserDefined,
            5 => PieceType::Unused,
            6 => PieceType::Byte,
            _ => return None,
        })
    }
}

/// One entry of `ModelProto.pieces`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtoPiece {
    /// The piece text (field 1).
    pub piece: String,
    /// Its log-probability (field 2, default 0).
    pub score: f32,
    /// Its type (field 3, default NORMAL).
    pub kind: PieceType,
}

/// The `TrainerSpec` fields that matter after training.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainerSpec {
    /// `model_type` (field 3): 1 unigram, 2 BPE, 3 word, 4 char. Default 1.
    pub model_type: i32,
    /// `treat_whitespace_as_suffix` (field 24).
    pub treat_whitespace_as_suffix: bool,
    /// `byte_fallback` (field 35).
    pub byte_fallback: bool,
    /// `unk_id` (field 40, default 0).
    pub unk_id: i32,
    /// `bos_id` (field 41, default 1).
    pub bos_id: i32,
    /// `eos_id` (field 42, default 2).
    pub eos_id: i32,
    /// `pad_id` (field 43, default -1).
    pub pad_id: i32,
    /// `unk_surface` (field 44), when present in the file.
    pub unk_surface: Option<String>,
}

impl Default for TrainerSpec {
    fn default() -> Self {
        TrainerSpec {
            model_type: 1,
            treat_whitespace_as_suffix: false,
            byte_fallback: false,
            unk_id: 0,
            bos_id: 1,
            eos_id: 2,
            pad_id: -1,
            unk_surface: None,
        }
    }
}

/// `NormalizerSpec`.
#[derive(Debug, Clone, PartialEq)]
pub struct NormalizerSpec {
    /// `name` (field 1), e.g. `nmt_nfkc`.
    pub name: String,
    /// `precompiled_charsmap` (field 2): the compiled normalization rules.
    pub precompiled_charsmap: Vec<u8>,
    /// `add_dummy_prefix` (field 3, default true).
    pub add_dummy_prefix: bool,
    /// `remove_extra_whitespaces` (field 4, default true).
    pub remove_extra_whitespaces: bool,
    /// `escape_whitespaces` (field 5, default true).
    pub escape_whitespaces: bool,
}

impl Default for NormalizerSpec {
    fn default() -> Self {
        NormalizerSpec {
            name: String::new(),
            precompiled_charsmap: Vec::new(),
            add_dummy_prefix: true,
            remove_extra_whitespaces: true,
            escape_whitespaces: true,
        }
    }
}

/// The parts of a SentencePiece `ModelProto` used here.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelProto {
    /// `pieces` (field 1), in id order.
    pub pieces: Vec<ProtoPiece>,
    /// `trainer_spec` (field 2).
    pub trainer_spec: TrainerSpec,
    /// `normalizer_spec` (field 3).
    pub normalizer_spec: NormalizerSpec,
    /// `denormalizer_spec` (field 5), when present.
    pub denormalizer_spec: Option<NormalizerSpec>,
}

fn utf8(bytes: &[u8], at: usize, what: &str) -> PResult<String> {
    String::from_utf8(bytes.to_vec()).map_err(|e| ProtoError {
        offset: at + e.utf8_error().valid_up_to(),
        msg: format!("{what} is not valid UTF-8"),
    })
}

fn expect_varint(v: WireValue<'_>, at: usize, what: &str) -> PResult<u64> {
    match v {
        WireValue::Varint(x) => Ok(x),
        _ => Err(ProtoError {
            offset: at,
            msg: format!("{what}: expected a varint"),
        }),
    }
}

fn expect_bytes<'a>(v: WireValue<'a>, at: usize, what: &str) -> PResult<(&'a [u8], usize)> {
    match v {
        WireValue::Bytes(b, off) => Ok((b, off)),
        _ => Err(ProtoError {
            offset: at,
            msg: format!("{what}: expected a length-delimited field"),
        }),
    }
}

/// Fields of type int32 are sent as sign-extended 64-bit varints.
fn as_i32(x: u64) -> i32 {
    x as i64 as i32
}

fn parse_piece(buf: &[u8], base: usize) -> PResult<ProtoPiece> {
    let mut r = WireReader::new(buf, base);
    let mut piece = ProtoPiece {
        piece: String::new(),
        score: 0.0,
        kind: PieceType::Normal,
    };
    loop {
        let at = base + r.pos;
        let Some((field, v)) = r.next()? else { break };
        match field {
            1 => {
                let (b, off) = expect_bytes(v, at, "piece")?;
                piece.piece = utf8(b, off, "piece")?;
            }
            2 => match v {
                WireValue::Fixed32(x) => piece.score = f32::from_bits(x),
                _ => {
                    return Err(ProtoError {
                        offset: at,
                        msg: "score: expected a 32-bit float".into(),
                    })
                }
            },
            3 => {
                let x = expect_varint(v, at, "type")?;
                piece.kind = PieceType::from_proto(x).ok_or_else(|| ProtoError {
                    offset: at,
                    msg: format!("unknown piece type {x}"),
                })?;
            }
            _ => {}
        }
    }
    Ok(piece)
}

fn parse_trainer_spec(buf: &[u8], base: usize) -> PResult<TrainerSpec> {
    let mut r = WireReader::new(buf, base);
    let mut spec = TrainerSpec::default();
    loop {
        let at = base + r.pos;
        let Some((field, v)) = r.next()? else { break };
        match field {
            3 => spec.model_type = as_i32(expect_varint(v, at, "model_type")?),
            24 => spec.treat_whitespace_as_suffix = expect_varint(v, at, "treat_ws")? != 0,
            35 => spec.byte_fallback = expect_varint(v, at, "byte_fallback")? != 0,
            40 => spec.unk_id = as_i32(expect_varint(v, at, "unk_id")?),
            41 => spec.bos_id = as_i32(expect_varint(v, at, "bos_id")?),
            42 => spec.eos_id = as_i32(expect_varint(v, at, "eos_id")?),
            43 => spec.pad_id = as_i32(expect_varint(v, at, "pad_id")?),
            44 => {
                let (b, off) = expect_bytes(v, at, "unk_surface")?;
                spec.unk_surface = Some(utf8(b, off, "unk_surface")?);
            }
            _ => {}
        }
    }
    Ok(spec)
}

fn parse_normalizer_spec(buf: &[u8], base: usize) -> PResult<NormalizerSpec> {
    let mut r = WireReader::new(buf, base);
    let mut spec = NormalizerSpec::default();
    loop {
        let at = base + r.pos;
        let Some((field, v)) = r.next()? else { break };
        match field {
            1 => {
                let (b, off) = expect_bytes(v, at, "name")?;
                spec.name = utf8(b, off, "normalizer name")?;
            }
            2 => {
                spec.precompiled_charsmap = expect_bytes(v, at, "precompiled_charsmap")?.0.to_vec()
            }
            3 => spec.add_dummy_prefix = expect_varint(v, at, "add_dummy_prefix")? != 0,
            4 => spec.remove_extra_whitespaces = expect_varint(v, at, "remove_extra_ws")? != 0,
            5 => spec.escape_whitespaces = expect_varint(v, at, "escape_whitespaces")? != 0,
            _ => {}
        }
    }
    Ok(spec)
}

impl ModelProto {
    /// Parses a serialized `ModelProto` (the content of a `.spm` / `.model` file).
    pub fn parse(buf: &[u8]) -> PResult<Self> {
        let mut r = WireReader::new(buf, 0);
        let mut model = ModelProto::default();
        loop {
            let at = r.pos;
            let Some((field, v)) = r.next()? else { break };
            match field {
                1 => {
                    let (b, off) = expect_bytes(v, at, "pieces")?;
                    model.pieces.push(parse_piece(b, off)?);
                }
                2 => {
                    let (b, off) = expect_bytes(v, at, "trainer_spec")?;
                    model.trainer_spec = parse_trainer_spec(b, off)?;
                }
                3 => {
                    let (b, off) = expect_bytes(v, at, "normalizer_spec")?;
                    model.normalizer_spec = parse_normalizer_spec(b, off)?;
                }
                5 => {
                    let (b, off) = expect_bytes(v, at, "denormalizer_spec")?;
                    model.denormalizer_spec = Some(parse_normalizer_spec(b, off)?);
                }
                _ => {}
            }
        }
        Ok(model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint(mut x: u64, out: &mut Vec<u8>) {
        loop {
            let b = (x & 0x7f) as u8;
            x >>= 7;
            if x == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }

    fn field_bytes(field: u32, payload: &[u8], out: &mut Vec<u8>) {
        varint(u64::from(field) << 3 | 2, out);
        varint(payload.len() as u64, out);
        out.extend_from_slice(payload);
    }

    fn field_varint(field: u32, x: u64, out: &mut Vec<u8>) {
        varint(u64::from(field) << 3, out);
        varint(x, out);
    }

    fn piece(text: &str, score: f32, kind: Option<u64>) -> Vec<u8> {
        let mut p = Vec::new();
        field_bytes(1, text.as_bytes(), &mut p);
        varint(2 << 3 | 5, &mut p);
        p.extend_from_slice(&score.to_le_bytes());
        if let Some(k) = kind {
            field_varint(3, k, &mut p);
        }
        p
    }

    #[test]
    fn varints_and_fixed_fields() {
        let mut buf = Vec::new();
        field_varint(1, 300, &mut buf);
        field_varint(2, u64::MAX, &mut buf);
        varint(3 << 3 | 1, &mut buf);
        buf.extend_from_slice(&7u64.to_le_bytes());
        varint(4 << 3 | 5, &mut buf);
        buf.extend_from_slice(&1.5f32.to_le_bytes());
        field_bytes(5, b"abc", &mut buf);
        let mut r = WireReader::new(&buf, 0);
        assert_eq!(r.next().unwrap(), Some((1, WireValue::Varint(300))));
        assert_eq!(r.next().unwrap(), Some((2, WireValue::Varint(u64::MAX))));
        assert_eq!(r.next().unwrap(), Some((3, WireValue::Fixed64(7))));
        assert_eq!(
            r.next().unwrap(),
            Some((4, WireValue::Fixed32(1.5f32.to_bits())))
        );
        let at = buf.len() - 3;
        assert_eq!(r.next().unwrap(), Some((5, WireValue::Bytes(b"abc", at))));
        assert_eq!(r.next().unwrap(), None);
    }

    #[test]
    fn parses_model_proto_with_defaults_and_unknown_fields() {
        let mut buf = Vec::new();
        field_bytes(1, &piece("<unk>", 0.0, Some(2)), &mut buf);
        field_bytes(1, &piece("▁a", -1.25, None), &mut buf);
        field_bytes(1, &piece("<0x41>", 0.0, Some(6)), &mut buf);
        let mut ts = Vec::new();
        field_varint(3, 1, &mut ts);
        field_varint(35, 1, &mut ts);
        field_varint(43, (-1i64) as u64, &mut ts);
        field_bytes(44, " ?? ".as_bytes(), &mut ts);
        field_varint(99, 5, &mut ts); // unknown field: skipped
        field_bytes(2, &ts, &mut buf);
        let mut ns = Vec::new();
        field_bytes(1, b"nmt_nfkc", &mut ns);
        field_bytes(2, &[1, 2, 3], &mut ns);
        field_varint(3, 0, &mut ns);
        field_bytes(3, &ns, &mut buf);
        field_bytes(4, b"self test data, ignored", &mut buf);

        let m = ModelProto::parse(&buf).unwrap();
        assert_eq!(m.pieces.len(), 3);
        assert_eq!(m.pieces[0].kind, PieceType::Unknown);
        assert_eq!(m.pieces[1].piece, "▁a");
        assert_eq!(m.pieces[1].score, -1.25);
        assert_eq!(m.pieces[1].kind, PieceType::Normal);
        assert_eq!(m.pieces[2].kind, PieceType::Byte);
        assert!(m.trainer_spec.byte_fallback);
        assert_eq!(m.trainer_spec.pad_id, -1);
        assert_eq!(m.trainer_spec.unk_id, 0);
        assert_eq!(m.trainer_spec.unk_surface.as_deref(), Some(" ?? "));
        assert_eq!(m.normalizer_spec.name, "nmt_nfkc");
        assert_eq!(m.normalizer_spec.precompiled_charsmap, vec![1, 2, 3]);
        assert!(!m.normalizer_spec.add_dummy_prefix);
        assert!(m.normalizer_spec.remove_extra_whitespaces);
        assert!(m.normalizer_spec.escape_whitespaces);
        assert!(m.denormalizer_spec.is_none());
    }

    #[test]
    fn reports_offsets_of_malformed_data() {
        // A length-delimited field claiming 10 bytes with only 2 present.
        let buf = [0x0a, 10, b'a', b'b'];
        let e = ModelProto::parse(&buf).unwrap_err();
        assert_eq!(e.offset, 2);
        assert!(e.msg.contains("truncated"), "{e}");
        // Wire type 3 (start group) is not supported.
        let e = ModelProto::parse(&[0x38, 1, 0x0b]).unwrap_err();
        assert_eq!(e.offset, 2);
        // An error inside a nested message reports the absolute offset.
        let mut buf = Vec::new();
        field_varint(7, 1, &mut buf);
        field_bytes(1, &[0x0a, 5, b'x'], &mut buf);
        let e = ModelProto::parse(&buf).unwrap_err();
        assert_eq!(e.offset, 6, "{e}");
        // Text is not a protobuf.
        assert!(ModelProto::parse(b"hello world, this is text").is_err());
    }
}
