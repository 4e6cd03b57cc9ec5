//! The T5 family of encoder-decoders (Raffel et al. 2019, "Exploring the Limits of Transfer
//! Learning with a Unified Text-to-Text Transformer"; Xue et al. 2020, "mT5"), following
//! transformers' `modeling_t5.py` (`modeling_mt5.py` is a copy of it).
//!
//! What sets T5 apart from the BART family ([`super::bart`]):
//!
//! - No absolute positions. Each attention score gets a learned bias per head indexed by a
//!   bucket of the relative position `key - query` ([`relative_position_bucket`]): exact buckets
//!   for small distances, logarithmic ones up to `relative_attention_max_distance`. The encoder's
//!   buckets are bidirectional, the decoder's causal. Only the first layer of each stack holds
//!   the table (`block.0.layer.0.SelfAttention.relative_attention_bias`); its bias is shared by
//!   every layer. Cross-attention has no position bias.
//! - Pre layer norm with `T5LayerNorm`: RMS normalization, no mean subtraction and no bias,
//!   computed in float32 whatever the model's dtype.
//! - No biases anywhere, and no `1/sqrt(d_kv)` scaling of attention scores (T5 folds it into the
//!   initialization).
//! - Feed-forward `wo(act(wi(x)))` (t5: ReLU) or gated `wo(act(wi_0(x)) * wi_1(x))`
//!   (`feed_forward_proj: "gated-gelu"`, flan-t5 and mT5: `gelu_new`, the tanh approximation).
//! - Output: with `tie_word_embeddings` (t5) the decoder output is scaled by `d_model**-0.5` and
//!   projected with the shared embedding matrix; otherwise (flan-t5, mT5) `lm_head.weight`,
//!   unscaled.
//!
//! Weight names are the Hub's (`shared.weight`, `encoder.block.0.layer.0.SelfAttention.q.weight`,
//! `decoder.block.1.layer.2.DenseReluDense.wo.weight`, `lm_head.weight`, ...).

use candle_core::{DType, Device, IndexOp, Module, Tensor, D};
use candle_nn::{Embedding, VarBuilder};
use serde::Deserialize;

use super::attention::attention;
use super::cache::KvCache;
use super::layers::{additive_mask, Activation, F16_MAX};
use super::linear::{Linear, Quantization, TokenTable};
use super::{first_eos, first_tensor, EncoderOutput, Seq2Seq, SpecialTokens};
use crate::decoding::StepDecoder;
use crate::error::{Error, Result, TensorContext};

/// `config.json` of a T5-family model (the fields tarjama reads; the rest is ignored).
/// Defaults follow transformers' `T5Config` / `MT5Config`.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// `t5` or `mt5`.
    pub model_type: String,
    /// Rows of the embedding matrix and columns of the logits.
    pub vocab_size: usize,
    /// Hidden size.
    pub d_model: usize,
    /// Size of one attention head (`inner_dim = num_heads * d_kv`, which need not be `d_model`).
    pub d_kv: usize,
    /// Feed-forward inner size.
    pub d_ff: usize,
    /// Number of encoder layers.
    pub num_layers: usize,
    /// Number of decoder layers (default: `num_layers`).
    #[serde(default)]
    pub num_decoder_layers: Option<usize>,
    /// Attention heads per layer.
    pub num_heads: usize,
    /// Number of relative position buckets.
    #[serde(default = "default_buckets")]
    pub relative_attention_num_buckets: usize,
    /// Relative distance from which all positions share the last bucket.
    #[serde(default = "default_max_distance")]
    pub relative_attention_max_distance: usize,
    /// `T5LayerNorm` epsilon.
    #[serde(default = "default_eps")]
    pub layer_norm_epsilon: f64,
    /// `relu`, `gated-gelu`, or `[gated-]<activation>`.
    #[serde(default = "default_ff_proj")]
    pub feed_forward_proj: String,
    /// The activation, where `config.json` states it (it then wins over `feed_forward_proj`, as
    /// in transformers, whose config sets saved keys after deriving its own).
    #[serde(default)]
    pub dense_act_fn: Option<String>,
    /// Whether the feed-forward is gated, where `config.json` states it.
    #[serde(default)]
    pub is_gated_act: Option<bool>,
    /// Output projection tied to the shared embeddings, with `d_model**-0.5` output scaling.
    /// Default: true for `t5` (`T5Config`), false for `mt5` (`MT5Config`).
    #[serde(default)]
    pub tie_word_embeddings: Option<bool>,
    /// `pad_token_id` (0 in every T5 checkpoint).
    #[serde(default)]
    pub pad_token_id: u32,
    /// `eos_token_id` (an integer or a list; default 1).
    #[serde(default = "default_eos")]
    pub eos_token_id: serde_json::Value,
    /// `decoder_start_token_id` (default: the pad id).
    #[serde(default)]
    pub decoder_start_token_id: Option<u32>,
    /// `n_positions`: the input length the checkpoint was trained for (t5-small: 512), if given.
    #[serde(default)]
    pub n_positions: Option<usize>,
}

