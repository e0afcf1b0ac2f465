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
