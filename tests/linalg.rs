//! Dense linear algebra: `spd_inverse` on both backends, GPU against the CPU
//! reference, both against the definition A·A⁻¹ = I, failure on matrices
//! that are not positive definite, and GPU determinism.

mod common;

use common::*;
use gpurec::{Act, Backend, Cpu};

/// Diagonal shift δ of the test matrices A = MᵀM/n + δI.
const DELTA: f32 = 0.5;
/// The sizes of `SIZES` plus 100, which crosses the GPU's 32-wide block
/// columns and 64-wide tiles with ragged ends.
const INVERSE_SIZES: &[usize] = &[1, 2, 7, 13, 65, 100, 257];

/// A = MᵀM/n + δI for M `[n, n]` uniform in [-1, 1): MᵀM ⪰ 0, so λ_min ≥ δ and
/// ‖A⁻¹‖₂ ≤ 1/δ = 2, and λ_max ≤ δ + 4/3 or so (Marchenko–Pastur, entries of
/// variance 1/3), so κ(A) ≲ 4. Built in f64 and exactly symmetric.
fn spd(seed: u64, n: usize) -> Vec<f32> {
    let m = rand_vec(seed, n * n);
    let mut a = vec![0.0f32; n * n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..n).map(|k| m[k * n + i] as f64 * m[k * n + j] as f64).sum();
            let v = (s / n as f64) as f32 + if i == j { DELTA } else { 0.0 };
            a[i * n + j] = v;
            a[j * n + i] = v;
        }
    }
    a
}

/// A bound on κ(A) = λ_max / λ_min we can trust for every seed: Gershgorin's
/// max_i Σ_j |a_ij| ≥ λ_max over λ_min ≥ δ.
fn kappa_bound(a: &[f32], n: usize) -> f32 {
    let gershgorin = (0..n).map(|i| a[i * n..(i + 1) * n].iter().map(|x| x.abs()).sum::<f32>()).fold(0.0, f32::max);
    gershgorin / DELTA
}

/// Entries of a computed A⁻¹: rounding grows like √n ε in the length-n sums
/// (the usual random-walk estimate, not the n ε worst case), the inverse
/// amplifies relative perturbations of A by κ, and the entries are at most
/// ‖A⁻¹‖₂ ≤ 1/δ. Measured errors sit 30–100× below this (κ ≈ 4 here).
fn inverse_tol(a: &[f32], n: usize) -> Tol {
    Tol { abs: (n as f32).sqrt() * f32::EPSILON * kappa_bound(a, n) / DELTA, rel: 0.0 }
}

/// Entries of A·A⁻¹ − I: ‖A‖·‖A⁻¹‖ = κ times the inverse's relative error,
/// doubled for the rounding of the checking matmul itself.
fn residual_tol(a: &[f32], n: usize) -> Tol {
    Tol { abs: 2.0 * (n as f32).sqrt() * f32::EPSILON * kappa_bound(a, n), rel: 0.0 }
}

fn identity(n: usize) -> Vec<f32> {
    (0..n * n).map(|k| if k / n == k % n { 1.0 } else { 0.0 }).collect()
}

/// SPD matrices that are not positive definite any more: −I; a later block
/// column's pivot driven negative (the leading 60×60 block stays SPD, so the
/// failure shows only at pivot 60, in the second 32-wide block); a NaN on the
/// diagonal; an ∞ off it; the zero matrix; a subnormal pivot, whose inverse
/// overflows f32.
fn not_spd() -> Vec<(&'static str, usize, Vec<f32>)> {
    let neg_eye: Vec<f32> = identity(5).iter().map(|x| -x).collect();
    let mut late = spd(9, 70);
    late[60 * 70 + 60] = -1.0;
    let mut nan = spd(10, 13);
    nan[6 * 13 + 6] = f32::NAN;
    let mut inf = spd(11, 40);
    inf[3 * 40 + 35] = f32::INFINITY;
    inf[35 * 40 + 3] = f32::INFINITY;
    vec![
        ("-I", 5, neg_eye),
        ("late negative pivot", 70, late),
        ("NaN", 13, nan),
        ("inf", 40, inf),
        ("zero", 3, vec![0.0; 9]),
        ("subnormal pivot", 2, vec![1e-39, 0.0, 0.0, 1.0]),
    ]
}

