//! Serving models whose score is a dot product, ŷ(u, i) = e_u · e_i — BPR-MF,
//! and LightGCN once its embeddings are propagated — and their model files.

use crate::backend::{Act, Backend, Shaped};
use crate::data::IdMap;
use crate::error::Result;
use crate::eval::Scorer;
use crate::model_file::{ModelFile, NamedTensor};

/// Final user and item embeddings; scores are their dot products.
pub struct DotScorer<B: Backend> {
    /// `[users, d]`.
    pub user: B::Tensor,
    /// `[items, d]`.
    pub item: B::Tensor,
}

impl<B: Backend> Scorer<B> for DotScorer<B> {
    fn score_users(&self, b: &B, users: &B::Index) -> B::Tensor {
        b.matmul(&b.gather_rows(&self.user, users), &self.item, false, true, None, Act::Identity)
    }
}

impl<B: Backend> DotScorer<B> {
    /// A model file holding the embeddings as tensors `user` and `item`.
    pub fn to_file(
        &self,
        b: &B,
        kind: &str,
        config: serde_json::Value,
        info: serde_json::Value,
        user_ids: &IdMap,
        item_ids: &IdMap,
    ) -> Result<ModelFile> {
        let tensor = |name: &str, t: &B::Tensor| -> Result<NamedTensor> {
            Ok(NamedTensor::new(name, t.dims().to_vec(), b.read(t)?))
        };
        Ok(ModelFile {
            kind: kind.into(),
            config,
            info,
            user_ids: user_ids.clone(),
            item_ids: item_ids.clone(),
            tensors: vec![tensor("user", &self.user)?, tensor("item", &self.item)?],
            ..Default::default()
        })
    }

    /// Uploads the embeddings of a model file (checking they match its id maps).
    pub fn from_file(b: &B, file: &ModelFile) -> Result<Self> {
        let u = file.check_rows("user", &file.user_ids)?;
        let i = file.check_rows("item", &file.item_ids)?;
        Ok(Self { user: b.tensor(&u.data, &u.shape)?, item: b.tensor(&i.data, &i.shape)? })
    }
}
