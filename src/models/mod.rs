//! Recommender models, one file each, each opening with its paper and equations.

pub mod bpr;

pub use bpr::{BprConfig, BprMf};
