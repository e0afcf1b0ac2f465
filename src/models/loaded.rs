//! A saved model of any kind, loaded for serving: the one place that maps a
//! model file's `kind` to the model that scores it, and the helpers that move
//! a model's named weights between the device and a [`ModelFile`].

use crate::backend::{Backend, Shaped};
use crate::data::IdMap;
use crate::error::Result;
use crate::eval::Scorer;
use crate::model_file::{ModelFile, NamedTensor};
use crate::models::{BiasedMf, DotScorer, NeuMf};

/// The model kinds a model file may hold, as written in its `kind` field.
pub const SERVABLE_KINDS: [&str; 4] = ["bpr", "lightgcn", "neumf", "mf"];

/// The names and shapes of a model's weights, in the order of its parameter list.
pub type Layout = Vec<(String, Vec<usize>)>;

/// Reads `params` back from the device as the named tensors of `layout`
/// (same order, same shapes).
pub fn download_weights<B: Backend>(b: &B, layout: &Layout, params: Vec<&B::Tensor>) -> Result<Vec<NamedTensor>> {
    assert_eq!(layout.len(), params.len(), "download_weights: layout vs parameters");
    layout
        .iter()
        .zip(params)
        .map(|((name, shape), t)| {
            assert_eq!(t.dims(), shape.as_slice(), "download_weights: `{name}`");
            Ok(NamedTensor::new(name.clone(), shape.clone(), b.read(t)?))
        })
        .collect()
}

/// Uploads the tensors of `layout` from `file` into `params` (same order);
/// call [`ModelFile::check_layout`] first, before sizing anything from the
/// file's configuration.
pub fn upload_weights<B: Backend>(b: &B, file: &ModelFile, layout: &Layout, params: Vec<&mut B::Tensor>) -> Result<()> {
    assert_eq!(layout.len(), params.len(), "upload_weights: layout vs parameters");
    for ((name, shape), p) in layout.iter().zip(params) {
        *p = b.tensor(&file.tensor(name)?.data, shape)?;
    }
    Ok(())
}

/// A model read from a model file, ready to rank items.
pub enum Loaded<B: Backend> {
    /// BPR-MF or LightGCN: final user and item embeddings.
    Dot {
        /// `bpr` or `lightgcn`.
        kind: &'static str,
        /// The embeddings.
        scorer: DotScorer<B>,
        /// The configuration it was trained with (kept for the model file).
        config: serde_json::Value,
    },
    /// NeuMF.
    NeuMf(NeuMf<B>),
    /// Biased MF: ranks by predicted rating, and predicts ratings.
    Mf(BiasedMf<B>),
}

impl<B: Backend> Loaded<B> {
    /// Builds the model `file` holds on backend `b`; a clear error for an
    /// unknown kind or weights that do not fit the file's configuration.
    pub fn from_file(b: &B, file: &ModelFile) -> Result<Self> {
        Ok(match file.kind.as_str() {
            "bpr" | "lightgcn" => Loaded::Dot {
                kind: if file.kind == "bpr" { "bpr" } else { "lightgcn" },
                scorer: DotScorer::from_file(b, file)?,
                config: file.config.clone(),
            },
            "neumf" => Loaded::NeuMf(NeuMf::from_file(b, file)?),
            "mf" => Loaded::Mf(BiasedMf::from_file(b, file)?),
            other => {
                return Err(crate::Error::Invalid(format!(
                    "{}model kind {other:?} is not one this version serves ({})",
                    file.path.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default(),
                    SERVABLE_KINDS.join(", ")
                )))
            }
        })
    }

    /// The model kind, as in model files.
    pub fn kind(&self) -> &'static str {
        match self {
            Loaded::Dot { kind, .. } => kind,
            Loaded::NeuMf(_) => "neumf",
            Loaded::Mf(_) => "mf",
        }
    }

    /// A model file of this model with training record `info` and the id maps.
    pub fn to_file(&self, b: &B, info: serde_json::Value, user_ids: &IdMap, item_ids: &IdMap) -> Result<ModelFile> {
        match self {
            Loaded::Dot { kind, scorer, config } => scorer.to_file(b, kind, config.clone(), info, user_ids, item_ids),
            Loaded::NeuMf(m) => m.to_file(b, info, user_ids, item_ids),
            Loaded::Mf(m) => m.to_file(b, info, user_ids, item_ids),
        }
    }

    /// The rating predictor, for models trained on explicit ratings.
    pub fn rating_model(&self) -> Option<&BiasedMf<B>> {
        match self {
            Loaded::Mf(m) => Some(m),
            _ => None,
        }
    }
}

impl<B: Backend> Scorer<B> for Loaded<B> {
    fn score_users(&self, b: &B, users: &B::Index) -> B::Tensor {
        match self {
            Loaded::Dot { scorer, .. } => scorer.score_users(b, users),
            Loaded::NeuMf(m) => m.score_users(b, users),
            Loaded::Mf(m) => m.score_users(b, users),
        }
    }
}
