#![allow(unused_variables)]
use crate::gpu::{Gpu, GpuIndex, GpuTensor};
pub(crate) fn dropout(gpu: &Gpu, x: &GpuTensor, p: f32, seed: u64) -> GpuTensor { todo!() }
pub(crate) fn random_ints(gpu: &Gpu, n: usize, bound: u32, seed: u64) -> GpuIndex { todo!() }
