//! GPU dense ops: fill, matmul, elementwise, reductions, softmax, row dots.

use bytemuck::{Pod, Zeroable};

use crate::backend::{Act, Backend, BinaryOp, Reduce, UnaryOp};
use crate::cpu::dense::{batch_dims, broadcast_shape};
use crate::gpu::{Gpu, GpuTensor, Shader, WG};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct FillParams {
    n: u32,
    value: f32,
    _pad: [u32; 2],
}

/// A tensor of `shape` filled with `value`.
pub(crate) fn fill(gpu: &Gpu, shape: &[usize], value: f32) -> GpuTensor {
    let out = gpu.empty(shape);
    let n = out.len() as u32;
    let params = FillParams { n, value, _pad: [0; 2] };
    gpu.dispatch(Shader::Fill, "main", &[], &params, &[(1, out.raw())], gpu.grid(n as u64, WG));
    out
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct MatmulParams {
    m: u32,
    n: u32,
    k: u32,
    has_bias: u32,
    a_rs: u32,
    a_cs: u32,
    a_bs: u32,
    act: u32,
    b_rs: u32,
    b_cs: u32,
    b_bs: u32,
    alpha: f32,
}

/// Outputs at least this many rows and columns use the 128×128-tile kernel.
pub const LARGE_TILE_MIN: usize = 256;

/// Batched matmul with transposes and a fused bias + activation epilogue.
pub(crate) fn matmul(
    gpu: &Gpu,
    a: &GpuTensor,
    b: &GpuTensor,
    ta: bool,
    tb: bool,
    bias: Option<&GpuTensor>,
    act: Act,
) -> GpuTensor {
    let (ba, ar, ac) = batch_dims(&a.shape, "matmul a");
    let (bb, br, bc) = batch_dims(&b.shape, "matmul b");
    let (m, k) = if ta { (ac, ar) } else { (ar, ac) };
    let (k2, n) = if tb { (bc, br) } else { (br, bc) };
    assert!(k == k2, "matmul: inner sizes differ: a {:?} (t={ta}) b {:?} (t={tb})", a.shape, b.shape);
    assert!(bb == 1 || bb == ba, "matmul: batch {ba} vs {bb}");
    if let Some(bias) = bias {
        assert_eq!(bias.len(), n, "matmul: bias {:?} for {n} columns", bias.shape);
    }
    let shape: Vec<usize> = if a.shape.len() == 3 { vec![ba, m, n] } else { vec![m, n] };
    let out = gpu.empty(&shape);
    if out.is_empty() {
        return out;
    }
    if k == 0 {
        return match bias {
            // act(0 + bias) broadcast over rows
            Some(bias) => {
                let z = gpu.zeros(&shape);
                let s = binary(gpu, BinaryOp::Add, &z, bias);
                activate(gpu, &s, act)
            }
            None => activate(gpu, &gpu.zeros(&shape), act),
        };
    }
    let (a_rs, a_cs) = if ta { (1, ac) } else { (ac, 1) };
    let (b_rs, b_cs) = if tb { (1, bc) } else { (bc, 1) };
    let (code, alpha) = act.code();
    let params = MatmulParams {
        m: m as u32,
        n: n as u32,
        k: k as u32,
        has_bias: bias.is_some() as u32,
        a_rs: a_rs as u32,
        a_cs: a_cs as u32,
        a_bs: (ar * ac) as u32,
        act: code,
        b_rs: b_rs as u32,
        b_cs: b_cs as u32,
        b_bs: if bb == 1 { 0 } else { (br * bc) as u32 },
        alpha,
    };
    let bias_buf = bias.map(|t| t.raw()).unwrap_or(a.raw());
    // Large outputs take the 128×128-tile kernel (8×8 per invocation); small
    // ones the 64×64 tile, which wastes less of a partly filled tile.
    let (entry, tile) = if m >= LARGE_TILE_MIN && n >= LARGE_TILE_MIN { ("main_128", 128) } else { ("main", 64) };
    let groups = [n.div_ceil(tile) as u32, m.div_ceil(tile) as u32, ba as u32];
    gpu.dispatch(
        Shader::Matmul,
        entry,
        &[],
        &params,
        &[(1, a.raw()), (2, b.raw()), (3, bias_buf), (4, out.raw())],
        groups,
    );
    out
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct BinaryParams {
    n: u32,
    op: u32,
    _pad: [u32; 2],
    dims: [u32; 4],
    sa: [u32; 4],
    sb: [u32; 4],
}

/// Strides of `shape` right-aligned into 4 axes of `out` (0 on broadcast axes).
fn broadcast_strides(shape: &[usize], out: &[usize]) -> [u32; 4] {
    let mut strides = [0u32; 4];
    let mut s = 1usize;
    for i in (0..shape.len()).rev() {
        let ax = 4 - (shape.len() - i);
        let out_ax = out.len() - (shape.len() - i);
        strides[ax] = if shape[i] == 1 && out[out_ax] != 1 { 0 } else { s as u32 };
        s *= shape[i];
    }
    strides
}

/// `a op b` with broadcasting.
pub(crate) fn binary(gpu: &Gpu, op: BinaryOp, a: &GpuTensor, b: &GpuTensor) -> GpuTensor {
    let shape = broadcast_shape(&a.shape, &b.shape, "binary");
    assert!(shape.len() <= 4, "binary: rank {} > 4", shape.len());
    let out = gpu.empty(&shape);
    let mut dims = [1u32; 4];
    for (i, &d) in shape.iter().enumerate() {
        dims[4 - shape.len() + i] = d as u32;
    }
    let params = BinaryParams {
        n: out.len() as u32,
        op: op as u32,
        _pad: [0; 2],
        dims,
        sa: broadcast_strides(&a.shape, &shape),
        sb: broadcast_strides(&b.shape, &shape),
    };
    gpu.dispatch(
        Shader::Binary,
        "main",
        &[],
        &params,
        &[(1, a.raw()), (2, b.raw()), (3, out.raw())],
        gpu.grid(out.len() as u64, WG),
    );
    out
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct UnaryParams {
    n: u32,
    op: u32,
    alpha: f32,
    beta: f32,
}

fn unary_code(gpu: &Gpu, code: u32, x: &GpuTensor, alpha: f32, beta: f32) -> GpuTensor {
    let out = gpu.empty(&x.shape);
    let params = UnaryParams { n: x.len() as u32, op: code, alpha, beta };
    gpu.dispatch(Shader::Unary, "main", &[], &params, &[(1, x.raw()), (2, out.raw())], gpu.grid(x.len() as u64, WG));
    out
}

/// `op(x)` elementwise.
pub(crate) fn unary(gpu: &Gpu, op: UnaryOp, x: &GpuTensor) -> GpuTensor {
    unary_code(gpu, op as u32, x, 0.0, 0.0)
}

/// `alpha · x + beta`.
pub(crate) fn scale(gpu: &Gpu, x: &GpuTensor, alpha: f32, beta: f32) -> GpuTensor {
    unary_code(gpu, 7, x, alpha, beta)
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct ActParams {
    n: u32,
    act: u32,
    alpha: f32,
    _pad: u32,
}

/// `act(x)`.
pub(crate) fn activate(gpu: &Gpu, x: &GpuTensor, act: Act) -> GpuTensor {
    let out = gpu.empty(&x.shape);
    let (code, alpha) = act.code();
    let params = ActParams { n: x.len() as u32, act: code, alpha, _pad: 0 };
    gpu.dispatch(
        Shader::Activation,
        "forward",
        &[],
        &params,
        &[(1, x.raw()), (3, out.raw())],
        gpu.grid(x.len() as u64, WG),
    );
    out
}

/// `dy · act'(x)` from `y = act(x)`.
pub(crate) fn activate_backward(gpu: &Gpu, y: &GpuTensor, dy: &GpuTensor, act: Act) -> GpuTensor {
    assert_eq!(y.shape, dy.shape, "activate_backward: y vs dy");
    let out = gpu.empty(&y.shape);
    let (code, alpha) = act.code();
    let params = ActParams { n: y.len() as u32, act: code, alpha, _pad: 0 };
    gpu.dispatch(
        Shader::Activation,
        "backward",
        &[],
        &params,
        &[(1, y.raw()), (2, dy.raw()), (3, out.raw())],
        gpu.grid(y.len() as u64, WG),
    );
    out
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct ReduceParams {
    outer: u32,
    len: u32,
    stride: u32,
    op: u32,
}

fn reduce(gpu: &Gpu, x: &GpuTensor, out_shape: &[usize], len: usize, by_rows: bool, op: Reduce) -> GpuTensor {
    let out = gpu.empty(out_shape);
    let outer = out.len();
    let params = ReduceParams {
        outer: outer as u32,
        len: len as u32,
        stride: if by_rows { 1 } else { outer as u32 },
        op: op as u32,
    };
    gpu.dispatch(Shader::Reduce, "main", &[], &params, &[(1, x.raw()), (2, out.raw())], gpu.grid(outer as u64, 1));
    out
}

/// Reduces the last axis.
pub(crate) fn reduce_rows(gpu: &Gpu, x: &GpuTensor, op: Reduce) -> GpuTensor {
    assert!(!x.shape.is_empty(), "reduce_rows: scalar input");
    let (out_shape, last) = x.shape.split_at(x.shape.len() - 1);
    reduce(gpu, x, out_shape, last[0], true, op)
}

/// Reduces the first axis.
pub(crate) fn reduce_cols(gpu: &Gpu, x: &GpuTensor, op: Reduce) -> GpuTensor {
    assert!(!x.shape.is_empty(), "reduce_cols: scalar input");
    reduce(gpu, x, &x.shape[1..], x.shape[0], false, op)
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct SoftmaxParams {
    rows: u32,
    len: u32,
    log: u32,
    _pad: u32,
}

fn row_geometry(shape: &[usize], op: &str) -> (usize, usize) {
    assert!(!shape.is_empty(), "{op}: scalar input");
    let len = *shape.last().unwrap();
    (shape.iter().product::<usize>() / len.max(1), len)
}

/// Softmax or log-softmax over the last axis.
pub(crate) fn softmax(gpu: &Gpu, x: &GpuTensor, log: bool) -> GpuTensor {
    let (rows, len) = row_geometry(&x.shape, "softmax");
    let out = gpu.empty(&x.shape);
    if len == 0 {
        return out;
    }
    let params = SoftmaxParams { rows: rows as u32, len: len as u32, log: log as u32, _pad: 0 };
    gpu.dispatch(Shader::Softmax, "forward", &[], &params, &[(1, x.raw()), (3, out.raw())], gpu.grid(rows as u64, 1));
    out
}

/// Backward of softmax / log-softmax from the output.
pub(crate) fn softmax_backward(gpu: &Gpu, y: &GpuTensor, dy: &GpuTensor, log: bool) -> GpuTensor {
    assert_eq!(y.shape, dy.shape, "softmax_backward: y vs dy");
    let (rows, len) = row_geometry(&y.shape, "softmax_backward");
    let out = gpu.empty(&y.shape);
    if len == 0 {
        return out;
    }
    let params = SoftmaxParams { rows: rows as u32, len: len as u32, log: log as u32, _pad: 0 };
    gpu.dispatch(
        Shader::Softmax,
        "backward",
        &[],
        &params,
        &[(1, y.raw()), (2, dy.raw()), (3, out.raw())],
        gpu.grid(rows as u64, 1),
    );
    out
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct DotParams {
    rows: u32,
    d: u32,
    _pad: [u32; 2],
}

/// Row-wise dot product.
pub(crate) fn dot_rows(gpu: &Gpu, a: &GpuTensor, b: &GpuTensor) -> GpuTensor {
    assert_eq!(a.shape, b.shape, "dot_rows: a vs b");
    assert_eq!(a.shape.len(), 2, "dot_rows: expected [n, d], got {:?}", a.shape);
    let (rows, d) = (a.shape[0], a.shape[1]);
    let out = gpu.empty(&[rows]);
    let params = DotParams { rows: rows as u32, d: d as u32, _pad: [0; 2] };
    gpu.dispatch(
        Shader::DotRows,
        "main",
        &[],
        &params,
        &[(1, a.raw()), (2, b.raw()), (3, out.raw())],
        gpu.grid(rows as u64, WG),
    );
    out
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct TransposeParams {
    n: u32,
    m: u32,
    tiles_x: u32,
    tiles: u32,
}

/// [`Backend::transpose`]: one dispatch of `shaders/transpose.wgsl`, a
/// 16 × 16 workgroup per tile.
pub(crate) fn transpose(gpu: &Gpu, x: &GpuTensor) -> GpuTensor {
    let (n, m) = crate::backend::transpose_shape(&x.shape);
    assert!(u32::try_from(n * m).is_ok(), "transpose: x {:?} exceeds u32 indexing", x.shape);
    let out = gpu.empty(&[m, n]);
    let tiles_x = m.div_ceil(16);
    let tiles = tiles_x * n.div_ceil(16);
    let params = TransposeParams { n: n as u32, m: m as u32, tiles_x: tiles_x as u32, tiles: tiles as u32 };
    gpu.dispatch(
        Shader::Transpose,
        "main",
        &[],
        &params,
        &[(1, x.raw()), (2, out.raw())],
        gpu.grid(tiles as u64 * 256, 256),
    );
    out
}
