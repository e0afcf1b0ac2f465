//! Per-row top-k pruning (`keep_top_k`): the CPU reference against a brute
//! force rank count, the GPU against the CPU bit for bit (the op copies
//! values, it does no arithmetic), ties, NaN, signed zeros, k = 0, k ≥ m and
//! determinism.
mod common;

use common::{rand_ints, rand_vec};
use gpurec::backend::Shaped;
use gpurec::cpu::topk::order_key;
use gpurec::{Backend, Cpu};

/// Rows of random values with planted ties (a third rounded to tenths),
/// NaNs, infinities and both zeros.
fn awkward(seed: u64, n: usize, m: usize) -> Vec<f32> {
    let special = [f32::NAN, f32::NEG_INFINITY, f32::INFINITY, 0.0, -0.0, -f32::NAN];
    let picks = rand_ints(seed + 1, n * m, 30);
    rand_vec(seed, n * m)
        .into_iter()
        .zip(picks)
        .map(|(v, p)| match p {
            0..6 => special[p as usize],
            6..16 => (v * 10.0).round() / 10.0,
            _ => v,
        })
        .collect()
}

/// Brute force: entry c survives when fewer than k entries rank before it
/// (larger key, or equal key and lower column).
fn brute(x: &[f32], n: usize, m: usize, k: usize) -> Vec<f32> {
    let mut out = vec![0f32; n * m];
    for r in 0..n {
        let row = &x[r * m..(r + 1) * m];
        for c in 0..m {
            let kc = order_key(row[c]);
            let before = (0..m).filter(|&o| order_key(row[o]) > kc || (order_key(row[o]) == kc && o < c)).count();
            if before < k {
                out[r * m + c] = row[c];
            }
        }
    }
    out
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|f| f.to_bits()).collect()
}

const COLS: &[usize] = &[1, 7, 13, 65, 257];

#[test]
fn cpu_keep_top_k_matches_brute_force() {
    for &m in COLS {
        for n in [1, 7] {
            let x = awkward(m as u64 * 3 + n as u64, n, m);
            let xt = Cpu.tensor(&x, &[n, m]).unwrap();
            for k in [0, 1, 2, m / 2, m.saturating_sub(1), m, m + 3] {
                let got = Cpu.read(&Cpu.keep_top_k(&xt, k)).unwrap();
                assert_eq!(bits(&got), bits(&brute(&x, n, m, k)), "keep_top_k n={n} m={m} k={k}");
            }
        }
    }
}

#[test]
fn keep_top_k_hand_cases() {
    let b = Cpu;
    let run = |x: &[f32], k: usize| b.read(&b.keep_top_k(&b.tensor(x, &[1, x.len()]).unwrap(), k)).unwrap();
    // Ties go to the lower column.
    assert_eq!(run(&[2.0, 5.0, 5.0, 5.0, 1.0], 2), [0.0, 5.0, 5.0, 0.0, 0.0]);
    // NaN ranks below −inf; −0 and +0 tie.
    assert_eq!(bits(&run(&[f32::NAN, f32::NEG_INFINITY, -1.0], 2)), bits(&[0.0, f32::NEG_INFINITY, -1.0]));
    assert_eq!(bits(&run(&[-0.0, 0.0, -1.0], 1)), bits(&[-0.0, 0.0, 0.0]));
    // k = 0 keeps nothing, k ≥ m keeps everything (NaN included).
    assert_eq!(run(&[3.0, -1.0], 0), [0.0, 0.0]);
    assert_eq!(bits(&run(&[3.0, f32::NAN], 2)), bits(&[3.0, f32::NAN]));
    assert_eq!(bits(&run(&[3.0, f32::NAN], 9)), bits(&[3.0, f32::NAN]));
    // Empty shapes.
    assert_eq!(b.keep_top_k(&b.zeros(&[0, 4]), 2).dims(), &[0, 4]);
    assert_eq!(b.keep_top_k(&b.zeros(&[3, 0]), 2).dims(), &[3, 0]);
}

#[test]
fn keep_top_k_matches_cpu() {
    let Some(gpu) = common::gpu() else { return };
    for &m in COLS.iter().chain(&[600]) {
        for n in [1, 13] {
            let x = awkward(m as u64 * 5 + n as u64, n, m);
            let (xc, xg) = common::both(&gpu, &x, &[n, m]);
            for k in [0, 1, 2, m / 3, m.saturating_sub(1), m, m + 3, 250] {
                let want = Cpu.read(&Cpu.keep_top_k(&xc, k)).unwrap();
                let g = gpu.keep_top_k(&xg, k);
                assert_eq!(g.dims(), &[n, m]);
                assert_eq!(bits(&gpu.read(&g).unwrap()), bits(&want), "gpu keep_top_k n={n} m={m} k={k}");
            }
        }
    }
    // Every entry tied, and ties straddling a 256-column tile.
    for (m, k) in [(300, 1), (300, 257), (513, 300)] {
        let x = vec![0.5f32; m];
        let (xc, xg) = common::both(&gpu, &x, &[1, m]);
        let want = Cpu.read(&Cpu.keep_top_k(&xc, k)).unwrap();
        assert_eq!(bits(&gpu.read(&gpu.keep_top_k(&xg, k)).unwrap()), bits(&want), "all tied m={m} k={k}");
    }
}

#[test]
fn keep_top_k_gpu_is_deterministic() {
    let Some(gpu) = common::gpu() else { return };
    let (n, m, k) = (9, 1682, 250);
    let x = gpu.tensor(&rand_vec(77, n * m), &[n, m]).unwrap();
    let first = bits(&gpu.read(&gpu.keep_top_k(&x, k)).unwrap());
    let second = bits(&gpu.read(&gpu.keep_top_k(&x, k)).unwrap());
    assert_eq!(first, second);
    assert_eq!(first.iter().filter(|&&b| b != 0).count(), n * k);
}

#[test]
#[should_panic(expected = "keep_top_k: x must be 2-D, got [4]")]
fn keep_top_k_wants_a_matrix() {
    let _ = Cpu.keep_top_k(&Cpu.zeros(&[4]), 2);
}
