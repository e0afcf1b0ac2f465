//! CPU reference: CSR sparse x dense. (helper fills in)
#![allow(unused_variables)]
use super::{Cpu, CpuTensor};
use crate::backend::Csr;

pub fn spmm_csr(a: &Csr<Cpu>, x: &CpuTensor) -> CpuTensor { todo!() }
