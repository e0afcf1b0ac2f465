//! Training loops: pairwise (user, positive, negative) triples in
//! [`pairwise`], pointwise (user, item, target) samples in [`pointwise`].

pub mod pairwise;
pub mod pointwise;

pub use pairwise::{fit_pairwise, EpochReport, FitConfig, FitSummary, PairSampler, PairwiseModel, Progress, Silent};
pub use pointwise::{fit_pointwise, PointSampler, PointwiseModel, PointwiseSummary};