fn default_buckets() -> usize {
    32
}

fn default_max_distance() -> usize {
    128
}

fn default_eps() -> f64 {
    1e-6
}

fn default_ff_proj() -> String {
    "relu".into()
}

fn default_eos() -> serde_json::Value {
    serde_json::Value::from(1)
}

/// The input length tarjama assumes where `config.json` has no `n_positions`: what the T5
/// family was trained with (relative positions themselves have no limit).
pub const DEFAULT_MAX_INPUT_TOKENS: usize = 512;

impl Config {
    /// Whether the output projection is the shared embedding matrix (scaled output).
    pub fn tied(&self) -> bool {
        self.tie_word_embeddings.unwrap_or(self.model_type != "mt5")
    }

    /// `(activation name, gated)` as `T5Config` derives them from `feed_forward_proj`
    /// (`"gated-gelu"` means `gelu_new`), overridden by explicit `dense_act_fn` / `is_gated_act`.
    pub fn activation(&self) -> Result<(String, bool)> {
        let parts: Vec<&str> = self.feed_forward_proj.split('-').collect();
        let gated = parts[0] == "gated";
        if (parts.len() > 1 && !gated) || parts.len() > 2 {
            return Err(Error::Model(format!(
                "feed_forward_proj {:?} is not `gated-<act>` or `<act>`",
                self.feed_forward_proj
            )));
        }
        let act = if self.feed_forward_proj == "gated-gelu" {
            "gelu_new"
        } else {
            parts[parts.len() - 1]
        };
        Ok((
            self.dense_act_fn.clone().unwrap_or_else(|| act.to_string()),
            self.is_gated_act.unwrap_or(gated),
        ))
    }
}

fn linear(vb: &VarBuilder, in_dim: usize, out_dim: usize, name: &str) -> Result<Linear> {
    Linear::load(&vb.pp(name), in_dim, out_dim, false)
}

/// transformers' `_relative_position_bucket`: the bucket of `relative_position = key - query`.
///
/// Bidirectional (encoder): half the buckets for keys after the query. Causal (decoder): keys
/// after the query all fall in bucket 0 (they are masked anyway). Of the remaining buckets, half
/// are exact distances `0..max_exact`; larger distances share logarithmic buckets up to
/// `max_distance`, computed in float32 as transformers does so that boundaries fall alike.
pub fn relative_position_bucket(
    relative_position: i64,
    bidirectional: bool,
    num_buckets: usize,
    max_distance: usize,
) -> u32 {
    let mut num_buckets = num_buckets as i64;
    let mut bucket = 0i64;
    let distance = if bidirectional {
        num_buckets /= 2;
        if relative_position > 0 {
            bucket += num_buckets;
        }
        relative_position.abs()
    } else {
        -relative_position.min(0)
    };
    let max_exact = num_buckets / 2;
    if distance < max_exact {
        return (bucket + distance) as u32;
    }
    // torch.log(float32(distance) / max_exact) / math.log(max_distance / max_exact)
    //   * (num_buckets - max_exact), each step in float32, then truncated.
    let log_ratio = (distance as f32 / max_exact as f32).ln();
    let log_max = (max_distance as f64 / max_exact as f64).ln() as f32;
    let large = max_exact + (log_ratio / log_max * (num_buckets - max_exact) as f32) as i64;
    (bucket + large.min(num_buckets - 1)) as u32
}

/// `T5LayerNorm`: `weight * x / sqrt(mean(x²) + eps)`, no mean subtraction and no bias; the
/// mean square is taken in float32.
#[derive(Debug, Clone)]
struct RmsNorm {
    /// `(d_model,)`.
    weight: Tensor,
    eps: f64,
}

