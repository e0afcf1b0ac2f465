//! CPU reference: convolution and max-pooling. (helper fills in)
#![allow(unused_variables)]
use super::{CpuIndex, CpuTensor};

pub fn conv1d(x: &CpuTensor, w: &CpuTensor, bias: Option<&CpuTensor>, stride: usize, padding: usize) -> CpuTensor { todo!() }
pub fn conv1d_backward_input(dy: &CpuTensor, w: &CpuTensor, l: usize, stride: usize, padding: usize) -> CpuTensor { todo!() }
pub fn conv1d_backward_weight(x: &CpuTensor, dy: &CpuTensor, k: usize, stride: usize, padding: usize) -> (CpuTensor, CpuTensor) { todo!() }
pub fn conv2d(x: &CpuTensor, w: &CpuTensor, bias: Option<&CpuTensor>, stride: (usize, usize), padding: (usize, usize)) -> CpuTensor { todo!() }
pub fn conv2d_backward_input(dy: &CpuTensor, w: &CpuTensor, hw: (usize, usize), stride: (usize, usize), padding: (usize, usize)) -> CpuTensor { todo!() }
pub fn conv2d_backward_weight(x: &CpuTensor, dy: &CpuTensor, khw: (usize, usize), stride: (usize, usize), padding: (usize, usize)) -> (CpuTensor, CpuTensor) { todo!() }
pub fn maxpool2d(x: &CpuTensor, kernel: (usize, usize), stride: (usize, usize)) -> (CpuTensor, CpuIndex) { todo!() }
pub fn maxpool2d_backward(dy: &CpuTensor, argmax: &CpuIndex, input_shape: &[usize], kernel: (usize, usize), stride: (usize, usize)) -> CpuTensor { todo!() }
