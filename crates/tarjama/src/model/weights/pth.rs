//! Reading PyTorch `pytorch_model.bin` checkpoints (both of `torch.save`'s formats) one tensor at
//! a time, without executing anything.
//!
//! A checkpoint is a pickle of the state dict whose tensors point, through pickle "persistent
//! ids", at storages (flat typed buffers) kept outside the pickle:
//!
//! - the zip format (torch >= 1.6, `torch.serialization._save` / `_load`): a zip archive holding
//!   `<prefix>/data.pkl` (the pickle) and one uncompressed member `<prefix>/data/<key>` per
//!   storage;
//! - the legacy format (`torch.save(..., _use_new_zipfile_serialization=False)`,
//!   `torch.serialization._legacy_save` / `_legacy_load`): five pickles in a row (the magic
//!   number, the protocol version 1001, a sys-info dict, the object pickle, the sorted list of
//!   storage keys), then for each key of that list the storage's element count (8 bytes,
//!   little-endian) followed by its raw bytes.
//!
//! candle-core's `pickle` module turns the opcodes into an object tree (it does not execute
//! them either). Every global the pickle names is checked as soon as it is read against the
//! tensor-rebuild functions this reader interprets (`torch._utils._rebuild_tensor_v2`,
//! `_rebuild_tensor`, `_rebuild_parameter`, `collections.OrderedDict` and the typed storage
//! classes `torch.FloatStorage`, `HalfStorage`, `BFloat16Storage`, ...); any other global
//! (`posix.system`, `builtins.eval`, ...) refuses the file with one line naming it. Nothing in
//! a pickle is ever called: the allowed globals are names this code recognises, not functions
//! it looks up.
//!
//! [`PthWeights::open`] reads only the pickles (and, for the legacy format, the 8-byte count in
//! front of each storage): the index from tensor name to storage, dtype, offset, shape and
//! strides is built without reading tensor data. A tensor's bytes are read when the model asks
//! for it, with one positioned read of the span its view covers; a strided view (a transposed
//! tensor) is gathered into a contiguous tensor. Names that are the same view of one storage
//! (tied embeddings that an older transformers saved under several names) get the same candle
//! tensor, read once (unless [`PthWeights::with_alias_cache`] turns that off). A storage that
//! several different views cut up is read once and kept until its last view is served.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use candle_core::pickle::{Object, Stack};
use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::var_builder::SimpleBackend;

use crate::error::{candle_message, candle_root, Error, Result};

/// The legacy format's first pickle: `MAGIC_NUMBER` of `torch/serialization.py` pickled with
/// protocol 2 (`PROTO 2`, `LONG1` of 10 bytes, `STOP`).
const LEGACY_MAGIC: [u8; 15] = [
    0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e,
];
/// The legacy format's `PROTOCOL_VERSION`.
const LEGACY_PROTOCOL: i64 = 1001;

/// The largest pickle read, in bytes. A state dict's pickle holds names, shapes and storage
/// keys only (about 200 bytes a tensor: under 1 MiB for the largest presets); the cap bounds how
/// deeply a crafted file can nest objects.
const MAX_PICKLE_BYTES: u64 = 8 << 20;

/// Stack of the thread that parses the pickles. Nested objects are built, cloned (memo) and
/// dropped recursively, at under 100 bytes of stack a level, and [`MAX_PICKLE_BYTES`] allows at
/// most one level per 2 bytes: 4M levels fit with room to spare. Only the pages used are
/// touched.
const PARSE_STACK_BYTES: usize = 1 << 30;

/// One storage: a flat buffer of `numel` elements of `dtype` at byte `start` of file `file`.
#[derive(Debug)]
struct Storage {
    file: usize,
    key: String,
    dtype: DType,
    numel: usize,
    start: u64,
    /// How many distinct views of this storage the checkpoint holds.
    views: usize,
}

