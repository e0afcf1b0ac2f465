//! Recommender models, one file each, each opening with its paper and equations.

pub mod bpr;
pub mod dot;
pub mod lightgcn;
pub mod loaded;
pub mod mf;
pub mod neumf;

pub use bpr::{BprConfig, BprMf};
pub use dot::DotScorer;
pub use lightgcn::{LightGcn, LightGcnConfig};
pub use loaded::{Loaded, SERVABLE_KINDS};
pub use mf::{BiasedMf, MfConfig};
pub use neumf::{NeuMf, NeuMfConfig};
