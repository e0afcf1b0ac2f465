//! Mult-DAE and Mult-VAE: their loss gradients against central finite
//! differences in every weight (CPU, tiny shapes, a fixed dropout mask and
//! noise), one training step's dispatches on the GPU, and learning a planted
//! structure far above popularity on both backends. GPU ≡ CPU for a step,
//! determinism and save → load are the conformance table's (tests/conformance.rs).

mod common;

use common::*;
use gpurec::backend::{Indexed, Shaped};
use gpurec::data::split::per_user_ratio;
use gpurec::data::synthetic::{generate, SyntheticConfig};
use gpurec::eval::{RankingEval, Scorer};
use gpurec::layers::LinearGrads;
use gpurec::models::contract::UserDraw;
use gpurec::models::multdae::{MultDae, MultDaeConfig};
use gpurec::models::multvae::{MultVae, MultVaeConfig};
use gpurec::models::{Batch, Model, TrainSet};
use gpurec::sparse::CsrHost;
use gpurec::train::{FitConfig, Silent, UserSampler};
use gpurec::{Backend, Cpu, Gpu};

/// 7 users × 9 items, 2–5 interactions each, user 6 without any.
fn tiny() -> CsrHost {
    let mut trip = Vec::new();
    for u in 0..6u32 {
        for k in 0..(2 + u % 4) {
            trip.push((u, (u * 2 + k * 3) % 9, 1.0));
        }
    }
    CsrHost::from_triplets(7, 9, &trip)
}

fn flat(grads: &[&LinearGrads<Cpu>]) -> Vec<Vec<f32>> {
    grads.iter().flat_map(|g| std::iter::once(&g.dw).chain(g.db.as_ref())).map(|t| Cpu.read(t).unwrap()).collect()
}

/// Checks `analytic[k]` against finite differences of `loss(k, values)` for every parameter tensor `k`.
fn check_all<M: Model<Cpu>>(what: &str, m: &M, analytic: &[Vec<f32>], loss: &dyn Fn(usize, &[f32]) -> f64) {
    let params = m.parameters();
    assert_eq!(params.len(), analytic.len(), "{what}: one gradient per parameter");
    for (k, (p, g)) in params.iter().zip(analytic).enumerate() {
        let at = Cpu.read(p).unwrap();
        check_fd(&format!("{what} parameter {k} {:?}", p.dims()), &at, g, false, &|v| loss(k, v));
    }
}

const USERS: [u32; 6] = [0, 1, 2, 3, 4, 5];

#[test]
fn multdae_gradients_match_finite_differences() {
    let x = tiny();
    let cfg = MultDaeConfig { hidden: vec![5], latent: 3, dropout: 0.5, lr: 1e-3 };
    let model = || MultDae::new(&Cpu, &x, cfg.clone(), 1).unwrap();
    let m = model();
    let g = m.grads(&Cpu, &USERS, 77).unwrap();
    let analytic = flat(&g.encoder.iter().chain(&g.decoder).collect::<Vec<_>>());
    check_all("multdae", &m, &analytic, &|k, v| {
        let mut m = model();
        let shape = m.parameters()[k].dims().to_vec();
        *m.parameters_mut()[k] = Cpu.tensor(v, &shape).unwrap();
        Cpu.read(&m.grads(&Cpu, &USERS, 77).unwrap().loss).unwrap()[0] as f64
    });
}

#[test]
fn multvae_gradients_match_finite_differences() {
    let x = tiny();
    let cfg = MultVaeConfig { hidden: vec![5], latent: 3, ..Default::default() };
    let model = || MultVae::new(&Cpu, &x, cfg.clone(), 1).unwrap();
    let m = model();
    // β = 0.7 so the KL term's gradient is well inside the check.
    let g = m.grads(&Cpu, &USERS, 78, 0.7).unwrap();
    let layers: Vec<_> = g.encoder.iter().chain([&g.mu, &g.logvar]).chain(&g.decoder).collect();
    check_all("multvae", &m, &flat(&layers), &|k, v| {
        let mut m = model();
        let shape = m.parameters()[k].dims().to_vec();
        *m.parameters_mut()[k] = Cpu.tensor(v, &shape).unwrap();
        Cpu.read(&m.grads(&Cpu, &USERS, 78, 0.7).unwrap().loss).unwrap()[0] as f64
    });
}

#[test]
fn multvae_gradients_match_with_recbole_noise_and_repeated_users() {
    // RecBole's ε ~ N(0, 0.01²), and a batch drawn per interaction (users repeat).
    let x = tiny();
    let cfg = MultVaeConfig { hidden: vec![5], latent: 3, noise_std: 0.01, ..Default::default() };
    let model = || MultVae::new(&Cpu, &x, cfg.clone(), 1).unwrap();
    let users = [3, 0, 3, 5, 3, 1, 0];
    let m = model();
    let g = m.grads(&Cpu, &users, 79, 0.7).unwrap();
    let layers: Vec<_> = g.encoder.iter().chain([&g.mu, &g.logvar]).chain(&g.decoder).collect();
    check_all("multvae (noise 0.01, repeats)", &m, &flat(&layers), &|k, v| {
        let mut m = model();
        let shape = m.parameters()[k].dims().to_vec();
        *m.parameters_mut()[k] = Cpu.tensor(v, &shape).unwrap();
        Cpu.read(&m.grads(&Cpu, &users, 79, 0.7).unwrap().loss).unwrap()[0] as f64
    });
}

