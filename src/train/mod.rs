//! The training loop, one for every model: [`fit`] runs epochs of the
//! batches the model's [`BatchKind`] asks for (made by [`sampler`]), one
//! submission per step, the loss summed on the device and read back once per
//! epoch; after each epoch it scores a [`Validation`] set on the device
//! (ranking metrics maximise, rating errors minimise), keeps the best
//! weights on the device, stops early after `patience` epochs without
//! improvement and restores the best weights at the end. A closed-form
//! model ([`BatchKind::ClosedForm`]) was fitted when it was built: the loop
//! only validates it.

pub mod sampler;

pub use sampler::{ItemSampler, PairSampler, PointSampler, SequenceSampler, UserSampler};

use std::time::Instant;

use crate::backend::{Backend, BinaryOp};
use crate::error::{Error, Result};
use crate::eval::{ValidMetrics, Validation};
use crate::models::contract::{Batch, BatchKind, Model, TrainSet, UserDraw};

/// Loop settings.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct FitConfig {
    /// Maximum epochs.
    pub epochs: usize,
    /// Samples per step, in the model's batch unit (triples, ratings, users).
    pub batch_size: usize,
    /// Stop after this many epochs without a better validation score (0: never).
    pub patience: usize,
    /// Validation metric and cut-off for early stopping, e.g. ("ndcg", 10),
    /// or ("rmse", 0) for rating models (the cut-off is then ignored).
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
    pub valid: Option<ValidMetrics>,
    /// Training time of the epoch (seconds, including the loss read-back).
    pub train_seconds: f64,
    /// Validation time (seconds).
    pub eval_seconds: f64,
    /// Steps (= submissions) in the epoch.
    pub steps: usize,
    /// Training samples (triples, ratings, windows or users) in the epoch.
    pub samples: usize,
    /// Training samples per second.
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

/// The outcome of [`fit`].
#[derive(Clone, Debug, serde::Serialize)]
pub struct FitSummary {
    /// Per-epoch reports (none for a closed-form model).
    pub epochs: Vec<EpochReport>,
    /// Epoch whose weights were kept (1-based; the last one without
    /// validation; 0 for a closed-form model).
    pub best_epoch: usize,
    /// Best validation value of the early-stopping metric.
    pub best_valid: Option<f64>,
    /// All validation metrics of the kept weights.
    pub best_metrics: Option<ValidMetrics>,
}

/// The batches of one epoch after another, of the kind a model trains on.
enum Sampler {
    Pairs(PairSampler),
    Points(PointSampler),
    Users(UserSampler),
    Items(ItemSampler),
    Sequences(SequenceSampler),
}

impl Sampler {
    fn len(&self) -> usize {
        match self {
            Sampler::Pairs(s) => s.len(),
            Sampler::Points(s) => s.len(),
            Sampler::Users(s) => s.len(),
            Sampler::Items(s) => s.len(),
            Sampler::Sequences(s) => s.len(),
        }
    }

    fn shuffle(&mut self) {
        match self {
            Sampler::Pairs(s) => s.shuffle(),
            Sampler::Points(s) => s.shuffle(),
            Sampler::Users(s) => s.shuffle(),
            Sampler::Items(s) => s.shuffle(),
            Sampler::Sequences(s) => s.shuffle(),
        }
    }

