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

use gpurec::models::registry::Overrides;
use gpurec::Cpu;

#[test]
fn ease_reaches_its_published_quality_on_ml100k_cpu() {
    if let Some(ndcg) = common::ml100k_ranking_ndcg(&Cpu, "ease", &Overrides::default(), None, None) {
        // EASE reaches ≈ 0.33 on this protocol.
        assert!(ndcg >= 0.32, "test NDCG@10 {ndcg} < 0.32");
    }
}

#[test]
fn ease_on_ml100k_gpu() {
    let Some(gpu) = common::gpu() else { return };
    if let Some(ndcg) = common::ml100k_ranking_ndcg(&gpu, "ease", &Overrides::default(), None, None) {
        assert!(ndcg >= 0.32, "test NDCG@10 {ndcg} < 0.32");
    }
}

#[test]
fn itemknn_reaches_recbole_quality_on_ml100k_cpu() {
    if let Some(ndcg) = common::ml100k_ranking_ndcg(&Cpu, "itemknn", &Overrides::default(), None, None) {
        assert!(ndcg >= 0.28, "test NDCG@10 {ndcg} < 0.28");
    }
}

#[test]
fn itemknn_on_ml100k_gpu() {
    let Some(gpu) = common::gpu() else { return };
    if let Some(ndcg) = common::ml100k_ranking_ndcg(&gpu, "itemknn", &Overrides::default(), None, None) {
        assert!(ndcg >= 0.28, "test NDCG@10 {ndcg} < 0.28");
    }
}
