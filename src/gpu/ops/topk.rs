//! GPU top-K per row with excluded columns (seen items).

use bytemuck::{Pod, Zeroable};

use crate::backend::{Among, Pattern};
use crate::gpu::{Gpu, GpuIndex, GpuTensor, Shader, WG};

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

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct RankParams {
    rows: u32,
    m: u32,
    mode: u32,
    has_other: u32,
    nq: u32,
    _pad: [u32; 3],
}

/// How many competitors rank before each query entry.
pub(crate) fn rank_among(gpu: &Gpu, scores: &GpuTensor, queries: &Pattern<Gpu>, among: Among<'_, Gpu>) -> GpuIndex {
    assert_eq!(scores.shape.len(), 2, "rank_among: scores {:?}", scores.shape);
    let (n, m) = (scores.shape[0], scores.shape[1]);
    assert_eq!(queries.rows, n, "rank_among: {} query rows for {n}", queries.rows);
    let nq = queries.col_idx.len;
    let out = gpu.empty_index(nq);
    let (mode, other) = match among {
        Among::AllExcept(p) => (0, p),
        Among::Only(p) => (1, Some(p)),
    };
    if let Some(o) = other {
        assert_eq!(o.rows, n, "rank_among: {} competitor rows for {n}", o.rows);
    }
    let params = RankParams {
        rows: n as u32,
        m: m as u32,
        mode,
        has_other: other.is_some() as u32,
        nq: nq as u32,
        _pad: [0; 3],
    };
    let (o_ptr, o_idx) = match other {
        Some(o) => (o.row_ptr.raw(), o.col_idx.raw()),
        None => (queries.row_ptr.raw(), queries.col_idx.raw()),
    };
    gpu.dispatch(
        Shader::RankAmong,
        "main",
        &[],
        &params,
        &[
            (1, scores.raw()),
            (2, queries.row_ptr.raw()),
            (3, queries.col_idx.raw()),
            (4, o_ptr),
            (5, o_idx),
            (6, out.raw()),
        ],
        gpu.grid(nq as u64, WG),
    );
    out
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct KeepParams {
    n: u32,
    m: u32,
    k: u32,
    _pad: u32,
}

/// [`crate::Backend::keep_top_k`]: one workgroup per row of
/// `shaders/keep_top_k.wgsl` (one dispatch); `k = 0` is a clear and `k ≥ m`
/// a copy, both recorded without the kernel.
pub(crate) fn keep_top_k(gpu: &Gpu, x: &GpuTensor, k: usize) -> GpuTensor {
    let (n, m) = crate::backend::keep_top_k_shape(&x.shape);
    assert!(u32::try_from(n * m).is_ok(), "keep_top_k: x {:?} exceeds u32 indexing", x.shape);
    let out = gpu.empty(&x.shape);
    if k == 0 {
        gpu.clear(out.raw(), out.bytes());
    } else if k >= m {
        gpu.copy(x.raw(), out.raw(), x.bytes());
    } else {
        let params = KeepParams { n: n as u32, m: m as u32, k: k as u32, _pad: 0 };
        gpu.dispatch(
            Shader::KeepTopK,
            "main",
            &[],
            &params,
            &[(1, x.raw()), (2, out.raw())],
            gpu.grid(n as u64 * 256, 256),
        );
    }
    out
}
