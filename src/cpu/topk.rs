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
        let row = &s[r * m..][..m];
        let mut best = Best { k, list: Vec::with_capacity(k + 1), floor: f32::NEG_INFINITY };
        // The columns between consecutive excluded ones (sorted), in order.
        let mut start = 0usize;
        for end in excluded.iter().map(|&c| c as usize).chain(std::iter::once(m)) {
            if end > start {
                best.scan(&row[start..end.min(m)], start as u32);
            }
            start = start.max(end.saturating_add(1));
            if start >= m {
                break;
            }
        }
        (0..k).map(|j| best.list.get(j).map_or((u32::MAX, f32::NEG_INFINITY), |&(v, c)| (c, v))).collect()
    };
    // Rows in parallel; each row's list is built as the serial loop builds it.
    let (cols, vals): (Vec<u32>, Vec<f32>) = super::parallel::map_rows(n, n * m, best_of).into_iter().unzip();
    (CpuIndex::from(cols), from_vec(vals, &[n, k]))
}

/// One row's best `k` (score, column) pairs so far, best first, as
/// [`better`] orders them.
struct Best {
    k: usize,
    list: Vec<(f32, u32)>,
    /// Once the list is full, its last score (NaN read as −∞): a later
    /// column enters only with a score above it, since on a tie the lower
    /// column, already listed, wins.
    floor: f32,
}

impl Best {
    /// Offers `seg[j]` as column `base + j`, for columns above every one
    /// offered before. Once the list is full, eight scores at a time are
    /// compared with the floor (a loop the compiler vectorizes) and only a
    /// group holding a winner is walked one by one, so the row costs about
    /// one comparison per column.
    fn scan(&mut self, seg: &[f32], base: u32) {
        const LANES: usize = 8;
        let mut j = 0;
        while j < seg.len() {
            if self.list.len() == self.k && j + LANES <= seg.len() {
                let floor = self.floor;
                if !seg[j..j + LANES].iter().fold(false, |any, &v| any | (v > floor)) {
                    j += LANES;
                    continue;
                }
                for (t, &v) in seg[j..j + LANES].iter().enumerate() {
                    self.offer(v, base + (j + t) as u32);
                }
                j += LANES;
            } else {
                self.offer(seg[j], base + j as u32);
                j += 1;
            }
        }
    }

    #[inline]
    fn offer(&mut self, v: f32, c: u32) {
        if self.list.len() == self.k && v.partial_cmp(&self.floor) != Some(std::cmp::Ordering::Greater) {
            return;
        }
        let cand = (v, c);
        let pos = self.list.iter().position(|&b| better(cand, b)).unwrap_or(self.list.len());
        self.list.insert(pos, cand);
        self.list.truncate(self.k);
        if self.list.len() == self.k {
            let last = self.list[self.k - 1].0;
            self.floor = if last.is_nan() { f32::NEG_INFINITY } else { last };
        }
    }
}

fn row(p: &Pattern<Cpu>, r: usize) -> &[u32] {
    &p.col_idx.as_slice().unwrap()[p.row_ptr[r] as usize..p.row_ptr[r + 1] as usize]
}

/// How many competitors rank before each query entry (see `Backend::rank_among`).
///
/// Rows run in parallel (integer counts: the same on any number of
/// threads). With `Among::AllExcept`, each query counts the whole row in
/// two branch-free passes and takes out the excluded and query columns that
/// beat it ([`beaten_by_all_except`]).
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
                let ex = ex.map_or(&[][..], |p| row(p, r));
                qs.iter().map(|&t| beaten_by_all_except(sr, t, ex, qs)).collect()
            }
        }
    };
    let work = queries.col_idx.len().max(n) * m;
    CpuIndex::from(super::parallel::map_rows(n, work, counts))
}

