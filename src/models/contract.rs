//! The model contract: what a model family declares and what a trained model
//! honours, so that the training loop ([`crate::train::fit`]), the evaluators
//! ([`crate::eval`]), model files, the CLI and the API never name a model.
//!
//! A family ([`Family`]) declares its name and one-line description, its task
//! (ranking or rating prediction), its batch kind, its default schedule, its
//! configuration type (serde, with defaults and a validation that names the
//! wrong field), how to build a model from a training set, the names and
//! shapes of the tensors its model file holds, and how to serve a model from
//! those tensors. A trained model ([`Model`]) records a training step on a
//! batch of its kind, scores users against all items, optionally predicts
//! ratings, and lists its parameters (kept and restored on the device by the
//! training loop) and its weights as named tensors (what a model file holds).
//!
//! The registry (`models::registry`) lists the families; adding one is a new
//! file implementing [`Family`] plus one line there.

use crate::backend::{Act, Backend, BinaryOp, Reduce, Shaped, UnaryOp};
use crate::data::sequence::{Sequences, WindowKind, WindowSpec};
use std::sync::Arc;

use crate::data::side::SideFeatures;
use crate::data::{IdMap, Interactions, Ratings};
use crate::error::{Error, Result};
use crate::model_file::{ModelFile, NamedTensor};
use crate::models::refit::{Refit, Side};
use crate::sparse::CsrHost;

/// A model that scores every item for a batch of users.
pub trait Scorer<B: Backend> {
    /// `[users.len(), n_items]` scores, higher is better.
    fn score_users(&self, backend: &B, users: &B::Index) -> B::Tensor;
}

/// A model that predicts a rating for (user, item) pairs.
pub trait RatingModel<B: Backend> {
    /// `[users.len()]` raw (unclipped) predictions for the pairs `(users[k], items[k])`,
    /// recorded without reading anything back. The model uploads the indices
    /// itself (O(pairs)), in whatever row layout its tables use.
    fn predict(&self, backend: &B, users: &[u32], items: &[u32]) -> Result<B::Tensor>;
}

/// What a family is trained to do, and so how it is evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Task {
    /// Top-K ranking of items per user (full-ranking NDCG, Recall, …).
    Ranking,
    /// Rating prediction (RMSE, MAE); it also ranks by predicted rating.
    Rating,
}

/// The batches a family trains on; the training loop makes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum BatchKind {
    /// (user, positive item, sampled negative item) triples, the negative
    /// uniform over items the user has no training interaction with.
    Pairs,
    /// (user, item, rating) samples.
    Points,
    /// Users, a shuffled chunk of those with at least one training
    /// interaction (drawn as the model's [`Model::user_draw`] says); the
    /// model reads their training rows itself (autoencoders over a user's
    /// whole interaction row).
    UserRows,
    /// Items, a shuffled chunk of those with at least one training
    /// interaction; the model reads their training columns itself (item-based
    /// autoencoders over an item's ratings by every user).
    ItemRows,
    /// Windows of consecutive items of one user's time-ordered training
    /// sequence, each item predicted from those before it in the window
    /// (next-item models; see [`crate::data::sequence`]).
    Sequences,
    /// No batches: the model is fitted in closed form when it is built.
    ClosedForm,
}

/// How the users of an epoch of [`BatchKind::UserRows`] batches are drawn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserDraw {
    /// Each user with a training interaction once per epoch, shuffled.
    #[default]
    Distinct,
    /// One user row per training interaction, shuffled (RecBole's
    /// interaction data loader feeding an autoencoder): a user with n
    /// training interactions appears n times per epoch, possibly several
    /// times in one batch, and an epoch has nnz rows.
    PerInteraction,
}

