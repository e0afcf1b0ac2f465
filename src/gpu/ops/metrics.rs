//! GPU ranking metrics of top-K lists (`shaders/rank_metrics.wgsl`).

use bytemuck::{Pod, Zeroable};

use crate::backend::{rank_metrics_rows, AucCounts, Pattern, RANK_METRICS};
use crate::gpu::{Gpu, GpuIndex, GpuTensor, Shader};

/// Most cut-offs one call takes (`ks` in the kernel's uniform).
pub(crate) use crate::backend::RANK_METRICS_MAX_KS;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct MetricsParams {
    rows: u32,
    k: u32,
    m: u32,
    nk: u32,
    kmax: u32,
    has_auc: u32,
    has_cover: u32,
    width: u32,
    ks: [u32; RANK_METRICS_MAX_KS],
}

/// Per-row metrics `[n, 6·ks.len() + 1]` (see `Backend::rank_metrics`).
pub(crate) fn rank_metrics(
    gpu: &Gpu,
    top: &GpuIndex,
    k: usize,
    targets: &Pattern<Gpu>,
    ks: &[usize],
    auc: Option<AucCounts<'_, Gpu>>,
    covered: Option<&mut GpuTensor>,
) -> GpuTensor {
    let n = rank_metrics_rows(top, k, targets, ks, auc.as_ref(), covered.as_deref());
    let width = RANK_METRICS.len() * ks.len() + 1;
    let out = gpu.empty(&[n, width]);
    if n == 0 {
        return out;
    }
    let mut cut = [0u32; RANK_METRICS_MAX_KS];
    for (c, &kc) in cut.iter_mut().zip(ks) {
        *c = kc as u32;
    }
    let params = MetricsParams {
        rows: n as u32,
        k: k as u32,
        m: targets.cols as u32,
        nk: ks.len() as u32,
        kmax: ks.iter().copied().max().unwrap_or(0) as u32,
        has_auc: auc.is_some() as u32,
        has_cover: covered.is_some() as u32,
        width: width as u32,
        ks: cut,
    };
    // Unused bindings still need a buffer; the read-only ones may share one.
    let (dummy_read, dummy_write);
    let (before, negatives) = match &auc {
        Some(a) => (a.before.raw(), a.negatives.raw()),
        None => {
            dummy_read = gpu.empty_index(1);
            (dummy_read.raw(), dummy_read.raw())
        }
    };
    let flags = match covered {
        Some(c) => {
            gpu.make_mut(c);
            c.raw()
        }
        None => {
            dummy_write = gpu.empty_index(1);
            dummy_write.raw()
        }
    };
    gpu.dispatch(
        Shader::RankMetrics,
        "main",
        &[],
        &params,
        &[
            (1, top.raw()),
            (2, targets.row_ptr.raw()),
            (3, targets.col_idx.raw()),
            (4, before),
            (5, negatives),
            (6, out.raw()),
            (7, flags),
        ],
        gpu.grid(n as u64, 64),
    );
    out
}
