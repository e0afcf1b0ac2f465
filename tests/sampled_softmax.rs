//! The recurrent next-item models' sampled-softmax option (`negatives` = K):
//! the loss over each target and K shared uniform negatives. Its gradients
//! against finite differences, one training step on the GPU (one
//! submission, nothing read back, ids only), and a planted next-item rule
//! learnt on both backends while scoring still ranks every item.

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

fn sampled(negatives: usize) -> RnnConfig {
    RnnConfig { dim: 3, hidden: 4, window: 4, dropout: 0.25, lr: 1e-2, negatives }
}

#[test]
fn sampled_gradients_match_finite_differences() {
    // K = 1, 4 and 9 over 7 items (9 > 7: repeats and accidental hits certain).
    for k in [1, 4, 9] {
        fd::<Gru<Cpu>>("gru4rec", k);
        fd::<Lstm<Cpu>>("lstm", k);
    }
}

fn fd<C: Recurrent<Cpu>>(kind: &'static str, k: usize) {
    let history = Sequences::from_lists(&[vec![0, 1], vec![2], vec![]]);
    let m = NextItemRnn::<Cpu, C>::new(&Cpu, kind, &history, 7, sampled(k), 5).unwrap();
    let inputs = [PAD, 1, 2, 2, PAD, PAD, PAD, 6, 3, 4, 5, 0];
    let targets = [PAD, 2, 2, 5, PAD, PAD, PAD, 1, 4, 5, 0, 3];
    let (loss, grads) = m.grads(&Cpu, &inputs, &targets, 3, 11).unwrap();
    assert_eq!(grads.len(), m.parameters().len());
    let full = NextItemRnn::<Cpu, C>::new(&Cpu, kind, &history, 7, sampled(0), 5).unwrap();
    let full_loss = Cpu.read(&full.grads(&Cpu, &inputs, &targets, 3, 11).unwrap().0).unwrap()[0];
    let loss = Cpu.read(&loss).unwrap()[0];
    assert!(
        loss.is_finite() && (loss - full_loss).abs() > 1e-6,
        "{kind} K={k}: a loss of its own ({loss} vs {full_loss})"
    );
    for (p, grad) in grads.iter().enumerate() {
        let at = Cpu.read(m.parameters()[p]).unwrap();
        let shape = m.parameters()[p].shape().to_vec();
        let analytic = Cpu.read(grad).unwrap();
        let loss_at = |w: &[f32]| {
            let mut probe = NextItemRnn::<Cpu, C>::new(&Cpu, kind, &history, 7, sampled(k), 5).unwrap();
            for (q, t) in probe.parameters_mut().into_iter().enumerate() {
                *t = if q == p { Cpu.tensor(w, &shape).unwrap() } else { m.parameters()[q].clone() };
            }
            Cpu.read(&probe.grads(&Cpu, &inputs, &targets, 3, 11).unwrap().0).unwrap()[0] as f64
        };
        check_fd(&format!("{kind} K={k} parameter {p}"), &at, &analytic, false, &loss_at);
    }
}

#[test]
fn a_sampled_step_is_one_submission_uploading_ids() {
    if gpu().is_none() {
        return;
    }
    let g = Gpu::new().unwrap();
    let history = Sequences::from_lists(&[vec![0, 1], vec![2]]);
    let inputs = [PAD, PAD, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1];
    let targets = [PAD, PAD, 2, 3, 4, 5, 6, 7, 8, 0, 1, 2];
    let batch = Batch::Sequences { users: &[0, 1], inputs: &inputs, targets: &targets, len: 6 };
    let cfg = RnnConfig { window: 6, ..sampled(5) };
    let mut m = NextItemRnn::<Gpu, Gru<Gpu>>::new(&g, "gru4rec", &history, 9, cfg, 1).unwrap();
    let s = step_stats(&g, &mut m, &batch);
    eprintln!("gru4rec, 5 negatives: one step over windows of 6: {s:?}");
    assert_eq!((s.submissions, s.readbacks), (1, 0));
    let (l, n, r, k, items) = (6u64, 2u64, 10u64, 5u64, 9u64);
    // ids and mask, target positions and items, the negatives, the class-0
    // labels, and the two groupings (over R + L·n and L·n + R + K + items).
    let groups = |k: u64, rows: u64| 4 * (rows + rows + 1 + k);
    let bound = 8 * l * n + 8 * r + 4 * k + 4 * r + groups(r + l * n, l * n) + groups(l * n + r + k + items, items);
    assert!(s.bytes_uploaded <= bound, "uploads {} bytes, more than {bound}", s.bytes_uploaded);
    assert_eq!(s.dispatches, 69, "dispatches for a window of 6 with 5 negatives (see the model's docs)");
}

fn planted_hit<B: Backend>(b: &B, kind: &str, d: &Interactions) -> f64 {
    let entry = registry::entry::<B>(kind).unwrap();
    let set = vec![
        ("window".into(), 8.into()),
        ("lr".into(), 1e-2.into()),
        ("hidden".into(), 16.into()),
        ("negatives".into(), 8.into()),
    ];
    let config = entry.config(&Overrides { dim: Some(16), set, ..Default::default() }).unwrap();
    let fit = FitConfig { epochs: 40, batch_size: 32, patience: 0, seed: 2, ..Default::default() };
    let opts = gpurec::protocol::RankingOptions { ks: vec![1, 10], mask_seen: true };
    let run =
        gpurec::protocol::ranking(b, entry.as_ref(), &config, d, &leave_one_out(d), &fit, &opts, &mut Silent).unwrap();
    run.test.get("hit", 1).unwrap()
}

#[test]
fn a_planted_rule_is_learnt_from_eight_negatives_on_both_backends() {
    let d = cycles(48, 30, 12);
    for kind in ["gru4rec", "lstm"] {
        let hit = planted_hit(&Cpu, kind, &d);
        eprintln!("{kind} cpu, 8 negatives: test Hit@1 {hit:.3}");
        assert!(hit > 0.9, "{kind}: Hit@1 {hit}");
        if let Some(g) = gpu() {
            let on_gpu = planted_hit(&g, kind, &d);
            eprintln!("{kind} gpu, 8 negatives: test Hit@1 {on_gpu:.3}");
            assert!((on_gpu - hit).abs() <= 1.0 / 48.0 + 1e-9, "{kind}: gpu {on_gpu} vs cpu {hit}");
        }
    }
}
