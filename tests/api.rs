//! The application API: fit from memory, recommend in original ids, save,
//! load on the other backend with the same top-K.

mod common;

use gpurec::api::{Device, ModelKind, Recommender};
use gpurec::data::Interactions;

/// Four kinds of players, each favouring a quarter of 100 levels.
fn players() -> Interactions {
    let mut data = Interactions::default();
    for p in 0..120 {
        let style = p % 4;
        for l in 0..12 {
            let level = style * 25 + (p * 7 + l * 3) % 25;
            data.push(&format!("player-{p}"), &format!("level-{level}"), 1.0, 0);
        }
    }
    data
}

#[test]
fn fit_recommend_save_load_on_both_backends() {
    let data = players();
    let rec = Recommender::builder()
        .model(ModelKind::Bpr)
        .dim(16)
        .lr(0.02)
        .epochs(40)
        .device(Device::Cpu)
        .fit(&data)
        .unwrap();
    let top = rec.recommend("player-5", 5).unwrap();
    assert_eq!(top.len(), 5);
    let seen: Vec<String> = (0..data.len())
        .filter(|&r| data.user_ids.id(data.users[r]) == "player-5")
        .map(|r| data.item_ids.id(data.items[r]).to_string())
        .collect();
    for (item, _) in &top {
        assert!(!seen.contains(item), "{item} was already seen");
        let level: usize = item.trim_start_matches("level-").parse().unwrap();
        assert!((25..50).contains(&level), "player-5 (style 1) got {item}");
    }
    assert!(rec.recommend("nobody", 5).is_err());

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("players.gpurec");
    rec.save(&path).unwrap();
    let cpu = Recommender::load(&path, Device::Cpu).unwrap();
    assert_eq!(cpu.recommend("player-5", 5).unwrap(), top, "a saved model recommends the same");
    if let Some(gpu) = common::gpu() {
        let g = Recommender::load(&path, Device::Gpu(gpu)).unwrap();
        let got: Vec<String> = g.recommend("player-5", 5).unwrap().into_iter().map(|(i, _)| i).collect();
        let want: Vec<String> = top.iter().map(|(i, _)| i.clone()).collect();
        assert_eq!(got, want, "the same top-K on the GPU backend");
    }
}

#[test]
fn lightgcn_through_the_api_on_the_gpu() {
    let Some(gpu) = common::gpu() else { return };
    let data = players();
    let rec = Recommender::builder()
        .model(ModelKind::LightGcn)
        .dim(16)
        .lr(0.02)
        .epochs(15)
        .device(Device::Gpu(gpu))
        .fit(&data)
        .unwrap();
    let batch = rec.recommend_batch(&["player-0", "player-2"], 3).unwrap();
    assert_eq!(batch.len(), 2);
    for (item, _) in &batch[0] {
        let level: usize = item.trim_start_matches("level-").parse().unwrap();
        assert!(level < 25, "player-0 (style 0) got {item}");
    }
}

/// Saves `rec`, loads it on the CPU (and the GPU when present) and checks both
/// recommend what `rec` does for `user`.
fn same_after_reload(rec: &Recommender, user: &str) {
    let top = rec.recommend(user, 5).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.gpurec");
    rec.save(&path).unwrap();
    let ids = |v: Vec<(String, f32)>| v.into_iter().map(|(i, _)| i).collect::<Vec<_>>();
    let cpu = Recommender::load(&path, Device::Cpu).unwrap();
    assert_eq!(ids(cpu.recommend(user, 5).unwrap()), ids(top.clone()), "the same top-K after reloading on the CPU");
    if let Some(gpu) = common::gpu() {
        let g = Recommender::load(&path, Device::Gpu(gpu)).unwrap();
        assert_eq!(ids(g.recommend(user, 5).unwrap()), ids(top), "the same top-K after reloading on the GPU");
    }
}

#[test]
fn neumf_through_the_api() {
    let data = players();
    let rec = Recommender::builder()
        .model(ModelKind::NeuMf)
        .dim(8)
        .lr(0.01)
        .epochs(30)
        .batch_size(256)
        .device(Device::Cpu)
        .fit(&data)
        .unwrap();
    let top = rec.recommend("player-6", 5).unwrap();
    let in_style = top
        .iter()
        .filter(|(item, _)| (50..75).contains(&item.trim_start_matches("level-").parse::<usize>().unwrap()))
        .count();
    assert!(in_style >= 4, "player-6 (style 2) got {top:?}");
    same_after_reload(&rec, "player-6");
}

