//! CPU reference: optimizer updates (mirrors `shaders/adam.wgsl`, `shaders/sgd.wgsl`).

use super::{CpuIndex, CpuTensor};
use crate::backend::AdamConfig;

/// (1 − β1^t, 1 − β2^t), computed once per step as the GPU kernel receives them.
pub fn bias_corrections(cfg: &AdamConfig, step: u32) -> (f32, f32) {
    let t = step.max(1) as i32;
    (1.0 - cfg.beta1.powi(t), 1.0 - cfg.beta2.powi(t))
}

#[inline(always)]
fn adam_corrected(p: f32, g: f32, m: f32, v: f32, cfg: &AdamConfig, (bc1, bc2): (f32, f32)) -> (f32, f32, f32) {
    let g = if cfg.decoupled { g } else { g + cfg.weight_decay * p };
    let m = cfg.beta1 * m + (1.0 - cfg.beta1) * g;
    let v = cfg.beta2 * v + (1.0 - cfg.beta2) * g * g;
    let mhat = m / bc1;
    let vhat = v / bc2;
    let mut p = p;
    if cfg.decoupled {
        p -= cfg.lr * cfg.weight_decay * p;
    }
    p -= cfg.lr * mhat / (vhat.sqrt() + cfg.eps);
    (p, m, v)
}

/// Adam over a whole buffer.
pub fn adam(p: &mut CpuTensor, g: &CpuTensor, m: &mut CpuTensor, v: &mut CpuTensor, cfg: &AdamConfig, step: u32) {
    assert!(p.len() == g.len() && p.len() == m.len() && p.len() == v.len(), "adam: sizes differ");
    let g = g.as_standard_layout();
    let gs = g.as_slice().unwrap();
    let (ps, ms, vs) = (p.as_slice_mut().unwrap(), m.as_slice_mut().unwrap(), v.as_slice_mut().unwrap());
    let bc = bias_corrections(cfg, step);
    let update = |p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32]| adam_slices(p, m, v, g, cfg, bc);
    // Element-wise, so pieces on several threads give the serial loop's bits.
    let per = super::parallel::elementwise_piece(gs.len());
    if per >= gs.len() {
        update(ps, ms, vs, gs);
    } else {
        use rayon::prelude::*;
        ps.par_chunks_mut(per)
            .zip(ms.par_chunks_mut(per))
            .zip(vs.par_chunks_mut(per))
            .zip(gs.par_chunks(per))
            .for_each(|(((p, m), v), g)| update(p, m, v, g));
    }
}

/// Adam over equal-length slices, with AVX2 (8 lanes) where the CPU has
/// it. Division and square root are correctly rounded at any width and no
/// operation is reordered or contracted, so every path gives the bits of
/// [`adam_corrected`] element by element.
fn adam_slices(p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32], cfg: &AdamConfig, bc: (f32, f32)) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { adam_slices_avx2(p, m, v, g, cfg, bc) };
    }
    adam_slices_body(p, m, v, g, cfg, bc)
}

#[inline(always)]
fn adam_slices_body(p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32], cfg: &AdamConfig, bc: (f32, f32)) {
    // The two weight-decay forms as two loops, so neither carries a branch.
    if cfg.decoupled {
        adam_loop::<true>(p, m, v, g, cfg, bc)
    } else {
        adam_loop::<false>(p, m, v, g, cfg, bc)
    }
}

