//! Serving models whose score is a dot product, ŷ(u, i) = e_u · e_i —
//! LightGCN once its embeddings are propagated — loaded from a model file.

use crate::backend::{Act, Backend, Shaped};
use crate::error::{Error, Result};
use crate::model_file::NamedTensor;
use crate::models::contract::{download, Batch, BatchKind, Model, Scorer};

/// Final user and item embeddings; scores are their dot products.
pub struct DotScorer<B: Backend> {
    /// `[users, d]`.
    pub user: B::Tensor,
    /// `[items, d]`.
    pub item: B::Tensor,
    /// The family that produced them, as in model files.
    pub kind: &'static str,
    /// Its configuration (kept for the model file).
    pub config: serde_json::Value,
}

impl<B: Backend> Scorer<B> for DotScorer<B> {
    fn score_users(&self, b: &B, users: &B::Index) -> B::Tensor {
        b.matmul(&b.gather_rows(&self.user, users), &self.item, false, true, None, Act::Identity)
    }
}

/// A served model: it scores and saves, but has nothing left to train (the
/// graph its embeddings were propagated over is not in the file).
impl<B: Backend> Model<B> for DotScorer<B> {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn config(&self) -> serde_json::Value {
        self.config.clone()
    }

    fn batch_kind(&self) -> BatchKind {
        BatchKind::Pairs
    }

    fn train_step(&mut self, _: &B, _: &Batch<'_>) -> Result<B::Tensor> {
        Err(Error::Invalid(format!(
            "a {} model loaded from a file serves only: its file holds the final embeddings, not the training graph",
            self.kind
        )))
    }

    fn parameters(&self) -> Vec<&B::Tensor> {
        vec![&self.user, &self.item]
    }

    fn parameters_mut(&mut self) -> Vec<&mut B::Tensor> {
        vec![&mut self.user, &mut self.item]
    }

    fn weights(&self, b: &B) -> Result<Vec<NamedTensor>> {
        debug_assert_eq!(self.user.dims()[1], self.item.dims()[1]);
        download(b, &["user", "item"], self.parameters())
    }

    fn item_vectors(&self, _b: &B) -> Option<B::Tensor> {
        Some(self.item.clone())
    }
}
