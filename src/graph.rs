//! Sparse matrices for graph models and for gather gradients, built on the
//! host once (the graph) or per batch in O(batch log batch) (selections).

use crate::sparse::CsrHost;

/// The symmetric-normalised adjacency of the user–item graph,
/// Â = D^−½ A D^−½ with A = [[0, R], [Rᵀ, 0]] over `users + items` nodes
/// (items follow users), as LightGCN and NGCF use it. Isolated nodes keep
/// an empty row. Â is symmetric, so it is also its own transpose.
pub fn normalized_adjacency(r: &CsrHost) -> CsrHost {
    let (nu, ni) = (r.rows, r.cols);
    let n = nu + ni;
    let mut deg = vec![0f32; n];
    for u in 0..nu {
        for &i in r.row(u) {
            deg[u] += 1.0;
            deg[nu + i as usize] += 1.0;
        }
    }
    let inv_sqrt: Vec<f32> = deg.iter().map(|&d| if d > 0.0 { 1.0 / d.sqrt() } else { 0.0 }).collect();
    let mut trip = Vec::with_capacity(2 * r.nnz());
    for u in 0..nu {
        for &i in r.row(u) {
            let j = nu + i as usize;
            let w = inv_sqrt[u] * inv_sqrt[j];
            trip.push((u as u32, j as u32, w));
            trip.push((j as u32, u as u32, w));
        }
    }
    CsrHost::from_triplets(n, n, &trip)
}

/// The transpose of the selection matrix S (`S[k, rows[k]] = 1`, shape
/// `[rows.len(), n]`): Sᵀ · dY sums the gradient rows of a gather into a dense
/// `[n, d]` gradient, one output row per invocation — deterministic.
pub fn gather_transpose(rows: &[u32], n: usize) -> CsrHost {
    let trip: Vec<(u32, u32, f32)> = rows.iter().enumerate().map(|(k, &r)| (r, k as u32, 1.0)).collect();
    CsrHost::from_triplets(n, rows.len(), &trip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adjacency_is_symmetric_and_normalised() {
        // Users 0, 1; items 0, 1, 2. User 0: items 0, 1; user 1: item 1.
        let r = CsrHost::from_triplets(2, 3, &[(0, 0, 1.0), (0, 1, 1.0), (1, 1, 1.0)]);
        let a = normalized_adjacency(&r);
        assert_eq!((a.rows, a.cols, a.nnz()), (5, 5, 6));
        assert_eq!(a.transpose(), a);
        // Edge user 0 (deg 2) – item 1 (node 3, deg 2): 1/2.
        let e = a.row(0).iter().position(|&c| c == 3).unwrap();
        assert!((a.vals[a.row_ptr[0] as usize + e] - 0.5).abs() < 1e-7);
        assert!(a.row(4).is_empty(), "item 2 has no interactions");
    }

    #[test]
    fn gather_transpose_sums_repeated_rows() {
        let s = gather_transpose(&[2, 0, 2], 4);
        assert_eq!((s.rows, s.cols), (4, 3));
        assert_eq!(s.row(2), &[0, 2]);
        assert!(s.row(1).is_empty());
    }
}
