//! Counter-based randomness (dropout, random integers) and top-K with masks.

mod common;

use common::*;
use gpurec::sparse::CsrHost;
use gpurec::{Backend, Cpu};

#[test]
fn dropout_matches_cpu_bit_for_bit() {
    let Some(gpu) = gpu() else { return };
    for &n in SIZES {
        let (xc, xg) = both(&gpu, &rand_vec(1, n), &[n]);
        for &(p, seed) in &[(0.0, 1u64), (0.5, 7), (0.9, u64::MAX - 3)] {
            let want = Cpu.read(&Cpu.dropout(&xc, p, seed)).unwrap();
            let got = gpu.read(&gpu.dropout(&xg, p, seed)).unwrap();
            assert_eq!(got, want, "dropout n={n} p={p} seed={seed}");
        }
    }
}

#[test]
fn dropout_keeps_about_one_minus_p() {
    let x = Cpu.full(&[10_000], 1.0);
    let y = Cpu.dropout(&x, 0.3, 42);
    let kept = y.iter().filter(|&&v| v != 0.0).count() as f32 / 10_000.0;
    assert!((kept - 0.7).abs() < 0.02, "kept {kept}");
    let mean: f32 = y.iter().sum::<f32>() / 10_000.0;
    assert!((mean - 1.0).abs() < 0.05, "inverted dropout keeps the mean: {mean}");
}

#[test]
fn random_ints_match_cpu_and_cover_the_range() {
    let Some(gpu) = gpu() else { return };
    for &(n, bound) in &[(1, 1), (257, 13), (1000, 1682)] {
        let want = Cpu.read_index(&Cpu.random_ints(n, bound, 99)).unwrap();
        let got = gpu.read_index(&gpu.random_ints(n, bound, 99)).unwrap();
        assert_eq!(got, want, "random_ints n={n} bound={bound}");
        assert!(got.iter().all(|&v| v < bound));
    }
    let v = Cpu.read_index(&Cpu.random_ints(5000, 10, 3)).unwrap();
    for b in 0..10 {
        let c = v.iter().filter(|&&x| x == b).count();
        assert!((400..600).contains(&c), "bucket {b}: {c}");
    }
}

#[test]
fn topk_masked_hand_case() {
    let scores = Cpu.tensor(&[0.5, 0.9, 0.9, 0.1, f32::NAN, 0.3], &[1, 6]).unwrap();
    let (c, v) = Cpu.topk_masked(&scores, 3, None);
    assert_eq!(c.to_vec(), vec![1, 2, 0], "ties go to the lower column");
    assert_eq!(v.iter().copied().collect::<Vec<_>>(), vec![0.9, 0.9, 0.5]);
    let mask = Cpu.pattern(&CsrHost::from_triplets(1, 6, &[(0, 1, 1.0), (0, 0, 1.0)])).unwrap();
    let (c, _) = Cpu.topk_masked(&scores, 3, Some(&mask));
    assert_eq!(c.to_vec(), vec![2, 5, 3]);
    let (c, v) = Cpu.topk_masked(&Cpu.tensor(&[1.0, 2.0], &[1, 2]).unwrap(), 3, None);
    assert_eq!(c.to_vec(), vec![1, 0, u32::MAX], "short rows are padded");
    assert_eq!(v[[0, 2]], f32::NEG_INFINITY);
}

#[test]
fn topk_masked_matches_cpu() {
    let Some(gpu) = gpu() else { return };
    for &(n, m, k) in &[(1, 1, 1), (3, 7, 10), (13, 257, 10), (5, 1000, 20), (2, 300, 0)] {
        // Scores with ties: quantised.
        let scores: Vec<f32> = rand_vec(m as u64, n * m).iter().map(|v| (v * 20.0).round()).collect();
        let (sc, sg) = both(&gpu, &scores, &[n, m]);
        let mut trip = Vec::new();
        for (i, c) in rand_ints(7, n * m / 3, m as u32).into_iter().enumerate() {
            trip.push(((i % n) as u32, c, 1.0));
        }
        let host = CsrHost::from_triplets(n, m, &trip);
        for masked in [false, true] {
            let (pc, pg) = (Cpu.pattern(&host).unwrap(), gpu.pattern(&host).unwrap());
            let (cc, vc) = Cpu.topk_masked(&sc, k, masked.then_some(&pc));
            let (cg, vg) = gpu.topk_masked(&sg, k, masked.then_some(&pg));
            assert_eq!(gpu.read_index(&cg).unwrap(), cc.to_vec(), "topk columns n={n} m={m} k={k} masked={masked}");
            check("topk values", &gpu, &vg, &vc, EXACTISH);
        }
    }
}

