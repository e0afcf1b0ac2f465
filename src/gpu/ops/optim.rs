//! GPU optimizer updates, each one fused pass over a parameter buffer.

use bytemuck::{Pod, Zeroable};

use crate::backend::AdamConfig;
use crate::gpu::{Gpu, GpuIndex, GpuTensor, Shader, WG};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct AdamParams {
    n: u32,
    d: u32,
    decoupled: u32,
    _pad0: u32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    wd: f32,
    bc1: f32,
    bc2: f32,
    _pad1: f32,
}

fn adam_params(n: usize, d: usize, cfg: &AdamConfig, step: u32) -> AdamParams {
    let t = step.max(1) as i32;
    AdamParams {
        n: n as u32,
        d: d as u32,
        decoupled: cfg.decoupled as u32,
        _pad0: 0,
        lr: cfg.lr,
        beta1: cfg.beta1,
        beta2: cfg.beta2,
        eps: cfg.eps,
        wd: cfg.weight_decay,
        bc1: 1.0 - cfg.beta1.powi(t),
        bc2: 1.0 - cfg.beta2.powi(t),
        _pad1: 0.0,
    }
}

/// Dense Adam / AdamW.
pub(crate) fn adam(
    gpu: &Gpu,
    p: &mut GpuTensor,
    g: &GpuTensor,
    m: &mut GpuTensor,
    v: &mut GpuTensor,
    cfg: &AdamConfig,
    step: u32,
) {
    assert!(p.len() == g.len() && p.len() == m.len() && p.len() == v.len(), "adam: sizes differ");
    gpu.make_mut(p);
    gpu.make_mut(m);
    gpu.make_mut(v);
    let params = adam_params(p.len(), 1, cfg, step);
    gpu.dispatch(
        Shader::Adam,
        "dense",
        &[],
        &params,
        &[(1, g.raw()), (2, p.raw()), (3, m.raw()), (4, v.raw())],
        gpu.grid(p.len() as u64, WG),
    );
}

/// Lazy Adam over the listed rows.
#[allow(clippy::too_many_arguments)]
pub(crate) fn adam_rows(
    gpu: &Gpu,
    p: &mut GpuTensor,
    rows: &GpuIndex,
    g: &GpuTensor,
    m: &mut GpuTensor,
    v: &mut GpuTensor,
    cfg: &AdamConfig,
    step: u32,
) {
    assert_eq!(p.shape.len(), 2, "adam_rows: table {:?}", p.shape);
    let d = p.shape[1];
    assert_eq!(g.shape, [rows.len, d], "adam_rows: grad {:?} for {} rows of width {d}", g.shape, rows.len);
    assert!(p.len() == m.len() && p.len() == v.len(), "adam_rows: state sizes differ");
    gpu.make_mut(p);
    gpu.make_mut(m);
    gpu.make_mut(v);
    let params = adam_params(g.len(), d, cfg, step);
    gpu.dispatch(
        Shader::Adam,
        "sparse_rows",
        &[],
        &params,
        &[(1, g.raw()), (2, p.raw()), (3, m.raw()), (4, v.raw()), (5, rows.raw())],
        gpu.grid(g.len() as u64, WG),
    );
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct SgdParams {
    n: u32,
    lr: f32,
    momentum: f32,
    wd: f32,
}

/// SGD with momentum.
pub(crate) fn sgd(gpu: &Gpu, p: &mut GpuTensor, g: &GpuTensor, vel: &mut GpuTensor, lr: f32, momentum: f32, wd: f32) {
    assert!(p.len() == g.len() && p.len() == vel.len(), "sgd: sizes differ");
    gpu.make_mut(p);
    gpu.make_mut(vel);
    let params = SgdParams { n: p.len() as u32, lr, momentum, wd };
    gpu.dispatch(
        Shader::Sgd,
        "main",
        &[],
        &params,
        &[(1, g.raw()), (2, p.raw()), (3, vel.raw())],
        gpu.grid(p.len() as u64, WG),
    );
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct AdagradParams {
    n: u32,
    lr: f32,
    eps: f32,
    wd: f32,
}

/// Adagrad with L2 weight decay.
pub(crate) fn adagrad(gpu: &Gpu, p: &mut GpuTensor, g: &GpuTensor, accum: &mut GpuTensor, lr: f32, eps: f32, wd: f32) {
    assert!(p.len() == g.len() && p.len() == accum.len(), "adagrad: sizes differ");
    gpu.make_mut(p);
    gpu.make_mut(accum);
    let params = AdagradParams { n: p.len() as u32, lr, eps, wd };
    gpu.dispatch(
        Shader::Adagrad,
        "main",
        &[],
        &params,
        &[(1, g.raw()), (2, p.raw()), (3, accum.raw())],
        gpu.grid(p.len() as u64, WG),
    );
}
