//! CPU reference: convolution (cross-correlation, like PyTorch) and
//! max-pooling, forward and backward.
//!
//! 1-D convolution is the 2-D one over an `h = 1` image. Every output element
//! sums its terms in the same fixed order as the matching kernel in
//! `shaders/conv2d.wgsl` / `shaders/maxpool.wgsl` (see the loop orders noted
//! on each function), so the two backends agree to rounding.

use ndarray::ArcArray1;

use super::{from_vec, parallel, CpuIndex, CpuTensor};

/// Sizes of one 2-D convolution, checked against each other.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConvGeom {
    pub n: usize,
    pub ci: usize,
    pub h: usize,
    pub w: usize,
    pub co: usize,
    pub kh: usize,
    pub kw: usize,
    pub ho: usize,
    pub wo: usize,
    pub sh: usize,
    pub sw: usize,
    pub ph: usize,
    pub pw: usize,
}

/// Output length of a convolution or pooling window sweep: `(len + 2·pad − k) / stride + 1`.
pub(crate) fn out_len(op: &str, len: usize, k: usize, stride: usize, pad: usize) -> usize {
    assert!(stride >= 1, "{op}: stride must be at least 1");
    assert!(k >= 1, "{op}: kernel size must be at least 1");
    assert!(len + 2 * pad >= k, "{op}: kernel {k} longer than the padded input {len} + 2·{pad}");
    (len + 2 * pad - k) / stride + 1
}

impl ConvGeom {
    /// Geometry from the input shape `[n, ci, h, w]` and weight shape `[co, ci, kh, kw]`.
    pub(crate) fn new(
        op: &str,
        x: &[usize],
        wt: &[usize],
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> ConvGeom {
        assert!(x.len() == 4, "{op}: expected x [n, c_in, h, w], got {x:?}");
        assert!(wt.len() == 4, "{op}: expected w [c_out, c_in, kh, kw], got {wt:?}");
        assert!(x[1] == wt[1], "{op}: x {x:?} has {} channels but w {wt:?} expects {}", x[1], wt[1]);
        let ho = out_len(op, x[2], wt[2], stride.0, padding.0);
        let wo = out_len(op, x[3], wt[3], stride.1, padding.1);
        ConvGeom {
            n: x[0],
            ci: x[1],
            h: x[2],
            w: x[3],
            co: wt[0],
            kh: wt[2],
            kw: wt[3],
            ho,
            wo,
            sh: stride.0,
            sw: stride.1,
            ph: padding.0,
            pw: padding.1,
        }
    }

    /// Shape of the output `[n, co, ho, wo]`.
    pub(crate) fn out_shape(&self) -> [usize; 4] {
        [self.n, self.co, self.ho, self.wo]
    }

    /// The output positions `i` (ascending) whose window puts kernel offset
    /// `p` inside an input of `len` (stride `s`, padding `pad`): those that
    /// read input row `i·s + p − pad`, every other one reads the padding.
    fn inside(p: usize, s: usize, pad: usize, len: usize, out: usize) -> std::ops::Range<usize> {
        let lo = pad.saturating_sub(p).div_ceil(s);
        let hi = if len + pad > p { ((len + pad - p - 1) / s + 1).min(out) } else { 0 };
        lo.min(hi)..hi
    }
}

/// Checks the shapes of a 1-D convolution in its own terms (`x` `[n, c_in, l]`,
/// `w` `[c_out, c_in, k]`, and `dy` `[n, c_out, l_out]` when given), so that
/// errors name the 1-D op and shapes rather than the 2-D path it runs on.
pub(crate) fn check_conv1d(op: &str, x: &[usize], w: &[usize], dy: Option<&[usize]>, stride: usize, padding: usize) {
    assert!(x.len() == 3, "{op}: expected x [n, c_in, l], got {x:?}");
    assert!(w.len() == 3, "{op}: expected w [c_out, c_in, k], got {w:?}");
    assert!(x[1] == w[1], "{op}: x {x:?} has {} channels but w {w:?} expects {}", x[1], w[1]);
    let lo = out_len(op, x[2], w[2], stride, padding);
    if let Some(dy) = dy {
        let want = [x[0], w[0], lo];
        assert!(dy == want, "{op}: dy {dy:?} is not the output shape {want:?} of this convolution");
    }
}

pub(crate) fn contiguous(t: &CpuTensor) -> std::borrow::Cow<'_, [f32]> {
    match t.as_slice() {
        Some(s) => s.into(),
        None => t.iter().copied().collect::<Vec<f32>>().into(),
    }
}

