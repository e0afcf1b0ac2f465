//! Rating-prediction errors on the device: RMSE and MAE of clipped predictions.
//!
//! Protocol as Surprise does it (see `shared/PROTOCOLS.md`): every prediction
//! is clipped to the rating scale [lo, hi] before it is compared, and
//!   RMSE = √(Σ (clip(r̂) − r)² / N),   MAE = Σ |clip(r̂) − r| / N
//! over all N rated pairs of the set. The ratings are uploaded once; an
//! evaluation records, batch by batch, the model's predictions (the model
//! uploads the pair indices in its own row layout), the clip, the errors and
//! their sums, accumulates the sums on the device and reads back three floats
//! (the third, the sum of the raw predictions, only catches non-finite ones,
//! which the clip would hide). The clip uses existing ops only:
//!   c = relu((hi − lo) − relu(r̂ − lo)) = hi − clip(r̂),
//! so clip(r̂) − r = (hi − r) − c, with hi − r uploaded with the set.

use crate::backend::{Act, Backend, BinaryOp, Reduce, UnaryOp};
#[cfg(test)]
use crate::data::Interactions;
pub use crate::data::Ratings;
use crate::error::{Error, Result};
pub use crate::models::contract::RatingModel;

/// Errors of clipped predictions over a set.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct RatingMetrics {
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Number of rated pairs.
    pub count: usize,
}

impl RatingMetrics {
    /// The value of `name` ("rmse" or "mae").
    pub fn get(&self, name: &str) -> Option<f64> {
        match name {
            "rmse" => Some(self.rmse),
            "mae" => Some(self.mae),
            _ => None,
        }
    }
}

struct EvalBatch<B: Backend> {
    users: Vec<u32>,
    items: Vec<u32>,
    /// `hi − r` per pair, `[n]`.
    headroom: B::Tensor,
}

/// A rating set uploaded once and scored on the device, e.g. every epoch.
pub struct RatingEval<B: Backend> {
    batches: Vec<EvalBatch<B>>,
    scale: (f32, f32),
    count: usize,
}

impl<B: Backend> RatingEval<B> {
    /// Uploads `set` in batches of `batch` pairs; predictions will be clipped
    /// to `scale` = (lo, hi), e.g. (1, 5) for MovieLens.
    pub fn new(backend: &B, set: &Ratings, scale: (f32, f32), batch: usize) -> Result<Self> {
        let (lo, hi) = scale;
        if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
            return Err(Error::Invalid(format!("rating scale [{lo}, {hi}] is not an interval")));
        }
        let mut batches = Vec::new();
        let step = batch.max(1);
        for start in (0..set.len()).step_by(step) {
            let end = (start + step).min(set.len());
            let headroom: Vec<f32> = set.ratings[start..end].iter().map(|&r| hi - r).collect();
            batches.push(EvalBatch {
                users: set.users[start..end].to_vec(),
                items: set.items[start..end].to_vec(),
                headroom: backend.tensor(&headroom, &[end - start])?,
            });
        }
        Ok(Self { batches, scale, count: set.len() })
    }

    /// Number of rated pairs.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when the set is empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Records the sums `[Σ (clip(r̂) − r)², Σ |clip(r̂) − r|, Σ r̂]` as a `[3]`
    /// tensor without reading anything back; `None` for an empty set.
    pub fn error_sums(&self, backend: &B, model: &(impl RatingModel<B> + ?Sized)) -> Result<Option<B::Tensor>> {
        let (lo, hi) = self.scale;
        let mut total: Option<B::Tensor> = None;
        for b in &self.batches {
            let n = b.users.len();
            let pred = model.predict(backend, &b.users, &b.items)?;
            let above_lo = backend.activate(&backend.scale(&pred, 1.0, -lo), Act::Relu);
            // c = hi − clip(r̂); e = c − (hi − r) = r − clip(r̂).
            let c = backend.activate(&backend.scale(&above_lo, -1.0, hi - lo), Act::Relu);
            let e = backend.binary(BinaryOp::Sub, &c, &b.headroom);
            let sq = backend.reshape(&backend.unary(UnaryOp::Square, &e), &[1, n]);
            let abs = backend.reshape(&backend.unary(UnaryOp::Abs, &e), &[1, n]);
            let rows = backend.concat_rows(&backend.concat_rows(&sq, &abs), &backend.reshape(&pred, &[1, n]));
            let sums = backend.reduce_rows(&rows, Reduce::Sum);
            total = Some(match total {
                None => sums,
                Some(t) => backend.binary(BinaryOp::Add, &t, &sums),
            });
        }
        Ok(total)
    }

    /// RMSE and MAE of `model` over the set (one read-back of three floats);
    /// an error when a prediction is not finite.
    pub fn evaluate(&self, backend: &B, model: &(impl RatingModel<B> + ?Sized)) -> Result<RatingMetrics> {
        let Some(sums) = self.error_sums(backend, model)? else {
            return Ok(RatingMetrics::default());
        };
        let s = backend.read(&sums)?;
        if !s[2].is_finite() {
            return Err(Error::Invalid(format!("non-finite predictions (their sum is {})", s[2])));
        }
        let n = self.count as f64;
        Ok(RatingMetrics { rmse: (s[0] as f64 / n).sqrt(), mae: s[1] as f64 / n, count: self.count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Cpu;

    /// Predicts a fixed value per position.
    struct Fixed(Vec<f32>);
    impl RatingModel<Cpu> for Fixed {
        fn predict(&self, b: &Cpu, users: &[u32], _: &[u32]) -> Result<crate::cpu::CpuTensor> {
            b.tensor(&users.iter().map(|&k| self.0[k as usize]).collect::<Vec<_>>(), &[users.len()])
        }
    }

    #[test]
    fn clips_and_averages_over_batches() {
        // Users double as positions; predictions 0.2 (clipped to 1), 3.5, 7 (clipped to 5), 4.
        let set = Ratings { users: vec![0, 1, 2, 3], items: vec![0; 4], ratings: vec![2.0, 3.0, 4.0, 4.0] };
        let model = Fixed(vec![0.2, 3.5, 7.0, 4.0]);
        for batch in [1, 3, 4, 100] {
            let m = RatingEval::new(&Cpu, &set, (1.0, 5.0), batch).unwrap().evaluate(&Cpu, &model).unwrap();
            // errors: −1, 0.5, 1, 0
            assert!((m.rmse - (2.25f64 / 4.0).sqrt()).abs() < 1e-6, "batch {batch}: {m:?}");
            assert!((m.mae - 2.5 / 4.0).abs() < 1e-6, "batch {batch}: {m:?}");
            assert_eq!(m.count, 4);
        }
        assert_eq!(Ratings::from_rows(&Interactions::default(), &[]).mean(), 0.0);
        let diverged = Fixed(vec![1.0, f32::NAN, 3.0, 4.0]);
        assert!(RatingEval::new(&Cpu, &set, (1.0, 5.0), 4).unwrap().evaluate(&Cpu, &diverged).is_err());
    }
}
