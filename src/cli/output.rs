//! What the subcommands print: progress bars and metric tables.

use gpurec::eval::RankingMetrics;
use gpurec::train::{EpochReport, Progress};
use indicatif::{ProgressBar, ProgressStyle};

/// An epoch bar with the validation metric, printing a line every ten epochs.
pub struct Bars {
    pub bar: ProgressBar,
    quiet: bool,
    /// The early-stopping metric shown, e.g. ("ndcg", 10).
    metric: (String, usize),
}

impl Bars {
    /// A bar over `epochs` epochs (hidden with `quiet`).
    pub fn new(epochs: usize, quiet: bool, metric: (String, usize)) -> Self {
        let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new(epochs as u64) };
        bar.set_style(
            ProgressStyle::with_template("{elapsed_precise} [{bar:30}] epoch {pos}/{len} {msg}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        Self { bar, quiet, metric }
    }

    fn metric_name(&self) -> String {
        match self.metric.1 {
            0 => self.metric.0.clone(),
            k => format!("{}@{k}", self.metric.0),
        }
    }
}

impl Progress for Bars {
    fn on_step(&mut self, _epoch: usize, _step: usize, _steps: usize) {
        self.bar.tick();
    }
    fn on_epoch(&mut self, r: &EpochReport) {
        self.bar.set_position(r.epoch as u64);
        let name = self.metric_name();
        let v = r
            .valid
            .as_ref()
            .and_then(|m| m.get(&self.metric.0, self.metric.1))
            .map(|v| format!("{v:.4}"))
            .unwrap_or("-".into());
        self.bar.set_message(format!(
            "loss {:.4} | valid {name} {v}{} | {:.0} samples/s",
            r.loss,
            if r.improved { " *" } else { "" },
            r.samples_per_second
        ));
        if !self.quiet && r.epoch.is_multiple_of(10) {
            self.bar.println(format!(
                "epoch {:>4}  loss {:.4}  valid {name} {v}  train {:.2}s  eval {:.2}s",
                r.epoch, r.loss, r.train_seconds, r.eval_seconds
            ));
        }
    }
}

/// The test metrics as a table: one row per metric, one column per cut-off.
pub fn print_table(m: &RankingMetrics, secs: f64) {
    println!("\ntest metrics ({} users, full ranking over all items, {:.3}s):", m.users, secs);
    print!("  {:<10}", "");
    for k in &m.ks {
        print!("{:>10}", format!("@{k}"));
    }
    println!();
    for name in RankingMetrics::NAMES {
        print!("  {name:<10}");
        for &k in &m.ks {
            print!("{:>10.4}", m.get(name, k).unwrap_or(f64::NAN));
        }
        println!();
    }
    if let Some(auc) = m.auc {
        println!("  {:<10}{auc:>10.4}", "auc");
    }
}

/// Bytes in KiB, MiB or GiB.
pub fn bytes(b: u64) -> String {
    if b >= 1 << 30 {
        format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64)
    } else if b >= 1 << 20 {
        format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.1} KiB", b as f64 / 1024.0)
    }
}
