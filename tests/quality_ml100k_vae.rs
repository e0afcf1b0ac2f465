//! Mult-DAE and Mult-VAE on MovieLens 100K under RecBole's protocol
//! (shared/PROTOCOLS.md), through the same library protocol the CLI runs:
//! per-user random 8:1:1 split (seed 2024), full ranking over all items with
//! training (and at test time validation) items masked, early stopping on
//! validation NDCG@10 with patience 10, the best-on-validation weights
//! tested. The defaults (configuration and schedule) were chosen on the
//! validation part only; RecBole reports test NDCG@10 0.311 (Mult-VAE) and
//! 0.297 (Mult-DAE) on this protocol.
//!
//! The data is read from ../shared/datasets/ml-100k (or $GPUREC_ML100K); when
//! it is absent the tests say so and pass without checking anything.

mod common;

use gpurec::models::registry::Overrides;
use gpurec::Cpu;

#[test]
fn multvae_on_ml100k_cpu_reaches_0_306_short_of_recbole() {
    if let Some(ndcg) = common::ml100k_ranking_ndcg(&Cpu, "multvae", &Overrides::default(), None, None) {
        // 0.3078 with the validation-chosen defaults (dropout 0.6, β → 0.3
        // over 2,000 updates, 64 distinct users per step; validation
        // 0.2507): RecBole's 0.311 is not reached, and RecBole's own batching
        // (one row per training interaction, `draw: "per_interaction"`) scored
        // lower on validation, so this guards what is (see the model's docs).
        assert!(ndcg >= 0.306, "test NDCG@10 {ndcg} < 0.306");
    }
}

#[test]
fn multdae_reaches_recbole_quality_on_ml100k_cpu() {
    if let Some(ndcg) = common::ml100k_ranking_ndcg(&Cpu, "multdae", &Overrides::default(), None, None) {
        assert!(ndcg >= 0.30, "test NDCG@10 {ndcg} < 0.30");
    }
}
