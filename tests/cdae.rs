//! CDAE: its loss gradients against central finite differences in every
//! weight and the user embedding (CPU, tiny shapes, a fixed corruption
//! mask), one step's gradients GPU ≡ CPU, one training step's dispatches on
//! the GPU, and learning a planted structure far above popularity on both
//! backends. Determinism and save → load are the conformance table's.

mod common;

use common::*;
use gpurec::backend::{Indexed, Shaped};
use gpurec::data::split::per_user_ratio;
use gpurec::data::synthetic::{generate, SyntheticConfig};
use gpurec::eval::{RankingEval, Scorer};
use gpurec::models::cdae::{Cdae, CdaeConfig, CdaeGrads};
use gpurec::models::{Batch, Model, TrainSet};
use gpurec::sparse::CsrHost;
use gpurec::train::{FitConfig, Silent};
use gpurec::{Act, Backend, Cpu, Gpu};

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

/// The batch, out of order and including the user without interactions.
const USERS: [u32; 5] = [4, 0, 6, 2, 5];

/// Every gradient as a full tensor per parameter, in parameter order (the
/// embedding's touched rows placed into a zero table).
fn flat<B: Backend>(b: &B, m: &Cdae<B>, g: &CdaeGrads<B>) -> Vec<Vec<f32>> {
    let hidden = m.user.dims()[1];
    let mut user = vec![0f32; m.user.dims()[0] * hidden];
    let (rows, dv) = (b.read_index(&g.groups.rows).unwrap(), b.read(&g.user).unwrap());
    for (k, &r) in rows.iter().enumerate() {
        user[r as usize * hidden..][..hidden].copy_from_slice(&dv[k * hidden..][..hidden]);
    }
    let r = |t: &B::Tensor| b.read(t).unwrap();
    vec![r(&g.encoder.dw), r(g.encoder.db.as_ref().unwrap()), user, r(&g.decoder.dw), r(g.decoder.db.as_ref().unwrap())]
}

fn fd_check(cfg: CdaeConfig) {
    let x = tiny();
    let model = || Cdae::new(&Cpu, &x, cfg.clone(), 1).unwrap();
    let m = model();
    let analytic = flat(&Cpu, &m, &m.grads(&Cpu, &USERS, 77).unwrap());
    let params = m.parameters();
    assert_eq!(params.len(), analytic.len(), "one gradient per parameter");
    for (k, (p, g)) in params.iter().zip(&analytic).enumerate() {
        let at = Cpu.read(p).unwrap();
        let kinks = cfg.hid_act == Act::Relu;
        check_fd(&format!("cdae {:?} parameter {k} {:?}", cfg.hid_act, p.dims()), &at, g, kinks, &|v| {
            let mut m = model();
            let shape = m.parameters()[k].dims().to_vec();
            *m.parameters_mut()[k] = Cpu.tensor(v, &shape).unwrap();
            Cpu.read(&m.grads(&Cpu, &USERS, 77).unwrap().loss).unwrap()[0] as f64
        });
    }
}

#[test]
fn cdae_gradients_match_finite_differences() {
    // λ = 0.3 so the norm terms' gradients are well inside the check.
    fd_check(CdaeConfig { hidden: 4, reg: 0.3, ..Default::default() });
    fd_check(CdaeConfig { hidden: 4, reg: 0.3, hid_act: Act::Sigmoid, ..Default::default() });
}

