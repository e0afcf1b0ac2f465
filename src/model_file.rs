//! Model files: a model's weights, configuration, training record and id maps
//! in one safetensors file, written atomically and checked on load.
//!
//! # Format (version 1)
//!
//! A plain [safetensors](https://github.com/huggingface/safetensors) file, so
//! any safetensors reader can open it:
//! - 8 bytes: the header length `n`, u64 little-endian;
//! - `n` bytes: the JSON header, padded with spaces to a multiple of 8;
//! - the tensor data: every tensor `F32`, little-endian, row-major, back to
//!   back in the order of [`ModelFile::tensors`].
//!
//! The header's `__metadata__` string map holds:
//!
//! | key              | value                                                      |
//! |------------------|------------------------------------------------------------|
//! | `format`         | `gpurec-model` (the magic)                                 |
//! | `format_version` | `1`                                                        |
//! | `kind`           | the model kind, e.g. `bpr` (plain text)                    |
//! | `config`         | the model configuration, JSON                              |
//! | `info`           | training information, JSON                                 |
//! | `user_ids`       | original user ids in index order, a JSON array of strings |
//! | `item_ids`       | original item ids in index order, a JSON array of strings |
//! | `data_crc32`     | CRC-32 of the tensor data section, 8 lowercase hex digits  |
//! | `meta_crc32`     | CRC-32 of the metadata and the tensor table (below)        |
//!
//! Both checksums are CRC-32/ISO-HDLC (zlib's `crc32`), so
//! `zlib.crc32(data[8 + n:])` checks `data_crc32` from Python. `meta_crc32`
//! covers, each string as a u64 little-endian byte length then its bytes and
//! each number as a u64 little-endian: the seven keys above from `format` to
//! `item_ids` with their values, in that order; then, for every tensor in
//! file order (by data offset, then name), its name, dtype name (`F32`),
//! rank, dimensions and two data offsets. Other `__metadata__` keys are
//! ignored.
//!
//! Loading checks, in order, and names the file in every error: the header
//! length and JSON, that the data section is exactly as long as the header
//! says, the magic and version, that every key is present, that every tensor
//! is `F32`, both checksums, that every weight is finite, and the JSON values.
//! Whether a tensor has one row per id is the model's call:
//! [`ModelFile::check_rows`] checks it.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use safetensors::tensor::{Metadata, TensorInfo};
use safetensors::Dtype;

use crate::data::IdMap;
use crate::error::{Error, Result};

/// The `format` metadata value that marks a gpurec model file.
pub const FORMAT: &str = "gpurec-model";

/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// safetensors refuses headers larger than this (id maps live in the header).
const MAX_HEADER_BYTES: u64 = 100_000_000;

/// The metadata keys covered by `meta_crc32`, in checksum order.
const CHECKED_KEYS: [&str; 7] = ["format", "format_version", "kind", "config", "info", "user_ids", "item_ids"];
const DATA_CRC: &str = "data_crc32";
const META_CRC: &str = "meta_crc32";

/// One named `f32` tensor, row-major.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NamedTensor {
    /// Name, unique within a file (e.g. `user`, `item`).
    pub name: String,
    /// Dimensions; their product is `data.len()`.
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub data: Vec<f32>,
}

impl NamedTensor {
    /// A tensor from its name, shape and row-major values.
    pub fn new(name: impl Into<String>, shape: Vec<usize>, data: Vec<f32>) -> Self {
        Self { name: name.into(), shape, data }
    }
}

