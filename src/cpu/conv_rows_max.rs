//! CPU reference: a full-width convolution over the rows of short images,
//! fused with its bias, ReLU and max-pooling over the positions (Caser's
//! horizontal convolution), forward and backward.
//!
//! `x` holds n images of L rows of width d as rows `[n·L, d]`; `w` holds c
//! filters of h rows, row `u·c + o` being row u of filter o (`[h·c, d]`).
//! With P = L − h + 1 positions:
//!
//! ```text
//! conv[r, i, o] = Σ_u<h Σ_k<d x[r·L + i + u, k] · w[u·c + o, k]      (u outer, k inner)
//! y[r, o]       = max(0, max_i<P conv[r, i, o] + b[o]),   argmax[r, o] = the first i attaining it
//! ```
//!
//! ReLU and max commute, so this is max-pooling over ReLU(conv + b). The
//! backward reads the pooled value and its argmax only: the gradient of
//! y[r, o] reaches one position, and only where y > 0, so it costs n·c·h·d
//! multiply-adds per input instead of the n·P·c·h·d of an unfused backward.
//!
//! ```text
//! g[r, o]              = dy[r, o] if y[r, o] > 0, else 0
//! dx[r·L + j, k]       = acc[r·L + j, k] + Σ_o g[r, o] · w[(j − a)·c + o, k]   over o with 0 ≤ j − a < h, a = argmax[r, o] (o ascending)
//! dw[u·c + o, k]       = Σ_r g[r, o] · x[r·L + a + u, k]                      (r ascending)
//! db[o]                = Σ_r g[r, o]                                          (r ascending)
//! ```
//!
//! Terms with g = 0 are skipped, here and in `shaders/conv_rows_max.wgsl`, so
//! both backends sum the same terms in the same order. Work splits across
//! threads by output rows (`cpu::parallel`), which leaves each element's order
//! unchanged: the bits do not depend on the thread count.

use ndarray::ArcArray1;

use super::conv::contiguous;
use super::{from_vec, parallel, CpuIndex, CpuTensor};

/// Sizes of one call, checked against each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RowsGeom {
    /// Images.
    pub n: usize,
    /// Rows per image (L).
    pub l: usize,
    /// Row width.
    pub d: usize,
    /// Filter height.
    pub h: usize,
    /// Filters.
    pub c: usize,
}

impl RowsGeom {
    /// Positions per image, L − h + 1.
    pub fn positions(&self) -> usize {
        self.l - self.h + 1
    }

    /// Geometry from `x` `[n·L, d]`, `w` `[h·c, d]`, `c` filters and window `l`.
    pub(crate) fn new(op: &str, x: &[usize], w: &[usize], c: usize, l: usize) -> RowsGeom {
        assert!(x.len() == 2 && w.len() == 2, "{op}: expected x [n·L, d] and w [h·c, d], got {x:?} and {w:?}");
        assert!(l >= 1 && c >= 1, "{op}: window {l} and {c} filters must be at least 1");
        assert!(x[0].is_multiple_of(l), "{op}: x {x:?} is not a whole number of images of {l} rows");
        assert!(x[1] == w[1], "{op}: x rows of {} but filter rows of {}", x[1], w[1]);
        assert!(w[0].is_multiple_of(c) && w[0] >= c, "{op}: w {w:?} is not h ≥ 1 rows of {c} filters");
        let h = w[0] / c;
        assert!(h <= l, "{op}: filters of height {h} over images of {l} rows");
        RowsGeom { n: x[0] / l, l, d: x[1], h, c }
    }

    /// The geometry of a backward call, with the forward's outputs `y` and
    /// `argmax` (`argmax_len` entries), the upstream `dy` and the optional
    /// accumulator checked against it (shared with the GPU backend).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn backward(
        op: &str,
        x: &[usize],
        w: &[usize],
        y: &[usize],
        dy: &[usize],
        argmax_len: usize,
        acc: Option<&[usize]>,
        l: usize,
    ) -> RowsGeom {
        let g = RowsGeom::new(op, x, w, y.last().copied().unwrap_or(0), l);
        assert!(y == [g.n, g.c], "{op}: y {y:?} for {} images of {} filters", g.n, g.c);
        assert!(dy == y, "{op}: dy {dy:?} for y {y:?}");
        assert!(argmax_len == g.n * g.c, "{op}: argmax of {argmax_len} for y {y:?}");
        if let Some(a) = acc {
            assert!(a == x, "{op}: acc {a:?} for x {x:?}");
        }
        g
    }
}

