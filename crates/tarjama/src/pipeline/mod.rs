//! Pipelines: tasks built from the stages (normalize → segment → tokenize → generate →
//! detokenize → join). [`Seq2SeqPipeline`] is a loaded model with its tokenizer and generation
//! defaults; [`translate`] drives it over documents, [`summarize`] summarizes a text with the
//! settings [`summarizer`] chooses, [`run`](mod@run) does both, and [`batch`] does any of them
//! over a folder.

pub mod batch;
pub mod progress;
pub mod prompt;
pub mod run;
pub mod scheduler;
pub mod stats;
pub mod summarize;
pub mod summarizer;
pub mod translate;

use std::ops::ControlFlow;
use std::str::FromStr;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};

use crate::decoding::{self, ChosenBy, GenerationConfig, Hypothesis};
use crate::error::{candle_message, Error, Result};
use crate::fsio::read_json;
use crate::hub::{self, ModelFiles};
use crate::model::{self, Seq2Seq};
use crate::tokenize::{self, Tokenizer};

/// `--device`: where the model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// The CPU.
    #[default]
    Cpu,
    /// CUDA GPU `N` (needs the `cuda` feature).
    Cuda(usize),
    /// Metal GPU `N` (needs the `metal` feature).
    Metal(usize),
    /// CUDA GPU 0 where available, then Metal, else the CPU.
    Auto,
}

impl FromStr for DeviceChoice {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let ordinal = |rest: &str| -> Result<usize> {
            if rest.is_empty() {
                return Ok(0);
            }
            rest.strip_prefix(':')
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| {
                    Error::Config(format!("bad device {s:?} (cpu, cuda[:N], metal, auto)"))
                })
        };
        match s {
            "cpu" => Ok(DeviceChoice::Cpu),
            "auto" => Ok(DeviceChoice::Auto),
            _ if s.starts_with("cuda") => Ok(DeviceChoice::Cuda(ordinal(&s[4..])?)),
            _ if s.starts_with("metal") => Ok(DeviceChoice::Metal(ordinal(&s[5..])?)),
            _ => Err(Error::Config(format!(
                "bad device {s:?} (cpu, cuda[:N], metal, auto)"
            ))),
        }
    }
}

impl DeviceChoice {
    /// Opens the device. Errors say when tarjama was built without the needed feature.
    pub fn open(self) -> Result<Device> {
        match self {
            DeviceChoice::Cpu => Ok(Device::Cpu),
            DeviceChoice::Cuda(n) => {
                if !candle_core::utils::cuda_is_available() {
                    return Err(Error::Config(
                        "--device cuda: this tarjama was built without CUDA (build with --features cuda)".into(),
                    ));
                }
                Device::new_cuda(n).map_err(|e| {
                    Error::Config(format!("--device cuda:{n}: {}", candle_message(&e)))
                })
            }
            DeviceChoice::Metal(n) => {
                if !candle_core::utils::metal_is_available() {
                    return Err(Error::Config(
                        "--device metal: this tarjama was built without Metal (build with --features metal)".into(),
                    ));
                }
                Device::new_metal(n).map_err(|e| {
                    Error::Config(format!("--device metal:{n}: {}", candle_message(&e)))
                })
            }
            DeviceChoice::Auto => {
                if candle_core::utils::cuda_is_available() {
                    if let Ok(d) = Device::new_cuda(0) {
                        return Ok(d);
                    }
                }
                if candle_core::utils::metal_is_available() {
                    if let Ok(d) = Device::new_metal(0) {
                        return Ok(d);
                    }
                }
                Ok(Device::Cpu)
            }
        }
    }
}

/// Parses `--dtype` (`f32`, `f16`, `bf16`).
pub fn parse_dtype(s: &str) -> Result<DType> {
    match s {
        "f32" => Ok(DType::F32),
        "f16" => Ok(DType::F16),
        "bf16" => Ok(DType::BF16),
        _ => Err(Error::Config(format!("bad dtype {s:?} (f32, f16, bf16)"))),
    }
}

/// How a loaded model is identified in outputs (JSON, manifests).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ModelInfo {
    /// What the user passed to `--model` (preset, repo id or directory).
    pub name: String,
    /// Hub repo id, when it came from the Hub.
    pub repo: Option<String>,
    /// The resolved commit, when known.
    pub revision: Option<String>,
    /// The local directory the files were read from.
    pub dir: String,
    /// The dtype the weights were loaded in (`f32`, `f16`, `bf16`).
    pub dtype: String,
    /// The block format of quantized projections (`--quantize`), if any.
    pub quantization: Option<String>,
}