/// A tensor as `_rebuild_tensor_v2` builds it: a view into a storage, in elements.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct View {
    storage: usize,
    offset: usize,
    shape: Vec<usize>,
    stride: Vec<usize>,
}

impl View {
    /// Elements from the first to one past the last element the view touches (0 when empty).
    fn extent(&self) -> usize {
        if self.shape.contains(&0) {
            return 0;
        }
        1 + self
            .shape
            .iter()
            .zip(&self.stride)
            .map(|(n, s)| (n - 1) * s)
            .sum::<usize>()
    }

    /// Whether the view is the row-major layout of its shape (dimensions of size 1 aside).
    fn is_contiguous(&self) -> bool {
        let mut expected = 1;
        for (n, s) in self.shape.iter().zip(&self.stride).rev() {
            if *n != 1 && *s != expected {
                return false;
            }
            expected *= n;
        }
        true
    }
}

/// Tensors and storage bytes kept between calls so that nothing is read twice.
#[derive(Default)]
struct Cache {
    /// A view that several names share: its tensor and how many requests remain.
    views: HashMap<usize, (Tensor, usize)>,
    /// A storage that several views cut up: its bytes and how many views remain to be served.
    storages: HashMap<usize, (Vec<u8>, usize)>,
    /// Positioned reads per storage.
    reads: Vec<u32>,
    /// Bytes read for tensor data.
    bytes: u64,
}

/// One or several `pytorch_model.bin` files (a checkpoint's shards), read on demand.
///
/// Implements candle's `SimpleBackend`, so a `VarBuilder` built on it loads the Hub's tensor
/// names unchanged. `get` returns the tensor in the requested dtype on the requested device.
pub struct PthWeights {
    files: Vec<PathBuf>,
    storages: Vec<Storage>,
    views: Vec<View>,
    /// How many names each view has.
    names_per_view: Vec<usize>,
    tensors: HashMap<String, usize>,
    cache: Mutex<Cache>,
    /// Whether a tensor with several names is kept for the names not yet asked for.
    keep_aliases: bool,
}

impl std::fmt::Debug for PthWeights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PthWeights")
            .field("files", &self.files)
            .field("tensors", &self.tensors.len())
            .field("storages", &self.storages.len())
            .finish()
    }
}

/// A storage a tensor names, as parsed from its persistent id.
struct StorageRef {
    key: String,
    dtype: DType,
    numel: usize,
}

/// A tensor as parsed from the pickle, before storages are located.
struct RawTensor {
    name: String,
    storage: StorageRef,
    offset: usize,
    shape: Vec<usize>,
    stride: Vec<usize>,
}

fn storage_dtype(class: &str) -> Option<DType> {
    Some(match class {
        "FloatStorage" => DType::F32,
        "HalfStorage" => DType::F16,
        "BFloat16Storage" => DType::BF16,
        "DoubleStorage" => DType::F64,
        "LongStorage" => DType::I64,
        "IntStorage" => DType::I32,
        "ShortStorage" => DType::I16,
        "ByteStorage" | "BoolStorage" => DType::U8,
        _ => return None,
    })
}

/// Whether `module.name` is one of the globals this reader interprets.
fn allowed_global(module: &str, name: &str) -> bool {
    match module {
        "collections" => name == "OrderedDict",
        "torch._utils" => matches!(
            name,
            "_rebuild_tensor" | "_rebuild_tensor_v2" | "_rebuild_parameter"
        ),
        "torch" => storage_dtype(name).is_some(),
        _ => false,
    }
}

