//! CPU reference: optimizer updates (mirrors `shaders/adam.wgsl`, `shaders/sgd.wgsl`).

use super::{CpuIndex, CpuTensor};
use crate::backend::AdamConfig;

/// (1 − β1^t, 1 − β2^t), computed once per step as the GPU kernel receives them.
///
/// `powi` at run time; with a constant `step` the compiler may fold it to
/// other bits, so tests that compare against these pass the step through
/// `std::hint::black_box`.
pub fn bias_corrections(cfg: &AdamConfig, step: u32) -> (f32, f32) {
    let t = step.max(1) as i32;
    (1.0 - cfg.beta1.powi(t), 1.0 - cfg.beta2.powi(t))
}

#[inline(always)]
fn adam_corrected(p: f32, g: f32, m: f32, v: f32, cfg: &AdamConfig, (bc1, bc2): (f32, f32)) -> (f32, f32, f32) {
    let g = if cfg.decoupled { g } else { g + cfg.weight_decay * p };
    let m = cfg.beta1 * m + (1.0 - cfg.beta1) * g;
    let v = cfg.beta2 * v + (1.0 - cfg.beta2) * g * g;
    let mhat = m / bc1;
    let vhat = v / bc2;
    let mut p = p;
    if cfg.decoupled {
        p -= cfg.lr * cfg.weight_decay * p;
    }
    p -= cfg.lr * mhat / (vhat.sqrt() + cfg.eps);
    (p, m, v)
}

/// Adam over a whole buffer.
pub fn adam(p: &mut CpuTensor, g: &CpuTensor, m: &mut CpuTensor, v: &mut CpuTensor, cfg: &AdamConfig, step: u32) {
    assert!(p.len() == g.len() && p.len() == m.len() && p.len() == v.len(), "adam: sizes differ");
    let g = g.as_standard_layout();
    let gs = g.as_slice().unwrap();
    let (ps, ms, vs) = (p.as_slice_mut().unwrap(), m.as_slice_mut().unwrap(), v.as_slice_mut().unwrap());
    let bc = bias_corrections(cfg, step);
    let update = |p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32]| adam_slices(p, m, v, g, cfg, bc);
    // Element-wise, so pieces on several threads give the serial loop's bits.
    let per = super::parallel::elementwise_piece(gs.len());
    if per >= gs.len() {
        update(ps, ms, vs, gs);
    } else {
        use rayon::prelude::*;
        ps.par_chunks_mut(per)
            .zip(ms.par_chunks_mut(per))
            .zip(vs.par_chunks_mut(per))
            .zip(gs.par_chunks(per))
            .for_each(|(((p, m), v), g)| update(p, m, v, g));
    }
}

/// Adam over equal-length slices, with AVX2 (8 lanes) where the CPU has
/// it. Division and square root are correctly rounded at any width and no
/// operation is reordered or contracted, so every path gives the bits of
/// [`adam_corrected`] element by element.
fn adam_slices(p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32], cfg: &AdamConfig, bc: (f32, f32)) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { adam_slices_avx2(p, m, v, g, cfg, bc) };
    }
    adam_slices_body(p, m, v, g, cfg, bc)
}

#[inline(always)]
fn adam_slices_body(p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32], cfg: &AdamConfig, bc: (f32, f32)) {
    // The two weight-decay forms as two loops, so neither carries a branch.
    if cfg.decoupled {
        adam_loop::<true>(p, m, v, g, cfg, bc)
    } else {
        adam_loop::<false>(p, m, v, g, cfg, bc)
    }
}

