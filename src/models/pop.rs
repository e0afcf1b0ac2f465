//! Most popular — the non-personalised baseline every recommender paper
//! reports: each item scored by its number of training interactions, the
//! same ranking for every user (ties by lower item index in the top-K).
//!
//! score:  ŷ(u, i) = |{v : X_vi = 1}|   (the training popularity of item i)
//!
//! No training steps: the counts are a column sum of the training matrix,
//! done on the host once when the model is built (O(nnz)); scoring a batch
//! of n users is one rank-1 matmul 1_n · popᵀ. The model file holds the
//! counts.

use crate::backend::{Act, Backend, Indexed, Shaped};
use crate::data::sequence::Sequences;
use crate::error::{Error, Result};
use crate::model_file::{ModelFile, NamedTensor};
use crate::models::contract::{
    download, upload, Batch, BatchKind, Family, Info, Layout, Model, Schedule, Scorer, Task, TrainSet,
};

/// The most-popular family (`pop`).
pub struct PopFamily;

/// Most popular has no hyper-parameters.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PopConfig {}

impl Family for PopFamily {
    const INFO: Info = Info {
        name: "pop",
        about: "Most popular: every item scored by its number of training interactions (the non-personalised baseline)",
        task: Task::Ranking,
        batch: BatchKind::ClosedForm,
        schedule: Schedule { epochs: 1, patience: 0, fixed_epochs: 1, batch_size: 1, batch_unit: "closed form" },
        dim_keys: &[],
        lr_key: None,
    };
    type Config = PopConfig;
    type Model<B: Backend> = Pop<B>;

    fn validate(_: &PopConfig) -> Result<()> {
        Ok(())
    }

    fn build<B: Backend>(b: &B, data: &TrainSet, cfg: PopConfig, _seed: u64) -> Result<Pop<B>> {
        let mut counts = vec![0f32; data.n_items()];
        data.interactions.col_idx.iter().for_each(|&i| counts[i as usize] += 1.0);
        Pop::new(b, &counts, cfg)
    }

    fn layout(_: &PopConfig, _n_users: usize, n_items: usize) -> Layout {
        vec![("popularity".into(), vec![1, n_items])]
    }

    fn load<B: Backend>(b: &B, cfg: PopConfig, file: &ModelFile) -> Result<Box<dyn Model<B>>> {
        let t = file.tensor("popularity")?;
        if let Some(bad) = t.data.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
            return Err(Error::Invalid(format!("model file: `popularity` holds {bad}, not a count")));
        }
        Ok(Box::new(Pop { popularity: upload(b, file, "popularity")?, cfg }))
    }
}

/// A most-popular model.
pub struct Pop<B: Backend> {
    /// Training interactions per item `[1, items]`.
    popularity: B::Tensor,
    cfg: PopConfig,
}

impl<B: Backend> Pop<B> {
    /// The model of the per-item interaction `counts`.
    pub fn new(b: &B, counts: &[f32], cfg: PopConfig) -> Result<Self> {
        Ok(Self { popularity: b.tensor(counts, &[1, counts.len()])?, cfg })
    }
}

impl<B: Backend> Scorer<B> for Pop<B> {
    fn score_users(&self, b: &B, users: &B::Index) -> B::Tensor {
        let ones = b.full(&[users.count(), 1], 1.0);
        b.matmul(&ones, &self.popularity, false, false, None, Act::Identity)
    }
}

impl<B: Backend> Model<B> for Pop<B> {
    fn kind(&self) -> &'static str {
        PopFamily::INFO.name
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(&self.cfg).expect("a configuration serialises to JSON")
    }

    fn batch_kind(&self) -> BatchKind {
        BatchKind::ClosedForm
    }

    fn train_step(&mut self, _: &B, _: &Batch<'_>) -> Result<B::Tensor> {
        Err(Error::Invalid("most popular is counted when it is built; it takes no training batches".into()))
    }

    fn parameters(&self) -> Vec<&B::Tensor> {
        vec![&self.popularity]
    }

    fn parameters_mut(&mut self) -> Vec<&mut B::Tensor> {
        vec![&mut self.popularity]
    }

    fn weights(&self, b: &B) -> Result<Vec<NamedTensor>> {
        download(b, &["popularity"], vec![&self.popularity])
    }

    /// Every history gets the same scores, the items' popularity.
    fn score_histories(&self, b: &B, histories: &Sequences) -> Option<Result<B::Tensor>> {
        let items = self.popularity.dims()[1];
        let ones = histories.to_rows(items).map(|rows| b.full(&[rows.rows, 1], 1.0));
        Some(ones.map(|ones| b.matmul(&ones, &self.popularity, false, false, None, Act::Identity)))
    }
}
