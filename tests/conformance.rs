//! The conformance table: every family in the registry goes through the
//! same checks, so a new family is tested by registering it.
//! - seeded determinism: the same seed gives the same losses and scores, bit
//!   for bit, on each backend;
//! - one submission per training step on the GPU, nothing read back;
//! - one training step (or a closed-form fit) on the GPU equals the CPU's
//!   within a named tolerance;
//! - save → load gives the same top-K on both backends;
//! - a bad configuration, in flags or in a model file, is refused with an
//!   error that names it, never a panic.

mod common;

use common::{assert_close, gpu, Tol, SUMS};
use gpurec::backend::Shaped;
use gpurec::data::synthetic::{generate, SyntheticConfig};
use gpurec::data::Interactions;
use gpurec::eval::top_k_unseen;
use gpurec::model_file::ModelFile;
use gpurec::models::registry::{self, Overrides};
use gpurec::models::{Batch, BatchKind, Model, Task, TrainSet};
use gpurec::train::{FitConfig, ItemSampler, PairSampler, PointSampler, SequenceSampler, Silent, UserSampler};
use gpurec::{Backend, Cpu, Gpu};

/// Scores after one Adam step on each backend. Adam's first step moves
/// every touched weight by about ±lr whatever the gradient's size, so a
/// gradient that rounds to the other sign on one backend moves a weight by
/// 2·lr (2e-3) there; scores are sums of 8–64 products of such weights with
/// values ≲ 0.3, hence 1e-3 absolute.
const STEP: Tol = Tol { abs: 1e-3, rel: 1e-3 };

fn data() -> Interactions {
    generate(&SyntheticConfig { users: 40, items: 70, ..Default::default() })
}

/// The family's configuration, small: embeddings of 8 where it has them.
fn overrides(name: &str) -> Overrides {
    let info = registry::info(name).unwrap();
    Overrides { dim: (!info.dim_keys.is_empty()).then_some(8), ..Default::default() }
}

fn build<B: Backend>(b: &B, name: &str, set: &TrainSet, seed: u64) -> Box<dyn Model<B>> {
    let entry = registry::entry::<B>(name).unwrap();
    let cfg = entry.config(&overrides(name)).unwrap();
    entry.build(b, set, &cfg, seed).unwrap()
}

fn fit_cfg(name: &str, epochs: usize) -> FitConfig {
    let info = registry::info(name).unwrap();
    let mut cfg = FitConfig { epochs, batch_size: 256, patience: 0, seed: 7, ..Default::default() };
    // Rating models early-stop on RMSE, the others on NDCG.
    if info.task == Task::Rating {
        cfg.metric = ("rmse".into(), 0);
    }
    cfg
}

fn scores<B: Backend>(b: &B, m: &dyn Model<B>, users: &[u32]) -> Vec<f32> {
    b.read(&m.score_users(b, &b.index(users).unwrap())).unwrap()
}

/// Trains two epochs; returns the losses and the scores of a few users.
fn run<B: Backend>(b: &B, name: &str, set: &TrainSet) -> (Vec<f32>, Vec<f32>) {
    let mut m = build(b, name, set, 3);
    let s = gpurec::train::fit(b, m.as_mut(), set, None, &fit_cfg(name, 2), &mut Silent).unwrap();
    (s.epochs.iter().map(|e| e.loss).collect(), scores(b, m.as_ref(), &[0, 5, 17, 39]))
}

/// Runs `check` for every registered family, naming the one that fails.
fn each_family(check: impl Fn(&str)) {
    for name in registry::names() {
        eprintln!("-- {name}");
        check(name);
    }
}

#[test]
fn every_family_is_deterministic_for_a_seed() {
    let set = TrainSet::all(&data());
    each_family(|name| {
        assert_eq!(run(&Cpu, name, &set), run(&Cpu, name, &set), "{name}: cpu");
        if let Some(g) = gpu() {
            assert_eq!(run(&g, name, &set), run(&g, name, &set), "{name}: gpu");
        }
    });
}

