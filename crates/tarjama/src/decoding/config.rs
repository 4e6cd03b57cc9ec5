//! [`GenerationConfig`]: the decoding settings, with transformers' `GenerationConfig` meaning
//! and defaults, built from a model's files ([`GenerationConfig::from_model_config`]) and
//! changed by [`GenerationPatch`]es in one place ([`GenerationConfig::apply`], [`ChosenBy`]).

use std::path::Path;
use std::str::FromStr;

use serde_json::Value;

use super::patch::{GenerationPatch, TokenIds};
use crate::error::{Error, Result};

/// `early_stopping`: when beam search stops (transformers' three values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EarlyStopping {
    /// `True`: stop as soon as `num_beams` finished hypotheses exist.
    True,
    /// `False` (the default): stop when a heuristic says no running beam can beat the worst
    /// finished one at the current length.
    #[default]
    False,
    /// `"never"`: the canonical rule; with a positive length penalty the best possible score is
    /// estimated at `max_length`.
    Never,
}

impl FromStr for EarlyStopping {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "true" => Ok(EarlyStopping::True),
            "false" => Ok(EarlyStopping::False),
            "never" => Ok(EarlyStopping::Never),
            _ => Err(Error::Config(format!(
                "early stopping must be true, false or never, not {s:?}"
            ))),
        }
    }
}

/// Decoding settings. Every field means what the same-named transformers `generate()` argument
/// means; defaults are transformers' (`GenerationConfig()`), then the model's
/// `generation_config.json` (or, without one, the generation fields of `config.json`), then the
/// task's, the preset's and the flags' patches, in that order (see [`GenerationConfig::apply`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GenerationConfig {
    /// Longest output in tokens, counting the decoder start token. Default 20 (which, when the
    /// user did not set it, transformers turns into 20 new tokens: see [`Self::max_length_set`]).
    pub max_length: usize,
    /// Whether `max_length` was passed explicitly (a flag: transformers' `generate(max_length=..)`).
    /// When not, and it is 20 (the default), the limit becomes 20 new tokens capped by the
    /// position table, as transformers does.
    pub max_length_set: bool,
    /// New tokens to generate at most, not counting the decoder start token; overrides
    /// `max_length` when set.
    pub max_new_tokens: Option<usize>,
    /// Shortest output in tokens, counting the decoder start token (EOS is banned before).
    pub min_length: usize,
    /// Shortest output in new tokens; overrides `min_length` when set.
    pub min_new_tokens: Option<usize>,
    /// Beam width; 1 is greedy search.
    pub num_beams: usize,
    /// Hypotheses returned per input (at most `num_beams`).
    pub num_return_sequences: usize,
    /// Exponent of the length in beam scores: `sum_logprobs / len^length_penalty`.
    pub length_penalty: f32,
    /// Beam-search stopping rule.
    pub early_stopping: EarlyStopping,
    /// No n-gram of this size may occur twice (0 = off).
    pub no_repeat_ngram_size: usize,
    /// Penalty (>1 discourages) on tokens already in the output (1.0 = off; CTRL paper).
    pub repetition_penalty: f32,
    /// Token sequences that may not be generated (opus-mt bans `[[pad]]`).
    pub bad_words_ids: Vec<Vec<u32>>,
    /// Take a log-softmax again after all logits processors.
    pub renormalize_logits: bool,
    /// Token forced at the last position the length limit allows.
    pub forced_eos_token_id: Option<u32>,
    /// Token forced as the first generated token.
    pub forced_bos_token_id: Option<u32>,
    /// The token the decoder starts from.
    pub decoder_start_token_id: u32,
    /// End-of-sequence ids.
    pub eos_token_ids: Vec<u32>,
    /// Padding id (fills finished greedy rows, as transformers does).
    pub pad_token_id: u32,
    /// Size of the position table (caps the default length limit), if known.
    pub max_position_embeddings: Option<usize>,
    /// Sample each next token from the processed, warped distribution instead of taking the
    /// most likely one (one beam only: beam sampling is refused by [`Self::validate`]).
    /// Serialized only when `true`, as are the sampling fields below only when not at their
    /// defaults (so outputs that print the settings are unchanged without sampling).
    #[serde(skip_serializing_if = "is_false")]
    pub do_sample: bool,
    /// Scores are divided by this before top-k and top-p (`TemperatureLogitsWarper`; above 0;
    /// 1.0 = off). Read only when sampling.
    #[serde(skip_serializing_if = "is_one")]
    pub temperature: f32,
    /// Keep only the `top_k` most likely tokens (`TopKLogitsWarper`; 0 = off). transformers'
    /// default 50 applies only when sampling.
    #[serde(skip_serializing_if = "is_fifty")]
    pub top_k: usize,
    /// Keep only the smallest set of most likely tokens whose probabilities add up to at least
    /// `top_p` (`TopPLogitsWarper`; in (0, 1]; 1.0 = off). Read only when sampling.
    #[serde(skip_serializing_if = "is_one")]
    pub top_p: f32,
    /// The seed of the sampling streams (tarjama's own: transformers has none, torch's generator
    /// differs); set to [`DEFAULT_SEED`] by [`Self::apply`] whenever sampling is on without
    /// one, so a sampled run always shows the seed that repeats it. `None` without sampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

