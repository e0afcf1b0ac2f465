//! The wgpu runtime: one [`Gpu`] context per device, holding the pipeline
//! cache, the buffer pool and the command recorder.
//!
//! Ops record dispatches; nothing is submitted until [`Gpu::flush`], a
//! read-back, or the recorder's chunk limit. A training step therefore costs
//! one submission. Errors that happen while recording (an allocation the device
//! refuses, a validation error) are kept and returned by the next `flush` or
//! read, so op calls stay infallible and model code reads like the math.

mod backend_impl;
pub(crate) mod ops;
mod pipeline;
mod pool;
mod profile;
mod recorder;
pub(crate) mod select;
pub mod shaders;
mod tensor;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub use ops::topk::TOPK_MAX;
pub use pool::GpuBuffer;
pub use profile::KernelTime;
pub use select::AdapterSummary;
pub use shaders::Shader;
pub use tensor::{GpuIndex, GpuTensor};

use crate::error::{Error, Result};
use pipeline::PipelineCache;
use pool::{size_class, Pool, POOL_USAGE};
use profile::Profiler;
use recorder::Recorder;

/// Dispatches recorded before the recorder submits on its own, so that one
/// huge evaluation loop does not hold unbounded bind groups.
const MAX_DISPATCHES_PER_SUBMIT: u32 = 4096;
/// Workgroup size of the 1-D elementwise kernels (matches `WG` in `common.wgsl`).
pub(crate) const WG: u32 = 256;

/// Optional device features gpurec can use, each with a fallback when absent.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct OptionalFeatures {
    /// Timestamp queries (GPU-side timing in benchmarks).
    pub timestamp_query: bool,
    /// Subgroup operations.
    pub subgroups: bool,
    /// 16-bit floats in shaders.
    pub shader_f16: bool,
}

/// Counters of the work sent to the device, for benchmarks and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct GpuStats {
    /// Compute dispatches recorded.
    pub dispatches: u64,
    /// Queue submissions.
    pub submissions: u64,
    /// Bytes copied host to device.
    pub bytes_uploaded: u64,
    /// Bytes copied device to host.
    pub bytes_downloaded: u64,
    /// Read-backs (each one waits for the GPU).
    pub readbacks: u64,
    /// Workgroups dispatched (x · y · z summed over dispatches): the work
    /// the kernels were launched over.
    pub workgroups: u64,
    /// Bytes of device buffers handed out (pooled or new): a step that
    /// allocates a table-sized temporary shows here.
    pub bytes_allocated: u64,
    /// Bytes copied or cleared on the device.
    pub bytes_copied: u64,
}

impl std::ops::Sub for GpuStats {
    type Output = GpuStats;
    fn sub(self, o: GpuStats) -> GpuStats {
        GpuStats {
            dispatches: self.dispatches - o.dispatches,
            submissions: self.submissions - o.submissions,
            bytes_uploaded: self.bytes_uploaded - o.bytes_uploaded,
            bytes_downloaded: self.bytes_downloaded - o.bytes_downloaded,
            readbacks: self.readbacks - o.readbacks,
            workgroups: self.workgroups - o.workgroups,
            bytes_allocated: self.bytes_allocated - o.bytes_allocated,
            bytes_copied: self.bytes_copied - o.bytes_copied,
        }
    }
}

#[derive(Default)]
struct Counters {
    dispatches: AtomicU64,
    submissions: AtomicU64,
    bytes_uploaded: AtomicU64,
    bytes_downloaded: AtomicU64,
    readbacks: AtomicU64,
    workgroups: AtomicU64,
    bytes_allocated: AtomicU64,
    bytes_copied: AtomicU64,
}

struct Inner {
    device: wgpu::Device,
    queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    limits: wgpu::Limits,
    features: OptionalFeatures,
    pipelines: PipelineCache,
    pool: Arc<Pool>,
    recorder: Mutex<Recorder>,
    /// First error seen since the last flush; returned by the next flush or read.
    sticky: Arc<Mutex<Option<Error>>>,
    counters: Counters,
    /// [`Fault::OutOfMemoryAfter`]: allocations left before one fails (0: off).
    alloc_fuse: std::sync::atomic::AtomicU64,
}

