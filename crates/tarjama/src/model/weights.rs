//! Reading safetensors weights one tensor at a time.
//!
//! candle's memory-mapped loader keeps the whole file mapped while it copies every tensor out,
//! so loading peaks at twice the weights' size. This loader parses the safetensors header
//! (8-byte little-endian length, JSON table of `dtype`, `shape`, `data_offsets`) and reads each
//! tensor's bytes with a positioned read when the model asks for it: the peak stays at the
//! weights plus one tensor. PyTorch `pytorch_model.bin` checkpoints are read the same way by
//! [`PthWeights`] (module `pth`).

mod pth;

pub use pth::PthWeights;

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::var_builder::SimpleBackend;

use crate::error::{candle_message, candle_root, Error, Result};
use crate::hub::Weights;

/// Where one tensor lives.
#[derive(Debug, Clone)]
struct Entry {
    file: usize,
    dtype: DType,
    shape: Vec<usize>,
    /// Absolute byte range in the file.
    start: u64,
    end: u64,
}

/// A set of safetensors files (one, or the shards of a checkpoint) read on demand.
#[derive(Debug)]
pub struct StreamedSafetensors {
    files: Vec<PathBuf>,
    entries: HashMap<String, Entry>,
}

fn st_dtype(s: &str) -> Option<DType> {
    Some(match s {
        "F32" => DType::F32,
        "F16" => DType::F16,
        "BF16" => DType::BF16,
        "F64" => DType::F64,
        "I64" => DType::I64,
        "U32" => DType::U32,
        "U8" => DType::U8,
        _ => return None,
    })
}

fn read_header(path: &Path, index: usize, entries: &mut HashMap<String, Entry>) -> Result<()> {
    let bad = |msg: String| Error::input(path, format!("not a safetensors file: {msg}"));
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut len = [0u8; 8];
    f.read_exact(&mut len).map_err(|e| Error::io(path, e))?;
    let len = u64::from_le_bytes(len);
    let size = f.metadata().map_err(|e| Error::io(path, e))?.len();
    if len > size.saturating_sub(8) || len > 100_000_000 {
        return Err(bad(format!("header length {len} does not fit the file")));
    }
    let mut header = vec![0u8; len as usize];
    f.read_exact(&mut header).map_err(|e| Error::io(path, e))?;
    let table: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&header).map_err(|e| bad(format!("header: {e}")))?;
    let base = 8 + len;
    for (name, info) in table {
        if name == "__metadata__" {
            continue;
        }
        let dtype_name = info["dtype"].as_str().unwrap_or("");
        let dtype = st_dtype(dtype_name)
            .ok_or_else(|| bad(format!("{name}: unsupported dtype {dtype_name:?}")))?;
        let shape = info["shape"]
            .as_array()
            .and_then(|a| a.iter().map(|d| d.as_u64().map(|d| d as usize)).collect())
            .ok_or_else(|| bad(format!("{name}: bad shape")))?;
        let offsets: Vec<u64> = info["data_offsets"]
            .as_array()
            .and_then(|a| a.iter().map(|d| d.as_u64()).collect())
            .filter(|o: &Vec<u64>| o.len() == 2 && o[0] <= o[1])
            .ok_or_else(|| bad(format!("{name}: bad data_offsets")))?;
        let (start, end) = (base + offsets[0], base + offsets[1]);
        if end > size {
            return Err(bad(format!("{name}: data past the end of the file")));
        }
        entries.insert(
            name,
            Entry {
                file: index,
                dtype,
                shape,
                start,
                end,
            },
        );
    }
    Ok(())
}

impl StreamedSafetensors {
    /// The number of parameters the headers describe (the sum of every tensor's shape
    /// product), without reading any tensor data.
    pub fn parameters(&self) -> u64 {
        self.entries
            .values()
            .map(|e| e.shape.iter().map(|&d| d as u64).product::<u64>())
            .sum()
    }

