//! Shared test support: one GPU context per test process, seeded inputs,
//! the shapes every parity test crosses, and named tolerances.
#![allow(dead_code)]

use std::sync::OnceLock;

use gpurec::{Backend, Cpu, Gpu};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The process's GPU context, or `None` (with a note) when no adapter exists.
/// With `REQUIRE_GPU=1` a missing adapter fails the test instead.
pub fn gpu() -> Option<Gpu> {
    static GPU: OnceLock<Option<Gpu>> = OnceLock::new();
    GPU.get_or_init(|| match Gpu::new() {
        Ok(g) => {
            eprintln!("testing on {}", g.describe());
            Some(g)
        }
        Err(e) => {
            if std::env::var("REQUIRE_GPU").as_deref() == Ok("1") {
                panic!("REQUIRE_GPU=1 but no GPU context: {e}");
            }
            eprintln!("SKIPPING GPU part of test: {e}");
            None
        }
    })
    .clone()
}

/// Sizes that cross workgroup boundaries: 1, primes, and just past 64 and 256.
pub const SIZES: &[usize] = &[1, 2, 7, 13, 65, 257];

/// `|got − want| ≤ abs + rel · max(|got|, |want|)`.
#[derive(Clone, Copy, Debug)]
pub struct Tol {
    pub abs: f32,
    pub rel: f32,
}

/// Same op order on both sides: only rounding of transcendental functions differs.
pub const EXACTISH: Tol = Tol { abs: 1e-6, rel: 1e-5 };
/// Sums whose order differs between backends (matmul, convolutions).
pub const SUMS: Tol = Tol { abs: 1e-5, rel: 1e-4 };

/// Asserts two slices agree within `tol`, naming the first offending element.
pub fn assert_close(what: &str, got: &[f32], want: &[f32], tol: Tol) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        if g == w || (g.is_nan() && w.is_nan()) {
            continue;
        }
        let bound = tol.abs + tol.rel * g.abs().max(w.abs());
        assert!((g - w).abs() <= bound, "{what}[{i}]: got {g}, want {w} (|diff| {} > {bound})", (g - w).abs());
    }
}

/// Seeded uniform values in [-1, 1).
pub fn rand_vec(seed: u64, n: usize) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

/// Seeded integers in [0, bound).
pub fn rand_ints(seed: u64, n: usize, bound: u32) -> Vec<u32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(0..bound)).collect()
}

/// Uploads the same data to both backends.
pub fn both(gpu: &Gpu, data: &[f32], shape: &[usize]) -> (<Cpu as Backend>::Tensor, <Gpu as Backend>::Tensor) {
    (Cpu.tensor(data, shape).unwrap(), gpu.tensor(data, shape).unwrap())
}

/// Reads both and compares.
pub fn check(what: &str, gpu: &Gpu, got: &<Gpu as Backend>::Tensor, want: &<Cpu as Backend>::Tensor, tol: Tol) {
    use gpurec::backend::Shaped;
    assert_eq!(got.dims(), want.dims(), "{what}: shapes differ");
    assert_close(what, &gpu.read(got).unwrap(), &Cpu.read(want).unwrap(), tol);
}

// ---- finite differences (layer gradient checks) ----

/// Step of the central differences.
pub const EPS: f32 = 1e-2;
/// f32 forward passes and an O(ε²) truncation error: 1e-2 relative is what
/// central differences with ε = 1e-2 can promise, far below any real bug.
pub const FD: Tol = Tol { abs: 1e-3, rel: 1e-2 };

/// L = Σ y ⊙ r (so ∂L/∂y = r), accumulated in f64.
pub fn dot(y: &[f32], r: &[f32]) -> f64 {
    y.iter().zip(r).map(|(&a, &b)| a as f64 * b as f64).sum()
}

/// Compares analytic gradients with central differences of `loss` over
/// every coordinate of `at`. With piecewise-linear activations a step may
/// cross a kink; there the derivative at the point is the slope on the side
/// without the kink, so a one-sided difference that matches is accepted too
/// (for at most half of the coordinates).
pub fn check_fd(what: &str, at: &[f32], analytic: &[f32], kinks: bool, loss: &dyn Fn(&[f32]) -> f64) {
    check_fd_step(what, at, analytic, kinks, EPS, loss)
}

/// [`check_fd`] with step `eps` instead of [`EPS`], for a loss that bends
/// too sharply for 1e-2 (a smaller step trades truncation for f32 rounding,
/// which the absolute part of [`FD`] covers down to about 1e-3).
pub fn check_fd_step(what: &str, at: &[f32], analytic: &[f32], kinks: bool, eps: f32, loss: &dyn Fn(&[f32]) -> f64) {
    assert_eq!(at.len(), analytic.len(), "{what}: sizes");
    let base = loss(at);
    let close = |a: f32, b: f32| (a - b).abs() <= FD.abs + FD.rel * a.abs().max(b.abs());
    let mut one_sided = 0;
    for k in 0..at.len() {
        let mut p = at.to_vec();
        p[k] = at[k] + eps;
        let up = loss(&p);
        p[k] = at[k] - eps;
        let down = loss(&p);
        let central = ((up - down) / (2.0 * eps as f64)) as f32;
        if kinks && !close(analytic[k], central) {
            let (right, left) = (((up - base) / eps as f64) as f32, ((base - down) / eps as f64) as f32);
            if close(analytic[k], right) || close(analytic[k], left) {
                one_sided += 1;
                continue;
            }
        }
        assert_close(&format!("{what}[{k}] (analytic vs numeric)"), &[analytic[k]], &[central], FD);
    }
    assert!(one_sided * 2 <= at.len(), "{what}: {one_sided} of {} coordinates sat on a kink", at.len());
}

