//! GPU: fused LSTM cell step and backward (`shaders/lstm_cell.wgsl`), one
//! dispatch each, one invocation per (row, hidden unit).

use crate::backend::{LstmGrads, LstmStep};
use crate::gpu::{Gpu, GpuTensor, Shader, WG};

/// Uniform of `lstm_cell.wgsl` (both entry points).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct LstmParams {
    n: u32,
    h: u32,
    has_mask: u32,
    _pad: u32,
}

/// Checks `gates` `[n, 4h]`, each of `states` `[n, h]` and `mask` `[n]`; returns `(n, h)`.
fn dims(op: &str, gates: &GpuTensor, states: &[(&str, &GpuTensor)], mask: Option<&GpuTensor>) -> (usize, usize) {
    let g = gates.shape();
    assert!(g.len() == 2 && g[1].is_multiple_of(4), "{op}: gates must be [n, 4h], got {g:?}");
    let (n, h) = (g[0], g[1] / 4);
    for (name, t) in states {
        assert!(t.shape() == [n, h], "{op}: {name} must be [{n}, {h}] for gates {g:?}, got {:?}", t.shape());
    }
    if let Some(m) = mask {
        assert!(m.shape() == [n], "{op}: mask must be [{n}] for gates {g:?}, got {:?}", m.shape());
    }
    assert!(u32::try_from(n * 4 * h).is_ok(), "{op}: gates {g:?} exceed u32 indexing");
    (n, h)
}

pub(crate) fn lstm_cell(
    gpu: &Gpu,
    gates: &GpuTensor,
    h_prev: &GpuTensor,
    c_prev: &GpuTensor,
    mask: Option<&GpuTensor>,
) -> LstmStep<Gpu> {
    let (n, h) = dims("lstm_cell", gates, &[("h_prev", h_prev), ("c_prev", c_prev)], mask);
    let h_out = gpu.empty(&[n, h]);
    let c_out = gpu.empty(&[n, h]);
    let act = gpu.empty(&[n, 4 * h]);
    let params = LstmParams { n: n as u32, h: h as u32, has_mask: mask.is_some() as u32, _pad: 0 };
    // Without a mask any read-only buffer fills the binding; the kernel never reads it.
    let mask_buf = mask.unwrap_or(gates);
    gpu.dispatch(
        Shader::LstmCell,
        "forward",
        &[],
        &params,
        &[
            (1, gates.raw()),
            (2, h_prev.raw()),
            (3, c_prev.raw()),
            (4, mask_buf.raw()),
            (5, h_out.raw()),
            (6, c_out.raw()),
            (7, act.raw()),
        ],
        gpu.grid((n * h) as u64, WG),
    );
    LstmStep { h: h_out, c: c_out, gates: act }
}

pub(crate) fn lstm_cell_backward(
    gpu: &Gpu,
    step: &LstmStep<Gpu>,
    c_prev: &GpuTensor,
    dh: &GpuTensor,
    dc: &GpuTensor,
    mask: Option<&GpuTensor>,
) -> LstmGrads<Gpu> {
    let (n, h) = dims("lstm_cell_backward", &step.gates, &[("c_prev", c_prev), ("dh", dh), ("dc", dc)], mask);
    let dgates = gpu.empty(&[n, 4 * h]);
    let dc_prev = gpu.empty(&[n, h]);
    let dh_skip = gpu.empty(&[n, h]);
    let params = LstmParams { n: n as u32, h: h as u32, has_mask: mask.is_some() as u32, _pad: 0 };
    let mask_buf = mask.unwrap_or(&step.gates);
    gpu.dispatch(
        Shader::LstmCell,
        "backward",
        &[],
        &params,
        &[
            (1, step.gates.raw()),
            (2, c_prev.raw()),
            (3, dh.raw()),
            (4, dc.raw()),
            (5, mask_buf.raw()),
            (6, dgates.raw()),
            (7, dc_prev.raw()),
            (8, dh_skip.raw()),
        ],
        gpu.grid((n * h) as u64, WG),
    );
    LstmGrads { dgates, dc_prev, dh_skip }
}
