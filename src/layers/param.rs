//! A trainable tensor with its Adam moments, and the step counter its updates share.

use crate::backend::{AdamConfig, Backend, Shaped};
use crate::error::Result;
use crate::init;

/// Adam's hyper-parameters and the step counter shared by every parameter of a
/// model (bias correction needs the number of steps taken, not per-buffer counts).
#[derive(Clone, Debug, PartialEq)]
pub struct Adam {
    /// Hyper-parameters.
    pub cfg: AdamConfig,
    step: u32,
}

impl Adam {
    /// A fresh optimizer (no step taken yet).
    pub fn new(cfg: AdamConfig) -> Self {
        Self { cfg, step: 0 }
    }

    /// Starts the next optimisation step; call once per step before the updates.
    pub fn next_step(&mut self) {
        self.step += 1;
    }

    /// Steps started so far (1 during the first step's updates).
    pub fn step(&self) -> u32 {
        self.step
    }
}

/// A parameter tensor and its first and second Adam moments.
#[derive(Clone, Debug)]
pub struct Param<B: Backend> {
    /// The parameter.
    pub value: B::Tensor,
    m: B::Tensor,
    v: B::Tensor,
}

impl<B: Backend> Param<B> {
    /// Uploads `data` as a parameter of `shape`, with zero moments.
    pub fn new(b: &B, data: &[f32], shape: &[usize]) -> Result<Self> {
        Ok(Self { value: b.tensor(data, shape)?, m: b.zeros(shape), v: b.zeros(shape) })
    }

    /// A zero parameter (biases).
    pub fn zeros(b: &B, shape: &[usize]) -> Self {
        Self { value: b.zeros(shape), m: b.zeros(shape), v: b.zeros(shape) }
    }

    /// A parameter drawn from N(0, std²), seeded (RecBole's NeuMF embeddings use std 0.01).
    pub fn normal(b: &B, shape: &[usize], std: f32, seed: u64) -> Result<Self> {
        Self::new(b, &init::normal(seed, shape.iter().product(), std), shape)
    }

    /// The parameter's shape.
    pub fn dims(&self) -> &[usize] {
        self.value.dims()
    }

    /// One fused Adam update of the whole buffer with `grad` (same size).
    pub fn update(&mut self, b: &B, grad: &B::Tensor, opt: &Adam) {
        assert!(opt.step >= 1, "Param::update before Adam::next_step");
        b.adam(&mut self.value, grad, &mut self.m, &mut self.v, &opt.cfg, opt.step);
    }

    /// Grows a `[r, d]` table to `count` rows (zero rows with zero moments)
    /// and sets rows `idx` to the rows of `values` (their moments kept).
    pub fn put_rows(&mut self, b: &B, count: usize, idx: &[u32], values: &B::Tensor) -> Result<()> {
        self.value = crate::models::refit::put(b, &self.value, count, idx, values)?;
        self.m = crate::models::refit::grow(b, &self.m, count);
        self.v = crate::models::refit::grow(b, &self.v, count);
        Ok(())
    }

    /// Lazy Adam on the listed rows of a `[r, d]` table; `grad` is `[rows.len(), d]`.
    pub fn update_rows(&mut self, b: &B, rows: &B::Index, grad: &B::Tensor, opt: &Adam) {
        assert!(opt.step >= 1, "Param::update_rows before Adam::next_step");
        b.adam_rows(&mut self.value, rows, grad, &mut self.m, &mut self.v, &opt.cfg, opt.step);
    }
}
