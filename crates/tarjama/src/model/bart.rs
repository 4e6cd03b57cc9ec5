//! The BART family of Transformer encoder-decoders (Vaswani et al. 2017, "Attention Is All You
//! Need"; Lewis et al. 2019, "BART"), following transformers' `modeling_marian.py`,
//! `modeling_bart.py`, `modeling_mbart.py` and `modeling_m2m_100.py`.
//!
//! One implementation serves every member; the differences are configuration ([`Arch`]):
//!
//! | model_type | positions                         | layernorm_embedding | layer norm |
//! |------------|-----------------------------------|---------------------|------------|
//! | `marian`   | sinusoidal, sin half then cos half | no                  | post       |
//! | `bart`     | learned, offset 2                 | yes                 | post       |
//! | `mbart`    | learned, offset 2                 | yes                 | pre + final|
//! | `m2m_100`  | sinusoidal (fairseq), counted over non-padding tokens, offset by the padding index | no | pre + final|
//!
//! `m2m_100` covers M2M100 and NLLB-200 (whose checkpoints use the same `model_type`); both scale
//! the embeddings by `sqrt(d_model)`, use ReLU and force the target-language token as the first
//! generated token (`forced_bos_token_id`, set by the translation pipeline).
//!
//! Weight names are the Hub's (`model.encoder.layers.0.self_attn.q_proj.weight`, ...).

use candle_core::{DType, Device, IndexOp, Module, Tensor};
use candle_nn::{LayerNorm, VarBuilder};

use super::linear::{Linear, Quantization, TokenTable};
use serde::Deserialize;

use super::attention::attention;
use super::cache::KvCache;
use super::layers::{additive_mask, Activation};
use super::{first_eos, first_tensor, EncoderOutput, Seq2Seq, SpecialTokens};
use crate::decoding::StepDecoder;
use crate::error::{Error, Result, TensorContext};

/// `config.json` of a BART-family model (the fields tarjama reads; the rest is ignored).
/// Defaults follow transformers' `MarianConfig` / `BartConfig`.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// `marian`, `bart`, `mbart` or `m2m_100` (M2M100 and NLLB).
    pub model_type: String,
    /// Encoder (and shared) vocabulary size.
    pub vocab_size: usize,
    /// Decoder vocabulary size when embeddings are not shared (Marian only).
    #[serde(default)]
    pub decoder_vocab_size: Option<usize>,
    /// Hidden size.
    pub d_model: usize,
    /// Number of encoder layers.
    pub encoder_layers: usize,
    /// Number of decoder layers.
    pub decoder_layers: usize,
    /// Attention heads per encoder layer.
    pub encoder_attention_heads: usize,
    /// Attention heads per decoder layer.
    pub decoder_attention_heads: usize,
    /// Feed-forward inner size in the encoder.
    pub encoder_ffn_dim: usize,
    /// Feed-forward inner size in the decoder.
    pub decoder_ffn_dim: usize,
    /// Number of positions (the longest input or output, in tokens).
    pub max_position_embeddings: usize,
    /// `swish`/`silu`, `gelu`, `gelu_new`, `relu`.
    #[serde(default = "default_activation")]
    pub activation_function: String,
    /// Multiply token embeddings by `sqrt(d_model)`.
    #[serde(default)]
    pub scale_embedding: bool,
    /// `pad_token_id`.
    pub pad_token_id: u32,
    /// `eos_token_id` (an integer or a list).
    pub eos_token_id: serde_json::Value,
    /// `decoder_start_token_id`.
    #[serde(default)]
    pub decoder_start_token_id: Option<u32>,
    /// `forced_eos_token_id`.
    #[serde(default)]
    pub forced_eos_token_id: Option<u32>,
    /// `forced_bos_token_id`.
    #[serde(default)]
    pub forced_bos_token_id: Option<u32>,
    /// Marian: encoder and decoder share one embedding matrix (default true).
    #[serde(default = "default_true")]
    pub share_encoder_decoder_embeddings: bool,
    /// The output projection is the decoder's token embedding (`PretrainedConfig`'s default
    /// true). transformers' `tie_weights` then replaces a stored `lm_head.weight` with the
    /// embedding, so tarjama does not load it either.
    #[serde(default = "default_true")]
    pub tie_word_embeddings: bool,
    /// Layer-norm epsilon (transformers uses `nn.LayerNorm`'s default 1e-5 for this family).
    #[serde(default)]
    pub layer_norm_eps: Option<f64>,
}