/// `[a, b, l]` → `[a, b, 1, l]` (shapes already checked).
fn to_4d(t: &CpuTensor) -> CpuTensor {
    let s = t.shape();
    from_vec(contiguous(t).into_owned(), &[s[0], s[1], 1, s[2]])
}

/// `[a, b, 1, l]` → `[a, b, l]`.
fn to_3d(t: &CpuTensor) -> CpuTensor {
    let s = t.shape();
    from_vec(contiguous(t).into_owned(), &[s[0], s[1], s[3]])
}

/// 1-D convolution: `x` `[n, c_in, l]`, `w` `[c_out, c_in, k]` → `[n, c_out, l_out]`.
pub fn conv1d(x: &CpuTensor, w: &CpuTensor, bias: Option<&CpuTensor>, stride: usize, padding: usize) -> CpuTensor {
    check_conv1d("conv1d", x.shape(), w.shape(), None, stride, padding);
    if let Some(b) = bias {
        assert!(b.shape() == [w.shape()[0]], "conv1d: bias {:?} for w {:?}", b.shape(), w.shape());
    }
    to_3d(&conv2d(&to_4d(x), &to_4d(w), bias, (1, stride), (0, padding)))
}

/// Gradient of [`conv1d`] with respect to its input of length `l`.
pub fn conv1d_backward_input(dy: &CpuTensor, w: &CpuTensor, l: usize, stride: usize, padding: usize) -> CpuTensor {
    let (ds, ws) = (dy.shape(), w.shape());
    assert!(ds.len() == 3, "conv1d_backward_input: expected dy [n, c_out, l_out], got {ds:?}");
    assert!(ws.len() == 3, "conv1d_backward_input: expected w [c_out, c_in, k], got {ws:?}");
    check_conv1d("conv1d_backward_input", &[ds[0], ws[1], l], ws, Some(ds), stride, padding);
    to_3d(&conv2d_backward_input(&to_4d(dy), &to_4d(w), (1, l), (1, stride), (0, padding)))
}

/// Gradients of [`conv1d`] with respect to its weight (kernel length `k`) and bias.
pub fn conv1d_backward_weight(
    x: &CpuTensor,
    dy: &CpuTensor,
    k: usize,
    stride: usize,
    padding: usize,
) -> (CpuTensor, CpuTensor) {
    let (xs, ds) = (x.shape(), dy.shape());
    assert!(xs.len() == 3, "conv1d_backward_weight: expected x [n, c_in, l], got {xs:?}");
    assert!(ds.len() == 3, "conv1d_backward_weight: expected dy [n, c_out, l_out], got {ds:?}");
    check_conv1d("conv1d_backward_weight", xs, &[ds[1], xs[1], k], Some(ds), stride, padding);
    let (dw, db) = conv2d_backward_weight(&to_4d(x), &to_4d(dy), (1, k), (1, stride), (0, padding));
    (to_3d(&dw), db)
}

