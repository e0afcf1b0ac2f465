//! Trains BPR-MF on the embedded synthetic dataset on both backends with the
//! same seed and prints the two loss curves side by side: they fall the same
//! way, up to float rounding.
//!
//!     cargo run --release --example loss_curves

use gpurec::data::split::per_user_ratio;
use gpurec::data::synthetic::{generate, SyntheticConfig};
use gpurec::models::TrainSet;
use gpurec::models::{BprConfig, BprMf};
use gpurec::train::{FitConfig, Silent};
use gpurec::{Backend, Cpu, Gpu};

fn curve<B: Backend>(b: &B) -> gpurec::Result<Vec<(f32, f64)>> {
    let data = generate(&SyntheticConfig { users: 400, items: 600, ..Default::default() });
    let split = per_user_ratio(&data, 0.1, 0.1, 1);
    let train = data.user_item_csr(&split.train);
    let cfg = BprConfig { dim: 32, lr: 0.005, reg: 0.0 };
    let mut model = BprMf::new(b, data.n_users(), data.n_items(), cfg, 7)?;
    let fit = FitConfig { epochs: 10, batch_size: 1024, patience: 0, seed: 11, ..Default::default() };
    let summary = gpurec::train::fit(b, &mut model, &TrainSet::from_csr(&train), None, &fit, &mut Silent)?;
    Ok(summary.epochs.iter().map(|e| (e.loss, e.train_seconds)).collect())
}

fn main() -> gpurec::Result<()> {
    let cpu = curve(&Cpu)?;
    let gpu = match Gpu::new() {
        Ok(g) => {
            println!("GPU backend: {}", g.describe());
            Some(curve(&g)?)
        }
        Err(e) => {
            println!("no GPU adapter ({e}); showing the CPU curve only");
            None
        }
    };
    println!("{:>5}  {:>12}  {:>12}  {:>10}", "epoch", "cpu loss", "gpu loss", "|diff|");
    for (e, (c, _)) in cpu.iter().enumerate() {
        match &gpu {
            Some(g) => println!("{:>5}  {:>12.6}  {:>12.6}  {:>10.2e}", e + 1, c, g[e].0, (c - g[e].0).abs()),
            None => println!("{:>5}  {:>12.6}", e + 1, c),
        }
    }
    Ok(())
}
