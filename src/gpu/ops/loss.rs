//! GPU losses: per-example loss and gradient kernels, then a mean by `reduce`.

use bytemuck::{Pod, Zeroable};

use super::dense::reduce_rows;
use crate::backend::{Backend, Reduce};
use crate::gpu::{Gpu, GpuIndex, GpuTensor, Shader, WG};

/// Pointwise loss kinds (codes of `shaders/loss.wgsl`).
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    Mse = 0,
    Bce = 1,
    Bpr = 2,
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct LossParams {
    n: u32,
    c: u32,
    kind: u32,
    inv_n: f32,
}

fn mean(gpu: &Gpu, per_example: &GpuTensor) -> GpuTensor {
    let n = per_example.len();
    reduce_rows(gpu, &gpu.reshape(per_example, &[1, n]), Reduce::Mean)
}

/// (mean loss `[1]`, gradient) of a pointwise loss.
pub(crate) fn pointwise(gpu: &Gpu, kind: Kind, a: &GpuTensor, b: &GpuTensor) -> (GpuTensor, GpuTensor) {
    assert_eq!(a.shape, b.shape, "loss: shapes differ");
    let n = a.len();
    let per = gpu.empty(&[n]);
    let grad = gpu.empty(&a.shape);
    let params = LossParams { n: n as u32, c: 1, kind: kind as u32, inv_n: 1.0 / n.max(1) as f32 };
    gpu.dispatch(
        Shader::Loss,
        "pointwise",
        &[],
        &params,
        &[(1, a.raw()), (2, b.raw()), (3, per.raw()), (4, grad.raw())],
        gpu.grid(n as u64, WG),
    );
    (mean(gpu, &per), grad)
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct TripleParams {
    n: u32,
    d: u32,
    inv_n: f32,
    reg_n: f32,
}

/// [`Backend::bpr_triples`]: `shaders/bpr_triples.wgsl`, then the mean.
pub(crate) fn bpr_triples(
    gpu: &Gpu,
    user: &GpuTensor,
    item: &GpuTensor,
    idx: &GpuIndex,
    reg: f32,
) -> (GpuTensor, GpuTensor, GpuTensor) {
    let d = crate::backend::bpr_triples_width(&user.shape, &item.shape, idx.len);
    let n = idx.len / 3;
    let terms = gpu.empty(&[n]);
    let (d_user, d_item) = (gpu.empty(&[n, d]), gpu.empty(&[2 * n, d]));
    let inv_n = 1.0 / n.max(1) as f32;
    let params = TripleParams { n: n as u32, d: d as u32, inv_n, reg_n: reg * inv_n };
    gpu.dispatch(
        Shader::BprTriples,
        "main",
        &[],
        &params,
        &[(1, user.raw()), (2, item.raw()), (3, idx.raw()), (4, terms.raw()), (5, d_user.raw()), (6, d_item.raw())],
        gpu.grid(n as u64, WG),
    );
    (mean(gpu, &terms), d_user, d_item)
}

/// [`Backend::mf_residuals`]: `shaders/mf_residuals.wgsl`, then the mean.
pub(crate) fn mf_residuals(
    gpu: &Gpu,
    factors: &GpuTensor,
    biases: &GpuTensor,
    idx: &GpuIndex,
    target: &GpuTensor,
) -> (GpuTensor, GpuTensor) {
    let (n, d) = crate::backend::mf_residuals_shape(&factors.shape, &biases.shape, idx.len, &target.shape);
    let (terms, grad) = (gpu.empty(&[n]), gpu.empty(&[n]));
    let params = TripleParams { n: n as u32, d: d as u32, inv_n: 1.0 / n.max(1) as f32, reg_n: 0.0 };
    gpu.dispatch(
        Shader::MfResiduals,
        "main",
        &[],
        &params,
        &[(1, factors.raw()), (2, biases.raw()), (3, idx.raw()), (4, target.raw()), (5, terms.raw()), (6, grad.raw())],
        gpu.grid(n as u64, WG),
    );
    (mean(gpu, &terms), grad)
}

/// Softmax cross-entropy against class indices.
pub(crate) fn softmax_cross_entropy(gpu: &Gpu, logits: &GpuTensor, target: &GpuIndex) -> (GpuTensor, GpuTensor) {
    assert_eq!(logits.shape.len(), 2, "softmax_cross_entropy: logits {:?}", logits.shape);
    let (n, c) = (logits.shape[0], logits.shape[1]);
    assert_eq!(target.len, n, "softmax_cross_entropy: {} targets for {n} rows", target.len);
    let per = gpu.empty(&[n]);
    let grad = gpu.empty(&[n, c]);
    let params = LossParams { n: n as u32, c: c as u32, kind: 0, inv_n: 1.0 / n.max(1) as f32 };
    gpu.dispatch(
        Shader::Loss,
        "softmax_ce",
        &[],
        &params,
        &[(1, logits.raw()), (5, target.raw()), (3, per.raw()), (4, grad.raw())],
        gpu.grid(n as u64, 1),
    );
    (mean(gpu, &per), grad)
}