/// Filters per vector of the forward's inner loop (AVX2's 8 lanes); the
/// filters are padded to a multiple of it, and walked two vectors at a time
/// where they fill two.
const LANES: usize = 8;
/// Most positions per block of the forward: 6 × 2 vectors of accumulators,
/// the two filter vectors and a broadcast fill AVX2's 16 registers. An
/// image's positions are cut into equal blocks (10 → 5 + 5, 7 → 4 + 3), so
/// no block is left with one or two positions' too-short dependency chains.
const BLOCK: usize = 6;

/// The filters as `[h, d, c′]`, c′ = c rounded up to [`LANES`] (zeros after
/// c): the filters' weights for one (u, k) side by side, so the forward's
/// innermost loop runs along the filters.
fn filters_last(w: &[f32], g: &RowsGeom) -> (Vec<f32>, usize) {
    let cp = g.c.next_multiple_of(LANES);
    let mut out = vec![0f32; g.h * g.d * cp];
    for u in 0..g.h {
        for o in 0..g.c {
            for k in 0..g.d {
                out[(u * g.d + k) * cp + o] = w[(u * g.c + o) * g.d + k];
            }
        }
    }
    (out, cp)
}

/// The forward: `y` `[n, c]` and the argmax positions `[n·c]`. `bias` holds c values.
pub fn conv_rows_max(x: &CpuTensor, w: &CpuTensor, bias: &CpuTensor, window: usize) -> (CpuTensor, CpuIndex) {
    let op = "conv_rows_max";
    let g = RowsGeom::new(op, x.shape(), w.shape(), bias.len(), window);
    let xs = contiguous(x);
    let (wt, cp) = filters_last(&contiguous(w), &g);
    let mut bp = contiguous(bias).to_vec();
    bp.resize(cp, 0.0);
    let work = g.n * g.positions() * g.h * g.d * g.c;
    let (mut y, mut arg) = (vec![0f32; g.n * g.c], vec![0u32; g.n * g.c]);
    parallel::for_rows_with(&mut y, g.c, &mut arg, g.c, work, |first, ys, args| {
        // Each filter's running maximum and its position, c′ of them (the padding's are dropped).
        let (mut best, mut at) = (vec![0f32; cp], vec![0u32; cp]);
        for (k, (yr, ar)) in ys.chunks_exact_mut(g.c).zip(args.chunks_exact_mut(g.c)).enumerate() {
            image_forward(&xs, &wt, &bp, &g, first + k, &mut best, &mut at);
            for (o, (yv, av)) in yr.iter_mut().zip(ar.iter_mut()).enumerate() {
                (*yv, *av) = (best[o].max(0.0), at[o]);
            }
        }
    });
    (from_vec(y, &[g.n, g.c]), ArcArray1::from(arg))
}

/// Image `r`'s maxima over positions of conv + bias and their first
/// positions, for the c′ padded filters, into `best` and `at` (by AVX2
/// intrinsics where the CPU has them: the same per-element sums, so the same bits).
fn image_forward(xs: &[f32], wt: &[f32], bp: &[f32], g: &RowsGeom, r: usize, best: &mut [f32], at: &mut [u32]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { image_forward_avx2(xs, wt, bp, g, r, best, at) };
    }
    image_forward_body::<false>(xs, wt, bp, g, r, best, at)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn image_forward_avx2(
    xs: &[f32],
    wt: &[f32],
    bp: &[f32],
    g: &RowsGeom,
    r: usize,
    best: &mut [f32],
    at: &mut [u32],
) {
    image_forward_body::<true>(xs, wt, bp, g, r, best, at)
}

