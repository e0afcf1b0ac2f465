//! LightFM: gradients against finite differences, GPU against CPU, the
//! features' mixing, and the feature-only representations of cold rows.

mod common;

use common::*;
use gpurec::data::split::per_user_ratio;
use gpurec::data::synthetic::{generate, SyntheticConfig};
use gpurec::models::refit::Side;
use gpurec::models::{FeatureModel, LightFm, LightFmConfig, TrainSet};
use gpurec::sparse::CsrHost;
use gpurec::train::{FitConfig, Silent};
use gpurec::{Backend, Cpu};

/// 4 users with 3 feature columns, 5 items with 2 (one item and one user without features).
fn features() -> (CsrHost, CsrHost) {
    let u = CsrHost::from_triplets(4, 3, &[(0, 0, 1.0), (0, 2, 1.0), (1, 1, 1.0), (3, 0, 0.5), (3, 1, 1.0)]);
    let i = CsrHost::from_triplets(5, 2, &[(0, 0, 1.0), (1, 1, 1.0), (2, 0, 1.0), (2, 1, 1.0), (4, 1, 1.0)]);
    (u, i)
}

fn cfg(identity: bool, reg: f32, identity_dropout: f32) -> LightFmConfig {
    LightFmConfig {
        dim: 3,
        lr: 0.0,
        reg,
        identity,
        identity_dropout,
        user_features: vec!["a".into(), "b".into(), "c".into()],
        item_features: vec!["x".into(), "y".into()],
    }
}

#[test]
fn lightfm_gradient_matches_finite_differences() {
    let (users, pos, neg) = ([0u32, 1, 3, 2, 0], [2u32, 4, 0, 1, 2], [1u32, 3, 2, 4, 0]);
    let (fu, fi) = features();
    for (identity, reg, drop) in [(true, 0.0, 0.0), (true, 0.1, 0.0), (false, 0.05, 0.0), (true, 0.05, 0.5)] {
        let mut m = LightFm::new(&Cpu, &fu, &fi, cfg(identity, reg, drop), 3).unwrap();
        m.set_table(m.table().mapv(|v| v * 6.0).into_shared());
        let (_, grad) = m.loss_and_grad(&Cpu, &users, &pos, &neg).unwrap();
        let base = m.table().clone();
        // The loss with the penalty, which the model's loss leaves out; the same dropout draw.
        let loss = |m: &mut LightFm<Cpu>, w: &gpurec::cpu::CpuTensor| -> f64 {
            m.set_table(w.clone());
            let (l, _) = m.loss_and_grad(&Cpu, &users, &pos, &neg).unwrap();
            l[[0]] as f64 + reg as f64 / 2.0 * penalty(m, &users, &pos, &neg) / users.len() as f64
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
            assert!(
                (fd - an).abs() < 2e-3 + 2e-2 * fd.abs(),
                "identity {identity} reg {reg} dropout {drop}: W[{row}, {col}] fd {fd} vs {an}"
            );
        }
    }
}

/// Σ over the batch's rows of ‖representation‖², as the model gathered them
/// (with dropout, a dropped row's representation lacks its identity).
fn penalty(m: &LightFm<Cpu>, users: &[u32], pos: &[u32], neg: &[u32]) -> f64 {
    let x = m.batch_representations(&Cpu, users, pos, neg).unwrap();
    x.iter().map(|&v| (v as f64).powi(2)).sum()
}

#[test]
fn representations_mix_identity_intercept_and_features() {
    let (fu, fi) = features();
    let m = LightFm::new(&Cpu, &fu, &fi, cfg(true, 0.0, 0.0), 5).unwrap();
    let w = m.table().clone();
    let users = FeatureModel::vectors(&m, &Cpu, Side::Users);
    // W rows: 4 user ids, 5 item ids, user intercept (9), a b c (10‥12), item intercept (13), x y.
    // User 3: e_3 + (w⁰ + 0.5 w_a + w_b) / 2.5.
    for c in 0..3 {
        let want = w[[3, c]] + (w[[9, c]] + 0.5 * w[[10, c]] + w[[11, c]]) / 2.5;
        assert!((users[[3, c]] - want).abs() < 1e-6, "user 3 dim {c}: {} vs {want}", users[[3, c]]);
        // User 2 has no features: its identity and the intercept.
        assert!((users[[2, c]] - (w[[2, c]] + w[[9, c]])).abs() < 1e-6);
    }
    // A cold user with the same features as user 3 is user 3 without e_3.
    let cold = m.represent(&Cpu, Side::Users, &[vec![(0, 0.5), (1, 1.0)]]).unwrap();
    for c in 0..3 {
        assert!((cold[[0, c]] - (users[[3, c]] - w[[3, c]])).abs() < 1e-6);
    }
    let items = FeatureModel::vectors(&m, &Cpu, Side::Items);
    let cold = m.represent(&Cpu, Side::Items, &[vec![(0, 1.0), (1, 1.0)]]).unwrap();
    for c in 0..3 {
        assert!((cold[[0, c]] - (items[[2, c]] - w[[4 + 2, c]])).abs() < 1e-6, "item 2 without its identity");
    }
    let err = m.represent(&Cpu, Side::Items, &[vec![(2, 1.0)]]).unwrap_err().to_string();
    assert!(err.contains("outside the model's 2 columns"), "{err}");
}

