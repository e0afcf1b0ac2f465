//! EASE and ItemKNN on MovieLens 100K under RecBole's protocol
//! (shared/PROTOCOLS.md), through the same library protocol the CLI runs:
//! per-user random 8:1:1 split (seed 2024), full ranking over all items with
//! training (and at test time validation) items masked. Both are closed
//! form: the model is fitted once, with the defaults chosen on the
//! validation part.
//!
//! The data is read from ../shared/datasets/ml-100k (or $GPUREC_ML100K); when
//! it is absent the tests say so and pass without checking anything.

mod common;

use gpurec::data::movielens::{find_ml100k, load_ml100k};
use gpurec::data::split::per_user_ratio;
use gpurec::models::registry::{self, Overrides};
use gpurec::train::{FitConfig, Silent};
use gpurec::{Backend, Cpu};

fn test_ndcg<B: Backend>(b: &B, model: &str) -> Option<f64> {
    let Some(dir) = find_ml100k() else {
        eprintln!("ML-100K NOT FOUND (looked in $GPUREC_ML100K and ../shared/datasets/ml-100k): quality test not run");
        return None;
    };
    let data = load_ml100k(&dir).unwrap();
    let split = per_user_ratio(&data, 0.1, 0.1, 2024);
    let family = registry::entry::<B>(model).unwrap();
    let config = family.config(&Overrides::default()).unwrap();
    let fit = FitConfig { patience: 0, seed: 2024, ..Default::default() };
    let run =
        gpurec::protocol::ranking(b, family.as_ref(), &config, &data, &split, &fit, &[10, 20], &mut Silent).unwrap();
    let m = &run.test;
    eprintln!(
        "{model} {config} on ML-100K, {}: valid NDCG@10 {:.4}, test NDCG@10 {:.4} Recall@10 {:.4} NDCG@20 {:.4} \
         ({:.2} s to fit and validate)",
        b.describe(),
        run.summary.best_valid.unwrap_or(f64::NAN),
        m.get("ndcg", 10).unwrap(),
        m.get("recall", 10).unwrap(),
        m.get("ndcg", 20).unwrap(),
        run.train_seconds
    );
    Some(m.get("ndcg", 10).unwrap())
}

#[test]
fn ease_reaches_its_published_quality_on_ml100k_cpu() {
    if let Some(ndcg) = test_ndcg(&Cpu, "ease") {
        // EASE reaches ≈ 0.33 on this protocol.
        assert!(ndcg >= 0.32, "test NDCG@10 {ndcg} < 0.32");
    }
}

#[test]
fn ease_on_ml100k_gpu() {
    let Some(gpu) = common::gpu() else { return };
    if let Some(ndcg) = test_ndcg(&gpu, "ease") {
        assert!(ndcg >= 0.32, "test NDCG@10 {ndcg} < 0.32");
    }
}

#[test]
fn itemknn_reaches_recbole_quality_on_ml100k_cpu() {
    if let Some(ndcg) = test_ndcg(&Cpu, "itemknn") {
        assert!(ndcg >= 0.28, "test NDCG@10 {ndcg} < 0.28");
    }
}

#[test]
fn itemknn_on_ml100k_gpu() {
    let Some(gpu) = common::gpu() else { return };
    if let Some(ndcg) = test_ndcg(&gpu, "itemknn") {
        assert!(ndcg >= 0.28, "test NDCG@10 {ndcg} < 0.28");
    }
}
