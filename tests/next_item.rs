//! The next-item models (`gru4rec`, `lstm`, `caser`, `sasrec`) beyond the conformance
//! table (which checks determinism, a GPU step against the CPU's, save →
//! load and bad configurations): their gradients against finite
//! differences, one training step's dispatches and uploads on the GPU,
//! learning a planted next-item rule under chronological leave-one-out on
//! both backends, scoring from a history they are given, and a model file
//! whose history is corrupt.

mod common;

use common::*;
use gpurec::data::sequence::{Sequences, PAD};
use gpurec::data::split::leave_one_out;
use gpurec::data::Interactions;
use gpurec::layers::gru::Gru;
use gpurec::layers::lstm::Lstm;
use gpurec::layers::recurrent::Recurrent;
use gpurec::models::registry::{self, Overrides};
use gpurec::models::{Batch, Model, NextItemRnn, RnnConfig};
use gpurec::train::{FitConfig, Silent};
use gpurec::{Backend, Cpu, Gpu};

/// The next-item families.
const FAMILIES: [&str; 4] = ["gru4rec", "lstm", "caser", "sasrec"];

fn small() -> RnnConfig {
    RnnConfig { dim: 3, hidden: 4, window: 4, dropout: 0.25, lr: 1e-2, negatives: 0 }
}

#[test]
fn gradients_match_finite_differences() {
    fd::<Gru<Cpu>>(
        "gru4rec",
        &["item_embedding", "gru.w_ih", "gru.w_hh", "gru.b_ih", "gru.b_hh", "dense.weight", "dense.bias"],
    );
    fd::<Lstm<Cpu>>("lstm", &["item_embedding", "lstm.w_ih", "lstm.w_hh", "lstm.bias", "dense.weight", "dense.bias"]);
}

#[test]
fn caser_gradients_match_finite_differences() {
    use gpurec::models::{Caser, CaserConfig};
    let history = Sequences::from_lists(&[vec![0, 1], vec![2], vec![3, 4, 5]]);
    let cfg = CaserConfig { dim: 3, window: 3, n_v: 2, n_h: 2, dropout: 0.25, lr: 1e-2 };
    let m = Caser::new(&Cpu, &history, 7, cfg.clone(), 5).unwrap();
    // Four sliding windows of 3: padding, item 2 twice, user 2 twice, user 0 absent.
    let users = [1, 2, 2, 1];
    let inputs = [PAD, PAD, 6, 1, 2, 2, 3, 4, 5, PAD, 0, 2];
    let targets = [PAD, PAD, 2, PAD, PAD, 5, PAD, PAD, 0, PAD, PAD, 4];
    let (loss, grads, _) = m.grads(&Cpu, &users, &inputs, &targets, 11).unwrap();
    assert!(Cpu.read(&loss).unwrap()[0].is_finite());
    let n_params = m.parameters().len();
    assert_eq!(grads.len(), n_params);
    for (p, grad) in grads.iter().enumerate() {
        let at = Cpu.read(m.parameters()[p]).unwrap();
        let shape = m.parameters()[p].shape().to_vec();
        let mut analytic = Cpu.read(grad).unwrap();
        if p == 1 {
            // The user table's gradient holds the batch's distinct users' rows, ascending.
            let d = cfg.dim;
            let mut full = vec![0f32; at.len()];
            for (k, u) in [1usize, 2].into_iter().enumerate() {
                full[u * d..(u + 1) * d].copy_from_slice(&analytic[k * d..(k + 1) * d]);
            }
            analytic = full;
        }
        let loss_at = |w: &[f32]| {
            let mut probe = Caser::new(&Cpu, &history, 7, cfg.clone(), 5).unwrap();
            for (q, t) in probe.parameters_mut().into_iter().enumerate() {
                *t = if q == p { Cpu.tensor(w, &shape).unwrap() } else { m.parameters()[q].clone() };
            }
            Cpu.read(&probe.grads(&Cpu, &users, &inputs, &targets, 11).unwrap().0).unwrap()[0] as f64
        };
        // ReLUs and max-pooling: a step may cross a kink.
        check_fd(&format!("caser parameter {p}"), &at, &analytic, true, &loss_at);
    }
}

