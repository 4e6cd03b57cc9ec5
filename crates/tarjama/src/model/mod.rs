//! Model families, each one file that reads like its paper and loads the Hub's weight names
//! unchanged through candle's `VarBuilder`.
//!
//! - [`bart`]: the BART family of encoder-decoders, one implementation configured per
//!   `model_type`: Marian (opus-mt), BART, mBART, and M2M100 / NLLB-200 (`m2m_100`).
//! - [`t5`]: the T5 family (t5, flan-t5, mT5): relative position buckets, RMS layer norm, ReLU or
//!   gated-GELU feed-forward.
//!
//! What the families share: scaled dot-product attention (`attention`), the growing KV cache
//! with beam reordering (`cache`), the feed-forward activations and the additive padding mask
//! (`layers`), projections and embeddings that may be repacked or quantized ([`linear`], over
//! the CPU kernels of `kernels`), and the weights readers ([`weights`]: safetensors and PyTorch
//! checkpoints read one tensor at a time, errors naming the file). [`load`] reads
//! `config.json` and builds the family.
//!
//! Decoding ([`crate::decoding`]) sees a model only through [`Seq2Seq`] and
//! [`crate::decoding::StepDecoder`]: models know nothing about beams, decoding nothing about
//! the families (both use the leaf module `crate::simd` for their SIMD reductions).

mod attention;
pub mod bart;
mod cache;
pub(crate) mod kernels;
mod layers;
pub mod linear;
pub mod t5;
pub mod weights;

use std::path::Path;

pub use crate::hub::Weights;
pub use crate::simd::cpu_kernel_warning;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use serde::Deserialize;

use crate::decoding::StepDecoder;
use crate::error::{Error, Result, TensorContext};
use weights::locate;

/// An encoder-decoder model as decoding sees it.
pub trait Seq2Seq: Send + Sync {
    /// Runs the encoder over a padded batch.
    ///
    /// `input_ids`: `(batch, src_len)` u32, right-padded; `attention_mask`: `(batch, src_len)` u8,
    /// 1 for real tokens and 0 for padding. Returns the encoder state for [`Seq2Seq::decoder`].
    fn encode(&self, input_ids: &Tensor, attention_mask: &Tensor) -> Result<EncoderOutput>;

    /// Starts incremental decoding over `encoder`, each batch row repeated `expand` times
    /// consecutively (`expand` = number of beams), so decoder row `r` reads encoder row
    /// `r / expand`. Cross-attention keys/values are computed here, once.
    fn decoder<'a>(
        &'a self,
        encoder: &EncoderOutput,
        expand: usize,
    ) -> Result<Box<dyn StepDecoder + 'a>>;

    /// Special token ids and limits from the model's `config.json`.
    fn special_tokens(&self) -> &SpecialTokens;

    /// Quantizes the weights of every projection (attention, feed-forward, output) to `q`;
    /// embeddings and layer norms stay as they are. Errors on a projection whose input size is
    /// not a multiple of `q`'s block size.
    fn quantize(&mut self, q: linear::Quantization) -> Result<()>;

    /// Size of the output vocabulary (columns of the logits).
    fn vocab_size(&self) -> usize;

    /// Longest input (in tokens, including `</s>`) the encoder's positions allow.
    fn max_input_tokens(&self) -> usize;

    /// The device the weights live on.
    fn device(&self) -> &Device;
}

/// Encoder output and the padding mask that goes with it.
#[derive(Debug, Clone)]
pub struct EncoderOutput {
    /// `(batch, src_len, d_model)` in the model's dtype.
    pub hidden: Tensor,
    /// `(batch, src_len)` u8, 1 for real tokens.
    pub attention_mask: Tensor,
}

/// Special token ids a model's `config.json` declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecialTokens {
    /// `pad_token_id`.
    pub pad: u32,
    /// `eos_token_id` (the first one where a list is given).
    pub eos: u32,
    /// `decoder_start_token_id`.
    pub decoder_start: u32,
    /// `forced_eos_token_id`, if set.
    pub forced_eos: Option<u32>,
    /// `forced_bos_token_id`, if set.
    pub forced_bos: Option<u32>,
}