impl RmsNorm {
    fn new(vb: &VarBuilder, d: usize, eps: f64, name: &str) -> Result<Self> {
        let weight = vb
            .get(d, &format!("{name}.weight"))
            .ctx(format!("loading {}.{name}.weight", vb.prefix()))?;
        Ok(Self { weight, eps })
    }

    /// `(…, d)` → `(…, d)` in the input's dtype.
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let dtype = x.dtype();
        let x32 = x.to_dtype(DType::F32)?;
        let variance = x32.sqr()?.mean_keepdim(D::Minus1)?;
        let normed = x32.broadcast_mul(&(variance + self.eps)?.sqrt()?.recip()?)?;
        normed.to_dtype(dtype)?.broadcast_mul(&self.weight)
    }
}

/// transformers clamps float16 hidden states after each sublayer so that an overflow does not
/// turn into NaN: to ±(max − 1000) when any value is infinite, else to ±max.
fn clamp_f16(x: Tensor) -> candle_core::Result<Tensor> {
    if x.dtype() != DType::F16 {
        return Ok(x);
    }
    let max = F16_MAX;
    let any_inf = x
        .to_dtype(DType::F32)?
        .abs()?
        .max_all()?
        .to_scalar::<f32>()?
        .is_infinite();
    let v = if any_inf { max - 1000.0 } else { max };
    x.clamp(-v, v)
}

/// Multi-head attention without biases or score scaling (`T5Attention`).
#[derive(Debug, Clone)]
struct Attention {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    heads: usize,
    d_kv: usize,
}

impl Attention {
    fn quantize(&mut self, q: Quantization) -> Result<()> {
        for p in [&mut self.q, &mut self.k, &mut self.v, &mut self.o] {
            p.quantize(q)?;
        }
        Ok(())
    }

    fn new(vb: VarBuilder, cfg: &Config) -> Result<Self> {
        let inner = cfg.num_heads * cfg.d_kv;
        Ok(Self {
            q: linear(&vb, cfg.d_model, inner, "q")?,
            k: linear(&vb, cfg.d_model, inner, "k")?,
            v: linear(&vb, cfg.d_model, inner, "v")?,
            o: linear(&vb, inner, cfg.d_model, "o")?,
            heads: cfg.num_heads,
            d_kv: cfg.d_kv,
        })
    }

    /// `(b, t, d_model)` through `proj` → `(b, h, t, d_kv)`.
    fn heads_of(&self, proj: &Linear, x: &Tensor) -> candle_core::Result<Tensor> {
        let (b, t, _) = x.dims3()?;
        proj.forward(x)?
            .reshape((b, t, self.heads, self.d_kv))?
            .transpose(1, 2)?
            .contiguous()
    }

    /// Keys and values of `x` `(b, s, d_model)`, each `(b, h, s, d_kv)`.
    fn key_value(&self, x: &Tensor) -> candle_core::Result<(Tensor, Tensor)> {
        Ok((self.heads_of(&self.k, x)?, self.heads_of(&self.v, x)?))
    }

    /// Attends from `x` `(b, t, d_model)` to keys/values `(b, h, s, d_kv)` with the additive
    /// `bias` (position bias plus mask) broadcastable to `(b, h, t, s)`. Returns `(b, t, d_model)`.
    /// The softmax is taken in float32, as transformers does.
    fn attend(
        &self,
        x: &Tensor,
        k: &Tensor,
        v: &Tensor,
        bias: &Tensor,
    ) -> candle_core::Result<Tensor> {
        let (b, t, _) = x.dims3()?;
        let q = self.heads_of(&self.q, x)?;
        let out = attention(&q, k, v, Some(bias), true)?; // (b, h, t, d_kv)
        let out = out
            .transpose(1, 2)?
            .reshape((b, t, self.heads * self.d_kv))?;
        self.o.forward(&out)
    }
}

/// The relative position bias table of a stack's first layer.
#[derive(Debug, Clone)]
struct RelativeBias {
    /// `(num_buckets, heads)`.
    table: Embedding,
    bidirectional: bool,
    num_buckets: usize,
    max_distance: usize,
}

