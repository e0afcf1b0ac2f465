//! The `gpurec` subcommands, one module each: [`info`], [`train`],
//! [`serve`] (`recommend` and `eval`), [`bench`]; [`output`] holds the
//! progress bars and tables they print. They parse flags, ask the model
//! registry, the data loaders and the protocols of the library, and print.

pub mod bench;
pub mod bench_scale;
pub mod info;
pub mod input;
pub mod output;
pub mod plot;
pub mod serve;
pub mod train;

use clap::ValueEnum;
use gpurec::device::Device;

/// Where to run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum DeviceChoice {
    /// A hardware GPU adapter if there is one, else the CPU backend (software
    /// rasterizers such as lavapipe are slower than the CPU backend).
    #[default]
    Auto,
    /// The best GPU adapter, software ones (lavapipe, llvmpipe, WARP) included; fail if none.
    Gpu,
    /// The ndarray CPU backend.
    Cpu,
}

impl DeviceChoice {
    /// The library's device choice.
    pub fn device(self) -> Device {
        match self {
            DeviceChoice::Auto => Device::Auto,
            DeviceChoice::Gpu => Device::AnyGpu,
            DeviceChoice::Cpu => Device::Cpu,
        }
    }

    /// The choice in `GPUREC_DEVICE`, else `auto`.
    pub fn from_env() -> Self {
        std::env::var("GPUREC_DEVICE").ok().and_then(|v| Self::from_str(&v, true).ok()).unwrap_or_default()
    }
}

/// `--model`'s help: the registered families.
pub fn model_help() -> String {
    let mut s = String::from("Model to train (default bpr):");
    for f in gpurec::models::FAMILIES {
        s += &format!("\n  {:<9} {}", f.name, f.about);
    }
    s
}
