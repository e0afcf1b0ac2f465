//! CPU reference: losses with their gradients (mean over the batch).

use super::dense::{row_max, standard, tree_sum, tree_sum_slice};
use super::fastmath;
use super::{from_vec, parallel, CpuIndex, CpuTensor};

/// Per-element (loss, gradient) of the pointwise losses; `Kind` codes match `shaders/loss.wgsl`.
#[inline(always)]
pub fn pointwise(kind: u32, x: f32, y: f32) -> (f32, f32) {
    match kind {
        // MSE
        0 => ((x - y) * (x - y), 2.0 * (x - y)),
        // BCE with logits through fastmath: e = e^−|x|, max(x,0) − x·y + ln(1 + e),
        // gradient σ(x) − y with σ(x) = 1 / (1 + e) for x ≥ 0 and e / (1 + e) below.
        1 => {
            let e = fastmath::exp(-x.abs());
            let sigma = if x >= 0.0 { 1.0 / (1.0 + e) } else { e / (1.0 + e) };
            (x.max(0.0) - x * y + fastmath::ln_1p(e), sigma - y)
        }
        // BPR on d = pos − neg: −ln σ(d) = softplus(−d)
        _ => {
            let d = x - y;
            let l = (-d).max(0.0) + (1.0 + (-d.abs()).exp()).ln();
            (l, -1.0 / (1.0 + d.exp()))
        }
    }
}

fn reduce_pointwise(kind: u32, a: &CpuTensor, b: &CpuTensor, op: &str) -> (CpuTensor, CpuTensor) {
    assert_eq!(a.shape(), b.shape(), "{op}: shapes differ");
    let n = a.len().max(1) as f32;
    let (a, b) = (standard(a), standard(b));
    let (xs, ys) = (a.as_slice().unwrap(), b.as_slice().unwrap());
    let (mut ls, mut gs) = (vec![0f32; xs.len()], vec![0f32; xs.len()]);
    // Element-wise, so pieces on several threads give the serial loop's bits
    // (the sum below stays one fixed tree).
    let per = super::parallel::elementwise_piece(xs.len());
    if per >= xs.len() {
        pointwise_slices(kind, &mut ls, &mut gs, xs, ys, n);
    } else {
        use rayon::prelude::*;
        ls.par_chunks_mut(per)
            .zip(gs.par_chunks_mut(per))
            .zip(xs.par_chunks(per).zip(ys.par_chunks(per)))
            .for_each(|((l, g), (x, y))| pointwise_slices(kind, l, g, x, y, n));
    }
    let loss = tree_sum_slice(&ls) / n;
    (from_vec(vec![loss], &[1]), from_vec(gs, a.shape()))
}

/// [`pointwise`] over slices, each gradient divided by `n`, one loop per
/// kind (no branch on the kind inside) in AVX2's 8 lanes where the CPU has
/// it; the per-element formula is the same on every path, so are the bits.
fn pointwise_slices(kind: u32, ls: &mut [f32], gs: &mut [f32], xs: &[f32], ys: &[f32], n: f32) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { pointwise_slices_avx2(kind, ls, gs, xs, ys, n) };
    }
    pointwise_slices_body(kind, ls, gs, xs, ys, n)
}

#[inline(always)]
fn pointwise_slices_body(kind: u32, ls: &mut [f32], gs: &mut [f32], xs: &[f32], ys: &[f32], n: f32) {
    match kind {
        0 => pointwise_loop::<0>(ls, gs, xs, ys, n),
        1 => pointwise_loop::<1>(ls, gs, xs, ys, n),
        _ => pointwise_loop::<2>(ls, gs, xs, ys, n),
    }
}