/// Everything a trained model needs to be served again, as plain data.
///
/// A model turns itself into a `ModelFile` to save, and checks
/// [`kind`](ModelFile::expect_kind), [`tensors`](ModelFile::tensor) and
/// [rows](ModelFile::check_rows) when it is built from one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelFile {
    /// The model kind, e.g. `bpr`; [`ModelFile::expect_kind`] checks it.
    pub kind: String,
    /// The model configuration (its serde config as JSON).
    pub config: serde_json::Value,
    /// Training information: epochs, losses, metrics, seed, data set, …
    pub info: serde_json::Value,
    /// Original user ids, in embedding-row order.
    pub user_ids: IdMap,
    /// Original item ids, in embedding-row order.
    pub item_ids: IdMap,
    /// The weights, in file order.
    pub tensors: Vec<NamedTensor>,
    /// The file this was loaded from (set by [`ModelFile::load`], used in
    /// error messages, never saved).
    pub path: Option<PathBuf>,
}

fn bad(path: &Path, message: impl Into<String>) -> Error {
    Error::ModelFile { path: path.to_path_buf(), message: message.into() }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.to_path_buf(), source }
}

impl ModelFile {
    /// The tensor called `name`; an error naming the file and the tensors it
    /// does hold when there is none.
    pub fn tensor(&self, name: &str) -> Result<&NamedTensor> {
        self.tensors.iter().find(|t| t.name == name).ok_or_else(|| {
            let names: Vec<&str> = self.tensors.iter().map(|t| t.name.as_str()).collect();
            self.err(format!("no tensor `{name}` in this {} model (it holds {names:?})", self.kind))
        })
    }

    /// An error unless this file holds a model of kind `kind`.
    pub fn expect_kind(&self, kind: &str) -> Result<()> {
        if self.kind == kind {
            Ok(())
        } else {
            Err(self.err(format!("holds a `{}` model, not a `{kind}` model", self.kind)))
        }
    }

    /// The tensor called `name`, after checking it has one row per id in
    /// `ids` — e.g. `file.check_rows("user", &file.user_ids)`.
    pub fn check_rows(&self, name: &str, ids: &IdMap) -> Result<&NamedTensor> {
        let t = self.tensor(name)?;
        match t.shape.first() {
            Some(&rows) if rows == ids.len() => Ok(t),
            Some(&rows) => Err(self.err(format!(
                "tensor `{name}` {:?} has {rows} rows but there are {} ids for them",
                t.shape,
                ids.len()
            ))),
            None => Err(self.err(format!("tensor `{name}` is a scalar, not one row per id"))),
        }
    }

    /// Checks that the file holds exactly the tensors of `layout`, by name
    /// and shape (a model's weights, in any order), naming the first that
    /// differs.
    pub fn check_layout(&self, layout: &[(String, Vec<usize>)]) -> Result<()> {
        for (name, shape) in layout {
            let t = self.tensor(name)?;
            if &t.shape != shape {
                return Err(self.err(format!(
                    "tensor `{name}` is {:?} but this {} model's configuration needs {shape:?}",
                    t.shape, self.kind
                )));
            }
        }
        if let Some(extra) = self.tensors.iter().find(|t| !layout.iter().any(|(n, _)| n == &t.name)) {
            return Err(self.err(format!("tensor `{}` is not part of a {} model", extra.name, self.kind)));
        }
        Ok(())
    }

    fn err(&self, message: String) -> Error {
        match &self.path {
            Some(p) => bad(p, message),
            None => Error::Invalid(format!("model file: {message}")),
        }
    }

    /// Writes the file atomically: into a temporary file next to `path`,
    /// flushed to disk, then renamed over `path`. On any error nothing is left
    /// at `path` but what was there before, and the temporary file is removed.
    /// Refuses non-finite weights, shapes that do not match their data, and
    /// duplicate tensor names.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let head = self.encode_header(path)?;
        // Held by this process already (e.g. by `gpurec train -o` for the
        // whole run), or taken now: one writer per target at a time.
        let _lock = if SaveLock::held(path) { None } else { Some(SaveLock::try_acquire(path)?) };
        let file_name = path.file_name().ok_or_else(|| bad(path, "the path does not name a file"))?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let prefix = format!(".{}.", file_name.to_string_lossy());
        remove_stale_temporaries(dir, &prefix);
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        #[cfg(unix)]
        {
            // Ordinary file permissions (0666 less the umask), not tempfile's 0600.
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let mut tmp = builder.tempfile_in(dir).map_err(io(path))?;
        {
            let mut w = BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
            self.write_body(&head, &mut w).map_err(io(path))?;
            w.flush().map_err(io(path))?;
        }
        tmp.as_file().sync_all().map_err(io(path))?;
        // On failure the returned temporary file is dropped, which deletes it.
        tmp.persist(path).map_err(|e| Error::Io { path: path.to_path_buf(), source: e.error })?;
        sync_dir(dir);
        Ok(())
    }

