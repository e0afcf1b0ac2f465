//! CPU matmul when one operand is mostly zeros: the autoencoders' input rows
//! (a user's 0/1 row, normalised and dropped out: 1–6 % non-zero on
//! ML-100K), in the encoder's forward `x·Wᵀ` and its weight gradient `dzᵀ·x`.
//!
//! A dense GEMM spends 94–99 % of its multiply-adds on zeros there. This
//! walks the sparse operand's non-zeros instead, so the work is nnz · n
//! rather than m · k · n, and no operand is transposed (a transpose of the
//! 1,682 × 600 weight costs as much as the whole sparse product of a
//! 64-user batch):
//!
//!   C = A·B,  A sparse `[m, k]`:   C[i, :] += a_ik · B[k, :]          (rows of B, 8 lanes)
//!   C = A·Bᵀ, A sparse, B `[n, k]`: C[i, j] = Σ_k a_ik · B[j, k]       (16 rows of B at a time, gathered)
//!   C = Aᵀ·B, B sparse `[k, n]`,
//!             A `[k, m]`:          C[o, j] += b_rj · A[r, o]          (16 rows of C at a time, scattered)
//!
//! Each C[i, j] is the sum of its non-zero terms in increasing k, one
//! multiply and one add per term (no fused multiply-add, on every CPU
//! path), which is the value of the naive dense loop: a zero term adds
//! ±0, which leaves the sum as it is. (The one difference from a dense
//! product: a zero times an infinite or NaN entry of the other operand
//! contributes nothing here rather than NaN.)

/// An operand is walked as sparse when at most 1 / `MAX_DENSITY_INV` of it is non-zero.
const MAX_DENSITY_INV: usize = 10;

/// Products of fewer multiply-adds than this (m · k · n) stay on the dense kernel.
const MIN_WORK: usize = 1 << 20;

/// Rows of the dense operand (or of C) handled together by the gather and scatter forms.
const BLOCK: usize = 16;

/// Writes `op(a)·op(b)` (`a` `[m, k]` or, with `ta`, `[k, m]`; `b` `[k, n]`
/// or, with `tb`, `[n, k]`; all row-major) into `out` `[m, n]` when one
/// operand is sparse enough, in one of the forms above, and the product
/// large enough to be worth it; returns false (with `out` untouched) otherwise.
pub(crate) fn try_product(
    a: &[f32],
    b: &[f32],
    mkn: (usize, usize, usize),
    ta: bool,
    tb: bool,
    out: &mut [f32],
) -> bool {
    let (m, k, n) = mkn;
    if m.saturating_mul(k).saturating_mul(n) < MIN_WORK {
        return false;
    }
    if let (false, Some(nonzero)) = (ta, sparse_count(a)) {
        if !tb {
            sparse_a_b(a, b, mkn, out);
        } else if transpose_pays(nonzero, k) {
            sparse_a_b(a, &transpose(b, n, k), mkn, out);
        } else {
            sparse_a_bt(a, b, mkn, out);
        }
        return true;
    }
    if let (true, false, Some(nonzero)) = (ta, tb, sparse_count(b)) {
        if transpose_pays(nonzero, n) {
            // Cᵀ = Bᵀ·A: B's rows scatter into rows of Cᵀ, contiguous; then one transpose.
            let mut out_t = vec![0f32; n * m];
            at_sparse_b_rows(a, b, mkn, &mut out_t);
            out[..m * n].copy_from_slice(&transpose(&out_t, n, m));
        } else {
            at_sparse_b(a, b, mkn, out);
        }
        return true;
    }
    false
}

/// Whether transposing the dense operand (or C), which costs about as much
/// as gathering 3.5 non-zeros per row of the other dimension `dim`, is
/// cheaper than the gather or scatter form for a sparse operand of
/// `nonzero` entries: its non-zeros then run as 8-lane multiply-adds over contiguous rows.
fn transpose_pays(nonzero: usize, dim: usize) -> bool {
    2 * nonzero > 7 * dim
}

/// The number of non-zeros of `x` when at most 1 / `MAX_DENSITY_INV` of it
/// is non-zero, else `None` (counted in blocks, so a dense operand is
/// rejected after its first block).
fn sparse_count(x: &[f32]) -> Option<usize> {
    let limit = x.len() / MAX_DENSITY_INV;
    let mut nonzero = 0;
    for block in x.chunks(4096) {
        nonzero += block.iter().filter(|v| **v != 0.0).count();
        if nonzero > limit {
            return None;
        }
    }
    Some(nonzero)
}