fn small_sasrec() -> gpurec::models::SasRecConfig {
    gpurec::models::SasRecConfig {
        dim: 4,
        heads: 2,
        layers: 2,
        inner: 6,
        window: 4,
        dropout: 0.25,
        attn_dropout: 0.25,
        eps: 1e-12,
        lr: 1e-2,
    }
}

#[test]
fn sasrec_gradients_match_finite_differences() {
    use gpurec::models::SasRec;
    // Three windows of 4 over 7 items, as the recurrent models' check:
    // padding in two of them (the first fully masked query rows), item 2
    // repeated in a window and as a target, a window with one target.
    let history = Sequences::from_lists(&[vec![0, 1], vec![2], vec![]]);
    let cfg = small_sasrec();
    let mut m = SasRec::new(&Cpu, &history, 7, cfg.clone(), 5).unwrap();
    // Weights of N(0, 0.02²) leave every layer norm's input nearly constant;
    // spread them so the check exercises every term.
    for (q, t) in m.parameters_mut().into_iter().enumerate() {
        let v: Vec<f32> =
            Cpu.read(t).unwrap().iter().enumerate().map(|(k, &x)| x * 8.0 + 0.05 * ((k + q) % 3) as f32).collect();
        *t = Cpu.tensor(&v, t.shape()).unwrap();
    }
    let inputs = [PAD, 1, 2, 2, PAD, PAD, PAD, 6, 3, 4, 5, 0];
    let targets = [PAD, 2, 2, 5, PAD, PAD, PAD, 1, 4, 5, 0, 3];
    let (loss, grads) = m.grads(&Cpu, &inputs, &targets, 3, 11).unwrap();
    assert!(Cpu.read(&loss).unwrap()[0].is_finite());
    let layout = SasRec::<Cpu>::param_layout(&cfg, 7);
    assert_eq!(grads.len(), m.parameters().len());
    assert_eq!(layout.len(), m.parameters().len());
    for (p, (name, shape)) in layout.iter().enumerate() {
        assert_eq!(m.parameters()[p].shape(), shape.as_slice(), "{name}");
        assert_eq!(grads[p].shape(), shape.as_slice(), "gradient of {name}");
        let at = Cpu.read(m.parameters()[p]).unwrap();
        let analytic = Cpu.read(&grads[p]).unwrap();
        // The key biases add b·q_i to every score of query i, which the
        // softmax ignores: their gradient vanishes; every other one must not.
        let largest = analytic.iter().fold(0f32, |m, g| m.max(g.abs()));
        let key_bias = name.contains(".k") && name.ends_with(".bias");
        assert!(if key_bias { largest < 1e-6 } else { largest > 1e-5 }, "sasrec {name}: largest |gradient| {largest}");
        let loss_at = |w: &[f32]| {
            let mut probe = SasRec::new(&Cpu, &history, 7, cfg.clone(), 5).unwrap();
            for (q, t) in probe.parameters_mut().into_iter().enumerate() {
                *t = if q == p { Cpu.tensor(w, shape).unwrap() } else { m.parameters()[q].clone() };
            }
            Cpu.read(&probe.grads(&Cpu, &inputs, &targets, 3, 11).unwrap().0).unwrap()[0] as f64
        };
        // The feed-forward's ReLU: a step may cross a kink.
        check_fd_step(&format!("sasrec {name}"), &at, &analytic, true, 1e-3, &loss_at);
    }
    let first = Cpu.read(&loss).unwrap()[0];
    for _ in 0..20 {
        m.train_step(&Cpu, &Batch::Sequences { users: &[0, 1, 2], inputs: &inputs, targets: &targets, len: 4 })
            .unwrap();
    }
    let after = Cpu.read(&m.grads(&Cpu, &inputs, &targets, 3, 11).unwrap().0).unwrap()[0];
    assert!(after < first, "sasrec: loss {first} → {after}");
}

