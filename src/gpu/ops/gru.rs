//! GPU: fused GRU cell step and backward (`shaders/gru_cell.wgsl`), one
//! dispatch each, one invocation per (row, hidden unit).

use crate::backend::{GruGrads, GruStep};
use crate::gpu::{Gpu, GpuTensor, Shader, WG};

/// Uniform of `gru_cell.wgsl` (both entry points).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct GruParams {
    n: u32,
    h: u32,
    has_mask: u32,
    _pad: u32,
}

/// Checks `gates` `[n, 3h]`, each of `wide` `[n, 3h]`, each of `states`
/// `[n, h]` and `mask` `[n]`; returns `(n, h)`.
fn dims(
    op: &str,
    gates: (&str, &GpuTensor),
    wide: &[(&str, &GpuTensor)],
    states: &[(&str, &GpuTensor)],
    mask: Option<&GpuTensor>,
) -> (usize, usize) {
    let (gname, g) = (gates.0, gates.1.shape());
    assert!(g.len() == 2 && g[1].is_multiple_of(3), "{op}: {gname} must be [n, 3h], got {g:?}");
    let (n, h) = (g[0], g[1] / 3);
    for (name, t) in wide {
        assert!(
            t.shape() == [n, 3 * h],
            "{op}: {name} must be [{n}, {}] for {gname} {g:?}, got {:?}",
            3 * h,
            t.shape()
        );
    }
    for (name, t) in states {
        assert!(t.shape() == [n, h], "{op}: {name} must be [{n}, {h}] for {gname} {g:?}, got {:?}", t.shape());
    }
    if let Some(m) = mask {
        assert!(m.shape() == [n], "{op}: mask must be [{n}] for {gname} {g:?}, got {:?}", m.shape());
    }
    assert!(u32::try_from(n * 3 * h).is_ok(), "{op}: {gname} {g:?} exceed u32 indexing");
    (n, h)
}

pub(crate) fn gru_cell(
    gpu: &Gpu,
    gx: &GpuTensor,
    gh: &GpuTensor,
    h_prev: &GpuTensor,
    mask: Option<&GpuTensor>,
) -> GruStep<Gpu> {
    let (n, h) = dims("gru_cell", ("gx", gx), &[("gh", gh)], &[("h_prev", h_prev)], mask);
    let h_out = gpu.empty(&[n, h]);
    let act = gpu.empty(&[n, 3 * h]);
    let params = GruParams { n: n as u32, h: h as u32, has_mask: mask.is_some() as u32, _pad: 0 };
    // Without a mask any read-only buffer fills the binding; the kernel never reads it.
    let mask_buf = mask.unwrap_or(gx);
    gpu.dispatch(
        Shader::GruCell,
        "forward",
        &[],
        &params,
        &[(1, gx.raw()), (2, gh.raw()), (3, h_prev.raw()), (4, mask_buf.raw()), (5, h_out.raw()), (6, act.raw())],
        gpu.grid((n * h) as u64, WG),
    );
    GruStep { h: h_out, gates: act }
}

pub(crate) fn gru_cell_backward(
    gpu: &Gpu,
    step: &GruStep<Gpu>,
    gh: &GpuTensor,
    h_prev: &GpuTensor,
    dh: &GpuTensor,
    mask: Option<&GpuTensor>,
) -> GruGrads<Gpu> {
    let (n, h) =
        dims("gru_cell_backward", ("gates", &step.gates), &[("gh", gh)], &[("h_prev", h_prev), ("dh", dh)], mask);
    let dgx = gpu.empty(&[n, 3 * h]);
    let dgh = gpu.empty(&[n, 3 * h]);
    let dh_prev = gpu.empty(&[n, h]);
    let params = GruParams { n: n as u32, h: h as u32, has_mask: mask.is_some() as u32, _pad: 0 };
    let mask_buf = mask.unwrap_or(&step.gates);
    gpu.dispatch(
        Shader::GruCell,
        "backward",
        &[],
        &params,
        &[
            (1, step.gates.raw()),
            (2, gh.raw()),
            (3, h_prev.raw()),
            (4, dh.raw()),
            (5, mask_buf.raw()),
            (6, dgx.raw()),
            (7, dgh.raw()),
            (8, dh_prev.raw()),
        ],
        gpu.grid((n * h) as u64, WG),
    );
    GruGrads { dgx, dgh, dh_prev }
}
