//! CPU reference: embedding gather and its grouped (deterministic) gradient.

use super::{from_vec, CpuIndex, CpuTensor};

/// `table[idx[i], :]`.
pub fn gather_rows(table: &CpuTensor, idx: &CpuIndex) -> CpuTensor {
    assert_eq!(table.ndim(), 2, "gather_rows: table {:?}", table.shape());
    let (rows, d) = (table.shape()[0], table.shape()[1]);
    let t = table.as_standard_layout();
    let s = t.as_slice().unwrap();
    let mut out = Vec::with_capacity(idx.len() * d);
    for &i in idx.iter() {
        assert!((i as usize) < rows, "gather_rows: index {i} >= {rows} rows");
        out.extend_from_slice(&s[i as usize * d..(i as usize + 1) * d]);
    }
    from_vec(out, &[idx.len(), d])
}

/// Sums the rows of `dy` per group: output row `g` is the sum over
/// `order[offsets[g]..offsets[g+1]]` in that order.
pub fn scatter_add_rows(dy: &CpuTensor, offsets: &CpuIndex, order: &CpuIndex) -> CpuTensor {
    assert_eq!(dy.ndim(), 2, "scatter_add_rows: dy {:?}", dy.shape());
    let d = dy.shape()[1];
    let groups = offsets.len().saturating_sub(1);
    let dy = dy.as_standard_layout();
    let s = dy.as_slice().unwrap();
    let mut out = vec![0f32; groups * d];
    let (offsets, order) = (offsets.as_slice().unwrap(), order.as_slice().unwrap());
    // Groups in parallel pieces; each group sums its rows in batch order, as on one thread.
    super::parallel::for_rows(&mut out, d, order.len() * d, |first, piece| {
        for (k, o) in piece.chunks_exact_mut(d.max(1)).enumerate() {
            let g = first + k;
            for &pos in &order[offsets[g] as usize..offsets[g + 1] as usize] {
                let src = &s[pos as usize * d..(pos as usize + 1) * d];
                for (a, b) in o.iter_mut().zip(src) {
                    *a += b;
                }
            }
        }
    });
    from_vec(out, &[groups, d])
}