fn default_activation() -> String {
    "gelu".into()
}

fn default_true() -> bool {
    true
}

/// How token positions are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Positions {
    /// Marian: fixed sinusoids, `sin` features in the first half and `cos` in the second
    /// (`MarianSinusoidalPositionalEmbedding`), positions counted from 0.
    SinusoidalHalves,
    /// BART/mBART: a learned table whose row for position `p` is `p + offset`.
    Learned {
        /// 2 for BART and mBART.
        offset: usize,
    },
    /// M2M100/NLLB (`M2M100SinusoidalPositionalEmbedding`, fairseq's): fixed sinusoids, `sin`
    /// half then `cos` half with frequencies `10000^(-i/(half-1))`, and a zero row at the padding
    /// index. Positions are counted over the non-padding tokens of each row, starting at
    /// `padding_idx + 1`; a padding token gets the zero row. Incremental decoding continues from
    /// the number of tokens already decoded.
    SinusoidalPadded,
}

/// The architectural switches that distinguish the family's members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arch {
    /// Position encoding.
    pub positions: Positions,
    /// A layer norm on the embeddings (`layernorm_embedding`).
    pub layernorm_embedding: bool,
    /// Pre layer norm (mBART) instead of post layer norm (Marian, BART).
    pub pre_norm: bool,
    /// A final layer norm after the last encoder and decoder layer (`layer_norm`).
    pub final_layer_norm: bool,
}

impl Arch {
    /// The switches for a `model_type`.
    pub fn for_model_type(model_type: &str) -> Result<Self> {
        match model_type {
            "marian" => Ok(Arch {
                positions: Positions::SinusoidalHalves,
                layernorm_embedding: false,
                pre_norm: false,
                final_layer_norm: false,
            }),
            "bart" => Ok(Arch {
                positions: Positions::Learned { offset: 2 },
                layernorm_embedding: true,
                pre_norm: false,
                final_layer_norm: false,
            }),
            "mbart" => Ok(Arch {
                positions: Positions::Learned { offset: 2 },
                layernorm_embedding: true,
                pre_norm: true,
                final_layer_norm: true,
            }),
            "m2m_100" => Ok(Arch {
                positions: Positions::SinusoidalPadded,
                layernorm_embedding: false,
                pre_norm: true,
                final_layer_norm: true,
            }),
            other => Err(Error::Model(format!(
                "model_type {other:?} is not a BART-family model"
            ))),
        }
    }
}

fn linear(vb: &VarBuilder, in_dim: usize, out_dim: usize, name: &str) -> Result<Linear> {
    Linear::load(&vb.pp(name), in_dim, out_dim, true)
}

fn layer_norm(vb: &VarBuilder, dim: usize, eps: f64, name: &str) -> Result<LayerNorm> {
    candle_nn::layer_norm(dim, eps, vb.pp(name)).ctx(format!("loading {}.{name}", vb.prefix()))
}

/// Multi-head attention with biases (`MarianAttention` / `BartAttention`).
#[derive(Debug, Clone)]
struct Attention {
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    out_proj: Linear,
    heads: usize,
    head_dim: usize,
    scaling: f64,
}

impl Attention {
    fn new(vb: VarBuilder, d_model: usize, heads: usize) -> Result<Self> {
        let head_dim = d_model / heads;
        Ok(Self {
            q_proj: linear(&vb, d_model, d_model, "q_proj")?,
            k_proj: linear(&vb, d_model, d_model, "k_proj")?,
            v_proj: linear(&vb, d_model, d_model, "v_proj")?,
            out_proj: linear(&vb, d_model, d_model, "out_proj")?,
            heads,
            head_dim,
            scaling: (head_dim as f64).powf(-0.5),
        })
    }

    fn quantize(&mut self, q: Quantization) -> Result<()> {
        for p in [
            &mut self.q_proj,
            &mut self.k_proj,
            &mut self.v_proj,
            &mut self.out_proj,
        ] {
            p.quantize(q)?;
        }
        Ok(())
    }