    /// Runs `f` on batch `k` of the current epoch.
    fn with_batch<T>(&mut self, k: usize, size: usize, f: impl FnOnce(&Batch<'_>) -> T) -> T {
        match self {
            Sampler::Pairs(s) => {
                let (users, pos, neg) = s.batch(k, size);
                f(&Batch::Pairs { users: &users, pos: &pos, neg: &neg })
            }
            Sampler::Points(s) => {
                let (users, items, targets) = s.batch(k, size);
                f(&Batch::Points { users: &users, items: &items, targets: &targets })
            }
            Sampler::Users(s) => f(&Batch::Users { users: s.batch(k, size) }),
            Sampler::Items(s) => f(&Batch::Items { items: s.batch(k, size) }),
            Sampler::Sequences(s) => {
                let (users, inputs, targets) = s.batch(k, size);
                f(&Batch::Sequences { users: &users, inputs: &inputs, targets: &targets, len: s.width() })
            }
        }
    }
}

/// Trains `model` on `data`, early-stopping on `valid` when given (then
/// `cfg.metric` must be one it computes); the best-on-validation weights are
/// restored at the end.
pub fn fit<B: Backend>(
    b: &B,
    model: &mut dyn Model<B>,
    data: &TrainSet,
    valid: Option<&dyn Validation<B>>,
    cfg: &FitConfig,
    progress: &mut dyn Progress,
) -> Result<FitSummary> {
    if let Some(v) = valid {
        v.check_metric(&cfg.metric)?;
    }
    let mut sampler = match model.batch_kind() {
        BatchKind::Pairs => Sampler::Pairs(PairSampler::new(&data.interactions, cfg.seed)),
        BatchKind::Points => Sampler::Points(PointSampler::new(&data.ratings, cfg.seed)),
        BatchKind::UserRows => Sampler::Users(match model.user_draw() {
            UserDraw::Distinct => UserSampler::new(&data.interactions, cfg.seed),
            UserDraw::PerInteraction => UserSampler::per_interaction(&data.interactions, cfg.seed),
        }),
        BatchKind::ItemRows => Sampler::Items(ItemSampler::new(&data.interactions, cfg.seed)),
        BatchKind::Sequences => Sampler::Sequences(SequenceSampler::new(&data.sequences, model.window(), cfg.seed)),
        BatchKind::ClosedForm => {
            let metrics = valid.map(|v| v.validate(b, model)).transpose()?;
            let best_valid = metrics.as_ref().and_then(|m| m.get(&cfg.metric.0, cfg.metric.1));
            return Ok(FitSummary { epochs: Vec::new(), best_epoch: 0, best_valid, best_metrics: metrics });
        }
    };
    if cfg.batch_size == 0 {
        return Err(Error::Invalid("batch size must be at least 1".into()));
    }
    if cfg.epochs == 0 {
        return Err(Error::Invalid("epochs must be at least 1 (an untrained model is not a result)".into()));
    }
    if sampler.len() == 0 {
        return Err(Error::Invalid("no training interactions".into()));
    }
    let higher_is_better = valid.is_none_or(|v| v.higher_is_better());
    let steps = sampler.len().div_ceil(cfg.batch_size);
    let mut reports = Vec::new();
    let mut best: Option<(f64, usize, ValidMetrics, Vec<B::Tensor>)> = None;
    for epoch in 1..=cfg.epochs {
        let t0 = Instant::now();
        sampler.shuffle();
        let loss = run_epoch(b, epoch, steps, progress, |k| {
            sampler.with_batch(k, cfg.batch_size, |batch| model.train_step(b, batch))
        })?;
        let train_seconds = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let metrics = valid.map(|v| v.validate(b, model)).transpose()?;
        let eval_seconds = t1.elapsed().as_secs_f64();
        let score = metrics.as_ref().and_then(|m| m.get(&cfg.metric.0, cfg.metric.1));
        let improved = match (score, &best) {
            (Some(s), Some((bs, ..))) => {
                if higher_is_better {
                    s > *bs
                } else {
                    s < *bs
                }
            }
            (Some(_), None) => true,
            (None, _) => false,
        };
        if improved {
            let snapshot = model.parameters().into_iter().cloned().collect();
            best = Some((score.unwrap(), epoch, metrics.clone().unwrap(), snapshot));
        }
        let report = EpochReport {
            epoch,
            loss,
            valid: metrics,
            train_seconds,
            eval_seconds,
            steps,
            samples: sampler.len(),
            samples_per_second: sampler.len() as f64 / train_seconds.max(1e-9),
            improved,
        };
        progress.on_epoch(&report);
        reports.push(report);
        if let Some((_, best_epoch, ..)) = &best {
            if cfg.patience > 0 && epoch - best_epoch >= cfg.patience {
                break;
            }
        }
    }
    let last = reports.len();
    Ok(match best {
        Some((score, epoch, metrics, snapshot)) => {
            for (p, s) in model.parameters_mut().into_iter().zip(snapshot) {
                *p = s;
            }
            FitSummary { epochs: reports, best_epoch: epoch, best_valid: Some(score), best_metrics: Some(metrics) }
        }
        None => FitSummary { epochs: reports, best_epoch: last, best_valid: None, best_metrics: None },
    })
}

/// Runs one epoch of `steps` recorded steps (one submission each), summing
/// the step losses on the device and reading the mean back once.
fn run_epoch<B: Backend>(
    b: &B,
    epoch: usize,
    steps: usize,
    progress: &mut dyn Progress,
    mut step: impl FnMut(usize) -> Result<B::Tensor>,
) -> Result<f32> {
    let mut total: Option<B::Tensor> = None;
    for k in 0..steps {
        let loss = step(k)?;
        total = Some(match total {
            None => loss,
            Some(t) => b.binary(BinaryOp::Add, &t, &loss),
        });
        b.flush()?;
        progress.on_step(epoch, k + 1, steps);
    }
    let loss =
        b.read(&total.ok_or_else(|| Error::Invalid("an epoch needs at least one step".into()))?)?[0] / steps as f32;
    if !loss.is_finite() {
        return Err(Error::Invalid(format!("training diverged: loss {loss} at epoch {epoch}")));
    }
    Ok(loss)
}
