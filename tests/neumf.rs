//! NeuMF end to end: scoring all items against scoring pairs, gradient signs
//! against finite differences, the same training on both backends,
//! determinism, one submission per step, and learning a planted structure.

mod common;

use common::*;
use gpurec::backend::Indexed;
use gpurec::data::split::per_user_ratio;
use gpurec::data::synthetic::{generate, SyntheticConfig};
use gpurec::eval::{RankingEval, Scorer};
use gpurec::models::neumf::{NeuMf, NeuMfConfig};
use gpurec::models::{Batch, Model, TrainSet};
use gpurec::train::{FitConfig, PairSampler, Silent};
use gpurec::{Backend, Cpu};

fn tiny(hidden: Vec<usize>, eval_block: usize) -> NeuMfConfig {
    NeuMfConfig { mf_dim: 5, mlp_dim: 4, hidden, dropout: 0.0, lr: 1e-3, eval_block }
}

/// Overwrites every parameter with U(-1, 1) values: far from the tiny
/// initial ones, so ReLUs are not all sitting near their kink.
fn randomise<B: Backend>(b: &B, m: &mut NeuMf<B>, seed: u64) {
    for (k, p) in m.parameters_mut().into_iter().enumerate() {
        let shape = gpurec::backend::Shaped::dims(&*p).to_vec();
        let n = shape.iter().product();
        *p = b.tensor(&rand_vec(seed + k as u64, n), &shape).unwrap();
    }
}

/// `score_users` (the first layer folded into one batched matmul, users in
/// chunks) against `score_pairs` (the plain forward) on every (user, item).
fn scores_agree<B: Backend>(b: &B, cfg: NeuMfConfig) {
    let (users, items) = (7, 13);
    let mut m = NeuMf::new(b, users, items, cfg.clone(), 3).unwrap();
    randomise(b, &mut m, 40);
    let all_users: Vec<u32> = (0..users as u32).collect();
    let got = b.read(&m.score_users(b, &b.index(&all_users).unwrap())).unwrap();
    let (pu, pi): (Vec<u32>, Vec<u32>) = (0..users as u32).flat_map(|u| (0..items as u32).map(move |i| (u, i))).unzip();
    let want = b.read(&m.score_pairs(b, &b.index(&pu).unwrap(), &b.index(&pi).unwrap())).unwrap();
    assert_close(&format!("score_users vs score_pairs, {cfg:?}"), &got, &want, SUMS);
    // A subset of users, in another order.
    let some = b.read(&m.score_users(b, &b.index(&[5, 0, 5]).unwrap())).unwrap();
    for (r, &u) in [5usize, 0, 5].iter().enumerate() {
        assert_close(
            "score_users on a subset",
            &some[r * items..(r + 1) * items],
            &want[u * items..(u + 1) * items],
            SUMS,
        );
    }
}

#[test]
fn scoring_all_items_matches_scoring_pairs() {
    for cfg in [
        tiny(vec![6, 3], 1 << 20),
        tiny(vec![6, 3], 2 * 13 * 6), // two users per chunk: 7 users in 4 chunks
        tiny(vec![6], 13 * 6),        // no hidden layer after the first; one user per chunk
        tiny(vec![6, 5, 3], 3 * 13 * 6),
    ] {
        scores_agree(&Cpu, cfg.clone());
        if let Some(gpu) = gpu() {
            scores_agree(&gpu, cfg);
        }
    }
}

/// BCE over the 2n rows of a step, computed on the host from `score_pairs`.
fn host_loss(m: &NeuMf<Cpu>, u2: &[u32], i2: &[u32]) -> f64 {
    let logits = Cpu.read(&m.score_pairs(&Cpu, &Cpu.index(u2).unwrap(), &Cpu.index(i2).unwrap())).unwrap();
    let n = u2.len() / 2;
    let bce = |x: f64, y: f64| x.max(0.0) - x * y + (-x.abs()).exp().ln_1p();
    logits.iter().enumerate().map(|(r, &x)| bce(x as f64, (r < n) as u8 as f64)).sum::<f64>() / u2.len() as f64
}