/// Parses one pickle from `r`, refusing any global that is not a tensor-rebuild global as soon
/// as it is read. `bad` turns a message into the error naming the file.
fn read_pickle<R: BufRead>(r: &mut R, bad: &dyn Fn(String) -> Error) -> Result<Object> {
    let mut stack = Stack::empty();
    let mut r = r.take(MAX_PICKLE_BYTES);
    loop {
        let done = stack.read(&mut r).map_err(|e| match candle_root(&e) {
            candle_core::Error::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                if r.limit() == 0 {
                    bad(format!(
                        "a pickle larger than {} MiB: not a state dict",
                        MAX_PICKLE_BYTES >> 20
                    ))
                } else {
                    bad("truncated: the pickle ends early".into())
                }
            }
            _ => bad(format!("unreadable pickle: {}", candle_message(&e))),
        })?;
        if let Some(Object::Class {
            module_name,
            class_name,
        }) = stack.stack().last()
        {
            if !allowed_global(module_name, class_name) {
                return Err(bad(format!(
                    "refused: the pickle names the global {module_name}.{class_name}, which is \
                     not a tensor-rebuild function (nothing in the file was run)"
                )));
            }
        }
        if done {
            break;
        }
    }
    stack
        .finalize()
        .map_err(|e| bad(format!("unreadable pickle: {}", candle_message(&e))))
}

fn as_usize(o: &Object) -> Option<usize> {
    match o {
        Object::Int(i) => usize::try_from(*i).ok(),
        Object::Long(i) => usize::try_from(*i).ok(),
        _ => None,
    }
}

fn as_dims(o: &Object) -> Option<Vec<usize>> {
    match o {
        Object::Tuple(v) | Object::List(v) => v.iter().map(as_usize).collect(),
        _ => None,
    }
}

/// The storage a persistent id `('storage', torch.XStorage, key, location, numel[, view])`
/// names.
fn storage_ref(pid: &Object) -> std::result::Result<StorageRef, String> {
    let Object::Tuple(t) = pid else {
        return Err("a persistent id that is not a tuple".into());
    };
    let fields = match t.as_slice() {
        [Object::Unicode(kind), class, Object::Unicode(key), _location, numel, rest @ ..]
            if kind == "storage" && rest.len() <= 1 =>
        {
            if let Some(view) = rest.first() {
                if *view != Object::None {
                    return Err(format!(
                        "storage {key}: legacy storage views are not supported"
                    ));
                }
            }
            (class, key, numel)
        }
        _ => return Err("a persistent id that is not a storage".into()),
    };
    let (class, key, numel) = fields;
    let dtype = match class {
        Object::Class {
            module_name,
            class_name,
        } if module_name == "torch" => storage_dtype(class_name),
        _ => None,
    }
    .ok_or_else(|| format!("storage {key}: unsupported storage type {class:?}"))?;
    let numel = as_usize(numel).ok_or_else(|| format!("storage {key}: bad element count"))?;
    Ok(StorageRef {
        key: key.clone(),
        dtype,
        numel,
    })
}

/// The tensor `_rebuild_tensor_v2(storage, offset, size, stride, ...)` (or `_rebuild_tensor`,
/// or a `_rebuild_parameter` around either) would build from `obj`; `None` for other values.
fn tensor_of(name: &str, obj: &Object) -> std::result::Result<Option<RawTensor>, String> {
    let Object::Reduce { callable, args } = obj else {
        return Ok(None);
    };
    let Object::Class {
        module_name,
        class_name,
    } = callable.as_ref()
    else {
        return Ok(None);
    };
    let Object::Tuple(args) = args.as_ref() else {
        return Err(format!("{name}: {class_name} without an argument tuple"));
    };
    if module_name != "torch._utils" {
        return Ok(None);
    }
    match class_name.as_str() {
        "_rebuild_parameter" => match args.first() {
            Some(inner) => tensor_of(name, inner),
            None => Err(format!("{name}: _rebuild_parameter without a tensor")),
        },
        "_rebuild_tensor" | "_rebuild_tensor_v2" => {
            let [Object::PersistentLoad(pid), offset, size, stride, ..] = args.as_slice() else {
                return Err(format!("{name}: {class_name} with unexpected arguments"));
            };
            let storage = storage_ref(pid).map_err(|e| format!("{name}: {e}"))?;
            let offset = as_usize(offset).ok_or_else(|| format!("{name}: bad storage offset"))?;
            let shape = as_dims(size).ok_or_else(|| format!("{name}: bad size"))?;
            let stride = as_dims(stride).ok_or_else(|| format!("{name}: bad stride"))?;
            if shape.len() != stride.len() {
                return Err(format!("{name}: size and stride differ in length"));
            }
            Ok(Some(RawTensor {
                name: name.to_string(),
                storage,
                offset,
                shape,
                stride,
            }))
        }
        _ => Ok(None),
    }
}

