//! Finding adapters and choosing one.
//!
//! Order of preference: an adapter whose name contains `WGPU_ADAPTER_NAME`
//! (when set), then discrete GPUs, integrated, virtual, and last software
//! rasterizers such as Mesa lavapipe. Within a type, native APIs (Vulkan,
//! Metal, DX12) come before GL. `WGPU_BACKEND` limits the APIs searched.

/// What gpurec knows about one adapter, for `gpurec info` and for choosing.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AdapterSummary {
    /// Adapter name as the driver reports it.
    pub name: String,
    /// Graphics API: Vulkan, Metal, Dx12, Gl.
    pub backend: String,
    /// DiscreteGpu, IntegratedGpu, VirtualGpu, Cpu or Other.
    pub device_type: String,
    /// Driver name and version.
    pub driver: String,
}

impl AdapterSummary {
    /// The adapter a context runs on.
    pub fn of_gpu(gpu: &super::Gpu) -> Self {
        Self::of(gpu.adapter_info())
    }

    pub(crate) fn of(info: &wgpu::AdapterInfo) -> Self {
        Self {
            name: info.name.clone(),
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver: format!("{} {}", info.driver, info.driver_info).trim().to_string(),
        }
    }
}

/// The instance gpurec uses: backends from `WGPU_BACKEND` (all by default).
pub(crate) fn instance() -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    if std::env::var_os("WGPU_BACKEND").is_none() {
        desc.backends = wgpu::Backends::PRIMARY;
    }
    wgpu::Instance::new(desc)
}

/// An instance for the GL fallback.
pub(crate) fn gl_instance() -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    desc.backends = wgpu::Backends::SECONDARY;
    wgpu::Instance::new(desc)
}

/// Lower is better.
fn rank(info: &wgpu::AdapterInfo) -> (u8, u8) {
    let ty = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    };
    let api = match info.backend {
        wgpu::Backend::Vulkan | wgpu::Backend::Metal | wgpu::Backend::Dx12 => 0,
        _ => 1,
    };
    (ty, api)
}

/// All adapters the instance sees, best first, filtered by `WGPU_ADAPTER_NAME`.
///
/// Without `WGPU_BACKEND`, GL is searched only when no Vulkan, Metal or DX12
/// adapter exists: it is the least capable API, and probing it headless
/// prints EGL noise.
pub(crate) async fn ranked_adapters(instance: &wgpu::Instance) -> Vec<wgpu::Adapter> {
    let mut adapters = if std::env::var_os("WGPU_BACKEND").is_some() {
        instance.enumerate_adapters(wgpu::Backends::all()).await
    } else {
        let primary = instance.enumerate_adapters(wgpu::Backends::PRIMARY).await;
        if primary.is_empty() {
            gl_instance().enumerate_adapters(wgpu::Backends::SECONDARY).await
        } else {
            primary
        }
    };
    if let Ok(want) = std::env::var("WGPU_ADAPTER_NAME") {
        let want = want.to_lowercase();
        adapters.retain(|a| a.get_info().name.to_lowercase().contains(&want));
    }
    adapters.sort_by_key(|a| rank(&a.get_info()));
    adapters
}

/// A short description of the environment variables in force, for error messages.
pub(crate) fn env_note() -> String {
    let mut parts = Vec::new();
    for key in ["WGPU_BACKEND", "WGPU_ADAPTER_NAME"] {
        if let Ok(v) = std::env::var(key) {
            parts.push(format!("{key}={v}"));
        }
    }
    if parts.is_empty() {
        " (install a Vulkan, Metal or DX12 driver; on Linux without a GPU: apt-get install mesa-vulkan-drivers libvulkan1)".into()
    } else {
        format!(" matching {}", parts.join(", "))
    }
}