#[test]
fn a_training_step_moves_every_parameter_against_its_gradient() {
    // Adam's first step is −lr·g/(|g| + ε) ≈ −lr·sign(g): each coordinate moves
    // against the sign of its gradient, which central differences of the host
    // loss give independently. Rows the batch did not touch do not move.
    let (users, items) = (6, 9);
    let (u, pos, neg) = (vec![0u32, 2, 2, 4], vec![1u32, 3, 5, 1], vec![7u32, 0, 8, 6]);
    let u2: Vec<u32> = u.iter().chain(&u).copied().collect();
    let i2: Vec<u32> = pos.iter().chain(&neg).copied().collect();
    let mut m = NeuMf::new(&Cpu, users, items, tiny(vec![6, 3], 1 << 20), 1).unwrap();
    randomise(&Cpu, &mut m, 10);
    let before: Vec<Vec<f32>> = m.parameters().into_iter().map(|p| Cpu.read(p).unwrap()).collect();
    let shapes: Vec<Vec<usize>> = m.parameters().into_iter().map(|p| p.shape().to_vec()).collect();
    let mut stepped = NeuMf::new(&Cpu, users, items, tiny(vec![6, 3], 1 << 20), 1).unwrap();
    randomise(&Cpu, &mut stepped, 10);
    stepped.train_step(&Cpu, &Batch::Pairs { users: &u, pos: &pos, neg: &neg }).unwrap();
    let after: Vec<Vec<f32>> = stepped.parameters().into_iter().map(|p| Cpu.read(p).unwrap()).collect();

    let (mut checked, mut still) = (0, 0);
    for (k, values) in before.iter().enumerate() {
        for j in 0..values.len() {
            let mut at = |v: f32| {
                let mut p = values.clone();
                p[j] = v;
                *m.parameters_mut()[k] = Cpu.tensor(&p, &shapes[k]).unwrap();
                host_loss(&m, &u2, &i2)
            };
            let eps = 1e-2;
            let up = at(values[j] + eps);
            let g = (up - at(values[j] - eps)) / (2.0 * eps as f64);
            at(values[j]);
            let moved = after[k][j] - values[j];
            if g == 0.0 {
                assert_eq!(moved, 0.0, "parameter {k}[{j}]: no gradient, but it moved by {moved}");
                still += 1;
            } else if g.abs() > 1e-4 {
                assert!(
                    (moved < 0.0) == (g > 0.0) && moved.abs() > 0.5e-3,
                    "parameter {k}[{j}]: numeric gradient {g:e}, but the step moved it by {moved:e}"
                );
                checked += 1;
            }
        }
    }
    eprintln!("{checked} coordinates moved against their gradient, {still} untouched ones stayed");
    assert!(checked > 100 && still > 10, "{checked} checked, {still} untouched");
}

fn small() -> gpurec::data::Interactions {
    generate(&SyntheticConfig { users: 120, items: 200, mean_per_user: 30, ..Default::default() })
}

fn small_cfg() -> NeuMfConfig {
    // RecBole's learning rate: with 10× that, a ReLU whose input sits within
    // rounding of zero on one backend and not the other (a chance event some
    // steps in) sends the two runs apart by ~1e-3 through Adam's normalisation.
    NeuMfConfig { mf_dim: 16, mlp_dim: 16, hidden: vec![32, 16], dropout: 0.1, lr: 1e-3, eval_block: 1 << 20 }
}

/// Per-epoch losses, and (item embeddings, MLP weights, scores of users 0..8).
fn losses<B: Backend>(b: &B, epochs: usize) -> (Vec<f32>, Vec<Vec<f32>>) {
    let d = small();
    let s = per_user_ratio(&d, 0.1, 0.1, 3);
    let train = d.user_item_csr(&s.train);
    let mut m = NeuMf::new(b, d.n_users(), d.n_items(), small_cfg(), 5).unwrap();
    let fit = FitConfig { epochs, batch_size: 256, patience: 0, seed: 9, ..Default::default() };
    let summary = gpurec::train::fit(b, &mut m, &TrainSet::from_csr(&train), None, &fit, &mut Silent).unwrap();
    let scores = m.score_users(b, &b.index(&(0..8).collect::<Vec<_>>()).unwrap());
    let state = vec![
        b.read(&m.item_gmf.value).unwrap(),
        b.read(&m.item_mlp.value).unwrap(),
        b.read(&m.mlp.layers[0].weight.value).unwrap(),
        b.read(&m.out_mlp.weight.value).unwrap(),
        b.read(&scores).unwrap(),
    ];
    (summary.epochs.iter().map(|e| e.loss).collect(), state)
}

#[test]
fn neumf_trains_the_same_on_gpu_and_cpu() {
    let Some(gpu) = gpu() else { return };
    let (lc, wc) = losses(&Cpu, 4);
    let (lg, wg) = losses(&gpu, 4);
    eprintln!("cpu losses {lc:?}\ngpu losses {lg:?}");
    // Same batches, same dropout masks, same update order: only the order of
    // the sums in matmuls differs, and four epochs of Adam carry it along.
    assert_close("loss curve", &lg, &lc, Tol { abs: 1e-5, rel: 1e-4 });
    for (k, name) in
        ["item GMF embeddings", "item MLP embeddings", "MLP layer", "predict layer", "scores"].iter().enumerate()
    {
        assert_close(name, &wg[k], &wc[k], Tol { abs: 1e-4, rel: 1e-3 });
    }
    assert!(lc[3] < lc[0], "loss falls: {lc:?}");
}