/// The `(source, target)` language codes a multilingual model (NLLB, M2M100) starts out with:
/// the preset's, else Arabic to English, the first pair the tokenizer knows both codes of.
/// `None` for tokenizers without language codes, or without either pair (such a tokenizer
/// keeps its own source and no target is forced).
fn default_pair(tokenizer: &dyn Tokenizer, files: &ModelFiles) -> Option<(String, String)> {
    let langs = tokenizer.languages()?;
    let known = |s: &str, t: &str| langs.token_id(s).is_ok() && langs.token_id(t).is_ok();
    let preset = files
        .preset
        .as_ref()
        .map(|p| (p.source_lang.as_str(), p.target_lang.as_str()));
    preset
        .into_iter()
        .chain([langs.scheme().default_pair()])
        .find(|(s, t)| known(s, t))
        .map(|(s, t)| (s.to_string(), t.to_string()))
}

/// Resolves `model` (as [`Seq2SeqPipeline::load`] does) and loads its tokenizer alone, no
/// weights, set up as the pipeline's would be: a multilingual tokenizer encodes the source
/// language [`Seq2SeqPipeline::load`] starts out with (the preset's, else Arabic). Returns it
/// with the resolved files. A Hub model that is not cached yet is still downloaded whole
/// ([`hub::resolve`] fetches every file the model needs).
///
/// Errors: resolution (unknown name, unreachable Hub with an empty cache, missing files) or
/// tokenizer loading, each naming the file or repo.
pub fn load_tokenizer(
    model: &str,
    revision: Option<&str>,
) -> Result<(Box<dyn Tokenizer>, ModelFiles)> {
    let files = hub::resolve(model, revision)?;
    let mut tokenizer = tokenize::load(&files.tokenizer, files.tokenizer_config.as_deref())?;
    if let Some((src, _)) = default_pair(tokenizer.as_ref(), &files) {
        tokenizer.set_source_language(&src)?;
    }
    Ok((tokenizer, files))
}

/// What [`Seq2SeqPipeline::generate`] returns: per input, its hypotheses (best first) and its
/// share of its batch's wall time in seconds.
pub type Generated = Vec<(Vec<Hypothesis>, f64)>;

/// A loaded encoder-decoder with its tokenizer and generation defaults.
pub struct Seq2SeqPipeline {
    /// The model.
    pub model: Box<dyn Seq2Seq>,
    /// Its tokenizer.
    pub tokenizer: Box<dyn Tokenizer>,
    /// Generation defaults: transformers' defaults, then the model's files, then the preset's.
    pub generation: GenerationConfig,
    /// Which model this is.
    pub info: ModelInfo,
    /// Seconds spent loading (resolving the files, reading the weights and tokenizer); the CLI
    /// adds the time of `--quantize`.
    pub load_seconds: f64,
    /// The resolved files (config, tokenizer, preset).
    pub files: ModelFiles,
    /// The model's `config.json`, parsed at load (read by [`Self::config_prefix`] and
    /// [`Self::task_specific_params`]).
    config_json: serde_json::Value,
}

impl Seq2SeqPipeline {
    /// Resolves `model` (preset, Hub repo id or local directory) and loads it on `device`.
    ///
    /// Errors: resolution (unknown name, unreachable Hub with an empty cache, missing files),
    /// tokenizer or weight loading, each naming the file or repo.
    pub fn load(
        model: &str,
        revision: Option<&str>,
        device: &Device,
        dtype: DType,
    ) -> Result<Self> {
        let t0 = Instant::now();
        let files = hub::resolve(model, revision)?;
        let tokenizer = tokenize::load(&files.tokenizer, files.tokenizer_config.as_deref())?;
        // config.json is read once: for the model family, the generation defaults and the
        // task settings (`prefix`, `task_specific_params`).
        let config_json: serde_json::Value = read_json(&files.config)?;
        let net = model::load(&config_json, &files.config, &files.weights, dtype, device)?;
        let generation_json = match &files.generation_config {
            Some(path) => Some((read_json::<serde_json::Value>(path)?, path.as_path())),
            None => None,
        };
        let mut generation = GenerationConfig::from_model_config(
            &config_json,
            &files.config,
            generation_json.as_ref().map(|(v, p)| (v, *p)),
        )?;
        if let Some(preset) = &files.preset {
            generation.apply(&preset.generation, ChosenBy::Preset);
        }
        let info = ModelInfo {
            name: model.to_string(),
            repo: match &files.source {
                hub::ModelSource::Hub { repo, .. } => Some(repo.clone()),
                hub::ModelSource::Local(_) => None,
            },
            revision: files.revision.clone(),
            dir: files.dir.display().to_string(),
            dtype: match dtype {
                DType::F16 => "f16",
                DType::BF16 => "bf16",
                _ => "f32",
            }
            .to_string(),
            quantization: None,
        };
        let mut pipe = Self {
            model: net,
            tokenizer,
            generation,
            info,
            load_seconds: t0.elapsed().as_secs_f64(),
            files,
            config_json,
        };
        pipe.default_languages()?;
        Ok(pipe)
    }