/// Walks the positions in equal blocks of at most [`BLOCK`] and the filters
/// a vector or two at a time, keeping the first maximum of each filter
/// (positions ascending). `SIMD`: the blocks by AVX2 intrinsics (set only
/// inside [`image_forward_avx2`]).
#[inline(always)]
fn image_forward_body<const SIMD: bool>(
    xs: &[f32],
    wt: &[f32],
    bp: &[f32],
    g: &RowsGeom,
    r: usize,
    best: &mut [f32],
    at: &mut [u32],
) {
    let cp = bp.len();
    let positions = g.positions();
    let blocks = positions.div_ceil(BLOCK);
    let wide = cp.is_multiple_of(2 * LANES);
    let step = if wide { 2 * LANES } else { LANES };
    for o0 in (0..cp).step_by(step) {
        let (best, at) = (&mut best[o0..o0 + step], &mut at[o0..o0 + step]);
        let mut i0 = 0;
        for blk in 0..blocks {
            // Block sizes differ by at most one, the larger first.
            let np = positions / blocks + usize::from(blk < positions % blocks);
            let block = Block { xs, wt, bp, g, row0: r * g.l + i0, i0, o0 };
            macro_rules! scan {
                ($($np:literal),*) => {
                    match (wide, np) {
                        $((true, $np) => block.scan::<$np, 16, 2, SIMD>(best, at),)*
                        $((false, $np) => block.scan::<$np, 8, 1, SIMD>(best, at),)*
                        _ => unreachable!("blocks of 1 to {BLOCK} positions"),
                    }
                };
            }
            scan!(1, 2, 3, 4, 5, 6);
            i0 += np;
        }
    }
}

/// One block of the forward: positions `i0‥i0 + NP` of an image (its row
/// `i0` is row `row0` of `xs`) against the `W` filters from `o0`.
struct Block<'a> {
    xs: &'a [f32],
    /// The filters as `[h, d, c′]` ([`filters_last`]).
    wt: &'a [f32],
    /// The bias, padded to c′.
    bp: &'a [f32],
    g: &'a RowsGeom,
    row0: usize,
    i0: usize,
    o0: usize,
}

impl Block<'_> {
    /// The block's sums, then each filter's running maximum (`best`, `at`:
    /// the W filters' from `o0`), positions ascending.
    #[inline(always)]
    fn scan<const NP: usize, const W: usize, const V: usize, const SIMD: bool>(
        &self,
        best: &mut [f32],
        at: &mut [u32],
    ) {
        #[cfg(target_arch = "x86_64")]
        if SIMD {
            // SAFETY: SIMD is only set inside `image_forward_avx2`, on a CPU with AVX2.
            return unsafe { avx2::scan::<NP, V>(self, best, at) };
        }
        let acc = self.sums::<NP, W>();
        for (p, row) in acc.iter().enumerate() {
            let i = self.i0 + p;
            for (q, &a) in row.iter().enumerate() {
                let v = a + self.bp[self.o0 + q];
                // Strictly greater: ties keep the lowest position (and i = 0 always enters).
                if v > best[q] || i == 0 {
                    (best[q], at[q]) = (v, i as u32);
                }
            }
        }
    }

    /// `NP` positions' sums for the `W` filters, u then k ascending.
    #[inline(always)]
    fn sums<const NP: usize, const W: usize>(&self) -> [[f32; W]; NP] {
        let (d, cp) = (self.g.d, self.bp.len());
        let mut acc = [[0f32; W]; NP];
        for u in 0..self.g.h {
            let rows: [&[f32]; NP] = std::array::from_fn(|p| &self.xs[(self.row0 + p + u) * d..][..d]);
            for k in 0..d {
                let wv: &[f32; W] = self.wt[(u * d + k) * cp + self.o0..][..W].try_into().expect("whole vectors");
                for (out, row) in acc.iter_mut().zip(&rows) {
                    let xv = row[k];
                    for (a, &w) in out.iter_mut().zip(wv) {
                        *a += xv * w;
                    }
                }
            }
        }
        acc
    }
}

