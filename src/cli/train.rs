//! `gpurec train`: any registered family, on the embedded synthetic data,
//! a data file or pre-split files, under the protocol its task asks for
//! (ranking: a train/valid/test split with early stopping and full-ranking
//! test metrics; rating: Surprise's 5-fold cross-validation, or a given
//! split), then sample recommendations and, with `-o`, a model file.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use gpurec::data::filter::Duplicates;
use gpurec::data::spec::Filters;
use gpurec::data::Interactions;
use gpurec::device::OnBackend;
use gpurec::models::contract::{Info, Model, Task};
use gpurec::models::registry::{self, Entry, Overrides};
use gpurec::protocol;
use gpurec::train::{FitConfig, Silent};
use gpurec::{Backend, Gpu};

use super::input::{self, DataArgs, Input, SplitChoice};
use super::output::{print_table, Bars};
use super::{model_help, DeviceChoice};

/// `gpurec train`.
#[derive(Args, Clone)]
pub struct TrainArgs {
    /// Model to train (default bpr; `--help` lists them).
    #[arg(long, default_value = "bpr", long_help = model_help())]
    pub model: String,
    /// Data: "synthetic" (embedded, default; "synthetic:users=N,items=M,seed=S" or
    /// "synthetic:interactions=1M" sizes it), a MovieLens 100K folder, or an interaction file
    /// (.inter: RecBole atomic file; .dat: MovieLens 1M/10M; .csv: MovieLens latest; else tab-separated u.data layout).
    #[arg(long, default_value = "synthetic")]
    pub data: String,
    /// Pre-split training file (with --test, and optionally --valid); same formats as --data, plus
    /// RecBole's sequential .inter files (item_id_list and item_id columns).
    #[arg(long, requires = "test", conflicts_with = "split")]
    pub train: Option<PathBuf>,
    /// Pre-split validation file (early stopping).
    #[arg(long, requires = "train")]
    pub valid: Option<PathBuf>,
    /// Pre-split test file.
    #[arg(long, requires = "train")]
    pub test: Option<PathBuf>,
    /// How --data is split (ranking models default to ratio, next-item models to loo; rating
    /// models default to 5-fold cross-validation, and use this split when it is given).
    #[arg(long, value_enum)]
    pub split: Option<SplitChoice>,
    /// Rank the items a user already interacted with too (RecBole's sequential evaluation does);
    /// by default they are masked, since on data like MovieLens nobody interacts with an item twice.
    #[arg(long)]
    pub keep_seen: bool,
    /// Folds of the cross-validation rating models run without --split or pre-split files (Surprise's k-fold).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(2..))]
    pub folds: u64,
    /// Where to run (env GPUREC_DEVICE).
    #[arg(long, value_enum, env = "GPUREC_DEVICE", default_value = "auto")]
    pub device: DeviceChoice,
    /// Maximum epochs (default per model: with early stopping 300, mf 50; without, the model's fixed count).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Early-stopping patience in epochs on validation NDCG@10 (rating models: RMSE); 0 never
    /// stops early (default per model: 10; mf 2).
    #[arg(long)]
    pub patience: Option<usize>,
    /// Embedding size (default per model: 64; mf 32 factors).
    #[arg(long)]
    pub dim: Option<usize>,
    /// Learning rate (default per model: 1e-3 for bpr and neumf, 2e-3 for lightgcn, 0.01 for mf).
    #[arg(long)]
    pub lr: Option<f32>,
    /// Batch size, in the model's unit (default per model: 2048 triples; neumf 1024 positives,
    /// each with one sampled negative; mf 4096 ratings).
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Any other configuration key of the model, as KEY=VALUE (repeatable), e.g. --set layers=3.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Seed of initialisation, split and sampling.
    #[arg(long, default_value_t = 2024)]
    pub seed: u64,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Save the trained model to this file.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Draw the training loss and the validation metric per epoch to this SVG file (one training
    /// run: not with k-fold cross-validation, nor for a closed-form model).
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// User features for feature-aware models (lightfm): a CSV `user_id,<column>,…`, each cell a
    /// category (`a|b` for several), in place of the data's own (ML-100K's u.user).
    #[arg(long, value_name = "FILE.csv")]
    pub user_features: Option<PathBuf>,
    /// Item features: a CSV `item_id,<column>,…` as --user-features (ML-100K: u.item's genres).
    #[arg(long, value_name = "FILE.csv")]
    pub item_features: Option<PathBuf>,
    /// The cold-start protocol instead of the usual split: hold out a fraction (--cold-fraction) of
    /// the users, or of the items, entirely; train on the rest; rank for the held-out ones from
    /// their features alone, against most popular and a random order (lightfm).
    #[arg(long, value_enum, conflicts_with_all = ["train", "split", "output", "plot"])]
    pub cold_start: Option<ColdSide>,
    /// The fraction --cold-start holds out.
    #[arg(long, default_value_t = 0.1, requires = "cold_start")]
    pub cold_fraction: f64,
    /// Keep only ratings at or above this value (implicit feedback); default: every rating counts.
    #[arg(long)]
    pub threshold: Option<f32>,
    /// Drop users with fewer interactions (iterated with --min-item until stable).
    #[arg(long, default_value_t = 0)]
    pub min_user: usize,
    /// Drop items with fewer interactions.
    #[arg(long, default_value_t = 0)]
    pub min_item: usize,
    /// Repeated (user, item) rows: keep the first of each (default), the last, or keep them all
    /// (a repeat split into training and test is masked there as seen and can never be hit).
    #[arg(long, value_enum, default_value_t = DupArg::First)]
    pub duplicates: DupArg,
}

/// `--cold-start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColdSide {
    /// Hold out users.
    Users,
    /// Hold out items.
    Items,
}

