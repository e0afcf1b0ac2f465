//! GPU: convolution and max-pooling. (helper fills in)
#![allow(unused_variables)]
use crate::gpu::{Gpu, GpuIndex, GpuTensor};

pub(crate) fn conv1d(gpu: &Gpu, x: &GpuTensor, w: &GpuTensor, bias: Option<&GpuTensor>, stride: usize, padding: usize) -> GpuTensor { todo!() }
pub(crate) fn conv1d_backward_input(gpu: &Gpu, dy: &GpuTensor, w: &GpuTensor, l: usize, stride: usize, padding: usize) -> GpuTensor { todo!() }
pub(crate) fn conv1d_backward_weight(gpu: &Gpu, x: &GpuTensor, dy: &GpuTensor, k: usize, stride: usize, padding: usize) -> (GpuTensor, GpuTensor) { todo!() }
pub(crate) fn conv2d(gpu: &Gpu, x: &GpuTensor, w: &GpuTensor, bias: Option<&GpuTensor>, stride: (usize, usize), padding: (usize, usize)) -> GpuTensor { todo!() }
pub(crate) fn conv2d_backward_input(gpu: &Gpu, dy: &GpuTensor, w: &GpuTensor, hw: (usize, usize), stride: (usize, usize), padding: (usize, usize)) -> GpuTensor { todo!() }
pub(crate) fn conv2d_backward_weight(gpu: &Gpu, x: &GpuTensor, dy: &GpuTensor, khw: (usize, usize), stride: (usize, usize), padding: (usize, usize)) -> (GpuTensor, GpuTensor) { todo!() }
pub(crate) fn maxpool2d(gpu: &Gpu, x: &GpuTensor, kernel: (usize, usize), stride: (usize, usize)) -> (GpuTensor, GpuIndex) { todo!() }
pub(crate) fn maxpool2d_backward(gpu: &Gpu, dy: &GpuTensor, argmax: &GpuIndex, input_shape: &[usize], kernel: (usize, usize), stride: (usize, usize)) -> GpuTensor { todo!() }
