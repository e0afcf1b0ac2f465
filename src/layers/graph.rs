//! Graph convolution over the symmetric-normalised user–item adjacency
//! L = D^−½ A D^−½ ([`crate::graph::normalized_adjacency`]), whose transpose
//! is itself, so every backward SpMM reuses the forward matrix.
//!
//! - LightGCN's propagation has no weights: E′ = L E (see
//!   [`crate::models::LightGcn`], which sums K such layers).
//! - NGCF — X. Wang, X. He, M. Wang, F. Feng, T.-S. Chua, "Neural Graph
//!   Collaborative Filtering", SIGIR 2019 — weighs the messages:
//!
//!   E′ = LeakyReLU( (L + I) E W₁ + (L E ⊙ E) W₂ + b )
//!
//!   The paper and RecBole's `BiGNNLayer` write two biases, one per linear
//!   map (b₁ + b₂), but both are added to the same pre-activation, so they
//!   always receive the same gradient and only their sum matters: one bias b
//!   is the same model with one redundant parameter fewer (and, under Adam,
//!   without the sum moving at twice the step size of a single bias).
//!
//!   Backward with z the pre-activation and S = L E:
//!   dz = dE′ ⊙ LeakyReLU′;  dW₁ = ((L + I)E)ᵀ dz;  dW₂ = (S ⊙ E)ᵀ dz;  db = Σ_rows dz;
//!   dE = (L + I)(dz W₁ᵀ) + (dz W₂ᵀ) ⊙ S + L((dz W₂ᵀ) ⊙ E).
//!
//!   The backward uses L for Lᵀ: pass a symmetric L (NGCF's edge dropout
//!   drops both directions of an edge together, see `models::ngcf`).

use crate::backend::{Act, Backend, BinaryOp, Csr, Reduce};
use crate::error::Result;
use crate::init;
use crate::layers::{Adam, Param};
use crate::rng::derive_seed;

/// NGCF's LeakyReLU slope.
const SLOPE: f32 = 0.2;

/// One NGCF propagation layer `[n, d_in] → [n, d_out]`.
pub struct NgcfLayer<B: Backend> {
    /// W₁ `[d_in, d_out]`.
    pub w1: Param<B>,
    /// W₂ `[d_in, d_out]`.
    pub w2: Param<B>,
    /// b `[d_out]` (the paper's b₁ + b₂).
    pub b: Param<B>,
}

/// What [`NgcfLayer::backward`] needs from the forward.
pub struct NgcfSaved<B: Backend> {
    e: B::Tensor,
    side: B::Tensor,
    sum_in: B::Tensor,
    prod: B::Tensor,
    /// The layer's output E′.
    pub out: B::Tensor,
}

/// Gradients of an NGCF layer's weights.
pub struct NgcfGrads<B: Backend> {
    /// dW₁.
    pub dw1: B::Tensor,
    /// dW₂.
    pub dw2: B::Tensor,
    /// db.
    pub db: B::Tensor,
}

impl<B: Backend> NgcfGrads<B> {
    /// dW₁, dW₂, db: the order of [`NgcfLayer::parameters`].
    pub fn tensors(&self) -> [&B::Tensor; 3] {
        [&self.dw1, &self.dw2, &self.db]
    }
}

impl<B: Backend> NgcfLayer<B> {
    /// Xavier-normal weights and a zero bias (as NGCF's reference code), seeded.
    pub fn new(b: &B, d_in: usize, d_out: usize, seed: u64) -> Result<Self> {
        Ok(Self {
            w1: Param::new(b, &init::xavier_normal(derive_seed(seed, 1), d_in, d_out), &[d_in, d_out])?,
            w2: Param::new(b, &init::xavier_normal(derive_seed(seed, 2), d_in, d_out), &[d_in, d_out])?,
            b: Param::zeros(b, &[d_out]),
        })
    }

    /// W₁, W₂, b.
    pub fn parameters(&self) -> [&B::Tensor; 3] {
        [&self.w1.value, &self.w2.value, &self.b.value]
    }

    /// W₁, W₂, b, mutable.
    pub fn parameters_mut(&mut self) -> [&mut B::Tensor; 3] {
        [&mut self.w1.value, &mut self.w2.value, &mut self.b.value]
    }

    /// E′ for node embeddings `e` `[n, d_in]` over adjacency `adj` `[n, n]`.
    pub fn forward(&self, b: &B, adj: &Csr<B>, e: &B::Tensor) -> NgcfSaved<B> {
        let side = b.spmm_csr(adj, e);
        let sum_in = b.binary(BinaryOp::Add, &side, e);
        let prod = b.binary(BinaryOp::Mul, &side, e);
        let z1 = b.matmul(&sum_in, &self.w1.value, false, false, Some(&self.b.value), Act::Identity);
        let z2 = b.matmul(&prod, &self.w2.value, false, false, None, Act::Identity);
        let out = b.activate(&b.binary(BinaryOp::Add, &z1, &z2), Act::LeakyRelu(SLOPE));
        NgcfSaved { e: e.clone(), side, sum_in, prod, out }
    }

    /// dE and the weight gradients, given dE′.
    pub fn backward(&self, b: &B, adj: &Csr<B>, saved: &NgcfSaved<B>, dout: &B::Tensor) -> (B::Tensor, NgcfGrads<B>) {
        let dz = b.activate_backward(&saved.out, dout, Act::LeakyRelu(SLOPE));
        let grads = NgcfGrads {
            dw1: b.matmul(&saved.sum_in, &dz, true, false, None, Act::Identity),
            dw2: b.matmul(&saved.prod, &dz, true, false, None, Act::Identity),
            db: b.reduce_cols(&dz, Reduce::Sum),
        };
        let d_sum = b.matmul(&dz, &self.w1.value, false, true, None, Act::Identity);
        let d_prod = b.matmul(&dz, &self.w2.value, false, true, None, Act::Identity);
        // (L + I) d_sum  +  d_prod ⊙ S  +  L (d_prod ⊙ E)
        let through_sum = b.binary(BinaryOp::Add, &b.spmm_csr(adj, &d_sum), &d_sum);
        let via_side = b.spmm_csr(adj, &b.binary(BinaryOp::Mul, &d_prod, &saved.e));
        let direct = b.binary(BinaryOp::Mul, &d_prod, &saved.side);
        let de = b.binary(BinaryOp::Add, &b.binary(BinaryOp::Add, &through_sum, &via_side), &direct);
        (de, grads)
    }

    /// One Adam step on the layer's weights.
    pub fn update(&mut self, b: &B, g: &NgcfGrads<B>, opt: &Adam) {
        self.w1.update(b, &g.dw1, opt);
        self.w2.update(b, &g.dw2, opt);
        self.b.update(b, &g.db, opt);
    }
}
