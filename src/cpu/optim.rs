//! CPU reference: optimizer updates (mirrors `shaders/adam.wgsl`, `shaders/sgd.wgsl`).

use super::{CpuIndex, CpuTensor};
use crate::backend::AdamConfig;

/// (1 − β1^t, 1 − β2^t), computed once per step as the GPU kernel receives them.
pub fn bias_corrections(cfg: &AdamConfig, step: u32) -> (f32, f32) {
    let t = step.max(1) as i32;
    (1.0 - cfg.beta1.powi(t), 1.0 - cfg.beta2.powi(t))
}

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
    let update = |p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32]| {
        for i in 0..g.len() {
            (p[i], m[i], v[i]) = adam_corrected(p[i], g[i], m[i], v[i], cfg, bc);
        }
    };
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
