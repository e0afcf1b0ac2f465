//! LightGCN: gradients against finite differences, GPU against CPU.

mod common;

use common::*;
use gpurec::data::split::per_user_ratio;
use gpurec::data::synthetic::{generate, SyntheticConfig};
use gpurec::eval::Scorer;
use gpurec::models::{Batch, Model, TrainSet};
use gpurec::models::{LightGcn, LightGcnConfig};
use gpurec::sparse::CsrHost;
use gpurec::train::{FitConfig, Silent};
use gpurec::{Backend, Cpu};

fn tiny() -> CsrHost {
    let trip = [(0, 0), (0, 2), (1, 1), (1, 2), (1, 4), (2, 3), (3, 0), (3, 5), (4, 5)];
    CsrHost::from_triplets(5, 6, &trip.map(|(u, i)| (u, i, 1.0)))
}

#[test]
fn lightgcn_gradient_matches_finite_differences() {
    let (users, pos, neg) = ([0u32, 1, 3, 0], [2u32, 4, 5, 0], [1u32, 0, 2, 3]);
    for reg in [0.0, 0.1] {
        let cfg = LightGcnConfig { dim: 3, layers: 2, lr: 0.0, reg };
        let mut m = LightGcn::new(&Cpu, &tiny(), cfg, 3).unwrap();
        // Larger weights than Xavier's so the loss is far from flat.
        m.set_embeddings(m.embeddings().mapv(|v| v * 8.0).into_shared());
        let (_, grad) = m.loss_and_grad(&Cpu, &users, &pos, &neg).unwrap();
        let base = m.embeddings().clone();
        let loss = |m: &mut LightGcn<Cpu>, e: &gpurec::cpu::CpuTensor| -> f64 {
            m.set_embeddings(e.clone());
            let (l, _) = m.loss_and_grad(&Cpu, &users, &pos, &neg).unwrap();
            let l = l[[0]] as f64;
            // The model's loss excludes the L2 term; add it to match the gradient.
            let n = users.len() as f64;
            let rows = users.iter().copied().chain(pos.iter().chain(&neg).map(|i| i + 5));
            let r: f64 = rows.map(|row| (0..3).map(|c| (e[[row as usize, c]] as f64).powi(2)).sum::<f64>()).sum();
            l + reg as f64 / 2.0 * r / n
        };
        for idx in 0..base.len() {
            let (row, col) = (idx / 3, idx % 3);
            let h = 1e-2f32;
            let mut plus = base.clone();
            plus[[row, col]] += h;
            let mut minus = base.clone();
            minus[[row, col]] -= h;
            let fd = (loss(&mut m, &plus) - loss(&mut m, &minus)) / (2.0 * h as f64);
            let an = grad[[row, col]] as f64;
            assert!((fd - an).abs() < 2e-3 + 2e-2 * fd.abs(), "reg {reg} node {row} dim {col}: fd {fd} vs {an}");
        }
        m.set_embeddings(base);
    }
}

fn curve<B: Backend>(b: &B) -> (Vec<f32>, Vec<f32>) {
    let d = generate(&SyntheticConfig { users: 100, items: 150, mean_per_user: 25, ..Default::default() });
    let s = per_user_ratio(&d, 0.1, 0.1, 3);
    let train = d.user_item_csr(&s.train);
    let cfg = LightGcnConfig { dim: 16, layers: 2, lr: 0.01, reg: 1e-3 };
    let mut m = LightGcn::new(b, &train, cfg, 5).unwrap();
    let fit = FitConfig { epochs: 3, batch_size: 256, patience: 0, seed: 9, ..Default::default() };
    let summary = gpurec::train::fit(b, &mut m, &TrainSet::from_csr(&train), None, &fit, &mut Silent).unwrap();
    (summary.epochs.iter().map(|e| e.loss).collect(), b.read(m.embeddings()).unwrap())
}

#[test]
fn lightgcn_trains_the_same_on_gpu_and_cpu() {
    let Some(gpu) = gpu() else { return };
    let (lc, wc) = curve(&Cpu);
    let (lg, wg) = curve(&gpu);
    eprintln!("cpu {lc:?}\ngpu {lg:?}");
    assert_close("loss curve", &lg, &lc, Tol { abs: 1e-5, rel: 1e-4 });
    assert_close("embeddings", &wg, &wc, Tol { abs: 1e-4, rel: 1e-3 });
    assert!(lc[2] < lc[0], "loss falls: {lc:?}");
    let (lg2, wg2) = curve(&gpu);
    assert_eq!((lg, wg), (lg2, wg2), "bit for bit on the same adapter");
}

/// Scoring propagates the graph once and reuses it for later user batches
/// until a training step (or restored weights) changes the embeddings.
#[test]
fn scoring_reuses_the_propagation_until_the_embeddings_change() {
    fn scores<B: Backend>(b: &B, m: &LightGcn<B>, users: &[u32]) -> Vec<f32> {
        b.read(&m.score_users(b, &b.index(users).unwrap())).unwrap()
    }
    fn run<B: Backend>(b: &B) -> LightGcn<B> {
        let cfg = LightGcnConfig { dim: 4, layers: 2, lr: 0.05, reg: 0.0 };
        let mut m = LightGcn::new(b, &tiny(), cfg, 3).unwrap();
        let before = scores(b, &m, &[0, 1]);
        m.train_step(b, &Batch::Pairs { users: &[0, 1], pos: &[2, 4], neg: &[1, 0] }).unwrap();
        let after = scores(b, &m, &[0, 1]);
        assert_ne!(before, after, "a training step changes the scores");
        let fresh = m.export(b);
        assert_eq!(after, b.read(&fresh.score_users(b, &b.index(&[0, 1]).unwrap())).unwrap());
        let restored: Vec<B::Tensor> = m.parameters().into_iter().cloned().collect();
        m.train_step(b, &Batch::Pairs { users: &[3], pos: &[5], neg: &[1] }).unwrap();
        for (p, r) in m.parameters_mut().into_iter().zip(restored) {
            *p = r;
        }
        assert_eq!(scores(b, &m, &[0, 1]), after, "restored weights score as before");
        m
    }
    run(&Cpu);
    if common::gpu().is_some() {
        // A context of its own: the shared one also counts other tests' dispatches.
        let g = gpurec::Gpu::new().unwrap();
        let mut m = run(&g);
        m.parameters_mut(); // as if weights were restored: the next scoring propagates
        let count = |users: &[u32]| {
            let s0 = g.stats();
            scores(&g, &m, users);
            (g.stats() - s0).dispatches
        };
        let (first, second) = (count(&[0]), count(&[1, 2]));
        assert!(second < first, "the second batch does not propagate again: {first} vs {second} dispatches");
    }
}
