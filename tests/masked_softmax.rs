//! Masked softmax (causal + key padding, SASRec's attention): GPU vs CPU
//! parity on odd shapes, the definition (masked entries 0, rows sum to 1,
//! the unmasked case is plain softmax), fully masked rows give zeros (never
//! NaN), and finite-difference checks of the backward alone and of a whole
//! attention `softmax_mask(Q·Kᵀ·s)·V` composed with the matmul backward.
mod common;

use common::{assert_close, both, check, check_fd, rand_ints, rand_vec, EXACTISH};
use gpurec::backend::Shaped;
use gpurec::{Act, Backend, Cpu};

/// (n, lq, lk, m): 1, primes, just past 64 and 256 keys, heads 1 and 2.
const SHAPES: &[(usize, usize, usize, usize)] = &[
    (1, 1, 1, 1),
    (2, 7, 7, 1),
    (6, 13, 13, 3),
    (4, 5, 5, 2),
    (2, 65, 65, 1),
    (1, 3, 257, 1),
    (3, 2, 11, 3),
    (0, 4, 4, 0),
];

/// A 0/1 key mask `[m, lk]` with about a third of the keys padding and row 0
/// fully padded when `empty_row`.
fn key_mask(seed: u64, m: usize, lk: usize, empty_row: bool) -> Vec<f32> {
    let bits = rand_ints(seed, m * lk, 3);
    (0..m * lk).map(|k| if (empty_row && k < lk) || bits[k] == 0 { 0.0 } else { 1.0 }).collect()
}

#[test]
fn gpu_matches_cpu() {
    let Some(gpu) = common::gpu() else { return };
    for &(n, lq, lk, m) in SHAPES {
        for (causal, masked) in [(false, false), (true, false), (false, true), (true, true)] {
            if masked && m == 0 {
                continue;
            }
            let seed = (n * 10000 + lq * 100 + lk) as u64 * 4 + 2 * causal as u64 + masked as u64;
            let what = |t: &str| format!("{t} n={n} lq={lq} lk={lk} m={m} causal={causal} masked={masked}");
            let x: Vec<f32> = rand_vec(seed, n * lq * lk).into_iter().map(|v| 4.0 * v).collect();
            let (cx, gx) = both(&gpu, &x, &[n, lq, lk]);
            let (cm, gm) = both(&gpu, &key_mask(seed + 1, m.max(1), lk, n > 1), &[m.max(1), lk]);
            let (cmask, gmask) = if masked { (Some(&cm), Some(&gm)) } else { (None, None) };
            let cy = Cpu.masked_softmax(&cx, cmask, causal);
            let gy = gpu.masked_softmax(&gx, gmask, causal);
            check(&what("y"), &gpu, &gy, &cy, EXACTISH);
            let (cdy, gdy) = both(&gpu, &rand_vec(seed + 2, n * lq * lk), &[n, lq, lk]);
            let cdx = Cpu.masked_softmax_backward(&cy, &cdy);
            let gdx = gpu.masked_softmax_backward(&gy, &gdy);
            check(&what("dx"), &gpu, &gdx, &cdx, common::SUMS);
        }
    }
    gpu.flush().unwrap();
}

/// Masked entries are 0, every row with a key left sums to 1, a row without
/// one (a padded sequence's keys, or a query before the first real key under
/// the causal mask) is all 0 — on both backends.
#[test]
fn masked_entries_and_fully_masked_rows_are_zero() {
    let (n, l, heads) = (4, 6, 2);
    // Sequence 0: left padding of 2 (the causal rows 0 and 1 see only padding);
    // sequence 1: every key padding.
    let mut mask = vec![1.0f32; 2 * l];
    mask[0] = 0.0;
    mask[1] = 0.0;
    for v in &mut mask[l..] {
        *v = 0.0;
    }
    let x: Vec<f32> = rand_vec(5, n * l * l).into_iter().map(|v| 10.0 * v).collect();
    let check_rows = |y: &[f32], backend: &str| {
        for b in 0..n {
            for i in 0..l {
                let row = &y[(b * l + i) * l..(b * l + i + 1) * l];
                assert!(row.iter().all(|v| v.is_finite()), "{backend}: row ({b}, {i}) finite");
                let seq = b / heads;
                let kept: Vec<bool> = (0..l).map(|j| j <= i && mask[seq * l + j] != 0.0).collect();
                for j in 0..l {
                    if !kept[j] {
                        assert_eq!(row[j], 0.0, "{backend}: masked ({b}, {i}, {j})");
                    }
                }
                let total: f32 = row.iter().sum();
                if kept.iter().any(|&k| k) {
                    assert!((total - 1.0).abs() < 1e-5, "{backend}: row ({b}, {i}) sums to {total}");
                } else {
                    assert_eq!(total, 0.0, "{backend}: fully masked row ({b}, {i})");
                }
            }
        }
    };
    let cy = Cpu.masked_softmax(&Cpu.tensor(&x, &[n, l, l]).unwrap(), Some(&Cpu.tensor(&mask, &[2, l]).unwrap()), true);
    let cyv = Cpu.read(&cy).unwrap();
    check_rows(&cyv, "cpu");
    // Its gradient is 0 on fully masked rows too.
    let dx =
        Cpu.read(&Cpu.masked_softmax_backward(&cy, &Cpu.tensor(&rand_vec(6, n * l * l), &[n, l, l]).unwrap())).unwrap();
    assert!(dx[2 * l * l..].iter().all(|&v| v == 0.0), "no gradient through a padded sequence");
    assert!(dx[..2 * l].iter().all(|&v| v == 0.0), "no gradient into rows that see only padding");
    if let Some(gpu) = common::gpu() {
        let gy =
            gpu.masked_softmax(&gpu.tensor(&x, &[n, l, l]).unwrap(), Some(&gpu.tensor(&mask, &[2, l]).unwrap()), true);
        check_rows(&gpu.read(&gy).unwrap(), "gpu");
    }
}

