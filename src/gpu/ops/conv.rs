//! GPU: convolution and max-pooling (`shaders/conv2d.wgsl`, `shaders/maxpool.wgsl`).
//!
//! Shape checks are shared with the CPU reference ([`crate::cpu::conv`]).
//! 1-D convolution runs the 2-D kernels over `h = 1` views of its buffers.

use crate::cpu::conv::{check_conv1d, check_dy, pool_geom, ConvGeom};
use crate::cpu::conv_rows_max::RowsGeom;
use crate::gpu::{Gpu, GpuIndex, GpuTensor, Shader, WG};

/// Uniform of `conv2d.wgsl` (16 × u32 = 64 bytes).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ConvParams {
    n: u32,
    ci: u32,
    h: u32,
    w: u32,
    co: u32,
    kh: u32,
    kw: u32,
    ho: u32,
    wo: u32,
    sh: u32,
    sw: u32,
    ph: u32,
    pw: u32,
    has_bias: u32,
    total: u32,
    _pad: u32,
}

/// Uniform of `maxpool.wgsl` (12 × u32 = 48 bytes).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct PoolParams {
    planes: u32,
    h: u32,
    w: u32,
    ho: u32,
    wo: u32,
    kh: u32,
    kw: u32,
    sh: u32,
    sw: u32,
    total: u32,
    _pad0: u32,
    _pad1: u32,
}

fn u32_of(op: &str, v: usize) -> u32 {
    u32::try_from(v).unwrap_or_else(|_| panic!("{op}: size {v} exceeds u32"))
}

fn conv_params(op: &str, g: &ConvGeom, has_bias: bool, total: usize) -> ConvParams {
    // Every flat index the kernels form stays below the largest tensor's size.
    let biggest = [g.n * g.ci * g.h * g.w, g.n * g.co * g.ho * g.wo, g.co * g.ci * g.kh * g.kw, total];
    u32_of(op, biggest.into_iter().max().unwrap_or(0));
    let u = |v: usize| u32_of(op, v);
    ConvParams {
        n: u(g.n),
        ci: u(g.ci),
        h: u(g.h),
        w: u(g.w),
        co: u(g.co),
        kh: u(g.kh),
        kw: u(g.kw),
        ho: u(g.ho),
        wo: u(g.wo),
        sh: u(g.sh),
        sw: u(g.sw),
        ph: u(g.ph),
        pw: u(g.pw),
        has_bias: has_bias as u32,
        total: u(total),
        _pad: 0,
    }
}

/// A view of `t` under another shape of equal size (shares the buffer).
fn view(t: &GpuTensor, shape: &[usize]) -> GpuTensor {
    debug_assert_eq!(t.len(), shape.iter().product::<usize>());
    GpuTensor { buf: t.buf.clone(), shape: shape.to_vec() }
}

/// `[a, b, l]` → `[a, b, 1, l]` (shapes already checked).
fn as_4d(t: &GpuTensor) -> GpuTensor {
    let s = t.shape();
    view(t, &[s[0], s[1], 1, s[2]])
}

/// `[a, b, 1, l]` → `[a, b, l]`.
fn as_3d(t: &GpuTensor) -> GpuTensor {
    let s = t.shape();
    view(t, &[s[0], s[1], s[3]])
}

pub(crate) fn conv1d(
    gpu: &Gpu,
    x: &GpuTensor,
    w: &GpuTensor,
    bias: Option<&GpuTensor>,
    stride: usize,
    padding: usize,
) -> GpuTensor {
    check_conv1d("conv1d", x.shape(), w.shape(), None, stride, padding);
    if let Some(b) = bias {
        assert!(b.shape() == [w.shape()[0]], "conv1d: bias {:?} for w {:?}", b.shape(), w.shape());
    }
    as_3d(&conv2d(gpu, &as_4d(x), &as_4d(w), bias, (1, stride), (0, padding)))
}

pub(crate) fn conv1d_backward_input(
    gpu: &Gpu,
    dy: &GpuTensor,
    w: &GpuTensor,
    l: usize,
    stride: usize,
    padding: usize,
) -> GpuTensor {
    let (ds, ws) = (dy.shape(), w.shape());
    assert!(ds.len() == 3, "conv1d_backward_input: expected dy [n, c_out, l_out], got {ds:?}");
    assert!(ws.len() == 3, "conv1d_backward_input: expected w [c_out, c_in, k], got {ws:?}");
    check_conv1d("conv1d_backward_input", &[ds[0], ws[1], l], ws, Some(ds), stride, padding);
    as_3d(&conv2d_backward_input(gpu, &as_4d(dy), &as_4d(w), (1, l), (1, stride), (0, padding)))
}