#[test]
fn spd_inverse_matches_cpu() {
    let Some(gpu) = gpu() else { return };
    for &n in INVERSE_SIZES {
        let a = spd(n as u64, n);
        let (ac, ag) = both(&gpu, &a, &[n, n]);
        let want = Cpu.spd_inverse(&ac);
        let got = gpu.spd_inverse(&ag);
        check(&format!("spd_inverse n={n}"), &gpu, &got, &want, inverse_tol(&a, n));
    }
}

#[test]
fn spd_inverse_is_inverse() {
    let g = gpu();
    for &n in INVERSE_SIZES {
        let a = spd(n as u64 + 50, n);
        let (eye, tol) = (identity(n), residual_tol(&a, n));
        let ac = Cpu.tensor(&a, &[n, n]).unwrap();
        let inv = Cpu.read(&Cpu.spd_inverse(&ac)).unwrap();
        let res = Cpu.read(&Cpu.matmul(&ac, &Cpu.tensor(&inv, &[n, n]).unwrap(), false, false, None, Act::Identity));
        assert_close(&format!("cpu A·A⁻¹ n={n}"), &res.unwrap(), &eye, tol);
        assert!((0..n * n).all(|k| inv[k] == inv[(k % n) * n + k / n]), "cpu n={n}: not symmetric");
        if let Some(gpu) = &g {
            let ag = gpu.tensor(&a, &[n, n]).unwrap();
            let inv = gpu.spd_inverse(&ag);
            let res = gpu.read(&gpu.matmul(&ag, &inv, false, false, None, Act::Identity)).unwrap();
            assert_close(&format!("gpu A·A⁻¹ n={n}"), &res, &eye, tol);
            let inv = gpu.read(&inv).unwrap();
            assert!((0..n * n).all(|k| inv[k] == inv[(k % n) * n + k / n]), "gpu n={n}: not symmetric");
        }
    }
}

#[test]
fn spd_inverse_of_a_matrix_not_positive_definite_is_nan() {
    let g = gpu();
    for (what, n, a) in not_spd() {
        let got = Cpu.read(&Cpu.spd_inverse(&Cpu.tensor(&a, &[n, n]).unwrap())).unwrap();
        assert!(got.iter().all(|x| x.is_nan()), "cpu {what}: not all NaN");
        if let Some(gpu) = &g {
            let got = gpu.read(&gpu.spd_inverse(&gpu.tensor(&a, &[n, n]).unwrap())).unwrap();
            assert!(got.iter().all(|x| x.is_nan()), "gpu {what}: not all NaN");
        }
    }
}

#[test]
fn spd_inverse_on_the_gpu_is_deterministic_and_one_submission() {
    let Some(gpu) = gpu() else { return };
    let n = 100;
    let a = gpu.tensor(&spd(3, n), &[n, n]).unwrap();
    gpu.flush().unwrap();
    let before = gpu.stats();
    let first = gpu.spd_inverse(&a);
    let recorded = gpu.stats() - before;
    assert_eq!(recorded.dispatches, 2 * n.div_ceil(32) as u64 + 1, "panel + update per block column, then finish");
    assert_eq!((recorded.submissions, recorded.readbacks), (0, 0), "nothing submitted or read while recording");
    let first = gpu.read(&first).unwrap();
    let second = gpu.read(&gpu.spd_inverse(&a)).unwrap();
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&first), bits(&second), "two runs differ");
}

#[test]
#[should_panic(expected = "spd_inverse: a must be square")]
fn spd_inverse_of_a_non_square_matrix_panics() {
    Cpu.spd_inverse(&Cpu.zeros(&[2, 3]));
}
