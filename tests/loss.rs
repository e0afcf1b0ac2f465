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

/// The fused BPR-MF kernel against the same math composed from single ops
/// (gathers, row dots, `bpr_loss`, broadcasts), and GPU against CPU, on
/// shapes with repeated rows.
#[test]
fn bpr_triples_matches_composed_ops_and_cpu() {
    use gpurec::backend::BinaryOp;
    for &n in SIZES {
        for (d, reg) in [(1, 0.0), (7, 0.1), (64, 0.0)] {
            let (users, items) = (n / 2 + 1, n + 3);
            let user: Vec<f32> = rand_vec(n as u64, users * d);
            let item: Vec<f32> = rand_vec(n as u64 + 1, items * d);
            let mut idx = rand_ints(n as u64 + 2, n, users as u32);
            idx.extend(rand_ints(n as u64 + 3, 2 * n, items as u32));
            let (uc, ic) = (Cpu.tensor(&user, &[users, d]).unwrap(), Cpu.tensor(&item, &[items, d]).unwrap());
            let (lc, duc, dic) = Cpu.bpr_triples(&uc, &ic, &Cpu.index(&idx).unwrap(), reg);

            // Composed reference on the CPU backend.
            let (u, i, j) = (&idx[..n], &idx[n..2 * n], &idx[2 * n..]);
            let b = Cpu;
            let pu = b.gather_rows(&uc, &b.index(u).unwrap());
            let qi = b.gather_rows(&ic, &b.index(i).unwrap());
            let qj = b.gather_rows(&ic, &b.index(j).unwrap());
            let (loss, g) = b.bpr_loss(&b.dot_rows(&pu, &qi), &b.dot_rows(&pu, &qj));
            let g = b.reshape(&g, &[n, 1]);
            let r = reg / n as f32;
            let du = b.binary(
                BinaryOp::Add,
                &b.binary(BinaryOp::Mul, &b.binary(BinaryOp::Sub, &qi, &qj), &g),
                &b.scale(&pu, r, 0.0),
            );
            let gp = b.binary(BinaryOp::Mul, &pu, &g);
            let di = b.binary(BinaryOp::Add, &gp, &b.scale(&qi, r, 0.0));
            let dj = b.binary(BinaryOp::Add, &b.scale(&gp, -1.0, 0.0), &b.scale(&qj, r, 0.0));
            let what = |t: &str| format!("bpr_triples {t} n={n} d={d} reg={reg}");
            assert_close(&what("loss vs composed"), &Cpu.read(&lc).unwrap(), &Cpu.read(&loss).unwrap(), EXACTISH);
            assert_close(&what("d_user vs composed"), &Cpu.read(&duc).unwrap(), &Cpu.read(&du).unwrap(), EXACTISH);
            let dij = Cpu.read(&b.concat_rows(&di, &dj)).unwrap();
            assert_close(&what("d_item vs composed"), &Cpu.read(&dic).unwrap(), &dij, EXACTISH);

            if let Some(gpu) = gpu() {
                let (ug, ig) = (gpu.tensor(&user, &[users, d]).unwrap(), gpu.tensor(&item, &[items, d]).unwrap());
                let (lg, dug, dig) = gpu.bpr_triples(&ug, &ig, &gpu.index(&idx).unwrap(), reg);
                check(&what("loss gpu"), &gpu, &lg, &lc, EXACTISH);
                check(&what("d_user gpu"), &gpu, &dug, &duc, SUMS);
                check(&what("d_item gpu"), &gpu, &dig, &dic, SUMS);
            }
        }
    }
}

/// The fused kernel's gradients are those of its loss plus the penalty, by
/// central differences (distinct rows, so each table row gets one triple's gradient).
#[test]
fn bpr_triples_gradients_match_finite_differences() {
    let (n, d, reg) = (3, 4, 0.3f32);
    let (users, items) = (3, 6);
    let user = rand_vec(7, users * d).iter().map(|v| v * 2.0).collect::<Vec<_>>();
    let item = rand_vec(8, items * d).iter().map(|v| v * 2.0).collect::<Vec<_>>();
    let idx = Cpu.index(&[2, 0, 1, 4, 1, 3, 0, 5, 2]).unwrap();
    let objective = |user: &[f32], item: &[f32]| -> f64 {
        let (l, _, _) = Cpu.bpr_triples(
            &Cpu.tensor(user, &[users, d]).unwrap(),
            &Cpu.tensor(item, &[items, d]).unwrap(),
            &idx,
            0.0,
        );
        let sq = |t: &[f32], rows: &[u32]| {
            rows.iter().map(|&r| (0..d).map(|c| (t[r as usize * d + c] as f64).powi(2)).sum::<f64>()).sum::<f64>()
        };
        l[[0]] as f64 + reg as f64 / (2.0 * n as f64) * (sq(user, &[2, 0, 1]) + sq(item, &[4, 1, 3, 0, 5, 2]))
    };
    let (_, du, di) =
        Cpu.bpr_triples(&Cpu.tensor(&user, &[users, d]).unwrap(), &Cpu.tensor(&item, &[items, d]).unwrap(), &idx, reg);
    let h = 1e-2f32;
    for (k, &row) in [2usize, 0, 1].iter().enumerate() {
        for c in 0..d {
            let (mut p, mut m) = (user.clone(), user.clone());
            p[row * d + c] += h;
            m[row * d + c] -= h;
            let fd = (objective(&p, &item) - objective(&m, &item)) / (2.0 * h as f64);
            let an = du[[k, c]] as f64;
            assert!((fd - an).abs() < 1e-3 + 1e-2 * fd.abs(), "user row {row} c {c}: fd {fd} vs {an}");
        }
    }
    for (k, &row) in [4usize, 1, 3, 0, 5, 2].iter().enumerate() {
        for c in 0..d {
            let (mut p, mut m) = (item.clone(), item.clone());
            p[row * d + c] += h;
            m[row * d + c] -= h;
            let fd = (objective(&user, &p) - objective(&user, &m)) / (2.0 * h as f64);
            let an = di[[k, c]] as f64;
            assert!((fd - an).abs() < 1e-3 + 1e-2 * fd.abs(), "item row {row} c {c}: fd {fd} vs {an}");
        }
    }
}

