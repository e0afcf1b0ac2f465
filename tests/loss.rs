//! Losses: GPU against CPU, gradients against finite differences.

mod common;

use common::*;
use gpurec::{Backend, Cpu};

type Loss =
    fn(&Cpu, &gpurec::cpu::CpuTensor, &gpurec::cpu::CpuTensor) -> (gpurec::cpu::CpuTensor, gpurec::cpu::CpuTensor);

const POINTWISE: &[(&str, Loss)] =
    &[("mse_loss", Cpu::mse_loss), ("bce_with_logits", Cpu::bce_with_logits), ("bpr_loss", Cpu::bpr_loss)];

fn targets(name: &str, seed: u64, n: usize) -> Vec<f32> {
    match name {
        "bce_with_logits" => rand_ints(seed, n, 2).into_iter().map(|v| v as f32).collect(),
        _ => rand_vec(seed, n),
    }
}

#[test]
fn pointwise_losses_match_cpu() {
    let Some(gpu) = gpu() else { return };
    for &n in SIZES {
        let x: Vec<f32> = rand_vec(n as u64, n).iter().map(|v| v * 4.0).collect();
        for &(name, _) in POINTWISE {
            let y = targets(name, n as u64 + 1, n);
            let (xc, xg) = both(&gpu, &x, &[n]);
            let (yc, yg) = both(&gpu, &y, &[n]);
            let ((lc, gc), (lg, gg)) = match name {
                "mse_loss" => (Cpu.mse_loss(&xc, &yc), gpu.mse_loss(&xg, &yg)),
                "bce_with_logits" => (Cpu.bce_with_logits(&xc, &yc), gpu.bce_with_logits(&xg, &yg)),
                _ => (Cpu.bpr_loss(&xc, &yc), gpu.bpr_loss(&xg, &yg)),
            };
            check(&format!("{name} loss n={n}"), &gpu, &lg, &lc, EXACTISH);
            check(&format!("{name} grad n={n}"), &gpu, &gg, &gc, EXACTISH);
        }
    }
}

#[test]
fn pointwise_loss_gradients_match_finite_differences() {
    let n = 5;
    let x: Vec<f32> = rand_vec(1, n).iter().map(|v| v * 3.0).collect();
    for &(name, f) in POINTWISE {
        let y = Cpu.tensor(&targets(name, 2, n), &[n]).unwrap();
        let (_, g) = f(&Cpu, &Cpu.tensor(&x, &[n]).unwrap(), &y);
        for i in 0..n {
            let (mut xp, mut xm) = (x.clone(), x.clone());
            xp[i] += 1e-2;
            xm[i] -= 1e-2;
            let lp = f(&Cpu, &Cpu.tensor(&xp, &[n]).unwrap(), &y).0[[0]];
            let lm = f(&Cpu, &Cpu.tensor(&xm, &[n]).unwrap(), &y).0[[0]];
            let fd = (lp - lm) / 2e-2;
            assert!((fd - g[[i]]).abs() < 1e-3 + 1e-2 * fd.abs(), "{name} i={i}: fd {fd} vs {}", g[[i]]);
        }
    }
}

#[test]
fn bce_is_stable_for_large_logits() {
    let x = Cpu.tensor(&[80.0, -80.0], &[2]).unwrap();
    let y = Cpu.tensor(&[1.0, 0.0], &[2]).unwrap();
    let (l, g) = Cpu.bce_with_logits(&x, &y);
    assert!(l[[0]].is_finite() && l[[0]] < 1e-6, "loss {}", l[[0]]);
    assert!(g.iter().all(|v| v.is_finite()));
}

#[test]
fn softmax_cross_entropy_matches_cpu_and_finite_differences() {
    let Some(gpu) = gpu() else { return };
    for &(n, c) in &[(1, 1), (7, 13), (3, 257), (2, 1000)] {
        let (xc, xg) = both(&gpu, &rand_vec(c as u64, n * c), &[n, c]);
        let t = rand_ints(n as u64, n, c as u32);
        let (lc, gc) = Cpu.softmax_cross_entropy(&xc, &Cpu.index(&t).unwrap());
        let (lg, gg) = gpu.softmax_cross_entropy(&xg, &gpu.index(&t).unwrap());
        check("softmax_cross_entropy loss", &gpu, &lg, &lc, EXACTISH);
        check("softmax_cross_entropy grad", &gpu, &gg, &gc, EXACTISH);
    }
    let (n, c) = (2, 4);
    let x = rand_vec(5, n * c);
    let t = Cpu.index(&[1, 3]).unwrap();
    let (_, g) = Cpu.softmax_cross_entropy(&Cpu.tensor(&x, &[n, c]).unwrap(), &t);
    for i in 0..n * c {
        let (mut xp, mut xm) = (x.clone(), x.clone());
        xp[i] += 1e-2;
        xm[i] -= 1e-2;
        let lp = Cpu.softmax_cross_entropy(&Cpu.tensor(&xp, &[n, c]).unwrap(), &t).0[[0]];
        let lm = Cpu.softmax_cross_entropy(&Cpu.tensor(&xm, &[n, c]).unwrap(), &t).0[[0]];
        let fd = (lp - lm) / 2e-2;
        assert!((fd - g[[i / c, i % c]]).abs() < 1e-3, "i={i}: fd {fd} vs {}", g[[i / c, i % c]]);
    }
}

#[test]
fn sampled_softmax_cross_entropy_composes_from_gathers() {
    // Softmax over each user's positive and S sampled items (target column 0):
    // logits = ⟨p_u, q_c⟩ for the gathered candidates, one batched matmul.
    let Some(gpu) = gpu() else { return };
    let (n, s, d, items) = (5, 3, 4, 11);
    let (uc, ug) = both(&gpu, &rand_vec(1, n * d), &[n, 1, d]);
    let (tc, tg) = both(&gpu, &rand_vec(2, items * d), &[items, d]);
    let cand = rand_ints(3, n * (1 + s), items as u32);
    let run = |b: &dyn Fn() -> (Vec<f32>, Vec<f32>)| b();
    let cpu = run(&|| {
        let q = Cpu.reshape(&Cpu.gather_rows(&tc, &Cpu.index(&cand).unwrap()), &[n, 1 + s, d]);
        let logits = Cpu.reshape(&Cpu.matmul(&uc, &q, false, true, None, gpurec::Act::Identity), &[n, 1 + s]);
        let (l, g) = Cpu.softmax_cross_entropy(&logits, &Cpu.index(&vec![0; n]).unwrap());
        (Cpu.read(&l).unwrap(), Cpu.read(&g).unwrap())
    });
    let gpu_out = run(&|| {
        let q = gpu.reshape(&gpu.gather_rows(&tg, &gpu.index(&cand).unwrap()), &[n, 1 + s, d]);
        let logits = gpu.reshape(&gpu.matmul(&ug, &q, false, true, None, gpurec::Act::Identity), &[n, 1 + s]);
        let (l, g) = gpu.softmax_cross_entropy(&logits, &gpu.index(&vec![0; n]).unwrap());
        (gpu.read(&l).unwrap(), gpu.read(&g).unwrap())
    });
    assert_close("sampled softmax loss", &gpu_out.0, &cpu.0, SUMS);
    assert_close("sampled softmax grad", &gpu_out.1, &cpu.1, SUMS);
    // Each row's gradient sums to zero and is negative only at the target.
    for r in 0..n {
        let row = &cpu.1[r * (1 + s)..(r + 1) * (1 + s)];
        assert!(row.iter().sum::<f32>().abs() < 1e-6 && row[0] < 0.0 && row[1..].iter().all(|&v| v > 0.0));
    }
}