/// [`Block::scan`] in AVX2 registers: the same terms in the same order (u,
/// then k), each a multiply then an add (no FMA), and the same comparisons,
/// so the same bits.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::Block;

    /// `NP` positions against `V` vectors of 8 filters, sums and maxima.
    #[target_feature(enable = "avx2")]
    #[inline]
    pub(super) fn scan<const NP: usize, const V: usize>(blk: &Block<'_>, best: &mut [f32], at: &mut [u32]) {
        let (xs, wt, d, h, cp, o0) = (blk.xs, blk.wt, blk.g.d, blk.g.h, blk.bp.len(), blk.o0);
        // Every access below is inside these bounds.
        assert!((1..=2).contains(&V) && best.len() == 8 * V && at.len() == 8 * V, "scan: {V} vectors");
        assert!((blk.row0 + NP + h - 1) * d <= xs.len(), "scan: rows past the images");
        assert!((h * d - 1) * cp + o0 + 8 * V <= wt.len() && o0 + 8 * V <= cp, "scan: filters past the table");
        let mut acc = [[_mm256_setzero_ps(); V]; NP];
        for u in 0..h {
            // SAFETY: row row0 + p + u < row0 + NP + h − 1 and weight (u·d + k)·cp + o0 + 8v + 7 < wt.len(), asserted above.
            unsafe {
                let xr = xs.as_ptr().add((blk.row0 + u) * d);
                let wr = wt.as_ptr().add(u * d * cp + o0);
                for k in 0..d {
                    let wk = wr.add(k * cp);
                    let wv: [__m256; V] = std::array::from_fn(|v| _mm256_loadu_ps(wk.add(8 * v)));
                    for (p, row) in acc.iter_mut().enumerate() {
                        let xv = _mm256_broadcast_ss(&*xr.add(p * d + k));
                        for v in 0..V {
                            row[v] = _mm256_add_ps(row[v], _mm256_mul_ps(xv, wv[v]));
                        }
                    }
                }
            }
        }
        for v in 0..V {
            // SAFETY: best, at and bp[o0..] hold 8·V values (asserted above).
            unsafe {
                let bias = _mm256_loadu_ps(blk.bp.as_ptr().add(o0 + 8 * v));
                let (bv, iv) = (best.as_mut_ptr().add(8 * v), at.as_mut_ptr().add(8 * v).cast::<__m256i>());
                let (mut m, mut mi) = (_mm256_loadu_ps(bv), _mm256_loadu_si256(iv));
                for (p, row) in acc.iter().enumerate() {
                    let (i, s) = (blk.i0 + p, _mm256_add_ps(row[v], bias));
                    // s > m (ordered: NaN never enters, as in the scalar loop), and i = 0 always enters.
                    let gt = if i == 0 {
                        _mm256_castsi256_ps(_mm256_set1_epi32(-1))
                    } else {
                        _mm256_cmp_ps::<_CMP_GT_OQ>(s, m)
                    };
                    m = _mm256_blendv_ps(m, s, gt);
                    mi = _mm256_castps_si256(_mm256_blendv_ps(
                        _mm256_castsi256_ps(mi),
                        _mm256_castsi256_ps(_mm256_set1_epi32(i as i32)),
                        gt,
                    ));
                }
                _mm256_storeu_ps(bv, m);
                _mm256_storeu_si256(iv, mi);
            }
        }
    }
}

/// The gated upstream gradient g (zero where the pooled value is not positive).
fn gated(y: &[f32], dy: &[f32]) -> Vec<f32> {
    y.iter().zip(dy).map(|(&v, &d)| if v > 0.0 { d } else { 0.0 }).collect()
}

/// The backward: `(dx, dw, db)`, `dx` `[n·L, d]` (added to `acc` when
/// given, which has x's shape), `dw` `[h·c, d]` and `db` `[1, c]`.
#[allow(clippy::too_many_arguments)]
pub fn conv_rows_max_backward(
    x: &CpuTensor,
    w: &CpuTensor,
    y: &CpuTensor,
    argmax: &CpuIndex,
    dy: &CpuTensor,
    window: usize,
    acc: Option<&CpuTensor>,
) -> (CpuTensor, CpuTensor, CpuTensor) {
    let op = "conv_rows_max_backward";
    let acc_shape = acc.map(|a| a.shape());
    let g = RowsGeom::backward(op, x.shape(), w.shape(), y.shape(), dy.shape(), argmax.len(), acc_shape, window);
    let (xs, ws) = (contiguous(x), contiguous(w));
    let gs = gated(&contiguous(y), &contiguous(dy));
    let args: Vec<usize> = argmax.iter().map(|&a| a as usize).collect();
    let p = g.positions();
    assert!(args.iter().all(|&a| a < p), "{op}: an argmax past the {p} positions");
    let (d, l, h, c) = (g.d, g.l, g.h, g.c);

    // dx: each image's rows start as acc's (copied inside the parallel
    // loop, while they are in cache) and take their filters' terms, o ascending.
    let accs = acc.map(contiguous);
    let mut dx = vec![0f32; g.n * l * d];
    parallel::for_rows(&mut dx, l * d, g.n * (c * h * d + l * d), |first, piece| {
        for (k, image) in piece.chunks_exact_mut(l * d).enumerate() {
            let r = first + k;
            if let Some(a) = &accs {
                image.copy_from_slice(&a[r * l * d..][..l * d]);
            }
            image_backward(image, &gs[r * c..][..c], &args[r * c..][..c], &ws, &g);
        }
    });

    // dw: each filter row sums its images' rows, r ascending.
    let mut dw = vec![0f32; h * c * d];
    parallel::for_rows(&mut dw, d, g.n * c * h * d, |first, piece| {
        weight_rows_backward(piece, first, &gs, &args, &xs, &g)
    });

    let db: Vec<f32> =
        (0..c).map(|o| (0..g.n).map(|r| gs[r * c + o]).filter(|&v| v != 0.0).fold(0f32, |s, v| s + v)).collect();
    (from_vec(dx, &[g.n * l, d]), from_vec(dw, &[h * c, d]), from_vec(db, &[1, c]))
}