    /// `(b, t, d)` → `(b, h, t, head_dim)`.
    fn split_heads(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (b, t, _) = x.dims3()?;
        x.reshape((b, t, self.heads, self.head_dim))?
            .transpose(1, 2)?
            .contiguous()
    }

    /// Keys and values of `x` `(b, s, d)`, each `(b, h, s, head_dim)`.
    fn key_value(&self, x: &Tensor) -> candle_core::Result<(Tensor, Tensor)> {
        let k = self.split_heads(&self.k_proj.forward(x)?)?;
        let v = self.split_heads(&self.v_proj.forward(x)?)?;
        Ok((k, v))
    }

    /// Attends from `x` `(b, t, d)` to keys/values `(b, h, s, head_dim)`; `mask` is additive,
    /// broadcastable to `(b, h, t, s)`. Returns `(b, t, d)`.
    fn attend(
        &self,
        x: &Tensor,
        k: &Tensor,
        v: &Tensor,
        mask: Option<&Tensor>,
    ) -> candle_core::Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        // The scaling is applied to the queries, as fairseq and the Marian C++ code do; it is
        // mathematically the same as transformers' scaling of the scores.
        let q = self.split_heads(&(self.q_proj.forward(x)? * self.scaling)?)?;
        let out = attention(&q, k, v, mask, false)?; // (b, h, t, head_dim)
        let out = out.transpose(1, 2)?.reshape((b, t, d))?;
        self.out_proj.forward(&out)
    }
}

/// Two-layer feed-forward block `fc2(act(fc1(x)))`.
#[derive(Debug, Clone)]
struct FeedForward {
    fc1: Linear,
    fc2: Linear,
    act: Activation,
}

