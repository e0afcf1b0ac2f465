//! CPU reference: dense ops (matmul, elementwise, reductions, softmax).

use ndarray::{linalg::general_mat_mul, ArrayView2, ArrayViewMut2, Axis, IxDyn};

use super::{from_vec, CpuTensor};
use crate::backend::{Act, BinaryOp, Reduce, UnaryOp};

/// `act(x)` for one value (mirrors `act_forward` in `common.wgsl`).
pub fn act_forward(x: f32, act: Act) -> f32 {
    match act {
        Act::Identity => x,
        Act::Relu => x.max(0.0),
        Act::LeakyRelu(a) => {
            if x > 0.0 {
                x
            } else {
                a * x
            }
        }
        Act::Sigmoid => 1.0 / (1.0 + (-x).exp()),
        Act::Tanh => super::fastmath::tanh(x),
        Act::Softplus => x.max(0.0) + (1.0 + (-x.abs()).exp()).ln(),
    }
}

/// `act'(x)` from `y = act(x)` (mirrors `act_grad_from_output`).
pub fn act_grad_from_output(y: f32, act: Act) -> f32 {
    match act {
        Act::Identity => 1.0,
        Act::Relu => {
            if y > 0.0 {
                1.0
            } else {
                0.0
            }
        }
        Act::LeakyRelu(a) => {
            if y > 0.0 {
                1.0
            } else {
                a
            }
        }
        Act::Sigmoid => y * (1.0 - y),
        Act::Tanh => 1.0 - y * y,
        Act::Softplus => 1.0 - (-y).exp(),
    }
}

/// Splits `[.., r, c]` into (batch, r, c).
pub(crate) fn batch_dims(shape: &[usize], op: &str) -> (usize, usize, usize) {
    match shape {
        [r, c] => (1, *r, *c),
        [b, r, c] => (*b, *r, *c),
        _ => panic!("{op}: expected a 2-D or 3-D tensor, got {shape:?}"),
    }
}

fn mat(t: &CpuTensor, r: usize, c: usize, b: usize) -> ArrayView2<'_, f32> {
    let s = t.as_slice().expect("contiguous");
    ArrayView2::from_shape((r, c), &s[b * r * c..(b + 1) * r * c]).unwrap()
}

/// `t` itself when it is already contiguous in standard order (a cheap
/// shared handle), else a standard-order copy.
pub(crate) fn standard(t: &CpuTensor) -> CpuTensor {
    if t.is_standard_layout() {
        t.clone()
    } else {
        t.as_standard_layout().into_owned().into_shared()
    }
}

/// Batched matmul with transposes and a fused bias + activation epilogue.
///
/// Each product is written straight into the output buffer (no per-batch
/// temporary, no copy of operands already in standard order); the epilogue
/// pass runs only when there is a bias or a non-identity activation, so the
/// values are those of `general_mat_mul` followed by `act(v + bias)`. A
/// large product with a mostly-zero operand walks that operand's non-zeros
/// instead ([`super::matmul_sparse`]).
pub fn matmul(a: &CpuTensor, b: &CpuTensor, ta: bool, tb: bool, bias: Option<&CpuTensor>, act: Act) -> CpuTensor {
    let (ba, ar, ac) = batch_dims(a.shape(), "matmul a");
    let (bb, br, bc) = batch_dims(b.shape(), "matmul b");
    let (m, k) = if ta { (ac, ar) } else { (ar, ac) };
    let (k2, n) = if tb { (bc, br) } else { (br, bc) };
    assert!(k == k2, "matmul: inner sizes differ: a {:?} (t={ta}) b {:?} (t={tb})", a.shape(), b.shape());
    assert!(bb == 1 || bb == ba, "matmul: batch {ba} vs {bb}");
    let bias = bias.map(|bias| {
        assert_eq!(bias.len(), n, "matmul: bias {:?} for {n} columns", bias.shape());
        standard(bias)
    });
    let (a, b) = (standard(a), standard(b));
    let mut out = vec![0f32; ba * m * n];
    for (i, chunk) in out.chunks_exact_mut((m * n).max(1)).enumerate().take(ba) {
        let (a_i, b_i) = (&a.as_slice().unwrap()[i * ar * ac..][..ar * ac], if bb == 1 { 0 } else { i });
        let b_s = &b.as_slice().unwrap()[b_i * br * bc..][..br * bc];
        if !super::matmul_sparse::try_product(a_i, b_s, (m, k, n), ta, tb, chunk) {
            let av = mat(&a, ar, ac, i);
            let bv = mat(&b, br, bc, b_i);
            let av = if ta { av.reversed_axes() } else { av };
            let bv = if tb { bv.reversed_axes() } else { bv };
            let c = ArrayViewMut2::from_shape((m, n), chunk).expect("output chunk is m × n");
            gemm(av, bv, c);
        }
        match (&bias, act) {
            (None, Act::Identity) => {}
            (Some(bias), _) => {
                let bias = bias.as_slice().unwrap();
                for row in chunk.chunks_exact_mut(n) {
                    for (v, bv) in row.iter_mut().zip(bias) {
                        *v = act_forward(*v + bv, act);
                    }
                }
            }
            (None, _) => chunk.iter_mut().for_each(|v| *v = act_forward(*v, act)),
        }
    }
    let shape: Vec<usize> = if a.ndim() == 3 { vec![ba, m, n] } else { vec![m, n] };
    from_vec(out, &shape)
}

