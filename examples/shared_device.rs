//! A host application (a game engine, a desktop app) that already owns a
//! wgpu device hands it to gpurec, trains BPR-MF on interactions it holds in
//! memory, and asks for recommendations in its own ids.
//!
//!     cargo run --release --example shared_device

use gpurec::data::Interactions;
use gpurec::eval::Scorer;
use gpurec::models::TrainSet;
use gpurec::models::{BprConfig, BprMf};
use gpurec::sparse::CsrHost;
use gpurec::train::{FitConfig, Silent};
use gpurec::{Backend, Gpu};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The host's own device (here made on the spot; an engine would pass its existing one).
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions::default()))?;
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor::default()))?;
    let gpu = Gpu::from_device(device, queue);
    println!("sharing the host's device: {}", gpu.describe());

    // Interactions in the application's own ids: players and the levels they finished.
    let mut data = Interactions::default();
    for p in 0..200 {
        let style = p % 4; // four kinds of players, each favouring a quarter of the levels
        for l in 0..12 {
            let level = style * 25 + (p * 7 + l * 3) % 25;
            data.push(&format!("player-{p}"), &format!("level-{level}"), 1.0, 0);
        }
    }
    let all: Vec<usize> = (0..data.len()).collect();
    let seen: CsrHost = data.user_item_csr(&all);

    let cfg = BprConfig { dim: 16, lr: 0.02, reg: 0.0 };
    let mut model = BprMf::new(&gpu, data.n_users(), data.n_items(), cfg, 1)?;
    let fit = FitConfig { epochs: 30, batch_size: 512, patience: 0, ..Default::default() };
    let summary = gpurec::train::fit(&gpu, &mut model, &TrainSet::from_csr(&seen), None, &fit, &mut Silent)?;
    println!("trained {} epochs, final loss {:.4}", summary.epochs.len(), summary.epochs.last().unwrap().loss);

    // Top 5 unseen levels for one player, ranked on the device.
    let user = data.user_ids.get("player-5").unwrap();
    let mask = CsrHost::from_triplets(
        1,
        data.n_items(),
        &seen.row(user as usize).iter().map(|&i| (0, i, 1.0)).collect::<Vec<_>>(),
    );
    let scores = model.score_users(&gpu, &gpu.index(&[user])?);
    let (top, _) = gpu.topk_masked(&scores, 5, Some(&gpu.pattern(&mask)?));
    let names: Vec<&str> = gpu.read_index(&top)?.iter().map(|&i| data.item_ids.id(i)).collect();
    println!("player-5 (style 1, levels 25..49) might like: {names:?}");
    Ok(())
}