/// The seed sampling uses when none is given: fixed, so that a run repeats by default
/// (transformers draws from torch's global generator, random unless seeded).
pub const DEFAULT_SEED: u64 = 0;

fn is_false(x: &bool) -> bool {
    !*x
}

fn is_one(x: &f32) -> bool {
    *x == 1.0
}

fn is_fifty(x: &usize) -> bool {
    *x == 50
}

impl Default for GenerationConfig {
    fn default() -> Self {
        Self {
            max_length: 20,
            max_length_set: false,
            max_new_tokens: None,
            min_length: 0,
            min_new_tokens: None,
            num_beams: 1,
            num_return_sequences: 1,
            length_penalty: 1.0,
            early_stopping: EarlyStopping::False,
            no_repeat_ngram_size: 0,
            repetition_penalty: 1.0,
            bad_words_ids: Vec::new(),
            renormalize_logits: false,
            forced_eos_token_id: None,
            forced_bos_token_id: None,
            decoder_start_token_id: 0,
            eos_token_ids: Vec::new(),
            pad_token_id: 0,
            max_position_embeddings: None,
            do_sample: false,
            temperature: 1.0,
            top_k: 50,
            top_p: 1.0,
            seed: None,
        }
    }
}

/// Who chose a patch's settings, which decides how its `max_length` meets a `max_new_tokens`
/// already in the settings (see [`GenerationConfig::apply`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChosenBy {
    /// The model's files (`generation_config.json`, `config.json`, `task_specific_params`):
    /// each key replaces its setting, nothing else changes (transformers'
    /// `GenerationConfig.update`).
    Model,
    /// tarjama's preset: as [`ChosenBy::Model`], and a `max_length` given without
    /// `max_new_tokens` also drops a `max_new_tokens` from the defaults (the summarization
    /// pipeline's 256), which would otherwise win over it.
    Preset,
    /// The user (flags), as `generate()` arguments: as [`ChosenBy::Preset`], and the
    /// `max_length` is taken literally ([`GenerationConfig::max_length_set`]).
    User,
}

/// Fills in what transformers' config classes set when `config.json` does not say:
/// `forced_eos_token_id` (2 for `BartConfig`/`MBartConfig`, 0 for `MarianConfig`) and BART's
/// legacy `force_bos_token_to_be_generated` (forced BOS = `bos_token_id`). These reach
/// `generate()` through `GenerationConfig.from_model_config` when a repo has no
/// `generation_config.json` (e.g. sshleifer/distilbart-cnn-12-6). An explicit `null` stays.
fn apply_config_class_defaults(model: &mut Value) {
    let Some(obj) = model.as_object_mut() else {
        return;
    };
    let model_type = obj
        .get("model_type")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string();
    let forced_eos = match model_type.as_str() {
        "bart" | "mbart" => Some(2),
        "marian" => Some(0),
        _ => None,
    };
    if let Some(id) = forced_eos {
        obj.entry("forced_eos_token_id").or_insert(Value::from(id));
    }
    if model_type == "bart"
        && obj.get("forced_bos_token_id").is_none_or(Value::is_null)
        && obj.get("force_bos_token_to_be_generated") == Some(&Value::Bool(true))
    {
        if let Some(bos) = obj.get("bos_token_id").cloned() {
            obj.insert("forced_bos_token_id".into(), bos);
        }
    }
}

