//! The CPU backend splits large ops across threads (`cpu::parallel`, the
//! matmul bands, Adam's pieces, convolution planes, ranking rows); each
//! output element is computed exactly as on one thread, so training and
//! evaluation give the same bits whatever the number of threads. Checked
//! here for every registered family, on data large enough that the ops do
//! split (products past 2^19 multiply-adds, Adam over more than 2^16
//! weights, ranking over 400 users × 700 items).

use gpurec::data::synthetic::{generate, SyntheticConfig};
use gpurec::eval::RankingEval;
use gpurec::models::registry::{self, Overrides};
use gpurec::models::{Task, TrainSet};
use gpurec::train::{FitConfig, Silent};
use gpurec::{Backend, Cpu};

/// Per-epoch losses, a few users' scores and the test metrics, as bits.
fn train_and_rank(name: &str) -> Vec<u64> {
    let d = generate(&SyntheticConfig { users: 400, items: 700, mean_per_user: 40, ..Default::default() });
    let s = gpurec::data::split::per_user_ratio(&d, 0.0, 0.2, 4);
    let set = TrainSet::from_rows(&d, &s.train);
    let entry = registry::entry::<Cpu>(name).unwrap();
    let info = registry::info(name).unwrap();
    let over = Overrides { dim: (!info.dim_keys.is_empty()).then_some(32), ..Default::default() };
    let mut m = entry.build(&Cpu, &set, &entry.config(&over).unwrap(), 5).unwrap();
    let mut cfg = FitConfig { epochs: 1, batch_size: 512, patience: 0, seed: 9, ..Default::default() };
    if info.task == Task::Rating {
        cfg.metric = ("rmse".into(), 0);
    }
    let fit = gpurec::train::fit(&Cpu, m.as_mut(), &set, None, &cfg, &mut Silent).unwrap();
    let users = Cpu.index(&[0, 7, 199, 398]).unwrap();
    let scores = Cpu.read(&m.score_users(&Cpu, &users)).unwrap();
    let eval = RankingEval::new(&Cpu, &d.user_item_csr(&s.test), &set.interactions, &[10], 128).unwrap();
    let r = eval.evaluate(&Cpu, m.as_ref()).unwrap();
    let losses = fit.epochs.iter().map(|e| e.loss.to_bits() as u64);
    let metrics = [&r.ndcg, &r.recall, &r.mrr, &r.hit].into_iter().flatten().map(|v| v.to_bits());
    losses.chain(scores.iter().map(|v| v.to_bits() as u64)).chain(metrics).collect()
}

fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(f)
}

#[test]
fn every_family_trains_and_ranks_to_the_same_bits_on_one_thread_and_on_three() {
    for name in registry::names() {
        let (one, three) = (on_threads(1, || train_and_rank(name)), on_threads(3, || train_and_rank(name)));
        assert_eq!(one, three, "{name}: one thread vs three");
        eprintln!("{name}: {} values equal", one.len());
    }
}