/// One batch of the kind the family trains on (windows of width `window`
/// for sequences: users, inputs, targets).
fn one_batch(
    kind: BatchKind,
    set: &TrainSet,
    n: usize,
    window: gpurec::data::sequence::WindowSpec,
) -> (Vec<u32>, Vec<u32>, Vec<u32>, Vec<f32>) {
    match kind {
        BatchKind::Sequences => {
            let mut s = SequenceSampler::new(&set.sequences, window, 1);
            s.shuffle();
            let (u, i, t) = s.batch(0, n);
            (u, i, t, Vec::new())
        }
        BatchKind::Pairs => {
            let mut s = PairSampler::new(&set.interactions, 1);
            s.shuffle();
            let (u, i, j) = s.batch(0, n);
            (u, i, j, Vec::new())
        }
        BatchKind::UserRows => {
            let mut s = UserSampler::new(&set.interactions, 1);
            s.shuffle();
            (s.batch(0, n).to_vec(), Vec::new(), Vec::new(), Vec::new())
        }
        BatchKind::ItemRows => {
            let mut s = ItemSampler::new(&set.interactions, 1);
            s.shuffle();
            (Vec::new(), s.batch(0, n).to_vec(), Vec::new(), Vec::new())
        }
        _ => {
            let mut s = PointSampler::new(&set.ratings, 1);
            s.shuffle();
            let (u, i, r) = s.batch(0, n);
            (u, i, Vec::new(), r)
        }
    }
}

fn step<B: Backend>(b: &B, m: &mut dyn Model<B>, kind: BatchKind, set: &TrainSet) -> B::Tensor {
    let (u, i, j, r) = one_batch(kind, set, 200, m.window());
    let batch = match kind {
        BatchKind::Sequences => Batch::Sequences { users: &u, inputs: &i, targets: &j, len: m.window().len },
        BatchKind::Pairs => Batch::Pairs { users: &u, pos: &i, neg: &j },
        BatchKind::UserRows => Batch::Users { users: &u },
        BatchKind::ItemRows => Batch::Items { items: &i },
        _ => Batch::Points { users: &u, items: &i, targets: &r },
    };
    m.train_step(b, &batch).unwrap()
}

#[test]
fn every_family_trains_one_submission_per_step_on_the_gpu() {
    if gpu().is_none() {
        return;
    }
    // A context of its own: the shared one's counters see the other tests running in parallel.
    let g = Gpu::new().unwrap();
    let set = TrainSet::all(&data());
    each_family(|name| {
        let kind = registry::info(name).unwrap().batch;
        let mut m = build(&g, name, &set, 1);
        g.flush().unwrap();
        if kind == BatchKind::ClosedForm {
            // Fitted when built: training records nothing.
            let before = g.stats();
            gpurec::train::fit(&g, m.as_mut(), &set, None, &fit_cfg(name, 1), &mut Silent).unwrap();
            let s = g.stats() - before;
            assert_eq!((s.submissions, s.dispatches), (0, 0), "{name}: a closed-form fit trains nothing afterwards");
            return;
        }
        let before = g.stats();
        let loss = step(&g, m.as_mut(), kind, &set);
        g.flush().unwrap();
        let s = g.stats() - before;
        eprintln!("{name}: one step: {s:?}");
        assert_eq!(s.submissions, 1, "{name}: one submission per step");
        assert_eq!(s.readbacks, 0, "{name}: nothing read back within a step");
        assert!(g.read(&loss).unwrap()[0].is_finite(), "{name}: a finite loss");
    });
}

#[test]
fn every_family_steps_on_the_gpu_as_on_the_cpu() {
    let Some(g) = gpu() else { return };
    let set = TrainSet::all(&data());
    let users = [0, 3, 11, 39];
    each_family(|name| {
        let kind = registry::info(name).unwrap().batch;
        let (mut c, mut m) = (build(&Cpu, name, &set, 5), build(&g, name, &set, 5));
        assert_close(
            &format!("{name}: scores before training"),
            &scores(&g, m.as_ref(), &users),
            &scores(&Cpu, c.as_ref(), &users),
            SUMS,
        );
        if kind == BatchKind::ClosedForm {
            return;
        }
        let (lc, lg) = (step(&Cpu, c.as_mut(), kind, &set), step(&g, m.as_mut(), kind, &set));
        assert_close(&format!("{name}: step loss"), &g.read(&lg).unwrap(), &Cpu.read(&lc).unwrap(), SUMS);
        assert_close(
            &format!("{name}: scores after one step"),
            &scores(&g, m.as_ref(), &users),
            &scores(&Cpu, c.as_ref(), &users),
            STEP,
        );
    });
}