/// 2-D convolution. Each output sums over (c_in, kh, kw) in that order, then adds the bias.
///
/// Computed plane by plane, in parallel over (n, c_out): each weight scales
/// the window-shifted input rows into the output plane (a contiguous
/// multiply-add at stride 1), loops in (c_in, kh, kw) order, so every output
/// element receives its terms in the order above.
pub fn conv2d(
    x: &CpuTensor,
    w: &CpuTensor,
    bias: Option<&CpuTensor>,
    stride: (usize, usize),
    padding: (usize, usize),
) -> CpuTensor {
    let g = ConvGeom::new("conv2d", x.shape(), w.shape(), stride, padding);
    if let Some(b) = bias {
        assert!(b.shape() == [g.co], "conv2d: bias {:?} for {} output channels", b.shape(), g.co);
    }
    let (xs, ws) = (contiguous(x), contiguous(w));
    let bs = bias.map(contiguous);
    let plane = g.ho * g.wo;
    let mut out = vec![0f32; g.n * g.co * plane];
    let work = out.len() * g.ci * g.kh * g.kw;
    parallel::for_rows(&mut out, plane, work, |first, planes| {
        for (t, out_plane) in planes.chunks_exact_mut(plane).enumerate() {
            let (b, o) = ((first + t) / g.co, (first + t) % g.co);
            for c in 0..g.ci {
                let x_plane = &xs[(b * g.ci + c) * g.h * g.w..][..g.h * g.w];
                for p in 0..g.kh {
                    for q in 0..g.kw {
                        let wv = ws[((o * g.ci + c) * g.kh + p) * g.kw + q];
                        let js = ConvGeom::inside(q, g.sw, g.pw, g.w, g.wo);
                        for i in ConvGeom::inside(p, g.sh, g.ph, g.h, g.ho) {
                            let x_row = &x_plane[(i * g.sh + p - g.ph) * g.w..][..g.w];
                            let out_row = &mut out_plane[i * g.wo..][..g.wo];
                            if g.sw == 1 {
                                let x_run = &x_row[js.start + q - g.pw..];
                                for (v, &xv) in out_row[js.clone()].iter_mut().zip(x_run) {
                                    *v += xv * wv;
                                }
                            } else {
                                for j in js.clone() {
                                    out_row[j] += x_row[j * g.sw + q - g.pw] * wv;
                                }
                            }
                        }
                    }
                }
            }
            if let Some(bs) = &bs {
                out_plane.iter_mut().for_each(|v| *v += bs[o]);
            }
        }
    });
    from_vec(out, &g.out_shape())
}

/// Checks that `dy` has the output shape of a convolution with geometry `g`.
pub(crate) fn check_dy(op: &str, dy: &[usize], g: &ConvGeom) {
    assert!(dy == g.out_shape(), "{op}: dy {dy:?} is not the output shape {:?} of this convolution", g.out_shape());
}

/// Gradient of [`conv2d`] with respect to its input of spatial size `hw`:
/// a gather, each input element summing over (c_out, kh, kw) in that order.
///
/// Computed plane by plane, in parallel over (n, c_in): each weight scales
/// the output gradient's rows back onto the input rows its windows read,
/// loops in (c_out, kh, kw) order, so every element receives its terms in
/// the order above.
pub fn conv2d_backward_input(
    dy: &CpuTensor,
    w: &CpuTensor,
    hw: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
) -> CpuTensor {
    let op = "conv2d_backward_input";
    let ds = dy.shape();
    assert!(ds.len() == 4, "{op}: expected dy [n, c_out, ho, wo], got {ds:?}");
    assert!(w.ndim() == 4, "{op}: expected w [c_out, c_in, kh, kw], got {:?}", w.shape());
    let g = ConvGeom::new(op, &[ds[0], w.shape()[1], hw.0, hw.1], w.shape(), stride, padding);
    check_dy(op, ds, &g);
    let (dys, ws) = (contiguous(dy), contiguous(w));
    let plane = g.h * g.w;
    let mut out = vec![0f32; g.n * g.ci * plane];
    let work = g.n * g.co * g.ho * g.wo * g.ci * g.kh * g.kw;
    parallel::for_rows(&mut out, plane, work, |first, planes| {
        for (t, dx_plane) in planes.chunks_exact_mut(plane).enumerate() {
            let (b, c) = ((first + t) / g.ci, (first + t) % g.ci);
            for o in 0..g.co {
                let dy_plane = &dys[(b * g.co + o) * g.ho * g.wo..][..g.ho * g.wo];
                for p in 0..g.kh {
                    for q in 0..g.kw {
                        let wv = ws[((o * g.ci + c) * g.kh + p) * g.kw + q];
                        let js = ConvGeom::inside(q, g.sw, g.pw, g.w, g.wo);
                        for i in ConvGeom::inside(p, g.sh, g.ph, g.h, g.ho) {
                            let dy_row = &dy_plane[i * g.wo..][..g.wo];
                            let dx_row = &mut dx_plane[(i * g.sh + p - g.ph) * g.w..][..g.w];
                            if g.sw == 1 {
                                let dx_run = &mut dx_row[js.start + q - g.pw..];
                                for (v, &d) in dx_run.iter_mut().zip(&dy_row[js.clone()]) {
                                    *v += d * wv;
                                }
                            } else {
                                for j in js.clone() {
                                    dx_row[j * g.sw + q - g.pw] += dy_row[j] * wv;
                                }
                            }
                        }
                    }
                }
            }
        }
    });
    from_vec(out, &[g.n, g.ci, g.h, g.w])
}

