//! What the training loop asks of a validation set: score a model, say
//! which metrics it computed and which way is better (ranking metrics
//! maximise, rating errors minimise).

use super::{RankingEval, RankingMetrics, RatingEval, RatingMetrics};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::models::contract::Model;

/// The metrics of one validation pass.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum ValidMetrics {
    /// Full-ranking metrics.
    Ranking(RankingMetrics),
    /// Rating errors.
    Rating(RatingMetrics),
}

impl ValidMetrics {
    /// The value of metric `name` at cut-off `k` (ignored for rating errors).
    pub fn get(&self, name: &str, k: usize) -> Option<f64> {
        match self {
            ValidMetrics::Ranking(m) => m.get(name, k),
            ValidMetrics::Rating(m) => m.get(name),
        }
    }

    /// The ranking metrics, if these are.
    pub fn ranking(&self) -> Option<&RankingMetrics> {
        match self {
            ValidMetrics::Ranking(m) => Some(m),
            ValidMetrics::Rating(_) => None,
        }
    }

    /// The rating errors, if these are.
    pub fn rating(&self) -> Option<&RatingMetrics> {
        match self {
            ValidMetrics::Rating(m) => Some(m),
            ValidMetrics::Ranking(_) => None,
        }
    }
}

/// A validation set the training loop scores after every epoch.
pub trait Validation<B: Backend> {
    /// Scores `model` (on the device; a few floats are read back).
    fn validate(&self, b: &B, model: &dyn Model<B>) -> Result<ValidMetrics>;
    /// Whether a larger value of a metric is better.
    fn higher_is_better(&self) -> bool;
    /// An error unless [`Validation::validate`] computes `metric` (name, cut-off).
    fn check_metric(&self, metric: &(String, usize)) -> Result<()>;
}

impl<B: Backend> Validation<B> for RankingEval<B> {
    fn validate(&self, b: &B, model: &dyn Model<B>) -> Result<ValidMetrics> {
        Ok(ValidMetrics::Ranking(self.evaluate(b, model)?))
    }

    fn higher_is_better(&self) -> bool {
        true
    }

    fn check_metric(&self, (name, k): &(String, usize)) -> Result<()> {
        if RankingMetrics::NAMES.contains(&name.as_str()) && self.ks().contains(k) {
            return Ok(());
        }
        Err(Error::Invalid(format!(
            "early-stopping metric {name}@{k}: the validation set scores {:?} at cut-offs {:?}",
            RankingMetrics::NAMES,
            self.ks()
        )))
    }
}

impl<B: Backend> Validation<B> for RatingEval<B> {
    fn validate(&self, b: &B, model: &dyn Model<B>) -> Result<ValidMetrics> {
        let rating = model
            .ratings()
            .ok_or_else(|| Error::Invalid(format!("a {} model predicts no ratings to validate", model.kind())))?;
        Ok(ValidMetrics::Rating(self.evaluate(b, rating)?))
    }

    fn higher_is_better(&self) -> bool {
        false
    }

    fn check_metric(&self, (name, _): &(String, usize)) -> Result<()> {
        if RatingMetrics::default().get(name).is_some() {
            return Ok(());
        }
        Err(Error::Invalid(format!("early-stopping metric {name:?} is not a rating metric (rmse, mae)")))
    }
}
