//! Dense ops: GPU against the CPU reference on shapes that cross workgroup
//! and tile boundaries, plus finite-difference checks of the backward ops.

mod common;

use common::*;
use gpurec::backend::Shaped;
use gpurec::{Act, Backend, BinaryOp, Cpu, Reduce, UnaryOp};

const ACTS: &[Act] = &[Act::Identity, Act::Relu, Act::LeakyRelu(0.1), Act::Sigmoid, Act::Tanh, Act::Softplus];

#[test]
fn matmul_matches_cpu() {
    let Some(gpu) = gpu() else { return };
    let mut seed = 0;
    // The last three take the 128×128-tile kernel (outputs ≥ 256 × 256), with ragged edges.
    for &(m, k, n) in &[
        (1, 1, 1),
        (7, 13, 5),
        (65, 17, 66),
        (64, 64, 64),
        (3, 0, 2),
        (0, 4, 3),
        (130, 33, 129),
        (256, 8, 256),
        (257, 19, 300),
        (385, 3, 259),
    ] {
        for &(ta, tb) in &[(false, false), (true, false), (false, true), (true, true)] {
            seed += 1;
            let ashape = if ta { [k, m] } else { [m, k] };
            let bshape = if tb { [n, k] } else { [k, n] };
            let (ac, ag) = both(&gpu, &rand_vec(seed, m * k), &ashape);
            let (bc, bg) = both(&gpu, &rand_vec(seed + 100, k * n), &bshape);
            let (biasc, biasg) = both(&gpu, &rand_vec(seed + 200, n), &[n]);
            let want = Cpu.matmul(&ac, &bc, ta, tb, None, Act::Identity);
            let got = gpu.matmul(&ag, &bg, ta, tb, None, Act::Identity);
            check(&format!("matmul {m}x{k}x{n} t=({ta},{tb})"), &gpu, &got, &want, SUMS);
            let act = ACTS[seed as usize % ACTS.len()];
            let want = Cpu.matmul(&ac, &bc, ta, tb, Some(&biasc), act);
            let got = gpu.matmul(&ag, &bg, ta, tb, Some(&biasg), act);
            check(&format!("matmul+bias+{act:?} {m}x{k}x{n}"), &gpu, &got, &want, SUMS);
        }
    }
}

/// Products with a mostly-zero operand (the autoencoders' input rows), large
/// enough for the CPU backend's sparse forms: the GPU's dense kernel and the
/// CPU's dense kernel (the same operands with the zeros made tiny non-zeros,
/// which no sparse form takes) agree with them, for each form: A·B, A·Bᵀ and Aᵀ·B.
#[test]
fn matmul_with_a_sparse_operand_matches_dense() {
    let sparse = |seed: u64, len: usize| -> Vec<f32> {
        rand_vec(seed, len)
            .iter()
            .enumerate()
            .map(|(i, &v)| if (i * 7919 + seed as usize).is_multiple_of(23) { v } else { 0.0 })
            .collect()
    };
    let gpu = gpu();
    for &(m, k, n) in &[(67, 1031, 17), (257, 129, 33), (33, 517, 65)] {
        for (ta, tb, a_sparse) in [(false, false, true), (false, true, true), (true, false, false)] {
            let ashape = if ta { [k, m] } else { [m, k] };
            let bshape = if tb { [n, k] } else { [k, n] };
            let (a, b) = if a_sparse {
                (sparse(m as u64, m * k), rand_vec(n as u64, k * n))
            } else {
                (rand_vec(m as u64, m * k), sparse(n as u64, k * n))
            };
            let ac = Cpu.tensor(&a, &ashape).unwrap();
            let bc = Cpu.tensor(&b, &bshape).unwrap();
            let got: Vec<f32> = Cpu.matmul(&ac, &bc, ta, tb, None, Act::Identity).iter().copied().collect();
            let nudge = |x: &[f32]| -> Vec<f32> { x.iter().map(|&v| if v == 0.0 { 1e-30 } else { v }).collect() };
            let dense = Cpu.matmul(
                &Cpu.tensor(&nudge(&a), &ashape).unwrap(),
                &Cpu.tensor(&nudge(&b), &bshape).unwrap(),
                ta,
                tb,
                None,
                Act::Identity,
            );
            let what = format!("sparse-operand matmul {m}x{k}x{n} t=({ta},{tb})");
            assert_close(&what, &got, dense.as_slice().unwrap(), SUMS);
            if let Some(gpu) = &gpu {
                let want = Cpu.matmul(&ac, &bc, ta, tb, Some(&Cpu.tensor(&vec![0.5; n], &[n]).unwrap()), Act::Tanh);
                let (ag, bg) = (gpu.tensor(&a, &ashape).unwrap(), gpu.tensor(&b, &bshape).unwrap());
                let got = gpu.matmul(&ag, &bg, ta, tb, Some(&gpu.tensor(&vec![0.5; n], &[n]).unwrap()), Act::Tanh);
                check(&format!("{what} + bias + tanh on the GPU"), gpu, &got, &want, SUMS);
            }
        }
    }
}