/// The top 5 unseen items of a few users.
fn top5<B: Backend>(b: &B, m: &dyn Model<B>, d: &Interactions) -> Vec<Vec<u32>> {
    let users = [1u32, 8, 22];
    let seen: Vec<(u32, u32, f32)> = users
        .iter()
        .enumerate()
        .flat_map(|(row, &u)| {
            (0..d.len()).filter(move |&r| d.users[r] == u).map(move |r| (row as u32, d.items[r], 1.0))
        })
        .collect();
    top_k_unseen(b, m, &users, &seen, d.n_items(), 5)
        .unwrap()
        .into_iter()
        .map(|t| t.into_iter().map(|(i, _)| i).collect())
        .collect()
}

#[test]
fn every_family_saves_and_loads_to_the_same_top_k_on_both_backends() {
    let d = data();
    let set = TrainSet::all(&d);
    each_family(|name| {
        let mut m = build(&Cpu, name, &set, 9);
        gpurec::train::fit(&Cpu, m.as_mut(), &set, None, &fit_cfg(name, 1), &mut Silent).unwrap();
        let file = registry::to_file(&Cpu, m.as_ref(), serde_json::json!({}), &d.user_ids, &d.item_ids).unwrap();
        let file = ModelFile::from_bytes(&file.to_bytes().unwrap()).unwrap();
        assert_eq!(file.kind, name);
        let back = registry::load(&Cpu, &file).unwrap();
        let users = [0, 13, 27];
        assert_eq!(scores(&Cpu, back.as_ref(), &users), scores(&Cpu, m.as_ref(), &users), "{name}: bit-exact");
        let want = top5(&Cpu, m.as_ref(), &d);
        assert_eq!(top5(&Cpu, back.as_ref(), &d), want, "{name}: top-K after loading on the CPU");
        if let Some(g) = gpu() {
            let on_gpu = registry::load(&g, &file).unwrap();
            assert_eq!(top5(&g, on_gpu.as_ref(), &d), want, "{name}: top-K after loading on the GPU");
        }
    });
}

#[test]
fn every_family_refuses_a_bad_configuration_by_name() {
    let d = data();
    let set = TrainSet::all(&d);
    each_family(|name| {
        let entry = registry::entry::<Cpu>(name).unwrap();
        let bad = Overrides { set: vec![("no_such_setting".into(), 1.into())], ..Default::default() };
        let e = entry.config(&bad).expect_err("an unknown setting").to_string();
        assert!(e.contains("no_such_setting") && e.contains(name), "{name}: {e}");

        let cfg = entry.config(&overrides(name)).unwrap();
        let m = entry.build(&Cpu, &set, &cfg, 1).unwrap();
        let good = registry::to_file(&Cpu, m.as_ref(), serde_json::json!({}), &d.user_ids, &d.item_ids).unwrap();
        // A family without settings (most popular) has no key to mistype.
        if let Some(first_key) = cfg.as_object().unwrap().keys().next().cloned() {
            let wrong = Overrides { set: vec![(first_key.clone(), "four".into())], ..Default::default() };
            let e = entry.config(&wrong).expect_err("a setting of the wrong type").to_string();
            assert!(e.contains(name) && e.contains("invalid type"), "{name}, {first_key} = \"four\": {e}");
            // In a model file: a mistyped configuration.
            let mut f = good.clone();
            f.config[&first_key] = "four".into();
            let e = registry::load(&Cpu, &f).err().expect("a mistyped configuration in a file").to_string();
            assert!(e.contains("configuration"), "{name}: {e}");
        }
        // In a model file: a tensor whose width disagrees.
        let mut f = good;
        let t = f.tensors.iter_mut().find(|t| t.shape.len() == 2 && t.shape[1] > 1).expect("a 2-D tensor");
        let (rows, cols) = (t.shape[0], t.shape[1]);
        t.shape = vec![rows * cols, 1];
        let tensor = t.name.clone();
        let e = registry::load(&Cpu, &f).err().expect("a tensor of the wrong width").to_string();
        assert!(e.contains(&tensor), "{name}: {e}");
    });
}