/// The tensors of a state dict (entries that are not tensors, such as `_metadata`, are left
/// out).
fn state_dict_tensors(obj: Object, bad: &dyn Fn(String) -> Error) -> Result<Vec<RawTensor>> {
    let items = match obj {
        Object::Dict(items) => items,
        // An OrderedDict subclass with state: the items come first.
        Object::Build { callable, .. } => match *callable {
            Object::Dict(items) => items,
            _ => return Err(bad("the pickle is not a state dict".into())),
        },
        _ => return Err(bad("the pickle is not a state dict".into())),
    };
    let mut out = Vec::new();
    for (k, v) in items {
        let Object::Unicode(name) = k else { continue };
        if let Some(t) = tensor_of(&name, &v).map_err(bad)? {
            out.push(t);
        }
    }
    if out.is_empty() {
        return Err(bad("the state dict holds no tensors".into()));
    }
    Ok(out)
}

/// Where each storage key's bytes start, for one file.
type Located = HashMap<String, (u64, usize)>;

fn read_zip(path: &Path, bad: &dyn Fn(String) -> Error) -> Result<(Vec<RawTensor>, Located)> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| {
        bad(format!(
            "not a readable zip archive (truncated or damaged?): {e}"
        ))
    })?;
    let names: Vec<String> = zip
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .collect();
    let pkl: Vec<&String> = names
        .iter()
        .filter(|n| n.ends_with("/data.pkl") && n.matches('/').count() == 1)
        .collect();
    let [pkl] = pkl.as_slice() else {
        return Err(bad(
            "a zip archive without exactly one <name>/data.pkl: not a torch.save file".into(),
        ));
    };
    let prefix = pkl.trim_end_matches("data.pkl").to_string();
    if let Ok(mut order) = zip.by_name(&format!("{prefix}byteorder")) {
        let mut s = String::new();
        order
            .read_to_string(&mut s)
            .map_err(|e| bad(format!("byteorder: {e}")))?;
        if s.trim() != "little" {
            return Err(bad(format!("byte order {s:?} is not supported")));
        }
    }
    let tensors = {
        let entry = zip.by_name(pkl).map_err(|e| bad(format!("{pkl}: {e}")))?;
        let mut r = BufReader::new(entry);
        state_dict_tensors(read_pickle(&mut r, bad)?, bad)?
    };
    let mut located = Located::new();
    for t in &tensors {
        let key = &t.storage.key;
        if located.contains_key(key) {
            continue;
        }
        let member = format!("{prefix}data/{key}");
        let entry = zip
            .by_name(&member)
            .map_err(|e| bad(format!("storage {member}: {e}")))?;
        if entry.compression() != zip::CompressionMethod::Stored {
            return Err(bad(format!("storage {member} is compressed")));
        }
        let start = entry
            .data_start()
            .ok_or_else(|| bad(format!("storage {member}: no data offset")))?;
        let size = entry.size() as usize;
        let need = t.storage.numel * t.storage.dtype.size_in_bytes();
        if size < need {
            return Err(bad(format!(
                "storage {member} holds {size} bytes, its tensors need {need}"
            )));
        }
        located.insert(key.clone(), (start, size));
    }
    Ok((tensors, located))
}

