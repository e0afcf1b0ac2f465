//! Convolution and max-pooling layers over the backend's conv/pool ops, with
//! their backward passes.
//!
//! ```text
//! conv:  y[n, o, i, j] = b[o] + Σ_{c, u, v} W[o, c, u, v] · x[n, c, s_h·i + u − p_h, s_w·j + v − p_w]
//! back:  dx = conv2d_backward_input(dy, W),  (dW, db) = conv2d_backward_weight(x, dy)
//! pool:  y[n, c, i, j] = max over the window; dx routes each dy to its window's argmax
//! ```
//!
//! Caser (J. Tang, K. Wang, "Personalized Top-N Sequential Recommendation via
//! Convolutional Sequence Embedding", WSDM 2018) reads the last L item
//! embeddings as an L×d image `[n, 1, L, d]`: horizontal filters h×d give
//! `[n, c, L−h+1, 1]`, max-pooled over time with a `(L−h+1, 1)` window;
//! vertical filters L×1 give `[n, c, 1, d]`.

use super::{Adam, Param};
use crate::backend::{Backend, Shaped};
use crate::error::Result;
use crate::rng::derive_seed;

/// Gradients of a convolution's parameters.
#[derive(Clone, Debug)]
pub struct ConvGrads<B: Backend> {
    /// ∂L/∂W, shaped like the weight.
    pub dw: B::Tensor,
    /// ∂L/∂b `[c_out]`.
    pub db: B::Tensor,
}

/// PyTorch's default convolution init: weight and bias from U(−1/√fan_in,
/// 1/√fan_in), fan_in = c_in · kernel size (kaiming-uniform with a = √5).
fn conv_params<B: Backend>(b: &B, shape: &[usize], seed: u64) -> Result<(Param<B>, Param<B>)> {
    let fan_in: usize = shape[1..].iter().product();
    let bound = 1.0 / (fan_in.max(1) as f32).sqrt();
    let weight = Param::new(b, &crate::init::uniform(derive_seed(seed, 0), shape.iter().product(), bound), shape)?;
    let bias = Param::new(b, &crate::init::uniform(derive_seed(seed, 1), shape[0], bound), &shape[..1])?;
    Ok((weight, bias))
}

/// A 2-D convolution layer: `x` `[n, c_in, h, w]` → `[n, c_out, ho, wo]`.
#[derive(Clone, Debug)]
pub struct Conv2d<B: Backend> {
    /// Weight `[c_out, c_in, kh, kw]`.
    pub weight: Param<B>,
    /// Bias `[c_out]`.
    pub bias: Param<B>,
    /// Stride (rows, cols).
    pub stride: (usize, usize),
    /// Zero padding (rows, cols).
    pub padding: (usize, usize),
}

impl<B: Backend> Conv2d<B> {
    /// A layer with `c_out` filters of `c_in × kernel`, PyTorch's default init, seeded.
    pub fn new(
        b: &B,
        c_in: usize,
        c_out: usize,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
        seed: u64,
    ) -> Result<Self> {
        let (weight, bias) = conv_params(b, &[c_out, c_in, kernel.0, kernel.1], seed)?;
        Ok(Self { weight, bias, stride, padding })
    }

    /// A layer with the given row-major weight `[c_out, c_in, kh, kw]` and bias `[c_out]`.
    pub fn from_weights(
        b: &B,
        weight: &[f32],
        bias: &[f32],
        shape: [usize; 4],
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Result<Self> {
        Ok(Self { weight: Param::new(b, weight, &shape)?, bias: Param::new(b, bias, &shape[..1])?, stride, padding })
    }

    /// Kernel size (kh, kw).
    pub fn kernel(&self) -> (usize, usize) {
        (self.weight.dims()[2], self.weight.dims()[3])
    }

    /// `conv2d(x, W) + b`.
    pub fn forward(&self, b: &B, x: &B::Tensor) -> B::Tensor {
        b.conv2d(x, &self.weight.value, Some(&self.bias.value), self.stride, self.padding)
    }

    /// Backward from the input `x` and `dy = ∂L/∂y`: `(∂L/∂x, parameter gradients)`.
    pub fn backward(&self, b: &B, x: &B::Tensor, dy: &B::Tensor) -> (B::Tensor, ConvGrads<B>) {
        let hw = match *x.dims() {
            [_, _, h, w] => (h, w),
            ref d => panic!("Conv2d::backward: x must be [n, c, h, w], got {d:?}"),
        };
        let dx = b.conv2d_backward_input(dy, &self.weight.value, hw, self.stride, self.padding);
        (dx, self.backward_weights(b, x, dy))
    }

    /// [`Conv2d::backward`] without `∂L/∂x`, for a layer whose input is data.
    pub fn backward_weights(&self, b: &B, x: &B::Tensor, dy: &B::Tensor) -> ConvGrads<B> {
        let (dw, db) = b.conv2d_backward_weight(x, dy, self.kernel(), self.stride, self.padding);
        ConvGrads { dw, db }
    }

    /// One Adam update of the weight and bias.
    pub fn update(&mut self, b: &B, grads: &ConvGrads<B>, opt: &Adam) {
        self.weight.update(b, &grads.dw, opt);
        self.bias.update(b, &grads.db, opt);
    }

    /// The parameter values (weight, then bias).
    pub fn parameters(&self) -> Vec<&B::Tensor> {
        vec![&self.weight.value, &self.bias.value]
    }

    /// The parameter values, mutable (weight, then bias).
    pub fn parameters_mut(&mut self) -> Vec<&mut B::Tensor> {
        vec![&mut self.weight.value, &mut self.bias.value]
    }
}

/// A 1-D convolution layer: `x` `[n, c_in, l]` → `[n, c_out, lo]`.
#[derive(Clone, Debug)]
pub struct Conv1d<B: Backend> {
    /// Weight `[c_out, c_in, k]`.
    pub weight: Param<B>,
    /// Bias `[c_out]`.
    pub bias: Param<B>,
    /// Stride.
    pub stride: usize,
    /// Zero padding on both ends.
    pub padding: usize,
}

impl<B: Backend> Conv1d<B> {
    /// A layer with `c_out` filters of `c_in × kernel`, PyTorch's default init, seeded.
    pub fn new(
        b: &B,
        c_in: usize,
        c_out: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        seed: u64,
    ) -> Result<Self> {
        let (weight, bias) = conv_params(b, &[c_out, c_in, kernel], seed)?;
        Ok(Self { weight, bias, stride, padding })
    }

