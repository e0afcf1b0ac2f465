#![allow(unused_variables)]
use crate::backend::{Act, BinaryOp, Reduce, UnaryOp};
use crate::gpu::{Gpu, GpuTensor};
pub(crate) fn fill(gpu: &Gpu, shape: &[usize], value: f32) -> GpuTensor { todo!() }
pub(crate) fn matmul(gpu: &Gpu, a: &GpuTensor, b: &GpuTensor, ta: bool, tb: bool, bias: Option<&GpuTensor>, act: Act) -> GpuTensor { todo!() }
pub(crate) fn binary(gpu: &Gpu, op: BinaryOp, a: &GpuTensor, b: &GpuTensor) -> GpuTensor { todo!() }
pub(crate) fn unary(gpu: &Gpu, op: UnaryOp, x: &GpuTensor) -> GpuTensor { todo!() }
pub(crate) fn scale(gpu: &Gpu, x: &GpuTensor, alpha: f32, beta: f32) -> GpuTensor { todo!() }
pub(crate) fn activate(gpu: &Gpu, x: &GpuTensor, act: Act) -> GpuTensor { todo!() }
pub(crate) fn activate_backward(gpu: &Gpu, y: &GpuTensor, dy: &GpuTensor, act: Act) -> GpuTensor { todo!() }
pub(crate) fn reduce_rows(gpu: &Gpu, x: &GpuTensor, op: Reduce) -> GpuTensor { todo!() }
pub(crate) fn reduce_cols(gpu: &Gpu, x: &GpuTensor, op: Reduce) -> GpuTensor { todo!() }
pub(crate) fn softmax(gpu: &Gpu, x: &GpuTensor, log: bool) -> GpuTensor { todo!() }
pub(crate) fn softmax_backward(gpu: &Gpu, y: &GpuTensor, dy: &GpuTensor, log: bool) -> GpuTensor { todo!() }
pub(crate) fn dot_rows(gpu: &Gpu, a: &GpuTensor, b: &GpuTensor) -> GpuTensor { todo!() }