#[test]
fn rank_among_hand_case_and_gpu_parity() {
    use gpurec::Among;
    // Row 0 scores; query column 2 (score 0.5) and 4 (0.9).
    let scores = Cpu.tensor(&[0.1, 0.9, 0.5, 0.7, 0.9, 0.3], &[1, 6]).unwrap();
    let q = Cpu.pattern(&CsrHost::from_triplets(1, 6, &[(0, 2, 1.0), (0, 4, 1.0)])).unwrap();
    let ex = Cpu.pattern(&CsrHost::from_triplets(1, 6, &[(0, 3, 1.0)])).unwrap();
    // All but queries: competitors 0, 1, 3, 5. Before 0.5: 1, 3 → 2. Before (0.9, 4): (0.9, 1) → 1.
    assert_eq!(Cpu.rank_among(&scores, &q, Among::AllExcept(None)).to_vec(), vec![2, 1]);
    // Excluding 3 as well: before 0.5 → only 1.
    assert_eq!(Cpu.rank_among(&scores, &q, Among::AllExcept(Some(&ex))).to_vec(), vec![1, 1]);
    let only = Cpu.pattern(&CsrHost::from_triplets(1, 6, &[(0, 0, 1.0), (0, 5, 1.0)])).unwrap();
    assert_eq!(Cpu.rank_among(&scores, &q, Among::Only(&only)).to_vec(), vec![0, 0]);
    // NaN ranks as −∞ (ties then go to the lower column) and −0 ties +0.
    let odd = Cpu.tensor(&[f32::NAN, 0.0, -0.0, f32::NEG_INFINITY, 1.0], &[1, 5]).unwrap();
    let q01 = Cpu.pattern(&CsrHost::from_triplets(1, 5, &[(0, 0, 1.0), (0, 1, 1.0)])).unwrap();
    // Query NaN (col 0): −0 and 1.0 beat it, −∞ at col 3 does not. Query 0.0 (col 1): only 1.0.
    assert_eq!(Cpu.rank_among(&odd, &q01, Among::AllExcept(None)).to_vec(), vec![2, 1]);

    let Some(gpu) = gpu() else { return };
    for &(n, m) in &[(1, 1), (3, 7), (13, 257), (40, 300)] {
        let scores: Vec<f32> = rand_vec(m as u64, n * m).iter().map(|v| (v * 10.0).round()).collect();
        let (sc, sg) = both(&gpu, &scores, &[n, m]);
        let trip = |seed: u64, k: usize| -> CsrHost {
            let t: Vec<(u32, u32, f32)> =
                rand_ints(seed, k, m as u32).into_iter().enumerate().map(|(i, c)| ((i % n) as u32, c, 1.0)).collect();
            CsrHost::from_triplets(n, m, &t)
        };
        let (qh, oh) = (trip(1, n * 2), trip(2, n * 3));
        let (qc, qg) = (Cpu.pattern(&qh).unwrap(), gpu.pattern(&qh).unwrap());
        let (oc, og) = (Cpu.pattern(&oh).unwrap(), gpu.pattern(&oh).unwrap());
        for mode in 0..3 {
            let (want, got) = match mode {
                0 => {
                    (Cpu.rank_among(&sc, &qc, Among::AllExcept(None)), gpu.rank_among(&sg, &qg, Among::AllExcept(None)))
                }
                1 => (
                    Cpu.rank_among(&sc, &qc, Among::AllExcept(Some(&oc))),
                    gpu.rank_among(&sg, &qg, Among::AllExcept(Some(&og))),
                ),
                _ => (Cpu.rank_among(&sc, &qc, Among::Only(&oc)), gpu.rank_among(&sg, &qg, Among::Only(&og))),
            };
            assert_eq!(gpu.read_index(&got).unwrap(), want.to_vec(), "rank_among n={n} m={m} mode={mode}");
        }
    }
}

/// N(0, 1) noise: moments of 200,000 draws, the same numbers for the same
/// seed (different ones for another), and the GPU equal to the CPU up to the
/// rounding of ln, cos and sin, on 1, primes and sizes past a workgroup.
#[test]
fn normal_has_unit_moments_and_is_seeded() {
    let n = 200_000;
    let v = Cpu.read(&Cpu.normal(&[n], 11)).unwrap();
    assert!(v.iter().all(|x| x.is_finite()));
    let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n as f64;
    let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n as f64;
    let skew = v.iter().map(|&x| (x as f64 - mean).powi(3)).sum::<f64>() / n as f64;
    let kurt = v.iter().map(|&x| (x as f64 - mean).powi(4)).sum::<f64>() / n as f64;
    // Standard errors at n = 200,000: mean 0.0022, variance 0.0032, third 0.0055, fourth 0.017.
    assert!(mean.abs() < 0.01, "mean {mean}");
    assert!((var - 1.0).abs() < 0.015, "variance {var}");
    assert!(skew.abs() < 0.03, "third moment {skew}");
    assert!((kurt - 3.0).abs() < 0.1, "fourth moment {kurt}");
    let within = v.iter().filter(|x| x.abs() < 1.0).count() as f64 / n as f64;
    assert!((within - 0.6827).abs() < 0.005, "P(|x| < 1) = {within}");
    // Even and odd elements (cos and sin halves of a draw) are uncorrelated.
    let corr = v.chunks(2).map(|p| p[0] as f64 * p[1] as f64).sum::<f64>() / (n / 2) as f64;
    assert!(corr.abs() < 0.015, "pair correlation {corr}");

    let again = Cpu.read(&Cpu.normal(&[n], 11)).unwrap();
    assert_eq!(again, v, "same seed, same numbers");
    let other = Cpu.read(&Cpu.normal(&[n], 12)).unwrap();
    assert!(other.iter().zip(&v).filter(|(a, b)| a == b).count() < 10, "another seed, other numbers");
    assert_eq!(Cpu.normal(&[4, 5], 11).shape(), &[4, 5]);

    let Some(gpu) = gpu() else { return };
    for &m in SIZES.iter().chain(&[1000]) {
        for seed in [0u64, 11, u64::MAX - 1] {
            let want = Cpu.read(&Cpu.normal(&[m], seed)).unwrap();
            let got = gpu.read(&gpu.normal(&[m], seed)).unwrap();
            // ln, cos and sin are not correctly rounded in WGSL: a few ulps of a value ≲ 5.5.
            assert_close(&format!("normal n={m} seed={seed}"), &got, &want, Tol { abs: 1e-5, rel: 1e-4 });
            assert_eq!(gpu.read(&gpu.normal(&[m], seed)).unwrap(), got, "gpu: same seed, same bits");
        }
    }
}
