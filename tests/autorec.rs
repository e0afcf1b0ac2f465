//! I-AutoRec beyond the conformance table (which checks determinism, a GPU
//! step against the CPU's, save → load and bad configurations): one training
//! step's dispatches and uploads on the GPU, rating predictions on the GPU
//! against the CPU's, and learning planted rating structure that biases
//! alone cannot express, on both backends. Its gradients are checked
//! against finite differences in the model's unit tests.

mod common;

use common::*;
use gpurec::data::split::per_user_ratio;
use gpurec::data::synthetic::{generate, SyntheticConfig};
use gpurec::data::Interactions;
use gpurec::eval::rating::{RatingEval, RatingModel, Ratings};
use gpurec::models::autorec::{rating_matrix, AutoRec, AutoRecConfig};
use gpurec::models::mf::{BiasedMf, MfConfig};
use gpurec::models::{Batch, TrainSet};
use gpurec::train::{FitConfig, Silent};
use gpurec::{Backend, Gpu};

fn fit_cfg(epochs: usize, batch_size: usize) -> FitConfig {
    FitConfig { epochs, batch_size, patience: 0, seed: 3, metric: ("rmse".into(), 0) }
}

#[test]
fn a_step_is_one_submission_of_the_documented_dispatches() {
    if gpu().is_none() {
        return;
    }
    // A context of its own: the shared one's counters see the other tests running in parallel.
    let g = Gpu::new().unwrap();
    let d = generate(&SyntheticConfig { users: 60, items: 90, ..Default::default() });
    let set = TrainSet::all(&d);
    let mut m = AutoRec::new(&g, &rating_matrix(60, 90, &set.ratings), AutoRecConfig::default(), 1).unwrap();
    let items: Vec<u32> = (0..64).collect();
    let s = step_stats(&g, &mut m, &Batch::Items { items: &items });
    eprintln!("autorec: one step: {s:?}");
    assert_eq!((s.submissions, s.readbacks), (1, 0));
    assert_eq!(s.dispatches, 21, "dispatches per step (see the model's docs)");
    assert!(s.bytes_uploaded <= 4 * items.len() as u64 + 64, "uploads {} bytes", s.bytes_uploaded);
}

#[test]
fn predictions_on_the_gpu_match_the_cpu() {
    let Some(g) = gpu() else { return };
    let d = generate(&SyntheticConfig { users: 70, items: 65, mean_per_user: 12, ..Default::default() });
    let set = TrainSet::all(&d);
    let x = rating_matrix(d.n_users(), d.n_items(), &set.ratings);
    let cfg = AutoRecConfig { hidden: 13, ..Default::default() };
    let (c, m) = (AutoRec::new(&gpurec::Cpu, &x, cfg.clone(), 4).unwrap(), AutoRec::new(&g, &x, cfg, 4).unwrap());
    let users: Vec<u32> = (0..257).map(|k| (k * 7 % 70) as u32).collect();
    let items: Vec<u32> = (0..257).map(|k| (k * 11 % 65) as u32).collect();
    let want = gpurec::Cpu.read(&c.predict(&gpurec::Cpu, &users, &items).unwrap()).unwrap();
    assert_close("predictions", &g.read(&m.predict(&g, &users, &items).unwrap()).unwrap(), &want, SUMS);
}

/// Test RMSE of I-AutoRec and of biased MF without factors (biases only)
/// on a per-user 80/20 split of `d`.
fn planted<B: Backend>(b: &B, d: &Interactions) -> (f64, f64) {
    let s = per_user_ratio(d, 0.0, 0.2, 5);
    let (train, test) = (Ratings::from_rows(d, &s.train), Ratings::from_rows(d, &s.test));
    let set = TrainSet::from_ratings(d.n_users(), d.n_items(), train.clone());
    let eval = RatingEval::new(b, &test, (1.0, 5.0), 4096).unwrap();
    let cfg = AutoRecConfig { hidden: 32, lr: 3e-3, reg: 1.0 };
    let mut ar = AutoRec::new(b, &rating_matrix(d.n_users(), d.n_items(), &train), cfg, 4).unwrap();
    gpurec::train::fit(b, &mut ar, &set, None, &fit_cfg(60, 32), &mut Silent).unwrap();
    let biases = MfConfig { dim: 4, init_std: 0.0, ..Default::default() };
    let mut mf = BiasedMf::new(b, d.n_users(), d.n_items(), &train, biases, 4).unwrap();
    gpurec::train::fit(b, &mut mf, &set, None, &fit_cfg(15, 1024), &mut Silent).unwrap();
    (eval.evaluate(b, &ar).unwrap().rmse, eval.evaluate(b, &mf).unwrap().rmse)
}

#[test]
fn autorec_learns_planted_structure_on_both_backends() {
    // Ratings rise with a planted affinity p_u·q_i that biases cannot express
    // (as in tests/mf.rs).
    let d = generate(&SyntheticConfig { users: 200, items: 150, affinity: 1.0, ..Default::default() });
    let (ar, biases) = planted(&gpurec::Cpu, &d);
    eprintln!("cpu test RMSE: AutoRec {ar:.4}, biases only {biases:.4}");
    assert!(ar < 0.9 * biases, "AutoRec {ar} vs biases only {biases}");
    if let Some(g) = gpu() {
        let (on_gpu, _) = planted(&g, &d);
        eprintln!("gpu test RMSE: AutoRec {on_gpu:.4}");
        assert!((on_gpu - ar).abs() < 0.005, "gpu {on_gpu} vs cpu {ar}");
    }
}

#[test]
fn a_model_file_whose_ratings_leave_the_history_is_refused() {
    use gpurec::model_file::ModelFile;
    use gpurec::models::registry;
    let d = generate(&SyntheticConfig { users: 30, items: 40, mean_per_user: 8, ..Default::default() });
    let set = TrainSet::all(&d);
    let entry = registry::entry::<gpurec::Cpu>("autorec").unwrap();
    let cfg = entry.config(&registry::Overrides { dim: Some(6), ..Default::default() }).unwrap();
    let m = entry.build(&gpurec::Cpu, &set, &cfg, 1).unwrap();
    let file = registry::to_file(&gpurec::Cpu, m.as_ref(), serde_json::json!({}), &d.user_ids, &d.item_ids).unwrap();
    let file = ModelFile::from_bytes(&file.to_bytes().unwrap()).unwrap();
    assert!(registry::load(&gpurec::Cpu, &file).is_ok());
    let mut bad = file.clone();
    let history = bad.tensors.iter().find(|t| t.name == "history").unwrap().data.clone();
    let off = history.iter().position(|&v| v == 0.0).unwrap();
    bad.tensors.iter_mut().find(|t| t.name == "ratings").unwrap().data[off] = 4.0;
    let e = registry::load(&gpurec::Cpu, &bad).err().expect("a rating off the history").to_string();
    assert!(e.contains("`ratings`") && e.contains("`history`"), "{e}");
}
