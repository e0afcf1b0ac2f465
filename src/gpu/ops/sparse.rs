//! GPU: CSR sparse × dense (`shaders/spmm_csr.wgsl`, `shaders/spmm_csr_rows.wgsl`)
//! and the Gram matrix of a CSR matrix (`shaders/gram.wgsl`).

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

/// Uniform of `csr_rows_dense.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct RowsDenseParams {
    n: u32,
    cols: u32,
    total: u32,
    a_rows: u32,
}

/// `A[rows]` densified: one invocation per output element, a binary search
/// of its column in its row; one dispatch, no read-back.
pub(crate) fn csr_rows_dense(gpu: &Gpu, a: &Csr<Gpu>, rows: &GpuIndex) -> GpuTensor {
    let (r, c) = crate::backend::csr_rows_dense_shape(a);
    let n = rows.len;
    let total = n * c;
    assert!(u32::try_from(total).is_ok(), "csr_rows_dense: output [{n}, {c}] exceeds u32 indexing");
    let out = gpu.empty(&[n, c]);
    let params = RowsDenseParams { n: n as u32, cols: c as u32, total: total as u32, a_rows: r as u32 };
    let p = &a.pattern;
    gpu.dispatch(
        Shader::CsrRowsDense,
        "main",
        &[],
        &params,
        &[(1, p.row_ptr.raw()), (2, p.col_idx.raw()), (3, a.vals.raw()), (4, rows.raw()), (5, out.raw())],
        gpu.grid(total as u64, WG),
    );
    out
}

/// Uniform of `gram.wgsl` (both entries).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct GramParams {
    cols: u32,
    u0: u32,
    u1: u32,
    first: u32,
    total: u32,
    _pad: [u32; 3],
}

/// Floats of the densified chunk of X that [`crate::Backend::gram`] holds at
/// once (16 MiB): ML-100K's 943 × 1682 fits in one chunk.
const GRAM_CHUNK_FLOATS: usize = 1 << 22;

/// `Xᵀ · X`, densifying `chunk_rows` rows of X at a time (by default as many
/// as fit [`GRAM_CHUNK_FLOATS`] and the storage-binding limit): two
/// dispatches per chunk, `densify` then `main` of `shaders/gram.wgsl`.
pub(crate) fn gram(gpu: &Gpu, x: &Csr<Gpu>, xt: &Csr<Gpu>, chunk_rows: Option<usize>) -> GpuTensor {
    let (rows, cols) = crate::backend::gram_shape(x, xt);
    assert!(u32::try_from(cols * cols).is_ok(), "gram: output [{cols}, {cols}] exceeds u32 indexing");
    let g = gpu.empty(&[cols, cols]);
    if rows == 0 || cols == 0 {
        gpu.clear(g.raw(), g.bytes());
        return g;
    }
    let limit = (gpu.limits().max_storage_buffer_binding_size as usize / 4).min(GRAM_CHUNK_FLOATS);
    let chunk = chunk_rows.unwrap_or(limit / cols).clamp(1, rows);
    assert!(u32::try_from(chunk * cols).is_ok(), "gram: chunk [{chunk}, {cols}] exceeds u32 indexing");
    let dense = gpu.empty(&[chunk, cols]);
    for (c, u0) in (0..rows).step_by(chunk).enumerate() {
        let u1 = (u0 + chunk).min(rows);
        let mut params = GramParams {
            cols: cols as u32,
            u0: u0 as u32,
            u1: u1 as u32,
            first: (c == 0) as u32,
            total: ((u1 - u0) * cols) as u32,
            _pad: [0; 3],
        };
        gpu.dispatch(
            Shader::Gram,
            "densify",
            &[],
            &params,
            &[(1, x.pattern.row_ptr.raw()), (2, x.pattern.col_idx.raw()), (3, x.vals.raw()), (7, dense.raw())],
            gpu.grid(params.total as u64, WG),
        );
        params.total = (cols * cols) as u32;
        gpu.dispatch(
            Shader::Gram,
            "main",
            &[],
            &params,
            &[
                (4, xt.pattern.row_ptr.raw()),
                (5, xt.pattern.col_idx.raw()),
                (6, xt.vals.raw()),
                (7, dense.raw()),
                (8, g.raw()),
            ],
            gpu.grid(params.total as u64, WG),
        );
    }
    g
}

impl Gpu {
    /// [`crate::Backend::gram`] densifying `chunk_rows` rows of `x` at a time,
    /// for callers that must bound the scratch memory (`chunk_rows · cols`
    /// floats) further than the default 16 MiB. The result does not depend
    /// on the chunk size, bit for bit (the sum order is the same).
    pub fn gram_in_chunks(&self, x: &Csr<Gpu>, xt: &Csr<Gpu>, chunk_rows: usize) -> GpuTensor {
        gram(self, x, xt, Some(chunk_rows))
    }
}