/// How many columns of `row` rank before column `t` (by [`better`]),
/// leaving out the columns in `ex` (sorted) and in `qs` (`t` is one of them).
///
/// Column order settles ties, so the columns before `t` beat it with an
/// equal score and those after only with a higher one: two branch-free
/// counts over the contiguous row (vectorized), minus the left-out columns
/// that beat it. A score of −∞ or NaN at `t` (NaN ranks as −∞, and ties
/// with the NaNs before it) takes the plain path.
fn beaten_by_all_except(row: &[f32], t: u32, ex: &[u32], qs: &[u32]) -> u32 {
    let m = row.len();
    let Some(&st) = row.get(t as usize) else {
        return 0;
    };
    let key = |c: u32| (row[c as usize], c);
    if st.is_nan() || st == f32::NEG_INFINITY {
        let left_out = |c: u32| ex.binary_search(&c).is_ok() || qs.contains(&c);
        return (0..m as u32).filter(|&c| !left_out(c) && better(key(c), (st, t))).count() as u32;
    }
    let (before, after) = (&row[..t as usize], &row[t as usize + 1..]);
    let ge = before.iter().fold(0u32, |n, &v| n + u32::from(v >= st));
    let gt = after.iter().fold(0u32, |n, &v| n + u32::from(v > st));
    // A column both excluded and queried is left out once.
    let beats = |c: u32| (c as usize) < m && c != t && better(key(c), (st, t));
    let dropped_ex = ex.iter().enumerate().filter(|&(k, &c)| (k == 0 || ex[k - 1] != c) && beats(c)).count();
    let dropped_qs =
        qs.iter().enumerate().filter(|&(k, &c)| !qs[..k].contains(&c) && !ex.contains(&c) && beats(c)).count();
    ge + gt - (dropped_ex + dropped_qs) as u32
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Backend;
    use proptest::prelude::*;

    /// Scores from small codes: NaN, −∞, +∞ and four values, so that ties are common.
    fn scores_of(cells: &[u8]) -> Vec<f32> {
        let score = |c: u8| match c {
            0 => f32::NAN,
            1 => f32::NEG_INFINITY,
            2 => f32::INFINITY,
            c => (c % 4) as f32 - 1.0,
        };
        cells.iter().map(|&c| score(c)).collect()
    }

    /// The definition: every column not excluded, sorted by [`better`], first `k`.
    fn sorted_reference(row: &[f32], excluded: &[u32], k: usize) -> Vec<(u32, f32)> {
        let mut all: Vec<(f32, u32)> =
            (0..row.len() as u32).filter(|c| !excluded.contains(c)).map(|c| (row[c as usize], c)).collect();
        all.sort_by(|&a, &b| if better(a, b) { std::cmp::Ordering::Less } else { std::cmp::Ordering::Greater });
        (0..k).map(|j| all.get(j).map_or((u32::MAX, f32::NEG_INFINITY), |&(v, c)| (c, v))).collect()
    }

    proptest! {
        /// Ties, NaN, ±∞, excluded columns repeated or past the row, rows
        /// shorter and longer than the eight-wide groups: the same list as
        /// sorting the whole row.
        #[test]
        fn topk_masked_is_the_sorted_prefix(
            m in 1usize..70,
            k in 1usize..12,
            cells in proptest::collection::vec(0u8..12, 70),
            excluded in proptest::collection::vec(0u32..75, 0..20),
        ) {
            let row = scores_of(&cells[..m]);
            let mut excluded = excluded;
            excluded.sort_unstable();
            let mask = crate::sparse::CsrHost::from_triplets(1, 80, &excluded.iter().map(|&c| (0, c, 1.0)).collect::<Vec<_>>());
            let scores = Cpu.tensor(&row, &[1, m]).unwrap();
            let (cols, vals) = topk_masked(&scores, k, Some(&Cpu.pattern(&mask).unwrap()));
            let got: Vec<(u32, f32)> = cols.iter().copied().zip(vals.iter().copied()).collect();
            let want = sorted_reference(&row, mask.row(0), k);
            prop_assert_eq!(format!("{got:?}"), format!("{want:?}"));
        }
    }

    /// The definition of `rank_among` with `AllExcept`: the columns neither
    /// excluded nor queried that [`better`] puts before the query.
    fn rank_reference(row: &[f32], qs: &[u32], ex: &[u32]) -> Vec<u32> {
        let m = row.len() as u32;
        qs.iter()
            .map(|&t| {
                (0..m)
                    .filter(|c| !ex.contains(c) && !qs.contains(c))
                    .filter(|&c| better((row[c as usize], c), (row[t as usize], t)))
                    .count() as u32
            })
            .collect()
    }

    proptest! {
        /// Ties before and after the query, NaN and ±∞ scores (at the query
        /// too), excluded columns that are also queries or past the row.
        #[test]
        fn rank_among_all_except_counts_the_definition(
            m in 1usize..50,
            cells in proptest::collection::vec(0u8..12, 50),
            queries in proptest::collection::vec(0u32..50, 1..6),
            excluded in proptest::collection::vec(0u32..55, 0..12),
        ) {
            let row = scores_of(&cells[..m]);
            let trip = |cols: &[u32], limit: u32| -> Vec<(u32, u32, f32)> {
                cols.iter().filter(|&&c| c < limit).map(|&c| (0, c, 1.0)).collect()
            };
            let q = crate::sparse::CsrHost::from_triplets(1, 60, &trip(&queries, m as u32));
            prop_assume!(q.nnz() > 0);
            let ex = crate::sparse::CsrHost::from_triplets(1, 60, &trip(&excluded, 60));
            let scores = Cpu.tensor(&row, &[1, m]).unwrap();
            let (qp, ep) = (Cpu.pattern(&q).unwrap(), Cpu.pattern(&ex).unwrap());
            let got = rank_among(&scores, &qp, Among::AllExcept(Some(&ep)));
            prop_assert_eq!(got.to_vec(), rank_reference(&row, q.row(0), ex.row(0)));
        }
    }
}
