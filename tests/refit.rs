//! Fold-in and incremental updates of the embedding models
//! (`gpurec::models::refit`): a user's row fitted against the fixed items.
//!
//! On MovieLens 100K (per-user 8:1:1, seed 2024), a tenth of the users is
//! kept out of training altogether; they are folded in from their training
//! items and ranked on their test items, against the same users in a model
//! trained with them, and against most popular.

mod common;

use gpurec::backend::{Backend, Shaped};
use gpurec::data::movielens::{find_ml100k, load_ml100k};
use gpurec::data::split::{per_user_ratio, Split};
use gpurec::data::Interactions;
use gpurec::eval::ranking_metrics;
use gpurec::models::contract::Model;
use gpurec::models::refit::{fold_in, RefitConfig, Side};
use gpurec::models::registry::{self, Overrides};
use gpurec::sparse::CsrHost;
use gpurec::train::{FitConfig, Silent};
use gpurec::{Cpu, Gpu};

/// The users kept out: every tenth.
fn is_new(u: u32) -> bool {
    u % 10 == 3
}

/// `split` without the rows of the new users.
fn without_new(data: &Interactions, split: &Split) -> Split {
    let keep = |rows: &[usize]| rows.iter().copied().filter(|&r| !is_new(data.users[r])).collect();
    Split { train: keep(&split.train), valid: keep(&split.valid), test: keep(&split.test) }
}

/// NDCG@10 and Recall@10 of `scores` `[users.len(), items]` on the users' test items, their training and validation items masked.
fn metrics_of<B: Backend>(b: &B, scores: &B::Tensor, users: &[u32], data: &Interactions, split: &Split) -> (f64, f64) {
    metrics_on(b, scores, users, data, &[split.train.clone(), split.valid.clone()].concat(), &split.test)
}

/// NDCG@10 and Recall@10 of `scores` on the users' `target` rows, their `seen` rows masked.
fn metrics_on<B: Backend>(
    b: &B,
    scores: &B::Tensor,
    users: &[u32],
    data: &Interactions,
    seen: &[usize],
    target: &[usize],
) -> (f64, f64) {
    let row_of = |u: u32| users.iter().position(|&x| x == u);
    let pick = |rows: &[usize]| -> Vec<(u32, u32, f32)> {
        rows.iter().filter_map(|&r| row_of(data.users[r]).map(|k| (k as u32, data.items[r], 1.0))).collect()
    };
    let n_items = data.n_items();
    let seen = CsrHost::from_triplets(users.len(), n_items, &pick(seen));
    let test = CsrHost::from_triplets(users.len(), n_items, &pick(target));
    let (cols, _) = b.topk_masked(scores, 10, Some(&b.pattern(&seen).unwrap()));
    let cols = b.read_index(&cols).unwrap();
    let tops: Vec<Vec<u32>> = cols.chunks(10).map(|c| c.to_vec()).collect();
    let targets: Vec<Vec<u32>> = (0..users.len()).map(|k| test.row(k).to_vec()).collect();
    let m = ranking_metrics(&tops, &targets, &[10], n_items);
    (m.get("ndcg", 10).unwrap(), m.get("recall", 10).unwrap())
}

/// ML-100K's per-user 8:1:1 split, that split without the kept-out users,
/// the kept-out users and each one's training interactions (item, rating).
struct KeptOut {
    data: Interactions,
    split: Split,
    warm: Split,
    new: Vec<u32>,
    histories: Vec<Vec<(u32, f32)>>,
}

/// [`KeptOut`], or `None` (with a note) when ML-100K is absent.
fn kept_out() -> Option<KeptOut> {
    let Some(dir) = find_ml100k() else {
        eprintln!("ML-100K NOT FOUND (looked in $GPUREC_ML100K and ../shared/datasets/ml-100k): quality test not run");
        return None;
    };
    let data = load_ml100k(&dir).unwrap();
    let split = per_user_ratio(&data, 0.1, 0.1, 2024);
    let warm = without_new(&data, &split);
    let new: Vec<u32> = (0..data.n_users() as u32).filter(|&u| is_new(u)).collect();
    let histories: Vec<Vec<(u32, f32)>> = new
        .iter()
        .map(|&u| {
            split.train.iter().filter(|&&r| data.users[r] == u).map(|&r| (data.items[r], data.ratings[r])).collect()
        })
        .collect();
    Some(KeptOut { data, split, warm, new, histories })
}