#[test]
fn neumf_is_bit_for_bit_deterministic() {
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
    let d = small();
    let train = d.user_item_csr(&(0..d.len()).collect::<Vec<_>>());
    let mut m = NeuMf::new(&gpu, d.n_users(), d.n_items(), small_cfg(), 1).unwrap();
    let mut sampler = PairSampler::new(&train, 1);
    sampler.shuffle();
    gpu.flush().unwrap();
    let batch = 512;
    let mut loss = None;
    // The first step also builds the label tensor; the second is the steady state.
    for k in 0..2 {
        let (u, i, j) = sampler.batch(k, batch);
        let before = gpu.stats();
        loss = Some(m.train_step(&gpu, &Batch::Pairs { users: &u, pos: &i, neg: &j }).unwrap());
        gpu.flush().unwrap();
        let step = gpu.stats() - before;
        eprintln!("NeuMF step {k}: {step:?}");
        assert_eq!(step.submissions, 1);
        assert_eq!(step.readbacks, 0);
        // Pinned so a change in the step's kernel count shows up here: the first
        // step's extra dispatch fills the label tensor.
        assert_eq!(step.dispatches, if k == 0 { 55 } else { 54 }, "step {k}");
        // Indices and row groupings of the 2n rows only (14 u32 per triple at
        // most), never the tables or the weights.
        assert!(step.bytes_uploaded <= 14 * 4 * batch as u64, "{} bytes uploaded", step.bytes_uploaded);
    }
    assert!(gpu.read(&loss.unwrap()).unwrap()[0].is_finite());
}

/// Ranks items by their number of training interactions, the same for every user.
struct Popularity<B: Backend>(B::Tensor);

impl<B: Backend> Scorer<B> for Popularity<B> {
    fn score_users(&self, b: &B, users: &B::Index) -> B::Tensor {
        let items = gpurec::backend::Shaped::dims(&self.0)[1];
        b.binary(gpurec::BinaryOp::Add, &b.zeros(&[users.count(), items]), &self.0)
    }
}

/// Validation NDCG@10 of (NeuMF, popularity) on a small planted dataset
/// (150 users, 200 items, 8 epochs of 18 steps: lavapipe runs it in seconds).
fn planted_ndcg<B: Backend>(b: &B) -> (f64, f64) {
    let d = generate(&SyntheticConfig { users: 150, items: 200, mean_per_user: 40, ..Default::default() });
    let s = per_user_ratio(&d, 0.1, 0.1, 1);
    let (train, valid) = (d.user_item_csr(&s.train), d.user_item_csr(&s.valid));
    let cfg =
        NeuMfConfig { mf_dim: 16, mlp_dim: 16, hidden: vec![32, 16], dropout: 0.0, lr: 0.01, eval_block: 1 << 22 };
    let mut m = NeuMf::new(b, d.n_users(), d.n_items(), cfg, 2).unwrap();
    let eval = RankingEval::new(b, &valid, &train, &[10], 256).unwrap();
    let fit = FitConfig { epochs: 8, batch_size: 256, patience: 0, seed: 4, ..Default::default() };
    let t0 = std::time::Instant::now();
    gpurec::train::fit(b, &mut m, &TrainSet::from_csr(&train), None, &fit, &mut Silent).unwrap();
    let ndcg = eval.evaluate(b, &m).unwrap().get("ndcg", 10).unwrap();
    eprintln!("{}: trained and ranked in {:.1} s", b.describe(), t0.elapsed().as_secs_f64());
    let mut counts = vec![0f32; d.n_items()];
    for u in 0..train.rows {
        for &i in train.row(u) {
            counts[i as usize] += 1.0;
        }
    }
    let pop = Popularity(b.tensor(&counts, &[1, d.n_items()]).unwrap());
    (ndcg, eval.evaluate(b, &pop).unwrap().get("ndcg", 10).unwrap())
}

#[test]
fn neumf_learns_planted_structure_on_both_backends() {
    let (cpu, pop) = planted_ndcg(&Cpu);
    eprintln!("cpu valid ndcg@10 {cpu:.4} (popularity {pop:.4})");
    // Popularity scores about 0.08 here; the planted affinity lifts a learned model far above it (≈ 0.24).
    assert!(cpu > pop + 0.1, "cpu ndcg@10 {cpu}, popularity {pop}");
    if let Some(gpu) = gpu() {
        let (g, _) = planted_ndcg(&gpu);
        eprintln!("gpu valid ndcg@10 {g:.4}");
        assert!((g - cpu).abs() < 0.01, "gpu {g} vs cpu {cpu}");
    }
}
