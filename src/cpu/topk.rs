//! CPU reference: top-K per row with excluded columns.

use super::{from_vec, Cpu, CpuIndex, CpuTensor};
use crate::backend::{Among, Pattern};

/// Orders (score, column) best first: higher score, then lower column. NaN ranks last.
pub fn better(a: (f32, u32), b: (f32, u32)) -> bool {
    let (sa, sb) =
        (if a.0.is_nan() { f32::NEG_INFINITY } else { a.0 }, if b.0.is_nan() { f32::NEG_INFINITY } else { b.0 });
    sa > sb || (sa == sb && a.1 < b.1)
}

/// Top-`k` columns of each row not listed in `exclude` (rows in parallel).
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
    let best_of = |r: usize| -> Vec<(u32, f32)> {
        let excluded: &[u32] = match exclude {
            Some(p) => row(p, r),
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
        (0..k).map(|j| best.get(j).map_or((u32::MAX, f32::NEG_INFINITY), |&(v, c)| (c, v))).collect()
    };
    // Rows in parallel; each row's list is built as the serial loop builds it.
    let (cols, vals): (Vec<u32>, Vec<f32>) = super::parallel::map_rows(n, n * m, best_of).into_iter().unzip();
    (CpuIndex::from(cols), from_vec(vals, &[n, k]))
}

fn row(p: &Pattern<Cpu>, r: usize) -> &[u32] {
    &p.col_idx.as_slice().unwrap()[p.row_ptr[r] as usize..p.row_ptr[r + 1] as usize]
}

/// How many competitors rank before each query entry (see `Backend::rank_among`).
///
/// Rows run in parallel (integer counts: the same on any number of
/// threads). With `Among::AllExcept`, each row's competitors (every column
/// neither excluded nor a query) are gathered once as (score, column)
/// pairs, NaN read as −∞ as [`better`] does, and each query counts the
/// pairs that beat it in one branch-free pass.
pub fn rank_among(scores: &CpuTensor, queries: &Pattern<Cpu>, among: Among<'_, Cpu>) -> CpuIndex {
    assert_eq!(scores.ndim(), 2, "rank_among: scores {:?}", scores.shape());
    let (n, m) = (scores.shape()[0], scores.shape()[1]);
    assert_eq!(queries.rows, n, "rank_among: {} query rows for {n}", queries.rows);
    let s = scores.as_standard_layout();
    let s = s.as_slice().unwrap();
    let counts = |r: usize| -> Vec<u32> {
        let (qs, sr) = (row(queries, r), &s[r * m..][..m]);
        match among {
            Among::Only(o) => qs
                .iter()
                .map(|&t| {
                    let st = (sr[t as usize], t);
                    row(o, r).iter().filter(|&&c| c != t && (c as usize) < m && better((sr[c as usize], c), st)).count()
                        as u32
                })
                .collect(),
            Among::AllExcept(ex) => {
                let mut competes = vec![true; m];
                for &c in ex.map_or(&[][..], |p| row(p, r)).iter().chain(qs) {
                    if let Some(slot) = competes.get_mut(c as usize) {
                        *slot = false;
                    }
                }
                let (mut cs, mut cc) = (Vec::with_capacity(m), Vec::with_capacity(m));
                for (c, &v) in sr.iter().enumerate().filter(|&(c, _)| competes[c]) {
                    cs.push(if v.is_nan() { f32::NEG_INFINITY } else { v });
                    cc.push(c as u32);
                }
                qs.iter()
                    .map(|&t| {
                        let st = sr[t as usize];
                        let st = if st.is_nan() { f32::NEG_INFINITY } else { st };
                        cs.iter().zip(&cc).map(|(&v, &c)| u32::from(v > st || (v == st && c < t))).sum::<u32>()
                    })
                    .collect()
            }
        }
    };
    let work = queries.col_idx.len().max(n) * m;
    CpuIndex::from(super::parallel::map_rows(n, work, counts))
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
