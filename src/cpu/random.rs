//! CPU reference: dropout, random integers and normal noise from the counter-based generator.

use super::{from_vec, CpuIndex, CpuTensor};
use crate::rng::Stream;

/// Inverted dropout: element `i` is kept when `rng_f32(seed, i) >= p`.
pub fn dropout(x: &CpuTensor, p: f32, seed: u64) -> CpuTensor {
    assert!((0.0..1.0).contains(&p), "dropout: p = {p} outside [0, 1)");
    let scale = 1.0 / (1.0 - p);
    let x = super::dense::standard(x);
    let xs = x.as_slice().unwrap();
    let mut out = vec![0f32; xs.len()];
    let stream = Stream::new(seed);
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        unsafe { dropout_avx2(xs, &mut out, stream, p, scale) };
        return from_vec(out, x.shape());
    }
    dropout_into(xs, &mut out, stream, p, scale);
    from_vec(out, x.shape())
}

/// The dropout loop: integer hashing, a compare and a select per element,
/// which the compiler vectorises where the target allows (the same values
/// on every path: no float operation is reordered or contracted).
#[inline(always)]
fn dropout_into(xs: &[f32], out: &mut [f32], stream: Stream, p: f32, scale: f32) {
    for (i, (o, &v)) in out.iter_mut().zip(xs).enumerate() {
        *o = if stream.f32(i as u32) >= p { v * scale } else { 0.0 };
    }
}

/// [`dropout_into`] compiled for AVX2 (8 lanes of 32-bit multiplies and
/// variable shifts), chosen at run time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dropout_avx2(xs: &[f32], out: &mut [f32], stream: Stream, p: f32, scale: f32) {
    dropout_into(xs, out, stream, p, scale)
}

/// `n` integers in `[0, bound)`.
pub fn random_ints(n: usize, bound: u32, seed: u64) -> CpuIndex {
    assert!(bound > 0, "random_ints: bound 0");
    let stream = Stream::new(seed);
    CpuIndex::from((0..n as u32).map(|i| stream.u32(i) % bound).collect::<Vec<_>>())
}

/// N(0, 1) noise by Box–Muller ([`crate::Backend::normal`]), in the
/// operation order of `shaders/normal.wgsl`.
pub fn normal(shape: &[usize], seed: u64) -> CpuTensor {
    let n: usize = shape.iter().product();
    assert!(u32::try_from(n).is_ok(), "normal: {shape:?} exceeds u32 indexing");
    let stream = Stream::new(seed);
    let data = (0..n as u32)
        .map(|i| {
            let k = i & !1;
            let u1 = ((stream.u32(k) >> 8) + 1) as f32 * (1.0 / 16_777_216.0);
            let u2 = stream.f32(k + 1);
            let r = (-2.0 * u1.ln()).sqrt();
            let t = std::f32::consts::TAU * u2;
            if i & 1 == 0 {
                r * t.cos()
            } else {
                r * t.sin()
            }
        })
        .collect();
    from_vec(data, shape)
}
