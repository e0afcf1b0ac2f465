//! GPU: layer norm over the last axis and its backward
//! (`shaders/layer_norm.wgsl`): one dispatch forward (a workgroup per row),
//! two backward (a workgroup per row for dx, an invocation per column for
//! dgamma and dbeta).

use crate::backend::{layer_norm_shape, LayerNormGrads, LayerNormStep};
use crate::gpu::{Gpu, GpuTensor, Shader, WG};

/// Uniform of `layer_norm.wgsl` (every entry point).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct LayerNormParams {
    rows: u32,
    d: u32,
    eps: f32,
    _pad: u32,
}

fn params(op: &str, rows: usize, d: usize, eps: f32) -> LayerNormParams {
    assert!(u32::try_from(rows * d.max(2)).is_ok(), "{op}: [{rows}, {d}] exceeds u32 indexing");
    LayerNormParams { rows: rows as u32, d: d as u32, eps, _pad: 0 }
}

pub(crate) fn layer_norm(
    gpu: &Gpu,
    x: &GpuTensor,
    gamma: &GpuTensor,
    beta: &GpuTensor,
    eps: f32,
) -> LayerNormStep<Gpu> {
    let (rows, d) =
        layer_norm_shape("layer_norm", x.shape(), &[("gamma", gamma.shape()), ("beta", beta.shape())], &[], None);
    let y = gpu.empty(x.shape());
    let stats = gpu.empty(&[rows, 2]);
    gpu.dispatch(
        Shader::LayerNorm,
        "forward",
        &[],
        &params("layer_norm", rows, d, eps),
        &[(1, x.raw()), (2, gamma.raw()), (3, beta.raw()), (4, y.raw()), (5, stats.raw())],
        gpu.grid(rows as u64, 1),
    );
    LayerNormStep { y, stats }
}

pub(crate) fn layer_norm_backward(
    gpu: &Gpu,
    step: &LayerNormStep<Gpu>,
    x: &GpuTensor,
    gamma: &GpuTensor,
    dy: &GpuTensor,
) -> LayerNormGrads<Gpu> {
    let (rows, d) = layer_norm_shape(
        "layer_norm_backward",
        x.shape(),
        &[("gamma", gamma.shape())],
        &[("dy", dy.shape())],
        Some(step.stats.shape()),
    );
    let p = params("layer_norm_backward", rows, d, 0.0);
    let dx = gpu.empty(x.shape());
    let dgamma = gpu.empty(&[d]);
    let dbeta = gpu.empty(&[d]);
    gpu.dispatch(
        Shader::LayerNorm,
        "backward_dx",
        &[],
        &p,
        &[(1, x.raw()), (2, gamma.raw()), (3, step.stats.raw()), (4, dy.raw()), (5, dx.raw())],
        gpu.grid(rows as u64, 1),
    );
    gpu.dispatch(
        Shader::LayerNorm,
        "backward_params",
        &[],
        &p,
        &[(1, x.raw()), (2, step.stats.raw()), (3, dy.raw()), (4, dgamma.raw()), (5, dbeta.raw())],
        gpu.grid(d as u64, WG),
    );
    LayerNormGrads { dx, dgamma, dbeta }
}