fn curve<B: Backend>(b: &B, dropout: f32) -> (Vec<f32>, Vec<f32>) {
    let d = generate(&SyntheticConfig { users: 90, items: 130, mean_per_user: 20, ..Default::default() });
    let s = per_user_ratio(&d, 0.1, 0.1, 3);
    let set = TrainSet::from_rows(&d, &s.train);
    let side = set.side.as_ref().unwrap();
    let (fu, fi) = (side.users(), side.items());
    let names = |n: usize, p: &str| (0..n).map(|c| format!("{p}={c}")).collect::<Vec<_>>();
    let cfg = LightFmConfig {
        dim: 8,
        lr: 0.01,
        reg: 1e-3,
        identity: true,
        identity_dropout: dropout,
        user_features: names(fu.cols, "group"),
        item_features: names(fi.cols, "genre"),
    };
    let mut m = LightFm::new(b, &fu, &fi, cfg, 5).unwrap();
    let fit = FitConfig { epochs: 3, batch_size: 128, patience: 0, seed: 9, ..Default::default() };
    let summary = gpurec::train::fit(b, &mut m, &set, None, &fit, &mut Silent).unwrap();
    (summary.epochs.iter().map(|e| e.loss).collect(), b.read(m.table()).unwrap())
}

#[test]
fn lightfm_trains_the_same_on_gpu_and_cpu() {
    let Some(gpu) = gpu() else { return };
    for dropout in [0.0, 0.3] {
        let (lc, wc) = curve(&Cpu, dropout);
        let (lg, wg) = curve(&gpu, dropout);
        eprintln!("dropout {dropout}: cpu {lc:?}\ngpu {lg:?}");
        assert_close("loss curve", &lg, &lc, Tol { abs: 1e-5, rel: 1e-4 });
        assert_close("table", &wg, &wc, Tol { abs: 1e-4, rel: 1e-3 });
        assert!(lc[2] < lc[0], "loss falls: {lc:?}");
        assert_eq!((lg, wg), curve(&gpu, dropout), "bit for bit on the same adapter");
    }
}

/// The model file holds the representations and the feature tables; the
/// loaded model scores the same and makes the same cold rows.
#[test]
fn lightfm_model_file_round_trip_keeps_cold_start() {
    use gpurec::models::registry;
    let d = generate(&SyntheticConfig { users: 60, items: 80, mean_per_user: 15, ..Default::default() });
    let set = TrainSet::all(&d);
    let entry = registry::entry::<Cpu>("lightfm").unwrap();
    let config = entry.config(&registry::Overrides { dim: Some(6), ..Default::default() }).unwrap();
    let mut model = entry.build(&Cpu, &set, &config, 1).unwrap();
    let fit = FitConfig { epochs: 2, batch_size: 256, patience: 0, seed: 1, ..Default::default() };
    gpurec::train::fit(&Cpu, model.as_mut(), &set, None, &fit, &mut Silent).unwrap();
    let names = model.features().unwrap().feature_names(Side::Users).to_vec();
    assert_eq!(names, ["group=0", "group=1", "group=2", "group=3"], "the synthetic set's user features");
    let file = registry::to_file(&Cpu, model.as_ref(), serde_json::json!({}), &d.user_ids, &d.item_ids).unwrap();
    let bytes = file.to_bytes().unwrap();
    let loaded = registry::load(&Cpu, &gpurec::model_file::ModelFile::from_bytes(&bytes).unwrap()).unwrap();
    let users = Cpu.index(&[0, 7, 59]).unwrap();
    assert_eq!(model.score_users(&Cpu, &users), loaded.score_users(&Cpu, &users));
    let rows = [vec![(2u32, 1.0f32)], vec![]];
    let (a, b) = (model.features().unwrap(), loaded.features().unwrap());
    assert_eq!(a.represent(&Cpu, Side::Users, &rows).unwrap(), b.represent(&Cpu, Side::Users, &rows).unwrap());
    assert_eq!(b.feature_names(Side::Items), a.feature_names(Side::Items));
}