/// One image's input gradient: for each filter o (ascending) with a
/// gradient, its h rows scaled into the rows from its argmax on (in AVX2's
/// lanes where the CPU has them: the same per-element sums, so the same bits).
fn image_backward(image: &mut [f32], gs: &[f32], args: &[usize], ws: &[f32], g: &RowsGeom) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { image_backward_avx2(image, gs, args, ws, g) };
    }
    image_backward_body(image, gs, args, ws, g)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn image_backward_avx2(image: &mut [f32], gs: &[f32], args: &[usize], ws: &[f32], g: &RowsGeom) {
    image_backward_body(image, gs, args, ws, g)
}

#[inline(always)]
fn image_backward_body(image: &mut [f32], gs: &[f32], args: &[usize], ws: &[f32], g: &RowsGeom) {
    let (d, c) = (g.d, g.c);
    for (o, (&gv, &a)) in gs.iter().zip(args).enumerate() {
        if gv == 0.0 {
            continue;
        }
        for u in 0..g.h {
            axpy(gv, &ws[(u * c + o) * d..][..d], &mut image[(a + u) * d..][..d]);
        }
    }
}

/// Rows `first‥` of the weight gradient (`piece`): row u·c + o is
/// Σ_r g[r, o] · x[r·L + argmax + u], r ascending. The images are the outer
/// loop, so each image's rows are read once per piece while the piece's rows
/// stay in cache; each element still sums its terms in r's order.
fn weight_rows_backward(piece: &mut [f32], first: usize, gs: &[f32], args: &[usize], xs: &[f32], g: &RowsGeom) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { weight_rows_backward_avx2(piece, first, gs, args, xs, g) };
    }
    weight_rows_backward_body(piece, first, gs, args, xs, g)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn weight_rows_backward_avx2(
    piece: &mut [f32],
    first: usize,
    gs: &[f32],
    args: &[usize],
    xs: &[f32],
    g: &RowsGeom,
) {
    weight_rows_backward_body(piece, first, gs, args, xs, g)
}

#[inline(always)]
fn weight_rows_backward_body(piece: &mut [f32], first: usize, gs: &[f32], args: &[usize], xs: &[f32], g: &RowsGeom) {
    let (d, c, l) = (g.d, g.c, g.l);
    const SPAN: usize = 32;
    for (k, out) in piece.chunks_exact_mut(d).enumerate() {
        let (u, o) = ((first + k) / c, (first + k) % c);
        let x_at = |r: usize| (r * l + args[r * c + o] + u) * d;
        // SPAN columns of the row held in registers across every image (the
        // sum still runs over r in ascending order), then the rest.
        let mut at = 0;
        while at + SPAN <= d {
            let mut acc: [f32; SPAN] = out[at..at + SPAN].try_into().unwrap();
            for r in 0..g.n {
                let gv = gs[r * c + o];
                if gv != 0.0 {
                    let x: &[f32; SPAN] = xs[x_at(r) + at..][..SPAN].try_into().unwrap();
                    for t in 0..SPAN {
                        acc[t] += gv * x[t];
                    }
                }
            }
            out[at..at + SPAN].copy_from_slice(&acc);
            at += SPAN;
        }
        if at < d {
            for r in 0..g.n {
                let gv = gs[r * c + o];
                if gv != 0.0 {
                    axpy(gv, &xs[x_at(r) + at..x_at(r) + d], &mut out[at..]);
                }
            }
        }
    }
}

