//! GPU dense linear algebra: `spd_inverse` by the blocked sweep operator,
//! symmetric Gauss–Jordan (`shaders/spd_inverse.wgsl`).

use bytemuck::{Pod, Zeroable};

use crate::gpu::{Gpu, GpuTensor, Shader, WG};

/// Width of a block column (`B` in the shader): the depth of each tiled update.
const BLOCK: usize = 32;
/// Output tile of the update and column tile of the panel (`TILE` in the shader).
const TILE: usize = 64;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct SpdInverseParams {
    n: u32,
    k0: u32,
    kb: u32,
    _pad: u32,
}

/// [`crate::Backend::spd_inverse`]: a copy of `a`, then per block column a
/// panel and an update dispatch, then `finish` (negate and mirror):
/// 2·⌈n/32⌉ + 1 dispatches, all recorded into the current submission.
pub(crate) fn spd_inverse(gpu: &Gpu, a: &GpuTensor) -> GpuTensor {
    let n = crate::backend::spd_inverse_shape(&a.shape);
    let out = gpu.empty(&[n, n]);
    if n == 0 {
        return out;
    }
    gpu.copy(a.raw(), out.raw(), a.bytes());
    let r = gpu.empty(&[BLOCK, n]);
    let c = gpu.empty(&[n, BLOCK]);
    let status = gpu.empty(&[1]);
    gpu.clear(status.raw(), 4);
    let tiles = n.div_ceil(TILE) as u32;
    for k0 in (0..n).step_by(BLOCK) {
        let params = SpdInverseParams { n: n as u32, k0: k0 as u32, kb: BLOCK.min(n - k0) as u32, _pad: 0 };
        gpu.dispatch(
            Shader::SpdInverse,
            "panel",
            &[],
            &params,
            &[(1, out.raw()), (2, r.raw()), (3, c.raw()), (4, status.raw())],
            [tiles, 1, 1],
        );
        gpu.dispatch(
            Shader::SpdInverse,
            "update",
            &[],
            &params,
            &[(1, out.raw()), (2, r.raw()), (3, c.raw())],
            [tiles, tiles, 1],
        );
    }
    let params = SpdInverseParams { n: n as u32, k0: 0, kb: 0, _pad: 0 };
    gpu.dispatch(
        Shader::SpdInverse,
        "finish",
        &[],
        &params,
        &[(1, out.raw()), (4, status.raw())],
        gpu.grid((n * n) as u64, WG),
    );
    out
}
