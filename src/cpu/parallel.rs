//! Data parallelism for the CPU backend, on rayon's global pool (one thread
//! per core; `GPUREC_THREADS` through `cpu::threads_from_env`, or
//! `RAYON_NUM_THREADS`, sets another count).
//!
//! Each helper splits an op's *output* into disjoint contiguous pieces, and
//! every output element is computed by the same code, in the same order of
//! terms, as the serial loop: so an op gives the same bits on any number of
//! threads (`tests/cpu_threads.rs` trains on one thread and on several and
//! compares). Only loops with enough work to repay a hand-off to another
//! thread (a few microseconds) are split; smaller ones run where they are.

use rayon::prelude::*;

/// Work (elements, or multiply-adds) below which a loop stays on the calling thread.
pub(crate) const MIN_WORK: usize = 1 << 16;

/// Pieces per thread, so that uneven rows still balance.
const PIECES_PER_THREAD: usize = 4;

/// How many rows of a loop of `rows` to hand out at a time, or `None` to
/// run it serially: `work` is the whole loop's cost in elements or multiply-adds.
pub(crate) fn rows_per_piece(rows: usize, work: usize) -> Option<usize> {
    let threads = rayon::current_num_threads();
    if threads < 2 || rows < 2 || work < MIN_WORK {
        return None;
    }
    // No piece smaller than MIN_WORK / 4 of work, and at most PIECES_PER_THREAD per thread.
    let min_rows = (MIN_WORK / 4).div_ceil(work.div_ceil(rows).max(1)).max(1);
    Some(rows.div_ceil(threads * PIECES_PER_THREAD).max(min_rows))
}

/// Calls `f(first_row, piece)` over `out` viewed as rows of `row_len`
/// elements, each piece a run of whole rows, on the pool when `work` (the
/// whole loop's cost) is large enough; else once over all of `out`.
pub(crate) fn for_rows<T: Send>(out: &mut [T], row_len: usize, work: usize, f: impl Fn(usize, &mut [T]) + Sync) {
    if row_len == 0 {
        return f(0, out);
    }
    let rows = out.len() / row_len;
    match rows_per_piece(rows, work) {
        None => f(0, out),
        Some(per) => out.par_chunks_mut(per * row_len).enumerate().for_each(|(i, piece)| f(i * per, piece)),
    }
}

/// [`for_rows`] over two outputs cut at the same rows: `out` in rows of
/// `row_len` and `side` in rows of `side_len`; `f(first_row, piece, side_piece)`.
pub(crate) fn for_rows_with<T: Send, U: Send>(
    out: &mut [T],
    row_len: usize,
    side: &mut [U],
    side_len: usize,
    work: usize,
    f: impl Fn(usize, &mut [T], &mut [U]) + Sync,
) {
    if row_len == 0 || side_len == 0 {
        return f(0, out, side);
    }
    let rows = out.len() / row_len;
    debug_assert_eq!(side.len(), rows * side_len, "for_rows_with: the side output has other rows");
    match rows_per_piece(rows, work) {
        None => f(0, out, side),
        Some(per) => out
            .par_chunks_mut(per * row_len)
            .zip(side.par_chunks_mut(per * side_len))
            .enumerate()
            .for_each(|(i, (piece, side))| f(i * per, piece, side)),
    }
}

/// Maps `f(row)` over `0..rows` in order and concatenates the results, on
/// the pool when `work` (the whole loop's cost) is large enough.
pub(crate) fn map_rows<T: Send>(rows: usize, work: usize, f: impl Fn(usize) -> Vec<T> + Sync) -> Vec<T> {
    match rows_per_piece(rows, work) {
        None => (0..rows).flat_map(&f).collect(),
        Some(per) => {
            let pieces: Vec<Vec<T>> = (0..rows.div_ceil(per))
                .into_par_iter()
                .map(|p| (p * per..rows.min((p + 1) * per)).flat_map(&f).collect())
                .collect();
            pieces.into_iter().flatten().collect()
        }
    }
}

/// Elements of an element-wise loop handed out at a time: a multiple of 64
/// (whole cache lines and vector registers).
pub(crate) fn elementwise_piece(len: usize) -> usize {
    let per = rows_per_piece(len, len).unwrap_or(len.max(1));
    per.next_multiple_of(64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap()
    }

    /// Every row is visited once, by its own index, on one thread or many,
    /// for row counts of 1, primes and just past a piece.
    #[test]
    fn every_row_once_in_order() {
        for threads in [1, 2, 3, 8] {
            pool(threads).install(|| {
                for (rows, row_len) in [(1, 1), (1, 70_000), (7, 1), (97, 1_000), (257, 300), (4_099, 17)] {
                    let mut out = vec![usize::MAX; rows * row_len];
                    for_rows(&mut out, row_len, rows * row_len, |first, piece| {
                        for (i, v) in piece.iter_mut().enumerate() {
                            *v = first * row_len + i;
                        }
                    });
                    assert!(out.iter().enumerate().all(|(i, &v)| i == v), "{threads} threads, {rows} × {row_len}");
                    let mapped = map_rows(rows, rows * row_len, |r| vec![r; 2]);
                    let want: Vec<usize> = (0..rows).flat_map(|r| [r, r]).collect();
                    assert_eq!(mapped, want, "{threads} threads, {rows} rows mapped");
                }
            });
        }
    }

    /// Small loops stay serial; large ones are split into several pieces.
    #[test]
    fn only_large_loops_are_split() {
        pool(4).install(|| {
            assert_eq!(rows_per_piece(1_000, 1_000), None);
            assert_eq!(rows_per_piece(1, 1 << 30), None);
            let per = rows_per_piece(1_000, 1 << 24).unwrap();
            assert!(per < 1_000 && 1_000usize.div_ceil(per) >= 4, "{per} rows a piece");
            assert_eq!(elementwise_piece(100) % 64, 0);
        });
        pool(1).install(|| assert_eq!(rows_per_piece(1_000, 1 << 24), None));
    }
}