    /// Reads and checks a model file.
    pub fn load(path: impl AsRef<Path>) -> Result<ModelFile> {
        let path = path.as_ref();
        let file = File::open(path).map_err(io(path))?;
        let len = file.metadata().map_err(io(path))?.len();
        let mut m = read_model(file, len, path)?;
        m.path = Some(path.to_path_buf());
        Ok(m)
    }

    /// The file's bytes, in memory (the same checks as [`ModelFile::save`]).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let name = Path::new("<bytes>");
        let head = self.encode_header(name)?;
        let mut out = Vec::with_capacity(head.len() + 4 * self.tensors.iter().map(|t| t.data.len()).sum::<usize>());
        self.write_body(&head, &mut out).map_err(io(name))?;
        Ok(out)
    }

    /// Reads a model file from memory (the same checks as
    /// [`ModelFile::load`]; errors name the file `<bytes>`).
    pub fn from_bytes(bytes: &[u8]) -> Result<ModelFile> {
        read_model(bytes, bytes.len() as u64, Path::new("<bytes>"))
    }

    /// Validates the tensors and returns the length prefix and header.
    fn encode_header(&self, path: &Path) -> Result<Vec<u8>> {
        if self.kind.is_empty() {
            return Err(bad(path, "refusing to save a model with an empty kind"));
        }
        let mut names = HashSet::new();
        let mut infos = Vec::with_capacity(self.tensors.len());
        let mut data_crc = Crc32::new();
        let mut offset = 0usize;
        for t in &self.tensors {
            let name = &t.name;
            if name.is_empty() || name == "__metadata__" {
                return Err(bad(path, format!("refusing to save a tensor named {name:?}")));
            }
            if !names.insert(name.as_str()) {
                return Err(bad(path, format!("refusing to save two tensors named `{name}`")));
            }
            let numel = t.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
            if numel != Some(t.data.len()) {
                return Err(bad(
                    path,
                    format!("tensor `{name}`: shape {:?} does not hold its {} values", t.shape, t.data.len()),
                ));
            }
            check_finite(path, t, "save")?;
            let bytes = le_bytes(&t.data);
            data_crc.update(&bytes);
            let end = offset + bytes.len();
            infos.push((
                name.clone(),
                TensorInfo { dtype: Dtype::F32, shape: t.shape.clone(), data_offsets: (offset, end) },
            ));
            offset = end;
        }

        // Sorted maps, so the same model always gives the same bytes.
        let mut meta: BTreeMap<&str, String> = BTreeMap::new();
        meta.insert("format", FORMAT.into());
        meta.insert("format_version", FORMAT_VERSION.to_string());
        meta.insert("kind", self.kind.clone());
        let json = |v: &serde_json::Value| serde_json::to_string(v).expect("a JSON value serialises");
        meta.insert("config", json(&self.config));
        meta.insert("info", json(&self.info));
        meta.insert("user_ids", ids_json(&self.user_ids));
        meta.insert("item_ids", ids_json(&self.item_ids));
        let table: Vec<(&str, &TensorInfo)> = infos.iter().map(|(n, i)| (n.as_str(), i)).collect();
        let meta_crc = meta_checksum(|k| meta.get(k).map(String::as_str), table);
        meta.insert(DATA_CRC, hex(data_crc.finish()));
        meta.insert(META_CRC, hex(meta_crc));

        let mut header = serde_json::Map::new();
        let value = |v: Result<serde_json::Value, serde_json::Error>| v.expect("metadata serialises");
        header.insert("__metadata__".into(), value(serde_json::to_value(&meta)));
        for (name, info) in &infos {
            header.insert(name.clone(), value(serde_json::to_value(info)));
        }
        let mut json = serde_json::to_vec(&header).expect("a JSON map serialises");
        json.resize(json.len().next_multiple_of(8), b' ');
        if json.len() as u64 > MAX_HEADER_BYTES {
            return Err(bad(
                path,
                format!(
                    "the header (config, info and {} + {} ids) is {} bytes; safetensors allows at most {MAX_HEADER_BYTES}",
                    self.user_ids.len(),
                    self.item_ids.len(),
                    json.len()
                ),
            ));
        }
        let mut head = Vec::with_capacity(8 + json.len());
        head.extend_from_slice(&(json.len() as u64).to_le_bytes());
        head.extend_from_slice(&json);
        Ok(head)
    }

    fn write_body<W: Write>(&self, head: &[u8], w: &mut W) -> std::io::Result<()> {
        w.write_all(head)?;
        for t in &self.tensors {
            w.write_all(&le_bytes(&t.data))?;
        }
        Ok(())
    }
}