#[test]
fn mf_through_the_api_ranks_by_predicted_rating() {
    // Every player rates all 40 games: 5 for the 10 of their own style, 1 for the rest,
    // except for three games of their style they have not rated yet.
    let mut data = Interactions::default();
    for p in 0..80 {
        let style = p % 4;
        for g in 0..40 {
            let own = g / 10 == style;
            if own && (g + p) % 10 < 3 {
                continue;
            }
            data.push(&format!("p{p}"), &format!("g{g}"), if own { 5.0 } else { 1.0 }, 0);
        }
    }
    let rec = Recommender::builder().model(ModelKind::Mf).epochs(30).device(Device::Cpu).fit(&data).unwrap();
    let top = rec.recommend("p1", 3).unwrap();
    for (game, score) in &top {
        let g: usize = game.trim_start_matches('g').parse().unwrap();
        assert_eq!(g / 10, 1, "p1 (style 1) got {top:?}");
        assert!(*score > 3.0, "predicted rating {score} of an own-style game");
    }
    same_after_reload(&rec, "p1");
}

/// Any registered family by name, with its own settings: EASE ranks each
/// player's unseen levels of their own style first, and serves the same after a reload.
#[test]
fn a_family_by_name_with_its_settings() {
    let data = players();
    let rec = Recommender::builder().model_name("ease").set("lambda", 5.0).device(Device::Cpu).fit(&data).unwrap();
    for (item, _) in rec.recommend("player-5", 5).unwrap() {
        let level: usize = item.trim_start_matches("level-").parse().unwrap();
        assert!((25..50).contains(&level), "player-5 (style 1) got {item}");
    }
    same_after_reload(&rec, "player-5");
    let bad = Recommender::builder().model_name("ease").set("lambda", -1.0).device(Device::Cpu).fit(&data);
    assert!(bad.err().expect("a negative lambda").to_string().contains("lambda"));
    let unknown = Recommender::builder().model_name("no-such-model").device(Device::Cpu).fit(&data);
    assert!(unknown.err().expect("an unknown family").to_string().contains("unknown model"));
}

/// Allow and deny lists and `include_seen`, for users and for a given
/// history, on both backends: a filtered item never comes back, and the
/// ranking of the rest is the unfiltered one.
#[test]
fn filters_apply_on_the_device_on_both_backends() {
    use gpurec::api::Filter;
    let data = players();
    let rec = Recommender::builder().model_name("ease").device(Device::Cpu).fit(&data).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ease.gpurec");
    rec.save(&path).unwrap();
    let seen: Vec<String> = (0..data.len())
        .filter(|&r| data.user_ids.id(data.users[r]) == "player-5")
        .map(|r| data.item_ids.id(data.items[r]).to_string())
        .collect();
    let mut backends = vec![("cpu", Recommender::load(&path, Device::Cpu).unwrap())];
    if let Some(gpu) = common::gpu() {
        backends.push(("gpu", Recommender::load(&path, Device::Gpu(gpu)).unwrap()));
    }
    for (name, rec) in backends {
        let ids = |top: Vec<(String, f32)>| top.into_iter().map(|(i, _)| i).collect::<Vec<_>>();
        let base = ids(rec.recommend("player-5", 10).unwrap());
        // Deny the three best: the next seven move up, in order, and ten still come back.
        let denied = ids(rec.recommend_filtered(&["player-5"], 10, &Filter::deny(&base[..3])).unwrap().remove(0));
        assert_eq!(denied.len(), 10, "{name}");
        assert_eq!(denied[..7], base[3..], "{name}: the rest keep their order");
        assert!(denied.iter().all(|i| !base[..3].contains(i)), "{name}: a denied item came back");
        // Allow two seen and four unseen items: only the four come back.
        let allow: Vec<String> = seen[..2].iter().chain(&base[6..10]).cloned().collect();
        let allowed = ids(rec.recommend_filtered(&["player-5"], 10, &Filter::allow(&allow)).unwrap().remove(0));
        assert_eq!(allowed, base[6..10], "{name}: only the allowed unseen items, in order");
        // Seen items let back in: some of the user's own items rank first.
        let all = Filter { include_seen: true, ..Filter::default() };
        let with_seen = ids(rec.recommend_filtered(&["player-5"], 10, &all).unwrap().remove(0));
        assert!(with_seen.iter().any(|i| seen.contains(i)), "{name}: {with_seen:?} has no seen item");
        let err = rec.recommend_filtered(&["player-5"], 5, &Filter::deny(&["no-such-level"])).unwrap_err();
        assert!(err.to_string().contains("no-such-level"), "{name}: {err}");
        // A history, filtered: neither its items nor the denied ones.
        let history = ["level-30", "level-31", "level-40"];
        let free = ids(rec.recommend_for_history(&history, 5).unwrap());
        let filtered = ids(rec.recommend_for_history_filtered(&history, 5, &Filter::deny(&free[..1])).unwrap());
        assert_eq!(filtered[..4], free[1..], "{name}: a history's top-K without the denied item");
        assert!(filtered.iter().all(|i| !history.contains(&i.as_str()) && *i != free[0]), "{name}: {filtered:?}");
    }
}

