//! A single-layer GRU over a sequence — K. Cho et al., "Learning Phrase
//! Representations using RNN Encoder–Decoder for Statistical Machine
//! Translation", EMNLP 2014 — in PyTorch's layout and gate order r, z, n
//! (the GRU of GRU4Rec, Hidasi et al., ICLR 2016).
//!
//! ```text
//! proj:   gx_t = x_t·W_ihᵀ + b_ih,  gh_t = h_{t−1}·W_hhᵀ + b_hh   ([n, 3h] each)
//! gates:  r = σ(gx_r + gh_r),  z = σ(gx_z + gh_z),  n = tanh(gx_n + r ⊙ gh_n)
//! state:  h_t = (1 − z) ⊙ n + z ⊙ h_{t−1},  h_{−1} = 0
//! mask:   where m_t[r] = 0 (padding) row r keeps h_{t−1}
//!
//! Backward, through time (t = T−1 … 0), with dh_t = ∂L/∂h_t from the caller
//! plus what flows back from step t+1:
//!   (dgx_t, dgh_t, dh_direct) = gru_cell_backward(dh_t)     dh_direct = dh_t ⊙ z
//!   dh_{t−1} += dgh_t·W_hh + dh_direct
//!   dW_ih = Σ_t dgx_tᵀ·x_t,  db_ih = Σ_t Σ_rows dgx_t,  dx_t = dgx_t·W_ih
//!   dW_hh = Σ_t dgh_tᵀ·h_{t−1},  db_hh = Σ_t Σ_rows dgh_t
//! ```
//!
//! The two biases stay separate (as in PyTorch): b_hh's n part sits inside
//! r ⊙ (·), so it cannot be folded into b_ih. For the same reason the cell
//! takes the two projections separately, and the backward needs each step's
//! gh (for gh_n), which the forward keeps.
//!
//! Only the recurrence is sequential. The input projection of every step is
//! one matmul over the stacked sequence `[T·n, in]` (b_ih fused), and after
//! the reverse sweep the step gradients are stacked once, dgx_t and dgh_t
//! separately, so dW_ih, db_ih, every dx_t, dW_hh and db_hh are one matmul
//! or reduction each (the stacking is a halving tree of row copies). What
//! stays per step is the recurrence itself: forward, a slice of the
//! projection (a buffer copy), h·W_hhᵀ + b_hh (one matmul, bias fused; at
//! t = 0, where h_{−1} = 0, a broadcast add of b_hh instead) and the fused
//! cell — two dispatches; backward, the fused cell backward, dgh·W_hh, the
//! add of the direct part and, when the caller passes per-step gradients,
//! the add of ∂L/∂h_{t−1} — up to four. Padded rows need no extra dispatch:
//! their dgh is zero and their direct part is dh itself. Everything records
//! on the device; nothing is read back.

use super::lstm::stack_rows;
use super::{Adam, Param};
use crate::backend::{Act, Backend, BinaryOp, GruStep, Reduce, Shaped};
use crate::error::Result;
use crate::rng::derive_seed;

/// A GRU layer: `W_ih` `[3h, in]`, `W_hh` `[3h, h]`, `b_ih`, `b_hh` `[3h]`,
/// gates in order r, z, n.
#[derive(Clone, Debug)]
pub struct Gru<B: Backend> {
    /// Input-to-gates weight `[3h, in]`.
    pub w_ih: Param<B>,
    /// Hidden-to-gates weight `[3h, h]`.
    pub w_hh: Param<B>,
    /// Input-side bias `[3h]`.
    pub b_ih: Param<B>,
    /// Hidden-side bias `[3h]` (its n part is scaled by r).
    pub b_hh: Param<B>,
}

/// What [`Gru::forward`] keeps for [`Gru::backward`].
#[derive(Clone, Debug)]
pub struct GruSaved<B: Backend> {
    /// The input, stacked `[T·n, in]`.
    x: B::Tensor,
    /// Per-step masks `[n]`, when the sequence has padding.
    masks: Option<Vec<B::Tensor>>,
    /// Per-step cell outputs (h and activated gates).
    steps: Vec<GruStep<B>>,
    /// Per-step recurrent projections gh_t `[n, 3h]` (the backward reads gh_n).
    ghs: Vec<B::Tensor>,
    /// `T`, `n`.
    len: usize,
    batch: usize,
}

impl<B: Backend> GruSaved<B> {
    /// The hidden states `h_t` `[n, h]`, one per step.
    pub fn hs(&self) -> impl ExactSizeIterator<Item = &B::Tensor> {
        self.steps.iter().map(|s| &s.h)
    }

    /// The last hidden state `h_{T−1}` `[n, h]` (for padded rows, the last real one).
    pub fn h_last(&self) -> &B::Tensor {
        &self.steps[self.len - 1].h
    }
}