/// `--duplicates`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum DupArg {
    /// The first row of each (user, item), in file order.
    #[default]
    First,
    /// The last row of each (user, item).
    Last,
    /// Every row.
    Keep,
}

impl From<DupArg> for Duplicates {
    fn from(d: DupArg) -> Self {
        match d {
            DupArg::First => Duplicates::First,
            DupArg::Last => Duplicates::Last,
            DupArg::Keep => Duplicates::Keep,
        }
    }
}

impl Default for TrainArgs {
    fn default() -> Self {
        Self {
            model: "bpr".into(),
            data: "synthetic".into(),
            train: None,
            valid: None,
            test: None,
            split: None,
            keep_seen: false,
            folds: 5,
            device: DeviceChoice::from_env(),
            epochs: None,
            patience: None,
            dim: None,
            lr: None,
            batch_size: None,
            set: Vec::new(),
            seed: 2024,
            json: false,
            output: None,
            plot: None,
            user_features: None,
            item_features: None,
            cold_start: None,
            cold_fraction: 0.1,
            threshold: None,
            min_user: 0,
            min_item: 0,
            duplicates: DupArg::First,
        }
    }
}

impl TrainArgs {
    fn overrides(&self) -> Result<Overrides> {
        Ok(Overrides { dim: self.dim, lr: self.lr, set: Overrides::parse_sets(&self.set)? })
    }

    /// The loop settings: flags, else the family's schedule.
    fn fit_config(&self, info: &Info) -> FitConfig {
        let s = info.schedule;
        let patience = self.patience.unwrap_or(s.patience);
        FitConfig {
            epochs: self.epochs.unwrap_or(if patience > 0 { s.epochs } else { s.fixed_epochs }),
            batch_size: self.batch_size.unwrap_or(s.batch_size),
            patience,
            metric: match info.task {
                Task::Ranking => ("ndcg".into(), 10),
                Task::Rating => ("rmse".into(), 0),
            },
            seed: self.seed,
        }
    }

    fn data_args(&self) -> DataArgs<'_> {
        DataArgs {
            data: &self.data,
            train: self.train.as_deref(),
            valid: self.valid.as_deref(),
            test: self.test.as_deref(),
            filters: Filters {
                threshold: self.threshold,
                min_user: self.min_user,
                min_item: self.min_item,
                duplicates: self.duplicates.into(),
            },
        }
    }
}

pub fn train(args: &TrainArgs) -> Result<()> {
    // The model and its configuration are checked before any data is read.
    let info = registry::info(&args.model)?;
    if args.plot.is_some() {
        if info.batch == gpurec::models::BatchKind::ClosedForm {
            anyhow::bail!("--plot: {} is fitted in closed form; it has no training curve", info.name);
        }
        if info.task == Task::Rating && args.split.is_none() && args.train.is_none() {
            anyhow::bail!(
                "--plot draws one training run: with a rating model give --split (or pre-split files), not k-fold CV"
            );
        }
    }
    // The output is ours for the whole run: a second training to the same
    // file stops here rather than silently replacing this one's result.
    let _output = args.output.as_deref().map(gpurec::model_file::SaveLock::try_acquire).transpose()?;
    let (backend, why) = args.device.device().choose()?;
    backend.run(TrainJob { args, why })
}