pub(crate) fn conv1d_backward_weight(
    gpu: &Gpu,
    x: &GpuTensor,
    dy: &GpuTensor,
    k: usize,
    stride: usize,
    padding: usize,
) -> (GpuTensor, GpuTensor) {
    let (xs, ds) = (x.shape(), dy.shape());
    assert!(xs.len() == 3, "conv1d_backward_weight: expected x [n, c_in, l], got {xs:?}");
    assert!(ds.len() == 3, "conv1d_backward_weight: expected dy [n, c_out, l_out], got {ds:?}");
    check_conv1d("conv1d_backward_weight", xs, &[ds[1], xs[1], k], Some(ds), stride, padding);
    let (dw, db) = conv2d_backward_weight(gpu, &as_4d(x), &as_4d(dy), (1, k), (1, stride), (0, padding));
    (as_3d(&dw), db)
}

pub(crate) fn conv2d(
    gpu: &Gpu,
    x: &GpuTensor,
    w: &GpuTensor,
    bias: Option<&GpuTensor>,
    stride: (usize, usize),
    padding: (usize, usize),
) -> GpuTensor {
    let op = "conv2d";
    let g = ConvGeom::new(op, x.shape(), w.shape(), stride, padding);
    if let Some(b) = bias {
        assert!(b.shape() == [g.co], "{op}: bias {:?} for {} output channels", b.shape(), g.co);
    }
    let out = gpu.empty(&g.out_shape());
    let total = out.len();
    let params = conv_params(op, &g, bias.is_some(), total);
    // Without a bias the kernel never reads binding 3; the weight stands in.
    let b = bias.unwrap_or(w);
    gpu.dispatch(
        Shader::Conv2d,
        "forward",
        &[],
        &params,
        &[(1, x.raw()), (2, w.raw()), (3, b.raw()), (4, out.raw())],
        gpu.grid(total as u64, WG),
    );
    out
}

pub(crate) fn conv2d_backward_input(
    gpu: &Gpu,
    dy: &GpuTensor,
    w: &GpuTensor,
    hw: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
) -> GpuTensor {
    let op = "conv2d_backward_input";
    let (ds, ws) = (dy.shape(), w.shape());
    assert!(ds.len() == 4, "{op}: expected dy [n, c_out, ho, wo], got {ds:?}");
    assert!(ws.len() == 4, "{op}: expected w [c_out, c_in, kh, kw], got {ws:?}");
    let g = ConvGeom::new(op, &[ds[0], ws[1], hw.0, hw.1], ws, stride, padding);
    check_dy(op, ds, &g);
    let dx = gpu.empty(&[g.n, g.ci, g.h, g.w]);
    let total = dx.len();
    let params = conv_params(op, &g, false, total);
    gpu.dispatch(
        Shader::Conv2d,
        "backward_input",
        &[],
        &params,
        &[(5, dy.raw()), (2, w.raw()), (6, dx.raw())],
        gpu.grid(total as u64, WG),
    );
    dx
}

pub(crate) fn conv2d_backward_weight(
    gpu: &Gpu,
    x: &GpuTensor,
    dy: &GpuTensor,
    khw: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
) -> (GpuTensor, GpuTensor) {
    let op = "conv2d_backward_weight";
    let (xs, ds) = (x.shape(), dy.shape());
    assert!(xs.len() == 4, "{op}: expected x [n, c_in, h, w], got {xs:?}");
    assert!(ds.len() == 4, "{op}: expected dy [n, c_out, ho, wo], got {ds:?}");
    let g = ConvGeom::new(op, xs, &[ds[1], xs[1], khw.0, khw.1], stride, padding);
    check_dy(op, ds, &g);
    let dw = gpu.empty(&[g.co, g.ci, g.kh, g.kw]);
    let params = conv_params(op, &g, false, dw.len());
    gpu.dispatch(
        Shader::Conv2d,
        "backward_weight",
        &[],
        &params,
        &[(1, x.raw()), (5, dy.raw()), (7, dw.raw())],
        gpu.grid(dw.len() as u64, WG),
    );
    let db = gpu.empty(&[g.co]);
    let params = conv_params(op, &g, false, g.co);
    gpu.dispatch(
        Shader::Conv2d,
        "backward_bias",
        &[],
        &params,
        &[(5, dy.raw()), (8, db.raw())],
        gpu.grid(g.co as u64, WG),
    );
    (dw, db)
}

fn pool_params(op: &str, shape: &[usize], kernel: (usize, usize), stride: (usize, usize), total: usize) -> PoolParams {
    let (planes, h, w, ho, wo) = pool_geom(op, shape, kernel, stride);
    u32_of(op, (planes * h * w).max(planes * ho * wo));
    let u = |v: usize| u32_of(op, v);
    PoolParams {
        planes: u(planes),
        h: u(h),
        w: u(w),
        ho: u(ho),
        wo: u(wo),
        kh: u(kernel.0),
        kw: u(kernel.1),
        sh: u(stride.0),
        sw: u(stride.1),
        total: u(total),
        _pad0: 0,
        _pad1: 0,
    }
}

