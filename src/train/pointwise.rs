//! The training loop for models trained on (user, item, target) samples with a
//! pointwise loss, e.g. rating prediction with squared error.
//!
//! Per epoch the training samples are shuffled with a seeded generator; per
//! step the host slices O(batch) users, items and targets and the model
//! records one submission. The loss is accumulated on the device and read
//! once per epoch. With a validation set, RMSE or MAE (lower is better) is
//! computed on the device every epoch and the best weights are kept on the
//! device and restored at the end, as [`super::pairwise`] does.

use std::time::Instant;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::pairwise::{EpochReport, FitConfig, Progress};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::eval::rating::{RatingEval, RatingMetrics, RatingModel, Ratings};

/// A model trained on (user, item, target) samples.
pub trait PointwiseModel<B: Backend>: RatingModel<B> {
    /// Records one optimisation step on the samples `(users[k], items[k], targets[k])`;
    /// returns the batch's loss as a `[1]` tensor (not read back).
    fn train_step(&mut self, b: &B, users: &[u32], items: &[u32], targets: &[f32]) -> Result<B::Tensor>;
    /// The trained parameters (for keeping the best weights).
    fn parameters(&self) -> Vec<&B::Tensor>;
    /// The trained parameters, mutable (for restoring the best weights).
    fn parameters_mut(&mut self) -> Vec<&mut B::Tensor>;
}

/// Seeded shuffling of a sample set into batches.
pub struct PointSampler {
    samples: Vec<(u32, u32, f32)>,
    rng: ChaCha8Rng,
}

impl PointSampler {
    /// Samples `data`, shuffled by a generator seeded with `seed`.
    pub fn new(data: &Ratings, seed: u64) -> Self {
        let samples = data.users.iter().zip(&data.items).zip(&data.ratings).map(|((&u, &i), &r)| (u, i, r)).collect();
        Self { samples, rng: ChaCha8Rng::seed_from_u64(seed) }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Shuffles the samples for a new epoch.
    pub fn shuffle(&mut self) {
        self.samples.shuffle(&mut self.rng);
    }

    /// Batch `k` of the current epoch: (users, items, targets).
    pub fn batch(&self, k: usize, size: usize) -> (Vec<u32>, Vec<u32>, Vec<f32>) {
        let chunk = &self.samples[k * size..((k + 1) * size).min(self.samples.len())];
        let users = chunk.iter().map(|s| s.0).collect();
        let items = chunk.iter().map(|s| s.1).collect();
        let targets = chunk.iter().map(|s| s.2).collect();
        (users, items, targets)
    }
}

/// The outcome of [`fit_pointwise`].
#[derive(Clone, Debug, serde::Serialize)]
pub struct PointwiseSummary {
    /// Per-epoch reports (their `valid` field, a ranking type, stays `None`:
    /// the validation errors are in [`PointwiseSummary::valid`]).
    pub epochs: Vec<EpochReport>,
    /// Validation errors per epoch (empty without a validation set).
    pub valid: Vec<RatingMetrics>,
    /// Epoch whose weights were kept (1-based; the last one without validation).
    pub best_epoch: usize,
    /// Validation errors of the kept weights.
    pub best_valid: Option<RatingMetrics>,
}

/// Trains `model` on `train`, early-stopping on `valid` when given: `cfg.metric.0`
/// must then be "rmse" or "mae" (the cut-off `cfg.metric.1` is ignored), and the
/// best-on-validation weights are restored at the end.
pub fn fit_pointwise<B: Backend, M: PointwiseModel<B>>(
    b: &B,
    model: &mut M,
    train: &Ratings,
    valid: Option<&RatingEval<B>>,
    cfg: &FitConfig,
    progress: &mut dyn Progress,
) -> Result<PointwiseSummary> {
    if cfg.batch_size == 0 {
        return Err(Error::Invalid("batch size must be at least 1".into()));
    }
    if train.is_empty() {
        return Err(Error::Invalid("no training samples".into()));
    }
    let metric = cfg.metric.0.as_str();
    if valid.is_some() && RatingMetrics::default().get(metric).is_none() {
        return Err(Error::Invalid(format!("early-stopping metric {metric:?} is not a rating metric (rmse, mae)")));
    }
    let mut sampler = PointSampler::new(train, cfg.seed);
    let steps = sampler.len().div_ceil(cfg.batch_size);
    let mut reports = Vec::new();
    let mut valid_metrics = Vec::new();
    let mut best: Option<(RatingMetrics, usize, Vec<B::Tensor>)> = None;
    for epoch in 1..=cfg.epochs {
        let t0 = Instant::now();
        sampler.shuffle();
        let loss = super::run_epoch(b, epoch, steps, progress, |k| {
            let (u, i, r) = sampler.batch(k, cfg.batch_size);
            model.train_step(b, &u, &i, &r)
        })?;
        let train_seconds = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let metrics = valid.map(|v| v.evaluate(b, model)).transpose()?;
        let eval_seconds = t1.elapsed().as_secs_f64();
        let improved = match (&metrics, &best) {
            (Some(m), Some((bm, _, _))) => m.get(metric) < bm.get(metric),
            (Some(_), None) => true,
            (None, _) => false,
        };
        if let Some(m) = metrics {
            valid_metrics.push(m);
            if improved {
                let snapshot = model.parameters().into_iter().cloned().collect();
                best = Some((m, epoch, snapshot));
            }
        }
        let report = EpochReport {
            epoch,
            loss,
            valid: None,
            train_seconds,
            eval_seconds,
            steps,
            samples_per_second: sampler.len() as f64 / train_seconds.max(1e-9),
            improved,
        };
        progress.on_epoch(&report);
        reports.push(report);
        if let Some((_, best_epoch, _)) = &best {
            if cfg.patience > 0 && epoch - best_epoch >= cfg.patience {
                break;
            }
        }
    }
    let last = reports.len();
    Ok(match best {
        Some((m, epoch, snapshot)) => {
            for (p, s) in model.parameters_mut().into_iter().zip(snapshot) {
                *p = s;
            }
            PointwiseSummary { epochs: reports, valid: valid_metrics, best_epoch: epoch, best_valid: Some(m) }
        }
        None => PointwiseSummary { epochs: reports, valid: valid_metrics, best_epoch: last, best_valid: None },
    })
}