fn read_legacy(path: &Path, bad: &dyn Fn(String) -> Error) -> Result<(Vec<RawTensor>, Located)> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let size = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut r = BufReader::new(file);
    let mut magic = [0u8; LEGACY_MAGIC.len()];
    r.read_exact(&mut magic)
        .map_err(|_| bad("truncated: shorter than the PyTorch header".into()))?;
    if magic != LEGACY_MAGIC {
        return Err(bad(
            "not a PyTorch checkpoint (neither a zip archive nor torch's legacy format)".into(),
        ));
    }
    match read_pickle(&mut r, bad)? {
        Object::Int(v) if i64::from(v) == LEGACY_PROTOCOL => {}
        Object::Long(v) if v == LEGACY_PROTOCOL => {}
        Object::Int(v) => {
            return Err(bad(format!("legacy protocol version {v} is not supported")));
        }
        Object::Long(v) => {
            return Err(bad(format!("legacy protocol version {v} is not supported")));
        }
        _ => {
            return Err(bad(
                "no protocol version after the legacy magic number: not a PyTorch checkpoint"
                    .into(),
            ));
        }
    }
    if let Object::Dict(info) = read_pickle(&mut r, bad)? {
        let little = info.iter().find_map(|(k, v)| match (k, v) {
            (Object::Unicode(k), Object::Bool(b)) if k == "little_endian" => Some(*b),
            _ => None,
        });
        if little == Some(false) {
            return Err(bad("big-endian checkpoints are not supported".into()));
        }
    } else {
        return Err(bad("bad legacy sys-info record".into()));
    }
    let tensors = state_dict_tensors(read_pickle(&mut r, bad)?, bad)?;
    let keys = match read_pickle(&mut r, bad)? {
        Object::List(keys) => keys
            .into_iter()
            .map(|k| k.unicode().ok())
            .collect::<Option<Vec<String>>>(),
        _ => None,
    }
    .ok_or_else(|| bad("bad legacy storage key list".into()))?;
    let refs: HashMap<&str, &StorageRef> = tensors
        .iter()
        .map(|t| (t.storage.key.as_str(), &t.storage))
        .collect();
    let mut pos = r.stream_position().map_err(|e| Error::io(path, e))?;
    let mut file = r.into_inner();
    let mut located = Located::new();
    for key in keys {
        let mut count = [0u8; 8];
        file.seek(SeekFrom::Start(pos))
            .and_then(|_| file.read_exact(&mut count))
            .map_err(|_| bad(format!("truncated: storage {key} is missing")))?;
        let numel = u64::from_le_bytes(count);
        // A storage that only a non-tensor value uses has no known element size, so the
        // storages after it cannot be located: refuse rather than guess.
        let Some(sref) = refs.get(key.as_str()) else {
            return Err(bad(format!("storage {key} is used by no tensor")));
        };
        if numel != sref.numel as u64 {
            return Err(bad(format!(
                "storage {key} holds {numel} elements, the pickle says {}",
                sref.numel
            )));
        }
        let len = numel * sref.dtype.size_in_bytes() as u64;
        let start = pos + 8;
        if start + len > size {
            return Err(bad(format!(
                "truncated: storage {key} ends past the end of the file"
            )));
        }
        located.insert(key, (start, len as usize));
        pos = start + len;
    }
    Ok((tensors, located))
}