/// One training batch, borrowed from the loop's sampler.
#[derive(Clone, Copy, Debug)]
pub enum Batch<'a> {
    /// Triples `(users[k], pos[k], neg[k])`.
    Pairs {
        /// Users.
        users: &'a [u32],
        /// Their training items.
        pos: &'a [u32],
        /// Sampled items they have not interacted with.
        neg: &'a [u32],
    },
    /// Samples `(users[k], items[k], targets[k])`.
    Points {
        /// Users.
        users: &'a [u32],
        /// Items.
        items: &'a [u32],
        /// Ratings.
        targets: &'a [f32],
    },
    /// Users whose training rows the model reconstructs.
    Users {
        /// Users with at least one training interaction: distinct, or
        /// repeating under [`UserDraw::PerInteraction`].
        users: &'a [u32],
    },
    /// Items whose training columns the model reconstructs.
    Items {
        /// Distinct items, each with at least one training interaction.
        items: &'a [u32],
    },
    /// `users.len()` windows of width `len`, row-major `[users.len(), len]`,
    /// left-padded with [`crate::data::sequence::PAD`] in both `inputs`
    /// and `targets`: `targets[r, t]` follows `inputs[r, t]` in user
    /// `users[r]`'s sequence, and every non-padded target is predicted from
    /// the inputs up to and including column t.
    Sequences {
        /// The window's user.
        users: &'a [u32],
        /// Input items.
        inputs: &'a [u32],
        /// The next item after each input.
        targets: &'a [u32],
        /// The window width.
        len: usize,
    },
}

impl Batch<'_> {
    /// An error saying that `model` trains on `want` batches, not this one.
    pub fn wrong_kind(&self, model: &str, want: BatchKind) -> Error {
        let got = match self {
            Batch::Pairs { .. } => BatchKind::Pairs,
            Batch::Points { .. } => BatchKind::Points,
            Batch::Users { .. } => BatchKind::UserRows,
            Batch::Items { .. } => BatchKind::ItemRows,
            Batch::Sequences { .. } => BatchKind::Sequences,
        };
        Error::Invalid(format!("{model} trains on {want:?} batches, not {got:?}"))
    }
}

/// A training set as every batch kind needs it: the users × items
/// interaction matrix (values 1) and the same interactions as ratings.
#[derive(Clone, Debug)]
pub struct TrainSet {
    /// Users × items, one stored 1 per (user, item) with a training interaction.
    pub interactions: CsrHost,
    /// The training interactions as (user, item, rating), in data order.
    pub ratings: Ratings,
    /// The training items of each user in time order (timestamp, then data order).
    pub sequences: Sequences,
    /// User and item features with the id maps to align them to (feature-aware models).
    pub side: Option<SideSet>,
}

/// A training set's side features and the id maps its users and items are indexed by.
#[derive(Clone, Debug)]
pub struct SideSet {
    /// The features, keyed by id.
    pub features: Arc<SideFeatures>,
    /// The training set's user ids, index by index.
    pub user_ids: IdMap,
    /// The training set's item ids.
    pub item_ids: IdMap,
}

impl SideSet {
    /// The user features aligned to the training set's users (`n_users × columns`).
    pub fn users(&self) -> CsrHost {
        self.features.users.aligned(&self.user_ids)
    }

    /// The item features aligned to the training set's items.
    pub fn items(&self) -> CsrHost {
        self.features.items.aligned(&self.item_ids)
    }
}

impl TrainSet {
    /// The interactions at `rows` of `data`.
    pub fn from_rows(data: &Interactions, rows: &[usize]) -> Self {
        Self {
            interactions: data.user_item_csr(rows),
            ratings: Ratings::from_rows(data, rows),
            sequences: Sequences::from_rows(data, rows),
            side: data.side.as_ref().map(|f| SideSet {
                features: f.clone(),
                user_ids: data.user_ids.clone(),
                item_ids: data.item_ids.clone(),
            }),
        }
    }

    /// Every interaction of `data`.
    pub fn all(data: &Interactions) -> Self {
        Self::from_rows(data, &(0..data.len()).collect::<Vec<_>>())
    }

    /// Implicit feedback only: every stored entry of `interactions` (users ×
    /// items) is one interaction with rating 1 (the sequences in column order).
    pub fn from_csr(interactions: &CsrHost) -> Self {
        let mut ratings = Ratings::default();
        for u in 0..interactions.rows {
            for &i in interactions.row(u) {
                ratings.users.push(u as u32);
                ratings.items.push(i);
                ratings.ratings.push(1.0);
            }
        }
        let mut interactions = interactions.clone();
        interactions.vals.iter_mut().for_each(|v| *v = 1.0);
        let sequences = in_order(interactions.rows, &ratings);
        Self { interactions, ratings, sequences, side: None }
    }

