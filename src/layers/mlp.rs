//! A multi-layer perceptron: dropout → linear → activation, repeated.

use super::{Adam, Linear, LinearGrads};
use crate::backend::{Act, Backend};
use crate::error::Result;
use crate::rng::derive_seed;

/// A stack of [`Linear`] layers. Layer `l` maps `sizes[l] → sizes[l + 1]`;
/// hidden layers use `act`, the last one `out_act` (RecBole's `MLPLayers`
/// applies the hidden activation to the last layer too: pass the same one).
/// With `dropout > 0`, training applies inverted dropout to every layer's input.
#[derive(Clone, Debug)]
pub struct Mlp<B: Backend> {
    /// The layers, input first.
    pub layers: Vec<Linear<B>>,
    /// Dropout probability on each layer's input during training.
    pub dropout: f32,
}

/// What [`Mlp::forward_train`] keeps for the backward: each layer's input
/// (after dropout) and output, and the step's dropout seed.
#[derive(Clone, Debug)]
pub struct MlpSaved<B: Backend> {
    inputs: Vec<B::Tensor>,
    outputs: Vec<B::Tensor>,
    seed: u64,
}

impl<B: Backend> MlpSaved<B> {
    /// The network's output.
    pub fn output(&self) -> &B::Tensor {
        self.outputs.last().unwrap_or(&self.inputs[0])
    }
}

impl<B: Backend> Mlp<B> {
    /// Xavier-initialised layers `sizes[0] → … → sizes[last]`, seeded (one
    /// size gives an empty network, the identity).
    pub fn new(b: &B, sizes: &[usize], act: Act, out_act: Act, dropout: f32, seed: u64) -> Result<Self> {
        assert!(!sizes.is_empty(), "Mlp: no sizes");
        assert!((0.0..1.0).contains(&dropout), "Mlp: dropout {dropout} outside [0, 1)");
        let n = sizes.len() - 1;
        let layers = (0..n)
            .map(|l| {
                let a = if l + 1 == n { out_act } else { act };
                Linear::new(b, sizes[l], sizes[l + 1], a, true, derive_seed(seed, l as u64))
            })
            .collect::<Result<_>>()?;
        Ok(Self { layers, dropout })
    }

    /// Inference (no dropout); `x` is `[n, in]` or `[batch, n, in]`.
    pub fn forward(&self, b: &B, x: &B::Tensor) -> B::Tensor {
        let mut h = x.clone();
        for layer in &self.layers {
            h = layer.forward(b, &h);
        }
        h
    }

    /// The seed of layer `l`'s dropout mask in the step seeded `seed`.
    fn layer_seed(seed: u64, l: usize) -> u64 {
        derive_seed(seed, l as u64)
    }

    /// Training forward of `x` `[n, in]`: dropout masks drawn from `seed`
    /// (use a fresh one per step). Returns the output and what the backward needs.
    pub fn forward_train(&self, b: &B, x: &B::Tensor, seed: u64) -> (B::Tensor, MlpSaved<B>) {
        let mut inputs = Vec::with_capacity(self.layers.len().max(1));
        let mut outputs = Vec::with_capacity(self.layers.len());
        let mut h = x.clone();
        for (l, layer) in self.layers.iter().enumerate() {
            let input = if self.dropout > 0.0 { b.dropout(&h, self.dropout, Self::layer_seed(seed, l)) } else { h };
            h = layer.forward(b, &input);
            inputs.push(input);
            outputs.push(h.clone());
        }
        if self.layers.is_empty() {
            inputs.push(h.clone());
        }
        (h, MlpSaved { inputs, outputs, seed })
    }

    /// Backward from `dy = ∂L/∂output`: returns `∂L/∂x` and each layer's
    /// parameter gradients (input layer first). Dropout's backward is the same
    /// mask applied to the gradient.
    pub fn backward(&self, b: &B, saved: &MlpSaved<B>, dy: &B::Tensor) -> (B::Tensor, Vec<LinearGrads<B>>) {
        let (dx, grads) = self.backward_from(b, saved, dy, true);
        (dx.expect("asked for dx"), grads)
    }

    /// Backward without `∂L/∂x`, for a network whose input is data.
    pub fn backward_weights(&self, b: &B, saved: &MlpSaved<B>, dy: &B::Tensor) -> Vec<LinearGrads<B>> {
        self.backward_from(b, saved, dy, false).1
    }

    fn backward_from(
        &self,
        b: &B,
        saved: &MlpSaved<B>,
        dy: &B::Tensor,
        input_grad: bool,
    ) -> (Option<B::Tensor>, Vec<LinearGrads<B>>) {
        let mut grads = Vec::with_capacity(self.layers.len());
        let mut d = dy.clone();
        for (l, layer) in self.layers.iter().enumerate().rev() {
            let (x, y) = (&saved.inputs[l], &saved.outputs[l]);
            if l == 0 && !input_grad {
                grads.push(layer.backward_weights(b, x, y, &d));
                return (None, grads.into_iter().rev().collect());
            }
            let (dx, g) = layer.backward(b, x, y, &d);
            grads.push(g);
            d = if self.dropout > 0.0 { b.dropout(&dx, self.dropout, Self::layer_seed(saved.seed, l)) } else { dx };
        }
        grads.reverse();
        (Some(d), grads)
    }

    /// One Adam update of every layer.
    pub fn update(&mut self, b: &B, grads: &[LinearGrads<B>], opt: &Adam) {
        assert_eq!(grads.len(), self.layers.len(), "Mlp::update: gradients for {} layers", grads.len());
        for (layer, g) in self.layers.iter_mut().zip(grads) {
            layer.update(b, g, opt);
        }
    }

    /// The parameter values, layer by layer.
    pub fn parameters(&self) -> Vec<&B::Tensor> {
        self.layers.iter().flat_map(Linear::parameters).collect()
    }

    /// The parameter values, mutable, layer by layer.
    pub fn parameters_mut(&mut self) -> Vec<&mut B::Tensor> {
        self.layers.iter_mut().flat_map(Linear::parameters_mut).collect()
    }
}