/// A `VarBuilder` over the weights on `device` in `dtype`, read one tensor at a time when the
/// model asks for it: safetensors by [`weights::StreamedSafetensors`], PyTorch checkpoints by
/// [`weights::PthWeights`] (no data is read before the model asks; names of one tensor get the
/// same tensor, read once, except where float32 CPU weights are repacked, see
/// [`weights::PthWeights::with_alias_cache`]).
///
/// Errors name the weight file that could not be read.
pub fn var_builder(
    weights: &Weights,
    dtype: DType,
    device: &Device,
) -> Result<VarBuilder<'static>> {
    match weights {
        Weights::Safetensors(files) => {
            let backend = weights::StreamedSafetensors::open(files)?;
            Ok(VarBuilder::from_backend(
                Box::new(backend),
                dtype,
                device.clone(),
            ))
        }
        Weights::PytorchBin(files) => {
            // Where float32 weights are repacked at load (CPU with a SIMD kernel), a tensor kept
            // for its other names would be a dead copy: aliases asked for again are re-read.
            let repacks = dtype == DType::F32 && kernels::packs_on(device);
            let backend = weights::PthWeights::open(files)?.with_alias_cache(!repacks);
            Ok(VarBuilder::from_backend(
                Box::new(backend),
                dtype,
                device.clone(),
            ))
        }
    }
}

/// The first existing tensor among `names`, of `shape` (checkpoints store tied embeddings under
/// one or several names: `shared.weight`, `encoder.embed_tokens.weight`, ...). Errors name the
/// tensor that could not be loaded, or all of `names` where none exists.
fn first_tensor(vb: &VarBuilder, shape: (usize, usize), names: &[&str]) -> Result<Tensor> {
    for name in names {
        if vb.contains_tensor(name) {
            return vb.get(shape, name).ctx(format!("loading {name}"));
        }
    }
    Err(Error::Model(format!(
        "weights have none of the tensors {}",
        names.join(", ")
    )))
}

/// `eos_token_id` of `config.json`: an integer, or the first of a list.
fn first_eos(eos_token_id: &serde_json::Value) -> Result<u32> {
    let eos = match eos_token_id {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::Array(a) => a.first().and_then(|v| v.as_u64()),
        _ => None,
    }
    .ok_or_else(|| Error::Model("config.json has no usable eos_token_id".into()))?;
    Ok(eos as u32)
}

/// Loads the family `config` (the parsed `config.json`, read from `config_path`) names, with
/// its weights.
///
/// Errors: a malformed config (naming the file), a `model_type` tarjama does not
/// support, or missing/mis-shaped weights: an [`Error::Model`] naming the weights file (the
/// shard holding a mis-shaped tensor; the directory for another error in sharded weights),
/// the tensor and, for a shape mismatch, both shapes.
pub fn load(
    config: &serde_json::Value,
    config_path: &Path,
    weights: &Weights,
    dtype: DType,
    device: &Device,
) -> Result<Box<dyn Seq2Seq>> {
    let model_type = config
        .get("model_type")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    match model_type {
        "marian" | "bart" | "mbart" | "m2m_100" => {
            let cfg = bart::Config::deserialize(config)
                .map_err(|e| Error::input(config_path, format!("bad config: {e}")))?;
            let vb = var_builder(weights, dtype, device)?;
            let model = bart::BartModel::new(&cfg, vb);
            Ok(Box::new(model.map_err(|e| locate(e, weights, config_path))?))
        }
        "t5" | "mt5" => {
            let cfg = t5::Config::deserialize(config)
                .map_err(|e| Error::input(config_path, format!("bad config: {e}")))?;
            let vb = var_builder(weights, dtype, device)?;
            let model = t5::T5Model::new(&cfg, vb);
            Ok(Box::new(model.map_err(|e| locate(e, weights, config_path))?))
        }
        other => Err(Error::input(
            config_path,
            format!(
                "model_type {other:?} is not supported (supported: marian, bart, mbart, m2m_100, t5, mt5)"
            ),
        )),
    }
}