    /// Ratings for training on, over the `users × items` of `interactions`
    /// (for rating models trained on a subset of rows, e.g. a CV fold; the
    /// sequences in the order of `ratings`).
    pub fn from_ratings(n_users: usize, n_items: usize, ratings: Ratings) -> Self {
        let trip: Vec<(u32, u32, f32)> = ratings.users.iter().zip(&ratings.items).map(|(&u, &i)| (u, i, 1.0)).collect();
        let mut interactions = CsrHost::from_triplets(n_users, n_items, &trip);
        interactions.vals.iter_mut().for_each(|v| *v = 1.0);
        let sequences = in_order(n_users, &ratings);
        Self { interactions, ratings, sequences, side: None }
    }

    /// The same set with side features `features` for the users and items of the maps
    /// (index by index, as the set's rows and columns).
    pub fn with_side(mut self, features: Arc<SideFeatures>, user_ids: IdMap, item_ids: IdMap) -> Self {
        self.side = Some(SideSet { features, user_ids, item_ids });
        self
    }

    /// Number of users.
    pub fn n_users(&self) -> usize {
        self.interactions.rows
    }

    /// Number of items.
    pub fn n_items(&self) -> usize {
        self.interactions.cols
    }
}

/// Each user's items of `ratings`, in the order `ratings` lists them.
fn in_order(n_users: usize, ratings: &Ratings) -> Sequences {
    let mut lists = vec![Vec::new(); n_users];
    for (&u, &i) in ratings.users.iter().zip(&ratings.items) {
        lists[u as usize].push(i);
    }
    Sequences::from_lists(&lists)
}

/// A family's default training schedule, used wherever a flag or a builder
/// setting does not say otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Schedule {
    /// Most epochs when early stopping is on.
    pub epochs: usize,
    /// Early-stopping patience on the validation metric (0: none).
    pub patience: usize,
    /// Epochs when there is no early stopping (no validation set, or patience 0).
    pub fixed_epochs: usize,
    /// Batch size, counted in [`Schedule::batch_unit`].
    pub batch_size: usize,
    /// What one unit of the batch size is, e.g. "triples".
    pub batch_unit: &'static str,
}

/// What a family is, for the registry, `--help`, `gpurec bench` and the README.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct Info {
    /// The name used by `--model`, the API and model files' `kind`, e.g. "bpr".
    pub name: &'static str,
    /// One line: the model and its paper.
    pub about: &'static str,
    /// Ranking or rating prediction.
    pub task: Task,
    /// The batches it trains on.
    pub batch: BatchKind,
    /// Its default schedule.
    pub schedule: Schedule,
    /// The configuration keys `--dim` sets (none: the family has no embedding size).
    pub dim_keys: &'static [&'static str],
    /// The configuration key `--lr` sets (none: nothing is learned by gradient).
    pub lr_key: Option<&'static str>,
}

/// A value a model computes on first use from its weights (propagated graph
/// embeddings, the users' sequence representations) and drops when they
/// change. It sits behind a lock so models stay `Send + Sync`: an
/// application can train on one thread and serve from another.
#[derive(Debug)]
pub struct Cached<T>(std::sync::Mutex<Option<T>>);

impl<T> Default for Cached<T> {
    fn default() -> Self {
        Self(std::sync::Mutex::new(None))
    }
}

impl<T: Clone> Cached<T> {
    /// The value, computed by `f` if there is none.
    pub fn get_or_insert_with(&self, f: impl FnOnce() -> T) -> T {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert_with(f).clone()
    }