#[test]
fn per_interaction_draw_repeats_each_user_as_often_as_it_has_interactions() {
    let x = tiny();
    let shuffled = |seed| {
        let mut s = UserSampler::per_interaction(&x, seed);
        s.shuffle();
        s.batch(0, usize::MAX).to_vec()
    };
    let users = shuffled(5);
    assert_eq!(users.len(), x.nnz(), "one row per training interaction");
    for u in 0..x.rows {
        assert_eq!(users.iter().filter(|&&v| v as usize == u).count(), x.row(u).len(), "user {u}");
    }
    assert_eq!(users, shuffled(5), "same seed, same order");
    assert_ne!(users, shuffled(6), "another seed, another order");
    // The loop draws as the model says: an epoch of nnz rows.
    let cfg = MultVaeConfig { hidden: vec![4], latent: 2, draw: UserDraw::PerInteraction, ..Default::default() };
    let mut m = MultVae::new(&Cpu, &x, cfg, 1).unwrap();
    let fit = FitConfig { epochs: 1, batch_size: 4, patience: 0, ..Default::default() };
    let run = gpurec::train::fit(&Cpu, &mut m, &TrainSet::from_csr(&x), None, &fit, &mut Silent).unwrap();
    assert_eq!(run.epochs[0].steps, x.nnz().div_ceil(4));
}

#[test]
fn multvae_anneals_beta_linearly_to_its_cap() {
    let cfg =
        MultVaeConfig { hidden: vec![4], latent: 2, anneal_cap: 0.2, total_anneal_steps: 1000, ..Default::default() };
    let m = MultVae::new(&Cpu, &tiny(), cfg.clone(), 1).unwrap();
    assert_eq!((m.beta(1), m.beta(100), m.beta(200), m.beta(5000)), (0.001, 0.1, 0.2, 0.2));
    let m = MultVae::new(&Cpu, &tiny(), MultVaeConfig { total_anneal_steps: 0, ..cfg }, 1).unwrap();
    assert_eq!(m.beta(1), 0.2, "no annealing: the cap from the first update");
}

/// One step of each family's default model on a synthetic set: one
/// submission, the documented dispatches, only the user ids uploaded.
#[test]
fn a_step_is_one_submission_of_the_documented_dispatches() {
    if gpu().is_none() {
        return;
    }
    let g = Gpu::new().unwrap();
    let d = generate(&SyntheticConfig { users: 60, items: 90, ..Default::default() });
    let set = TrainSet::all(&d);
    let users: Vec<u32> = (0..50).collect();
    let mut dae = MultDae::new(&g, &set.interactions, MultDaeConfig::default(), 1).unwrap();
    let mut vae = MultVae::new(&g, &set.interactions, MultVaeConfig::default(), 1).unwrap();
    for (name, m, want) in [("multdae", &mut dae as &mut dyn Model<Gpu>, 39), ("multvae", &mut vae, 66)] {
        let s = step_stats(&g, m, &Batch::Users { users: &users });
        eprintln!("{name}: one step: {s:?}");
        assert_eq!((s.submissions, s.readbacks), (1, 0), "{name}");
        assert_eq!(s.dispatches, want, "{name}: dispatches per step (see the model's docs)");
        assert!(s.bytes_uploaded <= 4 * users.len() as u64 + 64, "{name}: uploads {} bytes", s.bytes_uploaded);
    }
}

/// Ranks items by their number of training interactions, the same for every user.
struct Popularity<B: Backend>(B::Tensor);

impl<B: Backend> Scorer<B> for Popularity<B> {
    fn score_users(&self, b: &B, users: &B::Index) -> B::Tensor {
        let items = self.0.dims()[1];
        b.binary(gpurec::BinaryOp::Add, &b.zeros(&[users.count(), items]), &self.0)
    }
}

/// Validation NDCG@10 of (model, popularity) on a small planted dataset.
fn planted_ndcg<B: Backend>(b: &B, vae: bool) -> (f64, f64) {
    let d = generate(&SyntheticConfig { users: 150, items: 200, mean_per_user: 40, ..Default::default() });
    let s = per_user_ratio(&d, 0.1, 0.1, 1);
    let (train, valid) = (d.user_item_csr(&s.train), d.user_item_csr(&s.valid));
    let mut m: Box<dyn Model<B>> = if vae {
        let cfg =
            MultVaeConfig { hidden: vec![64], latent: 16, lr: 0.003, total_anneal_steps: 200, ..Default::default() };
        Box::new(MultVae::new(b, &train, cfg, 2).unwrap())
    } else {
        let cfg = MultDaeConfig { hidden: vec![64], latent: 16, lr: 0.003, ..Default::default() };
        Box::new(MultDae::new(b, &train, cfg, 2).unwrap())
    };
    let eval = RankingEval::new(b, &valid, &train, &[10], 256).unwrap();
    let fit = FitConfig { epochs: 30, batch_size: 32, patience: 0, seed: 4, ..Default::default() };
    gpurec::train::fit(b, m.as_mut(), &TrainSet::from_csr(&train), None, &fit, &mut Silent).unwrap();
    let ndcg = eval.evaluate(b, m.as_ref()).unwrap().get("ndcg", 10).unwrap();
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
fn both_learn_planted_structure_on_both_backends() {
    for vae in [false, true] {
        let name = if vae { "multvae" } else { "multdae" };
        let (cpu, pop) = planted_ndcg(&Cpu, vae);
        eprintln!("{name}: cpu valid ndcg@10 {cpu:.4} (popularity {pop:.4})");
        assert!(cpu > pop + 0.1, "{name}: cpu ndcg@10 {cpu}, popularity {pop}");
        if let Some(g) = gpu() {
            let (got, _) = planted_ndcg(&g, vae);
            eprintln!("{name}: gpu valid ndcg@10 {got:.4}");
            assert!((got - cpu).abs() < 0.02, "{name}: gpu {got} vs cpu {cpu}");
        }
    }
}
