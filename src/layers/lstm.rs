//! A single-layer LSTM over a sequence — S. Hochreiter, J. Schmidhuber, "Long
//! Short-Term Memory", Neural Computation 1997 (with the forget gate of Gers
//! et al. 2000), in PyTorch's layout and gate order i, f, g, o.
//!
//! ```text
//! gates:  z_t = x_t·W_ihᵀ + h_{t−1}·W_hhᵀ + b,  [i f g o] = [σ σ tanh σ](z_t)
//! state:  c_t = f ⊙ c_{t−1} + i ⊙ g,  h_t = o ⊙ tanh c_t,  h_{−1} = c_{−1} = 0
//! mask:   where m_t[r] = 0 (padding) row r keeps (h_{t−1}, c_{t−1})
//!
//! Backward, through time (t = T−1 … 0), with dh_t = ∂L/∂h_t from the caller
//! plus what flows back from step t+1:
//!   (dz_t, dc_{t−1}, dh_skip) = lstm_cell_backward(dh_t, dc_t)
//!   dh_{t−1} += dz_t·W_hh + dh_skip
//!   dW_ih = Σ_t dz_tᵀ·x_t,  dW_hh = Σ_t dz_tᵀ·h_{t−1},  db = Σ_t Σ_rows dz_t,  dx_t = dz_t·W_ih
//! ```
//!
//! Only the recurrence is sequential. The input projection of every step is
//! one matmul over the stacked sequence `[T·n, in]` (bias fused), and after
//! the reverse sweep the step gradients dz_t are stacked once so dW_ih, dW_hh,
//! db and every dx_t are one matmul or reduction each (the stacking is a
//! halving tree of row copies). What stays per step is the recurrence itself:
//! forward, a slice of the projection, h·W_hhᵀ, an add and the fused cell;
//! backward, the fused cell backward, dz·W_hh and up to two adds (the skip
//! of padded rows, the caller's ∂L/∂h_t). Everything records on the device;
//! nothing is read back.

use super::{Adam, Param};
use crate::backend::{Act, Backend, BinaryOp, LstmStep, Reduce, Shaped};
use crate::error::Result;
use crate::rng::derive_seed;

/// An LSTM layer: `W_ih` `[4h, in]`, `W_hh` `[4h, h]`, `b` `[4h]`, gates in order i, f, g, o.
#[derive(Clone, Debug)]
pub struct Lstm<B: Backend> {
    /// Input-to-gates weight `[4h, in]`.
    pub w_ih: Param<B>,
    /// Hidden-to-gates weight `[4h, h]`.
    pub w_hh: Param<B>,
    /// Gate bias `[4h]` (PyTorch's `b_ih + b_hh` folded into one).
    pub bias: Param<B>,
}

/// What [`Lstm::forward`] keeps for [`Lstm::backward`].
#[derive(Clone, Debug)]
pub struct LstmSaved<B: Backend> {
    /// The input, stacked `[T·n, in]`.
    x: B::Tensor,
    /// Per-step masks `[n]`, when the sequence has padding.
    masks: Option<Vec<B::Tensor>>,
    /// Per-step cell outputs (h, c and activated gates).
    steps: Vec<LstmStep<B>>,
    /// `T`, `n`.
    len: usize,
    batch: usize,
}

impl<B: Backend> LstmSaved<B> {
    /// The hidden states `h_t` `[n, h]`, one per step.
    pub fn hs(&self) -> impl ExactSizeIterator<Item = &B::Tensor> {
        self.steps.iter().map(|s| &s.h)
    }

    /// The last hidden state `h_{T−1}` `[n, h]` (for padded rows, the last real one).
    pub fn h_last(&self) -> &B::Tensor {
        &self.steps[self.len - 1].h
    }

    /// The last cell state `c_{T−1}` `[n, h]`.
    pub fn c_last(&self) -> &B::Tensor {
        &self.steps[self.len - 1].c
    }
}

/// Gradients of an [`Lstm`]'s parameters.
#[derive(Clone, Debug)]
pub struct LstmWeightGrads<B: Backend> {
    /// ∂L/∂W_ih `[4h, in]`.
    pub dw_ih: B::Tensor,
    /// ∂L/∂W_hh `[4h, h]`.
    pub dw_hh: B::Tensor,
    /// ∂L/∂b `[4h]`.
    pub db: B::Tensor,
}

