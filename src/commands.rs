//! What each `gpurec` subcommand does.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use gpurec::data::movielens::{self, CsvFormat};
use gpurec::data::split::per_user_ratio;
use gpurec::data::synthetic::{generate, SyntheticConfig};
use gpurec::data::Interactions;
use gpurec::eval::Scorer;
use gpurec::eval::{RankingEval, RankingMetrics};
use gpurec::model_file::ModelFile;
use gpurec::models::{BprConfig, BprMf, LightGcn, LightGcnConfig, Loaded, NeuMf, NeuMfConfig, SERVABLE_KINDS};
use gpurec::train::{fit_pairwise, EpochReport, FitConfig, PairwiseModel, Progress};
use gpurec::{Backend, Cpu, Gpu};

/// Where to run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum DeviceChoice {
    /// The best GPU adapter, else the CPU backend (with a note).
    #[default]
    Auto,
    /// A GPU adapter (software ones such as lavapipe count); fail if none.
    Gpu,
    /// The ndarray CPU backend.
    Cpu,
}

/// `gpurec info`.
#[derive(Args, Default)]
pub struct InfoArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// `gpurec train`.
#[derive(Args, Clone)]
pub struct TrainArgs {
    /// Model to train: bpr (BPR-MF), lightgcn or neumf (top-K, per-user 8:1:1 split),
    /// or mf (biased MF on ratings, 5-fold cross-validated RMSE/MAE).
    #[arg(long, default_value = "bpr")]
    model: String,
    /// Data: "synthetic" (embedded, default), a MovieLens 100K folder, or an interaction file
    /// (.inter: RecBole atomic file; .dat: MovieLens 1M/10M; .csv: MovieLens latest; else tab-separated u.data layout).
    #[arg(long, default_value = "synthetic")]
    data: String,
    /// Where to run (env GPUREC_DEVICE).
    #[arg(long, value_enum, env = "GPUREC_DEVICE", default_value = "auto")]
    device: DeviceChoice,
    /// Maximum epochs (default 300; mf: 50, or 7 with --patience 0).
    #[arg(long)]
    epochs: Option<usize>,
    /// Early-stopping patience in epochs, on validation NDCG@10 (mf: RMSE); 0 never stops early
    /// (default 10; mf: 2).
    #[arg(long)]
    patience: Option<usize>,
    /// Embedding size (default 64; mf: 32 factors).
    #[arg(long)]
    dim: Option<usize>,
    /// Learning rate (Adam); default per model: 1e-3 for bpr and neumf, 2e-3 for lightgcn, 0.01 for mf.
    #[arg(long)]
    lr: Option<f32>,
    /// Training triples per step (default 2048; mf: 4096 ratings).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Seed of initialisation, split and sampling.
    #[arg(long, default_value_t = 2024)]
    seed: u64,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    /// Save the trained model to this file.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Keep only ratings at or above this value (implicit feedback); default: every rating counts.
    #[arg(long)]
    threshold: Option<f32>,
    /// Drop users with fewer interactions (iterated with --min-item until stable).
    #[arg(long, default_value_t = 0)]
    min_user: usize,
    /// Drop items with fewer interactions.
    #[arg(long, default_value_t = 0)]
    min_item: usize,
}

impl Default for TrainArgs {
    fn default() -> Self {
        Self {
            model: "bpr".into(),
            data: "synthetic".into(),
            device: std::env::var("GPUREC_DEVICE")
                .ok()
                .and_then(|v| DeviceChoice::from_str(&v, true).ok())
                .unwrap_or_default(),
            epochs: None,
            patience: None,
            dim: None,
            lr: None,
            batch_size: None,
            seed: 2024,
            json: false,
            output: None,
            threshold: None,
            min_user: 0,
            min_item: 0,
        }
    }
}

/// `train`'s sizes once the model's defaults fill in the flags not given.
#[derive(Clone, Copy)]
struct Schedule {
    dim: usize,
    epochs: usize,
    patience: usize,
    batch_size: usize,
}

impl TrainArgs {
    /// Ranking models: up to 300 epochs of 2048 triples, patience 10, dim 64.
    /// MF (tuned on validation slices of ML-100K's training folds): 32
    /// factors, 4096 ratings per step, patience 2 and up to 50 epochs, or 7
    /// epochs without early stopping.
    fn schedule(&self) -> Schedule {
        if self.model == "mf" {
            let patience = self.patience.unwrap_or(2);
            Schedule {
                dim: self.dim.unwrap_or(gpurec::models::MfConfig::default().dim),
                epochs: self.epochs.unwrap_or(if patience > 0 { 50 } else { 7 }),
                patience,
                batch_size: self.batch_size.unwrap_or(4096),
            }
        } else {
            Schedule {
                dim: self.dim.unwrap_or(64),
                epochs: self.epochs.unwrap_or(300),
                patience: self.patience.unwrap_or(10),
                batch_size: self.batch_size.unwrap_or(2048),
            }
        }
    }

    fn fit_config(&self, s: &Schedule) -> FitConfig {
        FitConfig {
            epochs: s.epochs,
            batch_size: s.batch_size,
            patience: s.patience,
            seed: self.seed,
            ..Default::default()
        }
    }
}