    /// A layer with the given row-major weight `[c_out, c_in, k]` and bias `[c_out]`.
    pub fn from_weights(
        b: &B,
        weight: &[f32],
        bias: &[f32],
        shape: [usize; 3],
        stride: usize,
        padding: usize,
    ) -> Result<Self> {
        Ok(Self { weight: Param::new(b, weight, &shape)?, bias: Param::new(b, bias, &shape[..1])?, stride, padding })
    }

    /// `conv1d(x, W) + b`.
    pub fn forward(&self, b: &B, x: &B::Tensor) -> B::Tensor {
        b.conv1d(x, &self.weight.value, Some(&self.bias.value), self.stride, self.padding)
    }

    /// Backward from the input `x` and `dy = ∂L/∂y`: `(∂L/∂x, parameter gradients)`.
    pub fn backward(&self, b: &B, x: &B::Tensor, dy: &B::Tensor) -> (B::Tensor, ConvGrads<B>) {
        let l = match *x.dims() {
            [_, _, l] => l,
            ref d => panic!("Conv1d::backward: x must be [n, c, l], got {d:?}"),
        };
        let dx = b.conv1d_backward_input(dy, &self.weight.value, l, self.stride, self.padding);
        (dx, self.backward_weights(b, x, dy))
    }

    /// [`Conv1d::backward`] without `∂L/∂x`.
    pub fn backward_weights(&self, b: &B, x: &B::Tensor, dy: &B::Tensor) -> ConvGrads<B> {
        let (dw, db) = b.conv1d_backward_weight(x, dy, self.weight.dims()[2], self.stride, self.padding);
        ConvGrads { dw, db }
    }

    /// One Adam update of the weight and bias.
    pub fn update(&mut self, b: &B, grads: &ConvGrads<B>, opt: &Adam) {
        self.weight.update(b, &grads.dw, opt);
        self.bias.update(b, &grads.db, opt);
    }

    /// The parameter values (weight, then bias).
    pub fn parameters(&self) -> Vec<&B::Tensor> {
        vec![&self.weight.value, &self.bias.value]
    }
}

/// Max-pooling over `kernel` windows moved by `stride` of `[n, c, h, w]` (no padding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxPool2d {
    /// Window (rows, cols).
    pub kernel: (usize, usize),
    /// Stride (rows, cols).
    pub stride: (usize, usize),
}

/// What [`MaxPool2d::forward`] keeps for the backward: where each maximum was.
#[derive(Clone, Debug)]
pub struct MaxPoolSaved<B: Backend> {
    /// Per output, the flat position of its maximum within its `h·w` input plane.
    pub argmax: B::Index,
    /// The input's shape `[n, c, h, w]`.
    pub input_shape: Vec<usize>,
}

impl MaxPool2d {
    /// Non-overlapping windows (`stride = kernel`).
    pub fn new(kernel: (usize, usize)) -> Self {
        Self { kernel, stride: kernel }
    }

    /// Pools `x` `[n, c, h, w]`: the output and the argmax cache.
    pub fn forward<B: Backend>(&self, b: &B, x: &B::Tensor) -> (B::Tensor, MaxPoolSaved<B>) {
        let (y, argmax) = b.maxpool2d(x, self.kernel, self.stride);
        (y, MaxPoolSaved { argmax, input_shape: x.dims().to_vec() })
    }

    /// `∂L/∂x` from `dy = ∂L/∂y`: each input sums the `dy` of the windows it was the maximum of.
    pub fn backward<B: Backend>(&self, b: &B, saved: &MaxPoolSaved<B>, dy: &B::Tensor) -> B::Tensor {
        b.maxpool2d_backward(dy, &saved.argmax, &saved.input_shape, self.kernel, self.stride)
    }
}
