//! GPU top-K per row with excluded columns (seen items).

use bytemuck::{Pod, Zeroable};

use crate::backend::Pattern;
use crate::gpu::{Gpu, GpuIndex, GpuTensor, Shader, WG};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct TopkParams {
    rows: u32,
    m: u32,
    k: u32,
    words: u32,
    has_mask: u32,
    _pad: [u32; 3],
}

/// Top-`k` columns of each row not listed in `exclude`.
pub(crate) fn topk_masked(gpu: &Gpu, scores: &GpuTensor, k: usize, exclude: Option<&Pattern<Gpu>>) -> (GpuIndex, GpuTensor) {
    assert_eq!(scores.shape.len(), 2, "topk_masked: scores {:?}", scores.shape);
    let (n, m) = (scores.shape[0], scores.shape[1]);
    if let Some(p) = exclude {
        assert_eq!(p.rows, n, "topk_masked: mask has {} rows for {n}", p.rows);
    }
    let cols = gpu.empty_index(n * k);
    let vals = gpu.empty(&[n, k]);
    if n == 0 || k == 0 {
        return (cols, vals);
    }
    let words = m.div_ceil(32).max(1);
    let params = TopkParams {
        rows: n as u32,
        m: m as u32,
        k: k as u32,
        words: words as u32,
        has_mask: exclude.is_some() as u32,
        _pad: [0; 3],
    };
    let bits = match exclude {
        Some(p) => {
            let bits = gpu.empty_index(n * words);
            gpu.clear(bits.raw(), (n * words) as u64 * 4);
            gpu.dispatch(
                Shader::TopkMasked,
                "mark",
                &[],
                &params,
                &[(2, bits.raw()), (3, p.row_ptr.raw()), (4, p.col_idx.raw())],
                gpu.grid(n as u64, WG),
            );
            bits
        }
        None => gpu.empty_index(1),
    };
    gpu.dispatch(
        Shader::TopkMasked,
        "select_topk",
        &[],
        &params,
        &[(1, scores.raw()), (2, bits.raw()), (5, cols.raw()), (6, vals.raw())],
        gpu.grid(n as u64, 1),
    );
    (cols, vals)
}