    /// Quantizes the model's projections to `q` (see [`Seq2Seq::quantize`]) and records it in
    /// [`ModelInfo::quantization`]. Errors on a projection whose input size is not a multiple of
    /// `q`'s block size.
    pub fn quantize(&mut self, q: crate::model::linear::Quantization) -> Result<()> {
        self.model.quantize(q)?;
        self.info.quantization = Some(q.to_string());
        Ok(())
    }

    /// Multilingual models (NLLB, M2M100) start out translating the preset's `source_lang` to
    /// its `target_lang`, or Arabic to English without a preset.
    fn default_languages(&mut self) -> Result<()> {
        let Some((src, tgt)) = default_pair(self.tokenizer.as_ref(), &self.files) else {
            return Ok(());
        };
        self.set_languages(Some(&src), Some(&tgt)).map(|_| ())
    }

    /// Sets the translation direction of a multilingual model (NLLB, M2M100): the source
    /// language, whose code the tokenizer puts in every input, and the target language, whose
    /// code becomes `forced_bos_token_id` in [`Self::generation`] (the first generated token).
    /// Codes are the model's: `arb_Arab`/`eng_Latn` for NLLB, `ar`/`en` for M2M100. `None`
    /// keeps the current one (after loading: the preset's direction, else Arabic to English).
    ///
    /// Returns the `(source, target)` codes now in effect, or `None` for models without
    /// language codes (Marian, BART, T5), which ignore the call.
    ///
    /// Errors: a code the model does not know (the message lists similar ones).
    pub fn set_languages(
        &mut self,
        src: Option<&str>,
        tgt: Option<&str>,
    ) -> Result<Option<(String, String)>> {
        let Some(langs) = self.tokenizer.languages() else {
            return Ok(None);
        };
        let tgt_id = match tgt {
            Some(code) => Some(langs.token_id(code)?),
            None => None,
        };
        if let Some(code) = src {
            self.tokenizer.set_source_language(code)?;
        }
        if let Some(id) = tgt_id {
            self.generation.forced_bos_token_id = Some(id);
        }
        Ok(self.languages())
    }

    /// The `(source, target)` language codes of a multilingual model (see
    /// [`Self::set_languages`]); `None` for models without language codes. The target is the
    /// language of [`Self::generation`]'s `forced_bos_token_id`.
    pub fn languages(&self) -> Option<(String, String)> {
        let langs = self.tokenizer.languages()?;
        let tgt = self
            .generation
            .forced_bos_token_id
            .and_then(|id| langs.code_of(id))
            .unwrap_or("")
            .to_string();
        Some((langs.source().to_string(), tgt))
    }

    /// Whether this model, as a translator, reads Arabic-script text: by its source language
    /// code for a multilingual model ([`Self::languages`], after `--src-lang`), else by its
    /// preset's `source_lang`, else yes (tarjama's translators are Arabic→English).
    /// See [`crate::text::script::arabic_script_code`].
    pub fn reads_arabic_script(&self) -> bool {
        use crate::text::script::arabic_script_code;
        match (self.languages(), self.files.preset.as_ref()) {
            (Some((src, _)), _) => arabic_script_code(&src),
            (None, Some(preset)) => arabic_script_code(&preset.source_lang),
            (None, None) => true,
        }
    }

    /// The top-level `prefix` of the model's `config.json` (`PretrainedConfig.prefix`, which
    /// transformers' text-to-text pipelines put before every input: `" "` for bart-large-cnn
    /// and distilbart-cnn), if it has one.
    pub fn config_prefix(&self) -> Option<&str> {
        self.config_json.get("prefix").and_then(|p| p.as_str())
    }

