//! Which files of a model in the Hub's layout tarjama uses, found the same way in a local
//! directory, a cache snapshot and a Hub repo's file list.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::tokenize::TokenizerFiles;
use crate::{Error, Result};

/// The model's weights, in the order tarjama looks for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Weights {
    /// `model.safetensors`, or the shards listed by `model.safetensors.index.json`
    /// (each file once, sorted by name).
    Safetensors(Vec<PathBuf>),
    /// `pytorch_model.bin`, or the shards listed by `pytorch_model.bin.index.json` (each file
    /// once, sorted by name): PyTorch checkpoints in the zip or the legacy format, read by
    /// [`crate::model::weights::PthWeights`].
    PytorchBin(Vec<PathBuf>),
}

/// Files found for a model (everything in [`super::ModelFiles`] that comes from the layout).
#[derive(Debug)]
pub(crate) struct Layout {
    pub config: PathBuf,
    pub generation_config: Option<PathBuf>,
    pub weights: Weights,
    pub tokenizer: TokenizerFiles,
    pub tokenizer_config: Option<PathBuf>,
}

/// Where a model's files come from: a directory, or a Hub repo that downloads on demand.
pub(crate) trait FileSource {
    /// Whether the model has the file `name`.
    fn has(&self, name: &str) -> bool;
    /// A local path to the file `name` (which [`FileSource::has`]), downloading it if needed.
    fn fetch(&mut self, name: &str) -> Result<PathBuf>;
    /// The error for a model that lacks something, `what` saying what.
    fn missing(&self, what: &str) -> Error;
}

/// A directory in the Hub's layout: a user's model directory or a cache snapshot.
pub(crate) struct DirSource<'a> {
    pub dir: &'a Path,
    /// Turns "what is missing" into the error (its wording differs for a cache snapshot).
    pub missing: &'a dyn Fn(&str) -> Error,
}

impl FileSource for DirSource<'_> {
    fn has(&self, name: &str) -> bool {
        // `is_file` follows symlinks, so a cache pointer to a missing blob counts as absent.
        self.dir.join(name).is_file()
    }

    fn fetch(&mut self, name: &str) -> Result<PathBuf> {
        Ok(self.dir.join(name))
    }

    fn missing(&self, what: &str) -> Error {
        (self.missing)(what)
    }
}

pub(crate) const CONFIG: &str = "config.json";
pub(crate) const GENERATION_CONFIG: &str = "generation_config.json";
pub(crate) const TOKENIZER_CONFIG: &str = "tokenizer_config.json";
pub(crate) const SAFETENSORS: &str = "model.safetensors";
pub(crate) const SAFETENSORS_INDEX: &str = "model.safetensors.index.json";
pub(crate) const PYTORCH_BIN: &str = "pytorch_model.bin";
pub(crate) const PYTORCH_BIN_INDEX: &str = "pytorch_model.bin.index.json";
const TOKENIZER_JSON: &str = "tokenizer.json";
const MARIAN_FILES: [&str; 3] = ["source.spm", "target.spm", "vocab.json"];
const SPIECE: &str = "spiece.model";
const BPE_FILES: [&str; 2] = ["vocab.json", "merges.txt"];
const M2M100_FILES: [&str; 2] = ["sentencepiece.bpe.model", "vocab.json"];

/// What the weights are, by file name, before anything is fetched.
enum WeightsPlan {
    Single,
    Sharded,
    Bin,
    BinSharded,
}

/// What the tokenizer is, by file name, before anything is fetched.
enum TokenizerPlan {
    Json,
    Marian,
    Spiece,
    M2m100,
    Bpe,
}

