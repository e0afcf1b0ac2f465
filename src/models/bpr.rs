//! BPR-MF — S. Rendle, C. Freudenthaler, Z. Gantner, L. Schmidt-Thieme,
//! "BPR: Bayesian Personalized Ranking from Implicit Feedback", UAI 2009.
//!
//! score:  x̂(u, i) = p_u · q_i
//! loss:   L = mean over (u, i, j) of −ln σ(x̂(u, i) − x̂(u, j)) + λ/2 (‖p_u‖² + ‖q_i‖² + ‖q_j‖²)
//!
//! with i a training item of u and j a sampled item u has not interacted with.
//! One training step is one submission of 6 dispatches: the fused loss and
//! gradient kernel over the batch's triples ([`Backend::bpr_triples`]) and
//! its mean, two grouped scatter-adds that sum the gradients of repeated rows
//! (no atomics), and two lazy-Adam row updates. Per occurrence in a batch of n,
//!   ∂L/∂p_u = g·(q_i − q_j) + (λ/n) p_u,  ∂L/∂q_i = g·p_u + (λ/n) q_i,  ∂L/∂q_j = −g·p_u + (λ/n) q_j,
//! where g = ∂L/∂(x̂_ui − x̂_uj) = −σ(−(x̂_ui − x̂_uj)) / n. The host uploads
//! the triples as one index buffer and the two row groupings.
//!
//! Fold-in and incremental updates ([`Refit`]) fit a user's p_u to the same
//! loss over their items with Q fixed (convex in p_u), and an item's q_i to
//! the mirror image, −ln σ(q_i·(p_u − p_v)) over its users u with a sampled
//! user v who never had it, with P fixed; both run the same fused kernel
//! with the fitted rows in the user operand.

use crate::backend::{AdamConfig, Backend, Shaped};
use crate::error::{Error, Result};
use crate::init;
use crate::model_file::{ModelFile, NamedTensor};
use crate::models::contract::{
    download, upload, Batch, BatchKind, Family, Info, Layout, Model, Schedule, Scorer, Task, TrainSet,
};
use crate::models::refit::{self, Refit, RefitBatch, Side};

/// The BPR-MF family (`bpr`).
pub struct Bpr;

impl Family for Bpr {
    const INFO: Info = Info {
        name: "bpr",
        about: "BPR-MF: matrix factorisation with the BPR pairwise loss (Rendle et al., UAI 2009)",
        task: Task::Ranking,
        batch: BatchKind::Pairs,
        schedule: Schedule { epochs: 300, patience: 10, fixed_epochs: 100, batch_size: 2048, batch_unit: "triples" },
        dim_keys: &["dim"],
        lr_key: Some("lr"),
    };
    type Config = BprConfig;
    type Model<B: Backend> = BprMf<B>;

    fn validate(cfg: &BprConfig) -> Result<()> {
        cfg.check()
    }

    fn build<B: Backend>(b: &B, data: &TrainSet, cfg: BprConfig, seed: u64) -> Result<BprMf<B>> {
        BprMf::new(b, data.n_users(), data.n_items(), cfg, seed)
    }

    fn layout(cfg: &BprConfig, n_users: usize, n_items: usize) -> Layout {
        vec![("user".into(), vec![n_users, cfg.dim]), ("item".into(), vec![n_items, cfg.dim])]
    }

    fn load<B: Backend>(b: &B, cfg: BprConfig, file: &ModelFile) -> Result<Box<dyn Model<B>>> {
        let (nu, ni, d) = (file.user_ids.len(), file.item_ids.len(), cfg.dim);
        let adam = [b.zeros(&[nu, d]), b.zeros(&[nu, d]), b.zeros(&[ni, d]), b.zeros(&[ni, d])];
        Ok(Box::new(BprMf { user: upload(b, file, "user")?, item: upload(b, file, "item")?, adam, step: 0, cfg }))
    }
}

/// BPR-MF hyper-parameters.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BprConfig {
    /// Embedding size.
    pub dim: usize,
    /// Adam learning rate.
    pub lr: f32,
    /// L2 weight λ on the embeddings a batch touches.
    pub reg: f32,
}