/// A fault [`Gpu::inject_fault`] makes happen, through the same paths a real
/// one takes, so tests can check that it surfaces as an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The device is destroyed, as a driver reset or a removed GPU would.
    DeviceLost,
    /// The n-th buffer allocation from now fails as out of memory (n ≥ 1).
    OutOfMemoryAfter(u64),
}

/// A GPU compute context. Cheap to clone; all clones share the device.
#[derive(Clone)]
pub struct Gpu {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Gpu({} on {:?})", self.inner.info.name, self.inner.info.backend)
    }
}

impl Gpu {
    /// Picks the best adapter (WGPU_ADAPTER_NAME match, then discrete > integrated > virtual > software; native APIs before GL) and creates a device on it.
    pub fn new() -> Result<Self> {
        pollster::block_on(Self::new_async())
    }

    /// Async form of [`Gpu::new`].
    pub async fn new_async() -> Result<Self> {
        let instance = select::instance();
        let adapters = select::ranked_adapters(&instance).await;
        let mut last_err = None;
        for adapter in adapters {
            match Self::from_adapter(&adapter).await {
                Ok(gpu) => return Ok(gpu),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(|| Error::NoAdapter(select::env_note())))
    }

    /// Creates a device on `adapter` with the adapter's own limits and the
    /// optional features it offers.
    pub async fn from_adapter(adapter: &wgpu::Adapter) -> Result<Self> {
        let info = adapter.get_info();
        let offered = adapter.features();
        let wanted = wgpu::Features::TIMESTAMP_QUERY | wgpu::Features::SUBGROUP | wgpu::Features::SHADER_F16;
        let required_features = offered & wanted;
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("gpurec"),
                required_features,
                required_limits: adapter.limits(),
                experimental_features: wgpu::ExperimentalFeatures::disabled(),
                memory_hints: wgpu::MemoryHints::Performance,
                trace: wgpu::Trace::Off,
            })
            .await
            .map_err(|e| Error::RequestDevice { adapter: info.name.clone(), reason: e.to_string() })?;
        Ok(Self::from_parts(device, queue, info))
    }

    /// Wraps a device and queue the host application already owns (a game
    /// engine's or a desktop app's), so gpurec shares it instead of opening
    /// another. gpurec uses the device's current limits and features.
    pub fn from_device(device: wgpu::Device, queue: wgpu::Queue) -> Self {
        let info = device.adapter_info();
        Self::from_parts(device, queue, info)
    }

    fn from_parts(device: wgpu::Device, queue: wgpu::Queue, info: wgpu::AdapterInfo) -> Self {
        let f = device.features();
        let features = OptionalFeatures {
            timestamp_query: f.contains(wgpu::Features::TIMESTAMP_QUERY),
            subgroups: f.contains(wgpu::Features::SUBGROUP),
            shader_f16: f.contains(wgpu::Features::SHADER_F16),
        };
        let limits = device.limits();
        let sticky: Arc<Mutex<Option<Error>>> = Arc::default();
        {
            let sticky = sticky.clone();
            device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
                let err = match e {
                    wgpu::Error::OutOfMemory { .. } => Error::OutOfMemory { what: "a GPU operation".into(), bytes: 0 },
                    other => Error::Gpu(other.to_string()),
                };
                sticky.lock().unwrap().get_or_insert(err);
            }));
        }
        {
            let sticky = sticky.clone();
            device.set_device_lost_callback(move |reason, msg| {
                if reason != wgpu::DeviceLostReason::Destroyed {
                    sticky.lock().unwrap().get_or_insert(Error::DeviceLost(msg));
                }
            });
        }
        let recorder = Recorder::new(limits.min_uniform_buffer_offset_alignment);
        let gpu = Gpu {
            inner: Arc::new(Inner {
                device,
                queue,
                info,
                limits,
                features,
                pipelines: PipelineCache::default(),
                pool: Arc::default(),
                recorder: Mutex::new(recorder),
                sticky,
                counters: Counters::default(),
                alloc_fuse: Default::default(),
            }),
        };
        if std::env::var("GPUREC_PROFILE").is_ok_and(|v| v == "1") {
            gpu.set_profiling(true);
        }
        gpu
    }

    /// The wgpu device.
    pub fn device(&self) -> &wgpu::Device {
        &self.inner.device
    }

    /// The wgpu queue.
    pub fn queue(&self) -> &wgpu::Queue {
        &self.inner.queue
    }

    /// The adapter this context runs on.
    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        &self.inner.info
    }

    /// The device limits in force (the adapter's own, not wgpu's defaults).
    pub fn limits(&self) -> &wgpu::Limits {
        &self.inner.limits
    }

    /// Optional features present on this device.
    pub fn features(&self) -> OptionalFeatures {
        self.inner.features
    }

    /// True for software rasterizers (lavapipe, llvmpipe, WARP): timings mean nothing there.
    pub fn is_software(&self) -> bool {
        self.inner.info.device_type == wgpu::DeviceType::Cpu
    }

    /// Work counters since the context was created.
    pub fn stats(&self) -> GpuStats {
        let c = &self.inner.counters;
        GpuStats {
            dispatches: c.dispatches.load(Ordering::Relaxed),
            submissions: c.submissions.load(Ordering::Relaxed),
            bytes_uploaded: c.bytes_uploaded.load(Ordering::Relaxed),
            bytes_downloaded: c.bytes_downloaded.load(Ordering::Relaxed),
            readbacks: c.readbacks.load(Ordering::Relaxed),
            workgroups: c.workgroups.load(Ordering::Relaxed),
            bytes_allocated: c.bytes_allocated.load(Ordering::Relaxed),
            bytes_copied: c.bytes_copied.load(Ordering::Relaxed),
        }
    }

    /// Number of distinct compiled pipelines.
    pub fn pipelines_compiled(&self) -> usize {
        self.inner.pipelines.len()
    }

    /// (bytes allocated from the driver, bytes idle in the pool).
    pub fn memory_usage(&self) -> (u64, u64) {
        self.inner.pool.usage()
    }

    /// Compiles every kernel's default pipeline, reporting the first shader the device rejects.
    pub fn validate_shaders(&self) -> Result<()> {
        for &s in Shader::ALL {
            let module_scope = self.inner.device.push_error_scope(wgpu::ErrorFilter::Validation);
            let _module = self.inner.device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(s.stem()),
                source: wgpu::ShaderSource::Wgsl(s.source().into()),
            });
            if let Some(e) = pollster::block_on(module_scope.pop()) {
                return Err(Error::ShaderRejected { name: s.stem().into(), entry: "-".into(), message: e.to_string() });
            }
        }
        Ok(())
    }

    fn set_sticky(&self, e: Error) {
        self.inner.sticky.lock().unwrap().get_or_insert(e);
    }

    fn take_sticky(&self) -> Result<()> {
        let mut sticky = self.inner.sticky.lock().unwrap();
        match sticky.take() {
            // A lost device stays lost: every later call reports it too.
            Some(Error::DeviceLost(m)) => {
                *sticky = Some(Error::DeviceLost(m.clone()));
                Err(Error::DeviceLost(m))
            }
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Checks that a buffer of `bytes` fits this device's limits.
    pub fn check_fits(&self, what: &dyn Fn() -> String, bytes: u64) -> Result<()> {
        let l = &self.inner.limits;
        if bytes > l.max_buffer_size {
            return Err(Error::TooLarge { what: what(), bytes, limit: l.max_buffer_size, limit_name: "buffer" });
        }
        if bytes > l.max_storage_buffer_binding_size {
            return Err(Error::TooLarge {
                what: what(),
                bytes,
                limit: l.max_storage_buffer_binding_size,
                limit_name: "storage binding",
            });
        }
        Ok(())
    }

    /// Fault injection for tests of the error paths: a lost device (the
    /// device is destroyed and every later call reports
    /// [`Error::DeviceLost`]) or an allocation that fails as out of memory.
    /// Either surfaces from the next flush or read as an error, never a panic
    /// or a hang.
    pub fn inject_fault(&self, fault: Fault) {
        match fault {
            Fault::DeviceLost => {
                self.set_sticky(Error::DeviceLost("injected: the device was destroyed".into()));
                self.inner.device.destroy();
            }
            Fault::OutOfMemoryAfter(n) => self.inner.alloc_fuse.store(n.max(1), Ordering::Relaxed),
        }
    }

    /// A pooled storage buffer of at least `bytes` bytes (contents undefined).
    pub fn try_alloc(&self, what: &dyn Fn() -> String, bytes: u64) -> Result<GpuBuffer> {
        self.check_fits(what, bytes)?;
        let fuse = &self.inner.alloc_fuse;
        if fuse.load(Ordering::Relaxed) > 0 && fuse.fetch_sub(1, Ordering::Relaxed) == 1 {
            return Err(Error::OutOfMemory { what: format!("{} (injected)", what()), bytes });
        }
        let class = size_class(bytes);
        self.inner.counters.bytes_allocated.fetch_add(bytes, Ordering::Relaxed);
        let pool = &self.inner.pool;
        if let Some(buf) = pool.take(class) {
            return Ok(GpuBuffer::new(buf, class, pool.clone()));
        }
        let create = || {
            let scope = self.inner.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
            let buf = self.inner.device.create_buffer(&wgpu::BufferDescriptor {
                label: None,
                size: class,
                usage: POOL_USAGE,
                mapped_at_creation: false,
            });
            match pollster::block_on(scope.pop()) {
                None => Some(buf),
                Some(_) => None,
            }
        };
        let buf = match create() {
            Some(b) => b,
            None => {
                // Free what the pool holds and try once more before giving up.
                pool.trim();
                create().ok_or_else(|| Error::OutOfMemory { what: what(), bytes })?
            }
        };
        pool.note_new(class);
        Ok(GpuBuffer::new(buf, class, pool.clone()))
    }

    /// Like [`Gpu::try_alloc`] for op outputs: a failure is kept and reported by
    /// the next flush or read, and a small stand-in buffer keeps recording valid.
    pub(crate) fn alloc(&self, what: &dyn Fn() -> String, bytes: u64) -> GpuBuffer {
        match self.try_alloc(what, bytes) {
            Ok(b) => b,
            Err(e) => {
                self.set_sticky(e);
                self.try_alloc(&|| "stand-in".into(), 4).expect("a 256-byte buffer always fits")
            }
        }
    }

    /// Writes host data into a buffer. The buffer must not be referenced by
    /// commands recorded since the last submission (pool buffers never are).
    pub(crate) fn write_bytes(&self, buf: &wgpu::Buffer, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.inner.queue.write_buffer(buf, 0, bytes);
        self.inner.counters.bytes_uploaded.fetch_add(bytes.len() as u64, Ordering::Relaxed);
    }

    /// Workgroup counts for `threads` invocations in groups of `wg`, spilling
    /// into the second dimension past the per-dimension limit (see `flat_id`
    /// in `common.wgsl`).
    pub(crate) fn grid(&self, threads: u64, wg: u32) -> [u32; 3] {
        let groups = threads.div_ceil(wg as u64);
        let max = self.inner.limits.max_compute_workgroups_per_dimension as u64;
        if groups <= max {
            [groups as u32, 1, 1]
        } else {
            let y = groups.div_ceil(max);
            [groups.div_ceil(y) as u32, y as u32, 1]
        }
    }

    /// Records one dispatch of `shader`'s `entry` with `params` in binding 0
    /// and `buffers` at their binding numbers. Empty grids record nothing.
    pub(crate) fn dispatch<P: bytemuck::Pod>(
        &self,
        shader: Shader,
        entry: &'static str,
        constants: &[(&'static str, f64)],
        params: &P,
        buffers: &[(u32, &wgpu::Buffer)],
        groups: [u32; 3],
    ) {
        if groups.contains(&0) {
            return;
        }
        let pipeline = match self.inner.pipelines.get(&self.inner.device, shader, entry, constants) {
            Ok(p) => p,
            Err(e) => {
                self.set_sticky(e);
                return;
            }
        };
        let device = &self.inner.device;
        let mut rec = self.inner.recorder.lock().unwrap();
        self.inner.pool.set_recording();
        let bytes = bytemuck::bytes_of(params);
        let (chunk, offset) = rec.param_slot(device, bytes);
        let param_size = (bytes.len() as u64).next_multiple_of(16).max(16);
        let mut entries = Vec::with_capacity(buffers.len() + 1);
        entries.push(wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: &chunk,
                offset,
                size: wgpu::BufferSize::new(param_size),
            }),
        });
        for &(binding, buf) in buffers {
            entries.push(wgpu::BindGroupEntry { binding, resource: buf.as_entire_binding() });
        }
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(shader.stem()),
            layout: &pipeline.layout,
            entries: &entries,
        });
        if rec.profiler.as_ref().is_some_and(|p| p.full()) {
            self.submit_locked(&mut rec);
        }
        rec.dispatch(device, &pipeline.pipeline, &bind_group, groups, (shader.stem(), entry));
        self.inner.counters.dispatches.fetch_add(1, Ordering::Relaxed);
        self.inner.counters.workgroups.fetch_add(groups.iter().map(|&g| g as u64).product(), Ordering::Relaxed);
        if rec.dispatches_pending >= MAX_DISPATCHES_PER_SUBMIT {
            self.submit_locked(&mut rec);
        }
    }

    /// Records a device-side copy of `bytes` bytes from `src` to `dst`.
    pub(crate) fn copy(&self, src: &wgpu::Buffer, dst: &wgpu::Buffer, bytes: u64) {
        self.copy_at(src, 0, dst, 0, bytes);
    }

    /// Records a device-side copy between byte offsets (multiples of 4).
    pub(crate) fn copy_at(&self, src: &wgpu::Buffer, src_offset: u64, dst: &wgpu::Buffer, dst_offset: u64, bytes: u64) {
        // A stand-in buffer (after a failed allocation) is smaller than its tensor.
        let bytes = bytes.min(src.size().saturating_sub(src_offset)).min(dst.size().saturating_sub(dst_offset));
        if bytes == 0 {
            return;
        }
        self.inner.counters.bytes_copied.fetch_add(bytes, Ordering::Relaxed);
        let mut rec = self.inner.recorder.lock().unwrap();
        self.inner.pool.set_recording();
        rec.copy(&self.inner.device, src, src_offset, dst, dst_offset, bytes);
    }

    /// Records zero-filling the first `bytes` of `dst`.
    pub(crate) fn clear(&self, dst: &wgpu::Buffer, bytes: u64) {
        if bytes == 0 {
            return;
        }
        // A stand-in buffer (after a failed allocation) is smaller than its tensor.
        let bytes = bytes.next_multiple_of(4).min(dst.size());
        self.inner.counters.bytes_copied.fetch_add(bytes, Ordering::Relaxed);
        let mut rec = self.inner.recorder.lock().unwrap();
        self.inner.pool.set_recording();
        rec.clear(&self.inner.device, dst, bytes);
    }

    fn submit_locked(&self, rec: &mut Recorder) -> Option<wgpu::SubmissionIndex> {
        let cmd = rec.finish(&self.inner.queue)?;
        let idx = self.inner.queue.submit(Some(cmd));
        self.inner.counters.submissions.fetch_add(1, Ordering::Relaxed);
        self.inner.pool.submitted();
        if let Some(p) = rec.profiler.as_mut() {
            p.harvest(&self.inner.device);
        }
        Some(idx)
    }

    /// Submits everything recorded so far without waiting for it, and reports
    /// any error kept since the last flush.
    pub fn flush(&self) -> Result<()> {
        {
            let mut rec = self.inner.recorder.lock().unwrap();
            if !rec.is_empty() {
                self.submit_locked(&mut rec);
            }
        }
        self.take_sticky()
    }

    /// Turns per-kernel GPU timing on or off (see [`KernelTime`]); `true`
    /// when it is on afterwards, `false` when the adapter has no timestamp
    /// queries. Work recorded before the call is submitted first. Also on
    /// from the start when `GPUREC_PROFILE=1` is set as the context is made.
    pub fn set_profiling(&self, on: bool) -> bool {
        let mut rec = self.inner.recorder.lock().unwrap();
        if !rec.is_empty() {
            self.submit_locked(&mut rec);
        }
        if !on {
            rec.profiler = None;
        } else if rec.profiler.is_none() && self.inner.features.timestamp_query {
            rec.profiler = Some(Profiler::new(&self.inner.device, &self.inner.queue));
        }
        rec.profiler.is_some()
    }

    /// GPU time per kernel since profiling was turned on or last
    /// [`reset`](Self::kernel_times_reset), largest first ("stem" or
    /// "stem:entry"); empty when profiling is off. Submits recorded work first.
    pub fn kernel_times(&self) -> Vec<(String, KernelTime)> {
        let mut rec = self.inner.recorder.lock().unwrap();
        if !rec.is_empty() {
            self.submit_locked(&mut rec);
        }
        rec.profiler.as_ref().map(|p| p.report()).unwrap_or_default()
    }

    /// Clears the per-kernel totals.
    pub fn kernel_times_reset(&self) {
        if let Some(p) = self.inner.recorder.lock().unwrap().profiler.as_mut() {
            p.reset();
        }
    }

    /// Blocks until the GPU has finished all submitted work.
    pub fn sync(&self) -> Result<()> {
        self.flush()?;
        self.inner.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| Error::Gpu(e.to_string()))?;
        self.take_sticky()
    }

    /// Copies the first `bytes` of `src` into a fresh read-back buffer and submits.
    fn stage_readback(&self, src: &wgpu::Buffer, bytes: u64) -> wgpu::Buffer {
        let staging = self.inner.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("gpurec readback"),
            size: bytes.next_multiple_of(4).max(4),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut rec = self.inner.recorder.lock().unwrap();
        self.inner.pool.set_recording();
        rec.copy(&self.inner.device, src, 0, &staging, 0, bytes.next_multiple_of(4));
        self.submit_locked(&mut rec);
        self.inner.counters.readbacks.fetch_add(1, Ordering::Relaxed);
        self.inner.counters.bytes_downloaded.fetch_add(bytes, Ordering::Relaxed);
        staging
    }

    /// Reads `bytes` bytes of `src` back to the host, blocking until the GPU is done.
    pub(crate) fn read_bytes(&self, src: &wgpu::Buffer, bytes: u64) -> Result<Vec<u8>> {
        if bytes == 0 {
            return self.flush().map(|_| Vec::new());
        }
        let staging = self.stage_readback(src, bytes);
        let slice = staging.slice(..);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.inner.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| Error::Gpu(e.to_string()))?;
        self.take_sticky()?;
        rx.recv().map_err(|e| Error::Readback(e.to_string()))?.map_err(|e| Error::Readback(e.to_string()))?;
        let view = slice.get_mapped_range().map_err(|e| Error::Readback(e.to_string()))?;
        let out = view[..bytes as usize].to_vec();
        drop(view);
        staging.unmap();
        Ok(out)
    }

    /// Async read-back: submits, then resolves once the GPU has finished,
    /// polling the device without blocking the calling thread.
    pub(crate) async fn read_bytes_async(&self, src: &wgpu::Buffer, bytes: u64) -> Result<Vec<u8>> {
        if bytes == 0 {
            return self.flush().map(|_| Vec::new());
        }
        let staging = self.stage_readback(src, bytes);
        let slice = staging.slice(..);
        let (tx, mut rx) = futures::channel::oneshot::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        let device = self.inner.device.clone();
        let result = futures::future::poll_fn(|cx| {
            let _ = device.poll(wgpu::PollType::Poll);
            match rx.try_recv() {
                Ok(Some(r)) => std::task::Poll::Ready(r.map_err(|e| Error::Readback(e.to_string()))),
                Ok(None) => {
                    cx.waker().wake_by_ref();
                    std::task::Poll::Pending
                }
                Err(e) => std::task::Poll::Ready(Err(Error::Readback(e.to_string()))),
            }
        })
        .await;
        self.take_sticky()?;
        result?;
        let view = slice.get_mapped_range().map_err(|e| Error::Readback(e.to_string()))?;
        let out = view[..bytes as usize].to_vec();
        drop(view);
        staging.unmap();
        Ok(out)
    }
}

/// Every adapter wgpu can see, best first, as `gpurec info` lists them.
pub fn list_adapters() -> Vec<AdapterSummary> {
    let instance = select::instance();
    pollster::block_on(select::ranked_adapters(&instance)).iter().map(|a| AdapterSummary::of(&a.get_info())).collect()
}
