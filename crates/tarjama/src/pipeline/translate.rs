//! Document translation: normalize and segment each document, translate all segments in
//! length-sorted batches, and rebuild every document with its paragraph and line structure.

use serde::Serialize;

use std::ops::ControlFlow;
use std::time::Instant;

use super::progress::{NoProgress, Progress, Stage};
use super::stats::Stats;
use super::Seq2SeqPipeline;
use crate::decoding::{FinishReason, GenerationConfig};
use crate::error::Result;
use crate::text::{split_document, Document, Normalization, SentenceSplitter};

/// Settings of a translation run (built by the CLI or directly by tests).
#[derive(Debug, Clone)]
pub struct TranslateSettings {
    /// Text normalization applied to each segment before tokenization.
    pub normalization: Normalization,
    /// Decoding settings (the model's defaults with the user's overrides applied).
    pub generation: GenerationConfig,
    /// Segments per padded batch.
    pub batch_size: usize,
    /// Padded source tokens per batch (rows × the longest segment's tokens), on top of
    /// `batch_size`; `None`: no token bound. See [`super::plan_batches`].
    pub max_batch_tokens: Option<usize>,
}

/// One translated segment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentTranslation {
    /// The source segment as it appears in the input (before normalization).
    pub source: String,
    /// The translation (skip-special-tokens decoding).
    pub translation: String,
    /// Source tokens, including `</s>`.
    pub source_tokens: usize,
    /// Generated tokens, not counting the decoder start token.
    pub target_tokens: usize,
    /// The encoder input ids: the normalized segment's `tokenizer(text).input_ids`, special
    /// tokens (`</s>`, a language code) included.
    pub source_ids: Vec<u32>,
    /// The generated ids as transformers' `generate()` returns them: the decoder start token
    /// first (then a forced BOS such as NLLB's language code), EOS last unless the length
    /// limit cut the output (see [`crate::decoding::Hypothesis::tokens`]).
    pub output_ids: Vec<u32>,
    /// 0-based paragraph index in the document.
    pub paragraph: usize,
    /// 0-based index of the input line the segment came from, counting every line of the
    /// document, blank ones included (a line's segments share it; blank lines have none).
    pub line: usize,
    /// How the segment was cut: `sentence`, or a length fallback (`clause`, `word`, `char`).
    pub split: &'static str,
    /// Beam score (length-penalized log-probability) for beam search.
    pub score: Option<f32>,
    /// Why the translation ended: [`FinishReason::Length`] when the length limit
    /// (`max_length` / `max_new_tokens`) cut it before EOS, so it is likely incomplete.
    pub stopped: FinishReason,
    /// This segment's share of its batch's decoding wall time, in seconds.
    pub seconds: f64,
    /// The n-best list when more than one sequence is returned
    /// ([`GenerationConfig::num_return_sequences`] > 1): every hypothesis, best first, the first
    /// being [`Self::translation`]; empty otherwise (and then not serialized).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<Alternative>,
}

/// One entry of an n-best list ([`SegmentTranslation::alternatives`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alternative {
    /// The hypothesis, decoded as [`SegmentTranslation::translation`] is.
    pub translation: String,
    /// Its beam score (transformers' `sequences_scores`: the length-penalized sum of
    /// log-probabilities); `None` outside beam search.
    pub score: Option<f32>,
}

/// A translated document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DocumentTranslation {
    /// The translation, with the input's paragraphs, lines and blank lines.
    pub text: String,
    /// Every segment in document order.
    pub segments: Vec<SegmentTranslation>,
    /// With an n-best list ([`GenerationConfig::num_return_sequences`] > 1), filled by
    /// [`PreparedDocument::finish`] (the [`super::scheduler::Scheduler`]'s answers): the
    /// document's alternative texts, the k-th laid out as [`Self::text`] from each segment's
    /// k-th hypothesis (its last one where it has fewer), for k = 2..=n; empty otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<String>,
}

