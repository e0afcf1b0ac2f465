//! Training loops: pairwise (user, positive, negative) triples in
//! [`pairwise`], pointwise (user, item, target) samples in [`pointwise`].

pub mod pairwise;
pub mod pointwise;

pub use pairwise::{fit_pairwise, EpochReport, FitConfig, FitSummary, PairSampler, PairwiseModel, Progress, Silent};
pub use pointwise::{fit_pointwise, PointSampler, PointwiseModel, PointwiseSummary};

use crate::backend::{Backend, BinaryOp};
use crate::error::{Error, Result};

/// Runs one epoch of `steps` recorded steps (one submission each), summing
/// the step losses on the device and reading the mean back once.
pub(crate) fn run_epoch<B: Backend>(
    b: &B,
    epoch: usize,
    steps: usize,
    progress: &mut dyn Progress,
    mut step: impl FnMut(usize) -> Result<B::Tensor>,
) -> Result<f32> {
    let mut total: Option<B::Tensor> = None;
    for k in 0..steps {
        let loss = step(k)?;
        total = Some(match total {
            None => loss,
            Some(t) => b.binary(BinaryOp::Add, &t, &loss),
        });
        b.flush()?;
        progress.on_step(epoch, k + 1, steps);
    }
    let loss =
        b.read(&total.ok_or_else(|| Error::Invalid("an epoch needs at least one step".into()))?)?[0] / steps as f32;
    if !loss.is_finite() {
        return Err(Error::Invalid(format!("training diverged: loss {loss} at epoch {epoch}")));
    }
    Ok(loss)
}
