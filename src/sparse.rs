//! Host-side sparse structures: CSR matrices and row groupings, built once
//! (e.g. the user–item graph) or per batch in O(n log n) and then uploaded.

/// A CSR matrix on the host.
#[derive(Clone, Debug, PartialEq)]
pub struct CsrHost {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// `rows + 1` offsets.
    pub row_ptr: Vec<u32>,
    /// Column of each entry, ascending within a row.
    pub col_idx: Vec<u32>,
    /// Value of each entry.
    pub vals: Vec<f32>,
}

impl CsrHost {
    /// Builds a CSR matrix from (row, col, value) triplets; duplicates are summed.
    ///
    /// Panics when an index is out of range (a programming error: callers
    /// validate user data when they load it).
    pub fn from_triplets(rows: usize, cols: usize, triplets: &[(u32, u32, f32)]) -> Self {
        let mut t: Vec<(u32, u32, f32)> = triplets.to_vec();
        for &(r, c, _) in &t {
            assert!((r as usize) < rows && (c as usize) < cols, "triplet ({r}, {c}) outside {rows}x{cols}");
        }
        t.sort_by_key(|&(r, c, _)| (r, c));
        let mut row_ptr = vec![0u32; rows + 1];
        let mut col_idx = Vec::with_capacity(t.len());
        let mut vals: Vec<f32> = Vec::with_capacity(t.len());
        let mut last: Option<(u32, u32)> = None;
        for (r, c, v) in t {
            if last == Some((r, c)) {
                *vals.last_mut().unwrap() += v;
                continue;
            }
            last = Some((r, c));
            row_ptr[r as usize + 1] += 1;
            col_idx.push(c);
            vals.push(v);
        }
        for i in 0..rows {
            row_ptr[i + 1] += row_ptr[i];
        }
        Self { rows, cols, row_ptr, col_idx, vals }
    }

    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.col_idx.len()
    }

    /// The transpose, also in CSR form (columns ascending within each row).
    pub fn transpose(&self) -> CsrHost {
        let mut row_ptr = vec![0u32; self.cols + 1];
        for &c in &self.col_idx {
            row_ptr[c as usize + 1] += 1;
        }
        for i in 0..self.cols {
            row_ptr[i + 1] += row_ptr[i];
        }
        let mut next = row_ptr.clone();
        let mut col_idx = vec![0u32; self.nnz()];
        let mut vals = vec![0f32; self.nnz()];
        for r in 0..self.rows {
            for e in self.row_ptr[r] as usize..self.row_ptr[r + 1] as usize {
                let c = self.col_idx[e] as usize;
                let dst = next[c] as usize;
                col_idx[dst] = r as u32;
                vals[dst] = self.vals[e];
                next[c] += 1;
            }
        }
        CsrHost { rows: self.cols, cols: self.rows, row_ptr, col_idx, vals }
    }

    /// The columns of row `r`.
    pub fn row(&self, r: usize) -> &[u32] {
        &self.col_idx[self.row_ptr[r] as usize..self.row_ptr[r + 1] as usize]
    }

    /// The pattern of rows `rows` (in that order) as a new matrix, values 1.
    pub fn select_rows(&self, rows: &[u32]) -> CsrHost {
        let trip: Vec<(u32, u32, f32)> = rows
            .iter()
            .enumerate()
            .flat_map(|(r, &src)| self.row(src as usize).iter().map(move |&c| (r as u32, c, 1.0)))
            .collect();
        CsrHost::from_triplets(rows.len(), self.cols, &trip)
    }
}

/// A batch's indices grouped by row, on the host (see [`crate::backend::RowGroups`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowGroupsHost {
    /// Distinct rows, ascending.
    pub rows: Vec<u32>,
    /// `rows.len() + 1` offsets into `order`.
    pub offsets: Vec<u32>,
    /// Batch positions sorted by row, stable.
    pub order: Vec<u32>,
}

/// Groups batch positions by the row they index.
pub fn group_rows(idx: &[u32]) -> RowGroupsHost {
    // (row, position) packed in one key: an unstable sort of distinct keys
    // gives the stable order by row (equal rows keep batch order).
    let mut keys: Vec<u64> = idx.iter().enumerate().map(|(i, &r)| (r as u64) << 32 | i as u64).collect();
    keys.sort_unstable();
    let order: Vec<u32> = keys.iter().map(|&k| k as u32).collect();
    let mut rows = Vec::new();
    let mut offsets = Vec::new();
    for (pos, &i) in order.iter().enumerate() {
        let r = idx[i as usize];
        if rows.last() != Some(&r) {
            rows.push(r);
            offsets.push(pos as u32);
        }
    }
    offsets.push(order.len() as u32);
    RowGroupsHost { rows, offsets, order }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_twice_is_identity() {
        let m = CsrHost::from_triplets(3, 4, &[(0, 1, 1.0), (2, 3, 2.0), (1, 1, 3.0), (0, 0, 4.0), (0, 1, 0.5)]);
        assert_eq!(m.nnz(), 4);
        assert_eq!(m.vals[1], 1.5, "duplicates are summed");
        let t = m.transpose();
        assert_eq!((t.rows, t.cols), (4, 3));
        assert_eq!(t.row(1), &[0, 1]);
        assert_eq!(t.transpose(), m);
    }

    #[test]
    fn group_rows_is_stable() {
        let g = group_rows(&[5, 2, 5, 0, 2]);
        assert_eq!(g.rows, vec![0, 2, 5]);
        assert_eq!(g.offsets, vec![0, 1, 3, 5]);
        assert_eq!(g.order, vec![3, 1, 4, 0, 2]);
        let empty = group_rows(&[]);
        assert_eq!(empty.offsets, vec![0]);
        // The stable sort by row, on batches with many repeats and large rows.
        for (n, rows) in [(1usize, 1u64), (97, 5), (4096, 943), (3000, 1 << 31)] {
            let idx: Vec<u32> = (0..n as u64).map(|i| (crate::rng::derive_seed(7, i) % rows) as u32).collect();
            let mut want: Vec<u32> = (0..n as u32).collect();
            want.sort_by_key(|&i| idx[i as usize]);
            let g = group_rows(&idx);
            assert_eq!(g.order, want, "{n} positions over {rows} rows");
            assert!(g.rows.windows(2).all(|w| w[0] < w[1]) && g.offsets.len() == g.rows.len() + 1);
        }
    }
}
