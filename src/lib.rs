//! gpurec trains and serves deep-learning recommender models on any GPU
//! through wgpu (Vulkan, Metal, DX12, and Mesa lavapipe in CI), with an
//! ndarray CPU backend that computes the same results.
//!
//! The layers, bottom up:
//! - [`gpu`]: the wgpu runtime — adapter choice, pipeline cache, buffer pool,
//!   a recorder that batches a whole training step into one submission;
//! - [`backend::Backend`]: the op surface both backends implement
//!   ([`Gpu`] and [`Cpu`]);
//! - [`cpu`]: the ndarray reference backend.
#![warn(missing_docs)]

pub mod api;
pub mod backend;
pub mod cpu;
pub mod data;
pub mod device;
pub mod error;
pub mod eval;
pub mod gpu;
pub mod graph;
pub mod init;
pub mod layers;
pub mod model_file;
pub mod models;
pub mod optim;
pub mod protocol;
pub mod rng;
pub mod sparse;
pub mod train;

pub use backend::{Act, AdamConfig, Among, Backend, BinaryOp, Reduce, UnaryOp};
pub use cpu::Cpu;
pub use error::{Error, Result};
pub use gpu::Gpu;
