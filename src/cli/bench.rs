//! `gpurec bench`: per registered family and backend, the time of a training
//! epoch and of one full-ranking evaluation, with the GPU's work counts
//! (dispatches, submissions and bytes per step; dispatches, read-backs and
//! bytes per evaluation), and for rating families the time of Surprise's
//! 5-fold protocol. Counts hold on any adapter; a software adapter's
//! timings are labelled as such.

use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use gpurec::data::split::per_user_ratio;
use gpurec::data::Interactions;
use gpurec::device::{Chosen, Device, OnBackend};
use gpurec::eval::RankingEval;
use gpurec::gpu::KernelTime;
use gpurec::models::contract::{BatchKind, Task, TrainSet};
use gpurec::models::registry::{self, Overrides};
use gpurec::train::{fit, FitConfig, Silent};
use gpurec::{Backend, Gpu};

use super::DeviceChoice;

/// `gpurec bench`.
#[derive(Args)]
pub struct BenchArgs {
    /// Data: a MovieLens folder or file; default ML-100K when found (../shared/datasets or $GPUREC_ML100K), else synthetic.
    #[arg(long)]
    data: Option<String>,
    /// Models to time (default: every registered family; rating families also time Surprise's 5-fold protocol).
    #[arg(long = "model")]
    pub(super) models: Vec<String>,
    /// Epochs per model and backend.
    #[arg(long, default_value_t = 3)]
    pub(super) epochs: usize,
    /// Batch size for every timed model (default: each family's own). With
    /// a reference library's batch the epoch does the same work as its epoch
    /// (e.g. 943 users: one step per epoch on ML-100K, as RecBole's autoencoders).
    #[arg(long)]
    pub(super) batch_size: Option<usize>,
    /// Backends: cpu, gpu (the best adapter, software ones included).
    #[arg(long = "device", value_enum, default_values = ["cpu", "gpu"])]
    pub(super) devices: Vec<DeviceChoice>,
    /// Print JSON.
    #[arg(long)]
    pub(super) json: bool,
    /// Also write the results as a Markdown report to this file, with a chart of seconds per
    /// epoch per model and backend next to it (the same name, .svg).
    #[arg(long, value_name = "FILE.md")]
    report: Option<std::path::PathBuf>,
    /// On a GPU with timestamp queries, after the timed epochs, train one more epoch and
    /// evaluate once more with per-kernel GPU timing on, and print where the GPU time goes
    /// (the timed figures above stay unprofiled: profiling waits for the GPU at every
    /// submission).
    #[arg(long)]
    profile: bool,
    /// Time the models (default bpr) on synthetic data sets of these sizes, in interactions
    /// (default 250k,1m,4m; users = n/100, items = n/200, skewed popularity), and print how the
    /// cost per training example, the evaluation's scores per second and the peak memory grow.
    #[arg(long, value_name = "SIZES", num_args = 0..=1, default_missing_value = "250k,1m,4m")]
    pub(super) scale: Option<String>,
    /// A configuration key for every timed model, as KEY=VALUE (repeatable), e.g. `--set n_v=4`
    /// to time a reference library's settings.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub(super) set: Vec<String>,
}

impl BenchArgs {
    /// The `--set` keys as overrides of each model's defaults.
    pub(super) fn overrides(&self) -> Result<Overrides> {
        Ok(Overrides { set: Overrides::parse_sets(&self.set)?, ..Default::default() })
    }
}

#[derive(serde::Serialize)]
pub(super) struct BenchRow {
    pub(super) model: String,
    pub(super) device: String,
    pub(super) software_adapter: bool,
    pub(super) seconds_per_epoch: f64,
    first_epoch_seconds: f64,
    /// Building the model (closed-form families fit here).
    build_seconds: f64,
    pub(super) eval_seconds: f64,
    pub(super) steps_per_epoch: usize,
    dispatches_per_step: Option<f64>,
    submissions_per_step: Option<f64>,
    upload_bytes_per_step: Option<f64>,
    eval_dispatches: Option<u64>,
    eval_readbacks: Option<u64>,
    eval_download_bytes: Option<u64>,
    /// Training examples per epoch (pairs, ratings, windows or users, as the family batches).
    pub(super) train_examples: usize,
    /// User–item scores one evaluation ranks (its users × all items).
    pub(super) eval_scores: u64,
    /// `--profile`: GPU time per kernel over one more epoch and one more evaluation.
    #[serde(skip_serializing_if = "Option::is_none")]
    profile: Option<Profile>,
}

/// Where one epoch's and one evaluation's GPU time goes (`--profile`).
#[derive(serde::Serialize)]
struct Profile {
    /// Wall seconds of the profiled epoch (profiling waits at each submission).
    epoch_wall_seconds: f64,
    train: Vec<(String, KernelTime)>,
    eval: Vec<(String, KernelTime)>,
}

