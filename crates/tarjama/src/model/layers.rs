//! Building blocks every model family shares: the feed-forward [`Activation`] by its
//! transformers name, and the [`additive_mask`] that turns a padding mask into attention-score
//! biases.

use candle_core::{DType, Tensor};

/// `torch.finfo(torch.float16).max`.
pub(super) const F16_MAX: f64 = 65504.0;
/// `torch.finfo(torch.bfloat16).min`.
const BF16_MIN: f64 = -3.389_531_389_251_535_5e38;

/// Feed-forward activations by their transformers names (`ACT2FN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Activation {
    /// `silu` / `swish`: `x · sigmoid(x)`.
    Silu,
    /// `gelu`: the exact GELU, `x · Φ(x)` with the error function.
    GeluErf,
    /// `gelu_new` / `gelu_pytorch_tanh`: GELU's tanh approximation.
    GeluTanh,
    /// `relu`.
    Relu,
}

impl Activation {
    /// The activation transformers' `ACT2FN[name]` gives, or `None` for a name tarjama does not
    /// implement (each family words its own error).
    pub(super) fn from_name(name: &str) -> Option<Self> {
        match name {
            "swish" | "silu" => Some(Activation::Silu),
            "gelu" => Some(Activation::GeluErf),
            "gelu_new" | "gelu_pytorch_tanh" => Some(Activation::GeluTanh),
            "relu" => Some(Activation::Relu),
            _ => None,
        }
    }

    /// Applies the activation elementwise (any shape, the dtype kept).
    pub(super) fn apply(self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Activation::Silu => candle_nn::ops::silu(x),
            Activation::GeluErf => x.gelu_erf(),
            Activation::GeluTanh => x.gelu(),
            Activation::Relu => x.relu(),
        }
    }
}

/// The most negative finite value of `dtype` (`torch.finfo(dtype).min`): −65504 in float16,
/// −3.39e38 in bfloat16, `f32::MIN` in float32 (and for any other dtype), `f64::MIN` in float64.
/// Finite in every dtype: `f32::MIN` cast to float16 or bfloat16 rounds to −inf, and a padded
/// row whose scores are all −inf softmaxes to NaN.
pub(super) fn mask_min(dtype: DType) -> f64 {
    match dtype {
        DType::F16 => -F16_MAX,
        DType::BF16 => BF16_MIN,
        DType::F64 => f64::MIN,
        _ => f64::from(f32::MIN),
    }
}

/// The additive attention mask `(b, 1, 1, s)` in `dtype` for a padding mask `mask` `(b, s)`
/// (u8, 1 for real tokens and 0 for padding): 0 where `mask` is nonzero, [`mask_min`] where it
/// is 0. transformers' `_prepare_4d_attention_mask`: `(1 - mask) * torch.finfo(dtype).min`.
/// Errors only on a `mask` that is not two-dimensional.
pub(super) fn additive_mask(mask: &Tensor, dtype: DType) -> candle_core::Result<Tensor> {
    let (b, s) = mask.dims2()?;
    let device = mask.device();
    let keep = mask.ne(0u8)?;
    let zeros = Tensor::zeros((b, s), dtype, device)?;
    let neg = Tensor::full(mask_min(dtype), (b, s), device)?.to_dtype(dtype)?;
    keep.where_cond(&zeros, &neg)?.reshape((b, 1, 1, s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// 0 for real tokens and the dtype's finite minimum for padding, in every dtype; the f32
    /// value is exactly `f32::MIN` (what BART used), so float32 outputs do not move.
    #[test]
    fn additive_mask_is_zero_or_the_dtypes_finite_minimum() -> candle_core::Result<()> {
        let mask = Tensor::new(&[[1u8, 1, 0], [1, 0, 0]], &Device::Cpu)?;
        let flat = |t: Tensor| -> candle_core::Result<Vec<f64>> {
            assert_eq!(t.dims(), &[2, 1, 1, 3]);
            t.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()
        };
        for (dtype, min) in [
            (DType::F32, f64::from(f32::MIN)),
            (DType::F16, -65504.0),
            (DType::BF16, -3.389_531_389_251_535_5e38),
            (DType::F64, f64::MIN),
        ] {
            let got = additive_mask(&mask, dtype)?;
            assert_eq!(got.dtype(), dtype);
            assert_eq!(flat(got)?, [0.0, 0.0, min, 0.0, min, min], "{dtype:?}");
            assert!(min.is_finite());
        }
        let f32_mask = additive_mask(&mask, DType::F32)?;
        assert_eq!(
            f32_mask.flatten_all()?.to_vec1::<f32>()?[2].to_bits(),
            f32::MIN.to_bits()
        );
        assert!(additive_mask(&mask.flatten_all()?, DType::F32).is_err());
        Ok(())
    }

    #[test]
    fn activations_by_transformers_name() -> candle_core::Result<()> {
        for (name, want) in [
            ("silu", Activation::Silu),
            ("swish", Activation::Silu),
            ("gelu", Activation::GeluErf),
            ("gelu_new", Activation::GeluTanh),
            ("gelu_pytorch_tanh", Activation::GeluTanh),
            ("relu", Activation::Relu),
        ] {
            assert_eq!(Activation::from_name(name), Some(want), "{name}");
        }
        assert_eq!(Activation::from_name("gelu_fast"), None);
        let x = Tensor::new(&[-1f32, 0.0, 2.0], &Device::Cpu)?;
        assert_eq!(
            Activation::Relu.apply(&x)?.to_vec1::<f32>()?,
            [0.0, 0.0, 2.0]
        );
        let silu = Activation::Silu.apply(&x)?.to_vec1::<f32>()?;
        assert!((silu[2] - 2.0 / (1.0 + (-2f32).exp())).abs() < 1e-6);
        let erf = Activation::GeluErf.apply(&x)?.to_vec1::<f32>()?;
        let tanh = Activation::GeluTanh.apply(&x)?.to_vec1::<f32>()?;
        assert!((erf[0] - -0.158_655_25).abs() < 1e-5, "{erf:?}");
        assert!((tanh[0] - -0.158_808).abs() < 1e-5, "{tanh:?}");
        Ok(())
    }
}