/// Finds the model's files in `src`. Everything is checked by name first, so a model that lacks
/// a tokenizer fails before its weights are downloaded; small files are fetched before weights.
pub(crate) fn detect(src: &mut dyn FileSource) -> Result<Layout> {
    if !src.has(CONFIG) {
        return Err(src.missing("no config.json"));
    }
    let tokenizer_plan = plan_tokenizer(src)?;
    let weights_plan = if src.has(SAFETENSORS) {
        WeightsPlan::Single
    } else if src.has(SAFETENSORS_INDEX) {
        WeightsPlan::Sharded
    } else if src.has(PYTORCH_BIN) {
        WeightsPlan::Bin
    } else if src.has(PYTORCH_BIN_INDEX) {
        WeightsPlan::BinSharded
    } else {
        return Err(src.missing(&format!(
            "no model weights ({SAFETENSORS}, {SAFETENSORS_INDEX}, {PYTORCH_BIN} or \
             {PYTORCH_BIN_INDEX})"
        )));
    };
    // Shards are known only from the index, so it is fetched and checked before anything else.
    let shards = match weights_plan {
        WeightsPlan::Sharded | WeightsPlan::BinSharded => {
            let index_name = match weights_plan {
                WeightsPlan::Sharded => SAFETENSORS_INDEX,
                _ => PYTORCH_BIN_INDEX,
            };
            let index = src.fetch(index_name)?;
            let shards = read_shard_names(&index)?;
            let absent: Vec<&str> = shards
                .iter()
                .map(String::as_str)
                .filter(|s| !src.has(s))
                .collect();
            if !absent.is_empty() {
                return Err(src.missing(&format!(
                    "{} listed in {index_name} missing: {}",
                    if absent.len() == 1 { "shard" } else { "shards" },
                    absent.join(", ")
                )));
            }
            shards
        }
        _ => Vec::new(),
    };

    let config = src.fetch(CONFIG)?;
    let generation_config = fetch_optional(src, GENERATION_CONFIG)?;
    let tokenizer_config = fetch_optional(src, TOKENIZER_CONFIG)?;
    let tokenizer = match tokenizer_plan {
        TokenizerPlan::Json => TokenizerFiles::TokenizerJson(src.fetch(TOKENIZER_JSON)?),
        TokenizerPlan::Marian => TokenizerFiles::Marian {
            source_spm: src.fetch(MARIAN_FILES[0])?,
            target_spm: src.fetch(MARIAN_FILES[1])?,
            vocab_json: src.fetch(MARIAN_FILES[2])?,
        },
        TokenizerPlan::Spiece => TokenizerFiles::Spiece(src.fetch(SPIECE)?),
        TokenizerPlan::M2m100 => TokenizerFiles::M2m100 {
            spm_model: src.fetch(M2M100_FILES[0])?,
            vocab_json: src.fetch(M2M100_FILES[1])?,
        },
        TokenizerPlan::Bpe => TokenizerFiles::Bpe {
            vocab_json: src.fetch(BPE_FILES[0])?,
            merges_txt: src.fetch(BPE_FILES[1])?,
        },
    };
    let weights = match weights_plan {
        WeightsPlan::Single => Weights::Safetensors(vec![src.fetch(SAFETENSORS)?]),
        WeightsPlan::Sharded => Weights::Safetensors(
            shards
                .iter()
                .map(|s| src.fetch(s))
                .collect::<Result<Vec<_>>>()?,
        ),
        WeightsPlan::Bin => Weights::PytorchBin(vec![src.fetch(PYTORCH_BIN)?]),
        WeightsPlan::BinSharded => Weights::PytorchBin(
            shards
                .iter()
                .map(|s| src.fetch(s))
                .collect::<Result<Vec<_>>>()?,
        ),
    };
    Ok(Layout {
        config,
        generation_config,
        weights,
        tokenizer,
        tokenizer_config,
    })
}

fn fetch_optional(src: &mut dyn FileSource, name: &str) -> Result<Option<PathBuf>> {
    if src.has(name) {
        src.fetch(name).map(Some)
    } else {
        Ok(None)
    }
}

fn plan_tokenizer(src: &dyn FileSource) -> Result<TokenizerPlan> {
    if src.has(TOKENIZER_JSON) {
        return Ok(TokenizerPlan::Json);
    }
    let all = |names: &[&str]| names.iter().all(|n| src.has(n));
    if all(&MARIAN_FILES) {
        return Ok(TokenizerPlan::Marian);
    }
    if src.has(SPIECE) {
        return Ok(TokenizerPlan::Spiece);
    }
    if all(&M2M100_FILES) {
        return Ok(TokenizerPlan::M2m100);
    }
    if all(&BPE_FILES) {
        return Ok(TokenizerPlan::Bpe);
    }
    // A half-present Marian tokenizer is the likely intent: say which of its files are missing.
    if src.has("source.spm") || src.has("target.spm") {
        let absent: Vec<&str> = MARIAN_FILES
            .iter()
            .copied()
            .filter(|n| !src.has(n))
            .collect();
        return Err(src.missing(&format!(
            "incomplete Marian tokenizer: {} missing",
            absent.join(", ")
        )));
    }
    Err(src.missing(
        "no tokenizer files (tokenizer.json; source.spm, target.spm and vocab.json; \
         spiece.model; sentencepiece.bpe.model and vocab.json; or vocab.json and merges.txt)",
    ))
}

/// The shard file names of a `model.safetensors.index.json` or `pytorch_model.bin.index.json`,
/// each once, sorted.
fn read_shard_names(index: &Path) -> Result<Vec<String>> {
    #[derive(serde::Deserialize)]
    struct Index {
        weight_map: std::collections::HashMap<String, String>,
    }
    let text = std::fs::read_to_string(index).map_err(|e| Error::io(index, e))?;
    let parsed: Index = serde_json::from_str(&text)
        .map_err(|e| Error::input(index, format!("not a checkpoint index: {e}")))?;
    let shards: BTreeSet<String> = parsed.weight_map.into_values().collect();
    if shards.is_empty() {
        return Err(Error::input(index, "checkpoint index lists no shards"));
    }
    // Shards live next to the index; anything else could point outside the model.
    if let Some(bad) = shards.iter().find(|s| !is_plain_file_name(s)) {
        return Err(Error::input(
            index,
            format!("shard {bad:?} is not a file name in the same directory"),
        ));
    }
    Ok(shards.into_iter().collect())
}

fn is_plain_file_name(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\\'])
}
