//! The evaluation protocols, run as the reference libraries run them (see
//! `shared/PROTOCOLS.md`), for any registered family, from the library as
//! from the command line:
//! - [`ranking`]: RecBole's — a split of the interactions (per-user 8:1:1 by
//!   default), early stopping on validation NDCG@10 under full ranking with
//!   training items masked, the best weights scored on test with training
//!   and validation items masked (a next-item model reads the validation
//!   item as the last of its history when it predicts the test item);
//! - [`rating_cv`]: Surprise's — seeded k-fold cross-validation over all
//!   ratings, predictions clipped to the rating scale, RMSE and MAE per fold;
//!   with early stopping, the last tenth of each fold's (shuffled) training
//!   ratings is held out as validation;
//! - [`rating_holdout`]: rating prediction on a given train/valid/test split.

use crate::backend::Backend;
use crate::data::split::{k_fold, Split};
use crate::data::{Interactions, Ratings};
use crate::error::{Error, Result};
use crate::eval::{RankingEval, RankingMetrics, RatingEval, RatingMetrics, Validation};
use crate::models::contract::{Model, TrainSet};
use crate::models::registry::Entry;
use crate::sparse::CsrHost;
use crate::train::{fit, FitConfig, FitSummary, Progress};

/// Users per evaluation batch.
const EVAL_USERS: usize = 1024;
/// Ratings per evaluation batch.
const EVAL_RATINGS: usize = 1 << 16;

/// A trained ranking model and how it did.
pub struct RankingRun<B: Backend> {
    /// The model, with its best-on-validation weights.
    pub model: Box<dyn Model<B>>,
    /// The training record.
    pub summary: FitSummary,
    /// Test metrics under full ranking.
    pub test: RankingMetrics,
    /// Seconds spent training (validation included).
    pub train_seconds: f64,
    /// Seconds the test evaluation took.
    pub test_seconds: f64,
}

/// How the ranking protocol scores: the cut-offs, and whether the items a
/// user already interacted with are masked.
#[derive(Clone, Debug, PartialEq)]
pub struct RankingOptions {
    /// Cut-offs K of the metrics.
    pub ks: Vec<usize>,
    /// Mask each user's earlier items (training items at validation, training
    /// and validation items at test), as RecBole does for general models.
    /// Off, every item competes (RecBole's sequential evaluation): a model
    /// then loses where it ranks an item the user already has.
    pub mask_seen: bool,
}

impl Default for RankingOptions {
    fn default() -> Self {
        Self { ks: vec![10, 20], mask_seen: true }
    }
}

/// RecBole's protocol on `split` of `data`: trains a `config` model of
/// `family`, early-stopping on the validation part (when it is not empty and
/// `fit.patience > 0`; a closed-form model is validated once), and scores the kept weights on the test part
/// as `opts` says.
#[allow(clippy::too_many_arguments)]
pub fn ranking<B: Backend>(
    b: &B,
    family: &dyn Entry<B>,
    config: &serde_json::Value,
    data: &Interactions,
    split: &Split,
    fit_cfg: &FitConfig,
    opts: &RankingOptions,
    progress: &mut dyn Progress,
) -> Result<RankingRun<B>> {
    if split.test.is_empty() {
        return Err(Error::Invalid(format!(
            "the test part of the split is empty ({} interactions of {} users): nothing to evaluate on",
            data.len(),
            data.n_users()
        )));
    }
    let train = TrainSet::from_rows(data, &split.train);
    let test = data.user_item_csr(&split.test);
    let train_valid = data.user_item_csr(&[split.train.clone(), split.valid.clone()].concat());
    let ks = &opts.ks;
    let nothing = CsrHost::from_triplets(data.n_users(), data.n_items(), &[]);
    let (seen_valid, seen_test) = match opts.mask_seen {
        true => (&train.interactions, &train_valid),
        false => (&nothing, &nothing),
    };
    // A closed-form model is validated once (to report it, or to choose its
    // hyper-parameters); the others when they early-stop.
    let closed_form = family.info().batch == crate::models::contract::BatchKind::ClosedForm;
    let valid_eval = if split.valid.is_empty() || (fit_cfg.patience == 0 && !closed_form) {
        None
    } else {
        let valid = data.user_item_csr(&split.valid);
        Some(RankingEval::new(b, &valid, seen_valid, ks, EVAL_USERS)?.without_auc())
    };
    let test_eval = RankingEval::new(b, &test, seen_test, ks, EVAL_USERS)?;
    let t0 = std::time::Instant::now();
    let mut model = family.build(b, &train, config, fit_cfg.seed)?;
    let valid = valid_eval.as_ref().map(|v| v as &dyn Validation<B>);
    let summary = fit(b, model.as_mut(), &train, valid, fit_cfg, progress)?;
    let train_seconds = t0.elapsed().as_secs_f64();
    let t1 = std::time::Instant::now();
    if family.info().batch == crate::models::contract::BatchKind::Sequences {
        // A next-item model predicts the test item from everything before
        // it, the validation item included (RecBole's sequential protocol).
        let seen = [split.train.as_slice(), split.valid.as_slice()].concat();
        model.set_history(b, &crate::data::sequence::Sequences::from_rows(data, &seen))?;
    }
    let test = test_eval.evaluate(b, model.as_ref())?;
    Ok(RankingRun { model, summary, test, train_seconds, test_seconds: t1.elapsed().as_secs_f64() })
}

