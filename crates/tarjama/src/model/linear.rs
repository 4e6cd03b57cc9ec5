//! Fully connected layers `y = x Wᵀ + b` with a dense, packed or quantized weight, and token
//! embedding tables that a tied output projection can share.
//!
//! Dense weights use the model's dtype. A float32 weight on the CPU is repacked once at load
//! time (`kernels::PackedWeight`) for tarjama's own product, which at decoding's row
//! counts is faster than candle's `gemm` call. Quantized weights use candle's k-quant kernels
//! (`QMatMul`, GGML block formats): on the CPU the activations are quantized on the fly to the
//! block format's dot-product type, so outputs drift slightly from float32; the drift is measured
//! by the parity tests (see `tests/quantize.rs`). `int8` is tarjama's own: weights with one
//! scale per output row and activations quantized per row, multiplied with integer dot
//! products (VNNI or AVX2 `maddubs`, see `kernels::int8`) on the CPU.

use std::str::FromStr;
use std::sync::Arc;

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{Module, Tensor};
use candle_nn::VarBuilder;

use super::kernels::{with_f32, PackedWeight};
use crate::error::{Error, Result, TensorContext};

/// `--quantize`: the format of quantized weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Quantization {
    /// 8-bit blocks of 32 with one f16 scale (GGML `Q8_0`): the smallest drift.
    Q8_0,
    /// 4-bit blocks of 32 with one scale (GGML `Q4_0`).
    Q4_0,
    /// 6-bit k-quant super-blocks of 256 (GGML `Q6_K`).
    Q6K,
    /// 4-bit k-quant super-blocks of 256 (GGML `Q4_K`).
    Q4K,
    /// int8 with one float32 scale per output row, the activations quantized per row at
    /// every product, integer dot products (as CTranslate2's `int8`); CPU only.
    Int8,
}

impl Quantization {
    /// The GGML block format (`None` for int8, which is not one).
    fn ggml(self) -> Option<GgmlDType> {
        match self {
            Quantization::Q8_0 => Some(GgmlDType::Q8_0),
            Quantization::Q4_0 => Some(GgmlDType::Q4_0),
            Quantization::Q6K => Some(GgmlDType::Q6K),
            Quantization::Q4K => Some(GgmlDType::Q4K),
            Quantization::Int8 => None,
        }
    }

    /// Elements per quantization block: a weight's input size must be a multiple of it (1 for
    /// int8, whose scales are per row).
    pub fn block_size(self) -> usize {
        self.ggml().map_or(1, |g| g.block_size())
    }
}

/// The `--quantize` spelling (`q8_0`, `q4_0`, `q6k`, `q4k`, `int8`).
impl std::fmt::Display for Quantization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Quantization::Q8_0 => "q8_0",
            Quantization::Q4_0 => "q4_0",
            Quantization::Q6K => "q6k",
            Quantization::Q4K => "q4k",
            Quantization::Int8 => "int8",
        })
    }
}

impl FromStr for Quantization {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "q8_0" => Ok(Quantization::Q8_0),
            "q4_0" => Ok(Quantization::Q4_0),
            "q6k" | "q6_k" => Ok(Quantization::Q6K),
            "q4k" | "q4_k" => Ok(Quantization::Q4K),
            "int8" => Ok(Quantization::Int8),
            _ => Err(Error::Config(format!(
                "bad quantization {s:?} (q8_0, q4_0, q6k, q4k, int8)"
            ))),
        }
    }
}

#[derive(Debug, Clone)]
enum Weight {
    /// `(out, in)` in the model dtype (any device, any dtype but CPU float32).
    Dense(Tensor),
    /// `(out, in)` packed for [`PackedWeight::matmul_t`] (float32 or `Q8_0` on the CPU, or
    /// int8 on the CPU whatever the model dtype); shared with a [`TokenTable`] where the
    /// projection is tied to the embeddings.
    Packed(Arc<PackedWeight>),
    /// `(out, in)` in a GGML block format.
    Quantized(QMatMul),
}

impl Weight {
    /// Packs CPU float32 weights, keeps the others as they are.
    fn new(w: Tensor) -> Result<Self> {
        Ok(match PackedWeight::pack(&w).ctx("packing a weight")? {
            Some(p) => Weight::Packed(Arc::new(p)),
            None => Weight::Dense(w),
        })
    }
}

/// A fully connected layer: weight `(out, in)` as stored on the Hub, optional bias `(out,)`.
#[derive(Debug, Clone)]
pub struct Linear {
    weight: Weight,
    bias: Option<Tensor>,
}

impl Linear {
    /// A layer from its tensors: `weight` `(out, in)`, `bias` `(out,)`. A float32 weight on the
    /// CPU is repacked (the tensor itself is not kept).
    pub fn new(weight: Tensor, bias: Option<Tensor>) -> Result<Self> {
        Ok(Self {
            weight: Weight::new(weight)?,
            bias,
        })
    }