    /// Reads the headers of `files`. Errors name the file that is missing or malformed.
    pub fn open(files: &[PathBuf]) -> Result<Self> {
        let mut entries = HashMap::new();
        for (i, f) in files.iter().enumerate() {
            read_header(f, i, &mut entries)?;
        }
        Ok(Self {
            files: files.to_vec(),
            entries,
        })
    }

    fn load(&self, name: &str, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        let e = self.entries.get(name).ok_or_else(|| {
            candle_core::Error::CannotFindTensor {
                path: name.to_string(),
            }
            .bt()
        })?;
        let path = &self.files[e.file];
        let mut f = File::open(path)?;
        f.seek(SeekFrom::Start(e.start))?;
        let mut bytes = vec![0u8; (e.end - e.start) as usize];
        f.read_exact(&mut bytes)?;
        let t = Tensor::from_raw_buffer(&bytes, e.dtype, &e.shape, dev)?;
        drop(bytes);
        t.to_dtype(dtype)
    }

    /// The file holding the tensor `name`, if there is one.
    fn file_of(&self, name: &str) -> Option<&Path> {
        self.entries.get(name).map(|e| self.files[e.file].as_path())
    }
}

/// `t` if it has the `expected` shape, else candle's shape error naming the tensor (what
/// `VarBuilder::get` reports for every backend) and the file it was read from.
fn expect_shape(
    t: Tensor,
    expected: Shape,
    name: &str,
    file: Option<&Path>,
) -> candle_core::Result<Tensor> {
    if t.shape() != &expected {
        return Err(shape_error(name, expected, t.shape().clone(), file));
    }
    Ok(t)
}

/// candle's error for the tensor `name` of shape `got` where `expected` was asked for, with
/// the file holding the tensor (candle's `WithPath`) where known, for [`locate`].
fn shape_error(name: &str, expected: Shape, got: Shape, file: Option<&Path>) -> candle_core::Error {
    let err = candle_core::Error::UnexpectedShape {
        msg: format!("shape mismatch for {name}"),
        expected,
        got,
    }
    .bt();
    match file {
        Some(file) => err.with_path(file),
        None => err,
    }
}

/// The file a candle error names (its innermost `WithPath`), if any.
fn error_path(err: &candle_core::Error) -> Option<&Path> {
    use candle_core::Error as E;
    match err {
        E::WithPath { inner, path } => error_path(inner).or(Some(path)),
        E::WithBacktrace { inner, .. } | E::Context { inner, .. } => error_path(inner),
        _ => None,
    }
}

/// A model-loading error located in the weights: a tensor error ([`Error::Tensor`]) becomes
/// an [`Error::Model`] that starts with the file. A tensor whose shape does not fit
/// `config` reads `<weights file>: tensor <name> has shape [..], config.json expects [..]`,
/// naming the file (or shard) the reader found the tensor in; any other tensor error reads
/// `<file>: <context>: <candle's message>`, naming the weights file, or the model's directory
/// (`config`'s) when the weights are sharded. Other errors are returned unchanged.
pub(crate) fn locate(err: Error, weights: &Weights, config: &Path) -> Error {
    let Error::Tensor { context, source } = err else {
        return err;
    };
    let files = match weights {
        Weights::Safetensors(f) | Weights::PytorchBin(f) => f,
    };
    let dir = config.parent().unwrap_or(Path::new(""));
    let place = match files.as_slice() {
        [only] => only.as_path(),
        _ => dir,
    };
    if let candle_core::Error::UnexpectedShape { msg, expected, got } = candle_root(&source) {
        if let Some(tensor) = msg.strip_prefix("shape mismatch for ") {
            let config = config.file_name().map_or_else(
                || config.display().to_string(),
                |f| f.to_string_lossy().into_owned(),
            );
            let file = error_path(&source).unwrap_or(place);
            return Error::Model(format!(
                "{}: tensor {tensor} has shape {got:?}, {config} expects {expected:?}",
                file.display()
            ));
        }
    }
    Error::Model(format!(
        "{}: {context}: {}",
        place.display(),
        candle_message(&source)
    ))
}