pub fn info(args: &InfoArgs) -> Result<()> {
    let adapters = gpurec::gpu::list_adapters();
    let chosen = Gpu::new();
    if args.json {
        let chosen_json = match &chosen {
            Ok(g) => serde_json::json!({
                "adapter": gpurec::gpu::AdapterSummary::of_gpu(g),
                "limits": {
                    "max_buffer_size": g.limits().max_buffer_size,
                    "max_storage_buffer_binding_size": g.limits().max_storage_buffer_binding_size,
                    "max_compute_workgroup_storage_size": g.limits().max_compute_workgroup_storage_size,
                    "max_compute_invocations_per_workgroup": g.limits().max_compute_invocations_per_workgroup,
                    "max_compute_workgroups_per_dimension": g.limits().max_compute_workgroups_per_dimension,
                    "max_storage_buffers_per_shader_stage": g.limits().max_storage_buffers_per_shader_stage,
                    "min_subgroup_size": g.adapter_info().subgroup_min_size,
                    "max_subgroup_size": g.adapter_info().subgroup_max_size,
                },
                "features": g.features(),
                "software": g.is_software(),
            }),
            Err(e) => serde_json::json!({ "error": e.to_string() }),
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "adapters": adapters, "chosen": chosen_json }))?
        );
        return Ok(());
    }
    println!("adapters found ({}), best first:", adapters.len());
    for a in &adapters {
        println!("  {} — {} / {} — {}", a.name, a.backend, a.device_type, a.driver);
    }
    match chosen {
        Ok(g) => {
            let i = g.adapter_info();
            let l = g.limits();
            println!("\nchosen: {} ({:?}, {:?})", i.name, i.backend, i.device_type);
            if g.is_software() {
                println!("  software rasterizer: correct, but its timings say nothing about GPU speed");
            }
            println!("  max buffer size:            {}", bytes(l.max_buffer_size));
            println!("  max storage binding:        {}", bytes(l.max_storage_buffer_binding_size));
            println!("  workgroup memory:           {}", bytes(l.max_compute_workgroup_storage_size as u64));
            println!("  invocations per workgroup:  {}", l.max_compute_invocations_per_workgroup);
            println!("  workgroups per dimension:   {}", l.max_compute_workgroups_per_dimension);
            println!("  storage buffers per stage:  {}", l.max_storage_buffers_per_shader_stage);
            println!("  subgroup size:              {}..{}", i.subgroup_min_size, i.subgroup_max_size);
            let f = g.features();
            println!(
                "  optional features:          timestamp_query={} subgroups={} shader_f16={}",
                f.timestamp_query, f.subgroups, f.shader_f16
            );
        }
        Err(e) => println!("\nno GPU context: {e}\n  gpurec can still run with --device cpu"),
    }
    Ok(())
}

fn bytes(b: u64) -> String {
    if b >= 1 << 30 {
        format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64)
    } else if b >= 1 << 20 {
        format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.1} KiB", b as f64 / 1024.0)
    }
}

/// Applies the implicit threshold and the minimum-interaction filters.
fn prepare(mut data: Interactions, threshold: Option<f32>, min_user: usize, min_item: usize) -> Interactions {
    if threshold.is_some() {
        data = data.implicit(threshold);
    }
    if min_user > 0 || min_item > 0 {
        data = data.filter_min_interactions(min_user, min_item);
    }
    data
}

/// The data a model file was trained on, prepared the same way.
fn data_for(file: &ModelFile, over: &Option<String>) -> Result<(Interactions, String)> {
    let (data, source) = load_data(&data_of(file, over)?)?;
    let threshold = file.info.get("threshold").and_then(|v| v.as_f64()).map(|v| v as f32);
    let num = |k: &str| file.info.get(k).and_then(|v| v.as_u64()).unwrap_or(0) as usize;
    Ok((prepare(data, threshold, num("min_user"), num("min_item")), source))
}

fn load_data(spec: &str) -> Result<(Interactions, String)> {
    if spec == "synthetic" {
        let cfg = SyntheticConfig::default();
        return Ok((generate(&cfg), format!("embedded synthetic dataset (seed {})", cfg.seed)));
    }
    let path = PathBuf::from(spec);
    let data = if path.is_dir() {
        if !path.join("u.data").is_file() {
            bail!("{} is a folder without u.data (MovieLens 100K)", path.display());
        }
        movielens::load_ml100k(&path)?
    } else {
        match path.extension().and_then(|e| e.to_str()) {
            Some("inter") => movielens::load_inter(&path)?,
            Some("dat") => movielens::load_delimited(&path, &CsvFormat::ml_dat())?,
            Some("csv") => movielens::load_delimited(&path, &CsvFormat::ml_latest_csv())?,
            _ => movielens::load_delimited(&path, &CsvFormat::ml100k())?,
        }
    };
    Ok((data, path.display().to_string()))
}

struct Bars {
    bar: ProgressBar,
    quiet: bool,
}

impl Progress for Bars {
    fn on_step(&mut self, _epoch: usize, _step: usize, _steps: usize) {
        self.bar.tick();
    }
    fn on_epoch(&mut self, r: &EpochReport) {
        self.bar.set_position(r.epoch as u64);
        let ndcg = r.valid.as_ref().and_then(|m| m.get("ndcg", 10)).map(|v| format!("{v:.4}")).unwrap_or("-".into());
        self.bar.set_message(format!(
            "loss {:.4} | valid ndcg@10 {ndcg}{} | {:.0} triples/s",
            r.loss,
            if r.improved { " *" } else { "" },
            r.samples_per_second
        ));
        if !self.quiet && r.epoch.is_multiple_of(10) {
            self.bar.println(format!(
                "epoch {:>4}  loss {:.4}  valid ndcg@10 {ndcg}  train {:.2}s  eval {:.2}s",
                r.epoch, r.loss, r.train_seconds, r.eval_seconds
            ));
        }
    }
}

pub fn train(args: &TrainArgs) -> Result<()> {
    match args.device {
        DeviceChoice::Cpu => train_on(&Cpu, args),
        DeviceChoice::Gpu => train_on(&Gpu::new().context("--device gpu")?, args),
        DeviceChoice::Auto => match Gpu::new() {
            Ok(g) => train_on(&g, args),
            Err(e) => {
                eprintln!("note: no GPU adapter ({e}); training on the CPU backend");
                train_on(&Cpu, args)
            }
        },
    }
}