/// One step is one submission of the documented dispatches (the gathered
/// SpMM, the fused BPR kernel and its mean, the SpMM by (F[rows])ᵀ, Adam)
/// and nothing read back; it uploads the batch's rows and the backward's
/// sparse matrix, never the table.
#[test]
fn a_step_is_one_submission_of_the_documented_dispatches() {
    use gpurec::models::Batch;
    use gpurec::train::PairSampler;
    if gpu().is_none() {
        return;
    }
    // A context of its own: the shared one counts the other tests' work too.
    let gpu = gpurec::Gpu::new().unwrap();
    let d = generate(&SyntheticConfig { users: 90, items: 130, mean_per_user: 20, ..Default::default() });
    let set = TrainSet::all(&d);
    let side = set.side.as_ref().unwrap();
    let names = |n: usize, p: &str| (0..n).map(|c| format!("{p}={c}")).collect::<Vec<_>>();
    let (fu, fi) = (side.users(), side.items());
    let cfg = LightFmConfig {
        user_features: names(fu.cols, "group"),
        item_features: names(fi.cols, "genre"),
        ..LightFmConfig::default()
    };
    let mut m = LightFm::new(&gpu, &fu, &fi, cfg, 1).unwrap();
    let mut sampler = PairSampler::new(&set.interactions, 1);
    sampler.shuffle();
    gpu.flush().unwrap();
    let batch = 256;
    let (u, i, j) = sampler.batch(0, batch);
    let before = gpu.stats();
    let loss = gpurec::models::Model::train_step(&mut m, &gpu, &Batch::Pairs { users: &u, pos: &i, neg: &j }).unwrap();
    gpu.flush().unwrap();
    let step = gpu.stats() - before;
    eprintln!("one LightFM step: {step:?}");
    assert_eq!((step.submissions, step.readbacks), (1, 0));
    assert_eq!(step.dispatches, 5, "spmm_csr_rows, bpr_triples + its mean, spmm_csr, adam (the concat is a copy)");
    // Per gathered row: its index twice (rows, local), and its entries of F in the
    // backward CSR (column, value): identity, intercept, ≤ 4 features. Plus row_ptr.
    let w_rows = (90 + 130 + 2 + fu.cols + fi.cols) as u64;
    let bound = 3 * batch as u64 * (8 + 8 * 6) + 4 * (w_rows + 1);
    assert!(step.bytes_uploaded <= bound, "{} bytes uploaded, bound {bound}", step.bytes_uploaded);
    assert!(gpu.read(&loss).unwrap()[0].is_finite());
}

/// `Family::FEATURES` says which families' models have feature embeddings:
/// for every registered family, a model built on data with side features
/// has them exactly when its registry entry says so.
#[test]
fn every_family_says_whether_its_models_have_feature_embeddings() {
    use gpurec::models::registry::{self, Overrides};
    let d = generate(&SyntheticConfig { users: 40, items: 60, mean_per_user: 10, ..Default::default() });
    let s = per_user_ratio(&d, 0.1, 0.1, 3);
    let set = TrainSet::from_rows(&d, &s.train);
    for name in registry::names() {
        let entry = registry::entry::<Cpu>(name).unwrap();
        let info = registry::info(name).unwrap();
        let over = Overrides { dim: (!info.dim_keys.is_empty()).then_some(4), ..Default::default() };
        let config = entry.config(&over).unwrap();
        let model = entry.build(&Cpu, &set, &config, 1).unwrap();
        assert_eq!(model.features().is_some(), entry.takes_features(), "{name}");
    }
}

/// The cold-start protocol refuses a family without feature embeddings
/// before it trains anything.
#[test]
fn cold_start_refuses_a_model_without_features_before_training() {
    use gpurec::models::registry::{self, Overrides};
    use gpurec::train::{EpochReport, Progress};
    struct NoEpochs;
    impl Progress for NoEpochs {
        fn on_epoch(&mut self, r: &EpochReport) {
            panic!("trained an epoch ({r:?}) before refusing");
        }
    }
    let d = generate(&SyntheticConfig { users: 40, items: 60, mean_per_user: 10, ..Default::default() });
    let entry = registry::entry::<Cpu>("bpr").unwrap();
    let config = entry.config(&Overrides::default()).unwrap();
    let fit = FitConfig { epochs: 2, batch_size: 64, patience: 0, seed: 1, ..Default::default() };
    let err = match gpurec::protocol::cold_start(
        &Cpu,
        entry.as_ref(),
        &config,
        &d,
        Side::Users,
        0.1,
        &fit,
        &Default::default(),
        &mut NoEpochs,
    ) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("bpr ran the cold-start protocol"),
    };
    assert!(err.contains("bpr has no feature embeddings") && err.contains("lightfm"), "{err}");
}