#[derive(serde::Serialize)]
pub(super) struct CvRow {
    model: String,
    device: String,
    seconds: f64,
    epochs: usize,
    rmse: f64,
}

pub fn bench(args: &BenchArgs) -> Result<()> {
    if let Some(sizes) = &args.scale {
        return super::bench_scale::bench_scale(args, sizes);
    }
    let spec = match &args.data {
        Some(d) => d.clone(),
        None => gpurec::data::movielens::find_ml100k()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "synthetic".into()),
    };
    let loaded = gpurec::data::spec::load(&spec)?;
    let models: Vec<String> = if args.models.is_empty() {
        registry::names().iter().map(|s| s.to_string()).collect()
    } else {
        args.models.clone()
    };
    let overrides = args.overrides()?;
    for m in &models {
        registry::info(m)?;
        registry::entry::<gpurec::Cpu>(m)?.config(&overrides)?;
    }
    if !args.json {
        println!("bench data: {}: {}", loaded.source, loaded.data.summary());
    }
    let mut rows = Vec::new();
    let mut cv_rows = Vec::new();
    for &device in &args.devices {
        let Some(backend) = backend_for(device)? else { continue };
        for model in &models {
            let (row, cv) = backend.run(BenchJob {
                model,
                data: &loaded.data,
                epochs: args.epochs,
                batch_size: args.batch_size,
                profile: args.profile,
                cross_validate: true,
                overrides: &overrides,
            })?;
            if !args.json {
                print_row(&row);
                print_profile(&row);
                if let Some(cv) = &cv {
                    println!(
                        "{:<9} {:<45} {:>8.3} s for 5 folds (train {} epochs + test each), mean RMSE {:.4}",
                        format!("{} 5-fold", cv.model),
                        cv.device,
                        cv.seconds,
                        cv.epochs,
                        cv.rmse
                    );
                }
            }
            rows.push(row);
            cv_rows.extend(cv);
        }
    }
    if args.json {
        let out = serde_json::json!({ "data": loaded.source, "rows": rows, "rating_5fold": cv_rows });
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    if let Some(path) = &args.report {
        write_report(path, &format!("{}: {}", loaded.source, loaded.data.summary()), args, &rows, &cv_rows)?;
        if !args.json {
            println!("wrote {} and {}", path.display(), path.with_extension("svg").display());
        }
    }
    Ok(())
}

/// The backend a `--device` names; `None` (with a note) when it asks for a
/// GPU and there is no adapter, so that the CPU rows still run.
pub(super) fn backend_for(device: DeviceChoice) -> Result<Option<Chosen>> {
    Ok(match device {
        DeviceChoice::Cpu => Some(Device::Cpu.choose()?.0),
        _ => match Device::AnyGpu.choose() {
            Ok((b, _)) => Some(b),
            Err(e) => {
                eprintln!("note: no GPU adapter ({e}); skipping the GPU rows");
                None
            }
        },
    })
}