impl RelativeBias {
    /// The bias for queries at `query_positions` over keys `0..key_len`: `(1, h, q, key_len)`.
    fn forward(
        &self,
        query_positions: std::ops::Range<usize>,
        key_len: usize,
        device: &Device,
    ) -> candle_core::Result<Tensor> {
        let q_len = query_positions.len();
        let mut buckets = Vec::with_capacity(q_len * key_len);
        for q in query_positions {
            for k in 0..key_len {
                buckets.push(relative_position_bucket(
                    k as i64 - q as i64,
                    self.bidirectional,
                    self.num_buckets,
                    self.max_distance,
                ));
            }
        }
        let buckets = Tensor::from_vec(buckets, (q_len, key_len), device)?;
        self.table
            .forward(&buckets)? // (q, k, h)
            .permute((2, 0, 1))?
            .unsqueeze(0)
    }
}

/// `T5DenseActDense` or `T5DenseGatedActDense` (`DenseReluDense` in the weight names).
#[derive(Debug, Clone)]
struct FeedForward {
    /// `wi` (plain) or `wi_0` (gated, goes through the activation).
    wi: Linear,
    /// `wi_1` (gated only, the linear half).
    wi_1: Option<Linear>,
    wo: Linear,
    act: Activation,
}

impl FeedForward {
    fn quantize(&mut self, q: Quantization) -> Result<()> {
        self.wi.quantize(q)?;
        if let Some(wi_1) = &mut self.wi_1 {
            wi_1.quantize(q)?;
        }
        self.wo.quantize(q)
    }

    fn new(vb: VarBuilder, cfg: &Config, act: Activation, gated: bool) -> Result<Self> {
        let (d, ff) = (cfg.d_model, cfg.d_ff);
        Ok(if gated {
            Self {
                wi: linear(&vb, d, ff, "wi_0")?,
                wi_1: Some(linear(&vb, d, ff, "wi_1")?),
                wo: linear(&vb, ff, d, "wo")?,
                act,
            }
        } else {
            Self {
                wi: linear(&vb, d, ff, "wi")?,
                wi_1: None,
                wo: linear(&vb, ff, d, "wo")?,
                act,
            }
        })
    }

    /// `(b, t, d_model)` → `(b, t, d_model)`.
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let h = self.act.apply(&self.wi.forward(x)?)?;
        let h = match &self.wi_1 {
            Some(wi_1) => (h * wi_1.forward(x)?)?,
            None => h,
        };
        self.wo.forward(&h)
    }
}

/// One encoder block: `layer.0` self-attention, `layer.1` feed-forward, each pre-normed with a
/// residual connection.
#[derive(Debug, Clone)]
struct EncoderBlock {
    self_attn: Attention,
    self_attn_norm: RmsNorm,
    ff: FeedForward,
    ff_norm: RmsNorm,
}

impl EncoderBlock {
    fn new(vb: VarBuilder, cfg: &Config, act: Activation, gated: bool) -> Result<Self> {
        let eps = cfg.layer_norm_epsilon;
        let (l0, l1) = (vb.pp("layer.0"), vb.pp("layer.1"));
        Ok(Self {
            self_attn: Attention::new(l0.pp("SelfAttention"), cfg)?,
            self_attn_norm: RmsNorm::new(&l0, cfg.d_model, eps, "layer_norm")?,
            ff: FeedForward::new(l1.pp("DenseReluDense"), cfg, act, gated)?,
            ff_norm: RmsNorm::new(&l1, cfg.d_model, eps, "layer_norm")?,
        })
    }

    /// `x` `(b, s, d)`, `bias` `(b, h, s, s)` (position bias plus padding mask) → `(b, s, d)`.
    fn forward(&self, x: &Tensor, bias: &Tensor) -> candle_core::Result<Tensor> {
        let h = self.self_attn_norm.forward(x)?;
        let (k, v) = self.self_attn.key_value(&h)?;
        let x = clamp_f16((x + self.self_attn.attend(&h, &k, &v, bias)?)?)?;
        let h = self.ff_norm.forward(&x)?;
        clamp_f16((&x + self.ff.forward(&h)?)?)
    }
}

/// One decoder block: `layer.0` self-attention, `layer.1` cross-attention (`EncDecAttention`),
/// `layer.2` feed-forward.
#[derive(Debug, Clone)]
struct DecoderBlock {
    self_attn: Attention,
    self_attn_norm: RmsNorm,
    cross_attn: Attention,
    cross_attn_norm: RmsNorm,
    ff: FeedForward,
    ff_norm: RmsNorm,
}

