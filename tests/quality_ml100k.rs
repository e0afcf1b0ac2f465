//! Model quality on MovieLens 100K under RecBole's protocol (shared/PROTOCOLS.md):
//! every rating is an interaction, per-user random 8:1:1 split, full ranking
//! over all items with training (and at test time validation) items masked,
//! early stopping on validation NDCG@10 with patience 10.
//!
//! The data is read from ../shared/datasets/ml-100k (or $GPUREC_ML100K); when
//! it is absent the tests say so and pass without checking anything.

mod common;

use gpurec::data::movielens::{find_ml100k, load_ml100k};
use gpurec::data::split::per_user_ratio;
use gpurec::eval::RankingEval;
use gpurec::models::TrainSet;
use gpurec::models::{BprConfig, BprMf};
use gpurec::train::{FitConfig, Silent};
use gpurec::{Backend, Cpu};

fn bpr_test_ndcg<B: Backend>(b: &B) -> Option<(f64, usize)> {
    let Some(dir) = find_ml100k() else {
        eprintln!("ML-100K NOT FOUND (looked in $GPUREC_ML100K and ../shared/datasets/ml-100k): quality test not run");
        return None;
    };
    let data = load_ml100k(&dir).unwrap();
    assert_eq!((data.len(), data.n_users(), data.n_items()), (100_000, 943, 1682));
    let split = per_user_ratio(&data, 0.1, 0.1, 2024);
    let train = data.user_item_csr(&split.train);
    let valid = data.user_item_csr(&split.valid);
    let test = data.user_item_csr(&split.test);
    let train_valid = data.user_item_csr(&[split.train.clone(), split.valid.clone()].concat());
    let valid_eval = RankingEval::new(b, &valid, &train, &[10], 1024).unwrap().without_auc();
    let test_eval = RankingEval::new(b, &test, &train_valid, &[10, 20], 1024).unwrap();
    let mut model = BprMf::new(b, data.n_users(), data.n_items(), BprConfig::default(), 2024).unwrap();
    let fit = FitConfig { epochs: 300, batch_size: 2048, patience: 10, seed: 2024, ..Default::default() };
    let summary =
        gpurec::train::fit(b, &mut model, &TrainSet::from_csr(&train), Some(&valid_eval), &fit, &mut Silent).unwrap();
    let m = test_eval.evaluate(b, &model).unwrap();
    eprintln!(
        "BPR-MF on ML-100K, {}: {} epochs (best {}), test NDCG@10 {:.4} Recall@10 {:.4} NDCG@20 {:.4}",
        b.describe(),
        summary.epochs.len(),
        summary.best_epoch,
        m.get("ndcg", 10).unwrap(),
        m.get("recall", 10).unwrap(),
        m.get("ndcg", 20).unwrap()
    );
    Some((m.get("ndcg", 10).unwrap(), summary.best_epoch))
}

#[test]
fn bpr_mf_reaches_recbole_quality_on_ml100k_cpu() {
    if let Some((ndcg, _)) = bpr_test_ndcg(&Cpu) {
        // RecBole's BPR: about 0.29 on this protocol.
        assert!(ndcg >= 0.28, "test NDCG@10 {ndcg} < 0.28");
    }
}

#[test]
fn bpr_mf_reaches_recbole_quality_on_ml100k_gpu() {
    let Some(gpu) = common::gpu() else { return };
    if let Some((ndcg, _)) = bpr_test_ndcg(&gpu) {
        assert!(ndcg >= 0.28, "test NDCG@10 {ndcg} < 0.28");
    }
}
