//! The feature-aware model (`lightfm`) and the cold-start protocol
//! ([`gpurec::protocol::cold_start`]): users and items the model never saw,
//! ranked from their side features alone, against most popular on the same
//! users; and the warm users' quality against BPR-MF's on the same split.
//!
//! The MovieLens 100K tests read ../shared/datasets/ml-100k (or
//! $GPUREC_ML100K); when it is absent they say so and pass without checking.

mod common;

use gpurec::data::movielens::{find_ml100k, load_ml100k};
use gpurec::models::refit::Side;
use gpurec::models::registry::{self, Overrides};
use gpurec::protocol::{cold_start, ranking, RankingOptions};
use gpurec::train::{FitConfig, Silent};
use gpurec::Cpu;

fn ml100k() -> Option<gpurec::data::Interactions> {
    let Some(dir) = find_ml100k() else {
        eprintln!(
            "ML-100K NOT FOUND (looked in $GPUREC_ML100K and ../shared/datasets/ml-100k): cold-start test not run"
        );
        return None;
    };
    Some(load_ml100k(&dir).unwrap())
}

fn fit_cfg() -> FitConfig {
    FitConfig { epochs: 300, batch_size: 2048, patience: 10, seed: 2024, ..Default::default() }
}

#[test]
fn cold_users_and_items_on_ml100k_beat_most_popular() {
    let Some(data) = ml100k() else { return };
    let lfm = registry::entry::<Cpu>("lightfm").unwrap();
    let cfg = lfm.config(&Overrides::default()).unwrap();
    let opts = RankingOptions::default();
    for side in [Side::Users, Side::Items] {
        let run = cold_start(&Cpu, lfm.as_ref(), &cfg, &data, side, 0.1, &fit_cfg(), &opts, &mut Silent).unwrap();
        let (m, p) = (run.cold.get("ndcg", 10).unwrap(), run.popular.get("ndcg", 10).unwrap());
        eprintln!(
            "{side:?}: {} held out, {} users scored: lightfm NDCG@10 {m:.4} vs most popular {p:.4}, random {:.4}; warm test NDCG@10 {:.4} (best epoch {})",
            run.held_out,
            run.users,
            run.random.get("ndcg", 10).unwrap(),
            run.warm.test.get("ndcg", 10).unwrap(),
            run.warm.summary.best_epoch
        );
        assert!(run.held_out == if side == Side::Users { 94 } else { 168 }, "a tenth of 943 users or 1682 items");
        assert!(m > p, "{side:?}: cold NDCG@10 {m:.4} is not above most popular's {p:.4}");
        let r = run.random.get("ndcg", 10).unwrap();
        assert!(m > r, "{side:?}: cold NDCG@10 {m:.4} is not above a random order's {r:.4}");
    }
}

/// Warm users, the usual protocol (per-user 8:1:1, seed 2024): the hybrid
/// is no worse than BPR-MF with their defaults.
#[test]
fn lightfm_warm_quality_is_no_worse_than_bpr_on_ml100k() {
    let Some(data) = ml100k() else { return };
    let split = gpurec::data::split::per_user_ratio(&data, 0.1, 0.1, 2024);
    let ndcg = |name: &str| {
        let e = registry::entry::<Cpu>(name).unwrap();
        let cfg = e.config(&Overrides::default()).unwrap();
        let run = ranking(&Cpu, e.as_ref(), &cfg, &data, &split, &fit_cfg(), &RankingOptions::default(), &mut Silent)
            .unwrap();
        eprintln!(
            "{name}: test NDCG@10 {:.4}, best epoch {}",
            run.test.get("ndcg", 10).unwrap(),
            run.summary.best_epoch
        );
        run.test.get("ndcg", 10).unwrap()
    };
    let (lfm, bpr) = (ndcg("lightfm"), ndcg("bpr"));
    assert!(lfm >= bpr, "lightfm {lfm:.4} below BPR-MF {bpr:.4} on warm users");
}

/// The harness behind the defaults in `LightFmConfig`'s docs (not a check):
/// `SETS="reg=0.01;identity_dropout=0.2" SIDE=users|items SEED=7 cargo test
/// --release --test cold_start lightfm_sweep -- --ignored --nocapture`
/// prints the warm validation NDCG@10 (what the defaults were chosen on),
/// and the cold and warm test figures of that draw.
#[test]
#[ignore]
fn lightfm_sweep() {
    let Some(data) = ml100k() else { return };
    let lfm = registry::entry::<Cpu>("lightfm").unwrap();
    let sets = std::env::var("SETS").unwrap_or_default();
    let set = sets.split(';').filter(|s| !s.is_empty()).map(|s| Overrides::parse_set(s).unwrap()).collect();
    let cfg = lfm.config(&Overrides { set, ..Default::default() }).unwrap();
    let side = if std::env::var("SIDE").as_deref() == Ok("items") { Side::Items } else { Side::Users };
    let seed = std::env::var("SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(2024);
    let fit = FitConfig { seed, ..fit_cfg() };
    let run =
        cold_start(&Cpu, lfm.as_ref(), &cfg, &data, side, 0.1, &fit, &RankingOptions::default(), &mut Silent).unwrap();
    let valid = run.warm.summary.best_metrics.as_ref().and_then(|m| m.ranking()).and_then(|m| m.get("ndcg", 10));
    eprintln!(
        "SWEEP {side:?} seed {seed} {sets:?}: warm valid NDCG@10 {valid:?} (epoch {}); cold {:.4}, most popular {:.4}; warm test {:.4}",
        run.warm.summary.best_epoch,
        run.cold.get("ndcg", 10).unwrap(),
        run.popular.get("ndcg", 10).unwrap(),
        run.warm.test.get("ndcg", 10).unwrap()
    );
}
