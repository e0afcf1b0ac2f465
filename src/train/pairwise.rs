//! The training loop for models trained on (user, positive, negative) triples.
//!
//! Data stays on the device: per step the host prepares O(batch) indices (the
//! shuffled positives, uniformly sampled negatives the user has not
//! interacted with, and the row groupings for the gradients) and the model
//! records one submission. The loss is accumulated on the device and read
//! once per epoch. Validation runs every epoch on the device; the best
//! weights are kept on the device too.

use std::time::Instant;

use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::eval::{RankingEval, RankingMetrics, Scorer};
use crate::sparse::CsrHost;

/// A model trained on sampled (user, positive, negative) triples.
pub trait PairwiseModel<B: Backend>: Scorer<B> {
    /// Records one optimisation step; returns the batch's mean loss as a `[1]` tensor (not read back).
    fn train_step(&mut self, b: &B, users: &[u32], pos: &[u32], neg: &[u32]) -> Result<B::Tensor>;
    /// The trained parameters (for keeping the best weights).
    fn parameters(&self) -> Vec<&B::Tensor>;
    /// The trained parameters, mutable (for restoring the best weights).
    fn parameters_mut(&mut self) -> Vec<&mut B::Tensor>;
}

/// Loop settings.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct FitConfig {
    /// Maximum epochs.
    pub epochs: usize,
    /// Triples per step.
    pub batch_size: usize,
    /// Stop after this many epochs without a better validation score (0: never).
    pub patience: usize,
    /// Validation metric and cut-off for early stopping, e.g. ("ndcg", 10).
    pub metric: (String, usize),
    /// Seed of the shuffling and negative sampling.
    pub seed: u64,
}

impl Default for FitConfig {
    fn default() -> Self {
        Self { epochs: 300, batch_size: 2048, patience: 10, metric: ("ndcg".into(), 10), seed: 2024 }
    }
}

/// What happened in one epoch.
#[derive(Clone, Debug, serde::Serialize)]
pub struct EpochReport {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss over the epoch's steps.
    pub loss: f32,
    /// Validation metrics, when a validation set was given.
    pub valid: Option<RankingMetrics>,
    /// Training time of the epoch (seconds, including the loss read-back).
    pub train_seconds: f64,
    /// Validation time (seconds).
    pub eval_seconds: f64,
    /// Steps (= submissions) in the epoch.
    pub steps: usize,
    /// Training triples per second.
    pub samples_per_second: f64,
    /// Whether this epoch improved the early-stopping metric.
    pub improved: bool,
}

/// Observes training without forcing any GPU synchronisation of its own.
pub trait Progress {
    /// Called after a step is recorded (nothing has been read back).
    fn on_step(&mut self, _epoch: usize, _step: usize, _steps: usize) {}
    /// Called after each epoch.
    fn on_epoch(&mut self, _report: &EpochReport) {}
}

/// Does nothing.
pub struct Silent;
impl Progress for Silent {}

/// Uniform negative sampling over items the user has no training interaction with.
pub struct PairSampler {
    pairs: Vec<(u32, u32)>,
    positives: CsrHost,
    rng: ChaCha8Rng,
}

impl PairSampler {
    /// `train` is the users × items training matrix.
    pub fn new(train: &CsrHost, seed: u64) -> Self {
        let mut pairs = Vec::with_capacity(train.nnz());
        for u in 0..train.rows {
            for &i in train.row(u) {
                pairs.push((u as u32, i));
            }
        }
        Self { pairs, positives: train.clone(), rng: ChaCha8Rng::seed_from_u64(seed) }
    }

    /// Number of training pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// True when there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Shuffles the pairs for a new epoch.
    pub fn shuffle(&mut self) {
        self.pairs.shuffle(&mut self.rng);
    }

    /// Batch `k` of the current epoch: (users, positives, negatives).
    pub fn batch(&mut self, k: usize, size: usize) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
        let items = self.positives.cols as u32;
        let chunk = &self.pairs[k * size..((k + 1) * size).min(self.pairs.len())];
        let mut users = Vec::with_capacity(chunk.len());
        let mut pos = Vec::with_capacity(chunk.len());
        let mut neg = Vec::with_capacity(chunk.len());
        for &(u, i) in chunk {
            let seen = self.positives.row(u as usize);
            // A user who interacted with every item gets an arbitrary negative rather than a hang.
            let mut j = self.rng.random_range(0..items);
            for _ in 0..64 {
                if seen.binary_search(&j).is_err() {
                    break;
                }
                j = self.rng.random_range(0..items);
            }
            users.push(u);
            pos.push(i);
            neg.push(j);
        }
        (users, pos, neg)
    }
}

/// The outcome of [`fit_pairwise`].
#[derive(Clone, Debug, serde::Serialize)]
pub struct FitSummary {
    /// Per-epoch reports.
    pub epochs: Vec<EpochReport>,
    /// Epoch whose weights were kept (1-based; the last one without validation).
    pub best_epoch: usize,
    /// Best validation value of the early-stopping metric.
    pub best_valid: Option<f64>,
}

/// Trains `model` on `train` (users × items), early-stopping on `valid` when given.
/// The best-on-validation weights are restored at the end.
pub fn fit_pairwise<B: Backend, M: PairwiseModel<B>>(
    b: &B,
    model: &mut M,
    train: &CsrHost,
    valid: Option<&RankingEval<B>>,
    cfg: &FitConfig,
    progress: &mut dyn Progress,
) -> Result<FitSummary> {
    if cfg.batch_size == 0 {
        return Err(Error::Invalid("batch size must be at least 1".into()));
    }
    if let Some(v) = valid {
        let (name, k) = (&cfg.metric.0, cfg.metric.1);
        if !RankingMetrics::NAMES.contains(&name.as_str()) || !v.ks().contains(&k) {
            return Err(Error::Invalid(format!(
                "early-stopping metric {name}@{k}: the validation set scores {:?} at cut-offs {:?}",
                RankingMetrics::NAMES,
                v.ks()
            )));
        }
    }
    let mut sampler = PairSampler::new(train, cfg.seed);
    if sampler.is_empty() {
        return Err(Error::Invalid("no training interactions".into()));
    }
    let steps = sampler.len().div_ceil(cfg.batch_size);
    let mut reports = Vec::new();
    let mut best: Option<(f64, usize, Vec<B::Tensor>)> = None;
    for epoch in 1..=cfg.epochs {
        let t0 = Instant::now();
        sampler.shuffle();
        let loss = super::run_epoch(b, epoch, steps, progress, |k| {
            let (u, i, j) = sampler.batch(k, cfg.batch_size);
            model.train_step(b, &u, &i, &j)
        })?;
        let train_seconds = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let metrics = valid.map(|v| v.evaluate(b, model)).transpose()?;
        let eval_seconds = t1.elapsed().as_secs_f64();
        let score = metrics.as_ref().and_then(|m| m.get(&cfg.metric.0, cfg.metric.1));
        let improved = match (score, &best) {
            (Some(s), Some((bs, _, _))) => s > *bs,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if improved {
            let snapshot = model.parameters().into_iter().cloned().collect();
            best = Some((score.unwrap(), epoch, snapshot));
        }
        let report = EpochReport {
            epoch,
            loss,
            valid: metrics,
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
        Some((score, epoch, snapshot)) => {
            for (p, s) in model.parameters_mut().into_iter().zip(snapshot) {
                *p = s;
            }
            FitSummary { epochs: reports, best_epoch: epoch, best_valid: Some(score) }
        }
        None => FitSummary { epochs: reports, best_epoch: last, best_valid: None },
    })
}