impl SimpleBackend for StreamedSafetensors {
    fn get(
        &self,
        s: Shape,
        name: &str,
        _: candle_nn::Init,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        expect_shape(self.load(name, dtype, dev)?, s, name, self.file_of(name))
    }

    fn get_unchecked(&self, name: &str, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        self.load(name, dtype, dev)
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_candle_writes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.safetensors");
        let a = Tensor::arange(0f32, 6.0, &Device::Cpu)
            .unwrap()
            .reshape((2, 3))
            .unwrap();
        let b = Tensor::new(&[7u32, 8], &Device::Cpu).unwrap();
        candle_core::safetensors::save(
            &HashMap::from([("a".to_string(), a.clone()), ("b".to_string(), b)]),
            &p,
        )
        .unwrap();
        let st = StreamedSafetensors::open(std::slice::from_ref(&p)).unwrap();
        assert!(st.contains_tensor("a") && !st.contains_tensor("c"));
        let got = st
            .get(
                (2, 3).into(),
                "a",
                candle_nn::Init::Const(0.),
                DType::F32,
                &Device::Cpu,
            )
            .unwrap();
        assert_eq!(got.to_vec2::<f32>().unwrap(), a.to_vec2::<f32>().unwrap());
        assert!(st
            .get(
                (3, 2).into(),
                "a",
                candle_nn::Init::Const(0.),
                DType::F32,
                &Device::Cpu
            )
            .is_err());
        let b: Vec<u32> = st
            .get_unchecked("b", DType::U32, &Device::Cpu)
            .unwrap()
            .to_vec1()
            .unwrap();
        assert_eq!(b, vec![7, 8]);
        std::fs::write(&p, b"\x05\x00\x00\x00\x00\x00\x00\x00{}").unwrap();
        let err = StreamedSafetensors::open(&[p]).unwrap_err().to_string();
        assert!(err.contains("not a safetensors file"), "{err}");
    }

    /// A shape mismatch names the shard the tensor is in and both shapes; another tensor error
    /// names the only file, or the directory of sharded weights; other errors pass unchanged.
    #[test]
    fn load_errors_name_the_weights_file() {
        use crate::error::TensorContext;
        let dir = tempfile::tempdir().unwrap();
        let shard = |name: &str, tensor: &str| {
            let p = dir.path().join(name);
            let t = Tensor::zeros((2, 3), DType::F32, &Device::Cpu).unwrap();
            candle_core::safetensors::save(&HashMap::from([(tensor.to_string(), t)]), &p).unwrap();
            p
        };
        let files = vec![shard("a.safetensors", "x"), shard("b.safetensors", "y")];
        let config = dir.path().join("config.json");
        let st = StreamedSafetensors::open(&files).unwrap();
        let get = |name: &str| {
            st.get(
                (3, 2).into(),
                name,
                candle_nn::Init::Const(0.),
                DType::F32,
                &Device::Cpu,
            )
            .ctx(format!("loading {name}"))
            .map(|_| ())
            .unwrap_err()
        };
        let sharded = Weights::Safetensors(files.clone());
        assert_eq!(
            locate(get("y"), &sharded, &config).to_string(),
            format!(
                "{}: tensor y has shape [2, 3], config.json expects [3, 2]",
                files[1].display()
            )
        );
        let missing = locate(get("z"), &sharded, &config).to_string();
        assert!(
            missing.starts_with(&format!("{}: loading z: ", dir.path().display())),
            "{missing}"
        );
        let single = Weights::Safetensors(vec![files[0].clone()]);
        let missing = locate(get("z"), &single, &config).to_string();
        assert!(
            missing.starts_with(&format!("{}: loading z: ", files[0].display())),
            "{missing}"
        );
        let other = locate(Error::Config("x".into()), &single, &config);
        assert!(matches!(other, Error::Config(m) if m == "x"));
    }
}
