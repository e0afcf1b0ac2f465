//! Soak: trains, saves, loads and serves models in a loop on one GPU context
//! for a given time and checks that nothing grows: the process's resident
//! memory, the bytes the buffer pool holds from the driver and the compiled
//! pipelines (bind groups are made per dispatch and dropped with it, so
//! there is no bind-group cache to grow). `scripts/soak [SECONDS]` runs it.
//!
//!     cargo run --release --example soak -- 600
//!
//! Each round trains each of a few families (pair, user-row, item-row and
//! closed-form batches) for two epochs on a small synthetic set, writes its
//! model file, loads it back and recommends the top 10 for every user. The
//! first quarter of the time warms up (pool size classes, pipelines); after
//! it, RSS may not grow by more than 5 % (and 8 MiB), and the pool's bytes and
//! the pipelines not at all. Exits 1 with the figures when one does.

use std::time::{Duration, Instant};

use gpurec::data::synthetic::{generate, SyntheticConfig};
use gpurec::eval::top_k_unseen;
use gpurec::model_file::ModelFile;
use gpurec::models::registry::{self, Overrides};
use gpurec::models::TrainSet;
use gpurec::train::{FitConfig, Silent};
use gpurec::{Backend, Gpu};

const FAMILIES: &[&str] = &["bpr", "multvae", "autorec", "ease", "lightgcn"];

/// Resident set size in bytes, from /proc/self/statm (Linux; 0 elsewhere).
fn rss() -> u64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()))
        .unwrap_or(0);
    pages * 4096
}

fn round(g: &Gpu, dir: &std::path::Path) -> gpurec::Result<()> {
    let d = generate(&SyntheticConfig { users: 120, items: 150, mean_per_user: 15, ..Default::default() });
    let set = TrainSet::all(&d);
    let users: Vec<u32> = (0..d.n_users() as u32).collect();
    let seen: Vec<(u32, u32, f32)> = (0..d.len()).map(|r| (d.users[r], d.items[r], 1.0)).collect();
    for name in FAMILIES {
        let entry = registry::entry::<Gpu>(name)?;
        let dim = (!entry.info().dim_keys.is_empty()).then_some(16);
        let cfg = entry.config(&Overrides { dim, ..Default::default() })?;
        let mut m = entry.build(g, &set, &cfg, 1)?;
        let fit = FitConfig { epochs: 2, batch_size: 64, patience: 0, seed: 3, ..Default::default() };
        gpurec::train::fit(g, m.as_mut(), &set, None, &fit, &mut Silent)?;
        let path = dir.join(format!("{name}.gpurec"));
        registry::to_file(g, m.as_ref(), serde_json::json!({}), &d.user_ids, &d.item_ids)?.save(&path)?;
        let back = registry::load(g, &ModelFile::load(&path)?)?;
        let top = top_k_unseen(g, back.as_ref(), &users, &seen, d.n_items(), 10)?;
        assert_eq!(top.len(), users.len());
    }
    Ok(())
}

fn main() -> gpurec::Result<()> {
    let seconds: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(600);
    let g = Gpu::new()?;
    println!("soak: {} for {seconds} s, families {FAMILIES:?}", g.describe());
    let dir = tempfile::tempdir().map_err(|e| gpurec::Error::Io { path: std::env::temp_dir(), source: e })?;
    let (t0, total) = (Instant::now(), Duration::from_secs(seconds));
    let mut warm: Option<(u64, u64, usize, usize)> = None;
    let mut rounds = 0usize;
    let mut last = (0, 0, 0);
    while t0.elapsed() < total {
        round(&g, dir.path())?;
        rounds += 1;
        let (pool, _) = g.memory_usage();
        last = (rss(), pool, g.pipelines_compiled());
        if warm.is_none() && t0.elapsed() >= total / 4 {
            warm = Some((last.0, last.1, last.2, rounds));
            println!(
                "warm after {rounds} rounds: RSS {} KiB, pool {} KiB, {} pipelines",
                last.0 / 1024,
                last.1 / 1024,
                last.2
            );
        }
    }
    let (rss0, pool0, pipes0, rounds0) = warm.unwrap_or((last.0, last.1, last.2, rounds));
    let (rss1, pool1, pipes1) = last;
    println!(
        "after {rounds} rounds ({:.0} s): RSS {} KiB ({:+} KiB since warm-up, {} rounds), pool {} KiB ({:+}), {} pipelines ({:+})",
        t0.elapsed().as_secs_f64(),
        rss1 / 1024,
        (rss1 as i64 - rss0 as i64) / 1024,
        rounds - rounds0,
        pool1 / 1024,
        (pool1 as i64 - pool0 as i64) / 1024,
        pipes1,
        pipes1 as i64 - pipes0 as i64
    );
    let rss_ok = rss1 <= rss0 + (rss0 / 20).max(8 << 20);
    if !(rss_ok && pool1 <= pool0 && pipes1 <= pipes0) {
        println!("soak FAILED: something grew after the warm-up");
        std::process::exit(1);
    }
    println!("soak passed: flat memory, pool and pipeline cache");
    Ok(())
}