struct TrainJob<'a> {
    args: &'a TrainArgs,
    why: String,
}

impl OnBackend for TrainJob<'_> {
    type Out = Result<()>;

    fn run<B: Backend>(self, b: &B, _: Option<&Gpu>) -> Result<()> {
        let args = self.args;
        let family = registry::entry::<B>(&args.model)?;
        let config = family.config(&args.overrides()?)?;
        let fit = args.fit_config(family.info());
        if fit.batch_size == 0 {
            anyhow::bail!("--batch-size must be at least 1");
        }
        let mut input = input::load(&args.data_args())?;
        with_feature_files(&mut input.data, args)?;
        if !args.json {
            println!("data:    {}: {}", input.source, input.data.summary());
            if let Some(side) = &input.data.side {
                let n = |t: &gpurec::data::side::FeatureTable, ids: &gpurec::data::IdMap| {
                    (0..ids.len() as u32).filter(|&i| t.ids.get(ids.id(i)).is_some()).count()
                };
                println!(
                    "         features: {} user columns ({} of {} users), {} item columns ({} of {} items)",
                    side.users.cols(),
                    n(&side.users, &input.data.user_ids),
                    input.data.n_users(),
                    side.items.cols(),
                    n(&side.items, &input.data.item_ids),
                    input.data.n_items()
                );
            }
            if input.merged > 0 {
                let policy = args.duplicates;
                println!(
                    "         {} repeated (user, item) rows merged, the {} of each kept (--duplicates first|last|keep)",
                    input.merged,
                    if policy == DupArg::Last { "last" } else { "first" }
                );
            }
            println!("device:  {} ({})", b.describe(), self.why);
        }
        if let Some(side) = args.cold_start {
            if family.info().task != Task::Ranking {
                anyhow::bail!("--cold-start ranks items: {} predicts ratings", family.info().name);
            }
            return cold_start(b, family.as_ref(), &config, &fit, &input, side, args);
        }
        match family.info().task {
            Task::Ranking => train_ranking(b, family.as_ref(), &config, &fit, input, args),
            Task::Rating => train_rating(b, family.as_ref(), &config, &fit, input, args),
        }
    }
}

/// `--user-features` / `--item-features`: the files' tables replace the data's own for that side.
fn with_feature_files(data: &mut Interactions, args: &TrainArgs) -> Result<()> {
    use gpurec::data::side::{load_feature_csv, FeatureTable, SideFeatures};
    if args.user_features.is_none() && args.item_features.is_none() {
        return Ok(());
    }
    let old = data.side.as_deref().cloned();
    let (users, items) = old.map_or((FeatureTable::empty(), FeatureTable::empty()), |s| (s.users, s.items));
    let users = match &args.user_features {
        Some(p) => load_feature_csv(p)?,
        None => users,
    };
    let items = match &args.item_features {
        Some(p) => load_feature_csv(p)?,
        None => items,
    };
    data.side = Some(std::sync::Arc::new(SideFeatures { users, items }));
    Ok(())
}

