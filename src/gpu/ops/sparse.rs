//! GPU: CSR sparse × dense (`shaders/spmm_csr.wgsl`).

use crate::backend::Csr;
use crate::gpu::{Gpu, GpuTensor, Shader, WG};

/// Uniform of `spmm_csr.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct SpmmParams {
    rows: u32,
    d: u32,
    total: u32,
    _pad: u32,
}

/// `A · X`: one invocation per output element, summing its row's entries in
/// CSR order (deterministic, no atomics).
pub(crate) fn spmm_csr(gpu: &Gpu, a: &Csr<Gpu>, x: &GpuTensor) -> GpuTensor {
    let p = &a.pattern;
    let d = crate::backend::spmm_width(a, x.shape());
    let total = p.rows * d;
    assert!(u32::try_from(total).is_ok(), "spmm_csr: output [{}, {d}] exceeds u32 indexing", p.rows);
    let out = gpu.empty(&[p.rows, d]);
    let params = SpmmParams { rows: p.rows as u32, d: d as u32, total: total as u32, _pad: 0 };
    gpu.dispatch(
        Shader::SpmmCsr,
        "main",
        &[],
        &params,
        &[(1, p.row_ptr.raw()), (2, p.col_idx.raw()), (3, a.vals.raw()), (4, x.raw()), (5, out.raw())],
        gpu.grid(total as u64, WG),
    );
    out
}