/// Without a mask the op is the plain softmax; with an all-ones key mask
/// and `causal` the entries past the diagonal are dropped.
#[test]
fn unmasked_is_softmax() {
    let (n, l) = (3, 5);
    let x = Cpu.tensor(&rand_vec(9, n * l * l), &[n, l, l]).unwrap();
    let plain = Cpu.read(&Cpu.softmax(&x)).unwrap();
    assert_eq!(Cpu.read(&Cpu.masked_softmax(&x, None, false)).unwrap(), plain);
    let ones = Cpu.full(&[n, l], 1.0);
    assert_eq!(Cpu.read(&Cpu.masked_softmax(&x, Some(&ones), false)).unwrap(), plain);
    let causal = Cpu.read(&Cpu.masked_softmax(&x, Some(&ones), true)).unwrap();
    let xs = Cpu.read(&x).unwrap();
    for r in 0..n * l {
        let i = r % l;
        let row = &xs[r * l..r * l + i + 1];
        let mx = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let z: f32 = row.iter().map(|v| (v - mx).exp()).sum();
        let want: Vec<f32> = (0..l).map(|j| if j <= i { (xs[r * l + j] - mx).exp() / z } else { 0.0 }).collect();
        assert_close(&format!("row {r}"), &causal[r * l..(r + 1) * l], &want, EXACTISH);
    }
}

/// Central differences of `L = Σ y·r` against `masked_softmax_backward` with
/// `dy = r`, over every score (masked ones included: their gradient is 0).
#[test]
fn backward_matches_finite_differences() {
    for (n, l, m) in [(2usize, 4usize, 1usize), (4, 3, 2), (1, 1, 1)] {
        let x = rand_vec(20 + n as u64, n * l * l);
        let r = rand_vec(30 + n as u64, n * l * l);
        let mut mv = vec![1.0f32; m * l];
        mv[0] = 0.0;
        let mask = Cpu.tensor(&mv, &[m, l]).unwrap();
        let fwd = |x: &[f32]| Cpu.masked_softmax(&Cpu.tensor(x, &[n, l, l]).unwrap(), Some(&mask), true);
        let y = fwd(&x);
        let dx = Cpu.read(&Cpu.masked_softmax_backward(&y, &Cpu.tensor(&r, &[n, l, l]).unwrap())).unwrap();
        check_fd(&format!("dx n={n} l={l}"), &x, &dx, false, &|x| common::dot(&Cpu.read(&fwd(x)).unwrap(), &r));
    }
}

/// A whole masked attention `out = masked_softmax(Q·Kᵀ·s)·V` on `[n, l, dh]`
/// operands, its backward composed from the batched matmul's:
/// dP = dout·Vᵀ, dV = Pᵀ·dout, dS = s·masked_softmax_backward(P, dP),
/// dQ = dS·K, dK = dSᵀ·Q — checked against central differences.
#[test]
fn attention_backward_matches_finite_differences() {
    let (seqs, heads, l, dh) = (2usize, 2usize, 4usize, 3usize);
    let n = seqs * heads;
    let scale = 1.0 / (dh as f32).sqrt();
    let q = rand_vec(1, n * l * dh);
    let k = rand_vec(2, n * l * dh);
    let v = rand_vec(3, n * l * dh);
    let r = rand_vec(4, n * l * dh);
    let mask = Cpu.tensor(&[0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0], &[seqs, l]).unwrap();
    let t = |x: &[f32]| Cpu.tensor(x, &[n, l, dh]).unwrap();
    let forward = |q: &[f32], k: &[f32], v: &[f32]| {
        let s = Cpu.matmul(&t(q), &t(k), false, true, None, Act::Identity);
        let p = Cpu.masked_softmax(&Cpu.scale(&s, scale, 0.0), Some(&mask), true);
        let out = Cpu.matmul(&p, &t(v), false, false, None, Act::Identity);
        (p, out)
    };
    let loss = |q: &[f32], k: &[f32], v: &[f32]| common::dot(&Cpu.read(&forward(q, k, v).1).unwrap(), &r);
    let (p, out) = forward(&q, &k, &v);
    assert_eq!(out.dims(), &[n, l, dh]);
    let dout = t(&r);
    let dp = Cpu.matmul(&dout, &t(&v), false, true, None, Act::Identity);
    let dv = Cpu.matmul(&p, &dout, true, false, None, Act::Identity);
    let ds = Cpu.scale(&Cpu.masked_softmax_backward(&p, &dp), scale, 0.0);
    let dq = Cpu.matmul(&ds, &t(&k), false, false, None, Act::Identity);
    let dk = Cpu.matmul(&ds, &t(&q), true, false, None, Act::Identity);
    let rd = |x| Cpu.read(x).unwrap();
    check_fd("dq", &q, &rd(&dq), false, &|x| loss(x, &k, &v));
    check_fd("dk", &k, &rd(&dk), false, &|x| loss(&q, x, &v));
    check_fd("dv", &v, &rd(&dv), false, &|x| loss(&q, &k, x));
}

#[test]
#[should_panic(expected = "masked_softmax: key_mask must be [m, 4]")]
fn mask_shape_mismatch_panics() {
    let _ = Cpu.masked_softmax(&Cpu.zeros(&[4, 4, 4]), Some(&Cpu.zeros(&[3, 4])), true);
}

#[test]
#[should_panic(expected = "masked_softmax: x must be [n, lq, lk]")]
fn rank_mismatch_panics() {
    let _ = Cpu.masked_softmax(&Cpu.zeros(&[4, 4]), None, true);
}
