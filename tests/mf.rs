//! Biased MF end to end: the same training on both backends, determinism, one
//! submission per step, RMSE/MAE by hand, the fallback for users and items
//! unseen in training, early stopping, and learning a planted structure.

mod common;

use common::*;
use gpurec::data::split::k_fold;
use gpurec::data::synthetic::{generate, SyntheticConfig};
use gpurec::data::Interactions;
use gpurec::eval::rating::{RatingEval, RatingModel, Ratings};
use gpurec::models::mf::{BiasedMf, MfConfig};
use gpurec::models::{Batch, Model, TrainSet};
use gpurec::train::{FitConfig, PointSampler, Silent};
use gpurec::{Backend, Cpu};

fn small() -> Interactions {
    generate(&SyntheticConfig { users: 120, items: 200, mean_per_user: 30, ..Default::default() })
}

/// Fold 1 of a seeded 5-fold split: (train, test).
fn split(d: &Interactions) -> (Ratings, Ratings) {
    let (train, test) = k_fold(d.len(), 5, 3).swap_remove(0);
    (Ratings::from_rows(d, &train), Ratings::from_rows(d, &test))
}

fn fit(epochs: usize, batch_size: usize) -> FitConfig {
    FitConfig { epochs, batch_size, patience: 0, seed: 9, metric: ("rmse".into(), 0) }
}

/// Loss curve, factors and biases after `epochs` epochs on the small set.
fn losses<B: Backend>(b: &B, epochs: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let d = small();
    let (train, _) = split(&d);
    let cfg = MfConfig { dim: 8, init_std: 0.1, ..Default::default() };
    let mut m = BiasedMf::new(b, d.n_users(), d.n_items(), &train, cfg, 5).unwrap();
    let summary = gpurec::train::fit(
        b,
        &mut m,
        &TrainSet::from_ratings(d.n_users(), d.n_items(), train.clone()),
        None,
        &fit(epochs, 256),
        &mut Silent,
    )
    .unwrap();
    (summary.epochs.iter().map(|e| e.loss).collect(), b.read(&m.factors).unwrap(), b.read(&m.biases).unwrap())
}

#[test]
fn mf_trains_the_same_on_gpu_and_cpu() {
    let Some(gpu) = gpu() else { return };
    let (lc, fc, bc) = losses(&Cpu, 4);
    let (lg, fg, bg) = losses(&gpu, 4);
    eprintln!("cpu losses {lc:?}\ngpu losses {lg:?}");
    // Same batches, same update order: only float rounding differs.
    assert_close("loss curve", &lg, &lc, Tol { abs: 1e-5, rel: 1e-4 });
    assert_close("factors", &fg, &fc, Tol { abs: 1e-4, rel: 1e-3 });
    assert_close("biases", &bg, &bc, Tol { abs: 1e-4, rel: 1e-3 });
    assert!(lc[3] < lc[0], "loss falls: {lc:?}");
}

#[test]
fn mf_is_bit_for_bit_deterministic() {
    assert_eq!(losses(&Cpu, 2), losses(&Cpu, 2), "cpu");
    let Some(gpu) = gpu() else { return };
    assert_eq!(losses(&gpu, 2), losses(&gpu, 2), "gpu");
}

#[test]
fn a_training_step_is_one_submission_with_o_batch_uploads() {
    // A context of its own: the shared one's counters see the other tests running in parallel.
    if gpu().is_none() {
        return;
    }
    let gpu = gpurec::Gpu::new().unwrap();
    let d = generate(&SyntheticConfig { users: 1000, items: 1500, mean_per_user: 20, ..Default::default() });
    let train = Ratings::from_rows(&d, &(0..d.len()).collect::<Vec<_>>());
    let mut m = BiasedMf::new(&gpu, d.n_users(), d.n_items(), &train, MfConfig::default(), 1).unwrap();
    let mut sampler = PointSampler::new(&train, 1);
    sampler.shuffle();
    gpu.flush().unwrap();
    let batch = 512;
    let (u, i, r) = sampler.batch(0, batch);
    let before = gpu.stats();
    let loss = m.train_step(&gpu, &Batch::Points { users: &u, items: &i, targets: &r }).unwrap();
    gpu.flush().unwrap();
    let step = gpu.stats() - before;
    eprintln!("one MF step: {step:?}");
    assert_eq!(step.submissions, 1);
    assert_eq!(step.readbacks, 0);
    assert_eq!(step.dispatches, 7, "fused residuals + mean, the CSR value gather, two products, two Adam updates");
    // Indices, targets and the CSR layout of the gradients: at most 21 words per
    // rating (3 per rating, 3 per touched row ≤ 2 per rating, 3 per CSR entry ≤ 4 per rating),
    // never the tables (2500 × 32 floats here).
    assert!(step.bytes_uploaded <= 21 * 4 * batch as u64, "{} bytes uploaded", step.bytes_uploaded);
    assert!(gpu.read(&loss).unwrap()[0].is_finite());
}