    /// `task_specific_params[task]` of the model's `config.json` (e.g. `summarization` for
    /// bart-large-cnn and T5: generation settings and a `prefix`), if it is there (an object).
    pub fn task_specific_params(&self, task: &str) -> Option<&serde_json::Value> {
        self.config_json
            .get("task_specific_params")
            .and_then(|t| t.get(task))
            .filter(|t| t.is_object())
    }

    /// Generates for one padded batch of token-id inputs (each already ending with `</s>`).
    /// Returns per input `cfg.num_return_sequences` hypotheses, best first. When sampling, input
    /// `i` draws from random stream `i` (see [`Self::generate_batch_rows`]).
    ///
    /// Errors: a model error, or [`Error::NonFinite`] (naming this model) when its scores hold
    /// NaN or +inf.
    pub fn generate_batch(
        &self,
        inputs: &[Vec<u32>],
        cfg: &GenerationConfig,
    ) -> Result<Vec<Vec<Hypothesis>>> {
        let rows: Vec<u64> = (0..inputs.len() as u64).collect();
        self.generate_batch_rows(inputs, &rows, cfg)
    }

    /// [`Self::generate_batch`], where `rows[i]` is input `i`'s index in the whole input, which
    /// numbers its random stream when sampling ([`decoding::generate_rows`]).
    pub fn generate_batch_rows(
        &self,
        inputs: &[Vec<u32>],
        rows: &[u64],
        cfg: &GenerationConfig,
    ) -> Result<Vec<Vec<Hypothesis>>> {
        if inputs.is_empty() {
            return Ok(Vec::new());
        }
        let device = self.model.device();
        let pad = self.tokenizer.pad_id();
        let width = inputs.iter().map(Vec::len).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(inputs.len() * width);
        let mut mask = Vec::with_capacity(inputs.len() * width);
        for row in inputs {
            ids.extend(row.iter().copied());
            ids.extend(std::iter::repeat_n(pad, width - row.len()));
            mask.extend(std::iter::repeat_n(1u8, row.len()));
            mask.extend(std::iter::repeat_n(0u8, width - row.len()));
        }
        let ids = Tensor::from_vec(ids, (inputs.len(), width), device)?;
        let mask = Tensor::from_vec(mask, (inputs.len(), width), device)?;
        let encoded = self.model.encode(&ids, &mask)?;
        decoding::generate_rows(|beams| self.model.decoder(&encoded, beams), rows, cfg).map_err(
            |e| match e {
                Error::NonFinite { value, step, .. } => Error::NonFinite {
                    model: Some(self.info.name.clone()),
                    value,
                    step,
                },
                e => e,
            },
        )
    }

    /// Generates for any number of inputs, `batch_size` at a time, longest first (so each
    /// padded batch holds inputs of similar length); results come back in input order, each
    /// with its share of its batch's wall time in seconds (batch time / batch size). When
    /// sampling, input `i` draws from random stream `i` whatever the batch size.
    pub fn generate(
        &self,
        inputs: &[Vec<u32>],
        cfg: &GenerationConfig,
        batch_size: usize,
    ) -> Result<Vec<(Vec<Hypothesis>, f64)>> {
        self.generate_planned(inputs, cfg, batch_size, None)
    }

    /// [`Self::generate`] with batches also bounded in padded tokens: the batches are
    /// [`plan_batches`]`(lengths, batch_size, max_batch_tokens)`. The outputs equal
    /// [`Self::generate`]'s (padding is masked); only the batch shapes, and so the time shares,
    /// differ.
    pub fn generate_planned(
        &self,
        inputs: &[Vec<u32>],
        cfg: &GenerationConfig,
        batch_size: usize,
        max_batch_tokens: Option<usize>,
    ) -> Result<Vec<(Vec<Hypothesis>, f64)>> {
        let mut never = |_: usize| ControlFlow::Continue(());
        match self.generate_with(inputs, None, cfg, batch_size, max_batch_tokens, &mut never)? {
            ControlFlow::Continue(out) => Ok(out),
            ControlFlow::Break(()) => unreachable!("the callback never stops"),
        }
    }

