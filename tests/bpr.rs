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

/// A batch of 300 triples over the first 60 users and 50 items.
fn first_rows_batch() -> (Vec<u32>, Vec<u32>, Vec<u32>) {
    let t: Vec<[u32; 3]> = (0..300u32).map(|k| [(k * 7) % 60, (k * 11) % 50, (k * 13 + 5) % 50]).collect();
    (t.iter().map(|t| t[0]).collect(), t.iter().map(|t| t[1]).collect(), t.iter().map(|t| t[2]).collect())
}

#[test]
fn a_step_touches_only_the_rows_of_its_batch() {
    let (u, i, j) = first_rows_batch();
    let batch = Batch::Pairs { users: &u, pos: &i, neg: &j };
    // CPU: the tables are updated where they are (no copy of a shared
    // table) and every row outside the batch keeps its bits.
    let mut m = BprMf::new(&Cpu, 30_000, 20_000, BprConfig::default(), 3).unwrap();
    let at = (m.user.as_ptr(), m.item.as_ptr());
    let (u0, i0) = (m.user.to_owned(), m.item.to_owned()); // deep copies, not shares
    m.train_step(&Cpu, &batch).unwrap();
    assert_eq!((m.user.as_ptr(), m.item.as_ptr()), at, "a step updates the tables in place");
    let d = m.user.shape()[1];
    let (u1, i1) = (m.user.as_slice().unwrap(), m.item.as_slice().unwrap());
    let (u0, i0) = (u0.as_slice().unwrap(), i0.as_slice().unwrap());
    assert!(u1[..60 * d] != u0[..60 * d] && i1[..50 * d] != i0[..50 * d], "the batch's rows moved");
    assert!(u1[60 * d..] == u0[60 * d..] && i1[50 * d..] == i0[50 * d..], "no other row changed");

    // GPU: the same dispatches, workgroups, uploads, allocations and device
    // copies whatever the tables' size: the step's work is the batch's.
    if gpu().is_none() {
        return;
    }
    // A context of its own: the shared one's counters see the other tests running in parallel.
    let g = gpurec::Gpu::new().unwrap();
    let work = |users, items| {
        let mut m = BprMf::new(&g, users, items, BprConfig::default(), 3).unwrap();
        g.flush().unwrap();
        let before = g.stats();
        m.train_step(&g, &batch).unwrap();
        g.flush().unwrap();
        g.stats() - before
    };
    let (small, large) = (work(60, 50), work(30_000, 20_000));
    eprintln!("one step on 60 × 50: {small:?}\non 30,000 × 20,000: {large:?}");
    assert!(small.workgroups > 0 && small.bytes_uploaded > 0, "the counters count");
    assert_eq!(small, large, "a step's work does not grow with the tables");
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
