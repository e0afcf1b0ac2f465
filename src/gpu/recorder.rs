//! Records many dispatches into one command encoder and one compute pass,
//! and submits them together.
//!
//! Shape parameters of each dispatch go into a uniform arena: one slot per
//! dispatch at the device's uniform offset alignment, in 64 KiB chunks that
//! are written with a single `write_buffer` per chunk just before the
//! submission. Nothing here waits for the GPU.

use super::profile::Profiler;

/// Bytes per uniform chunk.
const CHUNK_BYTES: u64 = 64 * 1024;
/// Largest parameter block a kernel may take.
pub(crate) const MAX_PARAM_BYTES: u64 = 256;

struct Chunk {
    buffer: wgpu::Buffer,
    shadow: Vec<u8>,
}

pub(crate) struct Recorder {
    encoder: Option<wgpu::CommandEncoder>,
    pass: Option<wgpu::ComputePass<'static>>,
    chunks_used: Vec<Chunk>,
    chunks_free: Vec<wgpu::Buffer>,
    slot: u64,
    pub(crate) dispatches_pending: u32,
    /// Timestamps per dispatch, when profiling (see `profile.rs`).
    pub(crate) profiler: Option<Profiler>,
}

impl Recorder {
    pub(crate) fn new(align: u32) -> Self {
        Self {
            encoder: None,
            pass: None,
            chunks_used: Vec::new(),
            chunks_free: Vec::new(),
            slot: (align as u64).max(MAX_PARAM_BYTES),
            dispatches_pending: 0,
            profiler: None,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.encoder.is_none()
    }

    fn encoder(&mut self, device: &wgpu::Device) -> &mut wgpu::CommandEncoder {
        self.encoder.get_or_insert_with(|| {
            device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("gpurec step") })
        })
    }

    /// Ends the open compute pass (needed before copies and before finishing).
    pub(crate) fn end_pass(&mut self) {
        self.pass = None;
    }

    /// Room for one parameter block: (chunk buffer, offset).
    pub(crate) fn param_slot(&mut self, device: &wgpu::Device, bytes: &[u8]) -> (wgpu::Buffer, u64) {
        assert!(bytes.len() as u64 <= MAX_PARAM_BYTES, "kernel parameters over {MAX_PARAM_BYTES} bytes");
        let need_new = match self.chunks_used.last() {
            Some(c) => c.shadow.len() as u64 + self.slot > CHUNK_BYTES,
            None => true,
        };
        if need_new {
            let buffer = self.chunks_free.pop().unwrap_or_else(|| {
                device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("gpurec params"),
                    size: CHUNK_BYTES,
                    usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                })
            });
            self.chunks_used.push(Chunk { buffer, shadow: Vec::with_capacity(CHUNK_BYTES as usize) });
        }
        let chunk = self.chunks_used.last_mut().unwrap();
        let offset = chunk.shadow.len() as u64;
        chunk.shadow.extend_from_slice(bytes);
        chunk.shadow.resize((offset + self.slot) as usize, 0);
        (chunk.buffer.clone(), offset)
    }

    /// Records one dispatch of `kernel` (shader stem, entry point). When
    /// profiling, in a pass of its own with timestamps at its start and end;
    /// the caller submits first when the profiler is full.
    pub(crate) fn dispatch(
        &mut self,
        device: &wgpu::Device,
        pipeline: &wgpu::ComputePipeline,
        bind_group: &wgpu::BindGroup,
        groups: [u32; 3],
        kernel: (&'static str, &'static str),
    ) {
        if let Some(profiler) = self.profiler.as_mut() {
            self.pass = None;
            let enc = self.encoder.get_or_insert_with(|| {
                device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("gpurec step") })
            });
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(kernel.0),
                timestamp_writes: Some(profiler.next(kernel)),
            });
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, bind_group, &[]);
            pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
            self.dispatches_pending += 1;
            return;
        }
        if self.pass.is_none() {
            let enc = self.encoder(device);
            let pass = enc
                .begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("gpurec"), timestamp_writes: None })
                .forget_lifetime();
            self.pass = Some(pass);
        }
        let pass = self.pass.as_mut().unwrap();
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, bind_group, &[]);
        pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
        self.dispatches_pending += 1;
    }

    /// Records a buffer-to-buffer copy.
    pub(crate) fn copy(
        &mut self,
        device: &wgpu::Device,
        src: &wgpu::Buffer,
        src_offset: u64,
        dst: &wgpu::Buffer,
        dst_offset: u64,
        bytes: u64,
    ) {
        self.end_pass();
        self.encoder(device).copy_buffer_to_buffer(src, src_offset, dst, dst_offset, bytes);
    }

    /// Records zero-filling the first `bytes` of a buffer.
    pub(crate) fn clear(&mut self, device: &wgpu::Device, dst: &wgpu::Buffer, bytes: u64) {
        self.end_pass();
        self.encoder(device).clear_buffer(dst, 0, Some(bytes));
    }

    /// Writes the parameter chunks and hands back the finished command buffer.
    pub(crate) fn finish(&mut self, queue: &wgpu::Queue) -> Option<wgpu::CommandBuffer> {
        self.end_pass();
        let mut encoder = self.encoder.take()?;
        if let Some(profiler) = &self.profiler {
            profiler.resolve(&mut encoder);
        }
        for chunk in self.chunks_used.drain(..) {
            if !chunk.shadow.is_empty() {
                queue.write_buffer(&chunk.buffer, 0, &chunk.shadow);
            }
            self.chunks_free.push(chunk.buffer);
        }
        self.dispatches_pending = 0;
        Some(encoder.finish())
    }
}
