//! GPU time per kernel, from timestamp queries.
//!
//! Off by default. When on ([`Gpu::set_profiling`](super::Gpu::set_profiling),
//! or `GPUREC_PROFILE=1` when the context is created) and the adapter has
//! `TIMESTAMP_QUERY`, every dispatch is recorded in its own compute pass
//! with a timestamp written at the pass's start and end; each submission
//! resolves its timestamps, waits for the GPU and adds each dispatch's
//! duration to its kernel's total (shader stem and entry point). Profiling
//! therefore serialises the host with the GPU at every submission and adds a
//! pass boundary per dispatch: the totals say where GPU time goes, not how
//! long an unprofiled step takes.

use std::collections::BTreeMap;

/// Timestamp pairs per submission; the recorder submits when they run out.
pub(crate) const MAX_TIMED_DISPATCHES: u32 = 2048;

/// One kernel's share of the profiled GPU time.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct KernelTime {
    /// Dispatches timed.
    pub dispatches: u64,
    /// GPU time summed over them, in nanoseconds.
    pub nanos: f64,
}

/// The query set, its resolve and read-back buffers, and the totals so far.
pub(crate) struct Profiler {
    queries: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    readback: wgpu::Buffer,
    /// (shader stem, entry) of each timed dispatch since the last harvest.
    pending: Vec<(&'static str, &'static str)>,
    totals: BTreeMap<(&'static str, &'static str), KernelTime>,
    period_ns: f64,
}

impl Profiler {
    pub(crate) fn new(device: &wgpu::Device, queue: &wgpu::Queue) -> Self {
        let count = 2 * MAX_TIMED_DISPATCHES;
        let bytes = count as u64 * 8;
        Self {
            queries: device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("gpurec profile"),
                ty: wgpu::QueryType::Timestamp,
                count,
            }),
            resolve: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("gpurec profile resolve"),
                size: bytes,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            }),
            readback: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("gpurec profile readback"),
                size: bytes,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
            pending: Vec::new(),
            totals: BTreeMap::new(),
            period_ns: queue.get_timestamp_period() as f64,
        }
    }

    /// True when no timestamp pair is left for another dispatch.
    pub(crate) fn full(&self) -> bool {
        self.pending.len() as u32 >= MAX_TIMED_DISPATCHES
    }

    /// The timestamp writes for the next dispatch, which is `kernel`.
    pub(crate) fn next(&mut self, kernel: (&'static str, &'static str)) -> wgpu::ComputePassTimestampWrites<'_> {
        assert!(!self.full(), "profiler: {MAX_TIMED_DISPATCHES} timed dispatches in one submission");
        let i = 2 * self.pending.len() as u32;
        self.pending.push(kernel);
        wgpu::ComputePassTimestampWrites {
            query_set: &self.queries,
            beginning_of_pass_write_index: Some(i),
            end_of_pass_write_index: Some(i + 1),
        }
    }

    /// Records resolving this submission's timestamps into the read-back buffer.
    pub(crate) fn resolve(&self, encoder: &mut wgpu::CommandEncoder) {
        let n = 2 * self.pending.len() as u32;
        if n > 0 {
            encoder.resolve_query_set(&self.queries, 0..n, &self.resolve, 0);
            encoder.copy_buffer_to_buffer(&self.resolve, 0, &self.readback, 0, n as u64 * 8);
        }
    }

    /// After the submission that [`resolve`](Self::resolve)d: waits for it,
    /// reads the timestamps and adds each dispatch's duration to its kernel.
    pub(crate) fn harvest(&mut self, device: &wgpu::Device) {
        if self.pending.is_empty() {
            return;
        }
        let bytes = self.pending.len() as u64 * 16;
        let slice = self.readback.slice(0..bytes);
        slice.map_async(wgpu::MapMode::Read, |_| {});
        let stamps: Option<Vec<u64>> = match device.poll(wgpu::PollType::wait_indefinitely()) {
            Ok(_) => slice.get_mapped_range().ok().map(|v| bytemuck::cast_slice(&v).to_vec()),
            Err(_) => None,
        };
        // A lost device or a failed map leaves these dispatches untimed; the error itself
        // reaches the caller through the context's next flush.
        if let Some(stamps) = stamps {
            for (k, pair) in self.pending.iter().zip(stamps.chunks_exact(2)) {
                let t = self.totals.entry(*k).or_default();
                t.dispatches += 1;
                // A driver may reorder the two writes' clocks slightly: never negative.
                t.nanos += pair[1].saturating_sub(pair[0]) as f64 * self.period_ns;
            }
            self.readback.unmap();
        }
        self.pending.clear();
    }

    /// The totals, largest first, labelled "stem" (entry `main`) or "stem:entry".
    pub(crate) fn report(&self) -> Vec<(String, KernelTime)> {
        let mut v: Vec<(String, KernelTime)> = self
            .totals
            .iter()
            .map(|(&(stem, entry), &t)| (if entry == "main" { stem.to_string() } else { format!("{stem}:{entry}") }, t))
            .collect();
        v.sort_by(|a, b| b.1.nanos.total_cmp(&a.1.nanos).then_with(|| a.0.cmp(&b.0)));
        v
    }

    pub(crate) fn reset(&mut self) {
        self.totals.clear();
    }
}