/// Trains `model`'s defaults on `split` with early stopping, as the quality tests do.
fn train<B: Backend>(b: &B, model: &str, data: &Interactions, split: &Split) -> Box<dyn Model<B>> {
    let family = registry::entry::<B>(model).unwrap();
    let config = family.config(&Overrides::default()).unwrap();
    let s = family.info().schedule;
    let fit = FitConfig {
        epochs: s.epochs,
        batch_size: s.batch_size,
        patience: s.patience,
        seed: 2024,
        ..Default::default()
    };
    gpurec::protocol::ranking(b, family.as_ref(), &config, data, split, &fit, &Default::default(), &mut Silent)
        .unwrap()
        .model
}

/// Folded-in (one per configuration), retrained and most-popular NDCG@10 of the new users.
fn new_users_ndcg(model: &str, cfgs: &[RefitConfig]) -> Option<(Vec<f64>, f64, f64)> {
    let KeptOut { data, split, warm: warm_split, new, histories } = kept_out()?;
    let b = Cpu;
    let warm = train(&b, model, &data, &warm_split);
    let mut folds = Vec::new();
    for cfg in cfgs {
        let t = std::time::Instant::now();
        let folded = fold_in(&b, warm.refit().expect("an embedding model refits"), &histories, cfg).unwrap();
        let seconds = t.elapsed().as_secs_f64();
        let (ndcg, recall) = metrics_of(&b, &folded, &new, &data, &split);
        let (valid, _) = metrics_on(&b, &folded, &new, &data, &split.train, &split.valid);
        eprintln!(
            "{model}: {} new users folded in ({} steps, lr {}) in {seconds:.2} s: valid NDCG@10 {valid:.4}; test NDCG@10 {ndcg:.4} Recall@10 {recall:.4}",
            new.len(),
            cfg.steps,
            cfg.lr
        );
        folds.push(ndcg);
    }

    let full = train(&b, model, &data, &split);
    let (full_ndcg, full_recall) = metrics_of(&b, &full.score_users(&b, &b.index(&new).unwrap()), &new, &data, &split);

    let pop = train(&b, "pop", &data, &warm_split);
    let pop_scores = pop.score_users(&b, &b.index(&vec![0; new.len()]).unwrap());
    assert_eq!(pop_scores.dims(), [new.len(), data.n_items()]);
    let (pop_ndcg, _) = metrics_of(&b, &pop_scores, &new, &data, &split);
    eprintln!("{model}: the same users trained with them: NDCG@10 {full_ndcg:.4} Recall@10 {full_recall:.4}; most popular: {pop_ndcg:.4}");
    Some((folds, full_ndcg, pop_ndcg))
}

/// Fold-in sweep (`cargo test --release --test refit -- --ignored`):
/// `REFIT_MODEL=bpr REFIT_SWEEP="steps:lr;steps:lr"`.
#[test]
#[ignore]
fn refit_sweep() {
    let model = std::env::var("REFIT_MODEL").unwrap_or_else(|_| "bpr".into());
    let sweep = std::env::var("REFIT_SWEEP").unwrap_or_else(|_| "150:0.02".into());
    let cfgs: Vec<RefitConfig> = sweep
        .split(';')
        .map(|point| {
            let (steps, lr) = point.split_once(':').unwrap();
            RefitConfig { steps: steps.parse().unwrap(), lr: lr.parse().unwrap(), ..Default::default() }
        })
        .collect();
    new_users_ndcg(&model, &cfgs);
}

/// Biased MF (a rating model), its schedule without early stopping, on `rows`.
fn train_mf(data: &Interactions, rows: &[usize]) -> Box<dyn Model<Cpu>> {
    let family = registry::entry::<Cpu>("mf").unwrap();
    let config = family.config(&Overrides::default()).unwrap();
    let s = family.info().schedule;
    let set = gpurec::models::contract::TrainSet::from_rows(data, rows);
    let mut m = family.build(&Cpu, &set, &config, 2024).unwrap();
    let fit =
        FitConfig { epochs: s.fixed_epochs, batch_size: s.batch_size, patience: 0, seed: 2024, ..Default::default() };
    gpurec::train::fit(&Cpu, m.as_mut(), &set, None, &fit, &mut Silent).unwrap();
    m
}

