//! CPU reference: CSR sparse × dense.

use super::{from_vec, Cpu, CpuIndex, CpuTensor};
use crate::backend::Csr;

/// `A · X` for CSR `A` `[r, c]` and dense `X` `[c, d]`: `[r, d]`. Each output
/// element starts at 0 and adds `vals[e] · X[col_idx[e], j]` over its row's
/// entries in CSR order, as `shaders/spmm_csr.wgsl` does, so the backends
/// agree to the rounding of fused multiply-adds.
pub fn spmm_csr(a: &Csr<Cpu>, x: &CpuTensor) -> CpuTensor {
    let p = &a.pattern;
    let d = crate::backend::spmm_width("spmm_csr", a, x.shape());
    let x = x.as_standard_layout();
    let xv = x.as_slice().expect("standard layout");
    let vals = a.vals.as_standard_layout();
    let vals = vals.as_slice().expect("standard layout");
    let cols = p.col_idx.as_slice().expect("contiguous indices");
    let mut out = vec![0f32; p.rows * d];
    for r in 0..p.rows {
        let (lo, hi) = (p.row_ptr[r] as usize, p.row_ptr[r + 1] as usize);
        assert!(lo <= hi && hi <= cols.len(), "spmm_csr: row {r} spans entries {lo}..{hi} of {}", cols.len());
        let o = &mut out[r * d..(r + 1) * d];
        for (&c, &v) in cols[lo..hi].iter().zip(&vals[lo..hi]) {
            let c = c as usize;
            assert!(c < p.cols, "spmm_csr: column {c} >= {} in row {r}", p.cols);
            for (acc, &xv) in o.iter_mut().zip(&xv[c * d..(c + 1) * d]) {
                *acc += v * xv;
            }
        }
    }
    from_vec(out, &[p.rows, d])
}

/// `A[rows] · X` ([`crate::Backend::spmm_csr_rows`]): output row `q` is row
/// `rows[q]` of [`spmm_csr`], summed in the same order as
/// `shaders/spmm_csr_rows.wgsl`. Panics on a row outside `A`.
pub fn spmm_csr_rows(a: &Csr<Cpu>, rows: &CpuIndex, x: &CpuTensor) -> CpuTensor {
    let p = &a.pattern;
    let d = crate::backend::spmm_width("spmm_csr_rows", a, x.shape());
    let x = x.as_standard_layout();
    let xv = x.as_slice().expect("standard layout");
    let vals = a.vals.as_standard_layout();
    let vals = vals.as_slice().expect("standard layout");
    let cols = p.col_idx.as_slice().expect("contiguous indices");
    let mut out = vec![0f32; rows.len() * d];
    for (q, &r) in rows.iter().enumerate() {
        let r = r as usize;
        assert!(r < p.rows, "spmm_csr_rows: row {r} (position {q}) outside A [{}, {}]", p.rows, p.cols);
        let (lo, hi) = (p.row_ptr[r] as usize, p.row_ptr[r + 1] as usize);
        assert!(lo <= hi && hi <= cols.len(), "spmm_csr_rows: row {r} spans entries {lo}..{hi} of {}", cols.len());
        let o = &mut out[q * d..(q + 1) * d];
        for (&c, &v) in cols[lo..hi].iter().zip(&vals[lo..hi]) {
            let c = c as usize;
            assert!(c < p.cols, "spmm_csr_rows: column {c} >= {} in row {r}", p.cols);
            for (acc, &xv) in o.iter_mut().zip(&xv[c * d..(c + 1) * d]) {
                *acc += v * xv;
            }
        }
    }
    from_vec(out, &[rows.len(), d])
}

/// Rows of a CSR matrix as dense rows ([`crate::Backend::csr_rows_dense`]).
pub fn csr_rows_dense(a: &Csr<Cpu>, rows: &CpuIndex) -> CpuTensor {
    let (r, c) = crate::backend::csr_rows_dense_shape(a);
    let p = &a.pattern;
    let vals = a.vals.as_standard_layout();
    let vals = vals.as_slice().expect("standard layout");
    let cols = p.col_idx.as_slice().expect("contiguous indices");
    let mut out = vec![0f32; rows.len() * c];
    for (q, &u) in rows.iter().enumerate() {
        let u = u as usize;
        assert!(u < r, "csr_rows_dense: row {u} (position {q}) outside A [{r}, {c}]");
        let (lo, hi) = (p.row_ptr[u] as usize, p.row_ptr[u + 1] as usize);
        assert!(lo <= hi && hi <= cols.len(), "csr_rows_dense: row {u} spans entries {lo}..{hi} of {}", cols.len());
        for (&j, &v) in cols[lo..hi].iter().zip(&vals[lo..hi]) {
            assert!((j as usize) < c, "csr_rows_dense: column {j} >= {c} in row {u}");
            out[q * c + j as usize] = v;
        }
    }
    from_vec(out, &[rows.len(), c])
}

/// `Xᵀ · X` ([`crate::Backend::gram`]): for each row i of `xt` (the users u
/// of item i, ascending) and each entry (j, w) of row u of `x`,
/// `G[i, j] += v · w`, so every `G[i, j]` is summed over u in ascending
/// order, as `shaders/gram.wgsl` sums it, in O(Σ_u deg(u)²).
pub fn gram(x: &Csr<Cpu>, xt: &Csr<Cpu>) -> CpuTensor {
    let (rows, cols) = crate::backend::gram_shape(x, xt);
    let (xp, tp) = (&x.pattern, &xt.pattern);
    let xv = x.vals.as_standard_layout();
    let xv = xv.as_slice().expect("standard layout");
    let tv = xt.vals.as_standard_layout();
    let tv = tv.as_slice().expect("standard layout");
    let (xc, tc) = (xp.col_idx.as_slice().expect("contiguous"), tp.col_idx.as_slice().expect("contiguous"));
    let mut g = vec![0f32; cols * cols];
    for i in 0..cols {
        let out = &mut g[i * cols..(i + 1) * cols];
        for e in tp.row_ptr[i] as usize..tp.row_ptr[i + 1] as usize {
            let (u, v) = (tc[e] as usize, tv[e]);
            assert!(u < rows, "gram: xt row {i} holds column {u} >= {rows}");
            for f in xp.row_ptr[u] as usize..xp.row_ptr[u + 1] as usize {
                out[xc[f] as usize] += v * xv[f];
            }
        }
    }
    from_vec(g, &[cols, cols])
}