impl GenerationConfig {
    /// Builds the model's default settings the way transformers does, from the parsed
    /// `config.json` (`config`, read from `config_path`) and `generation_config.json` (with its
    /// path) when the model has one: transformers' defaults, then `generation_config.json` or,
    /// without one, the generation keys of `config.json` over its config class's defaults
    /// (`GenerationConfig.from_model_config`). Token ids `generation_config.json` leaves out
    /// are taken from `config.json`; `pad_token_id` defaults to the first EOS id and
    /// `decoder_start_token_id` to `bos_token_id`.
    ///
    /// Errors (naming the file): a malformed generation value (see
    /// [`GenerationPatch::from_json`]), or no usable EOS / decoder start id.
    pub fn from_model_config(
        config: &Value,
        config_path: &Path,
        generation_config: Option<(&Value, &Path)>,
    ) -> Result<Self> {
        let mut model = config.clone();
        apply_config_class_defaults(&mut model);
        let (source, source_path) = generation_config.unwrap_or((&model, config_path));
        let file =
            GenerationPatch::from_json(source).map_err(|msg| Error::input(source_path, msg))?;
        let mut cfg = GenerationConfig::default();
        cfg.apply(&file, ChosenBy::Model);
        // The token ids: the source's, else config.json's.
        let fallback = match generation_config {
            Some(_) => GenerationPatch::lenient(&model),
            None => GenerationPatch::default(),
        };
        let id = |key: fn(&GenerationPatch) -> &Option<TokenIds>| {
            key(&file).as_ref().or(key(&fallback).as_ref())
        };
        cfg.eos_token_ids = id(|p| &p.eos_token_id)
            .map(TokenIds::to_vec)
            .ok_or_else(|| {
                Error::input(
                    config_path,
                    "no eos_token_id in config.json or generation_config.json",
                )
            })?;
        cfg.pad_token_id = id(|p| &p.pad_token_id)
            .and_then(TokenIds::single)
            .unwrap_or(cfg.eos_token_ids[0]);
        cfg.decoder_start_token_id = id(|p| &p.decoder_start_token_id)
            .or_else(|| id(|p| &p.bos_token_id))
            .and_then(TokenIds::single)
            .ok_or_else(|| {
                Error::input(config_path, "no decoder_start_token_id or bos_token_id")
            })?;
        cfg.forced_eos_token_id = id(|p| &p.forced_eos_token_id).and_then(TokenIds::single);
        cfg.forced_bos_token_id = id(|p| &p.forced_bos_token_id).and_then(TokenIds::single);
        cfg.max_position_embeddings = Self::positions(&model);
        Ok(cfg)
    }

    /// The decoder positions a model's `config.json` (`model`, parsed) gives:
    /// `max_position_embeddings`, or `None` (models with relative positions, such as T5).
    pub fn positions(model: &serde_json::Value) -> Option<usize> {
        model
            .get("max_position_embeddings")
            .and_then(|v| v.as_u64())
            .map(|x| x as usize)
    }