impl DecoderBlock {
    fn new(vb: VarBuilder, cfg: &Config, act: Activation, gated: bool) -> Result<Self> {
        let eps = cfg.layer_norm_epsilon;
        let (l0, l1, l2) = (vb.pp("layer.0"), vb.pp("layer.1"), vb.pp("layer.2"));
        Ok(Self {
            self_attn: Attention::new(l0.pp("SelfAttention"), cfg)?,
            self_attn_norm: RmsNorm::new(&l0, cfg.d_model, eps, "layer_norm")?,
            cross_attn: Attention::new(l1.pp("EncDecAttention"), cfg)?,
            cross_attn_norm: RmsNorm::new(&l1, cfg.d_model, eps, "layer_norm")?,
            ff: FeedForward::new(l2.pp("DenseReluDense"), cfg, act, gated)?,
            ff_norm: RmsNorm::new(&l2, cfg.d_model, eps, "layer_norm")?,
        })
    }
}

/// A loaded T5-family encoder-decoder.
#[derive(Debug)]
pub struct T5Model {
    /// `(vocab, d_model)` input embeddings of the encoder.
    encoder_embed: TokenTable,
    encoder_bias: RelativeBias,
    encoder_blocks: Vec<EncoderBlock>,
    encoder_final_norm: RmsNorm,
    /// `(vocab, d_model)` input embeddings of the decoder.
    decoder_embed: TokenTable,
    decoder_bias: RelativeBias,
    decoder_blocks: Vec<DecoderBlock>,
    decoder_final_norm: RmsNorm,
    /// `(vocab, d_model)`: `lm_head.weight`, or the shared embeddings when tied.
    lm_head: Linear,
    /// `d_model**-0.5` when tied, else 1.
    output_scale: f64,
    special: SpecialTokens,
    vocab_size: usize,
    max_input_tokens: usize,
    dtype: DType,
    device: Device,
}

impl T5Model {
    /// Loads the model from weights named as on the Hub: `shared.weight` `(vocab, d_model)`
    /// (or `encoder.embed_tokens.weight` / `decoder.embed_tokens.weight`), per block
    /// `SelfAttention`/`EncDecAttention` `q`, `k`, `v` `(heads * d_kv, d_model)` and `o`
    /// `(d_model, heads * d_kv)`, `DenseReluDense` `wi` or `wi_0`/`wi_1` `(d_ff, d_model)` and
    /// `wo` `(d_model, d_ff)`, `layer_norm.weight` `(d_model,)`, the first block's
    /// `relative_attention_bias.weight` `(num_buckets, heads)`, `final_layer_norm.weight`
    /// `(d_model,)`, and `lm_head.weight` `(vocab, d_model)` when not tied. Errors name the
    /// missing or mis-shaped tensor, or the unsupported setting.
    pub fn new(cfg: &Config, vb: VarBuilder) -> Result<Self> {
        let (act_name, gated) = cfg.activation()?;
        let act = Activation::from_name(&act_name).ok_or_else(|| {
            Error::Model(format!(
                "T5 activation {act_name:?} is not supported (relu, gelu, gelu_new, silu)"
            ))
        })?;
        let d = cfg.d_model;
        let dtype = vb.dtype();
        let device = vb.device().clone();
        let shape = (cfg.vocab_size, d);
        // transformers' T5 ties both stacks' `embed_tokens` to `shared`: one table, one copy.
        let tokens = TokenTable::new(first_tensor(
            &vb,
            shape,
            &[
                "shared.weight",
                "encoder.embed_tokens.weight",
                "decoder.embed_tokens.weight",
            ],
        )?)?;
        let bias = |stack: &str, bidirectional: bool| -> Result<RelativeBias> {
            let name = format!("{stack}.block.0.layer.0.SelfAttention.relative_attention_bias");
            let table = candle_nn::embedding(
                cfg.relative_attention_num_buckets,
                cfg.num_heads,
                vb.pp(&name),
            )
            .ctx(format!("loading {name}.weight"))?;
            Ok(RelativeBias {
                table,
                bidirectional,
                num_buckets: cfg.relative_attention_num_buckets,
                max_distance: cfg.relative_attention_max_distance,
            })
        };
        let encoder_blocks = (0..cfg.num_layers)
            .map(|i| EncoderBlock::new(vb.pp(format!("encoder.block.{i}")), cfg, act, gated))
            .collect::<Result<Vec<_>>>()?;
        let n_dec = cfg.num_decoder_layers.unwrap_or(cfg.num_layers);
        let decoder_blocks = (0..n_dec)
            .map(|i| DecoderBlock::new(vb.pp(format!("decoder.block.{i}")), cfg, act, gated))
            .collect::<Result<Vec<_>>>()?;
        let eps = cfg.layer_norm_epsilon;
        let tied = cfg.tied();
        let (lm_head, output_scale) = if tied {
            (tokens.tied_projection(), (d as f64).powf(-0.5))
        } else {
            let w = vb
                .get(shape, "lm_head.weight")
                .ctx("loading lm_head.weight (tie_word_embeddings is false)")?;
            (Linear::new(w, None)?, 1.0)
        };
        let eos = first_eos(&cfg.eos_token_id)?;
        let special = SpecialTokens {
            pad: cfg.pad_token_id,
            eos,
            decoder_start: cfg.decoder_start_token_id.unwrap_or(cfg.pad_token_id),
            forced_eos: None,
            forced_bos: None,
        };
        Ok(Self {
            encoder_embed: tokens.clone(),
            encoder_bias: bias("encoder", true)?,
            encoder_blocks,
            encoder_final_norm: RmsNorm::new(&vb.pp("encoder"), d, eps, "final_layer_norm")?,
            decoder_embed: tokens,
            decoder_bias: bias("decoder", false)?,
            decoder_blocks,
            decoder_final_norm: RmsNorm::new(&vb.pp("decoder"), d, eps, "final_layer_norm")?,
            lm_head,
            output_scale,
            special,
            vocab_size: cfg.vocab_size,
            max_input_tokens: cfg.n_positions.unwrap_or(DEFAULT_MAX_INPUT_TOKENS),
            dtype,
            device,
        })
    }

