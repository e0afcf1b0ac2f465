//! CPU reference: layer norm over the last axis and its backward.
//!
//! Mirrors `shaders/layer_norm.wgsl` expression for expression: the per-row
//! sums use [`tree_sum`] (the GPU's strided partials and halving tree), the
//! parameter gradients sum over rows in row order, so the two backends differ
//! only in the rounding of `sqrt`.

use super::dense::tree_sum;
use super::{from_vec, Cpu, CpuTensor};
use crate::backend::{layer_norm_shape, LayerNormGrads, LayerNormStep};

/// Row-major contents of `t` (borrowed when already contiguous).
fn slice(t: &CpuTensor) -> std::borrow::Cow<'_, [f32]> {
    match t.as_slice() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(t.iter().copied().collect()),
    }
}

/// `y = (x − mean)·rstd·gamma + beta` per row of `x` `[.., d]`; saves
/// `[mean, rstd]` per row.
pub fn layer_norm(x: &CpuTensor, gamma: &CpuTensor, beta: &CpuTensor, eps: f32) -> LayerNormStep<Cpu> {
    let (rows, d) =
        layer_norm_shape("layer_norm", x.shape(), &[("gamma", gamma.shape()), ("beta", beta.shape())], &[], None);
    let (xs, g, b) = (slice(x), slice(gamma), slice(beta));
    let mut y = vec![0f32; rows * d];
    let mut stats = vec![0f32; rows * 2];
    for r in 0..rows {
        let row = &xs[r * d..(r + 1) * d];
        let mean = tree_sum(row.iter().copied()) / d as f32;
        let var = tree_sum(row.iter().map(|&v| {
            let c = v - mean;
            c * c
        })) / d as f32;
        let rstd = 1.0 / (var + eps).sqrt();
        for j in 0..d {
            y[r * d + j] = (row[j] - mean) * rstd * g[j] + b[j];
        }
        stats[2 * r] = mean;
        stats[2 * r + 1] = rstd;
    }
    LayerNormStep { y: from_vec(y, x.shape()), stats: from_vec(stats, &[rows, 2]) }
}

/// Backward of [`layer_norm`]: with x̂ = (x − mean)·rstd and g = dy·gamma,
/// dx = rstd·(g − Σg/d − x̂·Σ(g·x̂)/d); dgamma = Σ_rows dy·x̂, dbeta = Σ_rows dy
/// (rows in order).
pub fn layer_norm_backward(
    step: &LayerNormStep<Cpu>,
    x: &CpuTensor,
    gamma: &CpuTensor,
    dy: &CpuTensor,
) -> LayerNormGrads<Cpu> {
    let (rows, d) = layer_norm_shape(
        "layer_norm_backward",
        x.shape(),
        &[("gamma", gamma.shape())],
        &[("dy", dy.shape())],
        Some(step.stats.shape()),
    );
    let (xs, g, dys, st) = (slice(x), slice(gamma), slice(dy), slice(&step.stats));
    let mut dx = vec![0f32; rows * d];
    for r in 0..rows {
        let (mean, rstd) = (st[2 * r], st[2 * r + 1]);
        let (xr, dr) = (&xs[r * d..(r + 1) * d], &dys[r * d..(r + 1) * d]);
        let s1 = tree_sum((0..d).map(|j| dr[j] * g[j])) / d as f32;
        let s2 = tree_sum((0..d).map(|j| dr[j] * g[j] * ((xr[j] - mean) * rstd))) / d as f32;
        for j in 0..d {
            let xhat = (xr[j] - mean) * rstd;
            dx[r * d + j] = rstd * (dr[j] * g[j] - s1 - xhat * s2);
        }
    }
    let mut dgamma = vec![0f32; d];
    let mut dbeta = vec![0f32; d];
    for j in 0..d {
        let (mut sg, mut sb) = (0f32, 0f32);
        for r in 0..rows {
            let xhat = (xs[r * d + j] - st[2 * r]) * st[2 * r + 1];
            let dv = dys[r * d + j];
            sg += dv * xhat;
            sb += dv;
        }
        dgamma[j] = sg;
        dbeta[j] = sb;
    }
    LayerNormGrads { dx: from_vec(dx, x.shape()), dgamma: from_vec(dgamma, &[d]), dbeta: from_vec(dbeta, &[d]) }
}
