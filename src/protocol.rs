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

/// A cold-start run ([`cold_start`]): the model trained without the held-out
/// users (or items) and how it ranks for them from their features alone.
pub struct ColdStartRun<B: Backend> {
    /// The warm part's ranking protocol: the model, its training record and
    /// its test metrics on the warm users (and items).
    pub warm: RankingRun<B>,
    /// The model on the held-out users (items), known only by their features.
    pub cold: RankingMetrics,
    /// Most popular on the same users: the training set's most popular items
    /// for cold users; for cold items, which have no popularity, the items
    /// whose features are the most popular (each item scored by the mean
    /// training popularity of its features, mixed as LightFM mixes them).
    pub popular: RankingMetrics,
    /// A seeded random order of the same candidates, the floor.
    pub random: RankingMetrics,
    /// How many users (items) were held out.
    pub held_out: usize,
    /// How many users the cold metrics average over (those with a target).
    pub users: usize,
}

/// The refusal of a family without feature embeddings by [`cold_start`].
fn no_features(name: &str) -> Error {
    Error::Invalid(format!("{name} has no feature embeddings: cold start needs a feature model (lightfm)"))
}

/// The cold-start protocol: a `fraction` of the users (with [`Side::Users`])
/// or of the items that have interactions is drawn (seed `fit_cfg.seed`)
/// and held out entirely; the model is trained and tested on the rest by
/// [`ranking`] (per-user 8:1:1, early stopping on validation). Then:
/// - cold users: each held-out user's items are the targets, ranked among
///   all items from the user's features alone (nothing to mask);
/// - cold items: the items are new to the model (not in its training id
///   space, never a sampled negative); each user's interactions with them
///   are the targets, ranked among the held-out items only (LightFM's
///   cold-start setting), the items represented from their features alone.
///
/// Needs a model with feature embeddings ([`crate::models::FeatureModel`],
/// `lightfm`) and side features on `data`.
#[allow(clippy::too_many_arguments)]
pub fn cold_start<B: Backend>(
    b: &B,
    family: &dyn Entry<B>,
    config: &serde_json::Value,
    data: &Interactions,
    side: crate::models::refit::Side,
    fraction: f64,
    fit_cfg: &FitConfig,
    opts: &RankingOptions,
    progress: &mut dyn Progress,
) -> Result<ColdStartRun<B>> {
    use crate::models::refit::Side;
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(Error::Invalid(format!("cold start: the held-out fraction must be in (0, 1), got {fraction}")));
    }
    if !family.takes_features() {
        return Err(no_features(family.info().name));
    }
    let features = data.side.clone().ok_or_else(|| {
        Error::Invalid("cold start needs side features (MovieLens 100K's u.user and u.item, or feature files)".into())
    })?;
    let of = |r: usize| match side {
        Side::Users => data.users[r] as usize,
        Side::Items => data.items[r] as usize,
    };
    let n = match side {
        Side::Users => data.n_users(),
        Side::Items => data.n_items(),
    };
    let mut active = vec![false; n];
    (0..data.len()).for_each(|r| active[of(r)] = true);
    let mut pool: Vec<usize> = (0..n).filter(|&i| active[i]).collect();
    pool.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(crate::rng::derive_seed(fit_cfg.seed, 0xc01d)));
    let held_out = ((fraction * pool.len() as f64).round() as usize).clamp(1, pool.len().saturating_sub(1).max(1));
    let mut cold = vec![false; n];
    pool[..held_out].iter().for_each(|&i| cold[i] = true);
    let (warm_rows, cold_rows): (Vec<usize>, Vec<usize>) = (0..data.len()).partition(|&r| !cold[of(r)]);
    let warm_data = match side {
        Side::Users => data.select(&warm_rows),
        Side::Items => data.select(&warm_rows).compact(),
    };
    let split = crate::data::split::per_user_ratio(&warm_data, 0.1, 0.1, fit_cfg.seed);
    let warm = ranking(b, family, config, &warm_data, &split, fit_cfg, opts, progress)?;
    let fm = warm.model.features().ok_or_else(|| no_features(family.info().name))?;
    let side_of = |s: Side| match s {
        Side::Users => &features.users,
        Side::Items => &features.items,
    };
    let table = side_of(side);
    // The held-out ids' features in the model's columns, matched by name.
    let column: Vec<Option<u32>> = table
        .names
        .iter()
        .map(|name| fm.feature_names(side).iter().position(|m| m == name).map(|c| c as u32))
        .collect();
    let ids = match side {
        Side::Users => &data.user_ids,
        Side::Items => &data.item_ids,
    };
    let cold_ids: Vec<u32> = pool[..held_out].iter().map(|&i| i as u32).collect();
    let rows: Vec<Vec<(u32, f32)>> = cold_ids
        .iter()
        .map(|&i| {
            let row = table.row_of(ids.id(i)).unwrap_or_default();
            row.into_iter().filter_map(|(c, v)| column[c as usize].map(|c| (c, v))).collect()
        })
        .collect();
    let reps = fm.represent(b, side, &rows)?;
    let position: std::collections::HashMap<u32, u32> =
        cold_ids.iter().enumerate().map(|(k, &i)| (i, k as u32)).collect();
    let train = warm_data.user_item_csr(&split.train);
    let dot = |user: B::Tensor, item: B::Tensor| crate::models::DotScorer {
        user,
        item,
        kind: "cold start",
        config: serde_json::Value::Null,
    };
    let (targets, model, popular) = match side {
        Side::Users => {
            let trip: Vec<(u32, u32, f32)> =
                cold_rows.iter().map(|&r| (position[&data.users[r]], data.items[r], 1.0)).collect();
            let targets = CsrHost::from_triplets(held_out, data.n_items(), &trip);
            let mut counts = vec![0f32; data.n_items()];
            train.col_idx.iter().for_each(|&i| counts[i as usize] += 1.0);
            let pop = dot(b.full(&[held_out, 1], 1.0), b.tensor(&counts, &[counts.len(), 1])?);
            (targets, dot(reps, fm.vectors(b, Side::Items)), pop)
        }
        Side::Items => {
            // Users by id in the warm model; a user whose every item was held out is not in it.
            let trip: Vec<(u32, u32, f32)> = cold_rows
                .iter()
                .filter_map(|&r| {
                    let u = warm_data.user_ids.get(data.user_ids.id(data.users[r]))?;
                    Some((u, position[&data.items[r]], 1.0))
                })
                .collect();
            let targets = CsrHost::from_triplets(warm_data.n_users(), held_out, &trip);
            // Feature popularity: training interactions per feature, mixed over each cold item's features.
            let mut per_feature = vec![0f32; table.cols()];
            for &i in &train.col_idx {
                let row = table.row_of(warm_data.item_ids.id(i)).unwrap_or_default();
                row.iter().for_each(|&(c, v)| per_feature[c as usize] += v);
            }
            let scores: Vec<f32> = cold_ids
                .iter()
                .map(|&i| {
                    let row = table.row_of(ids.id(i)).unwrap_or_default();
                    let s = 1.0 + row.iter().map(|(_, v)| v.abs()).sum::<f32>();
                    row.iter().map(|&(c, v)| v * per_feature[c as usize]).sum::<f32>() / s
                })
                .collect();
            let pop = dot(b.full(&[warm_data.n_users(), 1], 1.0), b.tensor(&scores, &[held_out, 1])?);
            (targets, dot(fm.vectors(b, Side::Users), reps), pop)
        }
    };
    let nothing = CsrHost::from_triplets(targets.rows, targets.cols, &[]);
    let eval = RankingEval::new(b, &targets, &nothing, &opts.ks, EVAL_USERS)?;
    let cold = eval.evaluate(b, &model)?;
    let popular = eval.evaluate(b, &popular)?;
    let draw = crate::rng::Stream::new(crate::rng::derive_seed(fit_cfg.seed, 0x7a4d));
    let noise: Vec<f32> = (0..targets.cols as u32).map(|i| draw.f32(i)).collect();
    let random = dot(b.full(&[targets.rows, 1], 1.0), b.tensor(&noise, &[targets.cols, 1])?);
    let random = eval.evaluate(b, &random)?;
    let users = (0..targets.rows).filter(|&u| !targets.row(u).is_empty()).count();
    Ok(ColdStartRun { warm, cold, popular, random, held_out, users })
}
