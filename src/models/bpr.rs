//! BPR-MF — S. Rendle, C. Freudenthaler, Z. Gantner, L. Schmidt-Thieme,
//! "BPR: Bayesian Personalized Ranking from Implicit Feedback", UAI 2009.
//!
//! score:  x̂(u, i) = p_u · q_i
//! loss:   L = mean over (u, i, j) of −ln σ(x̂(u, i) − x̂(u, j)) + λ/2 (‖p_u‖² + ‖q_i‖² + ‖q_j‖²)
//!
//! with i a training item of u and j a sampled item u has not interacted with.
//! One training step is one submission of ~15 dispatches: three embedding
//! gathers, two row dots, the loss, the gradient products, two grouped
//! scatter-adds and two lazy-Adam row updates. The gradients are
//!   ∂L/∂p_u = g·(q_i − q_j) + λ p_u,  ∂L/∂q_i = g·p_u + λ q_i,  ∂L/∂q_j = −g·p_u + λ q_j,
//! where g = ∂L/∂x̂_ui = −σ(−(x̂_ui − x̂_uj)) / batch.

use crate::backend::{AdamConfig, Backend, BinaryOp};
use crate::error::Result;
use crate::eval::Scorer;
use crate::init;
use crate::train::PairwiseModel;

/// BPR-MF hyper-parameters.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BprConfig {
    /// Embedding size.
    pub dim: usize,
    /// Adam learning rate.
    pub lr: f32,
    /// L2 weight λ on the embeddings a batch touches.
    pub reg: f32,
}

impl Default for BprConfig {
    fn default() -> Self {
        Self { dim: 64, lr: 1e-3, reg: 0.0 }
    }
}

/// A BPR matrix-factorisation model on backend `B`.
pub struct BprMf<B: Backend> {
    /// User embeddings `[users, dim]`.
    pub user: B::Tensor,
    /// Item embeddings `[items, dim]`.
    pub item: B::Tensor,
    adam: [B::Tensor; 4],
    step: u32,
    cfg: BprConfig,
}

impl<B: Backend> BprMf<B> {
    /// Xavier-normal embeddings (as RecBole initialises them), seeded.
    pub fn new(b: &B, n_users: usize, n_items: usize, cfg: BprConfig, seed: u64) -> Result<Self> {
        let d = cfg.dim;
        let user = b.tensor(&init::xavier_normal(seed, n_users, d), &[n_users, d])?;
        let item = b.tensor(&init::xavier_normal(seed ^ 0x5eed, n_items, d), &[n_items, d])?;
        let adam = [b.zeros(&[n_users, d]), b.zeros(&[n_users, d]), b.zeros(&[n_items, d]), b.zeros(&[n_items, d])];
        Ok(Self { user, item, adam, step: 0, cfg })
    }

    /// The configuration.
    pub fn config(&self) -> &BprConfig {
        &self.cfg
    }
}

impl<B: Backend> BprMf<B> {
    /// The embeddings for serving.
    pub fn export(&self) -> crate::models::DotScorer<B> {
        crate::models::DotScorer { user: self.user.clone(), item: self.item.clone() }
    }
}

impl<B: Backend> Scorer<B> for BprMf<B> {
    fn score_users(&self, b: &B, users: &B::Index) -> B::Tensor {
        let p = b.gather_rows(&self.user, users);
        b.matmul(&p, &self.item, false, true, None, crate::Act::Identity)
    }
}

impl<B: Backend> PairwiseModel<B> for BprMf<B> {
    fn train_step(&mut self, b: &B, users: &[u32], pos: &[u32], neg: &[u32]) -> Result<B::Tensor> {
        let n = users.len();
        let (u, i, j) = (b.index(users)?, b.index(pos)?, b.index(neg)?);
        let user_groups = b.row_groups(users)?;
        let items: Vec<u32> = pos.iter().chain(neg).copied().collect();
        let item_groups = b.row_groups(&items)?;

        let pu = b.gather_rows(&self.user, &u);
        let qi = b.gather_rows(&self.item, &i);
        let qj = b.gather_rows(&self.item, &j);
        let (loss, g) = b.bpr_loss(&b.dot_rows(&pu, &qi), &b.dot_rows(&pu, &qj));
        let g = b.reshape(&g, &[n, 1]);

        let mut dpu = b.binary(BinaryOp::Mul, &b.binary(BinaryOp::Sub, &qi, &qj), &g);
        let mut dqi = b.binary(BinaryOp::Mul, &pu, &g);
        let mut dqj = b.scale(&dqi, -1.0, 0.0);
        if self.cfg.reg > 0.0 {
            let reg = self.cfg.reg / n as f32;
            dpu = b.binary(BinaryOp::Add, &dpu, &b.scale(&pu, reg, 0.0));
            dqi = b.binary(BinaryOp::Add, &dqi, &b.scale(&qi, reg, 0.0));
            dqj = b.binary(BinaryOp::Add, &dqj, &b.scale(&qj, reg, 0.0));
        }
        let gu = b.scatter_add_rows(&dpu, &user_groups);
        let gi = b.scatter_add_rows(&b.concat_rows(&dqi, &dqj), &item_groups);

        self.step += 1;
        let adam = AdamConfig { lr: self.cfg.lr, ..Default::default() };
        let [mu, vu, mi, vi] = &mut self.adam;
        b.adam_rows(&mut self.user, &user_groups.rows, &gu, mu, vu, &adam, self.step);
        b.adam_rows(&mut self.item, &item_groups.rows, &gi, mi, vi, &adam, self.step);
        Ok(loss)
    }

    fn parameters(&self) -> Vec<&B::Tensor> {
        vec![&self.user, &self.item]
    }

    fn parameters_mut(&mut self) -> Vec<&mut B::Tensor> {
        vec![&mut self.user, &mut self.item]
    }
}