/// `out += a · v`, element by element.
#[inline(always)]
fn axpy(a: f32, v: &[f32], out: &mut [f32]) {
    for (o, &x) in out.iter_mut().zip(v) {
        *o += a * x;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(seed: u64, len: usize) -> Vec<f32> {
        (0..len as u64).map(|i| ((crate::rng::derive_seed(seed, i) >> 40) % 2001) as f32 / 1000.0 - 1.0).collect()
    }

    /// The formula in the module docs as plain scalar loops.
    fn naive(x: &[f32], w: &[f32], b: &[f32], g: &RowsGeom) -> (Vec<f32>, Vec<u32>) {
        let (mut y, mut arg) = (Vec::new(), Vec::new());
        for r in 0..g.n {
            for o in 0..g.c {
                let (mut best, mut at) = (0f32, 0u32);
                for i in 0..g.positions() {
                    let mut s = 0f32;
                    for u in 0..g.h {
                        for k in 0..g.d {
                            s += x[(r * g.l + i + u) * g.d + k] * w[(u * g.c + o) * g.d + k];
                        }
                    }
                    let v = s + b[o];
                    if i == 0 || v > best {
                        (best, at) = (v, i as u32);
                    }
                }
                y.push(best.max(0.0));
                arg.push(at);
            }
        }
        (y, arg)
    }

    /// The blocked (and, where present, AVX2) forward gives the scalar
    /// loops' bits on one thread and several, for filter counts on both
    /// sides of a vector and position counts on both sides of a block.
    #[test]
    fn forward_is_the_scalar_loop_bit_for_bit() {
        for (n, l, d, h, c) in
            [(1, 1, 1, 1, 1), (3, 10, 64, 5, 16), (2, 9, 7, 2, 9), (40, 6, 3, 1, 17), (5, 5, 2, 5, 8)]
        {
            let (x, w, b) = (values(1, n * l * d), values(2, h * c * d), values(3, c));
            let g = RowsGeom { n, l, d, h, c };
            let want = naive(&x, &w, &b, &g);
            for threads in [1, 3] {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let (y, arg) = pool.install(|| {
                    conv_rows_max(
                        &from_vec(x.clone(), &[n * l, d]),
                        &from_vec(w.clone(), &[h * c, d]),
                        &from_vec(b.clone(), &[c]),
                        l,
                    )
                });
                let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(y.as_slice().unwrap()), bits(&want.0), "{n}x{l}x{d} h{h} c{c}, {threads} threads");
                assert_eq!(arg.to_vec(), want.1, "{n}x{l}x{d} h{h} c{c}, {threads} threads");
            }
        }
    }

    /// The weight gradient keeps each element's sum over images in
    /// ascending order whatever the row width (on both sides of the 32
    /// columns held in registers) and the threads: the plain loop's bits.
    #[test]
    fn weight_gradient_is_the_scalar_loop_bit_for_bit() {
        for (n, l, d, h, c) in
            [(3, 10, 64, 5, 16), (7, 6, 33, 2, 3), (5, 4, 1, 1, 2), (9, 8, 70, 3, 5), (2, 3, 32, 3, 1)]
        {
            let (x, w, b) = (values(4, n * l * d), values(5, h * c * d), values(6, c));
            let g = RowsGeom { n, l, d, h, c };
            let (y, arg) = naive(&x, &w, &b, &g);
            let dy = values(7, n * c);
            let gs = gated(&y, &dy);
            let mut want = vec![0f32; h * c * d];
            for (row, out) in want.chunks_exact_mut(d).enumerate() {
                let (u, o) = (row / c, row % c);
                for r in 0..n {
                    let gv = gs[r * c + o];
                    if gv != 0.0 {
                        for (t, slot) in out.iter_mut().enumerate() {
                            *slot += gv * x[(r * l + arg[r * c + o] as usize + u) * d + t];
                        }
                    }
                }
            }
            for threads in [1, 3] {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let (_, dw, _) = pool.install(|| {
                    conv_rows_max_backward(
                        &from_vec(x.clone(), &[n * l, d]),
                        &from_vec(w.clone(), &[h * c, d]),
                        &from_vec(y.clone(), &[n, c]),
                        &CpuIndex::from(arg.clone()),
                        &from_vec(dy.clone(), &[n, c]),
                        l,
                        None,
                    )
                });
                let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(dw.as_slice().unwrap()), bits(&want), "{n}x{l}x{d} h{h} c{c}, {threads} threads");
            }
        }
    }
}