/// Best effort: make the rename itself durable.
/// Removes the temporary files a killed save of the same target left behind
/// (`.NAME.XXXXXX.tmp`); called with the target's [`SaveLock`] held, so no
/// live save is writing one. Best effort: a file that cannot be removed stays.
fn remove_stale_temporaries(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(prefix) && name.ends_with(".tmp") && name.len() > prefix.len() + 4 {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// The right to write one model file: an exclusive advisory lock on
/// `.NAME.lock` next to it, so two processes saving the same target do not
/// silently replace each other (the second is refused, naming the file).
/// [`ModelFile::save`] takes it for the length of the save unless this
/// process already holds it; `gpurec train -o` holds it from the start of
/// training, so a second training to the same file stops before it trains.
/// Dropping it removes the lock file (a kill leaves an empty one, which
/// locks nothing: the next writer takes it over).
#[derive(Debug)]
pub struct SaveLock {
    file: Option<File>,
    lock_path: PathBuf,
}

/// The lock files this process holds, by path.
static HELD: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

impl SaveLock {
    fn lock_path(target: &Path) -> Result<PathBuf> {
        let name = target.file_name().ok_or_else(|| bad(target, "the path does not name a file"))?;
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let dir = dir.canonicalize().map_err(io(target))?;
        Ok(dir.join(format!(".{}.lock", name.to_string_lossy())))
    }

    /// Whether this process holds the lock of `target`.
    pub fn held(target: &Path) -> bool {
        Self::lock_path(target).is_ok_and(|l| HELD.lock().unwrap_or_else(|e| e.into_inner()).contains(&l))
    }

    /// Takes the lock of `target` without waiting; an error naming the file
    /// when another process (or another guard in this one) holds it.
    pub fn try_acquire(target: &Path) -> Result<SaveLock> {
        let lock_path = Self::lock_path(target)?;
        loop {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)
                .map_err(io(&lock_path))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(bad(
                        target,
                        "another gpurec process is writing this model file right now (it holds its .lock);                          not replacing its result: choose another --output or wait",
                    ));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(io(&lock_path)(e)),
            }
            // The lock file may have been removed (its holder finished) between
            // our open and our lock: then we locked a file nobody else will see.
            if same_file(&file, &lock_path) {
                HELD.lock().unwrap_or_else(|e| e.into_inner()).push(lock_path.clone());
                return Ok(SaveLock { file: Some(file), lock_path });
            }
        }
    }
}

impl Drop for SaveLock {
    fn drop(&mut self) {
        HELD.lock().unwrap_or_else(|e| e.into_inner()).retain(|p| p != &self.lock_path);
        // Unlinked while still locked, then unlocked by closing.
        let _ = std::fs::remove_file(&self.lock_path);
        drop(self.file.take());
    }
}

