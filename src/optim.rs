//! Optimiser helpers shared by the models: learning-rate schedules (host
//! arithmetic, one number per step) and gradient-norm clipping (on the
//! device, without reading the norm back).

use crate::backend::{Act, Backend, BinaryOp, Reduce, Shaped, UnaryOp};

/// A learning-rate schedule: the rate for 1-based step `t` is `base · factor(t)`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Schedule {
    /// `factor = 1`.
    Constant,
    /// `factor = gamma^⌊(t − 1) / every⌋`.
    Step {
        /// Steps between decays.
        every: u32,
        /// Decay factor.
        gamma: f32,
    },
    /// Cosine decay from 1 to `min_factor` over `total` steps, then `min_factor`.
    Cosine {
        /// Length of the decay.
        total: u32,
        /// Final factor.
        min_factor: f32,
    },
    /// Linear warm-up from 0 over `steps`, then `then` (counted from the end of the warm-up).
    Warmup {
        /// Warm-up length.
        steps: u32,
        /// The schedule after warm-up.
        then: Box<Schedule>,
    },
}

impl Schedule {
    /// The multiplier of the base rate at 1-based step `t`.
    pub fn factor(&self, t: u32) -> f32 {
        let t = t.max(1);
        match self {
            Schedule::Constant => 1.0,
            Schedule::Step { every, gamma } => gamma.powi(((t - 1) / (*every).max(1)) as i32),
            Schedule::Cosine { total, min_factor } => {
                let x = ((t - 1) as f32 / (*total).max(1) as f32).min(1.0);
                min_factor + (1.0 - min_factor) * 0.5 * (1.0 + (std::f32::consts::PI * x).cos())
            }
            Schedule::Warmup { steps, then } => {
                if t <= *steps {
                    t as f32 / *steps as f32
                } else {
                    then.factor(t - steps)
                }
            }
        }
    }

    /// The rate at step `t` for base rate `base`.
    pub fn lr(&self, base: f32, t: u32) -> f32 {
        base * self.factor(t)
    }
}

/// Scales `grads` together so their global L2 norm is at most `max_norm`
/// (`g ← g · min(1, max_norm / (‖g‖ + 1e-6))`). Returns the norm before
/// clipping as a `[1]` tensor on the device; nothing is read back.
pub fn clip_grad_norm<B: Backend>(b: &B, grads: &mut [&mut B::Tensor], max_norm: f32) -> B::Tensor {
    let mut sq = b.zeros(&[1]);
    for g in grads.iter() {
        let n = g.numel();
        let s = b.reduce_rows(&b.unary(UnaryOp::Square, &b.reshape(g, &[1, n])), Reduce::Sum);
        sq = b.binary(BinaryOp::Add, &sq, &s);
    }
    let norm = b.unary(UnaryOp::Sqrt, &sq);
    // ratio = max_norm / (norm + ε); factor = min(1, ratio) = 1 − relu(1 − ratio).
    let ratio = b.scale(&b.unary(UnaryOp::Recip, &b.scale(&norm, 1.0, 1e-6)), max_norm, 0.0);
    let factor = b.scale(&b.activate(&b.scale(&ratio, -1.0, 1.0), Act::Relu), -1.0, 1.0);
    for g in grads.iter_mut() {
        **g = b.binary(BinaryOp::Mul, g, &factor);
    }
    norm
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules() {
        assert_eq!(Schedule::Constant.lr(0.1, 7), 0.1);
        let s = Schedule::Step { every: 10, gamma: 0.5 };
        assert_eq!((s.factor(1), s.factor(10), s.factor(11), s.factor(21)), (1.0, 1.0, 0.5, 0.25));
        let c = Schedule::Cosine { total: 100, min_factor: 0.0 };
        assert!((c.factor(1) - 1.0).abs() < 1e-6 && (c.factor(51) - 0.5).abs() < 1e-6 && c.factor(101) < 1e-6);
        let w = Schedule::Warmup { steps: 4, then: Box::new(Schedule::Constant) };
        assert_eq!((w.factor(1), w.factor(4), w.factor(5)), (0.25, 1.0, 1.0));
    }
}
