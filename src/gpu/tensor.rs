//! Device-resident tensors: a pooled buffer plus a host-side shape.

use std::sync::Arc;

use super::pool::GpuBuffer;

/// A row-major `f32` tensor in GPU memory. Cloning shares the buffer; ops
/// that update in place copy first when the buffer is shared, so clones keep
/// value semantics (as the CPU backend's tensors do).
#[derive(Clone, Debug)]
pub struct GpuTensor {
    pub(crate) buf: Arc<GpuBuffer>,
    pub(crate) shape: Vec<usize>,
}

impl GpuTensor {
    /// The tensor's shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True when the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Size in bytes of the elements (not of the pooled buffer).
    pub fn bytes(&self) -> u64 {
        self.len() as u64 * 4
    }

    /// The underlying buffer.
    pub fn raw(&self) -> &wgpu::Buffer {
        self.buf.raw()
    }
}

/// A vector of `u32` indices in GPU memory (item ids, CSR offsets, argmax positions).
#[derive(Clone, Debug)]
pub struct GpuIndex {
    pub(crate) buf: Arc<GpuBuffer>,
    pub(crate) len: usize,
}

impl GpuIndex {
    /// Number of indices.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The underlying buffer.
    pub fn raw(&self) -> &wgpu::Buffer {
        self.buf.raw()
    }
}