    /// Additive attention mask `(b, 1, 1, s)` in the model's dtype ([`additive_mask`]).
    fn additive_mask(&self, mask: &Tensor) -> Result<Tensor> {
        Ok(additive_mask(mask, self.dtype)?)
    }
}

impl Seq2Seq for T5Model {
    fn quantize(&mut self, q: Quantization) -> Result<()> {
        for b in self.encoder_blocks.iter_mut() {
            b.self_attn.quantize(q)?;
            b.ff.quantize(q)?;
        }
        for b in self.decoder_blocks.iter_mut() {
            b.self_attn.quantize(q)?;
            b.cross_attn.quantize(q)?;
            b.ff.quantize(q)?;
        }
        let tables = [&mut self.encoder_embed, &mut self.decoder_embed];
        TokenTable::quantize_tied(&mut self.lm_head, tables, q)
    }

    fn encode(&self, input_ids: &Tensor, attention_mask: &Tensor) -> Result<EncoderOutput> {
        let (_, s) = input_ids.dims2()?;
        let mask = self.additive_mask(attention_mask)?; // (b, 1, 1, s)

        // Shared by every layer: position bias plus padding mask, (b, h, s, s).
        let bias = self
            .encoder_bias
            .forward(0..s, s, &self.device)
            .and_then(|p| p.to_dtype(self.dtype)?.broadcast_add(&mask))
            .ctx("encoder position bias")?;
        let mut x = self
            .encoder_embed
            .forward(input_ids)
            .ctx("encoder embeddings")?; // (b, s, d)
        for (i, block) in self.encoder_blocks.iter().enumerate() {
            x = block.forward(&x, &bias).ctx(format!("encoder block {i}"))?;
        }
        let hidden = self.encoder_final_norm.forward(&x)?;
        Ok(EncoderOutput {
            hidden,
            attention_mask: attention_mask.clone(),
        })
    }

    fn decoder<'a>(
        &'a self,
        encoder: &EncoderOutput,
        expand: usize,
    ) -> Result<Box<dyn StepDecoder + 'a>> {
        let cache = KvCache::new(
            &self.decoder_blocks,
            encoder,
            expand,
            |mask| self.additive_mask(mask),
            |l, hidden| l.cross_attn.key_value(hidden),
        )?;
        Ok(Box::new(T5Decoder {
            model: self,
            cache,
            pos: 0,
        }))
    }

    fn special_tokens(&self) -> &SpecialTokens {
        &self.special
    }

    fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    fn max_input_tokens(&self) -> usize {
        self.max_input_tokens
    }

    fn device(&self) -> &Device {
        &self.device
    }
}

