#![allow(unused_variables)]
use crate::backend::RowGroups;
use crate::gpu::{Gpu, GpuIndex, GpuTensor};
pub(crate) fn gather_rows(gpu: &Gpu, table: &GpuTensor, idx: &GpuIndex) -> GpuTensor { todo!() }
pub(crate) fn scatter_add_rows(gpu: &Gpu, dy: &GpuTensor, groups: &RowGroups<Gpu>) -> GpuTensor { todo!() }
