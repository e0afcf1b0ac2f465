//! A fully connected layer, y = act(x·Wᵀ + b), with its backward.

use super::{Adam, Param};
use crate::backend::{Act, Backend, Reduce, Shaped};
use crate::error::Result;
use crate::init;

/// A fully connected layer: `y = act(x·Wᵀ + b)` with `W` `[out, in]` (PyTorch's layout).
#[derive(Clone, Debug)]
pub struct Linear<B: Backend> {
    /// Weight `[out, in]`.
    pub weight: Param<B>,
    /// Bias `[out]`, if the layer has one.
    pub bias: Option<Param<B>>,
    /// Activation applied after the affine map.
    pub act: Act,
}

/// Gradients of a [`Linear`]'s parameters.
#[derive(Clone, Debug)]
pub struct LinearGrads<B: Backend> {
    /// ∂L/∂W `[out, in]`.
    pub dw: B::Tensor,
    /// ∂L/∂b `[out]` (when the layer has a bias).
    pub db: Option<B::Tensor>,
}

impl<B: Backend> Linear<B> {
    /// Xavier-normal weights (std √(2 / (in + out))) and a zero bias, seeded.
    pub fn new(b: &B, fan_in: usize, fan_out: usize, act: Act, bias: bool, seed: u64) -> Result<Self> {
        let w = init::xavier_normal(seed, fan_out, fan_in);
        let zeros = vec![0.0; fan_out];
        Self::from_weights(b, &w, bias.then_some(&zeros[..]), fan_in, fan_out, act)
    }

    /// A layer with the given row-major weight `[out, in]` and optional bias `[out]`.
    pub fn from_weights(
        b: &B,
        weight: &[f32],
        bias: Option<&[f32]>,
        fan_in: usize,
        fan_out: usize,
        act: Act,
    ) -> Result<Self> {
        let weight = Param::new(b, weight, &[fan_out, fan_in])?;
        let bias = bias.map(|v| Param::new(b, v, &[fan_out])).transpose()?;
        Ok(Self { weight, bias, act })
    }

    /// Input width.
    pub fn fan_in(&self) -> usize {
        self.weight.dims()[1]
    }

    /// Output width.
    pub fn fan_out(&self) -> usize {
        self.weight.dims()[0]
    }

    /// `act(x·Wᵀ + b)` for `x` `[n, in]` or `[batch, n, in]`: one matmul with a fused epilogue.
    pub fn forward(&self, b: &B, x: &B::Tensor) -> B::Tensor {
        let bias = self.bias.as_ref().map(|p| &p.value);
        b.matmul(x, &self.weight.value, false, true, bias, self.act)
    }

    /// [`Linear::forward`] of an input given transposed, `x_t` `[in, n]` or
    /// `[batch, in, n]` (read through matmul's transpose flag, never copied).
    pub fn forward_t(&self, b: &B, x_t: &B::Tensor) -> B::Tensor {
        let bias = self.bias.as_ref().map(|p| &p.value);
        b.matmul(x_t, &self.weight.value, true, true, bias, self.act)
    }

    /// ∂L/∂z for the pre-activation z, read off the saved output `y`.
    fn dz(&self, b: &B, y: &B::Tensor, dy: &B::Tensor) -> B::Tensor {
        assert_eq!(y.dims(), dy.dims(), "Linear backward: output {:?} vs its gradient {:?}", y.dims(), dy.dims());
        match self.act {
            Act::Identity => dy.clone(),
            act => b.activate_backward(y, dy, act),
        }
    }

    fn param_grads(&self, b: &B, x: &B::Tensor, dz: &B::Tensor) -> LinearGrads<B> {
        assert!(
            x.dims().len() == 2 && x.dims()[0] == dz.dims()[0] && x.dims()[1] == self.fan_in(),
            "Linear backward: input {:?}, output gradient {:?}, weight {:?} (backward takes 2-D inputs)",
            x.dims(),
            dz.dims(),
            self.weight.dims()
        );
        LinearGrads {
            dw: b.matmul(dz, x, true, false, None, Act::Identity),
            db: self.bias.as_ref().map(|_| b.reduce_cols(dz, Reduce::Sum)),
        }
    }

    /// Backward from the layer's input `x` `[n, in]`, its output `y` and `dy = ∂L/∂y`:
    /// returns `∂L/∂x = dz·W` and the parameter gradients `dW = dzᵀ·x`, `db = Σ_rows dz`.
    pub fn backward(&self, b: &B, x: &B::Tensor, y: &B::Tensor, dy: &B::Tensor) -> (B::Tensor, LinearGrads<B>) {
        let dz = self.dz(b, y, dy);
        let grads = self.param_grads(b, x, &dz);
        let dx = b.matmul(&dz, &self.weight.value, false, false, None, Act::Identity);
        (dx, grads)
    }

    /// [`Linear::backward`] without `∂L/∂x`, for a layer whose input is data.
    pub fn backward_weights(&self, b: &B, x: &B::Tensor, y: &B::Tensor, dy: &B::Tensor) -> LinearGrads<B> {
        let dz = self.dz(b, y, dy);
        self.param_grads(b, x, &dz)
    }

    /// One Adam update of the weight and bias.
    pub fn update(&mut self, b: &B, grads: &LinearGrads<B>, opt: &Adam) {
        self.weight.update(b, &grads.dw, opt);
        match (&mut self.bias, &grads.db) {
            (Some(p), Some(g)) => p.update(b, g, opt),
            (None, None) => {}
            _ => panic!("Linear::update: bias and its gradient do not match"),
        }
    }

    /// The parameter values (weight, then bias).
    pub fn parameters(&self) -> Vec<&B::Tensor> {
        std::iter::once(&self.weight.value).chain(self.bias.as_ref().map(|p| &p.value)).collect()
    }

    /// The parameter values, mutable (weight, then bias).
    pub fn parameters_mut(&mut self) -> Vec<&mut B::Tensor> {
        std::iter::once(&mut self.weight.value).chain(self.bias.as_mut().map(|p| &mut p.value)).collect()
    }
}