/// Whether the open `file` is the file now at `path`.
fn same_file(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        path.exists()
    }
}

fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// The little-endian bytes of `data`: a view on little-endian machines.
fn le_bytes(data: &[f32]) -> Cow<'_, [u8]> {
    if cfg!(target_endian = "little") {
        Cow::Borrowed(bytemuck::cast_slice(data))
    } else {
        Cow::Owned(data.iter().flat_map(|v| v.to_le_bytes()).collect())
    }
}

fn check_finite(path: &Path, t: &NamedTensor, what: &str) -> Result<()> {
    match t.data.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(bad(
            path,
            format!(
                "tensor `{}` {:?} holds {} at flat index {i}; refusing to {what} non-finite weights",
                t.name, t.shape, t.data[i]
            ),
        )),
    }
}

fn ids_json(ids: &IdMap) -> String {
    let v: Vec<&str> = (0..ids.len()).map(|i| ids.id(i as u32)).collect();
    serde_json::to_string(&v).expect("strings serialise")
}

fn hex(crc: u32) -> String {
    format!("{crc:08x}")
}

/// `meta_crc32` over the checked keys and the tensor table in file order.
fn meta_checksum<'a, 'm>(meta: impl Fn(&str) -> Option<&'m str>, mut table: Vec<(&'a str, &'a TensorInfo)>) -> u32 {
    table.sort_by(|a, b| a.1.data_offsets.cmp(&b.1.data_offsets).then(a.0.cmp(b.0)));
    let mut c = Crc32::new();
    let num = |c: &mut Crc32, v: u64| c.update(&v.to_le_bytes());
    let text = |c: &mut Crc32, s: &str| {
        c.update(&(s.len() as u64).to_le_bytes());
        c.update(s.as_bytes());
    };
    for key in CHECKED_KEYS {
        text(&mut c, key);
        text(&mut c, meta(key).unwrap_or(""));
    }
    for (name, info) in table {
        text(&mut c, name);
        text(&mut c, &info.dtype.to_string());
        num(&mut c, info.shape.len() as u64);
        for &d in &info.shape {
            num(&mut c, d as u64);
        }
        num(&mut c, info.data_offsets.0 as u64);
        num(&mut c, info.data_offsets.1 as u64);
    }
    c.finish()
}