/// Products of at least this many multiply-adds are split across threads.
const GEMM_SPLIT_WORK: usize = 1 << 19;

/// C = A·B by matrixmultiply's kernels (`general_mat_mul`, α = 1, β = 0),
/// split across the thread pool when large: into bands of rows of C when
/// it has enough of them, else into bands of columns. A C element's value
/// depends only on its row of A, its column of B and the kernel's blocking
/// of k (the same for every band), so any split gives the same bits as
/// one call — and one pool (rayon's, shared with the other CPU ops) does
/// the threading, rather than a second one of matrixmultiply's contending
/// for the same cores.
fn gemm(a: ArrayView2<'_, f32>, b: ArrayView2<'_, f32>, mut c: ArrayViewMut2<'_, f32>) {
    use rayon::prelude::*;
    let ((m, k), n) = (a.dim(), b.dim().1);
    let threads = rayon::current_num_threads();
    if threads < 2 || m * k * n < GEMM_SPLIT_WORK || (m < 2 && n < 2) {
        return general_mat_mul(1.0, &a, &b, 0.0, &mut c);
    }
    // Bands in multiples of 8 rows or 16 columns (whole kernel tiles). Each
    // band packs all of the other operand, so split the one with more
    // elements per k (row bands repeat B's k·n packing on every thread,
    // column bands A's m·k): rows when C has at least as many rows as
    // columns, or too few columns to split.
    let (rows_split, cols_split) = (m >= 16 * threads, n >= 32 * threads);
    if rows_split && (!cols_split || m >= n) {
        let per = m.div_ceil(threads).next_multiple_of(8);
        let bands: Vec<_> = a.axis_chunks_iter(Axis(0), per).zip(c.axis_chunks_iter_mut(Axis(0), per)).collect();
        bands.into_par_iter().for_each(|(a, mut c)| general_mat_mul(1.0, &a, &b, 0.0, &mut c));
    } else {
        let per = n.div_ceil(threads).next_multiple_of(16);
        let bands: Vec<_> = b.axis_chunks_iter(Axis(1), per).zip(c.axis_chunks_iter_mut(Axis(1), per)).collect();
        bands.into_par_iter().for_each(|(b, mut c)| general_mat_mul(1.0, &a, &b, 0.0, &mut c));
    }
}