#[test]
fn a_sasrec_step_is_one_submission_of_the_documented_dispatches() {
    use gpurec::models::SasRec;
    if gpu().is_none() {
        return;
    }
    let g = Gpu::new().unwrap();
    let history = Sequences::from_lists(&[vec![0, 1], vec![2]]);
    let inputs = [PAD, PAD, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1];
    let targets = [PAD, PAD, 2, 3, 4, 5, 6, 7, 8, 0, 1, 2];
    let (l, n, r, items) = (6u64, 2u64, 10u64, 9u64);
    let batch = Batch::Sequences { users: &[0, 1], inputs: &inputs, targets: &targets, len: 6 };
    let mut m = SasRec::new(&g, &history, 9, gpurec::models::SasRecConfig { window: 6, ..small_sasrec() }, 1).unwrap();
    let s = step_stats(&g, &mut m, &batch);
    eprintln!("sasrec: one step over windows of 6: {s:?}");
    assert_eq!((s.submissions, s.readbacks), (1, 0));
    // ids and key mask (L·n each), target positions and items (R each), and
    // the two groupings over R + L·n and L·n + items.
    let groups = |k: u64, rows: u64| 4 * (rows + rows + 1 + k);
    let bound = 8 * l * n + 8 * r + groups(r + l * n, l * n) + groups(l * n + items, items);
    assert!(s.bytes_uploaded <= bound, "sasrec: uploads {} bytes, more than the window's {bound}", s.bytes_uploaded);
    assert_eq!(
        s.dispatches,
        20 + 2 * (31 + 38 * 2),
        "sasrec: dispatches of a step with 2 blocks of 2 heads (see the model's docs)"
    );
}

fn fd<C: Recurrent<Cpu>>(kind: &'static str, names: &[&str]) {
    // Three windows of 4 over 7 items: padding in two of them, item 2
    // repeated (in a window and as a target), and a window whose only target
    // is at its last step.
    let history = Sequences::from_lists(&[vec![0, 1], vec![2], vec![]]);
    let mut m = NextItemRnn::<Cpu, C>::new(&Cpu, kind, &history, 7, small(), 5).unwrap();
    let inputs = [PAD, 1, 2, 2, PAD, PAD, PAD, 6, 3, 4, 5, 0];
    let targets = [PAD, 2, 2, 5, PAD, PAD, PAD, 1, 4, 5, 0, 3];
    let (loss, grads) = m.grads(&Cpu, &inputs, &targets, 3, 11).unwrap();
    assert!(Cpu.read(&loss).unwrap()[0].is_finite());
    assert_eq!(names.len(), m.parameters().len());
    for (p, name) in names.iter().enumerate() {
        let at = Cpu.read(m.parameters()[p]).unwrap();
        let shape = m.parameters()[p].shape().to_vec();
        let analytic = Cpu.read(&grads[p]).unwrap();
        let loss_at = |w: &[f32]| {
            let mut probe = NextItemRnn::<Cpu, C>::new(&Cpu, kind, &history, 7, small(), 5).unwrap();
            for (q, t) in probe.parameters_mut().into_iter().enumerate() {
                *t = if q == p { Cpu.tensor(w, &shape).unwrap() } else { m.parameters()[q].clone() };
            }
            Cpu.read(&probe.grads(&Cpu, &inputs, &targets, 3, 11).unwrap().0).unwrap()[0] as f64
        };
        check_fd(&format!("{kind} {name}"), &at, &analytic, false, &loss_at);
    }
    // The step applies them: the loss of the same batch drops after a few.
    let first = Cpu.read(&loss).unwrap()[0];
    for _ in 0..20 {
        m.train_step(&Cpu, &Batch::Sequences { users: &[0, 1, 2], inputs: &inputs, targets: &targets, len: 4 })
            .unwrap();
    }
    let after = Cpu.read(&m.grads(&Cpu, &inputs, &targets, 3, 11).unwrap().0).unwrap()[0];
    assert!(after < first, "{kind}: loss {first} → {after}");
}