/// Stacks `[n_i, d]` tensors into `[Σ n_i, d]` by halving, so each row is
/// copied ⌈log₂ len⌉ times rather than up to `len` times by a left fold.
pub fn stack_rows<B: Backend>(b: &B, parts: &[B::Tensor]) -> B::Tensor {
    match parts {
        [] => panic!("stack_rows: nothing to stack"),
        [one] => one.clone(),
        _ => {
            let (lo, hi) = parts.split_at(parts.len() / 2);
            b.concat_rows(&stack_rows(b, lo), &stack_rows(b, hi))
        }
    }
}

impl<B: Backend> Lstm<B> {
    /// PyTorch's initialisation: every weight and the bias from U(−1/√h, 1/√h), seeded.
    pub fn new(b: &B, input: usize, hidden: usize, seed: u64) -> Result<Self> {
        let k = 1.0 / (hidden as f32).sqrt();
        let g = 4 * hidden;
        Self::from_weights(
            b,
            &crate::init::uniform(derive_seed(seed, 0), g * input, k),
            &crate::init::uniform(derive_seed(seed, 1), g * hidden, k),
            &crate::init::uniform(derive_seed(seed, 2), g, k),
            input,
            hidden,
        )
    }

    /// A layer with the given row-major `W_ih` `[4h, in]`, `W_hh` `[4h, h]` and `b` `[4h]`.
    pub fn from_weights(b: &B, w_ih: &[f32], w_hh: &[f32], bias: &[f32], input: usize, hidden: usize) -> Result<Self> {
        let g = 4 * hidden;
        Ok(Self {
            w_ih: Param::new(b, w_ih, &[g, input])?,
            w_hh: Param::new(b, w_hh, &[g, hidden])?,
            bias: Param::new(b, bias, &[g])?,
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
    pub fn forward(&self, b: &B, xs: &B::Tensor, masks: Option<&B::Tensor>) -> (Vec<B::Tensor>, LstmSaved<B>) {
        let (len, batch, input) = match *xs.dims() {
            [t, n, i] => (t, n, i),
            ref d => panic!("Lstm::forward: xs must be [T, n, in], got {d:?}"),
        };
        assert!(len > 0, "Lstm::forward: empty sequence");
        assert_eq!(input, self.input_size(), "Lstm::forward: xs {:?} vs W_ih {:?}", xs.dims(), self.w_ih.dims());
        let h = self.hidden_size();
        let masks = masks.map(|m| {
            assert_eq!(m.dims(), [len, batch], "Lstm::forward: masks must be [T, n] for xs {:?}", xs.dims());
            (0..len).map(|t| b.reshape(&b.slice_rows(m, t, 1), &[batch])).collect::<Vec<_>>()
        });

        // Input projections of all steps at once: [T·n, 4h].
        let x = b.reshape(xs, &[len * batch, input]);
        let gx = b.matmul(&x, &self.w_ih.value, false, true, Some(&self.bias.value), Act::Identity);

        let mut steps: Vec<LstmStep<B>> = Vec::with_capacity(len);
        let zero = b.zeros(&[batch, h]);
        for t in 0..len {
            let gx_t = if len == 1 { gx.clone() } else { b.slice_rows(&gx, t * batch, batch) };
            let mask = masks.as_ref().map(|m| &m[t]);
            let step = match steps.last() {
                // h_{−1} = 0, so the first step has no recurrent term.
                None => b.lstm_cell(&gx_t, &zero, &zero, mask),
                Some(prev) => {
                    let gh = b.matmul(&prev.h, &self.w_hh.value, false, true, None, Act::Identity);
                    b.lstm_cell(&b.binary(BinaryOp::Add, &gx_t, &gh), &prev.h, &prev.c, mask)
                }
            };
            steps.push(step);
        }
        let hs = steps.iter().map(|s| s.h.clone()).collect();
        (hs, LstmSaved { x, masks, steps, len, batch })
    }

    /// Backpropagation through time. `dhs`, when given, holds `∂L/∂h_t`
    /// `[n, h]` for every step (the loss reads every state); `dh_last` and
    /// `dc_last` add gradients of the final `h_{T−1}` and `c_{T−1}`. Returns
    /// `∂L/∂xs` `[T, n, in]` and the parameter gradients.
    pub fn backward(
        &self,
        b: &B,
        saved: &LstmSaved<B>,
        dhs: Option<&[B::Tensor]>,
        dh_last: Option<&B::Tensor>,
        dc_last: Option<&B::Tensor>,
    ) -> (B::Tensor, LstmWeightGrads<B>) {
        let (len, n, h) = (saved.len, saved.batch, self.hidden_size());
        let state = [n, h];
        if let Some(d) = dhs {
            assert_eq!(d.len(), len, "Lstm::backward: {} gradients for {len} steps", d.len());
            for (t, g) in d.iter().enumerate() {
                assert_eq!(g.dims(), state, "Lstm::backward: dhs[{t}] must be {state:?}");
            }
        }
        for (name, g) in [("dh_last", dh_last), ("dc_last", dc_last)] {
            if let Some(g) = g {
                assert_eq!(g.dims(), state, "Lstm::backward: {name} must be {state:?}");
            }
        }
        let add = |a: &B::Tensor, c: &B::Tensor| b.binary(BinaryOp::Add, a, c);
        let sum = |a: Option<&B::Tensor>, c: Option<&B::Tensor>| match (a, c) {
            (Some(a), Some(c)) => add(a, c),
            (Some(g), None) | (None, Some(g)) => g.clone(),
            (None, None) => b.zeros(&state),
        };

        let zero = b.zeros(&state);
        let mut dh = sum(dhs.map(|d| &d[len - 1]), dh_last);
        let mut dc = dc_last.cloned().unwrap_or_else(|| zero.clone());
        let mut dgates = vec![None; len];
        for t in (0..len).rev() {
            let c_prev = if t == 0 { &zero } else { &saved.steps[t - 1].c };
            let mask = saved.masks.as_ref().map(|m| &m[t]);
            let g = b.lstm_cell_backward(&saved.steps[t], c_prev, &dh, &dc, mask);
            if t > 0 {
                let mut dh_prev = b.matmul(&g.dgates, &self.w_hh.value, false, false, None, Act::Identity);
                if mask.is_some() {
                    // Padded rows pass their gradient straight to h_{t−1}.
                    dh_prev = add(&dh_prev, &g.dh_skip);
                }
                dh = sum(Some(&dh_prev), dhs.map(|d| &d[t - 1]));
                dc = g.dc_prev;
            }
            dgates[t] = Some(g.dgates);
        }
        let dgates: Vec<B::Tensor> = dgates.into_iter().map(|g| g.expect("every step visited")).collect();

        // Stacked step gradients [T·n, 4h]: one matmul or reduction per parameter.
        let dz = stack_rows(b, &dgates);
        let dx = b.matmul(&dz, &self.w_ih.value, false, false, None, Act::Identity);
        let dw_ih = b.matmul(&dz, &saved.x, true, false, None, Act::Identity);
        let db = b.reduce_cols(&dz, Reduce::Sum);
        // h_{−1} = 0: step 0 adds nothing to dW_hh.
        let dw_hh = if len == 1 {
            b.zeros(self.w_hh.dims())
        } else {
            let h_prev: Vec<B::Tensor> = saved.steps[..len - 1].iter().map(|s| s.h.clone()).collect();
            let dz_rec = b.slice_rows(&dz, n, (len - 1) * n); // steps 1‥T of the stack above
            b.matmul(&dz_rec, &stack_rows(b, &h_prev), true, false, None, Act::Identity)
        };
        (b.reshape(&dx, &[len, n, self.input_size()]), LstmWeightGrads { dw_ih, dw_hh, db })
    }

    /// One Adam update of `W_ih`, `W_hh` and `b`.
    pub fn update(&mut self, b: &B, grads: &LstmWeightGrads<B>, opt: &Adam) {
        self.w_ih.update(b, &grads.dw_ih, opt);
        self.w_hh.update(b, &grads.dw_hh, opt);
        self.bias.update(b, &grads.db, opt);
    }

    /// The parameter values (`W_ih`, `W_hh`, `b`).
    pub fn parameters(&self) -> Vec<&B::Tensor> {
        vec![&self.w_ih.value, &self.w_hh.value, &self.bias.value]
    }

    /// The parameter values, mutable (`W_ih`, `W_hh`, `b`).
    pub fn parameters_mut(&mut self) -> Vec<&mut B::Tensor> {
        vec![&mut self.w_ih.value, &mut self.w_hh.value, &mut self.bias.value]
    }
}
