//! GPU: CSR sparse x dense. (helper fills in)
#![allow(unused_variables)]
use crate::backend::Csr;
use crate::gpu::{Gpu, GpuTensor};

pub(crate) fn spmm_csr(gpu: &Gpu, a: &Csr<Gpu>, x: &GpuTensor) -> GpuTensor { todo!() }