/// `--cold-start`: [`protocol::cold_start`], and a table of the held-out
/// users' (items') metrics beside most popular's and a random order's.
fn cold_start<B: Backend>(
    b: &B,
    family: &dyn Entry<B>,
    config: &serde_json::Value,
    fit: &FitConfig,
    input: &Input,
    side: ColdSide,
    args: &TrainArgs,
) -> Result<()> {
    use gpurec::models::refit::Side;
    let side = match side {
        ColdSide::Users => Side::Users,
        ColdSide::Items => Side::Items,
    };
    let what = if side == Side::Users { "users" } else { "items" };
    if !args.json {
        println!(
            "split:   cold start: {:.0} % of the {what} held out entirely (seed {}); the rest per-user 8:1:1",
            100.0 * args.cold_fraction,
            args.seed
        );
        println!("{}", model_line(family.info(), config, fit));
    }
    let mut bars = Bars::new(fit.epochs, args.json, fit.metric.clone());
    let opts = protocol::RankingOptions { mask_seen: !args.keep_seen, ..Default::default() };
    let run = protocol::cold_start(b, family, config, &input.data, side, args.cold_fraction, fit, &opts, &mut bars)?;
    bars.bar.finish_and_clear();
    let candidates = if side == Side::Users { "all items" } else { "the held-out items" };
    if args.json {
        let out = serde_json::json!({
            "model": family.info().name, "data": input.source, "device": b.describe(),
            "cold_start": what, "fraction": args.cold_fraction, "held_out": run.held_out,
            "users_scored": run.users, "candidates": candidates,
            "cold": run.cold, "most_popular": run.popular, "random": run.random,
            "warm_test": run.warm.test, "best_epoch": run.warm.summary.best_epoch,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "trained {} epochs on the warm part in {:.1}s; best validation NDCG@10 {} at epoch {}",
        run.warm.summary.epochs.len(),
        run.warm.train_seconds,
        run.warm.summary.best_valid.map(|v| format!("{v:.4}")).unwrap_or("-".into()),
        run.warm.summary.best_epoch
    );
    println!("warm test:");
    print_table(&run.warm.test, run.warm.test_seconds);
    let popular = if side == Side::Users { "most popular" } else { "feature popularity" };
    println!(
        "
cold {what}: {} held out, {} users scored, ranked among {candidates} from features alone",
        run.held_out, run.users
    );
    println!("  {:<10} {:>10} {:>18} {:>10}", "metric@10", family.info().name, popular, "random");
    for name in ["ndcg", "recall", "hit", "mrr"] {
        let get = |m: &gpurec::eval::RankingMetrics| m.get(name, 10).map(|v| format!("{v:.4}")).unwrap_or("-".into());
        println!("  {:<10} {:>10} {:>18} {:>10}", name, get(&run.cold), get(&run.popular), get(&run.random));
    }
    Ok(())
}

/// `--plot`: the run's curves, written atomically (a temporary file renamed over the target).
fn plot(args: &TrainArgs, info: &Info, summary: &gpurec::train::FitSummary, fit: &FitConfig) -> Result<()> {
    let Some(path) = &args.plot else { return Ok(()) };
    let tmp = path.with_extension("svg.tmp");
    let title = format!("{} on {}", info.name, args.data);
    super::plot::curves(&tmp, &title, summary, (&fit.metric.0, fit.metric.1))?;
    std::fs::rename(&tmp, path).map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    if !args.json {
        println!("plotted {}", path.display());
    }
    Ok(())
}

fn model_line(info: &Info, config: &serde_json::Value, fit: &FitConfig) -> String {
    let batch = match info.batch {
        gpurec::models::BatchKind::ClosedForm => "closed form".to_string(),
        _ => format!("batch {} {}", fit.batch_size, info.schedule.batch_unit),
    };
    format!("model:   {} {}, {batch}", info.name, short_json(config))
}

/// `config` as compact JSON with its numbers at f32 precision (the
/// configurations hold f32s: `0.001`, not `0.0010000000474974513`).
fn short_json(config: &serde_json::Value) -> String {
    match config {
        serde_json::Value::Object(m) => {
            let fields: Vec<String> = m.iter().map(|(k, v)| format!("{k}: {}", short_json(v))).collect();
            format!("{{{}}}", fields.join(", "))
        }
        serde_json::Value::Array(a) => format!("[{}]", a.iter().map(short_json).collect::<Vec<_>>().join(", ")),
        serde_json::Value::Number(n) if n.is_f64() => format!("{}", n.as_f64().unwrap_or(f64::NAN) as f32),
        v => v.to_string(),
    }
}

fn train_ranking<B: Backend>(
    b: &B,
    family: &dyn Entry<B>,
    config: &serde_json::Value,
    fit: &FitConfig,
    input: Input,
    args: &TrainArgs,
) -> Result<()> {
    let info = family.info();
    let sequential = info.batch == gpurec::models::BatchKind::Sequences;
    let choice = args.split.unwrap_or(if sequential { SplitChoice::Loo } else { SplitChoice::Ratio });
    let (split, split_name) = match &input.presplit {
        Some(s) => (s.clone(), "the given train / valid / test files".to_string()),
        None => (choice.apply(&input.data, args.seed)?, choice.describe(args.seed)),
    };
    if !args.json {
        let seen = if args.keep_seen { "seen items ranked too (--keep-seen)" } else { "seen items masked" };
        println!("split:   {split_name}; full ranking over all items, {seen}");
        println!("{}", model_line(info, config, fit));
    }
    let mut bars = Bars::new(fit.epochs, args.json, fit.metric.clone());
    let opts = protocol::RankingOptions { mask_seen: !args.keep_seen, ..Default::default() };
    let run = protocol::ranking(b, family, config, &input.data, &split, fit, &opts, &mut bars)?;
    bars.bar.finish_and_clear();
    let epochs = run.summary.epochs.len();
    let sec_per_epoch = run.summary.epochs.iter().map(|e| e.train_seconds).sum::<f64>() / epochs.max(1) as f64;
    if args.json {
        let out = serde_json::json!({
            "model": info.name,
            "config": config,
            "data": input.source,
            "device": b.describe(),
            "split": split_name,
            "seen_masked": opts.mask_seen,
            "epochs": epochs,
            "best_epoch": run.summary.best_epoch,
            "best_valid_ndcg@10": run.summary.best_valid,
            "train_seconds": run.train_seconds,
            "seconds_per_epoch": sec_per_epoch,
            "test_eval_seconds": run.test_seconds,
            "test": run.test,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        if epochs == 0 {
            println!(
                "fitted in closed form in {:.2}s (validation included); validation NDCG@10 {}",
                run.train_seconds,
                run.summary.best_valid.map(|v| format!("{v:.4}")).unwrap_or("-".into())
            );
        } else {
            println!(
                "trained {epochs} epochs in {:.1}s ({sec_per_epoch:.3}s/epoch); best validation NDCG@10 {} at epoch {}",
                run.train_seconds,
                run.summary.best_valid.map(|v| format!("{v:.4}")).unwrap_or("-".into()),
                run.summary.best_epoch
            );
        }
        print_table(&run.test, run.test_seconds);
    }
    print_samples(b, run.model.as_ref(), &input.data, input.names.as_deref(), args)?;
    plot(args, info, &run.summary, fit)?;
    if let Some(path) = &args.output {
        let mut record = input.record.clone();
        if input.presplit.is_none() {
            record["split"] = choice.name().into();
            record["split_seed"] = args.seed.into();
        }
        record["seen_masked"] = opts.mask_seen.into();
        registry::to_file(b, run.model.as_ref(), record, &input.data.user_ids, &input.data.item_ids)?.save(path)?;
        if !args.json {
            println!("\nsaved {}", path.display());
        }
    }
    Ok(())
}

/// A rating model: Surprise's k-fold cross-validation (5 by default), or with pre-split
/// files or `--split` one train / valid / test split. With `-o`, the saved
/// model is the split's (or, after cross-validation, one fitted on every
/// rating for the folds' mean best epoch count).
fn train_rating<B: Backend>(
    b: &B,
    family: &dyn Entry<B>,
    config: &serde_json::Value,
    fit: &FitConfig,
    input: Input,
    args: &TrainArgs,
) -> Result<()> {
    let info = family.info();
    let data = &input.data;
    if data.is_empty() {
        anyhow::bail!("{}: no ratings to fit", input.source);
    }
    let (lo, hi) = data.rating_range();
    let holdout = match (&input.presplit, args.split) {
        (Some(s), _) => Some((s.clone(), "the given train / valid / test files".to_string())),
        (None, Some(c)) => Some((c.apply(data, args.seed)?, c.describe(args.seed))),
        (None, None) => None,
    };
    if !args.json {
        println!("{}", model_line(info, config, fit));
        match &holdout {
            Some((_, name)) => println!("protocol: {name}, predictions clipped to [{lo}, {hi}]"),
            None => println!(
                "protocol: {}-fold random CV (seed {}), predictions clipped to [{lo}, {hi}]",
                args.folds, args.seed
            ),
        }
        if fit.patience > 0 {
            let on = if holdout.is_some() { "the validation part" } else { "a tenth of each training fold" };
            println!(
                "         early stopping on validation RMSE ({on}), patience {}, at most {} epochs",
                fit.patience, fit.epochs
            );
        } else {
            println!("         {} epochs on the whole training part", fit.epochs);
        }
    }
    if let Some((split, _)) = holdout {
        let t0 = Instant::now();
        let (model, summary, m) = protocol::rating_holdout(b, family, config, data, &split, fit)?;
        let secs = t0.elapsed().as_secs_f64();
        if args.json {
            let out = serde_json::json!({
                "model": info.name, "config": config, "data": input.source, "device": b.describe(),
                "protocol": "holdout", "early_stopping_patience": fit.patience,
                "rmse": m.rmse, "mae": m.mae, "best_epoch": summary.best_epoch, "seconds": secs,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        } else {
            println!("test RMSE {:.4}  MAE {:.4}  over {} ratings ({secs:.2}s)", m.rmse, m.mae, m.count);
        }
        print_samples(b, model.as_ref(), data, input.names.as_deref(), args)?;
        plot(args, info, &summary, fit)?;
        if let Some(path) = &args.output {
            let mut record = input.record.clone();
            record["rating_scale"] = serde_json::json!([lo, hi]);
            if input.presplit.is_none() {
                record["split"] = args.split.map(|c| c.name()).into();
                record["split_seed"] = args.seed.into();
            }
            registry::to_file(b, model.as_ref(), record, &data.user_ids, &data.item_ids)?.save(path)?;
            if !args.json {
                println!("\nsaved {}", path.display());
            }
        }
        return Ok(());
    }

    let t0 = Instant::now();
    let folds = protocol::rating_cv(b, family, config, data, args.folds as usize, fit)?;
    let secs = t0.elapsed().as_secs_f64();
    let rmse = folds.iter().map(|f| f.test.rmse).sum::<f64>() / folds.len() as f64;
    let mae = folds.iter().map(|f| f.test.mae).sum::<f64>() / folds.len() as f64;
    if args.json {
        let out = serde_json::json!({
            "model": info.name, "config": config, "data": input.source, "device": b.describe(),
            "protocol": format!("{}-fold random CV", args.folds),
            "early_stopping_patience": fit.patience,
            "rmse": rmse, "mae": mae,
            "folds": folds.iter().map(|f| serde_json::json!({"rmse": f.test.rmse, "mae": f.test.mae, "best_epoch": f.best_epoch})).collect::<Vec<_>>(),
            "seconds": secs,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for (k, f) in folds.iter().enumerate() {
            let stop = match f.best_valid_rmse {
                Some(v) => format!("  (best validation RMSE {v:.4} at epoch {} of {})", f.best_epoch, f.epochs),
                None => String::new(),
            };
            println!("  fold {}: RMSE {:.4}  MAE {:.4}{stop}", k + 1, f.test.rmse, f.test.mae);
        }
        println!("mean RMSE {rmse:.4}  MAE {mae:.4}  ({secs:.2}s for all {} folds, train + test)", folds.len());
    }
    if let Some(path) = &args.output {
        let best: Vec<usize> = folds.iter().map(|f| f.best_epoch.max(1)).collect();
        let final_epochs = (best.iter().sum::<usize>() as f64 / best.len() as f64).round().max(1.0) as usize;
        let all = gpurec::models::TrainSet::all(data);
        let mut model = family.build(b, &all, config, args.seed)?;
        let cfg = FitConfig { epochs: final_epochs, patience: 0, ..fit.clone() };
        gpurec::train::fit(b, model.as_mut(), &all, None, &cfg, &mut Silent)?;
        let mut record = input.record.clone();
        record["trained_on"] = "all ratings".into();
        record["epochs"] = final_epochs.into();
        record["rating_scale"] = serde_json::json!([lo, hi]);
        record["cv_rmse"] = rmse.into();
        record["cv_mae"] = mae.into();
        registry::to_file(b, model.as_ref(), record, &data.user_ids, &data.item_ids)?.save(path)?;
        if !args.json {
            println!("\nfitted on all {} ratings for {final_epochs} epochs; saved {}", data.len(), path.display());
        }
    }
    Ok(())
}

/// After training: the top 5 of the first three users, everything they
/// interacted with excluded, so a first run ends with recommendations.
fn print_samples<B: Backend>(
    b: &B,
    model: &dyn Model<B>,
    data: &Interactions,
    names: Option<&[String]>,
    args: &TrainArgs,
) -> Result<()> {
    if args.json || data.n_users() == 0 {
        return Ok(());
    }
    let users: Vec<u32> = (0..data.n_users().min(3) as u32).collect();
    let seen: Vec<(u32, u32, f32)> =
        (0..data.len()).filter(|&r| data.users[r] < 3).map(|r| (data.users[r], data.items[r], 1.0)).collect();
    println!("\nrecommendations (top 5, items the user interacted with excluded):");
    for (u, top) in users.iter().zip(gpurec::eval::top_k_unseen(b, model, &users, &seen, data.n_items(), 5)?) {
        let label = |i: u32| match names.map(|n| n[i as usize].as_str()).filter(|n| !n.is_empty()) {
            Some(name) => format!("{} {name}", data.item_ids.id(i)),
            None => data.item_ids.id(i).to_string(),
        };
        let items: Vec<String> = top.iter().map(|&(i, s)| format!("{} ({s:.3})", label(i))).collect();
        println!("  user {}: {}", data.user_ids.id(*u), items.join(", "));
    }
    if args.output.is_none() {
        println!(
            "(the model was not saved: add -o model.gpurec, then `gpurec recommend --model model.gpurec --user ID`)"
        );
    }
    Ok(())
}