/// Both backends' RMSE/MAE on five hand-built predictions, two of them clipped.
fn hand_computed<B: Backend>(b: &B) {
    // μ = 3 from the training ratings; the tables are then set by hand.
    let train = Ratings { users: vec![0, 1], items: vec![0, 1], ratings: vec![4.0, 2.0] };
    let cfg = MfConfig { dim: 2, ..Default::default() };
    let mut m = BiasedMf::new(b, 2, 3, &train, cfg, 1).unwrap();
    assert_eq!(m.global_mean(), 3.0);
    // Rows: users u0, u1, then items i0, i1, i2.
    let factors = [1.0, 0.0, 0.5, 2.0, 1.0, 1.0, 2.0, 0.0, 0.0, -1.0];
    m.factors = b.tensor(&factors, &[5, 2]).unwrap();
    // b_u0, b_u1, b_i0, b_i1, b_i2, then the constant row.
    m.biases = b.tensor(&[0.5, -1.0, 0.25, 1.0, -0.5, 1.0], &[6, 1]).unwrap();
    let test =
        Ratings { users: vec![0, 0, 1, 1, 0], items: vec![0, 1, 2, 0, 2], ratings: vec![5.0, 4.0, 2.0, 3.0, 3.0] };
    // r̂ = μ + b_u + b_i + p_u·q_i:
    //   (u0,i0) 3 + 0.5 + 0.25 + 1 = 4.75    error −0.25
    //   (u0,i1) 3 + 0.5 + 1 + 2    = 6.5  → 5, error 1
    //   (u1,i2) 3 − 1 − 0.5 − 2    = −0.5 → 1, error −1
    //   (u1,i0) 3 − 1 + 0.25 + 2.5 = 4.75    error 1.75
    //   (u0,i2) 3 + 0.5 − 0.5 + 0  = 3       error 0
    let raw = b.read(&m.predict(b, &test.users, &test.items).unwrap()).unwrap();
    assert_eq!(raw, vec![4.75, 6.5, -0.5, 4.75, 3.0], "unclipped predictions");
    // Σ e² = 0.0625 + 1 + 1 + 3.0625 = 5.125; Σ |e| = 4.
    for batch in [2, 5, 100] {
        let got = RatingEval::new(b, &test, (1.0, 5.0), batch).unwrap().evaluate(b, &m).unwrap();
        assert!((got.rmse - (5.125f64 / 5.0).sqrt()).abs() < 1e-6, "batch {batch}: {got:?}");
        assert!((got.mae - 0.8).abs() < 1e-6, "batch {batch}: {got:?}");
        assert_eq!(got.count, 5);
    }
    let empty = RatingEval::new(b, &Ratings::default(), (1.0, 5.0), 8).unwrap();
    assert_eq!(empty.evaluate(b, &m).unwrap().count, 0);
    assert!(m.predict(b, &[2], &[0]).is_err(), "user 2 is outside the model");
}

#[test]
fn rmse_and_mae_by_hand() {
    hand_computed(&Cpu);
    if let Some(gpu) = gpu() {
        hand_computed(&gpu);
    }
}

/// Trains without user 0 and item 0, then checks what they are predicted.
fn unseen_fallback<B: Backend>(b: &B) {
    let d = small();
    let rows: Vec<usize> = (0..d.len()).filter(|&r| d.users[r] != 0 && d.items[r] != 0).collect();
    let train = Ratings::from_rows(&d, &rows);
    let cfg = MfConfig { dim: 8, init_std: 0.1, ..Default::default() };
    let mut m = BiasedMf::new(b, d.n_users(), d.n_items(), &train, cfg, 2).unwrap();
    gpurec::train::fit(
        b,
        &mut m,
        &TrainSet::from_ratings(d.n_users(), d.n_items(), train.clone()),
        None,
        &fit(3, 256),
        &mut Silent,
    )
    .unwrap();
    let (p, q) = m.read_factors(b).unwrap();
    let (bu, bi) = m.read_biases(b).unwrap();
    assert!(p[..8].iter().chain(&q[..8]).all(|&x| x == 0.0), "unseen rows keep zero factors");
    assert_eq!((bu[0], bi[0]), (0.0, 0.0), "and zero biases");
    assert!(p[8..16].iter().any(|&x| x != 0.0) && bu[1] != 0.0, "seen rows were trained");
    let mu = m.global_mean();
    let pred = b.read(&m.predict(b, &[0, 0, 5, 0], &[3, 7, 0, 0]).unwrap()).unwrap();
    let want = [mu + bi[3], mu + bi[7], mu + bu[5], mu];
    assert_close("unseen user → μ + b_i, unseen item → μ + b_u, both → μ", &pred, &want, EXACTISH);
}