#[inline(always)]
fn adam_loop<const DECOUPLED: bool>(
    p: &mut [f32],
    m: &mut [f32],
    v: &mut [f32],
    g: &[f32],
    cfg: &AdamConfig,
    bc: (f32, f32),
) {
    let cfg = AdamConfig { decoupled: DECOUPLED, ..*cfg };
    for (((p, m), v), &g) in p.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(g) {
        (*p, *m, *v) = adam_corrected(*p, g, *m, *v, &cfg, bc);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn adam_slices_avx2(p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32], cfg: &AdamConfig, bc: (f32, f32)) {
    adam_slices_body(p, m, v, g, cfg, bc)
}

/// Lazy Adam over the listed rows of a `[r, d]` table.
pub fn adam_rows(
    p: &mut CpuTensor,
    rows: &CpuIndex,
    g: &CpuTensor,
    m: &mut CpuTensor,
    v: &mut CpuTensor,
    cfg: &AdamConfig,
    step: u32,
) {
    assert_eq!(p.ndim(), 2, "adam_rows: table {:?}", p.shape());
    let d = p.shape()[1];
    assert_eq!(g.shape(), &[rows.len(), d], "adam_rows: grad {:?} for {} rows of width {d}", g.shape(), rows.len());
    let g = g.as_standard_layout();
    let gs = g.as_slice().unwrap();
    let (ps, ms, vs) = (p.as_slice_mut().unwrap(), m.as_slice_mut().unwrap(), v.as_slice_mut().unwrap());
    let bc = bias_corrections(cfg, step);
    let rows = rows.as_slice().expect("contiguous row list");
    let ascending = rows.windows(2).all(|w| w[0] < w[1]);
    let per = super::parallel::rows_per_piece(rows.len(), rows.len() * d * 8).filter(|_| ascending && d > 0);
    let Some(per) = per else {
        return adam_rows_piece(RowTables { p: ps, m: ms, v: vs, d, first_row: 0 }, rows, gs, cfg, bc);
    };
    // Rows listed in ascending order (as row groupings list them) cut the
    // tables into disjoint spans, one per piece of the list: the pieces run
    // in parallel, each row's update the serial loop's.
    let mut pieces = Vec::new();
    let (mut ps, mut ms, mut vs, mut start) = (ps, ms, vs, 0usize);
    for (k, chunk) in rows.chunks(per).enumerate() {
        // This piece's span: from its first row to the end of its last.
        let (from, end) = (chunk[0] as usize * d, (*chunk.last().unwrap() as usize + 1) * d);
        let (p, m, v) = (
            cut_span(&mut ps, from - start, end - start),
            cut_span(&mut ms, from - start, end - start),
            cut_span(&mut vs, from - start, end - start),
        );
        pieces.push((RowTables { p, m, v, d, first_row: chunk[0] as usize }, chunk, k * per));
        start = end;
    }
    use rayon::prelude::*;
    pieces
        .into_par_iter()
        .for_each(|(t, chunk, first)| adam_rows_piece(t, chunk, &gs[first * d..(first + chunk.len()) * d], cfg, bc));
}

/// Splits `[from, end)` off the front of `*t` (dropping `[0, from)`) and leaves the rest in `*t`.
fn cut_span<'a>(t: &mut &'a mut [f32], from: usize, end: usize) -> &'a mut [f32] {
    let (span, rest) = std::mem::take(t).split_at_mut(end);
    *t = rest;
    &mut span[from..]
}

fn adam_rows_piece(t: RowTables<'_>, rows: &[u32], g: &[f32], cfg: &AdamConfig, bc: (f32, f32)) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { adam_rows_avx2(t, rows, g, cfg, bc) };
    }
    adam_rows_body(t, rows, g, cfg, bc)
}

/// Rows `first_row..` of a `[r, d]` table and of its two Adam moments, as flat slices.
struct RowTables<'a> {
    p: &'a mut [f32],
    m: &'a mut [f32],
    v: &'a mut [f32],
    d: usize,
    first_row: usize,
}