/// Gradients of [`conv2d`] with respect to its weight (kernel `khw`) and bias.
/// Each weight sums over (n, ho, wo) in that order; each bias over (n, ho, wo).
/// The weights are computed in parallel, each a dot product over the
/// in-bounds positions only.
pub fn conv2d_backward_weight(
    x: &CpuTensor,
    dy: &CpuTensor,
    khw: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
) -> (CpuTensor, CpuTensor) {
    let op = "conv2d_backward_weight";
    let (xsh, ds) = (x.shape(), dy.shape());
    assert!(xsh.len() == 4, "{op}: expected x [n, c_in, h, w], got {xsh:?}");
    assert!(ds.len() == 4, "{op}: expected dy [n, c_out, ho, wo], got {ds:?}");
    let g = ConvGeom::new(op, xsh, &[ds[1], xsh[1], khw.0, khw.1], stride, padding);
    check_dy(op, ds, &g);
    let (xs, dys) = (contiguous(x), contiguous(dy));
    let mut dw = vec![0f32; g.co * g.ci * g.kh * g.kw];
    let work = dw.len() * g.n * g.ho * g.wo;
    // Work items: one kernel tap (p, q) and up to SLOTS (filter, channel)
    // pairs, whose sums share every loop bound; their accumulators advance
    // together (independent chains instead of one long dependent one), and
    // each still adds its terms in the order b, i, j.
    const SLOTS: usize = 8;
    let pairs = g.co * g.ci;
    let groups = pairs.div_ceil(SLOTS);
    let sums = parallel::map_rows(g.kh * g.kw * groups, work, |item| {
        let (tap, group) = (item / groups, item % groups);
        let (p, q) = (tap / g.kw, tap % g.kw);
        let slots: Vec<usize> = (group * SLOTS..pairs.min((group + 1) * SLOTS)).collect();
        let js = ConvGeom::inside(q, g.sw, g.pw, g.w, g.wo);
        let mut acc = [0f32; SLOTS];
        let (mut dy_rows, mut x_rows): (Vec<&[f32]>, Vec<&[f32]>) = (Vec::new(), Vec::new());
        for b in 0..g.n {
            for i in ConvGeom::inside(p, g.sh, g.ph, g.h, g.ho) {
                dy_rows.clear();
                x_rows.clear();
                for &oc in &slots {
                    let (o, c) = (oc / g.ci, oc % g.ci);
                    dy_rows.push(&dys[((b * g.co + o) * g.ho + i) * g.wo..][..g.wo]);
                    x_rows.push(&xs[((b * g.ci + c) * g.h + i * g.sh + p - g.ph) * g.w..][..g.w]);
                }
                if let (Ok(dy8), Ok(x8), 1) =
                    (<&[&[f32]; SLOTS]>::try_from(&dy_rows[..]), <&[&[f32]; SLOTS]>::try_from(&x_rows[..]), g.sw)
                {
                    // A full group at stride 1: the rows cut to the valid
                    // columns, so the eight chains run without index checks.
                    let (lo, hi) = (js.start, js.end);
                    let dy8: [&[f32]; SLOTS] = std::array::from_fn(|s| &dy8[s][lo..hi]);
                    let x8: [&[f32]; SLOTS] = std::array::from_fn(|s| &x8[s][lo + q - g.pw..hi + q - g.pw]);
                    for t in 0..hi - lo {
                        for s in 0..SLOTS {
                            acc[s] += dy8[s][t] * x8[s][t];
                        }
                    }
                    continue;
                }
                for j in js.clone() {
                    let at = j * g.sw + q - g.pw;
                    for (s, (dy_row, x_row)) in dy_rows.iter().zip(&x_rows).enumerate() {
                        acc[s] += dy_row[j] * x_row[at];
                    }
                }
            }
        }
        slots.iter().zip(acc).map(|(&oc, v)| ((oc * g.kh + p) * g.kw + q, v)).collect::<Vec<_>>()
    });
    for (flat, v) in sums {
        dw[flat] = v;
    }
    let plane = g.ho * g.wo;
    let db: Vec<f32> = (0..g.co)
        .map(|o| {
            let mut acc = 0f32;
            for b in 0..g.n {
                let start = (b * g.co + o) * plane;
                for &v in &dys[start..start + plane] {
                    acc += v;
                }
            }
            acc
        })
        .collect();
    (from_vec(dw, &[g.co, g.ci, g.kh, g.kw]), from_vec(db, &[g.co]))
}

