//! BPR-MF end to end: the same training on both backends, determinism, one
//! submission per step, and learning a planted structure.

mod common;

use common::*;
use gpurec::data::split::per_user_ratio;
use gpurec::data::synthetic::{generate, SyntheticConfig};
use gpurec::eval::RankingEval;
use gpurec::models::{Batch, Model, TrainSet};
use gpurec::models::{BprConfig, BprMf};
use gpurec::train::{FitConfig, PairSampler, Silent};
use gpurec::{Backend, Cpu};

fn small() -> gpurec::data::Interactions {
    generate(&SyntheticConfig { users: 120, items: 200, mean_per_user: 30, ..Default::default() })
}

fn losses<B: Backend>(b: &B, epochs: usize) -> (Vec<f32>, Vec<f32>) {
    let d = small();
    let s = per_user_ratio(&d, 0.1, 0.1, 3);
    let train = d.user_item_csr(&s.train);
    let cfg = BprConfig { dim: 16, lr: 0.01, reg: 0.0 };
    let mut m = BprMf::new(b, d.n_users(), d.n_items(), cfg, 5).unwrap();
    let fit = FitConfig { epochs, batch_size: 256, patience: 0, seed: 9, ..Default::default() };
    let summary = gpurec::train::fit(b, &mut m, &TrainSet::from_csr(&train), None, &fit, &mut Silent).unwrap();
    (summary.epochs.iter().map(|e| e.loss).collect(), b.read(&m.item).unwrap())
}

#[test]
fn bpr_trains_the_same_on_gpu_and_cpu() {
    let Some(gpu) = gpu() else { return };
    let (lc, wc) = losses(&Cpu, 4);
    let (lg, wg) = losses(&gpu, 4);
    eprintln!("cpu losses {lc:?}\ngpu losses {lg:?}");
    // Same sampled batches, same update order: only float rounding differs.
    assert_close("loss curve", &lg, &lc, Tol { abs: 1e-5, rel: 1e-4 });
    assert_close("item embeddings", &wg, &wc, Tol { abs: 1e-4, rel: 1e-3 });
    assert!(lc[3] < lc[0], "loss falls: {lc:?}");
}

#[test]
fn bpr_is_bit_for_bit_deterministic() {
    let (l1, w1) = losses(&Cpu, 2);
    let (l2, w2) = losses(&Cpu, 2);
    assert_eq!((l1, w1), (l2, w2), "cpu");
    let Some(gpu) = gpu() else { return };
    let (l1, w1) = losses(&gpu, 2);
    let (l2, w2) = losses(&gpu, 2);
    assert_eq!((l1, w1), (l2, w2), "gpu");
}

#[test]
fn a_training_step_is_one_submission_with_o_batch_uploads() {
    // A context of its own: the shared one's counters see the other tests running in parallel.
    if gpu().is_none() {
        return;
    }
    let gpu = gpurec::Gpu::new().unwrap();
    let d = small();
    let train = d.user_item_csr(&(0..d.len()).collect::<Vec<_>>());
    let mut m = BprMf::new(&gpu, d.n_users(), d.n_items(), BprConfig::default(), 1).unwrap();
    let mut sampler = PairSampler::new(&train, 1);
    sampler.shuffle();
    gpu.flush().unwrap();
    let batch = 512;
    let (u, i, j) = sampler.batch(0, batch);
    let before = gpu.stats();
    let loss = m.train_step(&gpu, &Batch::Pairs { users: &u, pos: &i, neg: &j }).unwrap();
    gpu.flush().unwrap();
    let step = gpu.stats() - before;
    eprintln!("one BPR step: {step:?}");
    assert_eq!(step.submissions, 1);
    assert_eq!(step.readbacks, 0);
    assert_eq!(step.dispatches, 6, "fused loss + mean, two scatter-adds, two Adam row updates");
    // Indices and row groupings only: a few u32 per triple, never the tables.
    assert!(step.bytes_uploaded <= 12 * 4 * batch as u64, "{} bytes uploaded", step.bytes_uploaded);
    assert!(gpu.read(&loss).unwrap()[0].is_finite());
}

#[test]
fn bpr_learns_planted_structure_on_both_backends() {
    let d = generate(&SyntheticConfig { users: 300, items: 400, ..Default::default() });
    let s = per_user_ratio(&d, 0.1, 0.1, 1);
    let (train, valid) = (d.user_item_csr(&s.train), d.user_item_csr(&s.valid));
    let run = |b: &dyn Fn() -> f64| b();
    let cpu = run(&|| ndcg(&Cpu, &d, &train, &valid));
    eprintln!("cpu valid ndcg@10 {cpu:.4}");
    // Planted affinity lets a learned model rank far above a random ranking.
    assert!(cpu > 0.15, "cpu ndcg@10 {cpu}");
    if let Some(gpu) = gpu() {
        let g = ndcg(&gpu, &d, &train, &valid);
        eprintln!("gpu valid ndcg@10 {g:.4}");
        assert!((g - cpu).abs() < 0.01, "gpu {g} vs cpu {cpu}");
    }
}

fn ndcg<B: Backend>(
    b: &B,
    d: &gpurec::data::Interactions,
    train: &gpurec::sparse::CsrHost,
    valid: &gpurec::sparse::CsrHost,
) -> f64 {
    let cfg = BprConfig { dim: 32, lr: 0.01, reg: 0.0 };
    let mut m = BprMf::new(b, d.n_users(), d.n_items(), cfg, 2).unwrap();
    let eval = RankingEval::new(b, valid, train, &[10], 256).unwrap();
    let fit = FitConfig { epochs: 15, batch_size: 1024, patience: 0, seed: 4, ..Default::default() };
    gpurec::train::fit(b, &mut m, &TrainSet::from_csr(train), None, &fit, &mut Silent).unwrap();
    eval.evaluate(b, &m).unwrap().get("ndcg", 10).unwrap()
}