/// The non-zeros of row-major `x` `[rows, cols]` as CSR: (row starts, columns, values).
fn nonzeros(x: &[f32], rows: usize, cols: usize) -> (Vec<usize>, Vec<u32>, Vec<f32>) {
    let mut starts = Vec::with_capacity(rows + 1);
    let (mut idx, mut val) = (Vec::new(), Vec::new());
    starts.push(0);
    for r in 0..rows {
        for (c, &v) in x[r * cols..][..cols].iter().enumerate() {
            if v != 0.0 {
                idx.push(c as u32);
                val.push(v);
            }
        }
        starts.push(idx.len());
    }
    (starts, idx, val)
}

/// C = A·B, A `[m, k]` sparse, B `[k, n]`.
pub(crate) fn sparse_a_b(a: &[f32], b: &[f32], (m, k, n): (usize, usize, usize), out: &mut [f32]) {
    out[..m * n].fill(0.0);
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { sparse_a_b_avx2(a, b, (m, k, n), out) };
    }
    sparse_a_b_body(a, b, (m, k, n), out)
}

#[inline(always)]
fn sparse_a_b_body(a: &[f32], b: &[f32], (m, k, n): (usize, usize, usize), out: &mut [f32]) {
    if n == 0 || k == 0 {
        return;
    }
    // Rows of C are independent: pieces of them on the pool (the work is
    // about nnz · n; a row's terms are summed in the same order anywhere).
    let work = m * n * k / MAX_DENSITY_INV;
    super::parallel::for_rows(&mut out[..m * n], n, work, |first, piece| {
        for (a_row, o) in a[first * k..].chunks_exact(k).zip(piece.chunks_exact_mut(n)) {
            for (c, &v) in a_row.iter().enumerate() {
                if v != 0.0 {
                    for (y, &x) in o.iter_mut().zip(&b[c * n..][..n]) {
                        *y += v * x;
                    }
                }
            }
        }
    });
}

/// [`sparse_a_b_body`] compiled for AVX2 (8 lanes; a separate multiply and
/// add per term, so the same bits as the scalar path), chosen at run time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn sparse_a_b_avx2(a: &[f32], b: &[f32], mkn: (usize, usize, usize), out: &mut [f32]) {
    sparse_a_b_body(a, b, mkn, out)
}

/// C = A·Bᵀ, A `[m, k]` sparse, B `[n, k]`: for each block of 16 rows of
/// B (kept in cache), every row of A gathers its columns from the block.
pub(crate) fn sparse_a_bt(a: &[f32], b: &[f32], (m, k, n): (usize, usize, usize), out: &mut [f32]) {
    let (starts, idx, val) = nonzeros(a, m, k);
    // Pieces of rows of C on the pool; each walks every block of B's rows.
    let work = idx.len() * n;
    super::parallel::for_rows(&mut out[..m * n], n, work, |first, piece| {
        let rows_here = piece.len() / n.max(1);
        for j0 in (0..n).step_by(BLOCK) {
            let w = BLOCK.min(n - j0);
            // A last, partial block repeats its first row in the spare lanes (computed, not stored).
            let rows: [&[f32]; BLOCK] = std::array::from_fn(|jj| &b[(j0 + if jj < w { jj } else { 0 }) * k..][..k]);
            for ii in 0..rows_here {
                let i = first + ii;
                let mut acc = [0f32; BLOCK];
                for t in starts[i]..starts[i + 1] {
                    let (c, v) = (idx[t] as usize, val[t]);
                    for jj in 0..BLOCK {
                        acc[jj] += v * rows[jj][c];
                    }
                }
                piece[ii * n + j0..][..w].copy_from_slice(&acc[..w]);
            }
        }
    });
}

/// Cᵀ = Bᵀ·A into `out_t` `[n, m]`, A `[k, m]`, B `[k, n]` sparse: every
/// non-zero b_rj adds b_rj · A[r, :] to row j of Cᵀ (8 lanes, same bits as [`at_sparse_b`]).
fn at_sparse_b_rows(a: &[f32], b: &[f32], (m, k, n): (usize, usize, usize), out_t: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { at_sparse_b_rows_avx2(a, b, (m, k, n), out_t) };
    }
    at_sparse_b_rows_body(a, b, (m, k, n), out_t)
}

