//! GPU top-K per row with excluded columns (seen items).

use bytemuck::{Pod, Zeroable};

use crate::backend::Pattern;
use crate::gpu::{Gpu, GpuIndex, GpuTensor, Shader};

/// Largest `k` the kernel keeps (`KMAX` in `shaders/topk_masked.wgsl`).
pub const TOPK_MAX: usize = 128;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct TopkParams {
    rows: u32,
    m: u32,
    k: u32,
    has_mask: u32,
}

/// Top-`k` columns of each row not listed in `exclude`.
pub(crate) fn topk_masked(
    gpu: &Gpu,
    scores: &GpuTensor,
    k: usize,
    exclude: Option<&Pattern<Gpu>>,
) -> (GpuIndex, GpuTensor) {
    assert_eq!(scores.shape.len(), 2, "topk_masked: scores {:?}", scores.shape);
    assert!(k <= TOPK_MAX, "topk_masked: k = {k} > {TOPK_MAX}");
    let (n, m) = (scores.shape[0], scores.shape[1]);
    if let Some(p) = exclude {
        assert_eq!(p.rows, n, "topk_masked: mask has {} rows for {n}", p.rows);
    }
    let cols = gpu.empty_index(n * k);
    let vals = gpu.empty(&[n, k]);
    if n == 0 || k == 0 {
        return (cols, vals);
    }
    let params = TopkParams { rows: n as u32, m: m as u32, k: k as u32, has_mask: exclude.is_some() as u32 };
    let dummy;
    let (row_ptr, col_idx) = match exclude {
        Some(p) => (p.row_ptr.raw(), p.col_idx.raw()),
        None => {
            dummy = gpu.empty_index(1);
            (dummy.raw(), dummy.raw())
        }
    };
    gpu.dispatch(
        Shader::TopkMasked,
        "main",
        &[],
        &params,
        &[(1, scores.raw()), (2, row_ptr), (3, col_idx), (4, cols.raw()), (5, vals.raw())],
        gpu.grid(n as u64, 64),
    );
    (cols, vals)
}
