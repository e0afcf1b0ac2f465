//! CPU reference: ranking metrics of top-K lists, in the same f32 operation
//! order as `shaders/rank_metrics.wgsl`.

use super::{from_vec, Cpu, CpuIndex, CpuTensor};
use crate::backend::{rank_metrics_rows, AucCounts, Pattern, RANK_METRICS};

/// Per-row metrics `[n, 6·ks.len() + 1]` (see `Backend::rank_metrics`).
pub fn rank_metrics(
    top: &CpuIndex,
    k: usize,
    targets: &Pattern<Cpu>,
    ks: &[usize],
    auc: Option<AucCounts<'_, Cpu>>,
    covered: Option<&mut CpuTensor>,
) -> CpuTensor {
    let n = rank_metrics_rows(top, k, targets, ks, auc.as_ref(), covered.as_deref());
    let (nk, m) = (ks.len(), targets.cols);
    let width = RANK_METRICS.len() * nk + 1;
    let kmax = ks.iter().copied().max().unwrap_or(0);
    let top = top.as_slice().unwrap();
    let (ptr, idx) = (targets.row_ptr.as_slice().unwrap(), targets.col_idx.as_slice().unwrap());
    let mut flags = covered.map(|c| c.as_slice_mut().expect("covered is contiguous"));
    let mut out = vec![0f32; n * width];
    for (r, o) in out.chunks_mut(width).enumerate() {
        let t = &idx[ptr[r] as usize..ptr[r + 1] as usize];
        let list = &top[r * k..(r + 1) * k];
        let (mut hits, mut dcg, mut idcg, mut first, mut ap) = (0u32, 0f32, 0f32, 0f32, 0f32);
        for j in 0..kmax {
            let disc = 1.0 / ((j + 2) as f32).log2();
            if j < t.len() {
                idcg += disc;
            }
            if let Some(&c) = list.get(j) {
                if (c as usize) < m && t.binary_search(&c).is_ok() {
                    hits += 1;
                    dcg += disc;
                    if hits == 1 {
                        first = 1.0 / (j + 1) as f32;
                    }
                    ap += hits as f32 / (j + 1) as f32;
                }
                if let Some(f) = flags.as_deref_mut().filter(|_| (c as usize) < m) {
                    for (i, &kc) in ks.iter().enumerate() {
                        if j < kc {
                            f[i * m + c as usize] = 1.0;
                        }
                    }
                }
            }
            if t.is_empty() {
                continue;
            }
            for (i, &kc) in ks.iter().enumerate().filter(|&(_, &kc)| kc == j + 1) {
                o[i] = hits as f32 / t.len() as f32;
                o[nk + i] = hits as f32 / kc as f32;
                o[2 * nk + i] = if hits > 0 { 1.0 } else { 0.0 };
                o[3 * nk + i] = dcg / idcg;
                o[4 * nk + i] = first;
                o[5 * nk + i] = ap / t.len().min(kc) as f32;
            }
        }
        if let Some(a) = &auc {
            let negatives = a.negatives[r];
            if !t.is_empty() && negatives > 0 {
                let before = &a.before.as_slice().unwrap()[ptr[r] as usize..ptr[r + 1] as usize];
                let wrong: u64 = before.iter().map(|&b| b as u64).sum();
                let wrong = (wrong >> 32) as f32 * 4294967296.0 + wrong as u32 as f32;
                o[width - 1] = 1.0 - wrong / (t.len() as f32 * negatives as f32);
            }
        }
    }
    from_vec(out, &[n, width])
}
