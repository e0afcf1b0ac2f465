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
fn multvae_reaches_recbole_quality_on_ml100k_cpu() {
    if let Some(ndcg) = common::ml100k_ranking_ndcg(&Cpu, "multvae", &Overrides::default(), None, None) {
        // 0.3116 with the validation-chosen defaults (dropout 0.6, β → 0.3
        // over 2,000 updates, z of 32, 64 distinct users per step;
        // validation 0.2514); the bar is 0.31 (RecBole 0.311).
        assert!(ndcg >= 0.31, "test NDCG@10 {ndcg} < 0.31");
    }
}

#[test]
fn multdae_reaches_recbole_quality_on_ml100k_cpu() {
    if let Some(ndcg) = common::ml100k_ranking_ndcg(&Cpu, "multdae", &Overrides::default(), None, None) {
        assert!(ndcg >= 0.30, "test NDCG@10 {ndcg} < 0.30");
    }
}
