//! What a next-item model needs of a recurrent layer, so one model body
//! serves the LSTM ([`super::lstm::Lstm`]) and the GRU ([`super::gru::Gru`]):
//! build, run a padded time-major sequence, backpropagate per-step
//! gradients through time, update, and name its weights.

use super::gru::{Gru, GruSaved};
use super::lstm::{Lstm, LstmSaved};
use super::Adam;
use crate::backend::Backend;
use crate::error::Result;

/// A recurrent layer over `[T, n, in]` time-major sequences with `[T, n]` padding masks.
pub trait Recurrent<B: Backend>: Sized + Send + Sync {
    /// What the forward keeps for the backward.
    type Saved;
    /// The prefix of its weights in model files ("lstm", "gru").
    const NAME: &'static str;
    /// PyTorch's initialisation, seeded.
    fn create(b: &B, input: usize, hidden: usize, seed: u64) -> Result<Self>;
    /// The hidden states `h_t` `[n, h]`, one per step, and the saved state.
    fn run(&self, b: &B, xs: &B::Tensor, masks: &B::Tensor) -> (Vec<B::Tensor>, Self::Saved);
    /// The last hidden state (for rows padded at the end, their last real one).
    fn last(saved: &Self::Saved) -> &B::Tensor;
    /// `∂L/∂xs` `[T, n, in]` and the parameter gradients in [`Recurrent::params`] order,
    /// from `∂L/∂h_t` for every step.
    fn backprop(&self, b: &B, saved: &Self::Saved, dhs: &[B::Tensor]) -> (B::Tensor, Vec<B::Tensor>);
    /// One Adam update from gradients in [`Recurrent::params`] order.
    fn apply(&mut self, b: &B, grads: &[B::Tensor], opt: &Adam);
    /// The parameters.
    fn params(&self) -> Vec<&B::Tensor>;
    /// The parameters, mutable.
    fn params_mut(&mut self) -> Vec<&mut B::Tensor>;
    /// The weights' names (after [`Recurrent::NAME`]`.`) and shapes for `input → hidden`.
    fn layout(input: usize, hidden: usize) -> Vec<(&'static str, Vec<usize>)>;
}

impl<B: Backend> Recurrent<B> for Lstm<B> {
    type Saved = LstmSaved<B>;
    const NAME: &'static str = "lstm";

    fn create(b: &B, input: usize, hidden: usize, seed: u64) -> Result<Self> {
        Lstm::new(b, input, hidden, seed)
    }

    fn run(&self, b: &B, xs: &B::Tensor, masks: &B::Tensor) -> (Vec<B::Tensor>, LstmSaved<B>) {
        self.forward(b, xs, Some(masks))
    }

    fn last(saved: &LstmSaved<B>) -> &B::Tensor {
        saved.h_last()
    }

    fn backprop(&self, b: &B, saved: &LstmSaved<B>, dhs: &[B::Tensor]) -> (B::Tensor, Vec<B::Tensor>) {
        let (dx, g) = self.backward(b, saved, Some(dhs), None, None);
        (dx, vec![g.dw_ih, g.dw_hh, g.db])
    }

    fn apply(&mut self, b: &B, grads: &[B::Tensor], opt: &Adam) {
        self.w_ih.update(b, &grads[0], opt);
        self.w_hh.update(b, &grads[1], opt);
        self.bias.update(b, &grads[2], opt);
    }

    fn params(&self) -> Vec<&B::Tensor> {
        self.parameters()
    }

    fn params_mut(&mut self) -> Vec<&mut B::Tensor> {
        self.parameters_mut()
    }

    fn layout(input: usize, hidden: usize) -> Vec<(&'static str, Vec<usize>)> {
        vec![("w_ih", vec![4 * hidden, input]), ("w_hh", vec![4 * hidden, hidden]), ("bias", vec![4 * hidden])]
    }
}

impl<B: Backend> Recurrent<B> for Gru<B> {
    type Saved = GruSaved<B>;
    const NAME: &'static str = "gru";

    fn create(b: &B, input: usize, hidden: usize, seed: u64) -> Result<Self> {
        Gru::new(b, input, hidden, seed)
    }

    fn run(&self, b: &B, xs: &B::Tensor, masks: &B::Tensor) -> (Vec<B::Tensor>, GruSaved<B>) {
        self.forward(b, xs, Some(masks))
    }

    fn last(saved: &GruSaved<B>) -> &B::Tensor {
        saved.h_last()
    }

    fn backprop(&self, b: &B, saved: &GruSaved<B>, dhs: &[B::Tensor]) -> (B::Tensor, Vec<B::Tensor>) {
        let (dx, g) = self.backward(b, saved, Some(dhs), None);
        (dx, vec![g.dw_ih, g.dw_hh, g.db_ih, g.db_hh])
    }

    fn apply(&mut self, b: &B, grads: &[B::Tensor], opt: &Adam) {
        self.w_ih.update(b, &grads[0], opt);
        self.w_hh.update(b, &grads[1], opt);
        self.b_ih.update(b, &grads[2], opt);
        self.b_hh.update(b, &grads[3], opt);
    }

    fn params(&self) -> Vec<&B::Tensor> {
        self.parameters()
    }

    fn params_mut(&mut self) -> Vec<&mut B::Tensor> {
        self.parameters_mut()
    }

    fn layout(input: usize, hidden: usize) -> Vec<(&'static str, Vec<usize>)> {
        vec![
            ("w_ih", vec![3 * hidden, input]),
            ("w_hh", vec![3 * hidden, hidden]),
            ("b_ih", vec![3 * hidden]),
            ("b_hh", vec![3 * hidden]),
        ]
    }
}