    /// Loads `{prefix}.weight` `(out, in)` and, when `bias`, `{prefix}.bias` `(out,)`.
    /// Errors name the tensor.
    pub fn load(vb: &VarBuilder, in_dim: usize, out_dim: usize, bias: bool) -> Result<Self> {
        let weight = vb
            .get((out_dim, in_dim), "weight")
            .ctx(format!("loading {}.weight", vb.prefix()))?;
        let bias = if bias {
            Some(
                vb.get(out_dim, "bias")
                    .ctx(format!("loading {}.bias", vb.prefix()))?,
            )
        } else {
            None
        };
        Self::new(weight, bias)
    }

    /// Replaces a dense float32 weight by its quantized form (no-op if already quantized).
    /// A packed weight shared with a [`TokenTable`] stays there for the embedding lookups.
    ///
    /// Errors: an input size that is not a multiple of the block size, or a non-f32 weight;
    /// for int8, a weight that is not on the CPU.
    pub fn quantize(&mut self, q: Quantization) -> Result<()> {
        let in_dim = match &self.weight {
            Weight::Dense(w) => w.dim(1)?,
            Weight::Packed(p) if !p.is_quantized() => p.in_dim(),
            Weight::Packed(_) | Weight::Quantized(_) => return Ok(()),
        };
        if in_dim % q.block_size() != 0 {
            return Err(Error::Model(format!(
                "cannot quantize a weight with input size {in_dim} to {q} (blocks of {})",
                q.block_size()
            )));
        }
        let w = match &self.weight {
            // int8 is tarjama's own, from a packed float32 weight or a dense CPU one.
            Weight::Packed(p) if q == Quantization::Int8 => {
                let p = p.to_int8().ctx("quantizing a weight")?;
                self.weight = Weight::Packed(Arc::new(p));
                return Ok(());
            }
            Weight::Dense(w) if q == Quantization::Int8 => {
                let p = PackedWeight::int8_of(w).ctx("quantizing a weight to int8")?;
                self.weight = Weight::Packed(Arc::new(p));
                return Ok(());
            }
            // A packed float32 weight (CPU, float32 model) becomes a packed Q8_0 weight for
            // tarjama's kernels; other formats go to candle's QMatMul.
            Weight::Packed(p) if q == Quantization::Q8_0 => {
                let p = p.to_q8_0().ctx("quantizing a weight")?;
                self.weight = Weight::Packed(Arc::new(p));
                return Ok(());
            }
            Weight::Packed(p) => p.unpack()?,
            Weight::Dense(w) => w.to_dtype(candle_core::DType::F32)?,
            Weight::Quantized(_) => return Ok(()),
        };
        let Some(ggml) = q.ggml() else {
            unreachable!("int8 is handled above")
        };
        let qt = QTensor::quantize(&w, ggml).ctx("quantizing a weight")?;
        self.weight = Weight::Quantized(QMatMul::from_qtensor(qt)?);
        Ok(())
    }

    /// `x` `(..., in)` → `(..., out)`.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let dims = x.dims().to_vec();
        let in_dim = dims[dims.len() - 1];
        let rows = x.elem_count() / in_dim.max(1);
        // One 2-D product for all rows (a broadcast batched product is much slower on CPU).
        let x2 = x.reshape((rows, in_dim))?;
        let y = self.product(&x2, self.bias.as_ref())?;
        let mut out_dims = dims;
        let last = out_dims.len() - 1;
        out_dims[last] = y.dim(1)?;
        y.reshape(out_dims)
    }

    /// `x` `(rows, in)` → float32 `(rows, out)` logits `x Wᵀ + extra`, with a float32 `extra`
    /// `(out,)` added after the product in float32 (BART's `final_logits_bias`, which
    /// transformers adds to the logits of the model's dtype after the projection). On a packed
    /// weight the addition is fused into the product, saving a pass over the logits.
    pub fn forward_f32_bias(&self, x: &Tensor, extra: &Tensor) -> candle_core::Result<Tensor> {
        let f32 = candle_core::DType::F32;
        match (&self.weight, &self.bias) {
            (Weight::Packed(_), None) if x.dtype() == f32 && extra.dtype() == f32 => {
                self.product(x, Some(extra))
            }
            _ => self.forward(x)?.to_dtype(f32)?.broadcast_add(extra),
        }
    }

    /// `x` `(rows, in)` times `Wᵀ` → `(rows, out)`, plus `bias` `(out,)` after the product:
    /// fused into a packed product when the bias is float32, a separate addition otherwise.
    fn product(&self, x: &Tensor, bias: Option<&Tensor>) -> candle_core::Result<Tensor> {
        let f32 = candle_core::DType::F32;
        let y = match &self.weight {
            // An int8 weight of a half-precision model: the product in float32, the result in
            // the model's dtype (the bias is added in that dtype below).
            Weight::Packed(w) if w.is_int8() && x.dtype() != f32 => {
                w.matmul_t(&x.to_dtype(f32)?, None)?.to_dtype(x.dtype())?
            }
            Weight::Packed(w) => {
                if x.dtype() != f32 {
                    candle_core::bail!("a float32 layer got {:?} input", x.dtype())
                }
                match bias {
                    Some(b) if b.dtype() == f32 => {
                        return with_f32(b, |b| w.matmul_t(x, Some(b)));
                    }
                    _ => w.matmul_t(x, None)?,
                }
            }
            Weight::Dense(w) => x.matmul(&w.t()?)?,
            Weight::Quantized(w) => w.forward(x)?,
        };
        match bias {
            Some(b) => y.broadcast_add(b),
            None => Ok(y),
        }
    }
}

