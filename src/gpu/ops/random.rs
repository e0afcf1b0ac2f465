//! GPU dropout, random integers and normal noise from the counter-based generator.

use bytemuck::{Pod, Zeroable};

use crate::gpu::{Gpu, GpuIndex, GpuTensor, Shader, WG};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct RandomParams {
    n: u32,
    seed_lo: u32,
    seed_hi: u32,
    bound: u32,
    prob: f32,
    scale: f32,
    _pad: [u32; 2],
}

/// Inverted dropout.
pub(crate) fn dropout(gpu: &Gpu, x: &GpuTensor, p: f32, seed: u64) -> GpuTensor {
    assert!((0.0..1.0).contains(&p), "dropout: p = {p} outside [0, 1)");
    let out = gpu.empty(&x.shape);
    let params = RandomParams {
        n: x.len() as u32,
        seed_lo: seed as u32,
        seed_hi: (seed >> 32) as u32,
        bound: 0,
        prob: p,
        scale: 1.0 / (1.0 - p),
        _pad: [0; 2],
    };
    gpu.dispatch(
        Shader::Dropout,
        "dropout",
        &[],
        &params,
        &[(1, x.raw()), (2, out.raw())],
        gpu.grid(x.len() as u64, WG),
    );
    out
}

/// `n` integers in `[0, bound)`.
pub(crate) fn random_ints(gpu: &Gpu, n: usize, bound: u32, seed: u64) -> GpuIndex {
    assert!(bound > 0, "random_ints: bound 0");
    let out = gpu.empty_index(n);
    let params = RandomParams {
        n: n as u32,
        seed_lo: seed as u32,
        seed_hi: (seed >> 32) as u32,
        bound,
        prob: 0.0,
        scale: 1.0,
        _pad: [0; 2],
    };
    gpu.dispatch(Shader::Dropout, "random_ints", &[], &params, &[(3, out.raw())], gpu.grid(n as u64, WG));
    out
}

/// N(0, 1) noise of `shape` (`shaders/normal.wgsl`), one element per invocation.
pub(crate) fn normal(gpu: &Gpu, shape: &[usize], seed: u64) -> GpuTensor {
    let n: usize = shape.iter().product();
    assert!(u32::try_from(n).is_ok(), "normal: {shape:?} exceeds u32 indexing");
    let out = gpu.empty(shape);
    let params = RandomParams {
        n: n as u32,
        seed_lo: seed as u32,
        seed_hi: (seed >> 32) as u32,
        bound: 0,
        prob: 0.0,
        scale: 1.0,
        _pad: [0; 2],
    };
    gpu.dispatch(Shader::Normal, "main", &[], &params, &[(1, out.raw())], gpu.grid(n as u64, WG));
    out
}