#[test]
fn cdae_step_gradients_gpu_match_cpu() {
    let Some(g) = gpu() else { return };
    // 70 users × 131 items and 67 hidden: sizes past a workgroup, primes.
    let d = generate(&SyntheticConfig { users: 70, items: 131, ..Default::default() });
    let set = TrainSet::all(&d);
    let cfg = CdaeConfig { hidden: 67, ..Default::default() };
    let users: Vec<u32> = (0..61).map(|k| (k * 7) % 70).collect();
    let mc = Cdae::new(&Cpu, &set.interactions, cfg.clone(), 3).unwrap();
    let mg = Cdae::new(&g, &set.interactions, cfg, 3).unwrap();
    let (gc, gg) = (mc.grads(&Cpu, &users, 9).unwrap(), mg.grads(&g, &users, 9).unwrap());
    let tol = Tol { abs: 1e-5, rel: 1e-3 };
    assert_close("loss", &g.read(&gg.loss).unwrap(), &Cpu.read(&gc.loss).unwrap(), tol);
    for (k, (a, b)) in flat(&g, &mg, &gg).iter().zip(flat(&Cpu, &mc, &gc)).enumerate() {
        assert_close(&format!("gradient {k}"), a, &b, tol);
    }
}

/// One step of the default model on a synthetic set: one submission, the
/// documented dispatches, only the user ids and their row groups uploaded.
#[test]
fn a_step_is_one_submission_of_the_documented_dispatches() {
    if gpu().is_none() {
        return;
    }
    let g = Gpu::new().unwrap();
    let d = generate(&SyntheticConfig { users: 60, items: 90, ..Default::default() });
    let set = TrainSet::all(&d);
    let users: Vec<u32> = (0..50).collect();
    let mut m = Cdae::new(&g, &set.interactions, CdaeConfig::default(), 1).unwrap();
    let s = step_stats(&g, &mut m, &Batch::Users { users: &users });
    eprintln!("cdae: one step: {s:?}");
    assert_eq!((s.submissions, s.readbacks), (1, 0));
    assert_eq!(s.dispatches, 41, "dispatches per step (see the model's docs)");
    // ids (n), row groups (rows n, offsets n + 1, order n).
    assert!(s.bytes_uploaded <= 16 * users.len() as u64 + 64, "uploads {} bytes", s.bytes_uploaded);
}

/// Ranks items by their number of training interactions, the same for every user.
struct Popularity<B: Backend>(B::Tensor);

impl<B: Backend> Scorer<B> for Popularity<B> {
    fn score_users(&self, b: &B, users: &B::Index) -> B::Tensor {
        let items = self.0.dims()[1];
        b.binary(gpurec::BinaryOp::Add, &b.zeros(&[users.count(), items]), &self.0)
    }
}

/// Validation NDCG@10 of (CDAE, popularity) on a small planted dataset.
fn planted_ndcg<B: Backend>(b: &B) -> (f64, f64) {
    let d = generate(&SyntheticConfig { users: 150, items: 200, mean_per_user: 40, ..Default::default() });
    let s = per_user_ratio(&d, 0.1, 0.1, 1);
    let (train, valid) = (d.user_item_csr(&s.train), d.user_item_csr(&s.valid));
    let cfg = CdaeConfig { hidden: 32, lr: 0.01, ..Default::default() };
    let mut m = Cdae::new(b, &train, cfg, 2).unwrap();
    let eval = RankingEval::new(b, &valid, &train, &[10], 256).unwrap();
    let fit = FitConfig { epochs: 30, batch_size: 32, patience: 0, seed: 4, ..Default::default() };
    gpurec::train::fit(b, &mut m, &TrainSet::from_csr(&train), None, &fit, &mut Silent).unwrap();
    let ndcg = eval.evaluate(b, &m).unwrap().get("ndcg", 10).unwrap();
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
fn cdae_learns_planted_structure_on_both_backends() {
    let (cpu, pop) = planted_ndcg(&Cpu);
    eprintln!("cdae: cpu valid ndcg@10 {cpu:.4} (popularity {pop:.4})");
    assert!(cpu > pop + 0.1, "cpu ndcg@10 {cpu}, popularity {pop}");
    if let Some(g) = gpu() {
        let (got, _) = planted_ndcg(&g);
        eprintln!("cdae: gpu valid ndcg@10 {got:.4}");
        assert!((got - cpu).abs() < 0.02, "gpu {got} vs cpu {cpu}");
    }
}