/// Test NDCG@10 (and RMSE for rating models) after a full fit of a few
/// epochs on GPU and CPU agree within this: the same batches in the same
/// order, only float rounding differs (on lavapipe every family's figures
/// came out identical to all printed digits); the margin is for adapters
/// that fuse or reorder differently.
const FIT: f64 = 1e-3;

fn fit_metrics<B: Backend>(b: &B, name: &str) -> Vec<f64> {
    let d = data();
    let s = gpurec::data::split::per_user_ratio(&d, 0.0, 0.2, 4);
    let set = TrainSet::from_rows(&d, &s.train);
    let mut m = build(b, name, &set, 2);
    gpurec::train::fit(b, m.as_mut(), &set, None, &fit_cfg(name, 3), &mut Silent).unwrap();
    let eval = gpurec::eval::RankingEval::new(b, &d.user_item_csr(&s.test), &set.interactions, &[10], 64).unwrap();
    let mut out = vec![eval.evaluate(b, m.as_ref()).unwrap().ndcg[0]];
    if let Some(r) = m.ratings() {
        let test = gpurec::eval::rating::Ratings::from_rows(&d, &s.test);
        out.push(
            gpurec::eval::rating::RatingEval::new(b, &test, (1.0, 5.0), 4096).unwrap().evaluate(b, r).unwrap().rmse,
        );
    }
    out
}

#[test]
fn every_family_fits_on_the_gpu_as_on_the_cpu() {
    let Some(g) = gpu() else { return };
    each_family(|name| {
        let (c, m) = (fit_metrics(&Cpu, name), fit_metrics(&g, name));
        eprintln!("{name}: cpu {c:?}, gpu {m:?}");
        for (x, y) in c.iter().zip(&m) {
            assert!((x - y).abs() <= FIT, "{name}: gpu {m:?} vs cpu {c:?}");
        }
    });
}

/// The families that score a history they are given (`Model::score_histories`).
const TAKE_HISTORIES: [&str; 10] =
    ["multdae", "multvae", "cdae", "ease", "itemknn", "pop", "gru4rec", "lstm", "caser", "sasrec"];

/// Of those, the ones that also add a per-user embedding when they score a
/// user they know (a history is scored as an unknown user, with none).
const WITH_USER_EMBEDDING: [&str; 2] = ["cdae", "caser"];

/// Scores of `users` from their own training items given as histories.
fn history_scores<B: Backend>(b: &B, m: &dyn Model<B>, set: &TrainSet, users: &[u32]) -> Option<Vec<f32>> {
    let lists: Vec<Vec<u32>> = users.iter().map(|&u| set.sequences.user(u as usize).to_vec()).collect();
    let hist = gpurec::data::sequence::Sequences::from_lists(&lists);
    m.score_histories(b, &hist).map(|s| b.read(&s.unwrap()).unwrap())
}