// ---- ML-100K under RecBole's protocol (quality tests) ----

/// Test NDCG@10 of registered family `model` on ML-100K under RecBole's
/// protocol (per-user 8:1:1 split, seed 2024, full ranking, early stopping
/// on validation NDCG@10 with the family's schedule, `overrides` applied,
/// `batch` and `epochs` replacing the schedule's when given), printing the
/// run; `None`, with a note, when the data set is absent.
pub fn ml100k_ranking_ndcg<B: gpurec::Backend>(
    b: &B,
    model: &str,
    o: &gpurec::models::registry::Overrides,
    batch: Option<usize>,
    epochs: Option<usize>,
) -> Option<f64> {
    ml100k_ranking(b, model, o, batch, epochs, false).map(|m| m.get("ndcg", 10).unwrap())
}

/// The test metrics of [`ml100k_ranking_ndcg`]'s run, on the per-user 8:1:1
/// split or (`loo`) on chronological leave-one-out (the sequential
/// protocol: the last interaction tests, the one before validates).
pub fn ml100k_ranking<B: gpurec::Backend>(
    b: &B,
    model: &str,
    o: &gpurec::models::registry::Overrides,
    batch: Option<usize>,
    epochs: Option<usize>,
    loo: bool,
) -> Option<gpurec::eval::RankingMetrics> {
    ml100k_ranking_with(b, model, o, batch, epochs, loo, &Default::default())
}

/// [`ml100k_ranking`] with other ranking options (e.g. seen items not masked).
pub fn ml100k_ranking_with<B: gpurec::Backend>(
    b: &B,
    model: &str,
    o: &gpurec::models::registry::Overrides,
    batch: Option<usize>,
    epochs: Option<usize>,
    loo: bool,
    opts: &gpurec::protocol::RankingOptions,
) -> Option<gpurec::eval::RankingMetrics> {
    use gpurec::data::movielens::{find_ml100k, load_ml100k};
    use gpurec::data::split::{leave_one_out, per_user_ratio};
    use gpurec::models::registry;
    use gpurec::train::{FitConfig, Silent};
    let Some(dir) = find_ml100k() else {
        eprintln!("ML-100K NOT FOUND (looked in $GPUREC_ML100K and ../shared/datasets/ml-100k): quality test not run");
        return None;
    };
    let data = load_ml100k(&dir).unwrap();
    let split = if loo { leave_one_out(&data) } else { per_user_ratio(&data, 0.1, 0.1, 2024) };
    let family = registry::entry::<B>(model).unwrap();
    let config = family.config(o).unwrap();
    let s = family.info().schedule;
    let fit = FitConfig {
        epochs: epochs.unwrap_or(s.epochs),
        batch_size: batch.unwrap_or(s.batch_size),
        patience: s.patience,
        seed: 2024,
        ..Default::default()
    };
    let run = gpurec::protocol::ranking(b, family.as_ref(), &config, &data, &split, &fit, opts, &mut Silent).unwrap();
    let m = run.test;
    let epochs = run.summary.epochs.len();
    let train: f64 = run.summary.epochs.iter().map(|e| e.train_seconds).sum();
    eprintln!(
        "{model} {config} batch {} on ML-100K ({}), {}: best epoch {} of {epochs} ({:.3} s/epoch training), \
         valid NDCG@10 {:.4}, test NDCG@10 {:.4} Recall@10 {:.4} Hit@10 {:.4} MRR@10 {:.4} NDCG@20 {:.4} Hit@20 {:.4} \
         ({:.1} s to fit and validate)",
        fit.batch_size,
        if loo { "chronological leave-one-out" } else { "per-user 8:1:1" },
        b.describe(),
        run.summary.best_epoch,
        train / epochs.max(1) as f64,
        run.summary.best_valid.unwrap_or(f64::NAN),
        m.get("ndcg", 10).unwrap(),
        m.get("recall", 10).unwrap(),
        m.get("hit", 10).unwrap(),
        m.get("mrr", 10).unwrap(),
        m.get("ndcg", 20).unwrap(),
        m.get("hit", 20).unwrap(),
        run.train_seconds
    );
    Some(m)
}

/// The work one `train_step` on `batch` records on `g`, flushed: its
/// submissions, read-backs, dispatches and uploaded bytes. `g` should be a
/// context of the test's own (the shared one's counters see other tests).
pub fn step_stats(
    g: &Gpu,
    m: &mut dyn gpurec::models::Model<Gpu>,
    batch: &gpurec::models::Batch<'_>,
) -> gpurec::gpu::GpuStats {
    g.flush().unwrap();
    let before = g.stats();
    let loss = m.train_step(g, batch).unwrap();
    g.flush().unwrap();
    let s = g.stats() - before;
    assert!(g.read(&loss).unwrap()[0].is_finite(), "a finite loss");
    s
}

/// Users walk the items in a fixed cycle (item k is followed by k + 1 mod
/// `items`), each from their own start, one step per timestamp.
pub fn cycles(users: usize, items: usize, len: usize) -> gpurec::data::Interactions {
    let mut d = gpurec::data::Interactions::default();
    for i in 0..items {
        d.item_ids.intern(&i.to_string());
    }
    for u in 0..users {
        let start = (u * 7) % items;
        for t in 0..len {
            d.push(&format!("u{u}"), &((start + t) % items).to_string(), 1.0, t as i64);
        }
    }
    d
}
