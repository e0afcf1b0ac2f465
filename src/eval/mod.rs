//! Evaluation on the device: full-ranking top-K metrics ([`ranking`]),
//! rating-prediction errors ([`rating`]), the sampled protocol ([`sampled`]),
//! and the validation the training loop runs ([`validation`]).

pub mod ranking;
pub mod rating;
pub mod sampled;
pub mod validation;

pub use ranking::{
    explain, ranking_metrics, score_history, similar_items, top_k_filtered, top_k_filtered_async, top_k_for_features,
    top_k_for_history, top_k_unseen, ItemFilter, RankingEval, RankingMetrics, Scorer,
};
pub use rating::{RatingEval, RatingMetrics, RatingModel, Ratings};
pub use sampled::{SampledEval, SampledMetrics};
pub use validation::{ValidMetrics, Validation};