impl PthWeights {
    /// Reads the pickles of `files` (a single `pytorch_model.bin` or the shards a
    /// `pytorch_model.bin.index.json` lists) and indexes their tensors; no tensor data is read.
    ///
    /// Errors (one line, naming the file): an empty, truncated or foreign file, a global that is
    /// not a tensor-rebuild function, an unsupported storage type, a tensor outside its storage,
    /// a tensor name found in two files.
    pub fn open(files: &[PathBuf]) -> Result<Self> {
        // Parsed on a thread with a large stack, so that no nesting a file can hold within
        // MAX_PICKLE_BYTES overflows it (a crash no error message could name).
        std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("pickle".into())
                .stack_size(PARSE_STACK_BYTES)
                .spawn_scoped(scope, || Self::open_here(files))
                .map_err(|e| Error::Model(format!("cannot start the weights reader: {e}")))?
                .join()
                .unwrap_or_else(|_| {
                    Err(Error::Model(format!(
                        "{}: the weights reader failed",
                        files
                            .first()
                            .map_or_else(String::new, |f| f.display().to_string())
                    )))
                })
        })
    }

    /// [`PthWeights::open`] on the calling thread.
    fn open_here(files: &[PathBuf]) -> Result<Self> {
        let mut storages: Vec<Storage> = Vec::new();
        let mut views: Vec<View> = Vec::new();
        let mut view_ids: HashMap<View, usize> = HashMap::new();
        let mut names_per_view: Vec<usize> = Vec::new();
        let mut tensors: HashMap<String, usize> = HashMap::new();
        for (i, path) in files.iter().enumerate() {
            let bad = |msg: String| Error::input(path, msg);
            let mut head = [0u8; 4];
            let n = File::open(path)
                .and_then(|mut f| f.read(&mut head))
                .map_err(|e| Error::io(path, e))?;
            let (raw, located) = if n == 0 {
                return Err(bad("empty file, not a PyTorch checkpoint".into()));
            } else if head.starts_with(b"PK") {
                read_zip(path, &bad)?
            } else {
                read_legacy(path, &bad)?
            };
            let mut storage_ids: HashMap<String, usize> = HashMap::new();
            for t in raw {
                let key = &t.storage.key;
                let sid = match storage_ids.get(key) {
                    Some(&s) => s,
                    None => {
                        let (start, bytes) = located[key];
                        storages.push(Storage {
                            file: i,
                            key: key.clone(),
                            dtype: t.storage.dtype,
                            numel: bytes / t.storage.dtype.size_in_bytes(),
                            start,
                            views: 0,
                        });
                        storage_ids.insert(key.clone(), storages.len() - 1);
                        storages.len() - 1
                    }
                };
                let s = &mut storages[sid];
                if s.dtype != t.storage.dtype {
                    return Err(bad(format!(
                        "storage {key} is read as two dtypes ({:?} and {:?})",
                        s.dtype, t.storage.dtype
                    )));
                }
                let view = View {
                    storage: sid,
                    offset: t.offset,
                    shape: t.shape,
                    stride: t.stride,
                };
                if view.offset + view.extent() > s.numel {
                    return Err(bad(format!(
                        "tensor {} lies outside its storage {key}",
                        t.name
                    )));
                }
                let vid = *view_ids.entry(view.clone()).or_insert_with(|| {
                    s.views += 1;
                    views.push(view);
                    names_per_view.push(0);
                    views.len() - 1
                });
                names_per_view[vid] += 1;
                if tensors.insert(t.name.clone(), vid).is_some() {
                    return Err(bad(format!("tensor {} appears twice", t.name)));
                }
            }
        }
        let cache = Cache {
            reads: vec![0; storages.len()],
            ..Cache::default()
        };
        Ok(Self {
            files: files.to_vec(),
            storages,
            views,
            names_per_view,
            tensors,
            cache: Mutex::new(cache),
            keep_aliases: true,
        })
    }

    /// Whether a tensor stored under several names is kept, once read, until every name has
    /// been asked for, so that all names get the same tensor (the default). Pass `false` when
    /// the model copies each weight it loads into another layout (tarjama's packed float32
    /// CPU weights): keeping the original would then only hold a dead copy, as large as the
    /// embedding, until loading ends, and a name asked for again is read again instead.
    pub fn with_alias_cache(mut self, keep: bool) -> Self {
        self.keep_aliases = keep;
        self
    }

    /// The names of all tensors, sorted.
    pub fn tensor_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.tensors.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// For each storage (in the order the checkpoint names them), how many positioned reads
    /// of its bytes have been made so far: 1 once loaded, never more.
    pub fn storage_reads(&self) -> Vec<u32> {
        self.cache.lock().expect("weights cache").reads.clone()
    }

    /// Bytes of tensor data read so far.
    pub fn bytes_read(&self) -> u64 {
        self.cache.lock().expect("weights cache").bytes
    }

    /// Reads `len` bytes at element `from` of storage `sid`.
    fn read_span(&self, cache: &mut Cache, sid: usize, from: usize, len: usize) -> Result<Vec<u8>> {
        let s = &self.storages[sid];
        let es = s.dtype.size_in_bytes();
        let path = &self.files[s.file];
        let mut bytes = vec![0u8; len * es];
        let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
        f.seek(SeekFrom::Start(s.start + (from * es) as u64))
            .and_then(|_| f.read_exact(&mut bytes))
            .map_err(|e| Error::input(path, format!("storage {}: {e}", s.key)))?;
        cache.reads[sid] += 1;
        cache.bytes += bytes.len() as u64;
        Ok(bytes)
    }

    /// The tensor of view `vid` in its stored dtype on `dev`.
    fn build(&self, cache: &mut Cache, vid: usize, dev: &Device) -> Result<Tensor> {
        let v = &self.views[vid];
        let s = &self.storages[v.storage];
        let es = s.dtype.size_in_bytes();
        let extent = v.extent();
        let tensor = if s.views > 1 {
            // Several views cut this storage up: read it once, keep it until the last one.
            if !cache.storages.contains_key(&v.storage) {
                let bytes = self.read_span(cache, v.storage, 0, s.numel)?;
                cache.storages.insert(v.storage, (bytes, s.views));
            }
            let (bytes, left) = cache.storages.get_mut(&v.storage).expect("cached storage");
            let t = from_view(
                &bytes[v.offset * es..(v.offset + extent) * es],
                v,
                s.dtype,
                dev,
            );
            *left -= 1;
            if *left == 0 {
                cache.storages.remove(&v.storage);
            }
            t
        } else {
            let bytes = self.read_span(cache, v.storage, v.offset, extent)?;
            from_view(&bytes, v, s.dtype, dev)
        };
        tensor.map_err(|e| {
            Error::input(
                &self.files[s.file],
                format!("storage {}: {}", s.key, candle_message(&e)),
            )
        })
    }

    /// The checkpoint file holding the tensor `name`'s storage, if there is one.
    fn file_of(&self, name: &str) -> Option<&Path> {
        let &vid = self.tensors.get(name)?;
        let storage = &self.storages[self.views[vid].storage];
        Some(self.files[storage.file].as_path())
    }

    fn load(&self, name: &str, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        let &vid = self.tensors.get(name).ok_or_else(|| {
            candle_core::Error::CannotFindTensor {
                path: name.to_string(),
            }
            .bt()
        })?;
        let mut cache = self.cache.lock().expect("weights cache");
        if let Some((t, left)) = cache.views.get_mut(&vid) {
            let t = t.clone();
            *left -= 1;
            if *left == 0 {
                cache.views.remove(&vid);
            }
            return t.to_dtype(dtype)?.to_device(dev);
        }
        let t = self
            .build(&mut cache, vid, dev)
            .map_err(|e| candle_core::Error::Msg(e.to_string()))?
            .to_dtype(dtype)?;
        if self.keep_aliases && self.names_per_view[vid] > 1 {
            cache
                .views
                .insert(vid, (t.clone(), self.names_per_view[vid] - 1));
        }
        Ok(t)
    }
}