/// Broadcast shape of two shapes (numpy rules).
pub fn broadcast_shape(a: &[usize], b: &[usize], op: &str) -> Vec<usize> {
    let r = a.len().max(b.len());
    (0..r)
        .map(|i| {
            let da = if i + a.len() >= r { a[i + a.len() - r] } else { 1 };
            let db = if i + b.len() >= r { b[i + b.len() - r] } else { 1 };
            match (da, db) {
                (x, y) if x == y => x,
                (1, y) => y,
                (x, 1) => x,
                _ => panic!("{op}: shapes {a:?} and {b:?} do not broadcast"),
            }
        })
        .collect()
}

/// `a op b` with broadcasting.
pub fn binary(op: BinaryOp, a: &CpuTensor, b: &CpuTensor) -> CpuTensor {
    let shape = broadcast_shape(a.shape(), b.shape(), "binary");
    let mut out = ndarray::ArrayD::<f32>::zeros(IxDyn(&shape));
    let z = ndarray::Zip::from(&mut out).and_broadcast(a).and_broadcast(b);
    match op {
        BinaryOp::Add => z.for_each(|o, &x, &y| *o = x + y),
        BinaryOp::Sub => z.for_each(|o, &x, &y| *o = x - y),
        BinaryOp::Mul => z.for_each(|o, &x, &y| *o = x * y),
        BinaryOp::Div => z.for_each(|o, &x, &y| *o = x / y),
    }
    out.into_shared()
}

/// `op(x)` elementwise.
pub fn unary(op: UnaryOp, x: &CpuTensor) -> CpuTensor {
    x.map(|&v| match op {
        UnaryOp::Neg => -v,
        UnaryOp::Exp => v.exp(),
        UnaryOp::Log => v.ln(),
        UnaryOp::Sqrt => v.sqrt(),
        UnaryOp::Square => v * v,
        UnaryOp::Abs => v.abs(),
        UnaryOp::Recip => 1.0 / v,
    })
    .into_shared()
}

/// `dy · act'(x)` from `y`.
pub fn activate_backward(y: &CpuTensor, dy: &CpuTensor, act: Act) -> CpuTensor {
    assert_eq!(y.shape(), dy.shape(), "activate_backward: y vs dy");
    let (y, dy) = (standard(y), standard(dy));
    let data: Vec<f32> = y
        .as_slice()
        .unwrap()
        .iter()
        .zip(dy.as_slice().unwrap())
        .map(|(&y, &d)| d * act_grad_from_output(y, act))
        .collect();
    from_vec(data, y.shape())
}

/// Sums in the order the GPU kernels use: 256 strided partial sums, then a
/// pairwise tree over them. Matching the order keeps the backends within
/// a few ulps on long rows.
pub fn tree_sum(xs: impl Iterator<Item = f32>) -> f32 {
    let mut part = [0f32; 256];
    for (i, x) in xs.enumerate() {
        part[i % 256] += x;
    }
    tree_fold(part)
}

/// [`tree_sum`] of a slice, the same bits: each partial sum takes its terms
/// in the same order, 256 lanes at a time (which the compiler vectorises).
pub fn tree_sum_slice(xs: &[f32]) -> f32 {
    let mut part = [0f32; 256];
    for chunk in xs.chunks(256) {
        for (p, &x) in part.iter_mut().zip(chunk) {
            *p += x;
        }
    }
    tree_fold(part)
}

fn tree_fold(mut part: [f32; 256]) -> f32 {
    let mut n = 256;
    while n > 1 {
        n /= 2;
        for i in 0..n {
            part[i] += part[i + n];
        }
    }
    part[0]
}

fn reduce(xs: &[f32], op: Reduce) -> f32 {
    match op {
        Reduce::Sum => tree_sum_slice(xs),
        Reduce::Mean => {
            if xs.is_empty() {
                0.0
            } else {
                tree_sum_slice(xs) / xs.len() as f32
            }
        }
        Reduce::Max => xs.iter().copied().fold(f32::NEG_INFINITY, f32::max),
    }
}