/// Gradients of a [`Gru`]'s parameters.
#[derive(Clone, Debug)]
pub struct GruWeightGrads<B: Backend> {
    /// ∂L/∂W_ih `[3h, in]`.
    pub dw_ih: B::Tensor,
    /// ∂L/∂W_hh `[3h, h]`.
    pub dw_hh: B::Tensor,
    /// ∂L/∂b_ih `[3h]`.
    pub db_ih: B::Tensor,
    /// ∂L/∂b_hh `[3h]`.
    pub db_hh: B::Tensor,
}

impl<B: Backend> Gru<B> {
    /// PyTorch's initialisation: every weight and both biases from U(−1/√h, 1/√h), seeded.
    pub fn new(b: &B, input: usize, hidden: usize, seed: u64) -> Result<Self> {
        let k = 1.0 / (hidden as f32).sqrt();
        let g = 3 * hidden;
        Self::from_weights(
            b,
            &crate::init::uniform(derive_seed(seed, 0), g * input, k),
            &crate::init::uniform(derive_seed(seed, 1), g * hidden, k),
            &crate::init::uniform(derive_seed(seed, 2), g, k),
            &crate::init::uniform(derive_seed(seed, 3), g, k),
            input,
            hidden,
        )
    }

    /// A layer with the given row-major `W_ih` `[3h, in]`, `W_hh` `[3h, h]`,
    /// `b_ih` and `b_hh` `[3h]`.
    pub fn from_weights(
        b: &B,
        w_ih: &[f32],
        w_hh: &[f32],
        b_ih: &[f32],
        b_hh: &[f32],
        input: usize,
        hidden: usize,
    ) -> Result<Self> {
        let g = 3 * hidden;
        Ok(Self {
            w_ih: Param::new(b, w_ih, &[g, input])?,
            w_hh: Param::new(b, w_hh, &[g, hidden])?,
            b_ih: Param::new(b, b_ih, &[g])?,
            b_hh: Param::new(b, b_hh, &[g])?,
        })
    }

    /// Input width.
    pub fn input_size(&self) -> usize {
        self.w_ih.dims()[1]
    }

    /// Hidden width `h`.
    pub fn hidden_size(&self) -> usize {
        self.w_hh.dims()[1]
    }

    /// Runs the sequence `xs` `[T, n, in]` (time-major: step t is rows
    /// `t·n .. (t+1)·n` of the stacked `[T·n, in]` a gather of `T·n` item ids
    /// yields), with optional `masks` `[T, n]` (1 = real, 0 = padding).
    /// Returns the hidden states `h_t` `[n, h]`, one per step, and the saved state.
    pub fn forward(&self, b: &B, xs: &B::Tensor, masks: Option<&B::Tensor>) -> (Vec<B::Tensor>, GruSaved<B>) {
        let (len, batch, input) = match *xs.dims() {
            [t, n, i] => (t, n, i),
            ref d => panic!("Gru::forward: xs must be [T, n, in], got {d:?}"),
        };
        assert!(len > 0, "Gru::forward: empty sequence");
        assert_eq!(input, self.input_size(), "Gru::forward: xs {:?} vs W_ih {:?}", xs.dims(), self.w_ih.dims());
        let h = self.hidden_size();
        let masks = masks.map(|m| {
            assert_eq!(m.dims(), [len, batch], "Gru::forward: masks must be [T, n] for xs {:?}", xs.dims());
            (0..len).map(|t| b.reshape(&b.slice_rows(m, t, 1), &[batch])).collect::<Vec<_>>()
        });

        // Input projections of all steps at once: [T·n, 3h].
        let x = b.reshape(xs, &[len * batch, input]);
        let gx = b.matmul(&x, &self.w_ih.value, false, true, Some(&self.b_ih.value), Act::Identity);

        let mut steps: Vec<GruStep<B>> = Vec::with_capacity(len);
        let mut ghs = Vec::with_capacity(len);
        let zero = b.zeros(&[batch, h]);
        for t in 0..len {
            let gx_t = if len == 1 { gx.clone() } else { b.slice_rows(&gx, t * batch, batch) };
            let mask = masks.as_ref().map(|m| &m[t]);
            let (h_prev, gh) = match steps.last() {
                // h_{−1} = 0: the recurrent projection is b_hh on every row.
                None => (&zero, b.binary(BinaryOp::Add, &b.zeros(&[batch, 3 * h]), &self.b_hh.value)),
                Some(prev) => {
                    (&prev.h, b.matmul(&prev.h, &self.w_hh.value, false, true, Some(&self.b_hh.value), Act::Identity))
                }
            };
            let step = b.gru_cell(&gx_t, &gh, h_prev, mask);
            steps.push(step);
            ghs.push(gh);
        }
        let hs = steps.iter().map(|s| s.h.clone()).collect();
        (hs, GruSaved { x, masks, steps, ghs, len, batch })
    }