pub(crate) fn maxpool2d(
    gpu: &Gpu,
    x: &GpuTensor,
    kernel: (usize, usize),
    stride: (usize, usize),
) -> (GpuTensor, GpuIndex) {
    let op = "maxpool2d";
    let (_, _, _, ho, wo) = pool_geom(op, x.shape(), kernel, stride);
    let s = x.shape();
    let y = gpu.empty(&[s[0], s[1], ho, wo]);
    let total = y.len();
    let arg = gpu.empty_index(total);
    let params = pool_params(op, s, kernel, stride, total);
    gpu.dispatch(
        Shader::Maxpool,
        "forward",
        &[],
        &params,
        &[(1, x.raw()), (2, y.raw()), (3, arg.raw())],
        gpu.grid(total as u64, WG),
    );
    (y, arg)
}

pub(crate) fn maxpool2d_backward(
    gpu: &Gpu,
    dy: &GpuTensor,
    argmax: &GpuIndex,
    input_shape: &[usize],
    kernel: (usize, usize),
    stride: (usize, usize),
) -> GpuTensor {
    let op = "maxpool2d_backward";
    let (_, _, _, ho, wo) = pool_geom(op, input_shape, kernel, stride);
    let want = [input_shape[0], input_shape[1], ho, wo];
    assert!(dy.shape() == want, "{op}: dy {:?} for input {input_shape:?} (expected {want:?})", dy.shape());
    assert!(argmax.len() == dy.len(), "{op}: argmax of {} for dy {:?}", argmax.len(), dy.shape());
    let dx = gpu.empty(input_shape);
    let total = dx.len();
    let params = pool_params(op, input_shape, kernel, stride, total);
    gpu.dispatch(
        Shader::Maxpool,
        "backward",
        &[],
        &params,
        &[(4, dy.raw()), (5, argmax.raw()), (6, dx.raw())],
        gpu.grid(total as u64, WG),
    );
    dx
}

/// Uniform of `conv_rows_max.wgsl` (8 × u32 = 32 bytes).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct RowsParams {
    n: u32,
    l: u32,
    d: u32,
    h: u32,
    c: u32,
    has_acc: u32,
    total: u32,
    _pad: u32,
}

fn rows_params(op: &str, g: &RowsGeom, has_acc: bool, total: usize) -> RowsParams {
    // Every flat index the kernels form stays below the largest buffer's length.
    u32_of(op, (g.n * g.l * g.d).max(g.h * g.c * g.d + g.c).max(total));
    let u = |v: usize| u32_of(op, v);
    RowsParams {
        n: u(g.n),
        l: u(g.l),
        d: u(g.d),
        h: u(g.h),
        c: u(g.c),
        has_acc: has_acc as u32,
        total: u(total),
        _pad: 0,
    }
}

pub(crate) fn conv_rows_max(
    gpu: &Gpu,
    x: &GpuTensor,
    w: &GpuTensor,
    bias: &GpuTensor,
    window: usize,
) -> (GpuTensor, GpuIndex) {
    let op = "conv_rows_max";
    let g = RowsGeom::new(op, x.shape(), w.shape(), bias.len(), window);
    let y = gpu.empty(&[g.n, g.c]);
    let arg = gpu.empty_index(g.n * g.c);
    let total = g.n * g.c;
    gpu.dispatch(
        Shader::ConvRowsMax,
        "forward",
        &[],
        &rows_params(op, &g, false, total),
        &[(1, x.raw()), (2, w.raw()), (3, bias.raw()), (4, y.raw()), (5, arg.raw())],
        gpu.grid(total as u64, WG),
    );
    (y, arg)
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_rows_max_backward(
    gpu: &Gpu,
    x: &GpuTensor,
    w: &GpuTensor,
    y: &GpuTensor,
    argmax: &GpuIndex,
    dy: &GpuTensor,
    window: usize,
    acc: Option<&GpuTensor>,
) -> (GpuTensor, GpuTensor, GpuTensor) {
    let op = "conv_rows_max_backward";
    let acc_shape = acc.map(|a| a.shape());
    let g = RowsGeom::backward(op, x.shape(), w.shape(), y.shape(), dy.shape(), argmax.len(), acc_shape, window);
    let dx = gpu.empty(x.shape());
    let total = dx.len();
    gpu.dispatch(
        Shader::ConvRowsMax,
        "backward_input",
        &[],
        &rows_params(op, &g, acc.is_some(), total),
        &[(2, w.raw()), (11, y.raw()), (12, argmax.raw()), (6, dy.raw()), (7, acc.unwrap_or(x).raw()), (8, dx.raw())],
        gpu.grid(total as u64, WG),
    );
    let dw = gpu.empty(w.shape());
    let db = gpu.empty(&[1, g.c]);
    let total = dw.len() + g.c;
    gpu.dispatch(
        Shader::ConvRowsMax,
        "backward_weight",
        &[],
        &rows_params(op, &g, false, total),
        &[(1, x.raw()), (11, y.raw()), (12, argmax.raw()), (6, dy.raw()), (9, dw.raw()), (10, db.raw())],
        gpu.grid(total as u64, WG),
    );
    (dx, dw, db)
}