/// A token embedding table `(vocab, d_model)`, cheap to clone: the encoder, the decoder and a
/// tied output projection ([`TokenTable::tied_projection`]) share one copy in memory.
#[derive(Debug, Clone)]
pub struct TokenTable {
    table: Table,
    dim: usize,
}

#[derive(Debug, Clone)]
enum Table {
    Dense(Tensor),
    Packed(Arc<PackedWeight>),
}

impl TokenTable {
    /// Wraps `weight` `(vocab, d_model)`; float32 on the CPU is packed as an output projection.
    pub fn new(weight: Tensor) -> Result<Self> {
        let dim = weight.dim(1)?;
        let table = match Weight::new(weight)? {
            Weight::Packed(p) => Table::Packed(p),
            Weight::Dense(t) => Table::Dense(t),
            Weight::Quantized(_) => unreachable!("Weight::new never quantizes"),
        };
        Ok(Self { table, dim })
    }

    /// Embeds `ids` `(...)` u32 → `(..., d_model)`. Errors on an id outside the table.
    pub fn forward(&self, ids: &Tensor) -> candle_core::Result<Tensor> {
        let mut dims = ids.dims().to_vec();
        let flat = ids.flatten_all()?;
        let x = match &self.table {
            Table::Dense(t) => t.index_select(&flat, 0)?,
            Table::Packed(p) => p.rows(&flat.to_vec1::<u32>()?)?,
        };
        dims.push(self.dim);
        x.reshape(dims)
    }

    /// Whether `lm_head` is this table's tied projection (one copy in memory).
    fn is_tied_to(&self, lm_head: &Linear) -> bool {
        match (&self.table, &lm_head.weight) {
            (Table::Packed(a), Weight::Packed(b)) => Arc::ptr_eq(a, b),
            (Table::Dense(a), Weight::Dense(b)) => a.id() == b.id(),
            _ => false,
        }
    }

    /// Quantizes `lm_head` to `q`; for int8, a float32 table tied to it (`tables`: the
    /// encoder's and the decoder's, often one) then looks its rows up in the int8 projection
    /// (each token's row dequantized with its own scale), so the model keeps one int8 copy
    /// of the vocabulary matrix instead of an int8 and a float32 one. Other formats keep the
    /// float32 table for the lookups, as [`Linear::quantize`] says. Errors as it does.
    pub fn quantize_tied(
        lm_head: &mut Linear,
        tables: [&mut TokenTable; 2],
        q: Quantization,
    ) -> Result<()> {
        let tied = tables.map(|t| {
            let f32 = match &t.table {
                Table::Packed(p) => !p.is_quantized(),
                Table::Dense(d) => d.dtype() == candle_core::DType::F32,
            };
            (f32 && t.is_tied_to(lm_head)).then_some(t)
        });
        lm_head.quantize(q)?;
        if let (Quantization::Int8, Weight::Packed(p)) = (q, &lm_head.weight) {
            for t in tied.into_iter().flatten() {
                t.table = Table::Packed(p.clone());
            }
        }
        Ok(())
    }

    /// The output projection tied to this table (`logits = x Eᵀ`), without a bias.
    pub fn tied_projection(&self) -> Linear {
        let weight = match &self.table {
            Table::Dense(t) => Weight::Dense(t.clone()),
            Table::Packed(p) => Weight::Packed(p.clone()),
        };
        Linear { weight, bias: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn dense_matches_manual_product_and_q8_0_is_close() {
        let d = Device::Cpu;
        let w = Tensor::arange(0f32, 64.0 * 3.0, &d)
            .unwrap()
            .reshape((3, 64))
            .unwrap()
            .affine(0.01, -0.5)
            .unwrap();
        let b = Tensor::new(&[1f32, 2.0, 3.0], &d).unwrap();
        let x = Tensor::ones((2, 1, 64), candle_core::DType::F32, &d).unwrap();
        let mut lin = Linear::new(w.clone(), Some(b)).unwrap();
        let y: Vec<f32> = lin
            .forward(&x)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let row_sums: Vec<f32> = w.sum(1).unwrap().to_vec1().unwrap();
        assert_eq!(y.len(), 6);
        for (i, v) in y.iter().enumerate() {
            let expect = row_sums[i % 3] + (i % 3 + 1) as f32;
            assert!((v - expect).abs() < 1e-4, "{v} vs {expect}");
        }
        lin.quantize(Quantization::Q8_0).unwrap();
        let yq: Vec<f32> = lin
            .forward(&x)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        for (a, b) in y.iter().zip(&yq) {
            assert!((a - b).abs() < 0.05 * a.abs().max(1.0), "{a} vs {b}");
        }
        assert!("q9".parse::<Quantization>().is_err());
    }
}
