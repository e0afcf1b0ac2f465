//! Seeded parameter initialisation (on the host, uploaded once).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `n` values from N(0, std²).
pub fn normal(seed: u64, n: usize, std: f32) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let u1: f32 = rng.random_range(f32::EPSILON..1.0);
            let u2: f32 = rng.random_range(0.0..1.0);
            std * (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
        })
        .collect()
}

/// `n` values from U(−bound, bound) (all zero when `bound` is 0); PyTorch's
/// default for LSTM and convolution weights uses bound = 1/√fan.
pub fn uniform(seed: u64, n: usize, bound: f32) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| if bound > 0.0 { rng.random_range(-bound..bound) } else { 0.0 }).collect()
}

/// Glorot/Xavier normal for a `[rows, cols]` matrix: std = √(2 / (rows + cols)).
pub fn xavier_normal(seed: u64, rows: usize, cols: usize) -> Vec<f32> {
    normal(seed, rows * cols, (2.0 / (rows + cols) as f32).sqrt())
}

/// Glorot/Xavier uniform: U(−a, a) with a = √(6 / (fan_in + fan_out)).
pub fn xavier_uniform(seed: u64, fan_in: usize, fan_out: usize, n: usize) -> Vec<f32> {
    uniform(seed, n, (6.0 / (fan_in + fan_out) as f32).sqrt())
}

/// He/Kaiming normal: std = √(2 / fan_in).
pub fn he_normal(seed: u64, fan_in: usize, n: usize) -> Vec<f32> {
    normal(seed, n, (2.0 / fan_in.max(1) as f32).sqrt())
}

#[cfg(test)]
mod tests {
    #[test]
    fn normal_has_the_asked_spread() {
        let v = super::normal(1, 20_000, 0.5);
        let mean = v.iter().sum::<f32>() / v.len() as f32;
        let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / v.len() as f32;
        assert!(mean.abs() < 0.02 && (var.sqrt() - 0.5).abs() < 0.02, "mean {mean} std {}", var.sqrt());
        assert_eq!(super::normal(1, 5, 1.0), super::normal(1, 5, 1.0));
    }
}
