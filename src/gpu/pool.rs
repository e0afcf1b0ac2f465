//! A buffer pool with size classes: buffers freed by dropped tensors are
//! reused by later allocations of the same class instead of going back to the
//! driver, so a training step allocates nothing after the first.
//!
//! Classes are powers of two split into four steps (at most 25 % slack).
//! A buffer released while commands that may use it are still being recorded
//! is parked until the next submission: uploads go through
//! `Queue::write_buffer`, which runs before the commands of the submission it
//! joins, so handing such a buffer to an upload could overwrite data that
//! earlier recorded commands still read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Usage of every pooled buffer.
pub(crate) const POOL_USAGE: wgpu::BufferUsages =
    wgpu::BufferUsages::STORAGE.union(wgpu::BufferUsages::COPY_SRC).union(wgpu::BufferUsages::COPY_DST);

/// Smallest buffer handed out (also what an empty tensor gets: bindings may not be empty).
const MIN_BYTES: u64 = 256;

/// The size class that holds `bytes`.
pub(crate) fn size_class(bytes: u64) -> u64 {
    let b = bytes.max(MIN_BYTES);
    let pow = b.next_power_of_two();
    if pow <= 1024 {
        return pow;
    }
    let step = pow / 8; // four steps between pow/2 and pow
    b.div_ceil(step) * step
}

#[derive(Default)]
struct PoolState {
    free: HashMap<u64, Vec<wgpu::Buffer>>,
    parked: Vec<(u64, wgpu::Buffer)>,
    recording: bool,
    bytes_allocated: u64,
    bytes_free: u64,
}

/// Shared between the context and every live buffer.
#[derive(Default)]
pub(crate) struct Pool {
    state: Mutex<PoolState>,
}

impl Pool {
    /// A free buffer of `class` bytes, if one is pooled.
    pub(crate) fn take(&self, class: u64) -> Option<wgpu::Buffer> {
        let mut s = self.state.lock().unwrap();
        let buf = s.free.get_mut(&class)?.pop()?;
        s.bytes_free -= class;
        Some(buf)
    }

    pub(crate) fn note_new(&self, class: u64) {
        self.state.lock().unwrap().bytes_allocated += class;
    }

    fn release(&self, class: u64, buf: wgpu::Buffer) {
        let mut s = self.state.lock().unwrap();
        if s.recording {
            s.parked.push((class, buf));
        } else {
            s.bytes_free += class;
            s.free.entry(class).or_default().push(buf);
        }
    }

    /// Commands that may reference pooled buffers are being recorded.
    pub(crate) fn set_recording(&self) {
        self.state.lock().unwrap().recording = true;
    }

    /// The recorded commands were submitted: parked buffers become reusable.
    pub(crate) fn submitted(&self) {
        let mut s = self.state.lock().unwrap();
        s.recording = false;
        let parked = std::mem::take(&mut s.parked);
        for (class, buf) in parked {
            s.bytes_free += class;
            s.free.entry(class).or_default().push(buf);
        }
    }

    /// Drop every pooled free buffer (e.g. after an out-of-memory error), returning the bytes freed.
    pub(crate) fn trim(&self) -> u64 {
        let mut s = self.state.lock().unwrap();
        let freed = s.bytes_free;
        s.free.clear();
        s.bytes_allocated -= freed;
        s.bytes_free = 0;
        freed
    }

    /// (bytes allocated from the driver, bytes of those sitting free in the pool).
    pub(crate) fn usage(&self) -> (u64, u64) {
        let s = self.state.lock().unwrap();
        (s.bytes_allocated, s.bytes_free)
    }
}

/// A storage buffer from the pool; goes back to the pool when dropped.
pub struct GpuBuffer {
    buf: Option<wgpu::Buffer>,
    class: u64,
    pool: Arc<Pool>,
}

impl GpuBuffer {
    pub(crate) fn new(buf: wgpu::Buffer, class: u64, pool: Arc<Pool>) -> Self {
        Self { buf: Some(buf), class, pool }
    }

    /// The underlying wgpu buffer (its size is the size class, not the tensor's length).
    pub fn raw(&self) -> &wgpu::Buffer {
        self.buf.as_ref().expect("buffer present until drop")
    }
}

impl Drop for GpuBuffer {
    fn drop(&mut self) {
        if let Some(buf) = self.buf.take() {
            self.pool.release(self.class, buf);
        }
    }
}

impl std::fmt::Debug for GpuBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GpuBuffer({} bytes)", self.class)
    }
}

#[cfg(test)]
mod tests {
    use super::size_class;

    #[test]
    fn size_classes_cover_and_bound_slack() {
        for bytes in [0u64, 1, 255, 256, 257, 1000, 1025, 4096, 5000, 1 << 20, (1 << 20) + 1, 123_456_789] {
            let c = size_class(bytes);
            assert!(c >= bytes.max(256), "{bytes} -> {c}");
            assert!(c as f64 <= (bytes.max(256) as f64) * 1.25 + 1.0 || c <= 1024, "{bytes} -> {c}");
            assert_eq!(size_class(c), c, "class of a class is itself");
        }
    }
}