/// Similar items and explanations: an EASE or ItemKNN score is the sum of
/// the user's items' terms, so the explanation of a recommendation, taken
/// over all of the user's items, sums to its score — on both backends.
#[test]
fn explanations_sum_to_the_score_of_an_item_item_model() {
    use gpurec::api::Filter;
    let data = players();
    for name in ["ease", "itemknn"] {
        let rec = Recommender::builder().model_name(name).device(Device::Cpu).fit(&data).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.gpurec");
        rec.save(&path).unwrap();
        let mut backends = vec![Recommender::load(&path, Device::Cpu).unwrap()];
        if let Some(gpu) = common::gpu() {
            backends.push(Recommender::load(&path, Device::Gpu(gpu)).unwrap());
        }
        for rec in backends {
            let where_ = format!("{name} on {}", rec.describe());
            for (item, score) in rec.recommend("player-5", 3).unwrap() {
                let because = rec.explain("player-5", &item, 128).unwrap();
                assert_eq!(because.len(), 12, "{where_}: every item of player-5 is a candidate reason");
                let sum: f32 = because.iter().map(|(_, w)| w).sum();
                assert!((sum - score).abs() < 1e-4 * score.abs().max(1.0), "{where_}: {item}: {sum} vs {score}");
                assert!(because.windows(2).all(|w| w[0].1 >= w[1].1), "{where_}: the strongest reason first");
            }
            let similar = rec.similar("level-30", 5, &Filter::default()).unwrap();
            assert_eq!(similar.len(), 5, "{where_}");
            assert!(similar.iter().all(|(i, _)| i != "level-30"), "{where_}: {similar:?}");
            // Levels of a style are played together: level 30's neighbours are in 25..50.
            assert!(
                similar.iter().all(|(i, _)| (25..50).contains(&i[6..].parse::<usize>().unwrap())),
                "{where_}: {similar:?}"
            );
            assert!(rec.similar("no-such-level", 5, &Filter::default()).is_err());
        }
    }
}

/// Polls `fut` once per "frame" with a waker that does nothing, as a frame
/// loop would, until it is ready; returns the result and the frames it took.
fn frame_loop<T>(fut: impl std::future::Future<Output = T>) -> (T, usize) {
    use futures::FutureExt;
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(futures::task::noop_waker_ref());
    for frame in 1.. {
        if let std::task::Poll::Ready(out) = fut.poll_unpin(&mut cx) {
            return (out, frame);
        }
        assert!(frame < 10_000_000, "never ready");
    }
    unreachable!()
}

#[test]
fn recommend_async_gives_the_blocking_lists_from_a_frame_loop_on_both_backends() {
    use gpurec::api::Filter;
    let data = players();
    let rec = Recommender::builder().model(ModelKind::Bpr).dim(16).epochs(5).device(Device::Cpu).fit(&data).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("players.gpurec");
    rec.save(&path).unwrap();
    let users = ["player-1", "player-2", "player-77"];
    let deny = Filter::deny(&["level-30"]);
    let mut on = vec![("cpu", rec)];
    if let Some(gpu) = common::gpu() {
        on.push(("gpu", Recommender::load(&path, Device::Gpu(gpu)).unwrap()));
    }
    for (backend, rec) in &on {
        let want = rec.recommend_batch(&users, 5).unwrap();
        let (got, frames) = frame_loop(rec.recommend_async(&users, 5));
        eprintln!("{backend}: ready after {frames} frame(s)");
        assert_eq!(got.unwrap(), want, "{backend}: async = blocking");
        let (got, _) = frame_loop(rec.recommend_filtered_async(&users, 5, &deny));
        assert_eq!(got.unwrap(), rec.recommend_filtered(&users, 5, &deny).unwrap(), "{backend}: with a filter");
        let (err, _) = frame_loop(rec.recommend_async(&["nobody"], 5));
        assert!(err.unwrap_err().to_string().contains("unknown user \"nobody\""), "{backend}");
    }
}

