//! GPU embedding lookup and its grouped gradient.

use bytemuck::{Pod, Zeroable};

use crate::backend::RowGroups;
use crate::gpu::{Gpu, GpuIndex, GpuTensor, Shader, WG};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct GatherParams {
    n: u32,
    d: u32,
    rows: u32,
    _pad: u32,
}

/// `table[idx[i], :]`.
pub(crate) fn gather_rows(gpu: &Gpu, table: &GpuTensor, idx: &GpuIndex) -> GpuTensor {
    assert_eq!(table.shape.len(), 2, "gather_rows: table {:?}", table.shape);
    let (rows, d) = (table.shape[0], table.shape[1]);
    let out = gpu.empty(&[idx.len, d]);
    let params = GatherParams { n: idx.len as u32, d: d as u32, rows: rows as u32, _pad: 0 };
    gpu.dispatch(
        Shader::GatherRows,
        "main",
        &[],
        &params,
        &[(1, table.raw()), (2, idx.raw()), (3, out.raw())],
        gpu.grid(out.len() as u64, WG),
    );
    out
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct ScatterParams {
    groups: u32,
    d: u32,
    _pad: [u32; 2],
}

/// Per-group sums of the rows of `dy`.
pub(crate) fn scatter_add_rows(gpu: &Gpu, dy: &GpuTensor, groups: &RowGroups<Gpu>) -> GpuTensor {
    assert_eq!(dy.shape.len(), 2, "scatter_add_rows: dy {:?}", dy.shape);
    assert_eq!(dy.shape[0], groups.batch, "scatter_add_rows: dy {:?} for a batch of {}", dy.shape, groups.batch);
    let d = dy.shape[1];
    let out = gpu.empty(&[groups.unique, d]);
    let params = ScatterParams { groups: groups.unique as u32, d: d as u32, _pad: [0; 2] };
    gpu.dispatch(
        Shader::ScatterAddRows,
        "main",
        &[],
        &params,
        &[(1, dy.raw()), (2, groups.offsets.raw()), (3, groups.order.raw()), (4, out.raw())],
        gpu.grid(out.len() as u64, WG),
    );
    out
}