/// The contiguous tensor of view `v` from `bytes`, which start at the view's first element.
fn from_view(bytes: &[u8], v: &View, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
    if v.is_contiguous() {
        let n: usize = v.shape.iter().product();
        let es = dtype.size_in_bytes();
        return Tensor::from_raw_buffer(&bytes[..n * es], dtype, &v.shape, dev);
    }
    let gathered = gather(bytes, &v.shape, &v.stride, dtype.size_in_bytes());
    Tensor::from_raw_buffer(&gathered, dtype, &v.shape, dev)
}

/// The elements of a strided view (`shape`, `stride` in elements, `es` bytes each) of `bytes`
/// in row-major order.
fn gather(bytes: &[u8], shape: &[usize], stride: &[usize], es: usize) -> Vec<u8> {
    let n: usize = shape.iter().product();
    let mut out = Vec::with_capacity(n * es);
    if n == 0 {
        return out;
    }
    let mut index = vec![0usize; shape.len()];
    let mut at = 0usize;
    for _ in 0..n {
        out.extend_from_slice(&bytes[at * es..(at + 1) * es]);
        for d in (0..shape.len()).rev() {
            index[d] += 1;
            at += stride[d];
            if index[d] < shape[d] {
                break;
            }
            at -= stride[d] * shape[d];
            index[d] = 0;
        }
    }
    out
}