/// `--report`: the rows as Markdown tables and their chart as SVG, both
/// written atomically (a temporary file renamed over the target).
fn write_report(path: &std::path::Path, data: &str, args: &BenchArgs, rows: &[BenchRow], cv: &[CvRow]) -> Result<()> {
    use std::fmt::Write;
    let chart = path.with_extension("svg");
    let bars: Vec<(String, String, f64)> = rows
        .iter()
        .map(|r| {
            let secs = if r.steps_per_epoch == 0 { r.build_seconds } else { r.seconds_per_epoch };
            (r.model.clone(), r.device.clone(), secs)
        })
        .collect();
    let tmp = chart.with_extension("svg.tmp");
    super::plot::epoch_bars(&tmp, "seconds per epoch (closed form: to fit)", &bars)?;
    std::fs::rename(&tmp, &chart).with_context(|| format!("writing {}", chart.display()))?;

    let mut md = String::new();
    let _ = writeln!(md, "# gpurec bench\n\ndata: {data}; epochs timed per model and backend: {}.\n", args.epochs);
    if rows.iter().any(|r| r.software_adapter) {
        let _ = writeln!(md, "Rows marked *software* ran on a software rasterizer: their times are not GPU figures; their counts hold on any adapter.\n");
    }
    let name = chart.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let _ = writeln!(md, "![seconds per epoch per model and backend]({name})\n");
    let _ = writeln!(md, "| model | backend | s/epoch (closed form: fit) | eval s | steps/epoch | dispatches/step | submissions/step | KB up/step | eval read-backs |");
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|");
    let opt = |v: Option<f64>, f: &dyn Fn(f64) -> String| v.map(f).unwrap_or_else(|| "–".into());
    for r in rows {
        let device = if r.software_adapter { format!("{} (*software*)", r.device) } else { r.device.clone() };
        let secs = if r.steps_per_epoch == 0 {
            format!("{:.3} (fit)", r.build_seconds)
        } else {
            format!("{:.3}", r.seconds_per_epoch)
        };
        let _ = writeln!(
            md,
            "| {} | {device} | {secs} | {:.3} | {} | {} | {} | {} | {} |",
            r.model,
            r.eval_seconds,
            r.steps_per_epoch,
            opt(r.dispatches_per_step, &|d| format!("{d:.0}")),
            opt(r.submissions_per_step, &|s| format!("{s:.0}")),
            opt(r.upload_bytes_per_step, &|u| format!("{:.1}", u / 1024.0)),
            r.eval_readbacks.map(|n| n.to_string()).unwrap_or_else(|| "–".into()),
        );
    }
    if !cv.is_empty() {
        let _ = writeln!(md, "\nSurprise's 5-fold protocol (train and test each fold):\n");
        let _ = writeln!(md, "| model | backend | seconds | epochs per fold | mean RMSE |\n|---|---|---|---|---|");
        for c in cv {
            let _ = writeln!(md, "| {} | {} | {:.3} | {} | {:.4} |", c.model, c.device, c.seconds, c.epochs, c.rmse);
        }
    }
    let tmp = path.with_extension("md.tmp");
    std::fs::write(&tmp, md).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// `--profile`'s lines under a row: GPU busy time against the wall, then the
/// kernels that take 90 % of it.
fn print_profile(row: &BenchRow) {
    let Some(p) = &row.profile else { return };
    let part = |what: &str, times: &[(String, KernelTime)], wall: Option<f64>| {
        let total: f64 = times.iter().map(|(_, t)| t.nanos).sum();
        let wall = wall.map(|w| format!(" of {:.3} s wall", w)).unwrap_or_default();
        println!("    {what}: GPU busy {:.3} ms{wall}", total / 1e6);
        let mut acc = 0.0;
        for (name, t) in times {
            if acc >= 0.9 * total {
                break;
            }
            acc += t.nanos;
            println!(
                "      {:<32} {:>6.1} %  {:>9.3} ms  {:>6} dispatches  {:>9.2} us each",
                name,
                100.0 * t.nanos / total.max(1.0),
                t.nanos / 1e6,
                t.dispatches,
                t.nanos / 1e3 / t.dispatches.max(1) as f64
            );
        }
    };
    if row.steps_per_epoch > 0 {
        part("profiled epoch", &p.train, Some(p.epoch_wall_seconds));
    }
    part("profiled evaluation", &p.eval, None);
}

fn print_row(row: &BenchRow) {
    let counts = match (row.dispatches_per_step, row.submissions_per_step, row.upload_bytes_per_step) {
        (Some(d), Some(s), Some(u)) => format!(
            "  {d:.0} dispatches, {s:.0} submission(s), {:.1} KB up per step; eval {} dispatches, {} read-back(s), {} B down{}",
            u / 1024.0,
            row.eval_dispatches.unwrap_or(0),
            row.eval_readbacks.unwrap_or(0),
            row.eval_download_bytes.unwrap_or(0),
            if row.software_adapter { "  [software adapter: timings are not GPU figures]" } else { "" }
        ),
        _ => String::new(),
    };
    if row.steps_per_epoch == 0 {
        println!(
            "{:<9} {:<45} {:>8.3} s to fit   eval {:>7.3} s  (closed form){counts}",
            row.model, row.device, row.build_seconds, row.eval_seconds
        );
    } else {
        println!(
            "{:<9} {:<45} {:>8.3} s/epoch  eval {:>7.3} s  {:>3} steps/epoch{counts}",
            row.model, row.device, row.seconds_per_epoch, row.eval_seconds, row.steps_per_epoch
        );
    }
}

pub(super) struct BenchJob<'a> {
    pub(super) model: &'a str,
    pub(super) data: &'a Interactions,
    pub(super) epochs: usize,
    pub(super) batch_size: Option<usize>,
    pub(super) profile: bool,
    /// Rating families: also time Surprise's 5-fold protocol.
    pub(super) cross_validate: bool,
    /// Keys set on every model's defaults (`--set`).
    pub(super) overrides: &'a Overrides,
}

