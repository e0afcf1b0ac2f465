//! Model files of every model kind: saved weights load back into a model that
//! scores exactly the same, on either backend, and files whose weights do not
//! fit their configuration are refused with an error, never a panic.

mod common;

use gpurec::data::IdMap;
use gpurec::eval::{RatingModel, Ratings, Scorer};
use gpurec::model_file::ModelFile;
use gpurec::models::registry;
use gpurec::models::{BiasedMf, MfConfig, NeuMf, NeuMfConfig};
use gpurec::{Backend, Cpu};

fn ids(prefix: &str, n: usize) -> IdMap {
    let mut m = IdMap::default();
    for k in 0..n {
        m.intern(&format!("{prefix}{k}"));
    }
    m
}

fn neumf_file(users: usize, items: usize) -> (NeuMf<Cpu>, ModelFile) {
    let cfg = NeuMfConfig { mf_dim: 4, mlp_dim: 5, hidden: vec![7, 3], ..Default::default() };
    let m = NeuMf::new(&Cpu, users, items, cfg, 11).unwrap();
    let file = registry::to_file(&Cpu, &m, serde_json::json!({}), &ids("u", users), &ids("i", items)).unwrap();
    (m, file)
}

fn scores<B: Backend>(b: &B, s: &(impl Scorer<B> + ?Sized), users: &[u32]) -> Vec<f32> {
    b.read(&s.score_users(b, &b.index(users).unwrap())).unwrap()
}

#[test]
fn neumf_round_trips_through_a_file_on_both_backends() {
    let (m, file) = neumf_file(9, 13);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("n.gpurec");
    file.save(&path).unwrap();
    let file = ModelFile::load(&path).unwrap();
    let users = [0, 8, 3];
    let want = scores(&Cpu, &m, &users);
    let back = registry::load(&Cpu, &file).unwrap();
    assert_eq!(back.kind(), "neumf");
    assert_eq!(scores(&Cpu, back.as_ref(), &users), want, "bit-exact on the same backend");
    if let Some(g) = common::gpu() {
        let on_gpu = registry::load(&g, &file).unwrap();
        common::assert_close(
            "neumf scores after loading on the GPU",
            &scores(&g, on_gpu.as_ref(), &users),
            &want,
            common::SUMS,
        );
    }
}

#[test]
fn mf_round_trips_predictions_and_rankings() {
    let train =
        Ratings { users: vec![0, 1, 2, 2, 4], items: vec![0, 3, 1, 5, 2], ratings: vec![5.0, 3.0, 4.0, 1.0, 2.0] };
    let cfg = MfConfig { dim: 3, ..Default::default() };
    let m = BiasedMf::new(&Cpu, 5, 6, &train, cfg, 3).unwrap();
    let file = registry::to_file(&Cpu, &m, serde_json::json!({}), &ids("u", 5), &ids("i", 6)).unwrap();
    let back = registry::load(&Cpu, &ModelFile::from_bytes(&file.to_bytes().unwrap()).unwrap()).unwrap();
    let (u, i) = ([0, 4, 2, 1], [0, 2, 5, 4]);
    let p = |x: &dyn RatingModel<Cpu>| Cpu.read(&x.predict(&Cpu, &u, &i).unwrap()).unwrap();
    let rating = back.ratings().expect("an mf model predicts ratings");
    assert_eq!(p(rating), p(&m));
    // Ranking scores are the predicted ratings of every item.
    let all = scores(&Cpu, back.as_ref(), &[2]);
    let pred = Cpu.read(&rating.predict(&Cpu, &[2; 6], &[0, 1, 2, 3, 4, 5]).unwrap()).unwrap();
    common::assert_close("mf ranking scores = predictions", &all, &pred, common::EXACTISH);
    // A NeuMF file relabelled as MF: its configuration and tensors are not an MF model's.
    let mut relabelled = neumf_file(5, 6).1;
    relabelled.kind = "mf".into();
    let e = registry::load(&Cpu, &relabelled).err().expect("kind is checked against the contents").to_string();
    assert!(e.contains("mf"), "{e}");
}

#[test]
fn weights_that_do_not_fit_the_configuration_are_refused() {
    let (_, good) = neumf_file(4, 6);

    let mut f = good.clone();
    f.config["hidden"] = serde_json::json!([7, 9]);
    let e = registry::load(&Cpu, &f).err().expect("a layer of the wrong width").to_string();
    assert!(e.contains("mlp.0.weight"), "{e}");

    let mut f = good.clone();
    f.config["hidden"] = serde_json::json!([]);
    let e = registry::load(&Cpu, &f).err().expect("no MLP layer").to_string();
    assert!(e.contains("at least one MLP layer"), "{e}");

    let mut f = good.clone();
    f.config["mf_dim"] = serde_json::json!(1_000_000_000_000u64);
    let e = registry::load(&Cpu, &f).err().expect("huge sizes are checked before allocating").to_string();
    assert!(e.contains("user_gmf"), "{e}");

    let mut f = good.clone();
    f.config = serde_json::json!("not a config");
    assert!(registry::load(&Cpu, &f).is_err());

    let mut f = good.clone();
    f.tensors.retain(|t| t.name != "out_mlp.bias");
    let e = registry::load(&Cpu, &f).err().expect("a missing tensor").to_string();
    assert!(e.contains("out_mlp.bias"), "{e}");

    let mut f = good.clone();
    f.tensors.push(gpurec::model_file::NamedTensor::new("extra", vec![1], vec![0.0]));
    let e = registry::load(&Cpu, &f).err().expect("an extra tensor").to_string();
    assert!(e.contains("extra"), "{e}");

    let mut f = good;
    f.kind = "no-such-model".into();
    let e = registry::load(&Cpu, &f).err().expect("an unknown kind").to_string();
    assert!(e.contains("no-such-model") && e.contains("neumf"), "{e}");
}