    /// Writes every setting `patch` has into `self`; what `by` changes besides is said on
    /// [`ChosenBy`]. With sampling on and no seed yet, the seed becomes [`DEFAULT_SEED`]. Token ids given as a list where one id is needed (`pad_token_id`,
    /// `decoder_start_token_id`, the forced ids) are left as they are.
    pub fn apply(&mut self, patch: &GenerationPatch, by: ChosenBy) {
        let p = patch;
        if let Some(x) = p.max_length {
            self.max_length = x;
            if by != ChosenBy::Model && p.max_new_tokens.is_none() {
                self.max_new_tokens = None;
            }
            if by == ChosenBy::User {
                self.max_length_set = true;
            }
        }
        if let Some(x) = p.max_new_tokens {
            self.max_new_tokens = Some(x);
        }
        if let Some(x) = p.min_length {
            self.min_length = x;
        }
        if let Some(x) = p.min_new_tokens {
            self.min_new_tokens = Some(x);
        }
        if let Some(x) = p.num_beams {
            self.num_beams = x;
        }
        if let Some(x) = p.num_return_sequences {
            self.num_return_sequences = x;
        }
        if let Some(x) = p.length_penalty {
            self.length_penalty = x as f32;
        }
        if let Some(x) = p.early_stopping {
            self.early_stopping = x;
        }
        if let Some(x) = p.no_repeat_ngram_size {
            self.no_repeat_ngram_size = x;
        }
        if let Some(x) = p.repetition_penalty {
            self.repetition_penalty = x as f32;
        }
        if let Some(x) = &p.bad_words_ids {
            self.bad_words_ids = x.clone();
        }
        if let Some(x) = p.renormalize_logits {
            self.renormalize_logits = x;
        }
        let single = |ids: &Option<TokenIds>| ids.as_ref().and_then(TokenIds::single);
        if let Some(x) = single(&p.forced_bos_token_id) {
            self.forced_bos_token_id = Some(x);
        }
        if let Some(x) = single(&p.forced_eos_token_id) {
            self.forced_eos_token_id = Some(x);
        }
        if let Some(x) = single(&p.decoder_start_token_id) {
            self.decoder_start_token_id = x;
        }
        if let Some(x) = single(&p.pad_token_id) {
            self.pad_token_id = x;
        }
        if let Some(x) = &p.eos_token_id {
            self.eos_token_ids = x.to_vec();
        }
        if let Some(x) = p.do_sample {
            self.do_sample = x;
        }
        if let Some(x) = p.temperature {
            self.temperature = x as f32;
        }
        if let Some(x) = p.top_k {
            self.top_k = x;
        }
        if let Some(x) = p.top_p {
            self.top_p = x as f32;
        }
        if let Some(x) = p.seed {
            self.seed = Some(x);
        }
        if self.do_sample && self.seed.is_none() {
            self.seed = Some(DEFAULT_SEED);
        }
    }

    /// The length limit in tokens counting the decoder start token, as transformers'
    /// `_prepare_generated_length` computes it.
    pub fn effective_max_length(&self) -> usize {
        if let Some(n) = self.max_new_tokens {
            return n + 1;
        }
        if !self.max_length_set && self.max_length == 20 {
            let l = self.max_length + 1;
            return match self.max_position_embeddings {
                Some(p) => l.min(p),
                None => l,
            };
        }
        self.max_length
    }

    /// The minimum length counting the decoder start token (`min_new_tokens` wins when set).
    pub fn effective_min_length(&self) -> usize {
        match self.min_new_tokens {
            Some(n) => n + 1,
            None => self.min_length,
        }
    }