impl FeedForward {
    fn new(vb: &VarBuilder, d_model: usize, ffn: usize, act: Activation) -> Result<Self> {
        Ok(Self {
            fc1: linear(vb, d_model, ffn, "fc1")?,
            fc2: linear(vb, ffn, d_model, "fc2")?,
            act,
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.fc2.forward(&self.act.apply(&self.fc1.forward(x)?)?)
    }

    fn quantize(&mut self, q: Quantization) -> Result<()> {
        self.fc1.quantize(q)?;
        self.fc2.quantize(q)
    }
}

/// Residual wrapper that applies the layer norm before (pre-norm) or after (post-norm).
fn residual(
    x: &Tensor,
    norm: &LayerNorm,
    pre_norm: bool,
    f: impl FnOnce(&Tensor) -> candle_core::Result<Tensor>,
) -> candle_core::Result<Tensor> {
    if pre_norm {
        x + f(&norm.forward(x)?)?
    } else {
        norm.forward(&(x + f(x)?)?)
    }
}

#[derive(Debug, Clone)]
struct EncoderLayer {
    self_attn: Attention,
    self_attn_layer_norm: LayerNorm,
    ffn: FeedForward,
    final_layer_norm: LayerNorm,
}

impl EncoderLayer {
    fn new(cfg: &Config, act: Activation, eps: f64, vb: VarBuilder) -> Result<Self> {
        let d = cfg.d_model;
        Ok(Self {
            self_attn: Attention::new(vb.pp("self_attn"), d, cfg.encoder_attention_heads)?,
            self_attn_layer_norm: layer_norm(&vb, d, eps, "self_attn_layer_norm")?,
            ffn: FeedForward::new(&vb, d, cfg.encoder_ffn_dim, act)?,
            final_layer_norm: layer_norm(&vb, d, eps, "final_layer_norm")?,
        })
    }

    fn forward(&self, x: &Tensor, mask: &Tensor, pre_norm: bool) -> candle_core::Result<Tensor> {
        let x = residual(x, &self.self_attn_layer_norm, pre_norm, |h| {
            let (k, v) = self.self_attn.key_value(h)?;
            self.self_attn.attend(h, &k, &v, Some(mask))
        })?;
        residual(&x, &self.final_layer_norm, pre_norm, |h| {
            self.ffn.forward(h)
        })
    }
}

#[derive(Debug, Clone)]
struct DecoderLayer {
    self_attn: Attention,
    self_attn_layer_norm: LayerNorm,
    encoder_attn: Attention,
    encoder_attn_layer_norm: LayerNorm,
    ffn: FeedForward,
    final_layer_norm: LayerNorm,
}

impl DecoderLayer {
    fn new(cfg: &Config, act: Activation, eps: f64, vb: VarBuilder) -> Result<Self> {
        let d = cfg.d_model;
        let heads = cfg.decoder_attention_heads;
        Ok(Self {
            self_attn: Attention::new(vb.pp("self_attn"), d, heads)?,
            self_attn_layer_norm: layer_norm(&vb, d, eps, "self_attn_layer_norm")?,
            encoder_attn: Attention::new(vb.pp("encoder_attn"), d, heads)?,
            encoder_attn_layer_norm: layer_norm(&vb, d, eps, "encoder_attn_layer_norm")?,
            ffn: FeedForward::new(&vb, d, cfg.decoder_ffn_dim, act)?,
            final_layer_norm: layer_norm(&vb, d, eps, "final_layer_norm")?,
        })
    }
}

/// Token embeddings plus positions (and `layernorm_embedding` where the model has one).
#[derive(Debug, Clone)]
struct Embeddings {
    tokens: TokenTable,
    /// `(max_positions, d_model)`; row `p` is added at position `p` (offset already applied).
    /// With `padding_idx` (M2M100/NLLB): the whole fairseq table, `(max_positions +
    /// padding_idx + 1, d_model)`, indexed as [`Positions::SinusoidalPadded`] describes.
    positions: Tensor,
    layernorm: Option<LayerNorm>,
    scale: f64,
    /// M2M100/NLLB: positions are looked up per token from the ids (`padding_idx`).
    padding_idx: Option<u32>,
}

impl Embeddings {
    /// Embeds `ids` `(b, t)` at positions `start..start+t` → `(b, t, d)`.
    fn forward(&self, ids: &Tensor, start: usize) -> Result<Tensor> {
        let (b, t) = ids.dims2()?;
        let max = self.positions.dim(0)?;
        let x = (self.tokens.forward(ids)? * self.scale)?;
        let x = match self.padding_idx {
            None => {
                if start + t > max {
                    return Err(Error::Model(format!(
                        "sequence of {} tokens exceeds the model's {max} positions",
                        start + t
                    )));
                }
                let pos = self.positions.narrow(0, start, t)?;
                x.broadcast_add(&pos)?
            }
            Some(pad) => {
                // transformers' `create_position_ids_from_input_ids`:
                // (cumsum(ids != pad) + past) * (ids != pad) + pad.
                let mut idx = Vec::with_capacity(b * t);
                for row in ids.to_vec2::<u32>()? {
                    let mut count = 0u32;
                    for id in row {
                        if id == pad {
                            idx.push(pad);
                        } else {
                            count += 1;
                            idx.push(pad + start as u32 + count);
                        }
                    }
                }
                if let Some(&top) = idx.iter().max() {
                    if top as usize >= max {
                        return Err(Error::Model(format!(
                            "sequence of {} tokens exceeds the model's {} positions",
                            top - pad,
                            max - pad as usize - 1
                        )));
                    }
                }
                let idx = Tensor::from_vec(idx, b * t, ids.device())?;
                let d = self.positions.dim(1)?;
                let pos = self.positions.index_select(&idx, 0)?.reshape((b, t, d))?;
                (x + pos)?
            }
        };
        match &self.layernorm {
            Some(ln) => Ok(ln.forward(&x)?),
            None => Ok(x),
        }
    }
}

/// Marian's fixed sinusoidal table `(n_pos, dim)`: `sin(p / 10000^(2i/dim))` in columns
/// `0..dim/2` and `cos` of the same angles in the rest (not interleaved).
pub fn sinusoidal_halves(n_pos: usize, dim: usize) -> Vec<f32> {
    let half = dim.div_ceil(2);
    let mut out = vec![0f32; n_pos * dim];
    for p in 0..n_pos {
        let row = &mut out[p * dim..(p + 1) * dim];
        // Column c of transformers' angle table uses exponent 2*(c/2)/dim; its even columns
        // feed the sin half and its odd columns the cos half (computed in float64, then cast).
        let angle = |col: usize| p as f64 / 10000f64.powf((2 * (col / 2)) as f64 / dim as f64);
        for (j, v) in row.iter_mut().enumerate() {
            *v = if j < half {
                angle(2 * j).sin() as f32
            } else {
                angle(2 * (j - half) + 1).cos() as f32
            };
        }
    }
    out
}

/// M2M100/NLLB's fixed sinusoidal table `(n_pos, dim)` (`M2M100SinusoidalPositionalEmbedding.
/// get_embedding`): with `half = dim / 2` and `f_i = exp(-i * ln(10000) / (half - 1))`, column
/// `i < half` of row `p` is `sin(p * f_i)` and column `half + i` is `cos(p * f_i)`; an odd `dim`
/// gets a zero last column, and row `padding_idx` is all zeros. Frequencies and angles are
/// rounded to f32 as PyTorch computes them; sin/cos are correctly rounded, which PyTorch's
/// vectorized float32 sin/cos are not always (they differ by at most 1 ulp).
pub fn sinusoidal_fairseq(n_pos: usize, dim: usize, padding_idx: usize) -> Vec<f32> {
    let half = dim / 2;
    let step = -(10000f64.ln() / (half as f64 - 1.0)) as f32;
    let freqs: Vec<f32> = (0..half)
        .map(|i| f64::from(i as f32 * step).exp() as f32)
        .collect();
    let mut out = vec![0f32; n_pos * dim];
    for p in 0..n_pos {
        if p == padding_idx {
            continue;
        }
        let row = &mut out[p * dim..(p + 1) * dim];
        for (i, &f) in freqs.iter().enumerate() {
            let angle = f64::from(p as f32 * f);
            row[i] = angle.sin() as f32;
            row[half + i] = angle.cos() as f32;
        }
    }
    out
}

/// A loaded BART-family encoder-decoder.
#[derive(Debug)]
pub struct BartModel {
    arch: Arch,
    encoder_embed: Embeddings,
    encoder_layers: Vec<EncoderLayer>,
    encoder_final_norm: Option<LayerNorm>,
    decoder_embed: Embeddings,
    decoder_layers: Vec<DecoderLayer>,
    decoder_final_norm: Option<LayerNorm>,
    /// `(vocab, d_model)`: the output projection (tied to the decoder embeddings where the
    /// checkpoint does not store `lm_head.weight`).
    lm_head: Linear,
    /// `(vocab,)` f32 `final_logits_bias` (zeros where absent).
    final_logits_bias: Tensor,
    special: SpecialTokens,
    vocab_size: usize,
    max_positions: usize,
    dtype: DType,
    device: Device,
}

impl BartModel {
    /// Loads the model from weights named as on the Hub (`model.encoder...`, `lm_head.weight`,
    /// `final_logits_bias`). Errors name the missing or mis-shaped tensor.
    pub fn new(cfg: &Config, vb: VarBuilder) -> Result<Self> {
        let arch = Arch::for_model_type(&cfg.model_type)?;
        let act = Activation::from_name(&cfg.activation_function).ok_or_else(|| {
            Error::Model(format!(
                "activation_function {:?} is not supported",
                cfg.activation_function
            ))
        })?;
        let eps = cfg.layer_norm_eps.unwrap_or(1e-5);
        let d = cfg.d_model;
        let dtype = vb.dtype();
        let device = vb.device().clone();
        let scale = if cfg.scale_embedding {
            (d as f64).sqrt()
        } else {
            1.0
        };
        let shared = cfg.share_encoder_decoder_embeddings || cfg.model_type != "marian";
        let dec_vocab = if shared {
            cfg.vocab_size
        } else {
            cfg.decoder_vocab_size.unwrap_or(cfg.vocab_size)
        };
        // With one shared (tied) matrix every alias holds the same tensor, and a checkpoint may
        // store any one of them, even only `lm_head.weight`.
        const TIED: [&str; 4] = [
            "model.shared.weight",
            "model.encoder.embed_tokens.weight",
            "model.decoder.embed_tokens.weight",
            "lm_head.weight",
        ];
        let enc_tokens = if shared {
            TokenTable::new(first_tensor(&vb, (cfg.vocab_size, d), &TIED)?)?
        } else {
            TokenTable::new(first_tensor(
                &vb,
                (cfg.vocab_size, d),
                &["model.encoder.embed_tokens.weight", "model.shared.weight"],
            )?)?
        };
        // Shared: the same table, one copy in memory.
        let dec_tokens = if shared {
            enc_tokens.clone()
        } else {
            TokenTable::new(first_tensor(
                &vb,
                (dec_vocab, d),
                &["model.decoder.embed_tokens.weight"],
            )?)?
        };
        let positions = |side: &str| -> Result<Tensor> {
            match arch.positions {
                Positions::SinusoidalHalves => {
                    let n = cfg.max_position_embeddings;
                    Tensor::from_vec(sinusoidal_halves(n, d), (n, d), &device)
                        .and_then(|t| t.to_dtype(dtype))
                        .ctx("building sinusoidal positions")
                }
                Positions::Learned { offset } => {
                    let n = cfg.max_position_embeddings + offset;
                    let name = format!("model.{side}.embed_positions.weight");
                    let table = vb.get((n, d), &name).ctx(format!("loading {name}"))?;
                    Ok(table.narrow(0, offset, cfg.max_position_embeddings)?)
                }
                Positions::SinusoidalPadded => {
                    let pad = cfg.pad_token_id as usize;
                    let n = cfg.max_position_embeddings + pad + 1;
                    Tensor::from_vec(sinusoidal_fairseq(n, d, pad), (n, d), &device)
                        .and_then(|t| t.to_dtype(dtype))
                        .ctx("building sinusoidal positions")
                }
            }
        };
        let padding_idx =
            (arch.positions == Positions::SinusoidalPadded).then_some(cfg.pad_token_id);
        let ln_emb = |side: &str| -> Result<Option<LayerNorm>> {
            if arch.layernorm_embedding {
                Ok(Some(layer_norm(
                    &vb.pp(format!("model.{side}")),
                    d,
                    eps,
                    "layernorm_embedding",
                )?))
            } else {
                Ok(None)
            }
        };
        let final_norm = |side: &str| -> Result<Option<LayerNorm>> {
            if arch.final_layer_norm {
                Ok(Some(layer_norm(
                    &vb.pp(format!("model.{side}")),
                    d,
                    eps,
                    "layer_norm",
                )?))
            } else {
                Ok(None)
            }
        };
        let encoder_embed = Embeddings {
            tokens: enc_tokens,
            positions: positions("encoder")?,
            layernorm: ln_emb("encoder")?,
            scale,
            padding_idx,
        };
        let decoder_embed = Embeddings {
            tokens: dec_tokens.clone(),
            positions: positions("decoder")?,
            layernorm: ln_emb("decoder")?,
            scale,
            padding_idx,
        };
        let encoder_layers = (0..cfg.encoder_layers)
            .map(|i| EncoderLayer::new(cfg, act, eps, vb.pp(format!("model.encoder.layers.{i}"))))
            .collect::<Result<Vec<_>>>()?;
        let decoder_layers = (0..cfg.decoder_layers)
            .map(|i| DecoderLayer::new(cfg, act, eps, vb.pp(format!("model.decoder.layers.{i}"))))
            .collect::<Result<Vec<_>>>()?;
        // Tied (the default): checkpoints often store the embedding again as `lm_head.weight`
        // (transformers' `.bin` files do); it is the same matrix, so it is not read.
        let lm_head = if cfg.tie_word_embeddings {
            dec_tokens.tied_projection()
        } else {
            let w = vb
                .get((dec_vocab, d), "lm_head.weight")
                .ctx("loading lm_head.weight (tie_word_embeddings is false)")?;
            Linear::new(w, None)?
        };
        let final_logits_bias = if vb.contains_tensor("final_logits_bias") {
            vb.get((1, dec_vocab), "final_logits_bias")
                .ctx("loading final_logits_bias")?
                .reshape(dec_vocab)?
                .to_dtype(DType::F32)?
        } else {
            Tensor::zeros(dec_vocab, DType::F32, &device)?
        };
        let eos = first_eos(&cfg.eos_token_id)?;
        let special = SpecialTokens {
            pad: cfg.pad_token_id,
            eos,
            decoder_start: cfg.decoder_start_token_id.unwrap_or(cfg.pad_token_id),
            forced_eos: cfg.forced_eos_token_id,
            forced_bos: cfg.forced_bos_token_id,
        };
        Ok(Self {
            arch,
            encoder_embed,
            encoder_layers,
            encoder_final_norm: final_norm("encoder")?,
            decoder_embed,
            decoder_layers,
            decoder_final_norm: final_norm("decoder")?,
            lm_head,
            final_logits_bias,
            special,
            vocab_size: dec_vocab,
            max_positions: cfg.max_position_embeddings,
            dtype,
            device,
        })
    }

    /// Additive attention mask `(b, 1, 1, s)` in the model's dtype ([`additive_mask`]).
    fn additive_mask(&self, mask: &Tensor) -> Result<Tensor> {
        Ok(additive_mask(mask, self.dtype)?)
    }
}

impl Seq2Seq for BartModel {
    fn encode(&self, input_ids: &Tensor, attention_mask: &Tensor) -> Result<EncoderOutput> {
        let mask = self.additive_mask(attention_mask)?;
        let mut x = self.encoder_embed.forward(input_ids, 0)?;
        for (i, layer) in self.encoder_layers.iter().enumerate() {
            x = layer
                .forward(&x, &mask, self.arch.pre_norm)
                .ctx(format!("encoder layer {i}"))?;
        }
        if let Some(norm) = &self.encoder_final_norm {
            x = norm.forward(&x)?;
        }
        Ok(EncoderOutput {
            hidden: x,
            attention_mask: attention_mask.clone(),
        })
    }

    fn decoder<'a>(
        &'a self,
        encoder: &EncoderOutput,
        expand: usize,
    ) -> Result<Box<dyn StepDecoder + 'a>> {
        let cache = KvCache::new(
            &self.decoder_layers,
            encoder,
            expand,
            |mask| self.additive_mask(mask),
            |l, hidden| l.encoder_attn.key_value(hidden),
        )?;
        Ok(Box::new(BartDecoder {
            model: self,
            cache,
            pos: 0,
        }))
    }

