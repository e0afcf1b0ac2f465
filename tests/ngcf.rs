//! NGCF: the whole loss gradient against finite differences, a step on the
//! GPU against the CPU, and planted structure learned above popularity.

mod common;

use common::*;
use gpurec::backend::Indexed;
use gpurec::data::split::per_user_ratio;
use gpurec::data::synthetic::{generate, SyntheticConfig};
use gpurec::eval::{RankingEval, Scorer};
use gpurec::models::{Batch, Model, Ngcf, NgcfConfig, TrainSet};
use gpurec::sparse::CsrHost;
use gpurec::train::{FitConfig, Silent};
use gpurec::{Backend, Cpu};

fn tiny() -> CsrHost {
    let trip = [(0, 0), (0, 2), (1, 1), (1, 2), (1, 4), (2, 3), (3, 0), (3, 5), (4, 5), (4, 2)];
    CsrHost::from_triplets(5, 6, &trip.map(|(u, i)| (u, i, 1.0)))
}

const TRIPLES: ([u32; 4], [u32; 4], [u32; 4]) = ([0, 1, 3, 0], [2, 4, 5, 0], [1, 0, 2, 3]);

/// Layer widths that differ from each other and from the embedding, and
/// both dropouts on (their masks fixed by the step seed), so the check
/// covers the split of the concatenation and the masks' reuse in the backward.
fn tiny_cfg(reg: f32) -> NgcfConfig {
    NgcfConfig { dim: 3, hidden: vec![5, 4], node_dropout: 0.3, message_dropout: 0.2, lr: 0.0, reg }
}

#[test]
fn ngcf_gradient_matches_finite_differences() {
    let (users, pos, neg) = TRIPLES;
    let seed = 11;
    for reg in [0.0, 0.1] {
        let mut m = Ngcf::new(&Cpu, &tiny(), tiny_cfg(reg), 3).unwrap();
        // Larger weights than Xavier's so the loss is far from flat, and
        // biases of ±1 so few pre-activations sit near LeakyReLU's kink and
        // few rows have a small norm (where the normalisation bends sharply
        // and central differences of step 1e-2 lose accuracy).
        for (k, p) in m.parameters_mut().into_iter().enumerate() {
            let bump = rand_vec(100 + k as u64, p.len());
            let bias = p.ndim() == 1;
            p.iter_mut().zip(bump).for_each(|(v, r)| *v = if bias { r.signum() } else { *v * 3.0 + 0.3 * r });
        }
        let (_, grads) = m.loss_and_grads(&Cpu, &users, &pos, &neg, seed).unwrap();
        let analytic: Vec<Vec<f32>> = grads.tensors().iter().map(|g| Cpu.read(g).unwrap()).collect();
        let base: Vec<Vec<f32>> = m.parameters().iter().map(|p| Cpu.read(p).unwrap()).collect();
        for (k, want) in analytic.iter().enumerate() {
            let loss = |x: &[f32]| -> f64 {
                let mut m = Ngcf::new(&Cpu, &tiny(), tiny_cfg(reg), 3).unwrap();
                for (j, p) in m.parameters_mut().into_iter().enumerate() {
                    let src = if j == k { x } else { &base[j] };
                    p.as_slice_mut().unwrap().copy_from_slice(src);
                }
                let (l, _) = m.loss_and_grads(&Cpu, &users, &pos, &neg, seed).unwrap();
                // The model's loss excludes the L2 term; add it to match the gradient.
                let e0 = if k == 0 { x } else { &base[0] };
                let rows = users.iter().copied().chain(pos.iter().chain(&neg).map(|i| i + 5));
                let r: f64 =
                    rows.map(|row| (0..3).map(|c| (e0[row as usize * 3 + c] as f64).powi(2)).sum::<f64>()).sum();
                l[[0]] as f64 + reg as f64 / 2.0 * r / users.len() as f64
            };
            // Step 1e-3: at 1e-2 the row normalisations bend enough to cost a few percent.
            check_fd_step(&format!("reg {reg}: parameter {k}"), &base[k], want, true, 1e-3, &loss);
        }
    }
}

