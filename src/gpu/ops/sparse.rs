//! GPU: CSR sparse × dense (`shaders/spmm_csr.wgsl`, `shaders/spmm_csr_rows.wgsl`).

use crate::backend::Csr;
use crate::gpu::{Gpu, GpuIndex, GpuTensor, Shader, WG};

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
    let d = crate::backend::spmm_width("spmm_csr", a, x.shape());
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

/// Uniform of `spmm_csr_rows.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct SpmmRowsParams {
    n: u32,
    d: u32,
    total: u32,
    a_rows: u32,
}

/// `A[rows] · X`: `spmm_csr`'s kernel reading its row through `rows`; one
/// dispatch, no read-back (so out-of-range rows come out NaN, see the shader).
pub(crate) fn spmm_csr_rows(gpu: &Gpu, a: &Csr<Gpu>, rows: &GpuIndex, x: &GpuTensor) -> GpuTensor {
    let p = &a.pattern;
    let d = crate::backend::spmm_width("spmm_csr_rows", a, x.shape());
    let n = rows.len;
    let total = n * d;
    assert!(u32::try_from(total).is_ok(), "spmm_csr_rows: output [{n}, {d}] exceeds u32 indexing");
    let out = gpu.empty(&[n, d]);
    let params = SpmmRowsParams { n: n as u32, d: d as u32, total: total as u32, a_rows: p.rows as u32 };
    gpu.dispatch(
        Shader::SpmmCsrRows,
        "main",
        &[],
        &params,
        &[(1, p.row_ptr.raw()), (2, p.col_idx.raw()), (3, a.vals.raw()), (4, rows.raw()), (5, x.raw()), (6, out.raw())],
        gpu.grid(total as u64, WG),
    );
    out
}
