//! CPU reference: fused GRU cell step and its backward.
//!
//! Mirrors `shaders/gru_cell.wgsl` expression for expression (same operand
//! order), so the two backends differ only in the rounding of `exp`/`tanh`.

use super::{from_vec, Cpu, CpuTensor};
use crate::backend::{GruGrads, GruStep};

/// σ(x), written as in `act_forward` of `common.wgsl`.
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Row-major contents of `t` (borrowed when already contiguous).
fn slice(t: &CpuTensor) -> std::borrow::Cow<'_, [f32]> {
    match t.as_slice() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(t.iter().copied().collect()),
    }
}

/// Checks the shapes shared by the forward and the backward: `gates` `[n, 3h]`,
/// each of `wide` `[n, 3h]`, each of `states` `[n, h]`, `mask` `[n]`; returns `(n, h)`.
fn dims(
    op: &str,
    gates: (&str, &CpuTensor),
    wide: &[(&str, &CpuTensor)],
    states: &[(&str, &CpuTensor)],
    mask: Option<&CpuTensor>,
) -> (usize, usize) {
    let (gname, g) = (gates.0, gates.1.shape());
    assert!(g.len() == 2 && g[1].is_multiple_of(3), "{op}: {gname} must be [n, 3h], got {g:?}");
    let (n, h) = (g[0], g[1] / 3);
    for (name, t) in wide {
        assert!(
            t.shape() == [n, 3 * h],
            "{op}: {name} must be [{n}, {}] for {gname} {g:?}, got {:?}",
            3 * h,
            t.shape()
        );
    }
    for (name, t) in states {
        assert!(t.shape() == [n, h], "{op}: {name} must be [{n}, {h}] for {gname} {g:?}, got {:?}", t.shape());
    }
    if let Some(m) = mask {
        assert!(m.shape() == [n], "{op}: mask must be [{n}] for {gname} {g:?}, got {:?}", m.shape());
    }
    (n, h)
}

/// One GRU step: `gx`, `gh` `[n, 3h]` are the input and recurrent
/// projections (r, z, n blocks, biases included); `h_prev` `[n, h]`. Rows
/// whose `mask` is 0 keep `h_prev` (their activated gates are still saved).
pub fn gru_cell(gx: &CpuTensor, gh: &CpuTensor, h_prev: &CpuTensor, mask: Option<&CpuTensor>) -> GruStep<Cpu> {
    let (n, h) = dims("gru_cell", ("gx", gx), &[("gh", gh)], &[("h_prev", h_prev)], mask);
    let (xs, hs_in, hp) = (slice(gx), slice(gh), slice(h_prev));
    let mask = mask.map(slice);
    let mut act = vec![0f32; n * 3 * h];
    let mut hs = vec![0f32; n * h];
    for q in 0..n {
        let keep = mask.as_ref().is_some_and(|m| m[q] == 0.0);
        let x_row = &xs[q * 3 * h..(q + 1) * 3 * h];
        let h_row = &hs_in[q * 3 * h..(q + 1) * 3 * h];
        let a_row = &mut act[q * 3 * h..(q + 1) * 3 * h];
        for j in 0..h {
            let k = q * h + j;
            let rg = sigmoid(x_row[j] + h_row[j]);
            let zg = sigmoid(x_row[h + j] + h_row[h + j]);
            let ng = (x_row[2 * h + j] + rg * h_row[2 * h + j]).tanh();
            a_row[j] = rg;
            a_row[h + j] = zg;
            a_row[2 * h + j] = ng;
            hs[k] = if keep { hp[k] } else { (1.0 - zg) * ng + zg * hp[k] };
        }
    }
    GruStep { h: from_vec(hs, &[n, h]), gates: from_vec(act, &[n, 3 * h]) }
}

/// Backward of [`gru_cell`] given the step's `gh` and `h_prev` and `dh`
/// (the gradient of the step's `h`). `dh_prev` is only the direct part
/// `dh ⊙ z`; the caller adds `dgh·W_hh`. Rows whose `mask` is 0 get zero
/// `dgx` and `dgh` and pass `dh` to `dh_prev`.
pub fn gru_cell_backward(
    step: &GruStep<Cpu>,
    gh: &CpuTensor,
    h_prev: &CpuTensor,
    dh: &CpuTensor,
    mask: Option<&CpuTensor>,
) -> GruGrads<Cpu> {
    let (n, h) =
        dims("gru_cell_backward", ("gates", &step.gates), &[("gh", gh)], &[("h_prev", h_prev), ("dh", dh)], mask);
    let (act, ghs, hp, dhs) = (slice(&step.gates), slice(gh), slice(h_prev), slice(dh));
    let mask = mask.map(slice);
    let mut dgx = vec![0f32; n * 3 * h];
    let mut dgh = vec![0f32; n * 3 * h];
    let mut dh_prev = vec![0f32; n * h];
    for q in 0..n {
        let keep = mask.as_ref().is_some_and(|m| m[q] == 0.0);
        let a_row = &act[q * 3 * h..(q + 1) * 3 * h];
        let g_row = &ghs[q * 3 * h..(q + 1) * 3 * h];
        let dx_row = &mut dgx[q * 3 * h..(q + 1) * 3 * h];
        let dh_row = &mut dgh[q * 3 * h..(q + 1) * 3 * h];
        for j in 0..h {
            let k = q * h + j;
            if keep {
                dh_prev[k] = dhs[k];
                continue;
            }
            let (rg, zg, ng) = (a_row[j], a_row[h + j], a_row[2 * h + j]);
            let ghn = g_row[2 * h + j];
            let dn = dhs[k] * (1.0 - zg);
            let dz = dhs[k] * (hp[k] - ng);
            let dn_pre = dn * (1.0 - ng * ng);
            let dz_pre = dz * zg * (1.0 - zg);
            let dr_pre = dn_pre * ghn * rg * (1.0 - rg);
            dx_row[j] = dr_pre;
            dx_row[h + j] = dz_pre;
            dx_row[2 * h + j] = dn_pre;
            dh_row[j] = dr_pre;
            dh_row[h + j] = dz_pre;
            dh_row[2 * h + j] = dn_pre * rg;
            dh_prev[k] = dhs[k] * zg;
        }
    }
    GruGrads { dgx: from_vec(dgx, &[n, 3 * h]), dgh: from_vec(dgh, &[n, 3 * h]), dh_prev: from_vec(dh_prev, &[n, h]) }
}