/// Each listed row as one run of [`adam_slices_body`] (eight lanes at a
/// time under AVX2): the bits of the element-wise update, row by row.
#[inline(always)]
fn adam_rows_body(t: RowTables<'_>, rows: &[u32], g: &[f32], cfg: &AdamConfig, bc: (f32, f32)) {
    let d = t.d;
    for (k, &r) in rows.iter().enumerate() {
        let at = (r as usize - t.first_row) * d..(r as usize - t.first_row + 1) * d;
        adam_slices_body(&mut t.p[at.clone()], &mut t.m[at.clone()], &mut t.v[at], &g[k * d..(k + 1) * d], cfg, bc);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn adam_rows_avx2(t: RowTables<'_>, rows: &[u32], g: &[f32], cfg: &AdamConfig, bc: (f32, f32)) {
    adam_rows_body(t, rows, g, cfg, bc)
}

/// SGD with momentum.
pub fn sgd(p: &mut CpuTensor, g: &CpuTensor, vel: &mut CpuTensor, lr: f32, momentum: f32, weight_decay: f32) {
    assert!(p.len() == g.len() && p.len() == vel.len(), "sgd: sizes differ");
    let g = g.as_standard_layout();
    let gs = g.as_slice().unwrap();
    let (ps, vs) = (p.as_slice_mut().unwrap(), vel.as_slice_mut().unwrap());
    for i in 0..gs.len() {
        vs[i] = momentum * vs[i] + gs[i] + weight_decay * ps[i];
        ps[i] -= lr * vs[i];
    }
}

/// Adagrad with L2 weight decay.
pub fn adagrad(p: &mut CpuTensor, g: &CpuTensor, accum: &mut CpuTensor, lr: f32, eps: f32, weight_decay: f32) {
    assert!(p.len() == g.len() && p.len() == accum.len(), "adagrad: sizes differ");
    let g = g.as_standard_layout();
    let gs = g.as_slice().unwrap();
    let (ps, ss) = (p.as_slice_mut().unwrap(), accum.as_slice_mut().unwrap());
    for i in 0..gs.len() {
        let gi = gs[i] + weight_decay * ps[i];
        ss[i] += gi * gi;
        ps[i] -= lr * gi / (ss[i].sqrt() + eps);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector path (AVX2 where present) gives the scalar formula's bits
    /// element by element, for both weight-decay forms, on lengths of 1,
    /// primes and just past a vector.
    #[test]
    fn adam_slices_are_the_scalar_formula() {
        for decoupled in [false, true] {
            let cfg = AdamConfig { lr: 3e-3, weight_decay: 0.01, decoupled, ..AdamConfig::default() };
            let bc = bias_corrections(&cfg, 7);
            for len in [1usize, 7, 9, 17, 1031] {
                let val = |seed: u64, i: usize| ((crate::rng::derive_seed(seed, i as u64) >> 40) as f32 / 8.4e6) - 1.0;
                let g: Vec<f32> = (0..len).map(|i| val(1, i)).collect();
                let (mut p, mut m): (Vec<f32>, Vec<f32>) =
                    ((0..len).map(|i| val(2, i)).collect(), (0..len).map(|i| 0.1 * val(3, i)).collect());
                let mut v: Vec<f32> = (0..len).map(|i| 0.01 * val(4, i).abs()).collect();
                let want: Vec<(f32, f32, f32)> =
                    (0..len).map(|i| adam_corrected(p[i], g[i], m[i], v[i], &cfg, bc)).collect();
                adam_slices(&mut p, &mut m, &mut v, &g, &cfg, bc);
                for (i, &(wp, wm, wv)) in want.iter().enumerate() {
                    assert_eq!(
                        (p[i].to_bits(), m[i].to_bits(), v[i].to_bits()),
                        (wp.to_bits(), wm.to_bits(), wv.to_bits()),
                        "element {i} of {len}, decoupled {decoupled}"
                    );
                }
            }
        }
    }

    /// Lazy Adam updates exactly the listed rows, each with the scalar
    /// formula's bits, and leaves the others alone (widths 1, primes, 64).
    #[test]
    fn adam_rows_are_the_scalar_formula_on_listed_rows() {
        let cfg = AdamConfig { lr: 1e-2, weight_decay: 1e-3, ..AdamConfig::default() };
        let bc = bias_corrections(&cfg, std::hint::black_box(3));
        for d in [1usize, 7, 13, 64] {
            let n = 11;
            let val = |seed: u64, i: usize| ((crate::rng::derive_seed(seed, i as u64) >> 40) as f32 / 8.4e6) - 1.0;
            let init = |seed: u64, scale: f32| -> CpuTensor {
                super::super::from_vec((0..n * d).map(|i| scale * val(seed, i).abs()).collect(), &[n, d])
            };
            let (p0, m0, v0) = (init(5, 1.0), init(6, 0.1), init(7, 0.01));
            let rows = [9u32, 0, 4];
            let g = super::super::from_vec((0..rows.len() * d).map(|i| val(8, i)).collect(), &[rows.len(), d]);
            let (mut p, mut m, mut v) = (p0.clone(), m0.clone(), v0.clone());
            adam_rows(&mut p, &CpuIndex::from(rows.to_vec()), &g, &mut m, &mut v, &cfg, 3);
            for r in 0..n {
                let k = rows.iter().position(|&x| x as usize == r);
                for j in 0..d {
                    let (i, old) = (r * d + j, (p0[[r, j]], m0[[r, j]], v0[[r, j]]));
                    let want = k.map_or(old, |k| adam_corrected(old.0, g[[k, j]], old.1, old.2, &cfg, bc));
                    assert_eq!(
                        (
                            p.as_slice().unwrap()[i].to_bits(),
                            m.as_slice().unwrap()[i].to_bits(),
                            v.as_slice().unwrap()[i].to_bits()
                        ),
                        (want.0.to_bits(), want.1.to_bits(), want.2.to_bits()),
                        "row {r} column {j} of width {d}"
                    );
                }
            }
        }
    }

    /// Ascending row lists large enough to split run in pieces on several
    /// threads: the same bits as the formula, other rows untouched.
    #[test]
    fn adam_rows_in_parallel_pieces_are_the_scalar_formula() {
        let cfg = AdamConfig { lr: 1e-2, ..AdamConfig::default() };
        let bc = bias_corrections(&cfg, std::hint::black_box(2));
        let (n, d) = (5_000usize, 33usize);
        let val = |seed: u64, i: usize| ((crate::rng::derive_seed(seed, i as u64) >> 40) as f32 / 8.4e6) - 1.0;
        let init = |seed: u64, scale: f32| -> CpuTensor {
            super::super::from_vec((0..n * d).map(|i| scale * val(seed, i).abs()).collect(), &[n, d])
        };
        let (p0, m0, v0) = (init(1, 1.0), init(2, 0.1), init(3, 0.01));
        let rows: Vec<u32> = (0..n as u32).filter(|r| r % 3 == 0).collect();
        let g = super::super::from_vec((0..rows.len() * d).map(|i| val(4, i)).collect(), &[rows.len(), d]);
        let (mut p, mut m, mut v) = (p0.to_shared(), m0.to_shared(), v0.to_shared());
        let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        pool.install(|| adam_rows(&mut p, &CpuIndex::from(rows.clone()), &g, &mut m, &mut v, &cfg, 2));
        let (ps, ms, vs) = (p.as_slice().unwrap(), m.as_slice().unwrap(), v.as_slice().unwrap());
        let (p0, m0, v0) = (p0.as_slice().unwrap(), m0.as_slice().unwrap(), v0.as_slice().unwrap());
        let gs = g.as_slice().unwrap();
        for r in 0..n {
            let k = rows.binary_search(&(r as u32)).ok();
            for j in 0..d {
                let i = r * d + j;
                let want =
                    k.map_or((p0[i], m0[i], v0[i]), |k| adam_corrected(p0[i], gs[k * d + j], m0[i], v0[i], &cfg, bc));
                assert_eq!(
                    (ps[i].to_bits(), ms[i].to_bits(), vs[i].to_bits()),
                    (want.0.to_bits(), want.1.to_bits(), want.2.to_bits()),
                    "row {r} column {j}"
                );
            }
        }
    }
}
