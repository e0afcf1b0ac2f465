//! CPU reference: fused LSTM cell. (helper fills in)
#![allow(unused_variables)]
use super::{Cpu, CpuTensor};
use crate::backend::{LstmGrads, LstmStep};

pub fn lstm_cell(gates: &CpuTensor, h_prev: &CpuTensor, c_prev: &CpuTensor, mask: Option<&CpuTensor>) -> LstmStep<Cpu> { todo!() }
pub fn lstm_cell_backward(step: &LstmStep<Cpu>, c_prev: &CpuTensor, dh: &CpuTensor, dc: &CpuTensor, mask: Option<&CpuTensor>) -> LstmGrads<Cpu> { todo!() }
