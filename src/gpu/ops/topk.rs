#![allow(unused_variables)]
use crate::backend::Pattern;
use crate::gpu::{Gpu, GpuIndex, GpuTensor};
pub(crate) fn topk_masked(gpu: &Gpu, scores: &GpuTensor, k: usize, exclude: Option<&Pattern<Gpu>>) -> (GpuIndex, GpuTensor) { todo!() }
