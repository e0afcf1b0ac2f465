//! Evaluation on the device: full-ranking top-K metrics ([`ranking`]) and
//! rating-prediction errors ([`rating`]).

pub mod rating;
pub mod ranking;

pub use ranking::{ranking_metrics, RankingEval, RankingMetrics, Scorer};
