//! CPU reference: convolution (cross-correlation, like PyTorch) and
//! max-pooling, forward and backward.
//!
//! 1-D convolution is the 2-D one over an `h = 1` image. Every output element
//! sums its terms in the same fixed order as the matching kernel in
//! `shaders/conv2d.wgsl` / `shaders/maxpool.wgsl` (see the loop orders noted
//! on each function), so the two backends agree to rounding.

use ndarray::ArcArray1;

use super::{from_vec, CpuIndex, CpuTensor};

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

    /// Input row/column read by output position `i` (or `j`) at kernel offset `p` (or `q`), if inside.
    fn src(i: usize, p: usize, s: usize, pad: usize, len: usize) -> Option<usize> {
        (i * s + p).checked_sub(pad).filter(|&v| v < len)
    }

    /// The kernel offsets `p` (ascending, of a kernel of `k`) that can put
    /// input row `y` in some output window: outside it [`ConvGeom::dst`] is
    /// always `None`, so a loop over this range visits the same terms in the
    /// same order as one over `0..k`, without the empty ones (for Caser's
    /// h × d filters, d − 1 of every d).
    fn offsets(y: usize, s: usize, pad: usize, out: usize, k: usize) -> std::ops::Range<usize> {
        let hi = (y + pad + 1).min(k);
        let lo = (y + pad).saturating_sub(out.saturating_sub(1) * s).min(hi);
        lo..hi
    }

    /// Output index `i` whose window puts kernel offset `p` on input row `y`, if any.
    fn dst(y: usize, p: usize, s: usize, pad: usize, out: usize) -> Option<usize> {
        let t = (y + pad).checked_sub(p)?;
        (t % s == 0 && t / s < out).then_some(t / s)
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

fn contiguous(t: &CpuTensor) -> std::borrow::Cow<'_, [f32]> {
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
    let mut out = Vec::with_capacity(g.out_shape().iter().product());
    for b in 0..g.n {
        for o in 0..g.co {
            for i in 0..g.ho {
                for j in 0..g.wo {
                    let mut acc = 0f32;
                    for c in 0..g.ci {
                        for p in 0..g.kh {
                            let Some(y) = ConvGeom::src(i, p, g.sh, g.ph, g.h) else {
                                continue;
                            };
                            for q in 0..g.kw {
                                let Some(xx) = ConvGeom::src(j, q, g.sw, g.pw, g.w) else {
                                    continue;
                                };
                                acc += xs[((b * g.ci + c) * g.h + y) * g.w + xx]
                                    * ws[((o * g.ci + c) * g.kh + p) * g.kw + q];
                            }
                        }
                    }
                    if let Some(bs) = &bs {
                        acc += bs[o];
                    }
                    out.push(acc);
                }
            }
        }
    }
    from_vec(out, &g.out_shape())
}

/// Checks that `dy` has the output shape of a convolution with geometry `g`.
pub(crate) fn check_dy(op: &str, dy: &[usize], g: &ConvGeom) {
    assert!(dy == g.out_shape(), "{op}: dy {dy:?} is not the output shape {:?} of this convolution", g.out_shape());
}

/// Gradient of [`conv2d`] with respect to its input of spatial size `hw`:
/// a gather, each input element summing over (c_out, kh, kw) in that order.
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
    let mut out = Vec::with_capacity(g.n * g.ci * g.h * g.w);
    for b in 0..g.n {
        for c in 0..g.ci {
            for y in 0..g.h {
                for xx in 0..g.w {
                    let mut acc = 0f32;
                    for o in 0..g.co {
                        for p in ConvGeom::offsets(y, g.sh, g.ph, g.ho, g.kh) {
                            let Some(i) = ConvGeom::dst(y, p, g.sh, g.ph, g.ho) else {
                                continue;
                            };
                            for q in ConvGeom::offsets(xx, g.sw, g.pw, g.wo, g.kw) {
                                let Some(j) = ConvGeom::dst(xx, q, g.sw, g.pw, g.wo) else {
                                    continue;
                                };
                                acc += dys[((b * g.co + o) * g.ho + i) * g.wo + j]
                                    * ws[((o * g.ci + c) * g.kh + p) * g.kw + q];
                            }
                        }
                    }
                    out.push(acc);
                }
            }
        }
    }
    from_vec(out, &[g.n, g.ci, g.h, g.w])
}

/// Gradients of [`conv2d`] with respect to its weight (kernel `khw`) and bias.
/// Each weight sums over (n, ho, wo) in that order; each bias over (n, ho, wo).
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
    let mut dw = Vec::with_capacity(g.co * g.ci * g.kh * g.kw);
    for o in 0..g.co {
        for c in 0..g.ci {
            for p in 0..g.kh {
                for q in 0..g.kw {
                    let mut acc = 0f32;
                    for b in 0..g.n {
                        for i in 0..g.ho {
                            let Some(y) = ConvGeom::src(i, p, g.sh, g.ph, g.h) else {
                                continue;
                            };
                            for j in 0..g.wo {
                                let Some(xx) = ConvGeom::src(j, q, g.sw, g.pw, g.w) else {
                                    continue;
                                };
                                acc += dys[((b * g.co + o) * g.ho + i) * g.wo + j]
                                    * xs[((b * g.ci + c) * g.h + y) * g.w + xx];
                            }
                        }
                    }
                    dw.push(acc);
                }
            }
        }
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