#[test]
fn matmul_batched_matches_cpu() {
    let Some(gpu) = gpu() else { return };
    for &(b, m, k, n, shared) in &[
        (3, 5, 7, 2, false),
        (2, 65, 3, 67, true),
        (1, 1, 1, 1, false),
        (2, 257, 20, 260, false),
        (3, 256, 17, 258, true),
    ] {
        let (ac, ag) = both(&gpu, &rand_vec(1, b * m * k), &[b, m, k]);
        let bshape: Vec<usize> = if shared { vec![k, n] } else { vec![b, k, n] };
        let (bc, bg) = both(&gpu, &rand_vec(2, bshape.iter().product()), &bshape);
        let want = Cpu.matmul(&ac, &bc, false, false, None, Act::Identity);
        let got = gpu.matmul(&ag, &bg, false, false, None, Act::Identity);
        check(&format!("batched matmul {b}x{m}x{k}x{n} shared={shared}"), &gpu, &got, &want, SUMS);
    }
}

#[test]
fn binary_matches_cpu_with_broadcasting() {
    let Some(gpu) = gpu() else { return };
    let cases: &[(&[usize], &[usize])] = &[
        (&[257], &[257]),
        (&[7, 13], &[13]),
        (&[7, 13], &[7, 1]),
        (&[1], &[5, 3]),
        (&[2, 3, 4, 5], &[3, 1, 5]),
        (&[0, 3], &[3]),
    ];
    for (i, &(sa, sb)) in cases.iter().enumerate() {
        let (ac, ag) = both(&gpu, &rand_vec(i as u64, sa.iter().product()), sa);
        let (bc, bg) = both(&gpu, &rand_vec(i as u64 + 50, sb.iter().product()), sb);
        for op in [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div] {
            check(
                &format!("binary {op:?} {sa:?} {sb:?}"),
                &gpu,
                &gpu.binary(op, &ag, &bg),
                &Cpu.binary(op, &ac, &bc),
                EXACTISH,
            );
        }
    }
}

#[test]
fn unary_scale_and_activations_match_cpu() {
    let Some(gpu) = gpu() else { return };
    for &n in SIZES {
        let data: Vec<f32> = rand_vec(n as u64, n).iter().map(|v| v * 3.0).collect();
        let pos: Vec<f32> = data.iter().map(|v| v.abs() + 0.1).collect();
        let (xc, xg) = both(&gpu, &data, &[n]);
        let (pc, pg) = both(&gpu, &pos, &[n]);
        let (dc, dg) = both(&gpu, &rand_vec(n as u64 + 7, n), &[n]);
        for op in [UnaryOp::Neg, UnaryOp::Exp, UnaryOp::Square, UnaryOp::Abs, UnaryOp::Recip] {
            check(&format!("unary {op:?} n={n}"), &gpu, &gpu.unary(op, &xg), &Cpu.unary(op, &xc), EXACTISH);
        }
        for op in [UnaryOp::Log, UnaryOp::Sqrt] {
            check(&format!("unary {op:?} n={n}"), &gpu, &gpu.unary(op, &pg), &Cpu.unary(op, &pc), EXACTISH);
        }
        check("scale", &gpu, &gpu.scale(&xg, -1.5, 0.25), &Cpu.scale(&xc, -1.5, 0.25), EXACTISH);
        for &act in ACTS {
            let (yc, yg) = (Cpu.activate(&xc, act), gpu.activate(&xg, act));
            check(&format!("activate {act:?} n={n}"), &gpu, &yg, &yc, EXACTISH);
            let want = Cpu.activate_backward(&yc, &dc, act);
            check(&format!("activate_backward {act:?}"), &gpu, &gpu.activate_backward(&yg, &dg, act), &want, EXACTISH);
        }
    }
}

#[test]
fn activate_backward_matches_finite_differences() {
    let x = [-1.3f32, -0.2, 0.4, 1.7];
    for &act in ACTS {
        for &v in &x {
            let eps = 1e-3f32;
            let fd = (gpurec::cpu::dense::act_forward(v + eps, act) - gpurec::cpu::dense::act_forward(v - eps, act))
                / (2.0 * eps);
            let y = gpurec::cpu::dense::act_forward(v, act);
            let an = gpurec::cpu::dense::act_grad_from_output(y, act);
            assert!((fd - an).abs() < 2e-3, "{act:?} at {v}: fd {fd} vs {an}");
        }
    }
}

#[test]
fn reductions_match_cpu() {
    let Some(gpu) = gpu() else { return };
    for &(r, c) in &[(1, 1), (7, 13), (3, 257), (257, 3), (2, 1000), (5, 0)] {
        let (xc, xg) = both(&gpu, &rand_vec((r * c) as u64, r * c), &[r, c]);
        for op in [Reduce::Sum, Reduce::Mean, Reduce::Max] {
            check(
                &format!("reduce_rows {op:?} {r}x{c}"),
                &gpu,
                &gpu.reduce_rows(&xg, op),
                &Cpu.reduce_rows(&xc, op),
                EXACTISH,
            );
            check(
                &format!("reduce_cols {op:?} {r}x{c}"),
                &gpu,
                &gpu.reduce_cols(&xg, op),
                &Cpu.reduce_cols(&xc, op),
                EXACTISH,
            );
        }
    }
}