/// Biased MF's fused residual kernel against the composed ops it replaces
/// (row gathers, row dot, two additions, `mse_loss`), GPU against CPU, and its
/// gradient against finite differences of the loss in a rating's bias.
#[test]
fn mf_residuals_matches_composed_ops_cpu_and_finite_differences() {
    use gpurec::backend::BinaryOp;
    for &n in SIZES {
        for d in [1, 5, 32] {
            let rows = n + 4;
            let factors = rand_vec(n as u64 + 20, rows * d);
            let biases = rand_vec(n as u64 + 21, rows + 1);
            let idx = rand_ints(n as u64 + 22, 2 * n, rows as u32);
            let target: Vec<f32> = rand_vec(n as u64 + 23, n).iter().map(|v| v * 2.0).collect();
            let (f, bt) = (Cpu.tensor(&factors, &[rows, d]).unwrap(), Cpu.tensor(&biases, &[rows + 1, 1]).unwrap());
            let t = Cpu.tensor(&target, &[n]).unwrap();
            let (lc, gc) = Cpu.mf_residuals(&f, &bt, &Cpu.index(&idx).unwrap(), &t);

            let b = Cpu;
            let (u, i) = (b.index(&idx[..n]).unwrap(), b.index(&idx[n..]).unwrap());
            let dot = b.dot_rows(&b.gather_rows(&f, &u), &b.gather_rows(&f, &i));
            let bu = b.reshape(&b.gather_rows(&bt, &u), &[n]);
            let bi = b.reshape(&b.gather_rows(&bt, &i), &[n]);
            let (loss, g) = b.mse_loss(&b.binary(BinaryOp::Add, &b.binary(BinaryOp::Add, &dot, &bu), &bi), &t);
            let what = |s: &str| format!("mf_residuals {s} n={n} d={d}");
            assert_close(&what("loss vs composed"), &Cpu.read(&lc).unwrap(), &Cpu.read(&loss).unwrap(), EXACTISH);
            assert_close(&what("grad vs composed"), &Cpu.read(&gc).unwrap(), &Cpu.read(&g).unwrap(), EXACTISH);

            if let Some(gpu) = gpu() {
                let (fg, bg) =
                    (gpu.tensor(&factors, &[rows, d]).unwrap(), gpu.tensor(&biases, &[rows + 1, 1]).unwrap());
                let (lg, gg) =
                    gpu.mf_residuals(&fg, &bg, &gpu.index(&idx).unwrap(), &gpu.tensor(&target, &[n]).unwrap());
                check(&what("loss gpu"), &gpu, &lg, &lc, EXACTISH);
                check(&what("grad gpu"), &gpu, &gg, &gc, SUMS);
            }
        }
    }
    // ∂loss/∂r̂_k = grad[k]: r̂_k moves one for one with the bias of its user row
    // (each user row used once here, never as an item row).
    let (n, d, rows) = (3, 2, 8);
    let factors = rand_vec(30, rows * d);
    let biases = rand_vec(31, rows + 1);
    let idx = Cpu.index(&[0, 1, 2, 5, 6, 7]).unwrap();
    let t = Cpu.tensor(&[0.5, -1.0, 2.0], &[n]).unwrap();
    let f = Cpu.tensor(&factors, &[rows, d]).unwrap();
    let loss = |b: &[f32]| Cpu.mf_residuals(&f, &Cpu.tensor(b, &[rows + 1, 1]).unwrap(), &idx, &t).0[[0]] as f64;
    let (_, g) = Cpu.mf_residuals(&f, &Cpu.tensor(&biases, &[rows + 1, 1]).unwrap(), &idx, &t);
    for k in 0..n {
        let (mut p, mut m) = (biases.clone(), biases.clone());
        p[k] += 1e-2;
        m[k] -= 1e-2;
        let fd = (loss(&p) - loss(&m)) / 2e-2;
        assert!((fd - g[[k]] as f64).abs() < 1e-3 + 1e-2 * fd.abs(), "rating {k}: fd {fd} vs {}", g[[k]]);
    }
}