#[test]
fn a_step_is_one_submission_of_the_documented_dispatches() {
    if gpu().is_none() {
        return;
    }
    // A context of its own: the shared one's counters see the other tests running in parallel.
    let g = Gpu::new().unwrap();
    let cfg = RnnConfig { window: 6, ..small() };
    let history = Sequences::from_lists(&[vec![0, 1], vec![2]]);
    let inputs = [PAD, PAD, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1];
    let targets = [PAD, PAD, 2, 3, 4, 5, 6, 7, 8, 0, 1, 2];
    let batch = Batch::Sequences { users: &[0, 1], inputs: &inputs, targets: &targets, len: 6 };
    let mut gru = NextItemRnn::<Gpu, Gru<Gpu>>::new(&g, "gru4rec", &history, 9, cfg.clone(), 1).unwrap();
    let mut lstm = NextItemRnn::<Gpu, Lstm<Gpu>>::new(&g, "lstm", &history, 9, cfg, 1).unwrap();
    for (kind, m, dispatches) in [("gru4rec", &mut gru as &mut dyn Model<Gpu>, 61), ("lstm", &mut lstm, 63)] {
        check_step(&g, kind, m, &batch, dispatches);
    }
}

#[test]
fn a_caser_step_is_one_submission_of_the_documented_dispatches() {
    use gpurec::models::{Caser, CaserConfig};
    if gpu().is_none() {
        return;
    }
    let g = Gpu::new().unwrap();
    let history = Sequences::from_lists(&[vec![0, 1], vec![2], vec![3]]);
    // Three windows of 4, and the same windows cut to their last 3 items.
    let inputs = [PAD, PAD, 1, 2, 3, 4, 5, 6, PAD, 7, 8, 0];
    let targets = [PAD, PAD, PAD, 3, PAD, PAD, PAD, 7, PAD, PAD, PAD, 1];
    for l in [3usize, 4] {
        let cut = |v: &[u32]| v.chunks(4).flat_map(|w| w[4 - l..].to_vec()).collect::<Vec<u32>>();
        let (inputs, targets) = (cut(&inputs), cut(&targets));
        let cfg = CaserConfig { dim: 3, window: l, n_v: 2, n_h: 2, dropout: 0.25, lr: 1e-2 };
        let mut m = Caser::new(&g, &history, 9, cfg, 1).unwrap();
        let batch = Batch::Sequences { users: &[0, 1, 2], inputs: &inputs, targets: &targets, len: l };
        let s = step_stats(&g, &mut m, &batch);
        eprintln!("caser: one step over 3 windows of {l}: {s:?}");
        assert_eq!((s.submissions, s.readbacks), (1, 0));
        // The model's docs: 43 dispatches, plus 13 per filter height.
        assert_eq!(s.dispatches, 43 + 13 * l as u64, "dispatches for a window of {l} (see the model's docs)");
        // ids, mask, users, targets, and the groupings of the table scatter
        // (L·n + items rows) and of the users (n rows): nothing per height.
        let (n, l, items) = (3u64, l as u64, 9u64);
        let groups = |k: u64, rows: u64| 4 * (rows + rows + 1 + k);
        let bound = 8 * n * l + 8 * n + groups(n * l + items, items) + groups(n, n);
        assert!(s.bytes_uploaded <= bound, "caser: uploads {} bytes, more than {bound}", s.bytes_uploaded);
    }
}

