//! The errors a caller of gpurec can act on.
//!
//! Shape mismatches between ops are programming errors and panic with the op
//! name and both shapes (as ndarray does); everything that depends on the
//! machine, the driver or user input comes back as an [`Error`].

use std::path::PathBuf;

/// Everything that can go wrong in gpurec that is not a programming error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No GPU adapter matched the request (backend, name, software fallback).
    #[error("no GPU adapter found{0}")]
    NoAdapter(String),
    /// The adapter refused to create a device.
    #[error("could not create a device on adapter {adapter}: {reason}")]
    RequestDevice {
        /// The adapter's name.
        adapter: String,
        /// What the driver said.
        reason: String,
    },
    /// The device was lost (driver reset, GPU removed, or dropped).
    #[error("GPU device lost: {0}")]
    DeviceLost(String),
    /// The device ran out of memory.
    #[error("GPU out of memory while allocating {bytes} bytes for {what}")]
    OutOfMemory {
        /// What was being allocated.
        what: String,
        /// The size of the failed allocation.
        bytes: u64,
    },
    /// A tensor is larger than one buffer or one binding may be on this device.
    #[error("{what} needs {bytes} bytes but the device allows at most {limit} bytes per {limit_name}")]
    TooLarge {
        /// What was being allocated, with its shape.
        what: String,
        /// Requested size in bytes.
        bytes: u64,
        /// The device limit in bytes.
        limit: u64,
        /// Which limit: "buffer" or "storage binding".
        limit_name: &'static str,
    },
    /// A WGSL shader failed to compile or validate on this device.
    #[error("shader {name} (entry {entry}) was rejected: {message}")]
    ShaderRejected {
        /// Shader stem.
        name: String,
        /// Entry point.
        entry: String,
        /// The validation message.
        message: String,
    },
    /// A validation or internal error reported by wgpu while recording or submitting.
    #[error("GPU error: {0}")]
    Gpu(String),
    /// Reading a buffer back from the device failed.
    #[error("reading back from the GPU failed: {0}")]
    Readback(String),
    /// Malformed input data, with the file and line.
    #[error("{}:{line}: {message}", path.display())]
    Data {
        /// The file.
        path: PathBuf,
        /// 1-based line number (0 when the problem is not on one line).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A model file that is corrupt, from another version, or does not fit the model loading it.
    #[error("model file {}: {message}", path.display())]
    ModelFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An invalid argument or configuration value.
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// An I/O error, with the path involved.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// `Result` with gpurec's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