/// Reads a model file of `len` bytes from `r`; `path` names it in errors.
fn read_model<R: Read>(mut r: R, len: u64, path: &Path) -> Result<ModelFile> {
    if len < 8 {
        return Err(bad(path, format!("{len} bytes is too short for a model file (truncated?)")));
    }
    let mut n8 = [0u8; 8];
    r.read_exact(&mut n8).map_err(io(path))?;
    let n = u64::from_le_bytes(n8);
    if n > MAX_HEADER_BYTES || n > len - 8 {
        return Err(bad(
            path,
            format!("not a model file, or truncated: its header length {n} does not fit in its {len} bytes"),
        ));
    }
    let mut head = vec![0u8; n as usize];
    r.read_exact(&mut head).map_err(io(path))?;
    let text = std::str::from_utf8(&head)
        .map_err(|e| bad(path, format!("not a model file, or corrupt: the header is not UTF-8 ({e})")))?;
    let header: Metadata = serde_json::from_str(text).map_err(|e| {
        let why = diagnose(text).unwrap_or_else(|| e.to_string());
        bad(path, format!("not a model file, or corrupt: bad safetensors header: {why}"))
    })?;
    let data_len = len - 8 - n;
    if header.data_len() as u64 != data_len {
        return Err(bad(
            path,
            format!(
                "the tensor data is {data_len} bytes but the header describes {} (truncated or padded?)",
                header.data_len()
            ),
        ));
    }

    let Some(meta) = header.metadata() else {
        return Err(bad(path, "a safetensors file without __metadata__, not a gpurec model file"));
    };
    match meta.get("format") {
        Some(f) if f == FORMAT => {}
        Some(f) => return Err(bad(path, format!("not a gpurec model file: its format is {f:?}, not {FORMAT:?}"))),
        None => return Err(bad(path, "a safetensors file without a `format` key, not a gpurec model file")),
    }
    let Some(version) = meta.get("format_version") else {
        return Err(bad(path, "metadata key `format_version` is missing"));
    };
    if *version != FORMAT_VERSION.to_string() {
        let newer = version.parse::<u32>().is_ok_and(|v| v > FORMAT_VERSION);
        return Err(bad(
            path,
            format!(
                "model file format version {version:?} is not supported: this build reads version {FORMAT_VERSION}{}",
                if newer { " (the file is from a newer gpurec)" } else { "" }
            ),
        ));
    }
    let get = |key: &str| -> Result<&str> {
        meta.get(key).map(String::as_str).ok_or_else(|| bad(path, format!("metadata key `{key}` is missing")))
    };
    for key in CHECKED_KEYS.iter().chain(&[DATA_CRC, META_CRC]) {
        get(key)?;
    }

    let names = header.offset_keys();
    let mut table: Vec<(&str, &TensorInfo)> =
        names.iter().map(|n| (n.as_str(), header.info(n).expect("offset_keys are tensor names"))).collect();
    table.sort_by(|a, b| a.1.data_offsets.cmp(&b.1.data_offsets).then(a.0.cmp(b.0)));
    for (name, info) in &table {
        if info.dtype != Dtype::F32 {
            return Err(bad(path, format!("tensor `{name}` is {}; model files hold F32 only", info.dtype)));
        }
    }
    let meta_crc = hex(meta_checksum(|k| meta.get(k).map(String::as_str), table.clone()));
    if get(META_CRC)? != meta_crc {
        return Err(bad(
            path,
            format!(
                "metadata checksum mismatch (the file says {}, its contents give {meta_crc}): the file is corrupt",
                get(META_CRC)?
            ),
        ));
    }

    let mut tensors = Vec::with_capacity(table.len());
    let mut data_crc = Crc32::new();
    for (name, info) in &table {
        let (start, end) = info.data_offsets;
        let mut data = vec![0f32; (end - start) / 4];
        r.read_exact(bytemuck::cast_slice_mut(&mut data)).map_err(io(path))?;
        data_crc.update(bytemuck::cast_slice(&data));
        if cfg!(target_endian = "big") {
            data.iter_mut().for_each(|v| *v = f32::from_bits(u32::from_le(v.to_bits())));
        }
        tensors.push(NamedTensor { name: name.to_string(), shape: info.shape.clone(), data });
    }
    let data_crc = hex(data_crc.finish());
    if get(DATA_CRC)? != data_crc {
        return Err(bad(
            path,
            format!(
                "tensor data checksum mismatch (the file says {}, the data gives {data_crc}): the file is corrupt",
                get(DATA_CRC)?
            ),
        ));
    }
    for t in &tensors {
        check_finite(path, t, "load")?;
    }

    let json = |key: &str| -> Result<serde_json::Value> {
        serde_json::from_str(get(key)?).map_err(|e| bad(path, format!("metadata `{key}` is not valid JSON: {e}")))
    };
    let ids = |key: &str| -> Result<IdMap> {
        let list: Vec<String> = serde_json::from_str(get(key)?)
            .map_err(|e| bad(path, format!("metadata `{key}` is not a JSON array of strings: {e}")))?;
        let mut map = IdMap::default();
        for id in &list {
            if map.intern(id) as usize != map.len() - 1 {
                return Err(bad(path, format!("metadata `{key}` lists id {id:?} twice")));
            }
        }
        Ok(map)
    };
    Ok(ModelFile {
        kind: get("kind")?.to_string(),
        config: json("config")?,
        info: json("info")?,
        user_ids: ids("user_ids")?,
        item_ids: ids("item_ids")?,
        tensors,
        path: None,
    })
}

