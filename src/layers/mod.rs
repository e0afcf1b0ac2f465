//! Layers with written-out backward passes: [`Linear`], [`Mlp`],
//! [`lstm::Lstm`] and [`gru::Gru`] (a sequence, with masks, by
//! backpropagation through time), [`conv::Conv2d`] / [`conv::Conv1d`] /
//! [`conv::MaxPool2d`], [`graph::NgcfLayer`]
//! (NGCF's weighted graph convolution; LightGCN's weightless one is
//! [`crate::models::LightGcn::propagate`]), and the [`Param`]/[`Adam`] pair that
//! keeps a parameter's optimizer moments beside it so a model updates each
//! dense buffer with one fused Adam. Embedding tables are `Param`s updated
//! with [`Param::update_rows`] (lazy Adam on the rows a batch touched).
//!
//! - `Linear`: y = act(x·Wᵀ + b), one matmul with the bias and activation in
//!   its epilogue. Backward, from the saved input x and output y:
//!   dz = dy ⊙ act′ (read off y), dW = dzᵀ·x, db = Σ_rows dz, dx = dz·W —
//!   two transposed matmuls and a column reduction, no transposed copies.
//! - `Mlp`: a stack of `Linear`s sharing one activation, with optional
//!   inverted dropout on each layer's input (RecBole's `MLPLayers` order:
//!   dropout → linear → activation). The dropout mask is a pure function of
//!   (seed, element), so the backward re-applies the same mask to the
//!   gradient instead of storing it.
//!
//! Why explicit per-layer backward methods and not a tape: the models built
//! on these layers (MF, BPR, NeuMF, autoencoders, LightGCN/NGCF, sequence
//! models) each have a small, fixed graph, and their papers state the
//! gradients. Writing each model's backward as a few lines that mirror its
//! math keeps every dispatch of a training step visible in one function
//! (which is what makes "one step = one submission" auditable), needs no
//! graph bookkeeping or retained intermediates beyond what the math names,
//! and lets a model exploit structure a generic tape would not see (lazy
//! Adam on the touched embedding rows, a linear first layer split in two).
//! The price — a model author writes the chain rule by hand — is paid once
//! per model and checked by finite differences in `tests/layers.rs`.
//!
//! Initialisation is seeded: Xavier-normal weights and zero biases for
//! `Linear` (as RecBole does for its MLP layers), N(0, 0.01²) for embedding
//! tables ([`Param::normal`], RecBole's NeuMF).

mod linear;
mod mlp;
mod param;

pub use linear::{Linear, LinearGrads};
pub use mlp::{Mlp, MlpSaved};
pub use param::{Adam, Param};
pub mod conv;
pub mod graph;
pub mod gru;
pub mod lstm;
pub mod recurrent;