/// RMSE of `scores` `[users.len(), items]` (predicted ratings) on the users' `target` rows.
fn rmse_on(scores: &[f32], users: &[u32], data: &Interactions, target: &[usize]) -> f64 {
    let n_items = data.n_items();
    let (mut se, mut n) = (0.0, 0);
    for &r in target {
        if let Some(k) = users.iter().position(|&u| u == data.users[r]) {
            se += (scores[k * n_items + data.items[r] as usize] as f64 - data.ratings[r] as f64).powi(2);
            n += 1;
        }
    }
    (se / n as f64).sqrt()
}

/// Folded-in (one per configuration) and retrained test RMSE of the new users under biased MF.
fn new_users_rmse(cfgs: &[RefitConfig]) -> Option<(Vec<f64>, f64)> {
    let KeptOut { data, split, warm, new, histories } = kept_out()?;
    let model = train_mf(&data, &warm.train);
    let mut out = Vec::new();
    for cfg in cfgs {
        let folded = Cpu.read(&fold_in(&Cpu, model.refit().unwrap(), &histories, cfg).unwrap()).unwrap();
        let (valid, test) = (rmse_on(&folded, &new, &data, &split.valid), rmse_on(&folded, &new, &data, &split.test));
        eprintln!(
            "mf: {} new users folded in ({} steps, lr {}): valid RMSE {valid:.4}, test RMSE {test:.4}",
            new.len(),
            cfg.steps,
            cfg.lr
        );
        out.push(test);
    }
    let full = train_mf(&data, &split.train);
    let scores = Cpu.read(&full.score_users(&Cpu, &Cpu.index(&new).unwrap())).unwrap();
    let full_rmse = rmse_on(&scores, &new, &data, &split.test);
    let refit = model.refit().unwrap();
    let zeros: Vec<_> = refit.widths(Side::Users).iter().map(|&w| Cpu.zeros(&[new.len(), w])).collect();
    let item_only = Cpu.read(&refit.score_user_rows(&Cpu, &zeros)).unwrap();
    let item_only = rmse_on(&item_only, &new, &data, &split.test);
    eprintln!("mf: the same users trained with them: test RMSE {full_rmse:.4}; μ + b_i alone: {item_only:.4}");
    assert!(
        out.iter().all(|&f| f < item_only - 0.05),
        "folding in does not beat μ + b_i alone ({item_only:.4}) by 0.05"
    );
    Some((out, full_rmse))
}

/// `REFIT_SWEEP="steps:lr;…" cargo test --release --test refit mf_refit_sweep -- --ignored`.
#[test]
#[ignore]
fn mf_refit_sweep() {
    let sweep = std::env::var("REFIT_SWEEP").unwrap_or_else(|_| "100:0.05".into());
    let cfgs: Vec<RefitConfig> = sweep
        .split(';')
        .map(|point| {
            let (steps, lr) = point.split_once(':').unwrap();
            RefitConfig { steps: steps.parse().unwrap(), lr: lr.parse().unwrap(), ..Default::default() }
        })
        .collect();
    new_users_rmse(&cfgs);
}

/// The families with per-user and per-item rows to refit (`Model::refit`).
const REFITS: [&str; 3] = ["bpr", "mf", "neumf"];

fn small() -> Interactions {
    gpurec::data::synthetic::generate(&gpurec::data::synthetic::SyntheticConfig {
        users: 60,
        items: 90,
        mean_per_user: 20,
        min_per_user: 8,
        ..Default::default()
    })
}