impl OnBackend for BenchJob<'_> {
    type Out = Result<(BenchRow, Option<CvRow>)>;

    fn run<B: Backend>(self, b: &B, gpu: Option<&Gpu>) -> Self::Out {
        let data = self.data;
        let family = registry::entry::<B>(self.model)?;
        let info = family.info();
        let config = family.config(self.overrides)?;
        let split = per_user_ratio(data, 0.1, 0.1, 2024);
        let train = TrainSet::from_rows(data, &split.train);
        let test = data.user_item_csr(&split.test);
        let train_valid = data.user_item_csr(&[split.train.clone(), split.valid.clone()].concat());
        let test_eval = RankingEval::new(b, &test, &train_valid, &[10, 20], 1024)?;
        let stats = || gpu.map(|g| g.stats());

        let s0 = stats();
        let t0 = Instant::now();
        let mut model = family.build(b, &train, &config, 1)?;
        // Wait for the build's work (a closed-form fit is all of it): read one score.
        b.read(&model.score_users(b, &b.index(&[0])?))?;
        let build_seconds = t0.elapsed().as_secs_f64();
        let s1 = stats();
        let cfg = FitConfig {
            epochs: self.epochs,
            batch_size: self.batch_size.unwrap_or(info.schedule.batch_size),
            patience: 0,
            seed: 2024,
            ..Default::default()
        };
        let summary = fit(b, model.as_mut(), &train, None, &cfg, &mut Silent)?;
        let s2 = stats();
        let t1 = Instant::now();
        test_eval.evaluate(b, model.as_ref())?;
        let eval_seconds = t1.elapsed().as_secs_f64();
        let s3 = stats();

        let steps = summary.epochs.first().map(|e| e.steps).unwrap_or(0);
        let total_steps = (steps * summary.epochs.len()).max(1) as f64;
        let (train_stats, eval_stats) = match (s0, s1, s2, s3) {
            (Some(_), Some(s1), Some(s2), Some(s3)) if info.batch != BatchKind::ClosedForm => {
                (Some(s2 - s1), Some(s3 - s2))
            }
            (_, _, Some(s2), Some(s3)) => (None, Some(s3 - s2)),
            _ => (None, None),
        };
        let profile = match gpu {
            Some(g) if self.profile && g.set_profiling(true) => {
                g.kernel_times_reset();
                let t = Instant::now();
                if info.batch != BatchKind::ClosedForm {
                    fit(b, model.as_mut(), &train, None, &FitConfig { epochs: 1, ..cfg.clone() }, &mut Silent)?;
                }
                let epoch_wall_seconds = t.elapsed().as_secs_f64();
                let train = g.kernel_times();
                g.kernel_times_reset();
                test_eval.evaluate(b, model.as_ref())?;
                let eval = g.kernel_times();
                g.set_profiling(false);
                Some(Profile { epoch_wall_seconds, train, eval })
            }
            _ => None,
        };
        let later: Vec<f64> = summary.epochs.iter().skip(1).map(|e| e.train_seconds).collect();
        let first = summary.epochs.first().map(|e| e.train_seconds).unwrap_or(0.0);
        let row = BenchRow {
            model: info.name.into(),
            device: b.describe(),
            software_adapter: gpu.is_some_and(|g| g.is_software()),
            seconds_per_epoch: if later.is_empty() { first } else { later.iter().sum::<f64>() / later.len() as f64 },
            first_epoch_seconds: first,
            build_seconds,
            eval_seconds,
            steps_per_epoch: steps,
            // Each epoch also reads its loss back once: one extra submission per epoch.
            dispatches_per_step: train_stats.map(|s| s.dispatches as f64 / total_steps),
            submissions_per_step: train_stats.map(|s| (s.submissions - s.readbacks) as f64 / total_steps),
            upload_bytes_per_step: train_stats.map(|s| s.bytes_uploaded as f64 / total_steps),
            eval_dispatches: eval_stats.map(|s| s.dispatches),
            eval_readbacks: eval_stats.map(|s| s.readbacks),
            eval_download_bytes: eval_stats.map(|s| s.bytes_downloaded),
            train_examples: summary.epochs.first().map_or(0, |e| e.samples),
            eval_scores: (test_eval.users() * data.n_items()) as u64,
            profile,
        };

        // Surprise's protocol for rating families (5 seeded folds, the fixed
        // epochs, each fold trained and tested), timed end to end: Surprise's
        // SVD takes about 2.6 s for it on ML-100K on a 2-core machine.
        let cv = if self.cross_validate && info.task == Task::Rating {
            let cfg = FitConfig {
                epochs: info.schedule.fixed_epochs,
                batch_size: info.schedule.batch_size,
                patience: 0,
                seed: 2024,
                metric: ("rmse".into(), 0),
            };
            let t = Instant::now();
            let folds = gpurec::protocol::rating_cv(b, family.as_ref(), &config, data, 5, &cfg)?;
            let rmse = folds.iter().map(|f| f.test.rmse).sum::<f64>() / folds.len() as f64;
            Some(CvRow {
                model: info.name.into(),
                device: b.describe(),
                seconds: t.elapsed().as_secs_f64(),
                epochs: cfg.epochs,
                rmse,
            })
        } else {
            None
        };
        Ok((row, cv))
    }
}