fn train_on<B: Backend>(b: &B, args: &TrainArgs) -> Result<()> {
    let (data, source) = load_data(&args.data)?;
    let data = prepare(data, args.threshold, args.min_user, args.min_item);
    if args.model == "mf" {
        return cross_validate_mf(b, &data, &source, args);
    }
    if !args.json {
        println!("data:    {source}: {}", data.summary());
        println!("device:  {}", b.describe());
        println!("split:   per-user random 8:1:1 (seed {}); full ranking over all items, seen items masked", args.seed);
    }
    let split = per_user_ratio(&data, 0.1, 0.1, args.seed);
    let train = data.user_item_csr(&split.train);
    let valid = data.user_item_csr(&split.valid);
    let test = data.user_item_csr(&split.test);
    let train_valid = data.user_item_csr(&[split.train.clone(), split.valid.clone()].concat());
    let ks = [10, 20];
    let valid_eval = RankingEval::new(b, &valid, &train, &ks, 1024)?.without_auc();
    let test_eval = RankingEval::new(b, &test, &train_valid, &ks, 1024)?;

    let s = args.schedule();
    let fit = args.fit_config(&s);
    let (scorer, config) = match args.model.as_str() {
        "bpr" => {
            let cfg = BprConfig { dim: s.dim, lr: args.lr.unwrap_or(BprConfig::default().lr), reg: 0.0 };
            if !args.json {
                println!("model:   BPR-MF {cfg:?}, batch {}", s.batch_size);
            }
            let mut model = BprMf::new(b, data.n_users(), data.n_items(), cfg.clone(), args.seed)?;
            run_pairwise(b, &mut model, args, &fit, &source, &train, &valid_eval, &test_eval)?;
            (model.export(), serde_json::to_value(cfg)?)
        }
        "lightgcn" => {
            let cfg = LightGcnConfig {
                dim: s.dim,
                lr: args.lr.unwrap_or(LightGcnConfig::default().lr),
                ..Default::default()
            };
            if !args.json {
                println!("model:   LightGCN {cfg:?}, batch {}", s.batch_size);
            }
            let mut model = LightGcn::new(b, &train, cfg.clone(), args.seed)?;
            run_pairwise(b, &mut model, args, &fit, &source, &train, &valid_eval, &test_eval)?;
            (model.export(b), serde_json::to_value(cfg)?)
        }
        "neumf" => {
            let cfg = NeuMfConfig {
                mf_dim: s.dim,
                mlp_dim: s.dim,
                lr: args.lr.unwrap_or(NeuMfConfig::default().lr),
                ..Default::default()
            };
            if !args.json {
                println!("model:   NeuMF {cfg:?}, {} positives + as many negatives per step", s.batch_size / 2);
            }
            let mut model = NeuMf::new(b, data.n_users(), data.n_items(), cfg, args.seed)?;
            // RecBole counts a pointwise batch in rows: half positives, half negatives.
            let halved = FitConfig { batch_size: (s.batch_size / 2).max(1), ..fit };
            run_pairwise(b, &mut model, args, &halved, &source, &train, &valid_eval, &test_eval)?;
            print_samples(b, &model, &data, args)?;
            if let Some(path) = &args.output {
                model.to_file(b, ranking_info(args), &data.user_ids, &data.item_ids)?.save(path)?;
                if !args.json {
                    println!("\nsaved {}", path.display());
                }
            }
            return Ok(());
        }
        other => bail!("unknown model {other:?}; available: bpr, lightgcn, neumf, mf"),
    };
    print_samples(b, &scorer, &data, args)?;
    if let Some(path) = &args.output {
        scorer.to_file(b, &args.model, config, ranking_info(args), &data.user_ids, &data.item_ids)?.save(path)?;
        if !args.json {
            println!("\nsaved {}", path.display());
        }
    }
    Ok(())
}

/// What a ranking model's file records of its training data, so `eval` and
/// `recommend` can rebuild the split and the seen items.
fn ranking_info(args: &TrainArgs) -> serde_json::Value {
    serde_json::json!({
        "data": args.data,
        "split_seed": args.seed,
        "split": "per_user_ratio 8:1:1",
        "threshold": args.threshold,
        "min_user": args.min_user,
        "min_item": args.min_item,
    })
}