/// Reduces the last axis.
pub fn reduce_rows(x: &CpuTensor, op: Reduce) -> CpuTensor {
    let shape = x.shape();
    assert!(!shape.is_empty(), "reduce_rows: scalar input");
    let n = *shape.last().unwrap();
    let out_shape = &shape[..shape.len() - 1];
    let x = x.as_standard_layout();
    let s = x.as_slice().unwrap();
    let rows: usize = out_shape.iter().product();
    let data: Vec<f32> = (0..rows).map(|r| reduce(&s[r * n..(r + 1) * n], op)).collect();
    from_vec(data, out_shape)
}

/// Reduces the first axis.
///
/// Row-major and blocked by columns: every column's sum takes the terms in
/// [`tree_sum`]'s order (256 strided partial sums, then the pairwise tree),
/// but the rows are read contiguously rather than one strided column at a time.
pub fn reduce_cols(x: &CpuTensor, op: Reduce) -> CpuTensor {
    const PARTS: usize = 256;
    const BLOCK: usize = 1024;
    let shape = x.shape();
    assert!(!shape.is_empty(), "reduce_cols: scalar input");
    let rows = shape[0];
    let out_shape = &shape[1..];
    let cols: usize = out_shape.iter().product();
    let x = standard(x);
    let s = x.as_slice().unwrap();
    if op == Reduce::Max {
        let mut data = vec![f32::NEG_INFINITY; cols];
        for row in s.chunks_exact(cols.max(1)).take(rows) {
            for (o, &v) in data.iter_mut().zip(row) {
                *o = o.max(v);
            }
        }
        return from_vec(data, out_shape);
    }
    let mut data = vec![0f32; cols];
    if rows == 0 {
        return from_vec(data, out_shape);
    }
    let used = rows.min(PARTS);
    let mut part = vec![0f32; used * BLOCK];
    for c0 in (0..cols).step_by(BLOCK) {
        let w = BLOCK.min(cols - c0);
        part.fill(0.0);
        for r in 0..rows {
            let (p, row) = (&mut part[(r % PARTS) * BLOCK..][..w], &s[r * cols + c0..][..w]);
            for (p, &v) in p.iter_mut().zip(row) {
                *p += v;
            }
        }
        // The pairwise tree of tree_sum; the partial sums past `used` are zeros.
        let mut n = PARTS;
        while n > 1 {
            n /= 2;
            for i in 0..n.min(used) {
                let (lo, hi) = part.split_at_mut((i + 1) * BLOCK);
                let dst = &mut lo[i * BLOCK..][..w];
                if i + n < used {
                    for (d, &v) in dst.iter_mut().zip(&hi[(i + n - i - 1) * BLOCK..][..w]) {
                        *d += v;
                    }
                } else {
                    dst.iter_mut().for_each(|d| *d += 0.0);
                }
            }
        }
        for (o, &v) in data[c0..c0 + w].iter_mut().zip(&part[..w]) {
            *o = match op {
                Reduce::Mean => v / rows as f32,
                _ => v,
            };
        }
    }
    from_vec(data, out_shape)
}

/// Softmax or log-softmax over the last axis: per row the maximum, the
/// shifted exponentials (stored, then summed in [`tree_sum`]'s order) and
/// one pass that writes the result.
pub fn softmax(x: &CpuTensor, log: bool) -> CpuTensor {
    let x = standard(x);
    let shape = x.shape().to_vec();
    let n = *shape.last().expect("softmax: scalar input");
    let xs = x.as_slice().unwrap();
    let mut out = vec![0f32; xs.len()];
    if n > 0 {
        for (row, o) in xs.chunks_exact(n).zip(out.chunks_exact_mut(n)) {
            let max = row_max(row);
            for (o, &v) in o.iter_mut().zip(row) {
                *o = super::fastmath::exp(v - max);
            }
            let sum = tree_sum_slice(o);
            if log {
                let lse = max + sum.ln();
                for (o, &v) in o.iter_mut().zip(row) {
                    *o = v - lse;
                }
            } else {
                o.iter_mut().for_each(|o| *o /= sum);
            }
        }
    }
    from_vec(out, &shape)
}