#[test]
fn ngcf_steps_on_the_gpu_as_on_the_cpu() {
    let Some(gpu) = gpu() else { return };
    let d = generate(&SyntheticConfig { users: 60, items: 90, mean_per_user: 12, ..Default::default() });
    let train = d.user_item_csr(&(0..d.len()).collect::<Vec<_>>());
    let cfg = NgcfConfig { dim: 16, hidden: vec![16, 8], lr: 1e-3, ..Default::default() };
    let (mut c, mut g) = (Ngcf::new(&Cpu, &train, cfg.clone(), 5).unwrap(), Ngcf::new(&gpu, &train, cfg, 5).unwrap());
    let users: Vec<u32> = (0..60).collect();
    let pos: Vec<u32> = users.iter().map(|&u| train.row(u as usize)[0]).collect();
    let neg = rand_ints(2, 60, 90);
    let (lc, gc) = c.loss_and_grads(&Cpu, &users, &pos, &neg, 7).unwrap();
    let (lg, gg) = g.loss_and_grads(&gpu, &users, &pos, &neg, 7).unwrap();
    check("ngcf loss", &gpu, &lg, &lc, SUMS);
    for (k, (a, b)) in gg.tensors().into_iter().zip(gc.tensors()).enumerate() {
        check(&format!("ngcf gradient {k}"), &gpu, a, b, SUMS);
    }
    let batch = Batch::Pairs { users: &users, pos: &pos, neg: &neg };
    let (lc, lg) = (c.train_step(&Cpu, &batch).unwrap(), g.train_step(&gpu, &batch).unwrap());
    check("ngcf step loss", &gpu, &lg, &lc, SUMS);
    let idx = [0u32, 7, 33, 59];
    let (sc, sg) = (c.score_users(&Cpu, &Cpu.index(&idx).unwrap()), g.score_users(&gpu, &gpu.index(&idx).unwrap()));
    // One Adam step moves each weight by about ±lr, so a gradient that rounds to the other sign moves it by 2·lr.
    check("ngcf scores after a step", &gpu, &sg, &sc, Tol { abs: 2e-3, rel: 1e-3 });
}

/// Ranks items by their number of training interactions, the same for every user.
struct Popularity<B: Backend>(B::Tensor);

impl<B: Backend> Scorer<B> for Popularity<B> {
    fn score_users(&self, b: &B, users: &B::Index) -> B::Tensor {
        let items = gpurec::backend::Shaped::dims(&self.0)[1];
        b.binary(gpurec::BinaryOp::Add, &b.zeros(&[users.count(), items]), &self.0)
    }
}

#[test]
fn ngcf_learns_planted_structure_above_popularity() {
    let b = Cpu;
    let d = generate(&SyntheticConfig { users: 150, items: 200, mean_per_user: 40, ..Default::default() });
    let s = per_user_ratio(&d, 0.1, 0.1, 1);
    let (train, valid) = (d.user_item_csr(&s.train), d.user_item_csr(&s.valid));
    let cfg = NgcfConfig { dim: 16, hidden: vec![16, 16], lr: 0.01, ..Default::default() };
    let mut m = Ngcf::new(&b, &train, cfg, 2).unwrap();
    let eval = RankingEval::new(&b, &valid, &train, &[10], 256).unwrap();
    let fit = FitConfig { epochs: 20, batch_size: 256, patience: 0, seed: 4, ..Default::default() };
    gpurec::train::fit(&b, &mut m, &TrainSet::from_csr(&train), None, &fit, &mut Silent).unwrap();
    let ndcg = eval.evaluate(&b, &m).unwrap().get("ndcg", 10).unwrap();
    let mut counts = vec![0f32; d.n_items()];
    for u in 0..train.rows {
        for &i in train.row(u) {
            counts[i as usize] += 1.0;
        }
    }
    let pop = eval.evaluate(&b, &Popularity(b.tensor(&counts, &[1, d.n_items()]).unwrap())).unwrap();
    let pop = pop.get("ndcg", 10).unwrap();
    eprintln!("valid ndcg@10 {ndcg:.4} (popularity {pop:.4})");
    assert!(ndcg > pop + 0.1, "ndcg@10 {ndcg}, popularity {pop}");
}