    fn special_tokens(&self) -> &SpecialTokens {
        &self.special
    }

    fn quantize(&mut self, q: Quantization) -> Result<()> {
        for l in self.encoder_layers.iter_mut() {
            l.self_attn.quantize(q)?;
            l.ffn.quantize(q)?;
        }
        for l in self.decoder_layers.iter_mut() {
            l.self_attn.quantize(q)?;
            l.encoder_attn.quantize(q)?;
            l.ffn.quantize(q)?;
        }
        let tables = [
            &mut self.encoder_embed.tokens,
            &mut self.decoder_embed.tokens,
        ];
        TokenTable::quantize_tied(&mut self.lm_head, tables, q)
    }

    fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    fn max_input_tokens(&self) -> usize {
        self.max_positions
    }

    fn device(&self) -> &Device {
        &self.device
    }
}

/// Incremental decoder state over a [`KvCache`].
struct BartDecoder<'a> {
    model: &'a BartModel,
    cache: KvCache,
    pos: usize,
}

impl StepDecoder for BartDecoder<'_> {
    fn step(&mut self, tokens: &[u32]) -> Result<Tensor> {
        let m = self.model;
        let rows = tokens.len();
        let ids = Tensor::from_vec(tokens.to_vec(), (rows, 1), &m.device)?;
        let mut x = m.decoder_embed.forward(&ids, self.pos)?; // (rows, 1, d)
        let pre = m.arch.pre_norm;
        for (i, layer) in m.decoder_layers.iter().enumerate() {
            let mut cache = self.cache.layer(i);
            let mut step = || -> candle_core::Result<Tensor> {
                let x = residual(&x, &layer.self_attn_layer_norm, pre, |h| {
                    let (k, v) = layer.self_attn.key_value(h)?;
                    let (k, v) = cache.append(k, v)?;
                    layer.self_attn.attend(h, &k, &v, None)
                })?;
                let x = residual(&x, &layer.encoder_attn_layer_norm, pre, |h| {
                    layer.encoder_attn.attend(
                        h,
                        cache.cross_k,
                        cache.cross_v,
                        Some(cache.cross_mask),
                    )
                })?;
                residual(&x, &layer.final_layer_norm, pre, |h| layer.ffn.forward(h))
            };
            x = step().ctx(format!("decoder layer {i}"))?;
        }
        if let Some(norm) = &m.decoder_final_norm {
            x = norm.forward(&x)?;
        }
        self.pos += 1;
        let x = x.i((.., 0, ..))?; // (rows, d)
        m.lm_head
            .forward_f32_bias(&x, &m.final_logits_bias)
            .ctx("output projection")
    }

    fn reorder(&mut self, indices: &[u32]) -> Result<()> {
        self.cache.reorder(indices)
    }
}