#[inline(always)]
fn at_sparse_b_rows_body(a: &[f32], b: &[f32], (m, k, n): (usize, usize, usize), out_t: &mut [f32]) {
    if n == 0 || m == 0 {
        return;
    }
    for (b_row, a_row) in b.chunks_exact(n).zip(a.chunks_exact(m)).take(k) {
        for (j, &v) in b_row.iter().enumerate() {
            if v != 0.0 {
                for (y, &x) in out_t[j * m..][..m].iter_mut().zip(a_row) {
                    *y += v * x;
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn at_sparse_b_rows_avx2(a: &[f32], b: &[f32], mkn: (usize, usize, usize), out_t: &mut [f32]) {
    at_sparse_b_rows_body(a, b, mkn, out_t)
}

/// C = Aᵀ·B, A `[k, m]`, B `[k, n]` sparse: for each block of 16 rows of C
/// (kept in cache), every non-zero b_rj adds b_rj · A[r, block] down column j.
pub(crate) fn at_sparse_b(a: &[f32], b: &[f32], (m, k, n): (usize, usize, usize), out: &mut [f32]) {
    let (starts, idx, val) = nonzeros(b, k, n);
    out[..m * n].fill(0.0);
    // Pieces of rows of C on the pool, each in blocks of 16 rows: an
    // element's terms are still added in increasing r, whatever the blocks.
    let work = idx.len() * m;
    super::parallel::for_rows(&mut out[..m * n], n, work, |first, piece| {
        let rows_here = piece.len() / n.max(1);
        for b0 in (0..rows_here).step_by(BLOCK) {
            let w = BLOCK.min(rows_here - b0);
            for r in 0..k {
                let d = &a[r * m + first + b0..][..w];
                for t in starts[r]..starts[r + 1] {
                    let (j, v) = (idx[t] as usize, val[t]);
                    for (oo, &dv) in d.iter().enumerate() {
                        piece[(b0 + oo) * n + j] += v * dv;
                    }
                }
            }
        }
    });
}

/// The transpose of row-major `x` `[rows, cols]`: eight rows at a time,
/// read as eight sequential streams and written as runs of eight.
fn transpose(x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    const RUN: usize = 8;
    let mut out = vec![0f32; rows * cols];
    let full = rows - rows % RUN;
    for r0 in (0..full).step_by(RUN) {
        let src: [&[f32]; RUN] = std::array::from_fn(|i| &x[(r0 + i) * cols..][..cols]);
        for c in 0..cols {
            let dst = &mut out[c * rows + r0..][..RUN];
            for i in 0..RUN {
                dst[i] = src[i][c];
            }
        }
    }
    for r in full..rows {
        for (c, &v) in x[r * cols..][..cols].iter().enumerate() {
            out[c * rows + r] = v;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The naive dense loop, every term in increasing k.
    fn naive(a: &[f32], b: &[f32], (m, k, n): (usize, usize, usize), ta: bool, tb: bool) -> Vec<f32> {
        let mut out = vec![0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = 0f32;
                for p in 0..k {
                    let x = if ta { a[p * m + i] } else { a[i * k + p] };
                    let y = if tb { b[j * k + p] } else { b[p * n + j] };
                    s += x * y;
                }
                out[i * n + j] = s;
            }
        }
        out
    }

    fn values(seed: u64, len: usize, keep_one_in: u64) -> Vec<f32> {
        (0..len as u64)
            .map(|i| {
                let h = crate::rng::derive_seed(seed, i);
                if h.is_multiple_of(keep_one_in) {
                    ((h >> 20) % 2001) as f32 / 1000.0 - 1.0
                } else {
                    0.0
                }
            })
            .collect()
    }

    /// The three sparse forms give the naive loop's bits, on shapes of 1,
    /// primes and just past a block, with empty rows and columns.
    #[test]
    fn sparse_products_are_the_naive_sums() {
        for (m, k, n) in [(1, 1, 1), (1, 7, 3), (5, 1, 4), (13, 31, 33), (33, 17, 2), (64, 65, 31), (17, 9, 16)] {
            let sparse_a = values(m as u64 * 31 + k as u64, m * k, 9);
            let (dense_b, dense_bt) = (values(n as u64 * 7 + 1, k * n, 1), values(n as u64 * 5 + 2, n * k, 1));
            let mut out = vec![f32::NAN; m * n];
            sparse_a_b(&sparse_a, &dense_b, (m, k, n), &mut out);
            assert_eq!(bits(&out), bits(&naive(&sparse_a, &dense_b, (m, k, n), false, false)), "a·b {m}x{k}x{n}");
            out.fill(f32::NAN);
            sparse_a_bt(&sparse_a, &dense_bt, (m, k, n), &mut out);
            assert_eq!(bits(&out), bits(&naive(&sparse_a, &dense_bt, (m, k, n), false, true)), "a·bᵀ {m}x{k}x{n}");
            let (dense_at, sparse_b) = (values(m as u64 + 5, k * m, 1), values(k as u64 + 9, k * n, 9));
            let want = naive(&dense_at, &sparse_b, (m, k, n), true, false);
            out.fill(f32::NAN);
            at_sparse_b(&dense_at, &sparse_b, (m, k, n), &mut out);
            assert_eq!(bits(&out), bits(&want), "aᵀ·b {m}x{k}x{n}");
            // The transposed forms: Bᵀ's rows for a·bᵀ, and Cᵀ accumulated by rows for aᵀ·b.
            sparse_a_b(&sparse_a, &transpose(&dense_bt, n, k), (m, k, n), &mut out);
            assert_eq!(bits(&out), bits(&naive(&sparse_a, &dense_bt, (m, k, n), false, true)), "a·(bᵀ)ᵀ {m}x{k}x{n}");
            let mut out_t = vec![0f32; n * m];
            at_sparse_b_rows(&dense_at, &sparse_b, (m, k, n), &mut out_t);
            assert_eq!(bits(&transpose(&out_t, n, m)), bits(&want), "(bᵀ·a)ᵀ {m}x{k}x{n}");
        }
    }

    /// Shapes large enough to be split across threads give the naive
    /// loop's bits on one thread and on three (pieces of uneven size).
    #[test]
    fn split_sparse_products_are_the_naive_sums() {
        let (m, k, n) = (70, 301, 97);
        let sparse_a = values(11, m * k, 9);
        let dense_bt = values(12, n * k, 1);
        let dense_b = values(13, k * n, 1);
        let (dense_at, sparse_b) = (values(14, k * m, 1), values(15, k * n, 9));
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let mut out = vec![f32::NAN; m * n];
                sparse_a_b(&sparse_a, &dense_b, (m, k, n), &mut out);
                assert_eq!(
                    bits(&out),
                    bits(&naive(&sparse_a, &dense_b, (m, k, n), false, false)),
                    "a·b, {threads} threads"
                );
                out.fill(f32::NAN);
                sparse_a_bt(&sparse_a, &dense_bt, (m, k, n), &mut out);
                assert_eq!(
                    bits(&out),
                    bits(&naive(&sparse_a, &dense_bt, (m, k, n), false, true)),
                    "a·bᵀ, {threads} threads"
                );
                out.fill(f32::NAN);
                at_sparse_b(&dense_at, &sparse_b, (m, k, n), &mut out);
                assert_eq!(
                    bits(&out),
                    bits(&naive(&dense_at, &sparse_b, (m, k, n), true, false)),
                    "aᵀ·b, {threads} threads"
                );
            });
        }
    }

    fn bits(x: &[f32]) -> Vec<u32> {
        x.iter().map(|v| v.to_bits()).collect()
    }

    /// The path is taken only for sparse operands of large products.
    #[test]
    fn only_sparse_large_products_take_the_path() {
        let (m, k, n) = (128, 128, 64);
        let sparse = values(3, m * k, 20);
        let dense = values(4, m * k, 1);
        let other = values(5, k * n, 1);
        let mut out = vec![0f32; m * n];
        assert!(try_product(&sparse, &other, (m, k, n), false, false, &mut out));
        assert!(!try_product(&dense, &other, (m, k, n), false, false, &mut out));
        assert!(!try_product(&sparse[..8 * k], &other, (8, k, n), false, false, &mut out[..8 * n]));
        // Sparse A' stored transposed, or sparse B' stored transposed, is not walked.
        assert!(!try_product(&sparse, &other, (m, k, n), true, false, &mut out));
        assert!(!try_product(&other, &sparse, (n, k, m), false, true, &mut out));
    }
}