/// `name`'s defaults (8 dimensions) trained `epochs` on `set`.
fn trained<B: Backend>(b: &B, name: &str, set: &gpurec::models::TrainSet, epochs: usize) -> Box<dyn Model<B>> {
    let entry = registry::entry::<B>(name).unwrap();
    let info = entry.info();
    // A learning rate ten times the default, so the few steps of a small set converge.
    let lr = info.lr_key.map(|_| 1e-2);
    let o = Overrides { dim: (!info.dim_keys.is_empty()).then_some(8), lr, ..Default::default() };
    let mut m = entry.build(b, set, &entry.config(&o).unwrap(), 3).unwrap();
    let fit = FitConfig { epochs, batch_size: 256, patience: 0, seed: 7, ..Default::default() };
    gpurec::train::fit(b, m.as_mut(), set, None, &fit, &mut Silent).unwrap();
    m
}

/// Each of `users`' training interactions (item, rating).
fn histories(set: &gpurec::models::TrainSet, users: &[u32]) -> Vec<Vec<(u32, f32)>> {
    let r = &set.ratings;
    users
        .iter()
        .map(|&u| (0..r.users.len()).filter(|&k| r.users[k] == u).map(|k| (r.items[k], r.ratings[k])).collect())
        .collect()
}

/// Pearson correlation of two equally long slices.
fn pearson(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().map(|&x| x as f64).sum::<f64>() / n, b.iter().map(|&x| x as f64).sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (x as f64 - ma, y as f64 - mb);
        (sab, saa, sbb) = (sab + x * y, saa + x * x, sbb + y * y);
    }
    sab / (saa * sbb).sqrt()
}

/// Folded-in scores on the GPU and on the CPU, from the same weights.
type GpuAndCpu = (Vec<f32>, Vec<f32>);

/// Per user, the correlation of the folded-in scores with the trained
/// user's (CPU), and the folded-in scores on the CPU and on `gpu` from the
/// same weights.
fn agreement(name: &str, gpu: Option<&Gpu>) -> (Vec<f64>, Option<GpuAndCpu>) {
    let data = small();
    let set = gpurec::models::TrainSet::all(&data);
    let m = trained(&Cpu, name, &set, 100);
    let users: Vec<u32> = (0..set.n_users() as u32).step_by(6).collect();
    let hist = histories(&set, &users);
    let refit = m.refit().unwrap();
    let folded = Cpu.read(&fold_in(&Cpu, refit, &hist, &refit.defaults()).unwrap()).unwrap();
    let trained = Cpu.read(&m.score_users(&Cpu, &Cpu.index(&users).unwrap())).unwrap();
    let n = set.n_items();
    let r = (0..users.len()).map(|k| pearson(&folded[k * n..(k + 1) * n], &trained[k * n..(k + 1) * n])).collect();
    let on_gpu = gpu.map(|g| {
        let file = registry::to_file(&Cpu, m.as_ref(), serde_json::json!({}), &data.user_ids, &data.item_ids).unwrap();
        let mg = registry::load(g, &file).unwrap();
        let refit = mg.refit().unwrap();
        (g.read(&fold_in(g, refit, &hist, &refit.defaults()).unwrap()).unwrap(), folded.clone())
    });
    (r, on_gpu)
}

#[test]
fn a_folded_in_user_scores_the_items_as_the_trained_user_and_alike_on_both_backends() {
    let set = gpurec::models::TrainSet::all(&small());
    for name in registry::names() {
        let m = trained(&Cpu, name, &set, 1);
        assert_eq!(m.refit().is_some(), REFITS.contains(&name), "{name}: refits? update REFITS");
    }
    let g = common::gpu();
    for name in REFITS {
        let (r, on_gpu) = agreement(name, g.as_ref());
        let mean = r.iter().sum::<f64>() / r.len() as f64;
        let worst = r.iter().copied().fold(f64::INFINITY, f64::min);
        eprintln!("{name}: folded-in vs trained scores, Pearson r mean {mean:.3}, worst {worst:.3}");
        assert!(mean >= 0.9 && worst >= 0.8, "{name}: folded-in vs trained scores, r mean {mean:.3}, worst {worst:.3}");
        if let Some((gpu, cpu)) = on_gpu {
            common::assert_close(
                &format!("{name}: folded-in scores, gpu vs cpu"),
                &gpu,
                &cpu,
                common::Tol { abs: 1e-3, rel: 1e-3 },
            );
        }
    }
}

