//! CPU reference: top-K per row with excluded columns.

use super::{from_vec, Cpu, CpuIndex, CpuTensor};
use crate::backend::{Among, Pattern};

/// Orders (score, column) best first: higher score, then lower column. NaN ranks last.
pub fn better(a: (f32, u32), b: (f32, u32)) -> bool {
    let (sa, sb) =
        (if a.0.is_nan() { f32::NEG_INFINITY } else { a.0 }, if b.0.is_nan() { f32::NEG_INFINITY } else { b.0 });
    sa > sb || (sa == sb && a.1 < b.1)
}

/// Top-`k` columns of each row not listed in `exclude`.
pub fn topk_masked(scores: &CpuTensor, k: usize, exclude: Option<&Pattern<Cpu>>) -> (CpuIndex, CpuTensor) {
    assert_eq!(scores.ndim(), 2, "topk_masked: scores {:?}", scores.shape());
    let (n, m) = (scores.shape()[0], scores.shape()[1]);
    if let Some(p) = exclude {
        assert_eq!(p.rows, n, "topk_masked: mask has {} rows for {n}", p.rows);
    }
    if k == 0 {
        return (CpuIndex::from(Vec::new()), from_vec(Vec::new(), &[n, 0]));
    }
    let s = scores.as_standard_layout();
    let s = s.as_slice().unwrap();
    let mut cols = Vec::with_capacity(n * k);
    let mut vals = Vec::with_capacity(n * k);
    for r in 0..n {
        let excluded: &[u32] = match exclude {
            Some(p) => &p.col_idx.as_slice().unwrap()[p.row_ptr[r] as usize..p.row_ptr[r + 1] as usize],
            None => &[],
        };
        let mut best: Vec<(f32, u32)> = Vec::with_capacity(k + 1);
        for c in 0..m as u32 {
            if excluded.binary_search(&c).is_ok() {
                continue;
            }
            let cand = (s[r * m + c as usize], c);
            if best.len() == k && !better(cand, best[k - 1]) {
                continue;
            }
            let pos = best.iter().position(|&b| better(cand, b)).unwrap_or(best.len());
            best.insert(pos, cand);
            best.truncate(k);
        }
        for j in 0..k {
            let (v, c) = best.get(j).copied().unwrap_or((f32::NEG_INFINITY, u32::MAX));
            cols.push(c);
            vals.push(v);
        }
    }
    (CpuIndex::from(cols), from_vec(vals, &[n, k]))
}

fn row(p: &Pattern<Cpu>, r: usize) -> &[u32] {
    &p.col_idx.as_slice().unwrap()[p.row_ptr[r] as usize..p.row_ptr[r + 1] as usize]
}

/// How many competitors rank before each query entry (see `Backend::rank_among`).
pub fn rank_among(scores: &CpuTensor, queries: &Pattern<Cpu>, among: Among<'_, Cpu>) -> CpuIndex {
    assert_eq!(scores.ndim(), 2, "rank_among: scores {:?}", scores.shape());
    let (n, m) = (scores.shape()[0], scores.shape()[1]);
    assert_eq!(queries.rows, n, "rank_among: {} query rows for {n}", queries.rows);
    let s = scores.as_standard_layout();
    let s = s.as_slice().unwrap();
    let mut out = Vec::with_capacity(queries.col_idx.len());
    for r in 0..n {
        let qs = row(queries, r);
        for &t in qs {
            let st = (s[r * m + t as usize], t);
            let count = match among {
                Among::Only(o) => row(o, r)
                    .iter()
                    .filter(|&&c| c != t && (c as usize) < m && better((s[r * m + c as usize], c), st))
                    .count(),
                Among::AllExcept(ex) => (0..m as u32)
                    .filter(|c| ex.is_none_or(|p| row(p, r).binary_search(c).is_err()) && qs.binary_search(c).is_err())
                    .filter(|&c| better((s[r * m + c as usize], c), st))
                    .count(),
            };
            out.push(count as u32);
        }
    }
    CpuIndex::from(out)
}

/// The order-preserving `u32` key of a float that [`keep_top_k`] and
/// `shaders/keep_top_k.wgsl` rank by: a larger float has a larger key, −0 and
/// +0 share one key, and every NaN maps to 0, below −inf.
pub fn order_key(v: f32) -> u32 {
    let b = v.to_bits();
    let mag = b & 0x7fff_ffff;
    if mag > 0x7f80_0000 {
        0
    } else if mag == 0 {
        0x8000_0000
    } else if b != mag {
        !b
    } else {
        b | 0x8000_0000
    }
}

/// Keeps the `k` largest entries of each row (ties to the lower column, by
/// [`order_key`]) and zeroes the rest ([`crate::Backend::keep_top_k`]): a
/// stable sort of each row's columns, the plain reference for the GPU's
/// radix select.
pub fn keep_top_k(x: &CpuTensor, k: usize) -> CpuTensor {
    let (n, m) = crate::backend::keep_top_k_shape(x.shape());
    let x = x.as_standard_layout();
    let xv = x.as_slice().expect("standard layout");
    let mut out = vec![0f32; n * m];
    let mut order: Vec<u32> = Vec::with_capacity(m);
    for r in 0..n {
        let row = &xv[r * m..(r + 1) * m];
        order.clear();
        order.extend(0..m as u32);
        order.sort_by_key(|&c| std::cmp::Reverse(order_key(row[c as usize]))); // stable: ties keep column order
        for &c in order.iter().take(k) {
            out[r * m + c as usize] = row[c as usize];
        }
    }
    from_vec(out, &[n, m])
}
