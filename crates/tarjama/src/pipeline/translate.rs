//! Document translation: normalize and segment each document, translate all segments in
//! length-sorted batches, and rebuild every document with its paragraph and line structure.

use serde::Serialize;

use std::time::Instant;

use super::stats::Stats;
use super::Seq2SeqPipeline;
use crate::decoding::GenerationConfig;
use crate::error::Result;
use crate::text::{split_document, Normalization, SentenceSplitter};

/// Settings of a translation run (built by the CLI or directly by tests).
#[derive(Debug, Clone)]
pub struct TranslateSettings {
    /// Text normalization applied to each segment before tokenization.
    pub normalization: Normalization,
    /// Decoding settings (the model's defaults with the user's overrides applied).
    pub generation: GenerationConfig,
    /// Segments per padded batch.
    pub batch_size: usize,
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
    /// 0-based paragraph index in the document.
    pub paragraph: usize,
    /// 0-based index of the input line the segment came from, counting every line of the
    /// document, blank ones included (a line's segments share it; blank lines have none).
    pub line: usize,
    /// How the segment was cut: `sentence`, or a length fallback (`clause`, `word`, `char`).
    pub split: &'static str,
    /// Beam score (length-penalized log-probability) for beam search.
    pub score: Option<f32>,
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
pub fn translate_documents_with_stats(
    pipe: &Seq2SeqPipeline,
    documents: &[String],
    settings: &TranslateSettings,
    stats: &mut Stats,
) -> Result<Vec<DocumentTranslation>> {
    let t_tok = Instant::now();
    let max_tokens = pipe.model.max_input_tokens();
    let tok = &pipe.tokenizer;
    let norm = settings.normalization;
    let splitter = SentenceSplitter::new()
        .with_max_len(max_tokens, |s: &str| tok.token_count(&norm.normalize(s)));
    let docs: Vec<_> = documents
        .iter()
        .map(|d| split_document(d, &splitter))
        .collect();

    // Flatten every segment of every document, keeping where it came from.
    let mut inputs: Vec<Vec<u32>> = Vec::new();
    let mut meta: Vec<(usize, String, usize, usize, &'static str)> = Vec::new();
    for (di, doc) in docs.iter().enumerate() {
        // The input line index: a paragraph's `blank_lines_before` counts the blank lines
        // between it and the previous paragraph (before the first: at the start of the input).
        let mut li = 0;
        for (pi, para) in doc.paragraphs.iter().enumerate() {
            li += para.blank_lines_before;
            for line in &para.lines {
                for seg in &line.segments {
                    inputs.push(tok.encode(&norm.normalize(&seg.text))?);
                    meta.push((di, seg.text.clone(), pi, li, seg.split.as_str()));
                }
                li += 1;
            }
        }
    }
    stats.tokenize_seconds += t_tok.elapsed().as_secs_f64();
    let t_gen = Instant::now();
    let hyps = pipe.generate(&inputs, &settings.generation, settings.batch_size)?;
    stats.generate_seconds += t_gen.elapsed().as_secs_f64();
    let t_detok = Instant::now();

    let mut per_doc: Vec<Vec<SegmentTranslation>> = vec![Vec::new(); docs.len()];
    for ((input, (di, source, paragraph, line, split)), (hyp, seconds)) in
        inputs.iter().zip(meta).zip(hyps)
    {
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
        per_doc[di].push(SegmentTranslation {
            alternatives,
            source,
            translation: tok.decode(&best.tokens, true)?,
            source_tokens: input.len(),
            target_tokens: best.tokens.len().saturating_sub(1),
            paragraph,
            line,
            split,
            score: best.score,
            seconds,
        });
    }
    let out = docs
        .iter()
        .zip(per_doc)
        .map(|(doc, segments)| {
            let text = doc.join_translations(
                &segments
                    .iter()
                    .map(|s| s.translation.as_str())
                    .collect::<Vec<_>>(),
            )?;
            Ok(DocumentTranslation { text, segments })
        })
        .collect::<Result<Vec<_>>>()?;
    stats.tokenize_seconds += t_detok.elapsed().as_secs_f64();
    for d in &out {
        stats.segments += d.segments.len();
        stats.source_tokens += d.segments.iter().map(|s| s.source_tokens).sum::<usize>();
        stats.target_tokens += d.segments.iter().map(|s| s.target_tokens).sum::<usize>();
    }
    Ok(out)
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