fn check_step(g: &Gpu, kind: &str, m: &mut dyn Model<Gpu>, batch: &Batch<'_>, dispatches: u64) {
    let s = step_stats(g, m, batch);
    eprintln!("{kind}: one step over windows of 6: {s:?}");
    assert_eq!((s.submissions, s.readbacks), (1, 0));
    let (l, n, r, items) = (6u64, 2u64, 10u64, 9u64);
    // ids and mask (L·n each), target positions and items (R each), and
    // the two groupings (rows, offsets, order) over R + L·n and L·n + items.
    let groups = |k: u64, rows: u64| 4 * (rows + rows + 1 + k);
    let bound = 8 * l * n + 8 * r + groups(r + l * n, l * n) + groups(l * n + items, items);
    assert!(s.bytes_uploaded <= bound, "{kind}: uploads {} bytes, more than the window's {bound}", s.bytes_uploaded);
    assert_eq!(s.dispatches, dispatches, "{kind}: dispatches for a window of {l} (see the model's docs)");
}

/// Test Hit@1 of family `kind` trained on `d` under chronological leave-one-out.
fn planted_hit<B: Backend>(b: &B, kind: &str, d: &Interactions) -> f64 {
    let split = leave_one_out(d);
    let entry = registry::entry::<B>(kind).unwrap();
    let mut set = vec![("window".into(), 8.into()), ("lr".into(), 1e-2.into())];
    match kind {
        "caser" => {}
        "sasrec" => set.push(("inner".into(), 32.into())),
        _ => set.push(("hidden".into(), 16.into())),
    }
    let o = Overrides { dim: Some(16), set, ..Default::default() };
    let config = entry.config(&o).unwrap();
    let fit = FitConfig { epochs: 20, batch_size: 32, patience: 0, seed: 2, ..Default::default() };
    let opts = gpurec::protocol::RankingOptions { ks: vec![1, 10], mask_seen: true };
    let run = gpurec::protocol::ranking(b, entry.as_ref(), &config, d, &split, &fit, &opts, &mut Silent).unwrap();
    run.test.get("hit", 1).unwrap()
}

#[test]
fn both_learn_a_planted_next_item_rule_on_both_backends() {
    // The last item fixes the next one; most-popular ranks it at random.
    let d = cycles(48, 30, 12);
    for kind in FAMILIES {
        let hit = planted_hit(&Cpu, kind, &d);
        eprintln!("{kind} cpu: test Hit@1 {hit:.3} (chance ≈ {:.3})", 1.0 / 20.0);
        assert!(hit > 0.9, "{kind}: Hit@1 {hit}");
        if let Some(g) = gpu() {
            let on_gpu = planted_hit(&g, kind, &d);
            eprintln!("{kind} gpu: test Hit@1 {on_gpu:.3}");
            assert!((on_gpu - hit).abs() <= 1.0 / 48.0 + 1e-9, "{kind}: gpu {on_gpu} vs cpu {hit}");
        }
    }
}

#[test]
fn scores_follow_the_history_it_is_given() {
    for kind in ["gru4rec", "sasrec"] {
        scores_follow_history(kind);
    }
}

