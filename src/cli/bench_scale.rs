//! `gpurec bench --scale`: the same timed epochs and evaluation as
//! `gpurec bench`, on synthetic data sets that grow (users = n/100, items =
//! n/200, 100 interactions per user on average, skewed popularity), to show
//! whether the cost per training example stays flat as the tables grow, how
//! many user–item scores per second the full-ranking evaluation ranks, and
//! the process's peak memory at each size.

use super::bench::{backend_for, BenchArgs, BenchJob, BenchRow};
use anyhow::{bail, Result};
use gpurec::data::synthetic::{generate, parse_count, SyntheticConfig};

#[derive(serde::Serialize)]
struct ScaleRow {
    interactions: usize,
    users: usize,
    items: usize,
    /// Microseconds of a training epoch per training example (BPR: per triple).
    us_per_example: f64,
    /// User–item scores ranked per second by one full-ranking evaluation.
    scores_per_second: f64,
    /// Peak resident memory while this size ran (since a reset of the
    /// kernel's high-water mark; the peak of the whole run so far where the
    /// kernel cannot reset it), when the platform reports it.
    peak_rss_bytes: Option<u64>,
    peak_since_reset: bool,
    #[serde(flatten)]
    bench: BenchRow,
}

/// Runs `--scale SIZES` (comma-separated counts, `k`/`m` suffixes allowed).
pub fn bench_scale(args: &BenchArgs, sizes: &str) -> Result<()> {
    let sizes: Vec<usize> = sizes
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| parse_count(s.trim()).ok_or_else(|| anyhow::anyhow!("--scale: {s:?} is not a count (e.g. 250k, 1m)")))
        .collect::<Result<_>>()?;
    if sizes.is_empty() {
        bail!("--scale: no sizes given (e.g. --scale 250k,1m,4m)");
    }
    let models: Vec<String> = if args.models.is_empty() { vec!["bpr".into()] } else { args.models.clone() };
    let overrides = args.overrides()?;
    let mut rows = Vec::new();
    for &n in &sizes {
        let cfg = SyntheticConfig::scaled(n);
        cfg.check()?;
        let data = generate(&cfg);
        if !args.json {
            println!("scale {n}: {}", data.summary());
        }
        for &device in &args.devices {
            let Some(backend) = backend_for(device)? else { continue };
            for model in &models {
                let reset = reset_peak_rss();
                let (bench, _) = backend.run(BenchJob {
                    model,
                    data: &data,
                    epochs: args.epochs,
                    batch_size: args.batch_size,
                    profile: false,
                    cross_validate: false,
                    overrides: &overrides,
                })?;
                let row = ScaleRow {
                    interactions: data.len(),
                    users: data.n_users(),
                    items: data.n_items(),
                    us_per_example: 1e6 * bench.seconds_per_epoch / bench.train_examples.max(1) as f64,
                    scores_per_second: bench.eval_scores as f64 / bench.eval_seconds.max(1e-9),
                    peak_rss_bytes: peak_rss_bytes(),
                    peak_since_reset: reset,
                    bench,
                };
                if !args.json {
                    print_row(&row);
                }
                rows.push(row);
            }
        }
    }
    let ratios = growth(&rows);
    if args.json {
        let out = serde_json::json!({ "rows": rows, "per_example_growth": ratios });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for g in &ratios {
            println!(
                "{} on {}: the cost per training example at {} interactions is {:.2}× its cost at {} (flat is 1×)",
                g.model, g.device, g.to_interactions, g.ratio, g.from_interactions
            );
        }
    }
    Ok(())
}

fn print_row(r: &ScaleRow) {
    let rss = match r.peak_rss_bytes {
        Some(b) => format!("{:>6.0} MB{}", b as f64 / 1e6, if r.peak_since_reset { "" } else { " (run so far)" }),
        None => "–".into(),
    };
    println!(
        "  {:<9} {:<40} {:>9} × {:<7} {:>8.3} s/epoch {:>7.3} µs/example  eval {:>7.3} s {:>8.1} M scores/s  peak {rss}",
        r.bench.model,
        r.bench.device,
        r.users,
        r.items,
        r.bench.seconds_per_epoch,
        r.us_per_example,
        r.bench.eval_seconds,
        r.scores_per_second / 1e6,
        rss = rss,
    );
    if r.bench.software_adapter {
        println!("            (a software rasterizer: these times are not GPU figures)");
    }
}

/// How one model's cost per example on one backend grew from the smallest size to the largest.
#[derive(serde::Serialize)]
struct Growth {
    model: String,
    device: String,
    from_interactions: usize,
    to_interactions: usize,
    /// µs per example at the largest size over µs per example at the smallest.
    ratio: f64,
}

fn growth(rows: &[ScaleRow]) -> Vec<Growth> {
    let mut out: Vec<Growth> = Vec::new();
    for r in rows {
        let key = (&r.bench.model, &r.bench.device);
        if out.iter().any(|g| (&g.model, &g.device) == key) {
            continue;
        }
        let same = || rows.iter().filter(|o| (&o.bench.model, &o.bench.device) == key);
        let (Some(lo), Some(hi)) = (same().min_by_key(|o| o.interactions), same().max_by_key(|o| o.interactions))
        else {
            continue;
        };
        if hi.interactions > lo.interactions {
            out.push(Growth {
                model: r.bench.model.clone(),
                device: r.bench.device.clone(),
                from_interactions: lo.interactions,
                to_interactions: hi.interactions,
                ratio: hi.us_per_example / lo.us_per_example.max(1e-12),
            });
        }
    }
    out
}

/// Resets the kernel's peak-RSS mark for this process (Linux:
/// `/proc/self/clear_refs`); false where that is not possible.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The process's peak resident memory (Linux: `VmHWM` in `/proc/self/status`).
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