/// Biased MF under Surprise's protocol: seeded 5-fold random cross-validation
/// over all ratings, predictions clipped to the rating scale, RMSE and MAE per
/// fold. With early stopping (the default, patience 2), the last tenth of each
/// fold's shuffled training ratings is held out as validation and the weights
/// with the best validation RMSE are kept; `--patience 0` trains on the whole
/// training fold for a fixed number of epochs (7 unless `--epochs` says).
/// With `--output`, a final model is fitted on every rating for the mean best
/// epoch count of the folds and saved.
fn cross_validate_mf<B: Backend>(b: &B, data: &Interactions, source: &str, args: &TrainArgs) -> Result<()> {
    use gpurec::eval::Ratings;
    use gpurec::models::{BiasedMf, MfConfig};
    if data.is_empty() {
        bail!("{source}: no ratings to fit");
    }
    let (lo, hi) = data.rating_range();
    let Schedule { dim, epochs, patience, batch_size: batch } = args.schedule();
    let cfg = MfConfig { dim, lr: args.lr.unwrap_or(MfConfig::default().lr), ..MfConfig::default() };
    if !args.json {
        println!("data:    {source}: {}", data.summary());
        println!("device:  {}", b.describe());
        println!("model:   biased MF {cfg:?}, batch {batch}");
        println!("protocol: 5-fold random CV (seed {}), predictions clipped to [{lo}, {hi}]", args.seed);
        if patience > 0 {
            println!(
                "         early stopping on validation RMSE (a tenth of each training fold), patience {patience}, at most {epochs} epochs"
            );
        } else {
            println!("         {epochs} epochs on each whole training fold");
        }
    }
    let fit_cfg = |epochs| FitConfig {
        metric: ("rmse".into(), 0),
        ..args.fit_config(&Schedule { dim, epochs, patience, batch_size: batch })
    };
    let t0 = Instant::now();
    let (folds, best_epochs): (Vec<_>, Vec<_>) = mf_folds(b, data, &cfg, &fit_cfg(epochs))?.into_iter().unzip();
    if !args.json {
        for (f, (m, stop)) in folds.iter().zip(&best_epochs).enumerate() {
            let stop = match stop {
                Some((v, best, ran)) => format!("  (best validation RMSE {v:.4} at epoch {best} of {ran})"),
                None => String::new(),
            };
            println!("  fold {}: RMSE {:.4}  MAE {:.4}{stop}", f + 1, m.rmse, m.mae);
        }
    }
    let best_epochs: Vec<usize> = best_epochs.iter().map(|s| s.map_or(epochs, |(_, best, _)| best)).collect();
    let secs = t0.elapsed().as_secs_f64();
    let rmse = folds.iter().map(|m| m.rmse).sum::<f64>() / folds.len() as f64;
    let mae = folds.iter().map(|m| m.mae).sum::<f64>() / folds.len() as f64;
    if args.json {
        let out = serde_json::json!({
            "model": "mf", "data": source, "device": b.describe(), "protocol": "5-fold random CV",
            "early_stopping_patience": patience,
            "rmse": rmse, "mae": mae,
            "folds": folds.iter().zip(&best_epochs).map(|(m, e)| serde_json::json!({"rmse": m.rmse, "mae": m.mae, "best_epoch": e})).collect::<Vec<_>>(),
            "seconds": secs,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("mean RMSE {rmse:.4}  MAE {mae:.4}  ({secs:.2}s for all five folds, train + test)");
    }
    if let Some(path) = &args.output {
        let final_epochs =
            (best_epochs.iter().sum::<usize>() as f64 / best_epochs.len() as f64).round().max(1.0) as usize;
        let all = Ratings::from_rows(data, &(0..data.len()).collect::<Vec<_>>());
        let mut model = BiasedMf::new(b, data.n_users(), data.n_items(), &all, cfg.clone(), args.seed)?;
        let fit = FitConfig { patience: 0, ..fit_cfg(final_epochs) };
        gpurec::train::fit_pointwise(b, &mut model, &all, None, &fit, &mut gpurec::train::Silent)?;
        let info = serde_json::json!({
            "data": args.data,
            "trained_on": "all ratings",
            "epochs": final_epochs,
            "rating_scale": [lo, hi],
            "cv_rmse": rmse,
            "cv_mae": mae,
            "threshold": args.threshold,
            "min_user": args.min_user,
            "min_item": args.min_item,
        });
        model.to_file(b, info, &data.user_ids, &data.item_ids)?.save(path)?;
        if !args.json {
            println!("\nfitted on all {} ratings for {final_epochs} epochs; saved {}", data.len(), path.display());
        }
    }
    Ok(())
}

/// Per fold of Surprise's seeded 5-fold CV: the test RMSE/MAE, and with early
/// stopping (`fit.patience > 0`) the best validation RMSE, its epoch and the
/// epochs run. Early stopping holds out the last tenth of the fold's training
/// rows (k_fold lists them shuffled) as validation.
#[allow(clippy::type_complexity)]
fn mf_folds<B: Backend>(
    b: &B,
    data: &Interactions,
    cfg: &gpurec::models::MfConfig,
    fit: &FitConfig,
) -> Result<Vec<(gpurec::eval::RatingMetrics, Option<(f64, usize, usize)>)>> {
    use gpurec::eval::{RatingEval, Ratings};
    let (lo, hi) = data.rating_range();
    let mut out = Vec::new();
    for (train, test) in gpurec::data::split::k_fold(data.len(), 5, fit.seed) {
        let cut = if fit.patience > 0 { train.len() - train.len() / 10 } else { train.len() };
        let fit_rows = Ratings::from_rows(data, &train[..cut]);
        let valid = (cut < train.len())
            .then(|| RatingEval::new(b, &Ratings::from_rows(data, &train[cut..]), (lo, hi), 1 << 16))
            .transpose()?;
        let mut model =
            gpurec::models::BiasedMf::new(b, data.n_users(), data.n_items(), &fit_rows, cfg.clone(), fit.seed)?;
        let s =
            gpurec::train::fit_pointwise(b, &mut model, &fit_rows, valid.as_ref(), fit, &mut gpurec::train::Silent)?;
        let m = RatingEval::new(b, &Ratings::from_rows(data, &test), (lo, hi), 1 << 16)?.evaluate(b, &model)?;
        out.push((m, s.best_valid.map(|v| (v.rmse, s.best_epoch, s.epochs.len()))));
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn run_pairwise<B: Backend, M: PairwiseModel<B>>(
    b: &B,
    model: &mut M,
    args: &TrainArgs,
    fit: &FitConfig,
    source: &str,
    train: &gpurec::sparse::CsrHost,
    valid_eval: &RankingEval<B>,
    test_eval: &RankingEval<B>,
) -> Result<()> {
    let bar = if args.json { ProgressBar::hidden() } else { ProgressBar::new(fit.epochs as u64) };
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] epoch {pos}/{len} {msg}")
            .unwrap()
            .progress_chars("=> "),
    );
    let mut progress = Bars { bar, quiet: args.json };
    let t0 = Instant::now();
    let summary = fit_pairwise(b, model, train, Some(valid_eval), fit, &mut progress)?;
    progress.bar.finish_and_clear();
    let train_secs = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let metrics = test_eval.evaluate(b, model)?;
    let eval_secs = t1.elapsed().as_secs_f64();
    let epochs = summary.epochs.len();
    let sec_per_epoch = summary.epochs.iter().map(|e| e.train_seconds).sum::<f64>() / epochs.max(1) as f64;

    if args.json {
        let out = serde_json::json!({
            "model": args.model,
            "data": source,
            "device": b.describe(),
            "epochs": epochs,
            "best_epoch": summary.best_epoch,
            "best_valid_ndcg@10": summary.best_valid,
            "train_seconds": train_secs,
            "seconds_per_epoch": sec_per_epoch,
            "test_eval_seconds": eval_secs,
            "test": metrics,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "trained {epochs} epochs in {train_secs:.1}s ({sec_per_epoch:.3}s/epoch); best validation NDCG@10 {:.4} at epoch {}",
        summary.best_valid.unwrap_or(f64::NAN),
        summary.best_epoch
    );
    print_table(&metrics, eval_secs);
    Ok(())
}

/// `gpurec recommend`.
#[derive(Args)]
pub struct RecommendArgs {
    /// A model file written by `gpurec train --output`.
    #[arg(long)]
    model: PathBuf,
    /// Users (original ids); several allowed.
    #[arg(long = "user", required = true)]
    users: Vec<String>,
    /// How many items per user.
    #[arg(short, default_value_t = 10)]
    k: usize,
    /// Interactions whose items are excluded as already seen (default: the data the model was trained on).
    #[arg(long)]
    data: Option<String>,
    /// Where to run.
    #[arg(long, value_enum, env = "GPUREC_DEVICE", default_value = "auto")]
    device: DeviceChoice,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `gpurec eval`.
#[derive(Args)]
pub struct EvalArgs {
    /// A model file written by `gpurec train --output`.
    #[arg(long)]
    model: PathBuf,
    /// Data to evaluate on (default: the data the model was trained on, with its split seed).
    #[arg(long)]
    data: Option<String>,
    /// Also score the NCF paper's sampled protocol: each test positive against N seeded
    /// negatives (items the user never interacted with). Labelled "sampled", never full ranking.
    #[arg(long, value_name = "N")]
    sampled: Option<usize>,
    /// Sampled protocol with fixed negatives from a file in the NCF `.test.negative` format
    /// ("(user,item)<TAB>neg<TAB>neg…", original ids).
    #[arg(long, value_name = "FILE", conflicts_with = "sampled")]
    negatives: Option<PathBuf>,
    /// Where to run.
    #[arg(long, value_enum, env = "GPUREC_DEVICE", default_value = "auto")]
    device: DeviceChoice,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn with_backend<T>(device: DeviceChoice, f: &mut dyn FnMut(&dyn BackendRun) -> Result<T>) -> Result<T> {
    match device {
        DeviceChoice::Cpu => f(&Cpu),
        DeviceChoice::Gpu => f(&Gpu::new().context("--device gpu")?),
        DeviceChoice::Auto => match Gpu::new() {
            Ok(g) => f(&g),
            Err(e) => {
                eprintln!("note: no GPU adapter ({e}); using the CPU backend");
                f(&Cpu)
            }
        },
    }
}

/// The commands that only need a scorer, over either backend.
trait BackendRun {
    fn recommend(&self, args: &RecommendArgs) -> Result<()>;
    fn eval(&self, args: &EvalArgs) -> Result<()>;
}

impl<B: Backend> BackendRun for B {
    fn recommend(&self, args: &RecommendArgs) -> Result<()> {
        recommend_on(self, args)
    }
    fn eval(&self, args: &EvalArgs) -> Result<()> {
        eval_on(self, args)
    }
}

fn load_model_file(path: &std::path::Path) -> Result<ModelFile> {
    let file = ModelFile::load(path)?;
    if !SERVABLE_KINDS.contains(&file.kind.as_str()) {
        bail!(
            "{}: model kind {:?} is not one this version can serve ({})",
            path.display(),
            file.kind,
            SERVABLE_KINDS.join(", ")
        );
    }
    Ok(file)
}

fn data_of(file: &ModelFile, over: &Option<String>) -> Result<String> {
    match over {
        Some(d) => Ok(d.clone()),
        None => file
            .info
            .get("data")
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .ok_or_else(|| anyhow::anyhow!("the model file does not record its training data; pass --data")),
    }
}

pub fn recommend(args: &RecommendArgs) -> Result<()> {
    with_backend(args.device, &mut |b| b.recommend(args))
}

pub fn eval(args: &EvalArgs) -> Result<()> {
    with_backend(args.device, &mut |b| b.eval(args))
}

/// After training: the top 5 of the first three users, everything they
/// interacted with excluded, so a first run ends with recommendations.
fn print_samples<B: Backend>(b: &B, scorer: &impl Scorer<B>, data: &Interactions, args: &TrainArgs) -> Result<()> {
    if args.json || data.n_users() == 0 {
        return Ok(());
    }
    let users: Vec<u32> = (0..data.n_users().min(3) as u32).collect();
    let seen: Vec<(u32, u32, f32)> =
        (0..data.len()).filter(|&r| data.users[r] < 3).map(|r| (data.users[r], data.items[r], 1.0)).collect();
    println!("\nrecommendations (top 5, items the user interacted with excluded):");
    for (u, top) in users.iter().zip(gpurec::eval::top_k_unseen(b, scorer, &users, &seen, data.n_items(), 5)?) {
        let items: Vec<String> = top.iter().map(|&(i, s)| format!("{} ({s:.3})", data.item_ids.id(i))).collect();
        println!("  user {}: {}", data.user_ids.id(*u), items.join(", "));
    }
    if args.output.is_none() {
        println!(
            "(the model was not saved: add -o model.gpurec, then `gpurec recommend --model model.gpurec --user ID`)"
        );
    }
    Ok(())
}

fn recommend_on<B: Backend>(b: &B, args: &RecommendArgs) -> Result<()> {
    let file = load_model_file(&args.model)?;
    let scorer = Loaded::from_file(b, &file)?;
    let (data, _) = data_for(&file, &args.data)?;
    let n_items = file.item_ids.len();
    let mut users = Vec::new();
    for id in &args.users {
        users.push(file.user_ids.get(id).ok_or_else(|| anyhow::anyhow!("user {id:?} is not in the model"))?);
    }
    // Seen items, mapped to the model's item indices through the original ids.
    let mut seen = Vec::new();
    for (row, &u) in users.iter().enumerate() {
        let uid = file.user_ids.id(u);
        for r in 0..data.len() {
            if data.user_ids.id(data.users[r]) == uid {
                if let Some(i) = file.item_ids.get(data.item_ids.id(data.items[r])) {
                    seen.push((row as u32, i, 1.0));
                }
            }
        }
    }
    let tops = gpurec::eval::top_k_unseen(b, &scorer, &users, &seen, n_items, args.k)?;
    let out: Vec<(String, Vec<(String, f32)>)> = args
        .users
        .iter()
        .zip(tops)
        .map(|(id, top)| (id.clone(), top.into_iter().map(|(i, s)| (file.item_ids.id(i).to_string(), s)).collect()))
        .collect();
    if args.json {
        let j: Vec<_> = out
            .iter()
            .map(|(u, items)| {
                serde_json::json!({ "user": u, "items": items.iter().map(|(i, s)| serde_json::json!({"item": i, "score": s})).collect::<Vec<_>>() })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&j)?);
    } else {
        for (u, items) in out {
            println!("user {u}:");
            for (rank, (i, s)) in items.iter().enumerate() {
                println!("  {:>3}. {i}  ({s:.4})", rank + 1);
            }
        }
    }
    Ok(())
}

fn eval_on<B: Backend>(b: &B, args: &EvalArgs) -> Result<()> {
    let file = load_model_file(&args.model)?;
    let model = Loaded::from_file(b, &file)?;
    let (data, source) = data_for(&file, &args.data)?;
    if let Some(mf) = model.rating_model() {
        return eval_ratings(b, mf, &file, &data, &source, args);
    }
    if data.user_ids != file.user_ids || data.item_ids != file.item_ids {
        bail!("{source} does not have the users and items the model was trained on");
    }
    let seed = file.info.get("split_seed").and_then(|v| v.as_u64()).unwrap_or(2024);
    let split = per_user_ratio(&data, 0.1, 0.1, seed);
    let test = data.user_item_csr(&split.test);
    let train_valid = data.user_item_csr(&[split.train.clone(), split.valid.clone()].concat());
    let t = Instant::now();
    let metrics = RankingEval::new(b, &test, &train_valid, &[10, 20], 1024)?.evaluate(b, &model)?;
    let secs = t.elapsed().as_secs_f64();
    let sampled = if args.sampled.is_some() || args.negatives.is_some() {
        use gpurec::eval::SampledEval;
        let eval = match (&args.negatives, args.sampled) {
            (Some(path), _) => {
                let negatives = gpurec::data::negatives::load_test_negatives(path, &data.user_ids, &data.item_ids)?;
                SampledEval::with_negatives(b, &test, &negatives, &[1, 5, 10])?
            }
            (None, n) => {
                let seen = data.user_item_csr(&(0..data.len()).collect::<Vec<_>>());
                SampledEval::new(b, &test, &seen, n.unwrap_or(99), &[1, 5, 10], seed)?
            }
        };
        Some(eval.evaluate(b, &model)?)
    } else {
        None
    };
    if args.json {
        let mut out =
            serde_json::json!({ "model": file.kind, "data": source, "device": b.describe(), "test": metrics });
        if let Some(s) = &sampled {
            out["sampled"] = serde_json::to_value(s)?;
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "model {} on {source} (test part of the per-user 8:1:1 split, seed {seed}), {}",
            file.kind,
            b.describe()
        );
        print_table(&metrics, secs);
        if let Some(s) = sampled {
            println!("\n{s}  ({} test positives; not comparable with full ranking)", s.positives);
        }
    }
    Ok(())
}

/// RMSE and MAE of a rating model over every rating in `data` whose user and
/// item the model knows (matched by original id); the others are counted and skipped.
fn eval_ratings<B: Backend>(
    b: &B,
    mf: &gpurec::models::BiasedMf<B>,
    file: &ModelFile,
    data: &Interactions,
    source: &str,
    args: &EvalArgs,
) -> Result<()> {
    use gpurec::eval::{RatingEval, Ratings};
    if args.sampled.is_some() || args.negatives.is_some() {
        bail!("--sampled and --negatives rank items; an mf model is evaluated on ratings (RMSE, MAE)");
    }
    let mut set = Ratings::default();
    for r in 0..data.len() {
        let u = file.user_ids.get(data.user_ids.id(data.users[r]));
        let i = file.item_ids.get(data.item_ids.id(data.items[r]));
        if let (Some(u), Some(i)) = (u, i) {
            set.users.push(u);
            set.items.push(i);
            set.ratings.push(data.ratings[r]);
        }
    }
    let skipped = data.len() - set.len();
    if set.is_empty() {
        bail!("{source}: none of its {} ratings has a user and an item the model knows", data.len());
    }
    let scale = match file.info.get("rating_scale").and_then(|v| serde_json::from_value::<(f32, f32)>(v.clone()).ok()) {
        Some(s) => s,
        None => data.rating_range(),
    };
    let in_sample = args.data.is_none();
    let t = Instant::now();
    let m = RatingEval::new(b, &set, scale, 1 << 16)?.evaluate(b, mf)?;
    let secs = t.elapsed().as_secs_f64();
    if args.json {
        let out = serde_json::json!({
            "model": file.kind, "data": source, "device": b.describe(), "in_sample": in_sample,
            "rmse": m.rmse, "mae": m.mae, "ratings": m.count, "skipped_unknown": skipped, "seconds": secs,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("model mf on {source}, {}", b.describe());
        if in_sample {
            println!("  (the model was fitted on these ratings: this is the training error; pass --data for held-out ratings)");
        }
        println!(
            "  RMSE {:.4}  MAE {:.4}  over {} ratings, predictions clipped to [{}, {}] ({secs:.3}s)",
            m.rmse, m.mae, m.count, scale.0, scale.1
        );
        if skipped > 0 {
            println!("  skipped {skipped} ratings of users or items the model does not know");
        }
    }
    Ok(())
}

fn print_table(m: &RankingMetrics, secs: f64) {
    println!("\ntest metrics ({} users, full ranking over all items, {:.3}s):", m.users, secs);
    print!("  {:<10}", "");
    for k in &m.ks {
        print!("{:>10}", format!("@{k}"));
    }
    println!();
    for name in RankingMetrics::NAMES {
        print!("  {name:<10}");
        for &k in &m.ks {
            print!("{:>10.4}", m.get(name, k).unwrap());
        }
        println!();
    }
    if let Some(auc) = m.auc {
        println!("  {:<10}{auc:>10.4}", "auc");
    }
}

/// `gpurec bench`.
#[derive(Args)]
pub struct BenchArgs {
    /// Data: a MovieLens folder or file; default ML-100K when found (../shared/datasets or $GPUREC_ML100K), else synthetic.
    #[arg(long)]
    data: Option<String>,
    /// Models to time (bpr, lightgcn, neumf, mf; mf also times Surprise's 5-fold protocol).
    #[arg(long = "model", default_values = ["bpr", "lightgcn", "neumf", "mf"])]
    models: Vec<String>,
    /// Epochs per model and backend.
    #[arg(long, default_value_t = 3)]
    epochs: usize,
    /// Backends: cpu, gpu (the best adapter).
    #[arg(long = "device", value_enum, default_values = ["cpu", "gpu"])]
    devices: Vec<DeviceChoice>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(serde::Serialize)]
struct BenchRow {
    model: String,
    device: String,
    software_adapter: bool,
    seconds_per_epoch: f64,
    first_epoch_seconds: f64,
    eval_seconds: f64,
    steps_per_epoch: usize,
    dispatches_per_step: Option<f64>,
    submissions_per_step: Option<f64>,
    upload_bytes_per_step: Option<f64>,
    eval_dispatches: Option<u64>,
    eval_readbacks: Option<u64>,
    eval_download_bytes: Option<u64>,
}

pub fn bench(args: &BenchArgs) -> Result<()> {
    let spec = match &args.data {
        Some(d) => d.clone(),
        None => gpurec::data::movielens::find_ml100k()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "synthetic".into()),
    };
    let (data, source) = load_data(&spec)?;
    let split = per_user_ratio(&data, 0.1, 0.1, 2024);
    let train = data.user_item_csr(&split.train);
    let test = data.user_item_csr(&split.test);
    let train_valid = data.user_item_csr(&[split.train.clone(), split.valid.clone()].concat());
    if !args.json {
        println!("bench data: {source}: {}", data.summary());
    }
    let mut rows = Vec::new();
    let mut cv_rows = Vec::new();
    for &device in &args.devices {
        for model in &args.models {
            let row = match device {
                DeviceChoice::Cpu => {
                    bench_one(&Cpu, None, model, &data, &train, &split.train, &test, &train_valid, args.epochs)?
                }
                _ => match Gpu::new() {
                    Ok(g) => {
                        bench_one(&g, Some(&g), model, &data, &train, &split.train, &test, &train_valid, args.epochs)?
                    }
                    Err(e) => {
                        eprintln!("note: no GPU adapter ({e}); skipping the GPU rows");
                        break;
                    }
                },
            };
            if !args.json {
                println!(
                    "{:<9} {:<45} {:>8.3} s/epoch  eval {:>7.3} s  {:>3} steps/epoch{}",
                    row.model,
                    row.device,
                    row.seconds_per_epoch,
                    row.eval_seconds,
                    row.steps_per_epoch,
                    match (row.dispatches_per_step, row.submissions_per_step, row.upload_bytes_per_step) {
                        (Some(d), Some(s), Some(u)) => format!(
                            "  {d:.0} dispatches, {s:.0} submission(s), {:.1} KB up per step; eval {} dispatches, {} read-back(s), {} B down{}",
                            u / 1024.0,
                            row.eval_dispatches.unwrap_or(0),
                            row.eval_readbacks.unwrap_or(0),
                            row.eval_download_bytes.unwrap_or(0),
                            if row.software_adapter { "  [software adapter: timings are not GPU figures]" } else { "" }
                        ),
                        _ => String::new(),
                    }
                );
            }
            rows.push(row);
        }
        if args.models.iter().any(|m| m == "mf") {
            let cv = match device {
                DeviceChoice::Cpu => Some(bench_mf_cv(&Cpu, &data)?),
                _ => Gpu::new().ok().map(|g| bench_mf_cv(&g, &data)).transpose()?,
            };
            if let Some(cv) = cv {
                if !args.json {
                    println!(
                        "{:<9} {:<45} {:>8.3} s for 5 folds (train {} epochs + test each), mean RMSE {:.4}",
                        "mf 5-fold", cv.device, cv.seconds, cv.epochs, cv.rmse
                    );
                }
                cv_rows.push(cv);
            }
        }
    }
    if args.json {
        let out = serde_json::json!({ "data": source, "rows": rows, "mf_5fold": cv_rows });
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}

#[derive(serde::Serialize)]
struct CvRow {
    device: String,
    seconds: f64,
    epochs: usize,
    rmse: f64,
}

/// Surprise's protocol for biased MF (5 seeded folds, fixed epochs, each fold
/// trained and tested), timed end to end: Surprise's SVD takes about 2.6 s
/// for it on ML-100K on a 2-core machine.
fn bench_mf_cv<B: Backend>(b: &B, data: &Interactions) -> Result<CvRow> {
    let cfg = gpurec::models::MfConfig::default();
    let fit = FitConfig { epochs: 7, batch_size: 4096, patience: 0, seed: 2024, metric: ("rmse".into(), 0) };
    let t = Instant::now();
    let folds = mf_folds(b, data, &cfg, &fit)?;
    let seconds = t.elapsed().as_secs_f64();
    let rmse = folds.iter().map(|(m, _)| m.rmse).sum::<f64>() / folds.len() as f64;
    Ok(CvRow { device: b.describe(), seconds, epochs: fit.epochs, rmse })
}

#[allow(clippy::too_many_arguments)]
fn bench_one<B: Backend>(
    b: &B,
    gpu: Option<&Gpu>,
    model: &str,
    data: &Interactions,
    train: &gpurec::sparse::CsrHost,
    train_rows: &[usize],
    test: &gpurec::sparse::CsrHost,
    train_valid: &gpurec::sparse::CsrHost,
    epochs: usize,
) -> Result<BenchRow> {
    let fit = FitConfig { epochs, patience: 0, ..Default::default() };
    let test_eval = RankingEval::new(b, test, train_valid, &[10, 20], 1024)?;
    let before = gpu.map(|g| g.stats());
    let (summary, eval_seconds, eval_stats) = match model {
        "bpr" => {
            let mut m = BprMf::new(b, data.n_users(), data.n_items(), BprConfig::default(), 1)?;
            timed_fit(b, gpu, &mut m, train, &fit, &test_eval)?
        }
        "lightgcn" => {
            let mut m = LightGcn::new(b, train, LightGcnConfig::default(), 1)?;
            timed_fit(b, gpu, &mut m, train, &fit, &test_eval)?
        }
        "neumf" => {
            let mut m = NeuMf::new(b, data.n_users(), data.n_items(), NeuMfConfig::default(), 1)?;
            let fit = FitConfig { batch_size: fit.batch_size / 2, ..fit.clone() };
            timed_fit(b, gpu, &mut m, train, &fit, &test_eval)?
        }
        "mf" => {
            use gpurec::models::{BiasedMf, MfConfig};
            let ratings = gpurec::eval::Ratings::from_rows(data, train_rows);
            let mut m = BiasedMf::new(b, data.n_users(), data.n_items(), &ratings, MfConfig::default(), 1)?;
            let fit = FitConfig { batch_size: 4096, metric: ("rmse".into(), 0), ..fit.clone() };
            let summary = gpurec::train::fit_pointwise(b, &mut m, &ratings, None, &fit, &mut gpurec::train::Silent)?;
            let summary =
                gpurec::train::FitSummary { epochs: summary.epochs, best_epoch: summary.best_epoch, best_valid: None };
            timed_eval(b, gpu, &m, summary, &test_eval)?
        }
        other => bail!("unknown model {other:?}; available: bpr, lightgcn, neumf, mf"),
    };
    let steps = summary.epochs.first().map(|e| e.steps).unwrap_or(0);
    let total_steps = (steps * summary.epochs.len()).max(1) as f64;
    let train_stats = match (gpu, before, eval_stats) {
        (Some(g), Some(b0), Some(ev)) => Some(g.stats() - b0 - ev),
        _ => None,
    };
    let later: Vec<f64> = summary.epochs.iter().skip(1).map(|e| e.train_seconds).collect();
    Ok(BenchRow {
        model: model.into(),
        device: b.describe(),
        software_adapter: gpu.is_some_and(|g| g.is_software()),
        seconds_per_epoch: if later.is_empty() {
            summary.epochs[0].train_seconds
        } else {
            later.iter().sum::<f64>() / later.len() as f64
        },
        first_epoch_seconds: summary.epochs[0].train_seconds,
        eval_seconds,
        steps_per_epoch: steps,
        // Each epoch also reads its loss back once: one extra submission per epoch.
        dispatches_per_step: train_stats.map(|s| s.dispatches as f64 / total_steps),
        submissions_per_step: train_stats.map(|s| (s.submissions - s.readbacks) as f64 / total_steps),
        upload_bytes_per_step: train_stats.map(|s| s.bytes_uploaded as f64 / total_steps),
        eval_dispatches: eval_stats.map(|s| s.dispatches),
        eval_readbacks: eval_stats.map(|s| s.readbacks),
        eval_download_bytes: eval_stats.map(|s| s.bytes_downloaded),
    })
}

type Timed = (gpurec::train::FitSummary, f64, Option<gpurec::gpu::GpuStats>);

fn timed_fit<B: Backend, M: PairwiseModel<B>>(
    b: &B,
    gpu: Option<&Gpu>,
    model: &mut M,
    train: &gpurec::sparse::CsrHost,
    fit: &FitConfig,
    test_eval: &RankingEval<B>,
) -> Result<Timed> {
    let summary = fit_pairwise(b, model, train, None, fit, &mut gpurec::train::Silent)?;
    timed_eval(b, gpu, model, summary, test_eval)
}

/// Times one full-ranking evaluation of a trained model, counting its GPU work.
fn timed_eval<B: Backend>(
    b: &B,
    gpu: Option<&Gpu>,
    model: &impl Scorer<B>,
    summary: gpurec::train::FitSummary,
    test_eval: &RankingEval<B>,
) -> Result<Timed> {
    let s0 = gpu.map(|g| g.stats());
    let t = Instant::now();
    test_eval.evaluate(b, model)?;
    let secs = t.elapsed().as_secs_f64();
    let ev = match (gpu, s0) {
        (Some(g), Some(s0)) => Some(g.stats() - s0),
        _ => None,
    };
    Ok((summary, secs, ev))
}