    /// Backpropagation through time. `dhs`, when given, holds `∂L/∂h_t`
    /// `[n, h]` for every step (the loss reads every state); `dh_last` adds a
    /// gradient of the final `h_{T−1}`. Returns `∂L/∂xs` `[T, n, in]` and the
    /// parameter gradients.
    pub fn backward(
        &self,
        b: &B,
        saved: &GruSaved<B>,
        dhs: Option<&[B::Tensor]>,
        dh_last: Option<&B::Tensor>,
    ) -> (B::Tensor, GruWeightGrads<B>) {
        let (len, n, h) = (saved.len, saved.batch, self.hidden_size());
        let state = [n, h];
        if let Some(d) = dhs {
            assert_eq!(d.len(), len, "Gru::backward: {} gradients for {len} steps", d.len());
            for (t, g) in d.iter().enumerate() {
                assert_eq!(g.dims(), state, "Gru::backward: dhs[{t}] must be {state:?}");
            }
        }
        if let Some(g) = dh_last {
            assert_eq!(g.dims(), state, "Gru::backward: dh_last must be {state:?}");
        }
        let add = |a: &B::Tensor, c: &B::Tensor| b.binary(BinaryOp::Add, a, c);
        let sum = |a: Option<&B::Tensor>, c: Option<&B::Tensor>| match (a, c) {
            (Some(a), Some(c)) => add(a, c),
            (Some(g), None) | (None, Some(g)) => g.clone(),
            (None, None) => b.zeros(&state),
        };

        let zero = b.zeros(&state);
        let mut dh = sum(dhs.map(|d| &d[len - 1]), dh_last);
        let mut dgx = vec![None; len];
        let mut dgh = vec![None; len];
        for t in (0..len).rev() {
            let h_prev = if t == 0 { &zero } else { &saved.steps[t - 1].h };
            let mask = saved.masks.as_ref().map(|m| &m[t]);
            let g = b.gru_cell_backward(&saved.steps[t], &saved.ghs[t], h_prev, &dh, mask);
            if t > 0 {
                // Padded rows have dgh = 0 and pass dh through the direct part.
                let through_w = b.matmul(&g.dgh, &self.w_hh.value, false, false, None, Act::Identity);
                let dh_prev = add(&through_w, &g.dh_prev);
                dh = sum(Some(&dh_prev), dhs.map(|d| &d[t - 1]));
            }
            dgx[t] = Some(g.dgx);
            dgh[t] = Some(g.dgh);
        }
        let visited = |v: Vec<Option<B::Tensor>>| -> Vec<B::Tensor> {
            v.into_iter().map(|g| g.expect("every step visited")).collect()
        };
        let (dgx, dgh) = (visited(dgx), visited(dgh));

        // Stacked step gradients [T·n, 3h]: one matmul or reduction per parameter.
        let dgx = stack_rows(b, &dgx);
        let dx = b.matmul(&dgx, &self.w_ih.value, false, false, None, Act::Identity);
        let dw_ih = b.matmul(&dgx, &saved.x, true, false, None, Act::Identity);
        let db_ih = b.reduce_cols(&dgx, Reduce::Sum);
        let dgh = stack_rows(b, &dgh);
        // b_hh enters every step, step 0 included.
        let db_hh = b.reduce_cols(&dgh, Reduce::Sum);
        // h_{−1} = 0: step 0 adds nothing to dW_hh.
        let dw_hh = if len == 1 {
            b.zeros(self.w_hh.dims())
        } else {
            let h_prev: Vec<B::Tensor> = saved.steps[..len - 1].iter().map(|s| s.h.clone()).collect();
            let dgh_rec = b.slice_rows(&dgh, n, (len - 1) * n); // steps 1‥T of the stack above
            b.matmul(&dgh_rec, &stack_rows(b, &h_prev), true, false, None, Act::Identity)
        };
        (b.reshape(&dx, &[len, n, self.input_size()]), GruWeightGrads { dw_ih, dw_hh, db_ih, db_hh })
    }

    /// One Adam update of `W_ih`, `W_hh`, `b_ih` and `b_hh`.
    pub fn update(&mut self, b: &B, grads: &GruWeightGrads<B>, opt: &Adam) {
        self.w_ih.update(b, &grads.dw_ih, opt);
        self.w_hh.update(b, &grads.dw_hh, opt);
        self.b_ih.update(b, &grads.db_ih, opt);
        self.b_hh.update(b, &grads.db_hh, opt);
    }

    /// The parameter values (`W_ih`, `W_hh`, `b_ih`, `b_hh`).
    pub fn parameters(&self) -> Vec<&B::Tensor> {
        vec![&self.w_ih.value, &self.w_hh.value, &self.b_ih.value, &self.b_hh.value]
    }

    /// The parameter values, mutable (`W_ih`, `W_hh`, `b_ih`, `b_hh`).
    pub fn parameters_mut(&mut self) -> Vec<&mut B::Tensor> {
        vec![&mut self.w_ih.value, &mut self.w_hh.value, &mut self.b_ih.value, &mut self.b_hh.value]
    }
}