/// Pooling geometry: (planes n·c, h, w, ho, wo) from `[n, c, h, w]`.
pub(crate) fn pool_geom(
    op: &str,
    shape: &[usize],
    kernel: (usize, usize),
    stride: (usize, usize),
) -> (usize, usize, usize, usize, usize) {
    assert!(shape.len() == 4, "{op}: expected [n, c, h, w], got {shape:?}");
    let ho = out_len(op, shape[2], kernel.0, stride.0, 0);
    let wo = out_len(op, shape[3], kernel.1, stride.1, 0);
    (shape[0] * shape[1], shape[2], shape[3], ho, wo)
}

/// Max-pooling without padding. The window is scanned row by row and a later
/// element replaces the running maximum only when strictly greater, so ties
/// keep the lowest flat position.
pub fn maxpool2d(x: &CpuTensor, kernel: (usize, usize), stride: (usize, usize)) -> (CpuTensor, CpuIndex) {
    let (planes, h, w, ho, wo) = pool_geom("maxpool2d", x.shape(), kernel, stride);
    let xs = contiguous(x);
    let mut out = Vec::with_capacity(planes * ho * wo);
    let mut arg = Vec::with_capacity(planes * ho * wo);
    for pl in 0..planes {
        let plane = &xs[pl * h * w..(pl + 1) * h * w];
        for i in 0..ho {
            for j in 0..wo {
                let mut best_pos = i * stride.0 * w + j * stride.1;
                let mut best = plane[best_pos];
                for p in 0..kernel.0 {
                    for q in 0..kernel.1 {
                        let pos = (i * stride.0 + p) * w + j * stride.1 + q;
                        if plane[pos] > best {
                            best = plane[pos];
                            best_pos = pos;
                        }
                    }
                }
                out.push(best);
                arg.push(best_pos as u32);
            }
        }
    }
    let s = x.shape();
    (from_vec(out, &[s[0], s[1], ho, wo]), ArcArray1::from(arg))
}