/// Translates several documents, batching the segments of all of them together.
///
/// Errors: tokenizer or model failures.
pub fn translate_documents(
    pipe: &Seq2SeqPipeline,
    documents: &[String],
    settings: &TranslateSettings,
) -> Result<Vec<DocumentTranslation>> {
    translate_documents_with_stats(pipe, documents, settings, &mut Stats::default())
}

/// [`translate_documents`], adding its time and token counts to `stats`.
///
/// All segments form one [`Window::All`]: they are sorted by length together, as they always
/// were, so the batches (and the results) do not depend on where a window would end.
pub fn translate_documents_with_stats(
    pipe: &Seq2SeqPipeline,
    documents: &[String],
    settings: &TranslateSettings,
    stats: &mut Stats,
) -> Result<Vec<DocumentTranslation>> {
    translate_documents_with_progress(pipe, documents, settings, stats, &mut NoProgress)
}

/// [`translate_documents_with_stats`], reporting [`Stage::Translate`] progress to `progress`
/// (whose [`Progress::cancelled`] is not asked: the documents come back whole).
pub fn translate_documents_with_progress(
    pipe: &Seq2SeqPipeline,
    documents: &[String],
    settings: &TranslateSettings,
    stats: &mut Stats,
    progress: &mut dyn Progress,
) -> Result<Vec<DocumentTranslation>> {
    let mut out: Vec<DocumentTranslation> = vec![
        DocumentTranslation {
            text: String::new(),
            segments: Vec::new(),
            alternatives: Vec::new(),
        };
        documents.len()
    ];
    // The sink never stops and nothing cancels, so the run always finishes.
    let _finished = translate_streaming(
        pipe,
        documents,
        settings,
        Window::All,
        stats,
        &mut Uncancelled(progress),
        &mut |part: DocumentPart| {
            let doc = &mut out[part.document];
            doc.text.push_str(&part.text);
            doc.segments.extend(part.segments);
            ControlFlow::Continue(())
        },
    )?;
    Ok(out)
}

/// Passes progress on, never cancelling.
struct Uncancelled<'a>(&'a mut dyn Progress);

impl Progress for Uncancelled<'_> {
    fn advance(&mut self, stage: Stage, done: usize, total: usize) {
        self.0.advance(stage, done, total);
    }
}

/// How many segments [`translate_streaming`] sorts and batches together: the look-ahead in
/// document order. A window's segments are decoded longest first in padded batches of
/// `batch_size`, and the lines it completes are handed out when it is done, so the first
/// line comes out after the first window rather than after the whole input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// Every segment of every document at once (what [`translate_documents`] does): nothing
    /// comes out before the end.
    All,
    /// `n` padded batches: `n * batch_size` segments (at least one batch).
    Batches(usize),
}

impl Window {
    /// The window `tarjama translate` streams with: [`STREAM_WINDOW_BATCHES`] batches.
    pub const STREAM: Window = Window::Batches(STREAM_WINDOW_BATCHES);

    /// The window's size in segments for `batch_size`.
    pub fn segments(self, batch_size: usize) -> usize {
        match self {
            Window::All => usize::MAX,
            Window::Batches(n) => n.max(1).saturating_mul(batch_size.max(1)),
        }
    }
}

/// Padded batches per [`Window::STREAM`] window (64 segments at the default batch size of 8):
/// enough segments to sort into batches of similar lengths, few enough that the first
/// line comes out soon.
pub const STREAM_WINDOW_BATCHES: usize = 8;

/// A finished piece of a document, one input line (with the blank lines before it), handed out
/// by [`translate_streaming`] in document order.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentPart {
    /// The document's index in the input.
    pub document: usize,
    /// Whether this is the document's first part.
    pub first: bool,
    /// Whether this is the document's last part (an empty document has one part, with no
    /// text and no segments, that is both first and last).
    pub last: bool,
    /// This part's text: the concatenation of a document's parts is its
    /// [`DocumentTranslation::text`] (see [`Document::line_text`]).
    ///
    /// [`Document::line_text`]: crate::text::Document::line_text
    pub text: String,
    /// The segments of this part in document order.
    pub segments: Vec<SegmentTranslation>,
}