/// Incremental decoder state over a [`KvCache`] (T5's cross-attention has no position bias:
/// its only bias is the cache's encoder padding mask).
struct T5Decoder<'a> {
    model: &'a T5Model,
    cache: KvCache,
    /// Position of the token fed next (= number of tokens fed so far).
    pos: usize,
}

impl StepDecoder for T5Decoder<'_> {
    fn step(&mut self, tokens: &[u32]) -> Result<Tensor> {
        let m = self.model;
        let rows = tokens.len();
        let ids = Tensor::from_vec(tokens.to_vec(), (rows, 1), &m.device)?;
        let mut x = m.decoder_embed.forward(&ids)?; // (rows, 1, d)

        // The causal bias row of the current position over keys 0..=pos: (1, h, 1, pos + 1).
        // One query at the newest position sees every cached key, so no causal mask is needed.
        let self_bias = m
            .decoder_bias
            .forward(self.pos..self.pos + 1, self.pos + 1, &m.device)
            .and_then(|b| b.to_dtype(m.dtype))
            .ctx("decoder position bias")?;
        for (i, block) in m.decoder_blocks.iter().enumerate() {
            let mut cache = self.cache.layer(i);
            let mut step = || -> candle_core::Result<Tensor> {
                let h = block.self_attn_norm.forward(&x)?;
                let (k, v) = block.self_attn.key_value(&h)?;
                let (k, v) = cache.append(k, v)?;
                let attn = block.self_attn.attend(&h, &k, &v, &self_bias)?;
                let x = clamp_f16((&x + attn)?)?;
                let h = block.cross_attn_norm.forward(&x)?;
                let cross =
                    block
                        .cross_attn
                        .attend(&h, cache.cross_k, cache.cross_v, cache.cross_mask)?;
                let x = clamp_f16((&x + cross)?)?;
                let h = block.ff_norm.forward(&x)?;
                clamp_f16((&x + block.ff.forward(&h)?)?)
            };
            x = step().ctx(format!("decoder block {i}"))?;
        }
        self.pos += 1;
        let x = m.decoder_final_norm.forward(&x)?.i((.., 0, ..))?; // (rows, d)
        let x = if m.output_scale != 1.0 {
            (x * m.output_scale)?
        } else {
            x
        };
        let logits = m.lm_head.forward(&x).ctx("output projection")?; // (rows, vocab)
        Ok(logits.to_dtype(DType::F32)?)
    }

    fn reorder(&mut self, indices: &[u32]) -> Result<()> {
        self.cache.reorder(indices)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_follow_transformers() {
        // Encoder (bidirectional, 32 buckets, max distance 128): exact up to 7 each side,
        // keys after the query in the upper half.
        let b = |r| relative_position_bucket(r, true, 32, 128);
        assert_eq!((b(0), b(-7), b(7)), (0, 7, 23));
        assert_eq!((b(-8), b(-16), b(-128), b(-1000)), (8, 10, 15, 15));
        assert_eq!((b(16), b(1000)), (26, 31));
        // Decoder (causal): future keys in bucket 0, exact up to 15 back.
        let c = |r| relative_position_bucket(r, false, 32, 128);
        assert_eq!(
            (c(5), c(0), c(-15), c(-16), c(-128), c(-500)),
            (0, 0, 15, 16, 31, 31)
        );
    }

    #[test]
    fn activation_follows_t5_config() {
        let cfg = |proj: &str| -> Config {
            serde_json::from_value(serde_json::json!({
                "model_type": "t5", "vocab_size": 10, "d_model": 4, "d_kv": 2, "d_ff": 8,
                "num_layers": 1, "num_heads": 2, "feed_forward_proj": proj
            }))
            .unwrap()
        };
        assert_eq!(cfg("relu").activation().unwrap(), ("relu".into(), false));
        assert_eq!(
            cfg("gated-gelu").activation().unwrap(),
            ("gelu_new".into(), true)
        );
        assert_eq!(
            cfg("gated-silu").activation().unwrap(),
            ("silu".into(), true)
        );
        assert!(cfg("double-gated-gelu").activation().is_err());
        assert!(cfg("relu").tied());
    }
}