/// BPR-MF's users trained with the others reach test NDCG@10 0.2864; the
/// same users kept out and folded in, 0.2705 (100 steps at lr 0.01, chosen
/// on their validation items); most popular, 0.1290.
#[test]
fn bpr_folds_in_users_it_never_saw_nearly_as_well_as_training_with_them_on_ml100k() {
    let cfg = RefitConfig::default();
    let Some((fold, full, pop)) = new_users_ndcg("bpr", &[cfg]) else { return };
    assert!(fold[0] >= 0.9 * full, "folded in: NDCG@10 {:.4} < 0.9 × {full:.4} (trained with them)", fold[0]);
    assert!(fold[0] >= 1.5 * pop, "folded in: NDCG@10 {:.4} < 1.5 × {pop:.4} (most popular)", fold[0]);
}

/// Biased MF: the new users' test RMSE folded in from their training
/// ratings is 0.966 against 0.957 trained with them, and 1.054 from μ + b_i
/// alone (what the model predicts for a user it does not know).
#[test]
fn mf_folds_in_users_it_never_saw_nearly_as_well_as_training_with_them_on_ml100k() {
    let cfg = RefitConfig { steps: 50, lr: 0.05, ..Default::default() };
    let Some((fold, full)) = new_users_rmse(&[cfg]) else { return };
    assert!(fold[0] <= full + 0.02, "folded in: RMSE {:.4} > {full:.4} (trained with them) + 0.02", fold[0]);
}

/// The ids of user `u`'s items in `data`.
fn items_of(data: &Interactions, u: u32) -> Vec<String> {
    (0..data.len()).filter(|&r| data.users[r] == u).map(|r| data.item_ids.id(data.items[r]).to_string()).collect()
}

fn ids(top: &[(String, f32)]) -> Vec<&str> {
    top.iter().map(|(i, _)| i.as_str()).collect()
}

#[test]
fn partial_fit_users_serves_a_new_user_like_a_trained_twin_and_the_model_file_keeps_it() {
    use gpurec::api::{Device, ModelKind, Recommender};
    let data = small();
    let twin = data.user_ids.id(0).to_string();
    let items = items_of(&data, 0);
    let events: Vec<(&str, &str, f32)> = items.iter().map(|i| ("newcomer", i.as_str(), 1.0)).collect();
    let fit = |device| {
        Recommender::builder().model(ModelKind::Bpr).dim(8).lr(1e-2).epochs(100).device(device).fit(&data).unwrap()
    };
    let mut rec = fit(Device::Cpu);
    assert!(rec.recommend("newcomer", 10).is_err(), "not a user yet");
    let dir = tempfile::tempdir().unwrap();
    rec.save(dir.path().join("before.gpurec")).unwrap();
    rec.partial_fit_users(&events).unwrap();

    let (new, old) = (rec.recommend("newcomer", 10).unwrap(), rec.recommend(&twin, 10).unwrap());
    assert!(ids(&new).iter().all(|i| !items.iter().any(|s| s == i)), "the newcomer's own items come back: {new:?}");
    let shared = ids(&new).iter().filter(|i| ids(&old).contains(i)).count();
    eprintln!("newcomer and twin share {shared} of their top 10");
    assert!(shared >= 7, "a newcomer with the twin's items shares {shared} of 10 with the twin: {new:?} vs {old:?}");

    rec.save(dir.path().join("after.gpurec")).unwrap();
    let again = Recommender::load(dir.path().join("after.gpurec"), Device::Cpu).unwrap();
    assert_eq!(again.recommend("newcomer", 10).unwrap(), new, "reloaded");

    // The same update from the same weights on the GPU.
    if let Some(g) = common::gpu() {
        let mut on_gpu = Recommender::load(dir.path().join("before.gpurec"), Device::Gpu(g)).unwrap();
        on_gpu.partial_fit_users(&events).unwrap();
        let top = on_gpu.recommend("newcomer", 10).unwrap();
        let (a, b): (Vec<f32>, Vec<f32>) = top.iter().zip(&new).map(|(g, c)| (g.1, c.1)).unzip();
        common::assert_close("newcomer's top scores, gpu vs cpu", &a, &b, common::Tol { abs: 1e-3, rel: 1e-3 });
        assert_eq!(ids(&top), ids(&new), "newcomer's top 10, gpu vs cpu");
    }

    // A known user's new items are refitted in and never recommended back.
    let fresh: Vec<String> = ids(&old)[..3].iter().map(|s| s.to_string()).collect();
    let more: Vec<(&str, &str, f32)> = fresh.iter().map(|i| (twin.as_str(), i.as_str(), 1.0)).collect();
    rec.partial_fit_users(&more).unwrap();
    let now = rec.recommend(&twin, 10).unwrap();
    assert!(ids(&now).iter().all(|i| !fresh.iter().any(|f| f == i)), "new events come back: {now:?}");
}