/// Gradient of [`maxpool2d`]: each input position sums, over the windows that
/// cover it in row-major window order, the `dy` of those whose argmax it is.
pub fn maxpool2d_backward(
    dy: &CpuTensor,
    argmax: &CpuIndex,
    input_shape: &[usize],
    kernel: (usize, usize),
    stride: (usize, usize),
) -> CpuTensor {
    let op = "maxpool2d_backward";
    let (planes, h, w, ho, wo) = pool_geom(op, input_shape, kernel, stride);
    let want = [input_shape[0], input_shape[1], ho, wo];
    assert!(dy.shape() == want, "{op}: dy {:?} for input {input_shape:?} (expected {want:?})", dy.shape());
    assert!(argmax.len() == dy.len(), "{op}: argmax of {} for dy {:?}", argmax.len(), dy.shape());
    let dys = contiguous(dy);
    let args: Vec<u32> = argmax.iter().copied().collect();
    let mut out = Vec::with_capacity(planes * h * w);
    for pl in 0..planes {
        for y in 0..h {
            // Windows i with i·sh ≤ y < i·sh + kh.
            let i_lo = (y + 1).saturating_sub(kernel.0).div_ceil(stride.0);
            let i_hi = (y / stride.0).min(ho - 1);
            for xx in 0..w {
                let j_lo = (xx + 1).saturating_sub(kernel.1).div_ceil(stride.1);
                let j_hi = (xx / stride.1).min(wo - 1);
                let pos = (y * w + xx) as u32;
                let mut acc = 0f32;
                for i in i_lo..=i_hi {
                    for j in j_lo..=j_hi {
                        let k = (pl * ho + i) * wo + j;
                        if args[k] == pos {
                            acc += dys[k];
                        }
                    }
                }
                out.push(acc);
            }
        }
    }
    from_vec(out, input_shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Input index read by output `i` at kernel offset `p`, if inside (the naive loops' test).
    fn src(i: usize, p: usize, s: usize, pad: usize, len: usize) -> Option<usize> {
        (i * s + p).checked_sub(pad).filter(|&v| v < len)
    }

    /// The three convolution loops written plainly: every term tested for
    /// the padding, summed in the documented orders.
    fn naive(x: &[f32], w: &[f32], dy: &[f32], g: &ConvGeom) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let xi = |b: usize, c: usize, y: usize, xx: usize| ((b * g.ci + c) * g.h + y) * g.w + xx;
        let wi = |o: usize, c: usize, p: usize, q: usize| ((o * g.ci + c) * g.kh + p) * g.kw + q;
        let yi = |b: usize, o: usize, i: usize, j: usize| ((b * g.co + o) * g.ho + i) * g.wo + j;
        let mut out = vec![0f32; g.n * g.co * g.ho * g.wo];
        for (b, o, i, j) in grid4(g.n, g.co, g.ho, g.wo) {
            let mut acc = 0f32;
            for (c, p, q) in (0..g.ci).flat_map(|c| (0..g.kh).flat_map(move |p| (0..g.kw).map(move |q| (c, p, q)))) {
                if let (Some(y), Some(xx)) = (src(i, p, g.sh, g.ph, g.h), src(j, q, g.sw, g.pw, g.w)) {
                    acc += x[xi(b, c, y, xx)] * w[wi(o, c, p, q)];
                }
            }
            out[yi(b, o, i, j)] = acc;
        }
        let mut dx = vec![0f32; x.len()];
        for (b, c, y, xx) in grid4(g.n, g.ci, g.h, g.w) {
            let mut acc = 0f32;
            for (o, p, q) in (0..g.co).flat_map(|o| (0..g.kh).flat_map(move |p| (0..g.kw).map(move |q| (o, p, q)))) {
                for (i, j) in (0..g.ho).flat_map(|i| (0..g.wo).map(move |j| (i, j))) {
                    if src(i, p, g.sh, g.ph, g.h) == Some(y) && src(j, q, g.sw, g.pw, g.w) == Some(xx) {
                        acc += dy[yi(b, o, i, j)] * w[wi(o, c, p, q)];
                    }
                }
            }
            dx[xi(b, c, y, xx)] = acc;
        }
        let mut dw = vec![0f32; w.len()];
        for (o, c, p, q) in grid4(g.co, g.ci, g.kh, g.kw) {
            let mut acc = 0f32;
            for (b, i, j) in (0..g.n).flat_map(|b| (0..g.ho).flat_map(move |i| (0..g.wo).map(move |j| (b, i, j)))) {
                if let (Some(y), Some(xx)) = (src(i, p, g.sh, g.ph, g.h), src(j, q, g.sw, g.pw, g.w)) {
                    acc += dy[yi(b, o, i, j)] * x[xi(b, c, y, xx)];
                }
            }
            dw[wi(o, c, p, q)] = acc;
        }
        (out, dx, dw)
    }

    fn grid4(a: usize, b: usize, c: usize, d: usize) -> impl Iterator<Item = (usize, usize, usize, usize)> {
        (0..a).flat_map(move |i| (0..b).flat_map(move |j| (0..c).flat_map(move |k| (0..d).map(move |l| (i, j, k, l)))))
    }

    fn values(seed: u64, len: usize) -> Vec<f32> {
        (0..len as u64).map(|i| ((crate::rng::derive_seed(seed, i) >> 40) % 2001) as f32 / 1000.0 - 1.0).collect()
    }

    fn bits(x: &[f32]) -> Vec<u32> {
        x.iter().map(|v| v.to_bits()).collect()
    }

    /// The plane-by-plane loops give the naive loops' bits, on one thread and
    /// several, for sizes of 1, primes, strides and paddings (Caser's
    /// vertical L × 1 filter among them).
    #[test]
    fn convolutions_are_the_naive_sums() {
        // (n, ci, h, w, co, kh, kw, stride, padding)
        let cases = [
            (1, 1, 1, 1, 1, 1, 1, (1, 1), (0, 0)),
            (2, 3, 5, 7, 2, 3, 2, (1, 1), (1, 0)),
            (3, 2, 7, 11, 3, 3, 3, (2, 3), (1, 2)),
            (33, 1, 10, 64, 4, 10, 1, (1, 1), (0, 0)),
            (5, 1, 1, 13, 2, 1, 5, (1, 2), (0, 4)),
            (2, 2, 9, 4, 1, 2, 4, (3, 1), (2, 3)),
            (33, 1, 10, 64, 8, 10, 1, (1, 1), (0, 0)),
            (4, 3, 6, 5, 5, 2, 3, (1, 1), (1, 1)),
        ];
        for (n, ci, h, w, co, kh, kw, stride, padding) in cases {
            let x = values(1 + n as u64, n * ci * h * w);
            let wt = values(2 + co as u64, co * ci * kh * kw);
            let g = ConvGeom::new("test", &[n, ci, h, w], &[co, ci, kh, kw], stride, padding);
            let dy = values(3 + h as u64, n * co * g.ho * g.wo);
            let (want_y, want_dx, want_dw) = naive(&x, &wt, &dy, &g);
            let (xt, wtt, dyt) =
                (from_vec(x, &[n, ci, h, w]), from_vec(wt, &[co, ci, kh, kw]), from_vec(dy, &g.out_shape()));
            for threads in [1, 3] {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let (y, dx, (dw, _)) = pool.install(|| {
                    (
                        conv2d(&xt, &wtt, None, stride, padding),
                        conv2d_backward_input(&dyt, &wtt, (h, w), stride, padding),
                        conv2d_backward_weight(&xt, &dyt, (kh, kw), stride, padding),
                    )
                });
                let case = format!("{n}x{ci}x{h}x{w} * {co}x{kh}x{kw} s{stride:?} p{padding:?}, {threads} threads");
                assert_eq!(bits(y.as_slice().unwrap()), bits(&want_y), "forward {case}");
                assert_eq!(bits(dx.as_slice().unwrap()), bits(&want_dx), "input gradient {case}");
                assert_eq!(bits(dw.as_slice().unwrap()), bits(&want_dw), "weight gradient {case}");
            }
        }
    }
}
