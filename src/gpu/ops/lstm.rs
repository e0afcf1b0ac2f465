//! GPU: fused LSTM cell. (helper fills in)
#![allow(unused_variables)]
use crate::backend::{LstmGrads, LstmStep};
use crate::gpu::{Gpu, GpuTensor};

pub(crate) fn lstm_cell(gpu: &Gpu, gates: &GpuTensor, h_prev: &GpuTensor, c_prev: &GpuTensor, mask: Option<&GpuTensor>) -> LstmStep<Gpu> { todo!() }
pub(crate) fn lstm_cell_backward(gpu: &Gpu, step: &LstmStep<Gpu>, c_prev: &GpuTensor, dh: &GpuTensor, dc: &GpuTensor, mask: Option<&GpuTensor>) -> LstmGrads<Gpu> { todo!() }
