//! Compiled compute pipelines, each built once per context.
//!
//! The cache key is (shader, entry point, override constants); override
//! constants specialise a kernel (e.g. the activation of a fused epilogue) at
//! pipeline creation, so the shader source stays one file. Shader compilation
//! runs inside a validation error scope, so a shader the device rejects comes
//! back as [`Error::ShaderRejected`] instead of a panic.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::shaders::Shader;
use crate::error::{Error, Result};

/// (shader, entry, override constants as (name, f64 bits)).
pub(crate) type PipelineKey = (Shader, &'static str, Vec<(&'static str, u64)>);

/// A compute pipeline and the layout of its bind group 0.
pub(crate) struct Pipeline {
    pub(crate) pipeline: wgpu::ComputePipeline,
    pub(crate) layout: wgpu::BindGroupLayout,
}

#[derive(Default)]
pub(crate) struct PipelineCache {
    modules: Mutex<HashMap<Shader, wgpu::ShaderModule>>,
    pipelines: Mutex<HashMap<PipelineKey, Arc<Pipeline>>>,
}

impl PipelineCache {
    pub(crate) fn get(
        &self,
        device: &wgpu::Device,
        shader: Shader,
        entry: &'static str,
        constants: &[(&'static str, f64)],
    ) -> Result<Arc<Pipeline>> {
        let key: PipelineKey = (shader, entry, constants.iter().map(|&(k, v)| (k, v.to_bits())).collect());
        if let Some(p) = self.pipelines.lock().unwrap().get(&key) {
            return Ok(p.clone());
        }
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = {
            let mut modules = self.modules.lock().unwrap();
            modules
                .entry(shader)
                .or_insert_with(|| {
                    device.create_shader_module(wgpu::ShaderModuleDescriptor {
                        label: Some(shader.stem()),
                        source: wgpu::ShaderSource::Wgsl(shader.source().into()),
                    })
                })
                .clone()
        };
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(shader.stem()),
            layout: None,
            module: &module,
            entry_point: Some(entry),
            compilation_options: wgpu::PipelineCompilationOptions { constants, zero_initialize_workgroup_memory: true },
            cache: None,
        });
        if let Some(err) = pollster::block_on(scope.pop()) {
            // A module that failed once would fail again: forget it so the error repeats clearly.
            self.modules.lock().unwrap().remove(&shader);
            return Err(Error::ShaderRejected {
                name: shader.stem().into(),
                entry: entry.into(),
                message: err.to_string(),
            });
        }
        let layout = pipeline.get_bind_group_layout(0);
        let p = Arc::new(Pipeline { pipeline, layout });
        self.pipelines.lock().unwrap().insert(key, p.clone());
        Ok(p)
    }

    pub(crate) fn len(&self) -> usize {
        self.pipelines.lock().unwrap().len()
    }
}