#[test]
fn softmax_and_backward_match_cpu() {
    let Some(gpu) = gpu() else { return };
    for &(r, c) in &[(1, 1), (7, 13), (3, 257), (2, 1000)] {
        let data: Vec<f32> = rand_vec(r as u64, r * c).iter().map(|v| v * 5.0).collect();
        let (xc, xg) = both(&gpu, &data, &[r, c]);
        let (dc, dg) = both(&gpu, &rand_vec(9, r * c), &[r, c]);
        let (sc, sg) = (Cpu.softmax(&xc), gpu.softmax(&xg));
        check("softmax", &gpu, &sg, &sc, EXACTISH);
        let (lc, lg) = (Cpu.log_softmax(&xc), gpu.log_softmax(&xg));
        check("log_softmax", &gpu, &lg, &lc, EXACTISH);
        check("softmax_backward", &gpu, &gpu.softmax_backward(&sg, &dg), &Cpu.softmax_backward(&sc, &dc), EXACTISH);
        check(
            "log_softmax_backward",
            &gpu,
            &gpu.log_softmax_backward(&lg, &dg),
            &Cpu.log_softmax_backward(&lc, &dc),
            EXACTISH,
        );
    }
}

#[test]
fn softmax_backward_matches_finite_differences() {
    let x = [0.3f32, -1.2, 2.0, 0.5];
    let r = [0.7f32, -0.4, 0.1, 1.3];
    for log in [false, true] {
        let f = |x: &[f32]| -> f32 {
            let t = Cpu.tensor(x, &[1, 4]).unwrap();
            let y = if log { Cpu.log_softmax(&t) } else { Cpu.softmax(&t) };
            y.iter().zip(r.iter()).map(|(a, b)| a * b).sum()
        };
        let t = Cpu.tensor(&x, &[1, 4]).unwrap();
        let y = if log { Cpu.log_softmax(&t) } else { Cpu.softmax(&t) };
        let dy = Cpu.tensor(&r, &[1, 4]).unwrap();
        let g = if log { Cpu.log_softmax_backward(&y, &dy) } else { Cpu.softmax_backward(&y, &dy) };
        for i in 0..4 {
            let (mut xp, mut xm) = (x, x);
            xp[i] += 1e-2;
            xm[i] -= 1e-2;
            let fd = (f(&xp) - f(&xm)) / 2e-2;
            assert!((fd - g[[0, i]]).abs() < 1e-3, "log={log} i={i}: fd {fd} vs {}", g[[0, i]]);
        }
    }
}

#[test]
fn dot_rows_and_fill_match_cpu() {
    let Some(gpu) = gpu() else { return };
    for &(n, d) in &[(1, 1), (257, 3), (13, 64), (0, 4)] {
        let (ac, ag) = both(&gpu, &rand_vec(1, n * d), &[n, d]);
        let (bc, bg) = both(&gpu, &rand_vec(2, n * d), &[n, d]);
        check("dot_rows", &gpu, &gpu.dot_rows(&ag, &bg), &Cpu.dot_rows(&ac, &bc), EXACTISH);
        check("full", &gpu, &gpu.full(&[n, d], 2.5), &Cpu.full(&[n, d], 2.5), EXACTISH);
        check("zeros", &gpu, &gpu.zeros(&[n, d]), &Cpu.zeros(&[n, d]), EXACTISH);
    }
}

/// The transpose: the CPU against index arithmetic, the GPU against the CPU
/// bit for bit (a copy) at shapes crossing the 16 × 16 tiles.
#[test]
fn transpose_matches_cpu() {
    let gpu = gpu();
    for (n, m) in [(1, 1), (1, 257), (257, 1), (7, 13), (13, 65), (65, 17), (33, 48)] {
        let x = rand_vec((n * 1000 + m) as u64, n * m);
        let t = Cpu.transpose(&Cpu.tensor(&x, &[n, m]).unwrap());
        assert_eq!(t.dims(), &[m, n]);
        let tv = Cpu.read(&t).unwrap();
        for r in 0..n {
            for c in 0..m {
                assert_eq!(tv[c * n + r], x[r * m + c], "transpose {n}x{m} at ({r}, {c})");
            }
        }
        if let Some(gpu) = &gpu {
            let g = gpu.transpose(&gpu.tensor(&x, &[n, m]).unwrap());
            assert_eq!(g.dims(), &[m, n]);
            assert_eq!(gpu.read(&g).unwrap(), tv, "gpu transpose {n}x{m}");
            let again = gpu.read(&gpu.transpose(&g)).unwrap();
            assert_eq!(again, x, "gpu transpose twice {n}x{m}");
        }
    }
}