/// Names the tensor whose shape does not match its data offsets, when that is
/// why safetensors refused the header.
fn diagnose(header: &str) -> Option<String> {
    let map: HashMap<String, serde_json::Value> = serde_json::from_str(header).ok()?;
    let mut names: Vec<&String> = map.keys().filter(|k| *k != "__metadata__").collect();
    names.sort();
    for name in names {
        let t = &map[name];
        let elem = match t.get("dtype")?.as_str()? {
            "F64" | "I64" | "U64" => 8,
            "F32" | "I32" | "U32" => 4,
            "F16" | "BF16" | "I16" | "U16" => 2,
            "U8" | "I8" | "BOOL" => 1,
            _ => continue,
        };
        let shape: Vec<u64> = t.get("shape")?.as_array()?.iter().map(|d| d.as_u64()).collect::<Option<_>>()?;
        let offsets = t.get("data_offsets")?.as_array()?;
        let (start, end) = (offsets.first()?.as_u64()?, offsets.get(1)?.as_u64()?);
        let need = shape.iter().try_fold(elem, |a: u64, &d| a.checked_mul(d));
        if end < start || need != Some(end - start) {
            let need = need.map_or("more than 2^64".to_string(), |b| b.to_string());
            return Some(format!(
                "tensor `{name}`: shape {shape:?} needs {need} bytes but its data offsets {start}..{end} hold {}",
                end.saturating_sub(start)
            ));
        }
    }
    None
}

/// CRC-32/ISO-HDLC (zlib's `crc32`), slicing by 8.
struct Crc32(u32);

/// The CRC-32 (zlib's) of `bytes`: model files' checksums, and the content
/// fingerprint of the data a model was trained on.
pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    let mut c = Crc32::new();
    c.update(bytes);
    c.finish()
}

const CRC_TABLES: [[u32; 256]; 8] = crc_tables();

const fn crc_tables() -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut i = 0;
    while i < 256 {
        let mut s = 1;
        while s < 8 {
            t[s][i] = (t[s - 1][i] >> 8) ^ t[0][(t[s - 1][i] & 0xff) as usize];
            s += 1;
        }
        i += 1;
    }
    t
}

impl Crc32 {
    fn new() -> Self {
        Crc32(!0)
    }

    fn update(&mut self, bytes: &[u8]) {
        let t = &CRC_TABLES;
        let mut c = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for ch in &mut chunks {
            let lo = c ^ u32::from_le_bytes([ch[0], ch[1], ch[2], ch[3]]);
            let hi = u32::from_le_bytes([ch[4], ch[5], ch[6], ch[7]]);
            c = t[7][(lo & 0xff) as usize]
                ^ t[6][((lo >> 8) & 0xff) as usize]
                ^ t[5][((lo >> 16) & 0xff) as usize]
                ^ t[4][(lo >> 24) as usize]
                ^ t[3][(hi & 0xff) as usize]
                ^ t[2][((hi >> 8) & 0xff) as usize]
                ^ t[1][((hi >> 16) & 0xff) as usize]
                ^ t[0][(hi >> 24) as usize];
        }
        for &b in chunks.remainder() {
            c = t[0][((c ^ b as u32) & 0xff) as usize] ^ (c >> 8);
        }
        self.0 = c;
    }

    fn finish(&self) -> u32 {
        !self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_zlib() {
        let crc = |b: &[u8]| {
            let mut c = Crc32::new();
            c.update(b);
            c.finish()
        };
        assert_eq!(crc(b""), 0);
        assert_eq!(crc(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc(b"The quick brown fox jumps over the lazy dog"), 0x414F_A339);
        // Split updates agree with one update.
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + i / 3) as u8).collect();
        let mut c = Crc32::new();
        c.update(&data[..13]);
        c.update(&data[13..]);
        assert_eq!(c.finish(), crc(&data));
    }
}