/// Translates `documents`, handing each input line to `sink` as soon as it and every line
/// before it (in this and earlier documents) is translated. Segments are decoded in padded,
/// length-sorted batches within each [`Window`] of segments in document order; `progress`
/// gets [`Stage::Translate`] events (segments done of all segments) and is asked before each
/// batch whether to stop. Adds time and token counts of the translated segments to `stats`.
///
/// Returns `Break` when `sink` returned `Break` or `progress` cancelled: then no more
/// batches are decoded (the one in flight is finished) and nothing more is handed out.
///
/// Errors: tokenizer or model failures.
pub fn translate_streaming(
    pipe: &Seq2SeqPipeline,
    documents: &[String],
    settings: &TranslateSettings,
    window: Window,
    stats: &mut Stats,
    progress: &mut dyn Progress,
    sink: &mut dyn FnMut(DocumentPart) -> ControlFlow<()>,
) -> Result<ControlFlow<()>> {
    let t_tok = Instant::now();
    let docs = prepare_documents(pipe, documents, settings.normalization)?;

    // Flatten every segment of every document, keeping where it came from. Each segment's
    // place in its own document is the random stream it samples from, so a document draws the
    // same whatever other documents share the run (and `batch` draws what `translate` of the
    // one file draws).
    let mut inputs: Vec<Vec<u32>> = Vec::new();
    let mut streams: Vec<u64> = Vec::new();
    let mut meta: Vec<&SegmentSource> = Vec::new();
    // Per document, per non-blank line: its paragraph, its index there and the end of its
    // segments in `inputs`.
    let mut line_ends: Vec<Vec<(usize, usize, usize)>> = Vec::with_capacity(docs.len());
    for doc in &docs {
        let first = inputs.len();
        inputs.extend(doc.inputs.iter().cloned());
        streams.extend(doc.streams());
        meta.extend(&doc.sources);
        line_ends.push(
            doc.line_ends
                .iter()
                .map(|&(p, l, end)| (p, l, first + end))
                .collect(),
        );
    }
    stats.tokenize_seconds += t_tok.elapsed().as_secs_f64();

    let total = inputs.len();
    let mut done: Vec<SegmentTranslation> = Vec::with_capacity(total);
    // The next line to hand out: (document, its index in `line_ends[document]`), and where
    // its segments start in `inputs`.
    let (mut di, mut li, mut from) = (0, 0, 0);
    let mut meta = meta.into_iter();
    let step = window.segments(settings.batch_size);
    progress.advance(Stage::Translate, 0, total);
    let mut start = 0;
    loop {
        // Hand out what is finished: whole lines, in order; empty documents as they come.
        while di < docs.len() {
            let ends = &line_ends[di];
            if ends.is_empty() {
                let part = DocumentPart {
                    document: di,
                    first: true,
                    last: true,
                    text: String::new(),
                    segments: Vec::new(),
                };
                if sink(part).is_break() {
                    return Ok(ControlFlow::Break(()));
                }
                di += 1;
                continue;
            }
            let (p, l, end) = ends[li];
            if end > start {
                break;
            }
            let t_detok = Instant::now();
            let segments: Vec<SegmentTranslation> = done.drain(..end - from).collect();
            let text = docs[di].line_text(p, l, &segments);
            stats.tokenize_seconds += t_detok.elapsed().as_secs_f64();
            let part = DocumentPart {
                document: di,
                first: li == 0,
                last: li + 1 == ends.len(),
                text,
                segments,
            };
            from = end;
            li += 1;
            if li == ends.len() {
                (di, li) = (di + 1, 0);
            }
            if sink(part).is_break() {
                return Ok(ControlFlow::Break(()));
            }
        }
        if start >= total {
            break;
        }
        let end = start.saturating_add(step).min(total);
        let window_inputs = &inputs[start..end];
        let t_gen = Instant::now();
        let mut ask = |n: usize| {
            progress.advance(Stage::Translate, start + n, total);
            if progress.cancelled() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        let hyps = match pipe.generate_with(
            window_inputs,
            Some(&streams[start..end]),
            &settings.generation,
            settings.batch_size,
            settings.max_batch_tokens,
            &mut ask,
        )? {
            ControlFlow::Continue(h) => h,
            ControlFlow::Break(()) => {
                stats.generate_seconds += t_gen.elapsed().as_secs_f64();
                return Ok(ControlFlow::Break(()));
            }
        };
        stats.generate_seconds += t_gen.elapsed().as_secs_f64();
        let t_detok = Instant::now();
        for (input, generated) in window_inputs.iter().zip(hyps) {
            let source = meta.next().expect("one source per input");
            let seg = segment_translation(pipe, input, source, generated, &settings.generation)?;
            stats.add_segment(&seg);
            done.push(seg);
        }
        stats.tokenize_seconds += t_detok.elapsed().as_secs_f64();
        progress.advance(Stage::Translate, end, total);
        start = end;
    }
    Ok(ControlFlow::Continue(()))
}

/// Where a segment came from in its document (see [`SegmentTranslation`]'s fields of the
/// same names).
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentSource {
    /// The segment as it appears in the input (before normalization).
    pub source: String,
    /// 0-based paragraph index in the document.
    pub paragraph: usize,
    /// 0-based input line index in the document.
    pub line: usize,
    /// How the segment was cut (`sentence`, `clause`, `word`, `char`).
    pub split: &'static str,
}

/// A document split into segments and tokenized, ready to decode: what
/// [`translate_streaming`] and [`super::scheduler::Scheduler`] decode and rebuild.
#[derive(Debug, Clone)]
pub struct PreparedDocument {
    /// The document's paragraphs, lines and segments.
    doc: Document,
    /// Per segment in document order: the encoder input ids (`</s>` and language codes
    /// included).
    pub inputs: Vec<Vec<u32>>,
    /// Per segment: where it came from.
    pub sources: Vec<SegmentSource>,
    /// Per non-blank line: its paragraph, its index there and the end of its segments in
    /// [`Self::inputs`].
    line_ends: Vec<(usize, usize, usize)>,
}

/// Normalizes, segments and tokenizes `documents` as `translate` does (segments longer than
/// the model's input limit are cut; see [`SentenceSplitter::with_max_len`]).
///
/// Errors: tokenizer failures.
pub fn prepare_documents(
    pipe: &Seq2SeqPipeline,
    documents: &[String],
    norm: Normalization,
) -> Result<Vec<PreparedDocument>> {
    let max_tokens = pipe.model.max_input_tokens();
    let tok = &pipe.tokenizer;
    let splitter = SentenceSplitter::new()
        .with_max_len(max_tokens, |s: &str| tok.token_count(&norm.normalize(s)));
    documents
        .iter()
        .map(|d| {
            let doc = split_document(d, &splitter);
            let mut inputs = Vec::new();
            let mut sources = Vec::new();
            let mut line_ends = Vec::new();
            // The input line index: a paragraph's `blank_lines_before` counts the blank lines
            // between it and the previous paragraph (before the first: at the start).
            let mut li = 0;
            for (pi, para) in doc.paragraphs.iter().enumerate() {
                li += para.blank_lines_before;
                for (lj, line) in para.lines.iter().enumerate() {
                    for seg in &line.segments {
                        inputs.push(tok.encode(&norm.normalize(&seg.text))?);
                        sources.push(SegmentSource {
                            source: seg.text.clone(),
                            paragraph: pi,
                            line: li,
                            split: seg.split.as_str(),
                        });
                    }
                    line_ends.push((pi, lj, inputs.len()));
                    li += 1;
                }
            }
            Ok(PreparedDocument {
                doc,
                inputs,
                sources,
                line_ends,
            })
        })
        .collect()
}

impl PreparedDocument {
    /// The random stream of each segment when sampling: its index in the document.
    pub fn streams(&self) -> std::ops::Range<u64> {
        0..self.inputs.len() as u64
    }

    /// The text of line `l` of paragraph `p` with `segments` (that line's translations in
    /// order), as [`Document::line_text`] lays it out.
    fn line_text(&self, p: usize, l: usize, segments: &[SegmentTranslation]) -> String {
        self.line_text_with(p, l, segments, |s| &s.translation)
    }

    /// [`Self::line_text`] with each segment's text picked by `pick`.
    fn line_text_with<'s>(
        &self,
        p: usize,
        l: usize,
        segments: &'s [SegmentTranslation],
        pick: impl Fn(&'s SegmentTranslation) -> &'s str,
    ) -> String {
        let mut it = segments.iter();
        self.doc.line_text(p, l, |_| it.next().map_or("", &pick))
    }

    /// The whole document laid out with each segment's text picked by `pick`.
    fn text_with<'s>(
        &self,
        segments: &'s [SegmentTranslation],
        pick: impl Fn(&'s SegmentTranslation) -> &'s str + Copy,
    ) -> String {
        let mut text = String::new();
        let mut from = 0;
        for &(p, l, end) in &self.line_ends {
            text.push_str(&self.line_text_with(p, l, &segments[from..end], pick));
            from = end;
        }
        text
    }

    /// Rebuilds the document from `generated`, one entry per [`Self::inputs`] in order (what
    /// [`Seq2SeqPipeline::generate_with`] returns for them), decoded under `generation`: the
    /// same [`DocumentTranslation`] as [`translate_documents`] gives, with
    /// [`DocumentTranslation::alternatives`] filled in for an n-best list.
    ///
    /// Errors: tokenizer (decoding) failures.
    pub fn finish(
        &self,
        pipe: &Seq2SeqPipeline,
        generated: super::Generated,
        generation: &GenerationConfig,
    ) -> Result<DocumentTranslation> {
        let segments = self
            .inputs
            .iter()
            .zip(&self.sources)
            .zip(generated)
            .map(|((input, source), g)| segment_translation(pipe, input, source, g, generation))
            .collect::<Result<Vec<_>>>()?;
        let text = self.text_with(&segments, |s| &s.translation);
        let n = segments
            .iter()
            .map(|s| s.alternatives.len())
            .max()
            .unwrap_or(0);
        let alternatives = (1..n)
            .map(|k| {
                self.text_with(&segments, move |s| {
                    s.alternatives
                        .get(k)
                        .or(s.alternatives.last())
                        .map_or(&s.translation, |a| &a.translation)
                })
            })
            .collect();
        Ok(DocumentTranslation {
            text,
            segments,
            alternatives,
        })
    }
}

/// One segment's translation from its hypotheses (best first) and time share, decoded
/// skipping special tokens, as transformers' `batch_decode(..., skip_special_tokens=True)`.
fn segment_translation(
    pipe: &Seq2SeqPipeline,
    input: &[u32],
    source: &SegmentSource,
    (hyp, seconds): (Vec<crate::decoding::Hypothesis>, f64),
    generation: &GenerationConfig,
) -> Result<SegmentTranslation> {
    let tok = &pipe.tokenizer;
    let alternatives: Vec<Alternative> = if hyp.len() > 1 {
        hyp.iter()
            .map(|h| {
                Ok(Alternative {
                    translation: tok.decode(&h.tokens, true)?,
                    score: h.score,
                })
            })
            .collect::<Result<_>>()?
    } else {
        Vec::new()
    };
    let best = hyp
        .into_iter()
        .next()
        .unwrap_or_else(|| crate::decoding::Hypothesis {
            tokens: vec![],
            score: None,
        });
    let stopped = best.finish_reason(generation);
    Ok(SegmentTranslation {
        alternatives,
        stopped,
        source: source.source.clone(),
        translation: tok.decode(&best.tokens, true)?,
        source_tokens: input.len(),
        target_tokens: best.tokens.len().saturating_sub(1),
        source_ids: input.to_vec(),
        output_ids: best.tokens,
        paragraph: source.paragraph,
        line: source.line,
        split: source.split,
        score: best.score,
        seconds,
    })
}

/// Translates one document. See [`translate_documents`].
pub fn translate_document(
    pipe: &Seq2SeqPipeline,
    text: &str,
    settings: &TranslateSettings,
) -> Result<DocumentTranslation> {
    let mut out = translate_documents(pipe, &[text.to_string()], settings)?;
    Ok(out.remove(0))
}
