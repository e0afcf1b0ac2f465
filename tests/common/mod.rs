//! Shared test support: one GPU context per test process, seeded inputs,
//! the shapes every parity test crosses, and named tolerances.
#![allow(dead_code)]

use std::sync::OnceLock;

use gpurec::{Backend, Cpu, Gpu};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The process's GPU context, or `None` (with a note) when no adapter exists.
/// With `REQUIRE_GPU=1` a missing adapter fails the test instead.
pub fn gpu() -> Option<Gpu> {
    static GPU: OnceLock<Option<Gpu>> = OnceLock::new();
    GPU.get_or_init(|| match Gpu::new() {
        Ok(g) => {
            eprintln!("testing on {}", g.describe());
            Some(g)
        }
        Err(e) => {
            if std::env::var("REQUIRE_GPU").as_deref() == Ok("1") {
                panic!("REQUIRE_GPU=1 but no GPU context: {e}");
            }
            eprintln!("SKIPPING GPU part of test: {e}");
            None
        }
    })
    .clone()
}

/// Sizes that cross workgroup boundaries: 1, primes, and just past 64 and 256.
pub const SIZES: &[usize] = &[1, 2, 7, 13, 65, 257];

/// `|got − want| ≤ abs + rel · max(|got|, |want|)`.
#[derive(Clone, Copy, Debug)]
pub struct Tol {
    pub abs: f32,
    pub rel: f32,
}

/// Same op order on both sides: only rounding of transcendental functions differs.
pub const EXACTISH: Tol = Tol { abs: 1e-6, rel: 1e-5 };
/// Sums whose order differs between backends (matmul, convolutions).
pub const SUMS: Tol = Tol { abs: 1e-5, rel: 1e-4 };

/// Asserts two slices agree within `tol`, naming the first offending element.
pub fn assert_close(what: &str, got: &[f32], want: &[f32], tol: Tol) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        if g == w || (g.is_nan() && w.is_nan()) {
            continue;
        }
        let bound = tol.abs + tol.rel * g.abs().max(w.abs());
        assert!((g - w).abs() <= bound, "{what}[{i}]: got {g}, want {w} (|diff| {} > {bound})", (g - w).abs());
    }
}

/// Seeded uniform values in [-1, 1).
pub fn rand_vec(seed: u64, n: usize) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

/// Seeded integers in [0, bound).
pub fn rand_ints(seed: u64, n: usize, bound: u32) -> Vec<u32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(0..bound)).collect()
}

/// Uploads the same data to both backends.
pub fn both(gpu: &Gpu, data: &[f32], shape: &[usize]) -> (<Cpu as Backend>::Tensor, <Gpu as Backend>::Tensor) {
    (Cpu.tensor(data, shape).unwrap(), gpu.tensor(data, shape).unwrap())
}

/// Reads both and compares.
pub fn check(what: &str, gpu: &Gpu, got: &<Gpu as Backend>::Tensor, want: &<Cpu as Backend>::Tensor, tol: Tol) {
    use gpurec::backend::Shaped;
    assert_eq!(got.dims(), want.dims(), "{what}: shapes differ");
    assert_close(what, &gpu.read(got).unwrap(), &Cpu.read(want).unwrap(), tol);
}
