//! Pipelines: tasks built from the stages (normalize → segment → tokenize → generate →
//! detokenize → join). [`Seq2SeqPipeline`] is a loaded model with its tokenizer and generation
//! defaults; [`translate`] drives it over documents, [`summarize`] summarizes a text with the
//! settings [`summarizer`] chooses, [`run`](mod@run) does both, and [`batch`] does any of them
//! over a folder.

pub mod batch;
pub mod prompt;
pub mod run;
pub mod stats;
pub mod summarize;
pub mod summarizer;
pub mod translate;

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
    /// Seconds spent loading.
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
        let Some(langs) = self.tokenizer.languages() else {
            return Ok(());
        };
        let known = |s: &str, t: &str| langs.token_id(s).is_ok() && langs.token_id(t).is_ok();
        let preset = self
            .files
            .preset
            .as_ref()
            .map(|p| (p.source_lang.as_str(), p.target_lang.as_str()));
        let Some((src, tgt)) = preset
            .into_iter()
            .chain([langs.scheme().default_pair()])
            .find(|(s, t)| known(s, t))
        else {
            // A tokenizer without Arabic or English keeps its own source; no target is forced.
            return Ok(());
        };
        let (src, tgt) = (src.to_string(), tgt.to_string());
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
        decoding::generate_rows(|beams| self.model.decoder(&encoded, beams), rows, cfg)
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
        let mut order: Vec<usize> = (0..inputs.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(inputs[i].len()));
        let mut out: Vec<(Vec<Hypothesis>, f64)> = vec![(Vec::new(), 0.0); inputs.len()];
        for chunk in order.chunks(batch_size.max(1)) {
            let t0 = Instant::now();
            let batch: Vec<Vec<u32>> = chunk.iter().map(|&i| inputs[i].clone()).collect();
            let rows: Vec<u64> = chunk.iter().map(|&i| i as u64).collect();
            let hyps = self.generate_batch_rows(&batch, &rows, cfg)?;
            let share = t0.elapsed().as_secs_f64() / chunk.len() as f64;
            for (&i, h) in chunk.iter().zip(hyps) {
                out[i] = (h, share);
            }
        }
        Ok(out)
    }
}