    /// [`Self::generate_planned`], where input `i` samples from random stream `streams[i]`
    /// (`None`: stream `i`; a caller numbers them so that a window of a document draws what the
    /// whole document at once would), calling `before_batch(done)` before each padded batch
    /// with the number of inputs finished so far: `Break` stops there and returns `Break`
    /// (nothing of the batches already decoded is kept).
    pub fn generate_with(
        &self,
        inputs: &[Vec<u32>],
        streams: Option<&[u64]>,
        cfg: &GenerationConfig,
        batch_size: usize,
        max_batch_tokens: Option<usize>,
        before_batch: &mut dyn FnMut(usize) -> ControlFlow<()>,
    ) -> Result<ControlFlow<(), Generated>> {
        let lengths: Vec<usize> = inputs.iter().map(Vec::len).collect();
        let mut out: Vec<(Vec<Hypothesis>, f64)> = vec![(Vec::new(), 0.0); inputs.len()];
        let mut done = 0;
        for chunk in plan_batches(&lengths, batch_size, max_batch_tokens) {
            if before_batch(done).is_break() {
                return Ok(ControlFlow::Break(()));
            }
            let t0 = Instant::now();
            let batch: Vec<Vec<u32>> = chunk.iter().map(|&i| inputs[i].clone()).collect();
            let rows: Vec<u64> = chunk
                .iter()
                .map(|&i| streams.map_or(i as u64, |s| s[i]))
                .collect();
            let hyps = self.generate_batch_rows(&batch, &rows, cfg)?;
            let share = t0.elapsed().as_secs_f64() / chunk.len() as f64;
            for (&i, h) in chunk.iter().zip(hyps) {
                out[i] = (h, share);
            }
            done += chunk.len();
        }
        Ok(ControlFlow::Continue(out))
    }
}

/// Cuts inputs of token lengths `lengths` into padded batches: returns the batches, each a list
/// of indices into `lengths`, together covering every index once.
///
/// The inputs are taken longest first (a stable sort: equal lengths keep their order), and a
/// batch is closed when one more input would make it hold more than `batch_size` rows
/// (`batch_size` 0 counts as 1) or, with `max_batch_tokens` `Some(n)`, more than `n` padded
/// tokens: rows × the longest length in the batch, which is its first input's. This is
/// CTranslate2's `max_batch_size` with `batch_type="tokens"`, where both limits apply at once.
/// An input longer than `n` alone makes a batch of its own. `None` gives `batch_size`-row
/// chunks of the sorted order, as [`Seq2SeqPipeline::generate`] has always batched.
pub fn plan_batches(
    lengths: &[usize],
    batch_size: usize,
    max_batch_tokens: Option<usize>,
) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(lengths[i]));
    let rows = batch_size.max(1);
    let mut batches: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    for i in order {
        // Sorted longest first, the batch's width is its first input's length.
        let width = current.first().map_or(lengths[i], |&f| lengths[f]);
        let too_many_tokens =
            max_batch_tokens.is_some_and(|n| (current.len() + 1).saturating_mul(width) > n);
        if !current.is_empty() && (current.len() == rows || too_many_tokens) {
            batches.push(std::mem::take(&mut current));
        }
        current.push(i);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::plan_batches;

    #[test]
    fn batches_by_rows_keep_the_longest_first_chunks() {
        // Sorted: 1 (9), 3 (7), 0 (5), 4 (5), 2 (2); equal lengths keep their order.
        let lengths = [5, 9, 2, 7, 5];
        assert_eq!(
            plan_batches(&lengths, 2, None),
            vec![vec![1, 3], vec![0, 4], vec![2]]
        );
        assert_eq!(plan_batches(&lengths, 0, None).len(), 5);
        assert!(plan_batches(&[], 8, Some(64)).is_empty());
    }

    #[test]
    fn batches_by_tokens_bound_rows_times_the_longest() {
        let lengths = [5, 9, 2, 7, 5, 30];
        // 30 > 20 alone; 9 + 7 -> 2 × 9 = 18 ≤ 20, a third row would be 27; 5, 5, 2 -> 15.
        assert_eq!(
            plan_batches(&lengths, 8, Some(20)),
            vec![vec![5], vec![1, 3], vec![0, 4, 2]]
        );
        // Both limits: at most 2 rows even where tokens would allow 3.
        assert_eq!(
            plan_batches(&lengths, 2, Some(20)),
            vec![vec![5], vec![1, 3], vec![0, 4], vec![2]]
        );
        // A limit every input exceeds: one input per batch.
        assert_eq!(
            plan_batches(&lengths, 8, Some(1)),
            vec![vec![5], vec![1], vec![3], vec![0], vec![4], vec![2]]
        );
        // Exactly at the limit stays in: 2 × 9 = 18.
        assert_eq!(
            plan_batches(&[9, 9, 9], 8, Some(18)),
            vec![vec![0, 1], vec![2]]
        );
    }
}