impl SimpleBackend for PthWeights {
    fn get(
        &self,
        s: Shape,
        name: &str,
        _: candle_nn::Init,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        // The shape is known from the pickle: a mismatch is refused before any byte is read
        // (a crafted stride-0 view can announce far more elements than its file holds).
        if let Some(&vid) = self.tensors.get(name) {
            if self.views[vid].shape != s.dims() {
                return Err(super::shape_error(
                    name,
                    s,
                    self.views[vid].shape.clone().into(),
                    self.file_of(name),
                ));
            }
        }
        super::expect_shape(self.load(name, dtype, dev)?, s, name, self.file_of(name))
    }

    fn get_unchecked(&self, name: &str, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        self.load(name, dtype, dev)
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gathers_a_transposed_view() {
        // 2x3 row-major [0 1 2; 3 4 5], viewed transposed as 3x2 with strides (1, 3).
        let bytes: Vec<u8> = (0u8..6).collect();
        assert_eq!(gather(&bytes, &[3, 2], &[1, 3], 1), vec![0, 3, 1, 4, 2, 5]);
        // Two-byte elements, a 2x2 window with row stride 3 starting at element 0.
        let wide: Vec<u8> = (0u8..12).collect();
        assert_eq!(
            gather(&wide, &[2, 2], &[3, 1], 2),
            vec![0, 1, 2, 3, 6, 7, 8, 9]
        );
        assert!(gather(&bytes, &[0, 2], &[2, 1], 1).is_empty());
    }

    #[test]
    fn views_know_their_extent_and_layout() {
        let v = |shape: &[usize], stride: &[usize]| View {
            storage: 0,
            offset: 0,
            shape: shape.to_vec(),
            stride: stride.to_vec(),
        };
        assert_eq!(v(&[2, 3], &[3, 1]).extent(), 6);
        assert!(v(&[2, 3], &[3, 1]).is_contiguous());
        assert_eq!(v(&[3, 2], &[1, 3]).extent(), 6);
        assert!(!v(&[3, 2], &[1, 3]).is_contiguous());
        assert!(v(&[1, 4], &[99, 1]).is_contiguous());
        assert_eq!(v(&[], &[]).extent(), 1);
        assert_eq!(v(&[0, 4], &[4, 1]).extent(), 0);
    }

    #[test]
    fn only_rebuild_globals_are_allowed() {
        assert!(allowed_global("torch._utils", "_rebuild_tensor_v2"));
        assert!(allowed_global("torch", "HalfStorage"));
        assert!(allowed_global("collections", "OrderedDict"));
        assert!(!allowed_global("posix", "system"));
        assert!(!allowed_global("builtins", "eval"));
        assert!(!allowed_global("torch", "load"));
        assert!(!allowed_global(
            "torch._utils",
            "_rebuild_device_tensor_from_numpy"
        ));
    }
}