#[inline(always)]
fn adam_loop<const DECOUPLED: bool>(
    p: &mut [f32],
    m: &mut [f32],
    v: &mut [f32],
    g: &[f32],
    cfg: &AdamConfig,
    bc: (f32, f32),
) {
    let cfg = AdamConfig { decoupled: DECOUPLED, ..*cfg };
    for (((p, m), v), &g) in p.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(g) {
        (*p, *m, *v) = adam_corrected(*p, g, *m, *v, &cfg, bc);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn adam_slices_avx2(p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32], cfg: &AdamConfig, bc: (f32, f32)) {
    adam_slices_body(p, m, v, g, cfg, bc)
}

/// Lazy Adam over the listed rows of a `[r, d]` table.
pub fn adam_rows(
    p: &mut CpuTensor,
    rows: &CpuIndex,
    g: &CpuTensor,
    m: &mut CpuTensor,
    v: &mut CpuTensor,
    cfg: &AdamConfig,
    step: u32,
) {
    assert_eq!(p.ndim(), 2, "adam_rows: table {:?}", p.shape());
    let d = p.shape()[1];
    assert_eq!(g.shape(), &[rows.len(), d], "adam_rows: grad {:?} for {} rows of width {d}", g.shape(), rows.len());
    let g = g.as_standard_layout();
    let gs = g.as_slice().unwrap();
    let (ps, ms, vs) = (p.as_slice_mut().unwrap(), m.as_slice_mut().unwrap(), v.as_slice_mut().unwrap());
    let bc = bias_corrections(cfg, step);
    for (k, &r) in rows.iter().enumerate() {
        for j in 0..d {
            let i = r as usize * d + j;
            (ps[i], ms[i], vs[i]) = adam_corrected(ps[i], gs[k * d + j], ms[i], vs[i], cfg, bc);
        }
    }
}

/// SGD with momentum.
pub fn sgd(p: &mut CpuTensor, g: &CpuTensor, vel: &mut CpuTensor, lr: f32, momentum: f32, weight_decay: f32) {
    assert!(p.len() == g.len() && p.len() == vel.len(), "sgd: sizes differ");
    let g = g.as_standard_layout();
    let gs = g.as_slice().unwrap();
    let (ps, vs) = (p.as_slice_mut().unwrap(), vel.as_slice_mut().unwrap());
    for i in 0..gs.len() {
        vs[i] = momentum * vs[i] + gs[i] + weight_decay * ps[i];
        ps[i] -= lr * vs[i];
    }
}

/// Adagrad with L2 weight decay.
pub fn adagrad(p: &mut CpuTensor, g: &CpuTensor, accum: &mut CpuTensor, lr: f32, eps: f32, weight_decay: f32) {
    assert!(p.len() == g.len() && p.len() == accum.len(), "adagrad: sizes differ");
    let g = g.as_standard_layout();
    let gs = g.as_slice().unwrap();
    let (ps, ss) = (p.as_slice_mut().unwrap(), accum.as_slice_mut().unwrap());
    for i in 0..gs.len() {
        let gi = gs[i] + weight_decay * ps[i];
        ss[i] += gi * gi;
        ps[i] -= lr * gi / (ss[i].sqrt() + eps);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector path (AVX2 where present) gives the scalar formula's bits
    /// element by element, for both weight-decay forms, on lengths of 1,
    /// primes and just past a vector.
    #[test]
    fn adam_slices_are_the_scalar_formula() {
        for decoupled in [false, true] {
            let cfg = AdamConfig { lr: 3e-3, weight_decay: 0.01, decoupled, ..AdamConfig::default() };
            let bc = bias_corrections(&cfg, 7);
            for len in [1usize, 7, 9, 17, 1031] {
                let val = |seed: u64, i: usize| ((crate::rng::derive_seed(seed, i as u64) >> 40) as f32 / 8.4e6) - 1.0;
                let g: Vec<f32> = (0..len).map(|i| val(1, i)).collect();
                let (mut p, mut m): (Vec<f32>, Vec<f32>) =
                    ((0..len).map(|i| val(2, i)).collect(), (0..len).map(|i| 0.1 * val(3, i)).collect());
                let mut v: Vec<f32> = (0..len).map(|i| 0.01 * val(4, i).abs()).collect();
                let want: Vec<(f32, f32, f32)> =
                    (0..len).map(|i| adam_corrected(p[i], g[i], m[i], v[i], &cfg, bc)).collect();
                adam_slices(&mut p, &mut m, &mut v, &g, &cfg, bc);
                for (i, &(wp, wm, wv)) in want.iter().enumerate() {
                    assert_eq!(
                        (p[i].to_bits(), m[i].to_bits(), v[i].to_bits()),
                        (wp.to_bits(), wm.to_bits(), wv.to_bits()),
                        "element {i} of {len}, decoupled {decoupled}"
                    );
                }
            }
        }
    }
}