#[test]
fn unseen_users_and_items_fall_back_to_known_biases() {
    unseen_fallback(&Cpu);
    if let Some(gpu) = gpu() {
        unseen_fallback(&gpu);
    }
}

#[test]
fn early_stopping_restores_the_best_weights() {
    let d = small();
    let (train, valid) = split(&d);
    // A large learning rate without penalties overfits after a few epochs.
    let cfg = MfConfig { dim: 16, lr: 0.05, reg: 0.0, reg_row: 0.0, init_std: 0.1 };
    let mut m = BiasedMf::new(&Cpu, d.n_users(), d.n_items(), &train, cfg, 3).unwrap();
    let eval = RatingEval::new(&Cpu, &valid, (1.0, 5.0), 1000).unwrap();
    let cfg = FitConfig { patience: 3, ..fit(100, 256) };
    let s = gpurec::train::fit(
        &Cpu,
        &mut m,
        &TrainSet::from_ratings(d.n_users(), d.n_items(), train.clone()),
        Some(&eval),
        &cfg,
        &mut Silent,
    )
    .unwrap();
    let best = *s.best_metrics.as_ref().and_then(|m| m.rating()).unwrap();
    eprintln!("stopped after {} epochs, best {} with {best:?}", s.epochs.len(), s.best_epoch);
    assert_eq!(s.epochs.len(), s.best_epoch + 3, "stops 3 epochs after the best");
    let valid: Vec<_> = s.epochs.iter().map(|e| *e.valid.as_ref().and_then(|m| m.rating()).unwrap()).collect();
    assert_eq!(valid.len(), s.epochs.len());
    assert!(valid.iter().all(|v| v.rmse >= best.rmse));
    assert_eq!(eval.evaluate(&Cpu, &m).unwrap(), best, "the best weights are back");
    // Early stopping needs a rating metric.
    let bad = FitConfig { metric: ("ndcg".into(), 10), ..cfg };
    assert!(gpurec::train::fit(
        &Cpu,
        &mut m,
        &TrainSet::from_ratings(d.n_users(), d.n_items(), train.clone()),
        Some(&eval),
        &bad,
        &mut Silent
    )
    .is_err());
}

/// Test RMSE of biased MF and of the same model without factors (biases only).
fn planted<B: Backend>(b: &B, d: &Interactions) -> (f64, f64) {
    let (train, test) = split(d);
    let eval = RatingEval::new(b, &test, (1.0, 5.0), 4096).unwrap();
    let rmse = |init_std: f32| {
        let cfg = MfConfig { dim: 16, init_std, ..Default::default() };
        let mut m = BiasedMf::new(b, d.n_users(), d.n_items(), &train, cfg, 4).unwrap();
        gpurec::train::fit(
            b,
            &mut m,
            &TrainSet::from_ratings(d.n_users(), d.n_items(), train.clone()),
            None,
            &fit(15, 1024),
            &mut Silent,
        )
        .unwrap();
        eval.evaluate(b, &m).unwrap().rmse
    };
    // With zero factors every factor gradient is zero: a biases-only baseline.
    (rmse(0.01), rmse(0.0))
}

#[test]
fn mf_learns_planted_structure_on_both_backends() {
    // Ratings rise with the planted affinity p_u·q_i, which biases alone cannot
    // express. A weak affinity in the choice of items (α = 1) leaves the rated
    // items spread over the whole affinity range rather than only its top.
    let d = generate(&SyntheticConfig { users: 300, items: 400, affinity: 1.0, ..Default::default() });
    let (mf, biases) = planted(&Cpu, &d);
    eprintln!("cpu test RMSE: MF {mf:.4}, biases only {biases:.4}");
    assert!(mf < 0.9 * biases, "MF {mf} vs biases only {biases}");
    if let Some(gpu) = gpu() {
        let (g, _) = planted(&gpu, &d);
        eprintln!("gpu test RMSE: MF {g:.4}");
        assert!((g - mf).abs() < 0.005, "gpu {g} vs cpu {mf}");
    }
}
