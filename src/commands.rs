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
use gpurec::eval::{RankingEval, RankingMetrics};
use gpurec::models::{BprConfig, BprMf, LightGcn, LightGcnConfig};
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
#[derive(Args)]
pub struct TrainArgs {
    /// Model to train: bpr (BPR-MF) or lightgcn.
    #[arg(long, default_value = "bpr")]
    model: String,
    /// Data: "synthetic" (embedded, default), a MovieLens folder, or an interaction file.
    #[arg(long, default_value = "synthetic")]
    data: String,
    /// Where to run (env GPUREC_DEVICE).
    #[arg(long, value_enum, env = "GPUREC_DEVICE", default_value = "auto")]
    device: DeviceChoice,
    /// Maximum epochs.
    #[arg(long, default_value_t = 300)]
    epochs: usize,
    /// Early-stopping patience in epochs (validation NDCG@10).
    #[arg(long, default_value_t = 10)]
    patience: usize,
    /// Embedding size.
    #[arg(long, default_value_t = 64)]
    dim: usize,
    /// Learning rate (Adam).
    #[arg(long, default_value_t = 1e-3)]
    lr: f32,
    /// Training triples per step.
    #[arg(long, default_value_t = 2048)]
    batch_size: usize,
    /// Seed of initialisation, split and sampling.
    #[arg(long, default_value_t = 2024)]
    seed: u64,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
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
            epochs: 300,
            patience: 10,
            dim: 64,
            lr: 1e-3,
            batch_size: 2048,
            seed: 2024,
            json: false,
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
        let fmt = match path.extension().and_then(|e| e.to_str()) {
            Some("dat") => CsvFormat::ml_dat(),
            Some("csv") => CsvFormat::ml_latest_csv(),
            _ => CsvFormat::ml100k(),
        };
        movielens::load_delimited(&path, &fmt)?
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
    let valid_eval = RankingEval::new(b, &valid, &train, &ks, 1024)?;
    let test_eval = RankingEval::new(b, &test, &train_valid, &ks, 1024)?;

    match args.model.as_str() {
        "bpr" => {
            let cfg = BprConfig { dim: args.dim, lr: args.lr, reg: 0.0 };
            if !args.json {
                println!("model:   BPR-MF {cfg:?}, batch {}", args.batch_size);
            }
            let model = BprMf::new(b, data.n_users(), data.n_items(), cfg, args.seed)?;
            run_pairwise(b, model, args, &source, &train, &valid_eval, &test_eval)
        }
        "lightgcn" => {
            let cfg = LightGcnConfig { dim: args.dim, lr: args.lr, ..Default::default() };
            if !args.json {
                println!("model:   LightGCN {cfg:?}, batch {}", args.batch_size);
            }
            let model = LightGcn::new(b, &train, cfg, args.seed)?;
            run_pairwise(b, model, args, &source, &train, &valid_eval, &test_eval)
        }
        other => bail!("unknown model {other:?}; available: bpr, lightgcn"),
    }
}

fn run_pairwise<B: Backend, M: PairwiseModel<B>>(
    b: &B,
    mut model: M,
    args: &TrainArgs,
    source: &str,
    train: &gpurec::sparse::CsrHost,
    valid_eval: &RankingEval<B>,
    test_eval: &RankingEval<B>,
) -> Result<()> {
    let fit = FitConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        patience: args.patience,
        seed: args.seed,
        ..Default::default()
    };
    let bar = if args.json { ProgressBar::hidden() } else { ProgressBar::new(args.epochs as u64) };
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] epoch {pos}/{len} {msg}")
            .unwrap()
            .progress_chars("=> "),
    );
    let mut progress = Bars { bar, quiet: args.json };
    let t0 = Instant::now();
    let summary = fit_pairwise(b, &mut model, train, Some(valid_eval), &fit, &mut progress)?;
    progress.bar.finish_and_clear();
    let train_secs = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let metrics = test_eval.evaluate(b, &model)?;
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

fn print_table(m: &RankingMetrics, secs: f64) {
    println!("\ntest metrics ({} users, full ranking, {:.3}s):", m.users, secs);
    print!("  {:<10}", "");
    for k in &m.ks {
        print!("{:>10}", format!("@{k}"));
    }
    println!();
    for name in ["recall", "precision", "hit", "ndcg", "mrr", "map", "coverage"] {
        print!("  {name:<10}");
        for &k in &m.ks {
            print!("{:>10.4}", m.get(name, k).unwrap());
        }
        println!();
    }
}
