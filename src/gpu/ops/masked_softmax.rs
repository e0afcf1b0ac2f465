//! GPU: softmax over attention scores with a causal and a key-padding mask
//! (`shaders/masked_softmax.wgsl`), one dispatch, a workgroup per row.

use crate::backend::masked_softmax_shape;
use crate::gpu::{Gpu, GpuTensor, Shader};

/// Uniform of `masked_softmax.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct MaskedSoftmaxParams {
    rows: u32,
    lq: u32,
    lk: u32,
    group: u32,
    causal: u32,
    has_mask: u32,
    _pad: [u32; 2],
}

pub(crate) fn masked_softmax(gpu: &Gpu, x: &GpuTensor, key_mask: Option<&GpuTensor>, causal: bool) -> GpuTensor {
    let (n, lq, lk, group) = masked_softmax_shape(x.shape(), key_mask.map(|m| m.shape()));
    assert!(u32::try_from(n * lq * lk).is_ok(), "masked_softmax: x {:?} exceeds u32 indexing", x.shape());
    let out = gpu.empty(x.shape());
    if lk == 0 {
        return out;
    }
    let params = MaskedSoftmaxParams {
        rows: (n * lq) as u32,
        lq: lq as u32,
        lk: lk as u32,
        group: group as u32,
        causal: causal as u32,
        has_mask: key_mask.is_some() as u32,
        _pad: [0; 2],
    };
    // Without a mask any read-only buffer fills the binding; the kernel never reads it.
    let mask_buf = key_mask.unwrap_or(x);
    gpu.dispatch(
        Shader::MaskedSoftmax,
        "forward",
        &[],
        &params,
        &[(1, x.raw()), (2, mask_buf.raw()), (3, out.raw())],
        gpu.grid((n * lq) as u64, 1),
    );
    out
}