#[test]
fn a_recommender_trains_on_a_background_thread_and_serves_from_another() {
    fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<Recommender>();
    let data = players();
    // Trained off the main thread, as an app keeps its frame loop running
    // meanwhile, reporting each epoch's loss to it as it goes.
    let (tx, rx) = std::sync::mpsc::channel();
    let training = std::thread::spawn(move || {
        Recommender::builder()
            .model(ModelKind::Bpr)
            .dim(16)
            .lr(0.02)
            .epochs(40)
            .device(Device::Cpu)
            .on_epoch(move |r| tx.send((r.epoch, r.loss)).unwrap())
            .fit(&data)
    });
    let rec = std::sync::Arc::new(training.join().unwrap().unwrap());
    let curve: Vec<(usize, f32)> = rx.try_iter().collect();
    assert_eq!(curve.iter().map(|c| c.0).collect::<Vec<_>>(), (1..=40).collect::<Vec<_>>(), "one report per epoch");
    assert!(curve[39].1 < curve[0].1 && curve.iter().all(|c| c.1.is_finite()), "the loss falls: {curve:?}");
    let here = rec.recommend("player-5", 5).unwrap();
    let there = {
        let rec = rec.clone();
        std::thread::spawn(move || rec.recommend("player-5", 5).unwrap()).join().unwrap()
    };
    assert_eq!(here, there, "the same lists from two threads");
    // A sequence model (its cached representations behind a lock) and a graph model too.
    let data = players();
    for name in ["gru4rec", "lightgcn"] {
        let rec = std::sync::Arc::new(
            Recommender::builder().model_name(name).dim(8).epochs(2).device(Device::Cpu).fit(&data).unwrap(),
        );
        let other = rec.clone();
        let there = std::thread::spawn(move || other.recommend("player-5", 5).unwrap()).join().unwrap();
        assert_eq!(rec.recommend("player-5", 5).unwrap(), there, "{name}");
    }
}

/// A new player known only by their style gets the levels of that style
/// (cold start, `lightfm`), the same from a saved and loaded model; models
/// without feature embeddings and unknown feature names are refused.
#[test]
fn a_new_user_known_by_features_gets_recommendations_from_them() {
    use gpurec::api::Filter;
    use gpurec::data::side::{FeatureTable, SideFeatures};
    let mut data = players();
    let user_pairs: Vec<(String, String)> =
        (0..120).map(|p| (format!("player-{p}"), format!("style={}", p % 4))).collect();
    let item_pairs: Vec<(String, String)> =
        (0..100).map(|l| (format!("level-{l}"), format!("zone={}", l / 25))).collect();
    let (users, items) = (FeatureTable::from_pairs(&user_pairs), FeatureTable::from_pairs(&item_pairs));
    data.side = Some(std::sync::Arc::new(SideFeatures { users, items }));
    let rec =
        Recommender::builder().model_name("lightfm").dim(8).lr(0.02).epochs(30).device(Device::Cpu).fit(&data).unwrap();
    assert_eq!(rec.user_features(), ["style=0", "style=1", "style=2", "style=3"]);
    let top = rec.recommend_for_features(&["style=2"], 5, &Filter::default()).unwrap();
    assert_eq!(top.len(), 5);
    let zone = |item: &str| item["level-".len()..].parse::<usize>().unwrap() / 25;
    assert!(top.iter().all(|(i, _)| zone(i) == 2), "style 2 plays zone 2: {top:?}");
    let denied = rec.recommend_for_features(&["style=2"], 5, &Filter::deny(&[&top[0].0])).unwrap();
    assert!(denied.iter().all(|(i, _)| *i != top[0].0), "the deny list holds for cold users too");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lightfm.gpurec");
    rec.save(&path).unwrap();
    let loaded = Recommender::load(&path, Device::Cpu).unwrap();
    assert_eq!(loaded.recommend_for_features(&["style=2"], 5, &Filter::default()).unwrap(), top);
    let err = rec.recommend_for_features(&["style=9"], 5, &Filter::default()).unwrap_err().to_string();
    assert!(err.contains("unknown feature \"style=9\"; the model knows style=0"), "{err}");
    let bpr = Recommender::builder().model(ModelKind::Bpr).epochs(1).device(Device::Cpu).fit(&data).unwrap();
    let err = bpr.recommend_for_features(&["style=2"], 5, &Filter::default()).unwrap_err().to_string();
    assert!(err.contains("bpr model has no feature embeddings"), "{err}");
    assert!(bpr.user_features().is_empty());
}