    /// Drops the value (the weights changed).
    pub fn clear(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// A trained (or loaded) model on backend `B`.
pub trait Model<B: Backend>: Scorer<B> + Send + Sync {
    /// The family name, as in model files (`kind`).
    fn kind(&self) -> &'static str;
    /// The configuration, as it is saved in model files.
    fn config(&self) -> serde_json::Value;
    /// The batches [`Model::train_step`] takes.
    fn batch_kind(&self) -> BatchKind;
    /// How the users of [`BatchKind::UserRows`] batches are drawn (ignored
    /// for the other kinds).
    fn user_draw(&self) -> UserDraw {
        UserDraw::Distinct
    }
    /// The windows of [`BatchKind::Sequences`] batches (ignored for the
    /// other kinds).
    fn window(&self) -> WindowSpec {
        WindowSpec { len: 1, kind: WindowKind::Runs }
    }
    /// Records one optimisation step on `batch` (one submission on the GPU);
    /// returns the batch's mean loss as a `[1]` tensor, not read back.
    fn train_step(&mut self, b: &B, batch: &Batch<'_>) -> Result<B::Tensor>;
    /// The trained parameters, for keeping the best weights on the device.
    fn parameters(&self) -> Vec<&B::Tensor>;
    /// The trained parameters, mutable, for restoring the best weights.
    fn parameters_mut(&mut self) -> Vec<&mut B::Tensor>;
    /// Rating prediction, for models trained on explicit ratings.
    fn ratings(&self) -> Option<&dyn RatingModel<B>> {
        None
    }
    /// The weights a model file holds, by name (read back from the device);
    /// [`Family::layout`] names the same tensors with the same shapes.
    fn weights(&self, b: &B) -> Result<Vec<NamedTensor>>;
    /// Replaces the time-ordered histories a next-item model
    /// ([`BatchKind::Sequences`]) scores from, e.g. with the validation
    /// item appended before the test, or a new user's. The other models
    /// score from their training data and refuse.
    fn set_history(&mut self, _b: &B, _history: &Sequences) -> Result<()> {
        Err(Error::Invalid(format!("{} scores from its training data; it takes no history", self.kind())))
    }
    /// Scores every item `[histories.n_users(), n_items]` for each of the
    /// given time-ordered `histories` (users the model may never have seen),
    /// leaving the model as it is; `None` for a model that scores only the
    /// users it was trained on.
    fn score_histories(&self, _b: &B, _histories: &Sequences) -> Option<Result<B::Tensor>> {
        None
    }
    /// One side's rows refitted with the other side fixed ([`Refit`]): how
    /// the embedding models fold in a user they have never seen and take
    /// new interactions without retraining; `None` for the others.
    fn refit(&self) -> Option<&dyn Refit<B>> {
        None
    }
    /// [`Model::refit`], to write refitted rows back.
    fn refit_mut(&mut self) -> Option<&mut dyn Refit<B>> {
        None
    }
    /// Users and items represented by their features, for those the model
    /// never saw (cold start); `None` for a model without feature embeddings.
    fn features(&self) -> Option<&dyn FeatureModel<B>> {
        None
    }
    /// The items' learned representation `[items, d]`, one row per item,
    /// compared by cosine for item–item similarity; `None` for a model
    /// without one (most popular).
    fn item_vectors(&self, _b: &B) -> Option<B::Tensor> {
        None
    }
    /// How similar each of `items` is to every item `[items.count(), n_items]`
    /// — "similar items", and the weight of a user's item in explaining a
    /// recommendation: the cosine of [`Model::item_vectors`] rows by
    /// default; item–item models (EASE, ItemKNN) give their own weights,
    /// `W[j, i]` for item i, the part a user's item j adds to i's score.
    fn item_similarity(&self, b: &B, items: &B::Index) -> Option<B::Tensor> {
        let v = self.item_vectors(b)?;
        let n = v.dims()[0];
        let norm = b.unary(UnaryOp::Sqrt, &b.reduce_rows(&b.unary(UnaryOp::Square, &v), Reduce::Sum));
        let unit = b.binary(BinaryOp::Div, &v, &b.reshape(&b.scale(&norm, 1.0, 1e-12), &[n, 1]));
        Some(b.matmul(&b.gather_rows(&unit, items), &unit, false, true, None, Act::Identity))
    }
}

/// A model whose users and items are dot-product representations that can
/// also be made from side features alone (LightFM): how it recommends for a
/// user it has never seen, known by features such as `gender=F`, and scores
/// an item that had no interactions when it was trained.
pub trait FeatureModel<B: Backend> {
    /// The feature columns of `side`, in column order.
    fn feature_names(&self, side: Side) -> &[String];
    /// The representations `[rows.len(), d]` of users (or items) known only
    /// by their features: each row lists (column, value) entries.
    fn represent(&self, b: &B, side: Side, rows: &[Vec<(u32, f32)>]) -> Result<B::Tensor>;
    /// The representations `[n, d]` of the model's own users (or items); a
    /// score is the dot product of a user's and an item's.
    fn vectors(&self, b: &B, side: Side) -> B::Tensor;
}

/// A model family: everything the registry needs to build, train, save and
/// serve its models without naming them anywhere else.
pub trait Family: 'static {
    /// Name, description, task, batch kind and default schedule.
    const INFO: Info;
    /// Whether its models represent users and items from side features
    /// ([`Model::features`] is `Some`), so protocols that need them can
    /// refuse a family before training it.
    const FEATURES: bool = false;
    /// Hyper-parameters. Deserialised from JSON with the defaults filling
    /// what is absent; unknown fields are refused by name.
    type Config: serde::Serialize + serde::de::DeserializeOwned + Default + Clone + std::fmt::Debug;
    /// The trained model on a backend.
    type Model<B: Backend>: Model<B>;
    /// An error naming the field when `cfg` cannot build a model.
    fn validate(cfg: &Self::Config) -> Result<()>;
    /// A fresh model for `data` (closed-form families fit here), seeded.
    fn build<B: Backend>(b: &B, data: &TrainSet, cfg: Self::Config, seed: u64) -> Result<Self::Model<B>>;
    /// The names and shapes of the tensors a model file of a `cfg` model
    /// over `n_users × n_items` holds, as [`Model::weights`] writes them.
    fn layout(cfg: &Self::Config, n_users: usize, n_items: usize) -> Layout;
    /// The model `file` holds, ready to serve. The registry has already
    /// validated `cfg` and checked every tensor's shape against
    /// [`Family::layout`].
    fn load<B: Backend>(b: &B, cfg: Self::Config, file: &ModelFile) -> Result<Box<dyn Model<B>>>;
}

/// The names and shapes of a model's weights, in the order of its parameter list.
pub type Layout = Vec<(String, Vec<usize>)>;

/// Reads `params` back from the device as the named tensors of `layout`
/// (same order, same shapes).
pub fn download_layout<B: Backend>(b: &B, layout: &Layout, params: Vec<&B::Tensor>) -> Result<Vec<NamedTensor>> {
    use crate::backend::Shaped;
    assert_eq!(layout.len(), params.len(), "download_layout: layout vs parameters");
    layout
        .iter()
        .zip(params)
        .map(|((name, shape), t)| {
            assert_eq!(t.dims(), shape.as_slice(), "download_layout: `{name}`");
            Ok(NamedTensor::new(name.clone(), shape.clone(), b.read(t)?))
        })
        .collect()
}

/// Uploads the tensors of `layout` from a layout-checked `file` into `params` (same order).
pub fn upload_layout<B: Backend>(b: &B, file: &ModelFile, layout: &Layout, params: Vec<&mut B::Tensor>) -> Result<()> {
    assert_eq!(layout.len(), params.len(), "upload_layout: layout vs parameters");
    for ((name, shape), p) in layout.iter().zip(params) {
        *p = b.tensor(&file.tensor(name)?.data, shape)?;
    }
    Ok(())
}

/// Reads `params` back from the device as the named tensors of `names`
/// (same order): the usual [`Model::weights`] of a model whose file holds
/// exactly its parameters.
pub fn download<B: Backend>(b: &B, names: &[&str], params: Vec<&B::Tensor>) -> Result<Vec<NamedTensor>> {
    use crate::backend::Shaped;
    assert_eq!(names.len(), params.len(), "download: names vs parameters");
    names.iter().zip(params).map(|(name, t)| Ok(NamedTensor::new(*name, t.dims().to_vec(), b.read(t)?))).collect()
}

/// Uploads the tensor `name` of a layout-checked `file`.
pub fn upload<B: Backend>(b: &B, file: &ModelFile, name: &str) -> Result<B::Tensor> {
    let t = file.tensor(name)?;
    b.tensor(&t.data, &t.shape)
}