#[inline(always)]
fn pointwise_loop<const KIND: u32>(ls: &mut [f32], gs: &mut [f32], xs: &[f32], ys: &[f32], n: f32) {
    for ((l, g), (&x, &y)) in ls.iter_mut().zip(gs.iter_mut()).zip(xs.iter().zip(ys)) {
        let (lv, gv) = pointwise(KIND, x, y);
        (*l, *g) = (lv, gv / n);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn pointwise_slices_avx2(kind: u32, ls: &mut [f32], gs: &mut [f32], xs: &[f32], ys: &[f32], n: f32) {
    pointwise_slices_body(kind, ls, gs, xs, ys, n)
}

/// Mean squared error.
pub fn mse_loss(pred: &CpuTensor, target: &CpuTensor) -> (CpuTensor, CpuTensor) {
    reduce_pointwise(0, pred, target, "mse_loss")
}

/// Binary cross-entropy with logits.
pub fn bce_with_logits(logits: &CpuTensor, target: &CpuTensor) -> (CpuTensor, CpuTensor) {
    reduce_pointwise(1, logits, target, "bce_with_logits")
}

/// BPR loss; the gradient is for `pos` (negate it for `neg`).
pub fn bpr_loss(pos: &CpuTensor, neg: &CpuTensor) -> (CpuTensor, CpuTensor) {
    reduce_pointwise(2, pos, neg, "bpr_loss")
}

/// Fused BPR-MF loss and per-triple gradients ([`crate::Backend::bpr_triples`]),
/// in the order of `shaders/bpr_triples.wgsl`.
pub fn bpr_triples(user: &CpuTensor, item: &CpuTensor, idx: &CpuIndex, reg: f32) -> (CpuTensor, CpuTensor, CpuTensor) {
    let d = crate::backend::bpr_triples_width(user.shape(), item.shape(), idx.len());
    let n = idx.len() / 3;
    let (users, items) = (user.shape()[0], item.shape()[0]);
    let (pu, qi) = (user.as_standard_layout(), item.as_standard_layout());
    let (pu, qi) = (pu.as_slice().unwrap(), qi.as_slice().unwrap());
    let inv_n = 1.0 / n.max(1) as f32;
    let reg_n = reg * inv_n;
    if let Some(k) = (0..n).find(|&k| {
        let (u, i, j) = (idx[k] as usize, idx[n + k] as usize, idx[2 * n + k] as usize);
        u >= users || i >= items || j >= items
    }) {
        panic!("bpr_triples: triple ({}, {}, {}) outside {users} × {items}", idx[k], idx[n + k], idx[2 * n + k]);
    }
    let idx = idx.as_slice().expect("contiguous triples");
    let (mut terms, mut d_user, mut d_item) = (vec![0f32; n], vec![0f32; n * d], vec![0f32; 2 * n * d]);
    let (d_pos, d_neg) = d_item.split_at_mut(n * d);
    // Triples in parallel pieces; each triple's arithmetic is the serial loop's.
    let triple = |k: usize, term: &mut f32, du: &mut [f32], dp: &mut [f32], dn: &mut [f32]| {
        let (u, i, j) = (idx[k] as usize, idx[n + k] as usize, idx[2 * n + k] as usize);
        let (p, a, b) = (&pu[u * d..(u + 1) * d], &qi[i * d..(i + 1) * d], &qi[j * d..(j + 1) * d]);
        let xi = p.iter().zip(a).fold(0.0, |s, (x, y)| s + x * y);
        let xj = p.iter().zip(b).fold(0.0, |s, (x, y)| s + x * y);
        let x: f32 = xi - xj;
        *term = (-x).max(0.0) + (1.0 + (-x.abs()).exp()).ln();
        let g = -1.0 / (1.0 + x.exp()) * inv_n;
        for c in 0..d {
            du[c] = (a[c] - b[c]) * g + reg_n * p[c];
            let gp = p[c] * g;
            dp[c] = gp + reg_n * a[c];
            dn[c] = -gp + reg_n * b[c];
        }
    };
    let piece = |first: usize, terms: &mut [f32], du: &mut [f32], dp: &mut [f32], dn: &mut [f32]| {
        let rows = du.chunks_exact_mut(d).zip(dp.chunks_exact_mut(d)).zip(dn.chunks_exact_mut(d));
        for (t, (term, ((du, dp), dn))) in terms.iter_mut().zip(rows).enumerate() {
            // The rows a few triples ahead, so that their cache misses
            // overlap this triple's arithmetic (random rows of tables
            // larger than the cache would otherwise stall every triple).
            let k = first + t + PREFETCH_AHEAD;
            if k < n {
                super::prefetch_row(pu, idx[k] as usize * d, d);
                super::prefetch_row(qi, idx[n + k] as usize * d, d);
                super::prefetch_row(qi, idx[2 * n + k] as usize * d, d);
            }
            triple(first + t, term, du, dp, dn);
        }
    };
    match parallel::rows_per_piece(n, n * d * 8) {
        _ if d == 0 => terms.iter_mut().enumerate().for_each(|(k, t)| triple(k, t, &mut [], &mut [], &mut [])),
        None => piece(0, &mut terms, &mut d_user, d_pos, d_neg),
        Some(per) => {
            use rayon::prelude::*;
            terms
                .par_chunks_mut(per)
                .zip(d_user.par_chunks_mut(per * d))
                .zip(d_pos.par_chunks_mut(per * d))
                .zip(d_neg.par_chunks_mut(per * d))
                .enumerate()
                .for_each(|(p, (((t, du), dp), dn))| piece(p * per, t, du, dp, dn));
        }
    }
    let loss = tree_sum(terms.into_iter()) / n.max(1) as f32;
    (from_vec(vec![loss], &[1]), from_vec(d_user, &[n, d]), from_vec(d_item, &[2 * n, d]))
}

/// Triples ahead of the current one whose rows [`bpr_triples`] prefetches.
const PREFETCH_AHEAD: usize = 4;

/// Biased MF's squared errors in one pass ([`crate::Backend::mf_residuals`]),
/// in the order of `shaders/mf_residuals.wgsl`.
pub fn mf_residuals(
    factors: &CpuTensor,
    biases: &CpuTensor,
    idx: &CpuIndex,
    target: &CpuTensor,
) -> (CpuTensor, CpuTensor) {
    let (n, d) = crate::backend::mf_residuals_shape(factors.shape(), biases.shape(), idx.len(), target.shape());
    let (f, b) = (factors.as_standard_layout(), biases.as_standard_layout());
    let (f, b) = (f.as_slice().unwrap(), b.as_slice().unwrap());
    let rows = factors.shape()[0];
    let (mut terms, mut grad) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for k in 0..n {
        let (u, i) = (idx[k] as usize, idx[n + k] as usize);
        assert!(u < rows && i < rows, "mf_residuals: rows ({u}, {i}) outside {rows}");
        let dot = f[u * d..(u + 1) * d].iter().zip(&f[i * d..(i + 1) * d]).fold(0.0, |s, (x, y)| s + x * y);
        let (l, g) = pointwise(0, dot + b[u] + b[i], target[k]);
        terms.push(l);
        grad.push(g / n.max(1) as f32);
    }
    let loss = tree_sum(terms.into_iter()) / n.max(1) as f32;
    (from_vec(vec![loss], &[1]), from_vec(grad, &[n]))
}

/// Softmax cross-entropy against class indices.
pub fn softmax_cross_entropy(logits: &CpuTensor, target: &CpuIndex) -> (CpuTensor, CpuTensor) {
    assert_eq!(logits.ndim(), 2, "softmax_cross_entropy: logits {:?}", logits.shape());
    let (n, c) = (logits.shape()[0], logits.shape()[1]);
    assert_eq!(target.len(), n, "softmax_cross_entropy: {} targets for {n} rows", target.len());
    let l = logits.as_standard_layout();
    let s = l.as_slice().unwrap();
    let ts: Vec<usize> = target.iter().map(|&t| t as usize).collect();
    if let Some(&t) = ts.iter().find(|&&t| t >= c) {
        panic!("softmax_cross_entropy: target {t} >= {c} classes");
    }
    let mut grad = vec![0f32; n * c];
    let mut losses = vec![0f32; n];
    // Rows split across threads; each row's arithmetic is the serial loop's.
    parallel::for_rows_with(&mut grad, c, &mut losses, 1, n * c * 8, |first, g, ls| {
        for (k, (g, loss)) in g.chunks_exact_mut(c.max(1)).zip(ls.iter_mut()).enumerate() {
            let r = first + k;
            *loss = softmax_ce_row(&s[r * c..(r + 1) * c], ts[r], n.max(1) as f32, g);
        }
    });
    let loss = tree_sum(losses.into_iter()) / n.max(1) as f32;
    (from_vec(vec![loss], &[1]), from_vec(grad, &[n, c]))
}

/// One row of [`softmax_cross_entropy`]: writes the row's gradient (divided
/// by `n`) into `g` and returns its loss, in AVX2's lanes where the CPU has
/// them (the same per-element formula, so the same bits).
fn softmax_ce_row(row: &[f32], t: usize, n: f32, g: &mut [f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { softmax_ce_row_avx2(row, t, n, g) };
    }
    softmax_ce_row_body(row, t, n, g)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn softmax_ce_row_avx2(row: &[f32], t: usize, n: f32, g: &mut [f32]) -> f32 {
    softmax_ce_row_body(row, t, n, g)
}

#[inline(always)]
fn softmax_ce_row_body(row: &[f32], t: usize, n: f32, g: &mut [f32]) -> f32 {
    let max = row_max(row);
    // The shifted exponentials once (fastmath's, as softmax), summed in tree_sum's order.
    for (g, &v) in g.iter_mut().zip(row) {
        *g = fastmath::exp(v - max);
    }
    let sum = tree_sum_slice(g);
    let lse = max + sum.ln();
    for (j, g) in g.iter_mut().enumerate() {
        let p = *g / sum;
        *g = (p - if j == t { 1.0 } else { 0.0 }) / n;
    }
    lse - row[t]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-kind vector loops (AVX2 where present) give [`pointwise`]'s
    /// bits element by element, on lengths of 1, primes and just past a
    /// vector, over logits of both signs, zero and large magnitudes.
    #[test]
    fn pointwise_slices_are_the_scalar_formula() {
        for kind in 0..3 {
            for len in [1usize, 7, 9, 17, 1031] {
                let xs: Vec<f32> =
                    (0..len).map(|i| [0.0, -0.0, 30.0, -30.0][i % 4] + (i as f32 * 0.37).sin() * 4.0).collect();
                let ys: Vec<f32> =
                    (0..len).map(|i| if kind == 2 { (i as f32 * 0.11).cos() } else { (i % 2) as f32 }).collect();
                let (mut ls, mut gs) = (vec![f32::NAN; len], vec![f32::NAN; len]);
                pointwise_slices(kind, &mut ls, &mut gs, &xs, &ys, 3.0);
                for i in 0..len {
                    let (l, g) = pointwise(kind, xs[i], ys[i]);
                    assert_eq!(
                        (ls[i].to_bits(), gs[i].to_bits()),
                        (l.to_bits(), (g / 3.0).to_bits()),
                        "kind {kind}, element {i} of {len}"
                    );
                }
            }
        }
    }
}