#[test]
fn every_family_that_takes_a_history_scores_a_users_own_items_as_the_user() {
    let set = TrainSet::all(&data());
    let users = [0, 5, 17, 39];
    let check = |got: Option<(Vec<f32>, Vec<f32>)>, name: &str, backend: &str| match got {
        None => assert!(!TAKE_HISTORIES.contains(&name), "{name} ({backend}) takes no history"),
        Some((from_history, from_user)) => {
            assert!(TAKE_HISTORIES.contains(&name), "{name} ({backend}) takes a history: add it to TAKE_HISTORIES");
            assert_eq!(
                from_history, from_user,
                "{name} ({backend}): a user's own items score differently from the user"
            );
        }
    };
    fn both<B: Backend>(b: &B, name: &str, set: &TrainSet, users: &[u32]) -> Option<(Vec<f32>, Vec<f32>)> {
        let mut m = build(b, name, set, 3);
        if WITH_USER_EMBEDDING.contains(&name) {
            // A history has no user embedding: compare with a model whose user rows are 0.
            let users = set.interactions.rows;
            let mut zeroed = 0;
            for p in m.parameters_mut().into_iter().filter(|p| p.dims().len() == 2 && p.dims()[0] == users) {
                *p = b.full(p.dims(), 0.0);
                zeroed += 1;
            }
            assert_eq!(zeroed, 1, "{name}: one user embedding");
        }
        let from_history = history_scores(b, m.as_ref(), set, users)?;
        Some((from_history, scores(b, m.as_ref(), users)))
    }
    each_family(|name| {
        check(both(&Cpu, name, &set, &users), name, "cpu");
        if let Some(g) = gpu() {
            check(both(&g, name, &set, &users), name, "gpu");
        }
    });
}

#[test]
fn a_history_with_an_unknown_item_is_refused_and_an_empty_one_scores() {
    let set = TrainSet::all(&data());
    for name in TAKE_HISTORIES {
        let m = build(&Cpu, name, &set, 3);
        let items = set.interactions.cols as u32;
        let bad = gpurec::data::sequence::Sequences::from_lists(&[vec![1, items]]);
        let err = m.score_histories(&Cpu, &bad).unwrap().err();
        assert!(err.is_some_and(|e| e.to_string().contains(&format!("item {items}"))), "{name}: an unknown item");
        let empty = gpurec::data::sequence::Sequences::from_lists(&[vec![]]);
        let s = Cpu.read(&m.score_histories(&Cpu, &empty).unwrap().unwrap()).unwrap();
        assert_eq!(s.len(), items as usize, "{name}: one row of scores");
        assert!(s.iter().all(|v| v.is_finite()), "{name}: an empty history scores finitely");
    }
}

/// Every family but most popular compares items: by the cosine of its item
/// vectors (checked against the host's cosine on the CPU backend) or by its
/// own item–item weights, on both backends alike; the served list never
/// holds the item itself.
#[test]
fn every_family_but_pop_compares_items_on_both_backends() {
    let set = TrainSet::all(&data());
    let n_items = set.interactions.cols;
    let items = [0u32, 3, 69];
    each_family(|name| {
        let m = build(&Cpu, name, &set, 3);
        let Some(sims) = m.item_similarity(&Cpu, &Cpu.index(&items).unwrap()) else {
            assert_eq!(name, "pop", "{name} has no item similarity");
            return;
        };
        let sims = Cpu.read(&sims).unwrap();
        assert_eq!(sims.len(), items.len() * n_items, "{name}");
        if let Some(v) = m.item_vectors(&Cpu) {
            let d = v.dims()[1];
            let v = Cpu.read(&v).unwrap();
            let norm = |i: usize| v[i * d..][..d].iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt().max(1e-12);
            for (r, &i) in items.iter().enumerate() {
                for j in 0..n_items {
                    let dot: f64 = (0..d).map(|c| v[i as usize * d + c] as f64 * v[j * d + c] as f64).sum();
                    let want = dot / (norm(i as usize) * norm(j));
                    assert!((sims[r * n_items + j] as f64 - want).abs() < 1e-4, "{name}: cos({i}, {j})");
                }
            }
        }
        let top = gpurec::eval::similar_items(&Cpu, m.as_ref(), &items, &Default::default(), n_items, 5).unwrap();
        for (r, &i) in items.iter().enumerate() {
            assert_eq!(top[r].len(), 5, "{name}");
            assert!(top[r].iter().all(|&(j, s)| j != i && s.is_finite()), "{name}: {:?}", top[r]);
        }
        if let Some(g) = gpu() {
            let mg = build(&g, name, &set, 3);
            let gs = g.read(&mg.item_similarity(&g, &g.index(&items).unwrap()).unwrap()).unwrap();
            assert_close(&format!("{name}: item similarity, gpu vs cpu"), &gs, &sims, STEP);
        }
    });
}
