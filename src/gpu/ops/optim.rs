#![allow(unused_variables)]
use crate::backend::AdamConfig;
use crate::gpu::{Gpu, GpuIndex, GpuTensor};
pub(crate) fn adam(gpu: &Gpu, p: &mut GpuTensor, g: &GpuTensor, m: &mut GpuTensor, v: &mut GpuTensor, cfg: &AdamConfig, step: u32) { todo!() }
#[allow(clippy::too_many_arguments)]
pub(crate) fn adam_rows(gpu: &Gpu, p: &mut GpuTensor, rows: &GpuIndex, g: &GpuTensor, m: &mut GpuTensor, v: &mut GpuTensor, cfg: &AdamConfig, step: u32) { todo!() }
pub(crate) fn sgd(gpu: &Gpu, p: &mut GpuTensor, g: &GpuTensor, vel: &mut GpuTensor, lr: f32, momentum: f32, wd: f32) { todo!() }
