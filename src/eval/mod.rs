//! Evaluation on the device: full-ranking top-K metrics ([`ranking`]) and
//! rating-prediction errors ([`rating`]).

pub mod ranking;
pub mod rating;
pub mod sampled;

pub use ranking::{ranking_metrics, top_k_unseen, RankingEval, RankingMetrics, Scorer};
pub use rating::{RatingEval, RatingMetrics, RatingModel, Ratings};
pub use sampled::{SampledEval, SampledMetrics};