/// One fold of [`rating_cv`].
#[derive(Clone, Debug, serde::Serialize)]
pub struct Fold {
    /// Test errors of the kept weights.
    pub test: RatingMetrics,
    /// The epoch whose weights were kept.
    pub best_epoch: usize,
    /// Epochs run.
    pub epochs: usize,
    /// Best validation RMSE, with early stopping.
    pub best_valid_rmse: Option<f64>,
}

/// Surprise's protocol: `folds`-fold seeded cross-validation over all of
/// `data`'s ratings (seed `fit_cfg.seed`), predictions clipped to the data's
/// rating range. With `fit_cfg.patience > 0` the last tenth of each fold's
/// shuffled training rows is validation for early stopping on
/// `fit_cfg.metric` ("rmse" or "mae").
pub fn rating_cv<B: Backend>(
    b: &B,
    family: &dyn Entry<B>,
    config: &serde_json::Value,
    data: &Interactions,
    folds: usize,
    fit_cfg: &FitConfig,
) -> Result<Vec<Fold>> {
    if data.len() < folds.max(2) {
        return Err(Error::Invalid(format!("{} ratings cannot make {folds} folds", data.len())));
    }
    let scale = data.rating_range();
    let mut out = Vec::new();
    for (train, test) in k_fold(data.len(), folds, fit_cfg.seed) {
        let cut = if fit_cfg.patience > 0 { train.len() - train.len() / 10 } else { train.len() };
        let split = Split { train: train[..cut].to_vec(), valid: train[cut..].to_vec(), test };
        let (_, summary, test) = rating_holdout_scaled(b, family, config, data, &split, fit_cfg, scale)?;
        out.push(Fold {
            test,
            best_epoch: summary.best_epoch,
            epochs: summary.epochs.len(),
            best_valid_rmse: summary.best_metrics.as_ref().and_then(|m| m.rating()).map(|m| m.rmse),
        });
    }
    Ok(out)
}

/// Rating prediction on `split` of `data`: trains on the training part
/// (early-stopping on the validation part when it is not empty and
/// `fit_cfg.patience > 0`), then the test errors, predictions clipped to the
/// data's rating range.
pub fn rating_holdout<B: Backend>(
    b: &B,
    family: &dyn Entry<B>,
    config: &serde_json::Value,
    data: &Interactions,
    split: &Split,
    fit_cfg: &FitConfig,
) -> Result<(Box<dyn Model<B>>, FitSummary, RatingMetrics)> {
    rating_holdout_scaled(b, family, config, data, split, fit_cfg, data.rating_range())
}

fn rating_holdout_scaled<B: Backend>(
    b: &B,
    family: &dyn Entry<B>,
    config: &serde_json::Value,
    data: &Interactions,
    split: &Split,
    fit_cfg: &FitConfig,
    scale: (f32, f32),
) -> Result<(Box<dyn Model<B>>, FitSummary, RatingMetrics)> {
    if split.test.is_empty() {
        return Err(Error::Invalid("the test part of the split is empty: nothing to evaluate on".into()));
    }
    let train = TrainSet::from_rows(data, &split.train);
    let valid = (fit_cfg.patience > 0 && !split.valid.is_empty())
        .then(|| RatingEval::new(b, &Ratings::from_rows(data, &split.valid), scale, EVAL_RATINGS))
        .transpose()?;
    let mut model = family.build(b, &train, config, fit_cfg.seed)?;
    let summary = fit(
        b,
        model.as_mut(),
        &train,
        valid.as_ref().map(|v| v as &dyn Validation<B>),
        fit_cfg,
        &mut crate::train::Silent,
    )?;
    let rating =
        model.ratings().ok_or_else(|| Error::Invalid(format!("a {} model predicts no ratings", model.kind())))?;
    let test = RatingEval::new(b, &Ratings::from_rows(data, &split.test), scale, EVAL_RATINGS)?.evaluate(b, rating)?;
    Ok((model, summary, test))
}