#[test]
fn partial_fit_items_adds_a_new_item_next_to_the_item_with_its_users() {
    use gpurec::api::{Device, ModelKind, Recommender};
    let data = small();
    // The most consumed item's users all take the new one too.
    let mut count = vec![0usize; data.n_items()];
    data.items.iter().for_each(|&i| count[i as usize] += 1);
    let top = (0..data.n_items()).max_by_key(|&i| count[i]).unwrap() as u32;
    let twin = data.item_ids.id(top).to_string();
    let users: Vec<String> = (0..data.len())
        .filter(|&r| data.items[r] == top)
        .map(|r| data.user_ids.id(data.users[r]).to_string())
        .collect();
    let events: Vec<(&str, &str, f32)> = users.iter().map(|u| (u.as_str(), "brand-new", 1.0)).collect();
    for kind in [ModelKind::Bpr, ModelKind::NeuMf] {
        let mut rec =
            Recommender::builder().model(kind).dim(8).lr(1e-2).epochs(60).device(Device::Cpu).fit(&data).unwrap();
        rec.partial_fit_items(&events).unwrap();
        let near = rec.similar("brand-new", 5, &Default::default()).unwrap();
        eprintln!("{kind:?}: the items nearest the new one: {near:?} (its twin {twin})");
        assert!(ids(&near).contains(&twin.as_str()), "{kind:?}: {twin} not among the 5 nearest the new item: {near:?}");
        // Its users have it now: it is never recommended back to them.
        let back = rec.recommend(&users[0], 10).unwrap();
        assert!(!ids(&back).contains(&"brand-new"), "{kind:?}: recommended back: {back:?}");
    }
}

#[test]
fn partial_fits_and_fold_ins_refuse_what_they_cannot_do_and_change_nothing() {
    use gpurec::api::{Device, ModelKind, Recommender};
    let data = small();
    let item = data.item_ids.id(0).to_string();
    let user = data.user_ids.id(0).to_string();
    let mut rec = Recommender::builder().model(ModelKind::Bpr).dim(8).epochs(2).device(Device::Cpu).fit(&data).unwrap();
    let err = |r: gpurec::Result<()>| r.unwrap_err().to_string();
    assert!(err(rec.partial_fit_users(&[("x", "no-such-item", 1.0)])).contains("unknown item \"no-such-item\""));
    assert!(err(rec.partial_fit_items(&[("no-such-user", &item, 1.0)])).contains("unknown user \"no-such-user\""));
    assert!(err(rec.partial_fit_users(&[("y", &item, f32::NAN)])).contains("not finite"));
    assert!(rec.recommend("x", 3).is_err() && rec.recommend("y", 3).is_err(), "a refused update adds no user");

    let mut ease = Recommender::builder().model_name("ease").device(Device::Cpu).fit(&data).unwrap();
    assert!(err(ease.partial_fit_users(&[(&user, &item, 1.0)])).contains("ease has no per-user"));

    let mf = Recommender::builder().model(ModelKind::Mf).dim(8).epochs(2).device(Device::Cpu).fit(&data).unwrap();
    let e = mf.recommend_for_history(&[&item], 3).unwrap_err().to_string();
    assert!(e.contains("fits ratings"), "{e}");
    assert_eq!(mf.recommend_for_rated_history(&[(&item, 5.0)], 3).unwrap().len(), 3);
    // An embedding model takes a history now (folded in), and an unknown item is refused by id.
    assert_eq!(rec.recommend_for_history(&[&item], 3).unwrap().len(), 3);
    assert!(rec.recommend_for_history(&["nope"], 3).unwrap_err().to_string().contains("\"nope\""));
}
