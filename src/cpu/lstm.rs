//! CPU reference: fused LSTM cell step and its backward.
//!
//! Mirrors `shaders/lstm_cell.wgsl` expression for expression (same operand
//! order), so the two backends differ only in the rounding of `exp`/`tanh`.

use super::{from_vec, Cpu, CpuTensor};
use crate::backend::{LstmGrads, LstmStep};

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

/// Checks the shapes shared by the forward and the backward: `gates` `[n, 4h]`,
/// each of `states` `[n, h]`, `mask` `[n]`; returns `(n, h)`.
fn dims(op: &str, gates: &CpuTensor, states: &[(&str, &CpuTensor)], mask: Option<&CpuTensor>) -> (usize, usize) {
    let g = gates.shape();
    assert!(g.len() == 2 && g[1].is_multiple_of(4), "{op}: gates must be [n, 4h], got {g:?}");
    let (n, h) = (g[0], g[1] / 4);
    for (name, t) in states {
        assert!(t.shape() == [n, h], "{op}: {name} must be [{n}, {h}] for gates {g:?}, got {:?}", t.shape());
    }
    if let Some(m) = mask {
        assert!(m.shape() == [n], "{op}: mask must be [{n}] for gates {g:?}, got {:?}", m.shape());
    }
    (n, h)
}

/// One LSTM step: `gates` `[n, 4h]` are pre-activations (i, f, g, o);
/// `h_prev`, `c_prev` `[n, h]`. Rows whose `mask` is 0 keep `h_prev` and
/// `c_prev` (their activated gates are still saved).
pub fn lstm_cell(gates: &CpuTensor, h_prev: &CpuTensor, c_prev: &CpuTensor, mask: Option<&CpuTensor>) -> LstmStep<Cpu> {
    let (n, h) = dims("lstm_cell", gates, &[("h_prev", h_prev), ("c_prev", c_prev)], mask);
    let (gs, hp, cp) = (slice(gates), slice(h_prev), slice(c_prev));
    let mask = mask.map(slice);
    let mut act = vec![0f32; n * 4 * h];
    let mut hs = vec![0f32; n * h];
    let mut cs = vec![0f32; n * h];
    for r in 0..n {
        let keep = mask.as_ref().is_some_and(|m| m[r] == 0.0);
        let g_row = &gs[r * 4 * h..(r + 1) * 4 * h];
        let a_row = &mut act[r * 4 * h..(r + 1) * 4 * h];
        for j in 0..h {
            let k = r * h + j;
            let ig = sigmoid(g_row[j]);
            let fg = sigmoid(g_row[h + j]);
            let gg = g_row[2 * h + j].tanh();
            let og = sigmoid(g_row[3 * h + j]);
            a_row[j] = ig;
            a_row[h + j] = fg;
            a_row[2 * h + j] = gg;
            a_row[3 * h + j] = og;
            if keep {
                hs[k] = hp[k];
                cs[k] = cp[k];
            } else {
                let c = fg * cp[k] + ig * gg;
                cs[k] = c;
                hs[k] = og * c.tanh();
            }
        }
    }
    LstmStep { h: from_vec(hs, &[n, h]), c: from_vec(cs, &[n, h]), gates: from_vec(act, &[n, 4 * h]) }
}

/// Backward of [`lstm_cell`] given `dh`, `dc` (gradients of the step's `h`
/// and `c`). The cell state is recomputed from the saved gates and `c_prev`
/// (`c = f·c_prev + i·g`, bit-identical to the forward), as the GPU kernel
/// does to stay within 8 storage bindings. Rows whose `mask` is 0 pass `dc`
/// to `dc_prev` and `dh` to `dh_skip` and get zero `dgates`; without a mask
/// `dh_skip` is zero.
pub fn lstm_cell_backward(
    step: &LstmStep<Cpu>,
    c_prev: &CpuTensor,
    dh: &CpuTensor,
    dc: &CpuTensor,
    mask: Option<&CpuTensor>,
) -> LstmGrads<Cpu> {
    let (n, h) = dims("lstm_cell_backward", &step.gates, &[("c_prev", c_prev), ("dh", dh), ("dc", dc)], mask);
    let (act, cp, dhs, dcs) = (slice(&step.gates), slice(c_prev), slice(dh), slice(dc));
    let mask = mask.map(slice);
    let mut dgates = vec![0f32; n * 4 * h];
    let mut dc_prev = vec![0f32; n * h];
    let mut dh_skip = vec![0f32; n * h];
    for r in 0..n {
        let keep = mask.as_ref().is_some_and(|m| m[r] == 0.0);
        let a_row = &act[r * 4 * h..(r + 1) * 4 * h];
        let d_row = &mut dgates[r * 4 * h..(r + 1) * 4 * h];
        for j in 0..h {
            let k = r * h + j;
            if keep {
                dc_prev[k] = dcs[k];
                dh_skip[k] = dhs[k];
                continue;
            }
            let (ig, fg, gg, og) = (a_row[j], a_row[h + j], a_row[2 * h + j], a_row[3 * h + j]);
            let c = fg * cp[k] + ig * gg;
            let tc = c.tanh();
            let dct = dcs[k] + dhs[k] * og * (1.0 - tc * tc);
            let d_o = dhs[k] * tc;
            let d_i = dct * gg;
            let d_f = dct * cp[k];
            let d_g = dct * ig;
            d_row[j] = d_i * ig * (1.0 - ig);
            d_row[h + j] = d_f * fg * (1.0 - fg);
            d_row[2 * h + j] = d_g * (1.0 - gg * gg);
            d_row[3 * h + j] = d_o * og * (1.0 - og);
            dc_prev[k] = dct * fg;
        }
    }
    LstmGrads {
        dgates: from_vec(dgates, &[n, 4 * h]),
        dc_prev: from_vec(dc_prev, &[n, h]),
        dh_skip: from_vec(dh_skip, &[n, h]),
    }
}