impl BprConfig {
    /// An error naming the field that cannot build a model.
    pub fn check(&self) -> Result<()> {
        if self.dim == 0 {
            return Err(Error::Invalid("BPR-MF: dim must be at least 1".into()));
        }
        if !(self.lr.is_finite() && self.lr >= 0.0) {
            return Err(Error::Invalid(format!("BPR-MF: lr must be finite and ≥ 0, got {}", self.lr)));
        }
        if !(self.reg.is_finite() && self.reg >= 0.0) {
            return Err(Error::Invalid(format!("BPR-MF: reg must be finite and ≥ 0, got {}", self.reg)));
        }
        Ok(())
    }
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
        cfg.check()?;
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

impl<B: Backend> Scorer<B> for BprMf<B> {
    fn score_users(&self, b: &B, users: &B::Index) -> B::Tensor {
        let p = b.gather_rows(&self.user, users);
        b.matmul(&p, &self.item, false, true, None, crate::Act::Identity)
    }
}

impl<B: Backend> Model<B> for BprMf<B> {
    fn kind(&self) -> &'static str {
        Bpr::INFO.name
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(&self.cfg).expect("a configuration serialises to JSON")
    }

    fn batch_kind(&self) -> BatchKind {
        BatchKind::Pairs
    }

    fn train_step(&mut self, b: &B, batch: &Batch<'_>) -> Result<B::Tensor> {
        let &Batch::Pairs { users, pos, neg } = batch else {
            return Err(batch.wrong_kind("BPR-MF", BatchKind::Pairs));
        };
        let n = users.len();
        assert!(pos.len() == n && neg.len() == n, "BPR train_step: {n} users, {} pos, {} neg", pos.len(), neg.len());
        let (n_users, n_items) = (self.user.dims()[0], self.item.dims()[0]);
        if let Some(bad) = users.iter().find(|&&u| u as usize >= n_users) {
            return Err(Error::Invalid(format!("user {bad} outside {n_users} users")));
        }
        if let Some(bad) = pos.iter().chain(neg).find(|&&i| i as usize >= n_items) {
            return Err(Error::Invalid(format!("item {bad} outside {n_items} items")));
        }
        let triples: Vec<u32> = users.iter().chain(pos).chain(neg).copied().collect();
        let user_groups = b.row_groups(users)?;
        let item_groups = b.row_groups(&triples[n..])?;
        let (loss, d_user, d_item) = b.bpr_triples(&self.user, &self.item, &b.index(&triples)?, self.cfg.reg);
        let gu = b.scatter_add_rows(&d_user, &user_groups);
        let gi = b.scatter_add_rows(&d_item, &item_groups);

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

    fn weights(&self, b: &B) -> Result<Vec<NamedTensor>> {
        download(b, &["user", "item"], self.parameters())
    }

    fn item_vectors(&self, _b: &B) -> Option<B::Tensor> {
        Some(self.item.clone())
    }

    fn refit(&self) -> Option<&dyn Refit<B>> {
        Some(self)
    }

    fn refit_mut(&mut self) -> Option<&mut dyn Refit<B>> {
        Some(self)
    }
}

impl<B: Backend> BprMf<B> {
    /// `side`'s table and the other side's.
    fn tables(&self, side: Side) -> (&B::Tensor, &B::Tensor) {
        match side {
            Side::Users => (&self.user, &self.item),
            Side::Items => (&self.item, &self.user),
        }
    }
}

impl<B: Backend> Refit<B> for BprMf<B> {
    fn count(&self, side: Side) -> usize {
        self.tables(side).0.dims()[0]
    }

    fn widths(&self, _side: Side) -> Vec<usize> {
        vec![self.cfg.dim]
    }

    fn gather(&self, b: &B, side: Side, idx: &[u32]) -> Result<Vec<B::Tensor>> {
        Ok(vec![b.gather_rows(self.tables(side).0, &b.index(idx)?)])
    }

    fn row_gradients(
        &self,
        b: &B,
        side: Side,
        rows: &[B::Tensor],
        batch: &RefitBatch<'_, B>,
    ) -> Result<(B::Tensor, Vec<B::Tensor>)> {
        // The fitted rows are the kernel's user operand, the fixed side its item operand.
        let triples: Vec<u32> = batch.rows.iter().chain(batch.partners).chain(batch.negatives).copied().collect();
        let other = self.tables(side).1;
        let (loss, d_rows, _) = b.bpr_triples(&rows[0], other, &b.index(&triples)?, self.cfg.reg);
        Ok((loss, vec![b.scatter_add_rows(&d_rows, batch.groups)]))
    }

    fn score_user_rows(&self, b: &B, rows: &[B::Tensor]) -> B::Tensor {
        b.matmul(&rows[0], &self.item, false, true, None, crate::Act::Identity)
    }

    fn write(&mut self, b: &B, side: Side, count: usize, idx: &[u32], rows: &[B::Tensor]) -> Result<()> {
        let (table, moments) = match side {
            Side::Users => (&mut self.user, &mut self.adam[..2]),
            Side::Items => (&mut self.item, &mut self.adam[2..]),
        };
        *table = refit::put(b, table, count, idx, &rows[0])?;
        for t in moments {
            *t = refit::grow(b, t, count);
        }
        Ok(())
    }
}
