//! Where models run: the one place that chooses between the GPU backend and
//! the CPU backend, and the one `match` over them ([`Chosen::run`]).
//!
//! `Auto` never picks a slower path: a software rasterizer (Mesa lavapipe or
//! llvmpipe, WARP) runs gpurec's kernels correctly but, on the machines that
//! have nothing better, several times slower than the ndarray backend (a
//! BPR-MF epoch on ML-100K: ≈ 0.05 s on the CPU backend against ≈ 0.57 s on
//! llvmpipe's GL adapter, both on 2 cores). So `Auto` takes a hardware
//! adapter when there is one and the CPU backend otherwise, and says why;
//! `AnyGpu` (`--device gpu`) forces an adapter, software ones included, as
//! the tests and CI do.

use crate::backend::Backend;
use crate::error::Result;
use crate::{Cpu, Gpu};

/// Where to run.
#[derive(Clone, Debug, Default)]
pub enum Device {
    /// A hardware GPU adapter if there is one, else the CPU backend.
    #[default]
    Auto,
    /// The ndarray CPU backend.
    Cpu,
    /// The best GPU adapter, software rasterizers included; an error if none.
    AnyGpu,
    /// This GPU context (e.g. `Gpu::from_device` on a host application's device).
    Gpu(Gpu),
}

/// A backend chosen by [`Device::choose`].
#[derive(Clone, Debug)]
pub enum Chosen {
    /// The CPU backend.
    Cpu(Cpu),
    /// A GPU context.
    Gpu(Gpu),
}

/// Work generic over the backend, run by [`Chosen::run`].
pub trait OnBackend {
    /// What the work returns.
    type Out;
    /// Runs on backend `b`; `gpu` is the same context when it is the GPU
    /// (for its work counters).
    fn run<B: Backend>(self, b: &B, gpu: Option<&Gpu>) -> Self::Out;
}

impl Device {
    /// The backend to use and, in words, why.
    pub fn choose(&self) -> Result<(Chosen, String)> {
        Ok(match self {
            Device::Cpu => (Chosen::Cpu(Cpu), "requested".into()),
            Device::Gpu(g) => (Chosen::Gpu(g.clone()), "the device passed in".into()),
            Device::AnyGpu => (Chosen::Gpu(Gpu::new()?), "requested".into()),
            Device::Auto => match Gpu::new() {
                Ok(g) if !g.is_software() => (Chosen::Gpu(g), "the best hardware adapter".into()),
                Ok(g) => (
                    Chosen::Cpu(Cpu),
                    format!(
                        "the only GPU adapter, {}, is a software rasterizer, slower than the CPU backend \
                         (--device gpu uses it anyway)",
                        g.describe()
                    ),
                ),
                Err(e) => (Chosen::Cpu(Cpu), format!("no GPU adapter ({e})")),
            },
        })
    }
}

impl Chosen {
    /// Runs `work` on this backend.
    pub fn run<W: OnBackend>(&self, work: W) -> W::Out {
        match self {
            Chosen::Cpu(c) => work.run(c, None),
            Chosen::Gpu(g) => work.run(g, Some(g)),
        }
    }

    /// A short description of the backend.
    pub fn describe(&self) -> String {
        match self {
            Chosen::Cpu(c) => c.describe(),
            Chosen::Gpu(g) => g.describe(),
        }
    }
}