fn scores_follow_history(kind: &str) {
    let d = cycles(48, 30, 12);
    let split = leave_one_out(&d);
    let entry = registry::entry::<Cpu>(kind).unwrap();
    let o = Overrides { dim: Some(16), set: vec![("window".into(), 8.into())], ..Default::default() };
    let set = gpurec::models::TrainSet::from_rows(&d, &split.train);
    let mut m = entry.build(&Cpu, &set, &entry.config(&o).unwrap(), 1).unwrap();
    let fit = FitConfig { epochs: 40, batch_size: 32, patience: 0, seed: 2, ..Default::default() };
    gpurec::train::fit(&Cpu, m.as_mut(), &set, None, &fit, &mut Silent).unwrap();
    // User 0 told they just watched 10, 11, 12: the model expects 13.
    m.set_history(&Cpu, &Sequences::from_lists(&[vec![10, 11, 12]])).unwrap();
    let s = Cpu.read(&m.score_users(&Cpu, &Cpu.index(&[0]).unwrap())).unwrap();
    let best = (0..s.len()).max_by(|&a, &b| s[a].total_cmp(&s[b])).unwrap();
    assert_eq!(best, 13, "{kind}: scores {s:?}");
    // The same history scored without replacing the model's gives the same scores.
    let h = m.score_histories(&Cpu, &Sequences::from_lists(&[vec![10, 11, 12]])).unwrap().unwrap();
    assert_eq!(Cpu.read(&h).unwrap(), s, "{kind}: score_histories vs set_history");
    // A history naming an item the model does not have is refused by name.
    let e = m.set_history(&Cpu, &Sequences::from_lists(&[vec![30]])).unwrap_err().to_string();
    assert!(e.contains("item 30"), "{kind}: {e}");
}

#[test]
fn a_model_file_whose_history_is_not_item_ids_is_refused() {
    let d = cycles(10, 12, 6);
    let set = gpurec::models::TrainSet::all(&d);
    for kind in FAMILIES {
        corrupt_history_is_refused(kind, &d, &set);
    }
}

fn corrupt_history_is_refused(kind: &str, d: &Interactions, set: &gpurec::models::TrainSet) {
    use gpurec::model_file::ModelFile;
    let entry = registry::entry::<Cpu>(kind).unwrap();
    let cfg = entry.config(&Overrides { dim: Some(4), ..Default::default() }).unwrap();
    let m = entry.build(&Cpu, set, &cfg, 1).unwrap();
    let file = registry::to_file(&Cpu, m.as_ref(), serde_json::json!({}), &d.user_ids, &d.item_ids).unwrap();
    let file = ModelFile::from_bytes(&file.to_bytes().unwrap()).unwrap();
    let loaded = registry::load(&Cpu, &file).unwrap();
    let users = Cpu.index(&[0, 3, 9]).unwrap();
    assert_eq!(Cpu.read(&loaded.score_users(&Cpu, &users)).unwrap(), Cpu.read(&m.score_users(&Cpu, &users)).unwrap());
    for (bad, why) in [(12.0, "an item past the table"), (2.5, "a fraction"), (-1.0, "padding after an item")] {
        let mut f = file.clone();
        let h = &mut f.tensors.iter_mut().find(|t| t.name == "history").unwrap().data;
        let last = h.len() - 1;
        h[last] = bad;
        let e = registry::load(&Cpu, &f).err().unwrap_or_else(|| panic!("{kind}: {why} accepted")).to_string();
        assert!(e.contains("`history`"), "{kind}: {why}: {e}");
    }
}

#[test]
fn the_api_recommends_what_follows_a_history_for_a_new_user() {
    use gpurec::api::{Device, Recommender};
    let d = cycles(48, 30, 12);
    let rec = Recommender::builder()
        .model_name("gru4rec")
        .dim(16)
        .set("window", 8)
        .set("lr", 1e-2)
        .epochs(40)
        .batch_size(32)
        .device(Device::Cpu)
        .fit(&d)
        .unwrap();
    let top = rec.recommend_for_history(&["20", "21", "22"], 3).unwrap();
    assert_eq!(top[0].0, "23", "{top:?}");
    assert!(top.iter().all(|(i, _)| !["20", "21", "22"].contains(&i.as_str())), "{top:?}");
    let e = rec.recommend_for_history(&["20", "nope"], 3).unwrap_err().to_string();
    assert!(e.contains("\"nope\""), "{e}");
    // The model is unchanged: a known user still gets their own next item.
    let user0 = rec.recommend("u0", 1).unwrap();
    assert_eq!(user0[0].0, "12", "u0 walked 0‥11, so 12 follows: {user0:?}");
}