    /// The warnings transformers (4.57) gives about these settings, in its words: those of
    /// `GenerationConfig.validate` that apply to tarjama's settings (`temperature`, `top_p`,
    /// `top_k` away from their defaults, or a `seed`, without `do_sample`, which only sampling
    /// reads; `early_stopping` or
    /// `length_penalty` set with `num_beams` 1, which only beam search reads; transformers'
    /// one line at its default verbosity, with the reason its info level gives) and of
    /// `generate()`'s `_validate_generated_length` (`Unfeasible length constraints`: a minimum
    /// length above the length limit; the search then stops at the limit). With
    /// `min_new_tokens` set there are two, as in transformers: about `min_length` (which it
    /// becomes, plus the one decoder start token) and about `min_new_tokens`. transformers' warning
    /// about the model-agnostic default `max_length` of 20 is not repeated: it is about the
    /// model's files, not the settings chosen. Nothing is printed here; the caller shows them.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut sample_only = Vec::new();
        if !self.do_sample {
            // In transformers' order (`GenerationConfig.validate`); the seed is tarjama's.
            if self.temperature != 1.0 {
                sample_only.push("'temperature'");
            }
            if self.top_p != 1.0 {
                sample_only.push("'top_p'");
            }
            if self.top_k != 50 {
                sample_only.push("'top_k'");
            }
            if self.seed.is_some() {
                sample_only.push("'seed'");
            }
        }
        let mut beam_only = Vec::new();
        if self.num_beams == 1 {
            if self.early_stopping != EarlyStopping::False {
                beam_only.push("'early_stopping'");
            }
            if self.length_penalty != 1.0 {
                beam_only.push("'length_penalty'");
            }
        }
        let reason = match (sample_only.is_empty(), beam_only.is_empty()) {
            (true, true) => None,
            (false, true) => Some(
                "`do_sample` is set to `False`: they are only used in sample-based generation \
                 modes."
                    .to_string(),
            ),
            (true, false) => Some(
                "`num_beams` is set to 1: they are only used in beam-based generation modes."
                    .to_string(),
            ),
            (false, false) => Some(format!(
                "`do_sample` is set to `False` and `num_beams` to 1: {} are only used in \
                 sample-based generation modes, {} in beam-based ones.",
                sample_only.join(", "),
                beam_only.join(", ")
            )),
        };
        if let Some(reason) = reason {
            let all: Vec<&str> = sample_only.iter().chain(&beam_only).copied().collect();
            out.push(format!(
                "The following generation flags are not valid and may be ignored: [{}]. {reason}",
                all.join(", ")
            ));
        }
        let max = self.effective_max_length();
        let mut suffix = String::from(
            " Generation will stop at the defined maximum length. You should decrease the minimum \
             length and/or increase the maximum length.",
        );
        if !self.max_length_set {
            suffix.push_str(&format!(
                " Note that `max_length` is set to {max}, its default value."
            ));
        }
        // transformers turns min_new_tokens into min_length (plus the one start token) and
        // then warns about each.
        let min_length = self.effective_min_length();
        if min_length > max {
            out.push(format!(
                "Unfeasible length constraints: `min_length` ({min_length}) is larger than the \
                 maximum possible length ({max}).{suffix}"
            ));
        }
        if let Some(n) = self.min_new_tokens.filter(|&n| n + 1 > max) {
            out.push(format!(
                "Unfeasible length constraints: `min_new_tokens` ({n}), when added to the prompt \
                 length (1), is larger than the maximum possible length ({max}).{suffix}"
            ));
        }
        out
    }

    /// Checks the settings a search relies on.
    ///
    /// Errors: `num_beams` 0, `num_return_sequences` 0 or above `num_beams`, a length limit
    /// below 2 (no room for one new token), no EOS id, a repetition penalty ≤ 0, or, with
    /// `do_sample`: more than one beam (beam sampling is not implemented), a temperature that
    /// is not a finite number above 0, or a `top_p` outside (0, 1].
    pub fn validate(&self) -> Result<()> {
        if self.num_beams == 0 {
            return Err(Error::Config("num_beams must be at least 1".into()));
        }
        if self.num_return_sequences == 0 || self.num_return_sequences > self.num_beams {
            return Err(Error::Config(format!(
                "num_return_sequences ({}) must be between 1 and num_beams ({})",
                self.num_return_sequences, self.num_beams
            )));
        }
        if self.effective_max_length() < 2 {
            return Err(Error::Config(
                "the length limit leaves no room for a new token (max_length counts the decoder start token)"
                    .into(),
            ));
        }
        if self.eos_token_ids.is_empty() {
            return Err(Error::Config("no eos_token_id".into()));
        }
        if self.repetition_penalty <= 0.0 {
            return Err(Error::Config("repetition_penalty must be positive".into()));
        }
        if self.do_sample {
            if self.num_beams > 1 {
                return Err(Error::Config(format!(
                    "beam sampling (do_sample with num_beams {}) is not supported: sampling needs \
                     num_beams 1",
                    self.num_beams
                )));
            }
            if !(self.temperature.is_finite() && self.temperature > 0.0) {
                return Err(Error::Config(format!(
                    "temperature must be a finite number above 0, not {}",
                    self.temperature
                )));
            }
            if !(self.top_p > 0.0 && self.top_p <= 1.0) {
                return Err(Error::Config(format!(
                    "top_p must be above 0 and at most 1, not {}",
                    self.top_p
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn from_config(config: Value) -> GenerationConfig {
        GenerationConfig::from_model_config(&config, Path::new("m/config.json"), None).unwrap()
    }

    #[test]
    fn malformed_generation_config_names_the_file_and_the_key() {
        let config = json!({"eos_token_id": 0, "decoder_start_token_id": 1});
        let gen = json!({"num_beams": "four"});
        let gen_path = Path::new("m/generation_config.json");
        let msg = GenerationConfig::from_model_config(
            &config,
            Path::new("m/config.json"),
            Some((&gen, gen_path)),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            msg,
            "m/generation_config.json: num_beams must be a non-negative integer, not \"four\""
        );
        // Without generation_config.json, config.json's generation keys are checked.
        let config = json!({"eos_token_id": 0, "decoder_start_token_id": 1, "length_penalty": "x"});
        let msg = GenerationConfig::from_model_config(&config, Path::new("m/config.json"), None)
            .unwrap_err()
            .to_string();
        assert_eq!(
            msg,
            "m/config.json: length_penalty must be a number, not \"x\""
        );
        // With one, config.json only fills in token ids: its other keys are not read.
        let gen = json!({"eos_token_id": 3});
        let c = GenerationConfig::from_model_config(
            &config,
            Path::new("m/config.json"),
            Some((&gen, gen_path)),
        )
        .unwrap();
        assert_eq!((c.eos_token_ids, c.decoder_start_token_id), (vec![3], 1));
        assert_eq!(c.length_penalty, 1.0);
    }

    #[test]
    fn generation_config_json_wins_over_config_json_and_fills_in_from_it() {
        // m2m100-style: config.json holds old generation keys, generation_config.json the
        // current ones; token ids generation_config.json lacks come from config.json.
        let config = json!({
            "model_type": "m2m_100", "eos_token_id": 2, "pad_token_id": 1, "bos_token_id": 0,
            "decoder_start_token_id": 2, "num_beams": 5, "max_length": 200,
            "forced_bos_token_id": 7, "max_position_embeddings": 1024
        });
        let gen = json!({"eos_token_id": [2, 3], "num_beams": 2, "max_new_tokens": null});
        let c = GenerationConfig::from_model_config(
            &config,
            Path::new("config.json"),
            Some((&gen, Path::new("generation_config.json"))),
        )
        .unwrap();
        assert_eq!(c.num_beams, 2);
        assert_eq!(c.max_length, 20);
        assert_eq!(c.eos_token_ids, vec![2, 3]);
        assert_eq!(c.pad_token_id, 1);
        assert_eq!(c.decoder_start_token_id, 2);
        assert_eq!(c.forced_bos_token_id, Some(7));
        assert_eq!(c.max_position_embeddings, Some(1024));
        // No pad id anywhere: the first EOS id; no decoder start: the BOS id.
        let c = from_config(json!({"eos_token_id": [5, 6], "bos_token_id": 4}));
        assert_eq!((c.pad_token_id, c.decoder_start_token_id), (5, 4));
        let err = GenerationConfig::from_model_config(
            &json!({"eos_token_id": 1}),
            Path::new("c.json"),
            None,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(err, "c.json: no decoder_start_token_id or bos_token_id");
    }

    #[test]
    fn patches_merge_in_order_and_the_later_one_wins() {
        // config.json → task_specific_params → preset → flags, each setting num_beams.
        let mut cfg = from_config(json!({
            "model_type": "t5", "eos_token_id": 1, "decoder_start_token_id": 0,
            "num_beams": 2, "length_penalty": 0.5, "min_length": 3
        }));
        assert_eq!(
            (cfg.num_beams, cfg.length_penalty, cfg.min_length),
            (2, 0.5, 3)
        );
        let tsp = GenerationPatch::lenient(&json!({"num_beams": 3, "length_penalty": 2.0}));
        cfg.apply(&tsp, ChosenBy::Model);
        assert_eq!(
            (cfg.num_beams, cfg.length_penalty, cfg.min_length),
            (3, 2.0, 3)
        );
        let preset: GenerationPatch = toml::from_str("num_beams = 4\nmin_length = 30").unwrap();
        cfg.apply(&preset, ChosenBy::Preset);
        assert_eq!(
            (cfg.num_beams, cfg.length_penalty, cfg.min_length),
            (4, 2.0, 30)
        );
        let flags = GenerationPatch {
            num_beams: Some(1),
            ..GenerationPatch::default()
        };
        cfg.apply(&flags, ChosenBy::User);
        assert_eq!(
            (cfg.num_beams, cfg.length_penalty, cfg.min_length),
            (1, 2.0, 30)
        );
        // An empty patch changes nothing.
        let before = cfg.clone();
        cfg.apply(&GenerationPatch::default(), ChosenBy::User);
        assert_eq!(cfg, before);
    }

    #[test]
    fn an_explicit_max_length_replaces_a_default_max_new_tokens() {
        let defaults = GenerationConfig {
            max_new_tokens: Some(256),
            ..GenerationConfig::default()
        };
        let max_length = GenerationPatch {
            max_length: Some(40),
            ..GenerationPatch::default()
        };
        // From the model's files, max_new_tokens still wins.
        let mut cfg = defaults.clone();
        cfg.apply(&max_length, ChosenBy::Model);
        assert_eq!(
            (cfg.effective_max_length(), cfg.max_length_set),
            (257, false)
        );
        // A preset's or a flag's max_length replaces it; only a flag's counts literally.
        let mut cfg = defaults.clone();
        cfg.apply(&max_length, ChosenBy::Preset);
        assert_eq!(
            (cfg.effective_max_length(), cfg.max_length_set),
            (40, false)
        );
        let mut cfg = defaults.clone();
        cfg.apply(&max_length, ChosenBy::User);
        assert_eq!((cfg.effective_max_length(), cfg.max_length_set), (40, true));
        // max_new_tokens, when also given, still wins.
        let both = GenerationPatch {
            max_new_tokens: Some(10),
            ..max_length
        };
        cfg.apply(&both, ChosenBy::User);
        assert_eq!(cfg.effective_max_length(), 11);
    }

    #[test]
    fn warnings_are_transformers_words() {
        let base = GenerationConfig {
            eos_token_ids: vec![0],
            ..GenerationConfig::default()
        };
        assert!(base.warnings().is_empty());
        // Beam-only settings with one beam.
        let c = GenerationConfig {
            length_penalty: 2.0,
            early_stopping: EarlyStopping::True,
            ..base.clone()
        };
        assert_eq!(
            c.warnings(),
            vec![
                "The following generation flags are not valid and may be ignored: \
                 ['early_stopping', 'length_penalty']. `num_beams` is set to 1: they are only \
                 used in beam-based generation modes."
            ]
        );
        let c = GenerationConfig { num_beams: 4, ..c };
        assert!(c.warnings().is_empty());
        let c = GenerationConfig {
            early_stopping: EarlyStopping::Never,
            ..base.clone()
        };
        assert!(c.warnings()[0].contains("ignored: ['early_stopping']."));
        // A minimum above the limit: the model's max_length 64 (not set by the user); the
        // words of transformers 4.57.6 for marian-tiny's generate(min_length=80).
        let c = GenerationConfig {
            max_length: 64,
            min_length: 80,
            ..base.clone()
        };
        assert_eq!(
            c.warnings(),
            vec![
                "Unfeasible length constraints: `min_length` (80) is larger than the maximum \
                 possible length (64). Generation will stop at the defined maximum length. You \
                 should decrease the minimum length and/or increase the maximum length. Note \
                 that `max_length` is set to 64, its default value."
            ]
        );
        let c = GenerationConfig {
            min_length: 64,
            ..c
        };
        assert!(c.warnings().is_empty());
        // min_new_tokens wins; a max_length the user set gets no note.
        let c = GenerationConfig {
            max_length: 10,
            max_length_set: true,
            min_new_tokens: Some(10),
            ..base.clone()
        };
        // As transformers 4.57.6 prints them for generate(max_length=10, min_new_tokens=10).
        assert_eq!(
            c.warnings(),
            vec![
                "Unfeasible length constraints: `min_length` (11) is larger than the maximum \
                 possible length (10). Generation will stop at the defined maximum length. You \
                 should decrease the minimum length and/or increase the maximum length.",
                "Unfeasible length constraints: `min_new_tokens` (10), when added to the prompt \
                 length (1), is larger than the maximum possible length (10). Generation will \
                 stop at the defined maximum length. You should decrease the minimum length \
                 and/or increase the maximum length."
            ]
        );
        let c = GenerationConfig {
            min_new_tokens: Some(9),
            ..c
        };
        assert!(c.warnings().is_empty());
    }

    #[test]
    fn sampling_settings_warn_without_do_sample_and_serialize_only_when_set() {
        let base = GenerationConfig {
            eos_token_ids: vec![0],
            ..GenerationConfig::default()
        };
        let c = GenerationConfig {
            temperature: 0.7,
            top_k: 10,
            top_p: 0.9,
            ..base.clone()
        };
        assert_eq!(
            c.warnings(),
            vec![
                "The following generation flags are not valid and may be ignored: \
                 ['temperature', 'top_p', 'top_k']. `do_sample` is set to `False`: they are only \
                 used in sample-based generation modes."
            ]
        );
        let c = GenerationConfig {
            length_penalty: 2.0,
            ..c
        };
        assert_eq!(
            c.warnings(),
            vec![
                "The following generation flags are not valid and may be ignored: \
                 ['temperature', 'top_p', 'top_k', 'length_penalty']. `do_sample` is set to \
                 `False` and `num_beams` to 1: 'temperature', 'top_p', 'top_k' are only used in \
                 sample-based generation modes, 'length_penalty' in beam-based ones."
            ]
        );
        let on = GenerationConfig {
            do_sample: true,
            ..c.clone()
        };
        assert_eq!(on.warnings().len(), 1, "only length_penalty is left");
        // Without sampling, the serialized settings have none of the new keys.
        let json = serde_json::to_value(&base).unwrap();
        for k in ["do_sample", "temperature", "top_k", "top_p", "seed"] {
            assert!(json.get(k).is_none(), "{k}");
        }
        // Sampling on through a patch: the seed becomes the default one and is listed.
        let mut s = base.clone();
        s.apply(
            &GenerationPatch {
                do_sample: Some(true),
                top_p: Some(0.5),
                ..GenerationPatch::default()
            },
            ChosenBy::User,
        );
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["do_sample"], true);
        assert_eq!(json["top_p"], 0.5);
        assert_eq!(json["seed"], DEFAULT_SEED);
        assert!(json.get("top_k").is_none() && json.get("temperature").is_none());
        // Bounds checked when sampling.
        for (bad, msg) in [
            (GenerationConfig { temperature: 0.0, ..s.clone() }, "temperature must be a finite number above 0, not 0"),
            (GenerationConfig { top_p: 0.0, ..s.clone() }, "top_p must be above 0 and at most 1, not 0"),
            (GenerationConfig { num_beams: 2, ..s.clone() }, "beam sampling (do_sample with num_beams 2) is not supported: sampling needs num_beams 1"),
        ] {
            assert_eq!(bad.validate().unwrap_err().to_string(), msg);
        }
        assert!(s.validate().is_ok());
    }

    #[test]
    fn config_class_defaults_apply_without_generation_config() {
        // distilbart-cnn-12-6 style: no forced_eos_token_id in config.json, BartConfig's is 2.
        let c = from_config(
            json!({"model_type":"bart","eos_token_id":2,"pad_token_id":1,
            "bos_token_id":0, "decoder_start_token_id":2,"num_beams":4,"max_length":142}),
        );
        assert_eq!(c.forced_eos_token_id, Some(2));
        assert_eq!(c.forced_bos_token_id, None);
        assert_eq!(c.num_beams, 4);
        assert_eq!(c.effective_max_length(), 142);
        // The legacy flag turns on forced BOS.
        let c = from_config(
            json!({"model_type":"bart","eos_token_id":2,"pad_token_id":1,
            "bos_token_id":0, "decoder_start_token_id":2,"force_bos_token_to_be_generated":true}),
        );
        assert_eq!(c.forced_bos_token_id, Some(0));
        // An explicit null stays unset.
        let c = from_config(json!({"model_type":"marian","eos_token_id":0,
            "decoder_start_token_id":1,"forced_eos_token_id":null}));
        assert_eq!(c.forced_eos_token_id, None);
        // T5 has no class default.
        let c = from_config(
            json!({"model_type":"t5","eos_token_id":1,"pad_token_id":0,"decoder_start_token_id":0}),
        );
        assert_eq!(c.forced_eos_token_id, None);
        // Default max_length 20 means 20 new tokens (21 with the start token).
        assert_eq!(c.effective_max_length(), 21);
    }
}