/// The largest value (−∞ for an empty row), in eight lanes.
pub(crate) fn row_max(row: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; 8];
    let chunks = row.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for (l, &v) in lanes.iter_mut().zip(c) {
            *l = if v > *l { v } else { *l };
        }
    }
    let m = lanes.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    tail.iter().copied().fold(m, f32::max)
}

/// Backward of softmax / log-softmax from the output.
pub fn softmax_backward(y: &CpuTensor, dy: &CpuTensor, log: bool) -> CpuTensor {
    assert_eq!(y.shape(), dy.shape(), "softmax_backward: y vs dy");
    let (y, dy) = (standard(y), standard(dy));
    let shape = y.shape().to_vec();
    let n = *shape.last().expect("softmax_backward: scalar input");
    let (ys, ds) = (y.as_slice().unwrap(), dy.as_slice().unwrap());
    let mut out = vec![0f32; ys.len()];
    if n > 0 {
        for ((yr, dr), o) in ys.chunks_exact(n).zip(ds.chunks_exact(n)).zip(out.chunks_exact_mut(n)) {
            if log {
                let s = tree_sum_slice(dr);
                for ((o, &d), &yv) in o.iter_mut().zip(dr).zip(yr) {
                    *o = d - super::fastmath::exp(yv) * s;
                }
            } else {
                for ((o, &d), &yv) in o.iter_mut().zip(dr).zip(yr) {
                    *o = d * yv;
                }
                let s = tree_sum_slice(o);
                for ((o, &d), &yv) in o.iter_mut().zip(dr).zip(yr) {
                    *o = yv * (d - s);
                }
            }
        }
    }
    from_vec(out, &shape)
}

/// Row-wise dot product.
pub fn dot_rows(a: &CpuTensor, b: &CpuTensor) -> CpuTensor {
    assert_eq!(a.shape(), b.shape(), "dot_rows: a vs b");
    assert_eq!(a.ndim(), 2, "dot_rows: expected [n, d], got {:?}", a.shape());
    let (n, d) = (a.shape()[0], a.shape()[1]);
    let (a, b) = (a.as_standard_layout(), b.as_standard_layout());
    let (a, b) = (a.as_slice().unwrap(), b.as_slice().unwrap());
    // Sequential sum per row: the order of shaders/dot_rows.wgsl.
    let data: Vec<f32> = (0..n)
        .map(|r| a[r * d..(r + 1) * d].iter().zip(&b[r * d..(r + 1) * d]).fold(0.0, |s, (p, q)| s + p * q))
        .collect();
    from_vec(data, &[n])
}

/// The transpose of a 2-D tensor ([`crate::Backend::transpose`]).
pub fn transpose(x: &CpuTensor) -> CpuTensor {
    let (n, m) = crate::backend::transpose_shape(x.shape());
    let x = x.as_standard_layout();
    let xv = x.as_slice().expect("standard layout");
    let mut out = vec![0f32; n * m];
    for r in 0..n {
        for c in 0..m {
            out[c * n + r] = xv[r * m + c];
        }
    }
    from_vec(out, &[m, n])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The blocked column reduction gives each column exactly `tree_sum`'s
    /// (and the maximum's) bits, across the partial-sum and block boundaries.
    #[test]
    fn reduce_cols_is_tree_sum_per_column() {
        for (rows, cols) in [(0, 3), (1, 1), (7, 1025), (255, 3), (256, 1024), (257, 1023), (600, 2100)] {
            let x: Vec<f32> = (0..rows * cols).map(|i| ((i * 7919 % 1000) as f32 - 500.0) * 1.37e-3).collect();
            let t = from_vec(x.clone(), &[rows, cols]);
            for op in [Reduce::Sum, Reduce::Mean, Reduce::Max] {
                let got = reduce_cols(&t, op);
                for c in 0..cols {
                    let col: Vec<f32> = (0..rows).map(|r| x[r * cols + c]).collect();
                    let want = reduce(&col, op);
                    assert_eq!(got[[c]].to_bits(), want.to_bits(), "{op:?} rows {rows} cols {cols} col {c}");
                }
            }
        }
    }
}
