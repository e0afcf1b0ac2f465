//! The high-level API for applications: build from interactions held in
//! memory, fit, recommend in the application's own ids, save and load — on a
//! device the application passes in or one gpurec picks.
//!
//! ```no_run
//! use gpurec::api::{Device, ModelKind, Recommender};
//! use gpurec::data::Interactions;
//!
//! let mut data = Interactions::default();
//! data.push("alice", "level-3", 1.0, 0);
//! data.push("bob", "level-7", 1.0, 0);
//! // … more interactions …
//! let rec = Recommender::builder().model(ModelKind::Bpr).epochs(30).device(Device::Auto).fit(&data)?;
//! // any registered family by name, with its own settings:
//! let gcn = Recommender::builder().model_name("lightgcn").set("layers", 3).epochs(30).fit(&data)?;
//! let top = rec.recommend("alice", 5)?; // [(item id, score)], items alice has seen excluded
//! rec.save("model.gpurec")?;
//! let again = Recommender::load("model.gpurec", Device::Cpu)?; // same top-K on another backend
//! # Ok::<(), gpurec::Error>(())
//! ```

use std::path::Path;

use crate::backend::Backend;
use crate::data::{IdMap, Interactions};
pub use crate::device::Device;
use crate::device::OnBackend;
use crate::error::{Error, Result};
use crate::eval::{top_k_filtered, top_k_filtered_async, ItemFilter};
use crate::model_file::ModelFile;
use crate::models::contract::{Model, TrainSet};
use crate::models::refit::{partial_fit, Side};
use crate::models::registry::{self, Overrides};
use crate::sparse::CsrHost;
use crate::train::{fit, EpochReport, FitConfig, Progress};
use crate::Gpu;

/// What a recommendation may hold, in the application's item ids: only
/// the `allow` list's items when it is given, never the `deny` list's, and
/// the user's own items (or a history's) only with `include_seen`. Applied
/// on the device before the top-K, so `k` items come back whenever `k` are
/// allowed; an id the model does not know is refused by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only these items (`None`: any).
    pub allow: Option<Vec<String>>,
    /// Never these items.
    pub deny: Vec<String>,
    /// Recommend items the user already interacted with too.
    pub include_seen: bool,
}

impl Filter {
    /// Never these items.
    pub fn deny<S: AsRef<str>>(items: &[S]) -> Self {
        Self { deny: items.iter().map(|s| s.as_ref().to_string()).collect(), ..Self::default() }
    }

    /// Only these items.
    pub fn allow<S: AsRef<str>>(items: &[S]) -> Self {
        Self { allow: Some(items.iter().map(|s| s.as_ref().to_string()).collect()), ..Self::default() }
    }

    /// The filter in item indices of `ids`.
    fn indices(&self, ids: &IdMap) -> Result<ItemFilter> {
        let index = |list: &[String]| -> Result<Vec<u32>> {
            list.iter()
                .map(|i| ids.get(i).ok_or_else(|| Error::Invalid(format!("filter: unknown item {i:?}"))))
                .collect()
        };
        Ok(ItemFilter {
            allow: self.allow.as_deref().map(index).transpose()?,
            deny: index(&self.deny)?,
            include_seen: self.include_seen,
        })
    }
}

/// Shortcuts for the first families; any registered family is reached by
/// name with [`RecommenderBuilder::model_name`] (see `models::registry`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ModelKind {
    /// BPR matrix factorisation (`bpr`).
    #[default]
    Bpr,
    /// LightGCN (`lightgcn`).
    LightGcn,
    /// NeuMF (GMF + MLP), trained with sampled negatives (`neumf`).
    NeuMf,
    /// Biased MF on the interactions' ratings (explicit feedback); it
    /// recommends the items with the highest predicted rating (`mf`).
    Mf,
}

impl ModelKind {
    /// The registry name.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Bpr => "bpr",
            ModelKind::LightGcn => "lightgcn",
            ModelKind::NeuMf => "neumf",
            ModelKind::Mf => "mf",
        }
    }
}

/// Settings for [`Recommender::builder`]. What is not set comes from the
/// family's defaults in the registry (configuration and schedule).
#[derive(Clone)]
pub struct RecommenderBuilder {
    model: String,
    overrides: Overrides,
    epochs: Option<usize>,
    batch_size: Option<usize>,
    seed: u64,
    device: Device,
    on_epoch: Option<OnEpoch>,
}

/// [`RecommenderBuilder::on_epoch`]'s callback.
type OnEpoch = std::sync::Arc<dyn Fn(&EpochReport) + Send + Sync>;

impl std::fmt::Debug for RecommenderBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecommenderBuilder")
            .field("model", &self.model)
            .field("overrides", &self.overrides)
            .field("epochs", &self.epochs)
            .field("batch_size", &self.batch_size)
            .field("seed", &self.seed)
            .field("device", &self.device)
            .field("on_epoch", &self.on_epoch.as_ref().map(|_| "callback"))
            .finish()
    }
}

/// Calls the builder's callback after each epoch.
struct Callback<'a>(Option<&'a OnEpoch>);

impl Progress for Callback<'_> {
    fn on_epoch(&mut self, report: &EpochReport) {
        if let Some(f) = self.0 {
            f(report);
        }
    }
}

impl RecommenderBuilder {
    /// The model (default BPR-MF).
    pub fn model(mut self, kind: ModelKind) -> Self {
        self.model = kind.name().into();
        self
    }
    /// Any registered model by name, e.g. "lightgcn".
    pub fn model_name(mut self, name: &str) -> Self {
        self.model = name.into();
        self
    }
    /// Embedding size (default: the family's, e.g. 64; 32 factors for MF).
    pub fn dim(mut self, dim: usize) -> Self {
        self.overrides.dim = Some(dim);
        self
    }
    /// Learning rate (default: the family's).
    pub fn lr(mut self, lr: f32) -> Self {
        self.overrides.lr = Some(lr);
        self
    }
    /// Any configuration key of the family, e.g. `set("layers", 3)`.
    pub fn set(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.overrides.set.push((key.into(), value.into()));
        self
    }
    /// Training epochs (default: the family's schedule without early stopping).
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = Some(epochs);
        self
    }
    /// Batch size, in the family's unit (default: the family's).
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = Some(batch_size);
        self
    }
    /// Seed of initialisation and sampling (default 2024).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Where to run (default: a hardware GPU, else the CPU).
    pub fn device(mut self, device: Device) -> Self {
        self.device = device;
        self
    }
    /// Called after each training epoch with its report (the epoch, its
    /// mean loss, its time), on the thread that fits: how an app draws a
    /// live loss curve while it trains in the background. The loss is read
    /// back once per epoch, as the training loop always does; nothing more
    /// is synchronised for it.
    pub fn on_epoch(mut self, f: impl Fn(&EpochReport) + Send + Sync + 'static) -> Self {
        self.on_epoch = Some(std::sync::Arc::new(f));
        self
    }

    /// Trains on every interaction in `data` (as implicit feedback, or for a
    /// rating model on their ratings).
    pub fn fit(self, data: &Interactions) -> Result<Recommender> {
        if data.is_empty() {
            return Err(Error::Invalid("no interactions to fit".into()));
        }
        let (backend, _) = self.device.choose()?;
        Ok(Recommender { engine: backend.run(FitJob { builder: &self, data })? })
    }
}

struct FitJob<'a> {
    builder: &'a RecommenderBuilder,
    data: &'a Interactions,
}

impl OnBackend for FitJob<'_> {
    type Out = Result<Box<dyn Engine>>;

    fn run<B: Backend>(self, b: &B, _: Option<&Gpu>) -> Self::Out {
        let (s, data) = (self.builder, self.data);
        let entry = registry::entry::<B>(&s.model)?;
        let info = entry.info();
        let config = entry.config(&s.overrides)?;
        let set = TrainSet::all(data);
        let mut model = entry.build(b, &set, &config, s.seed)?;
        let cfg = FitConfig {
            epochs: s.epochs.unwrap_or(info.schedule.fixed_epochs),
            batch_size: s.batch_size.unwrap_or(info.schedule.batch_size),
            patience: 0,
            seed: s.seed,
            ..Default::default()
        };
        fit(b, model.as_mut(), &set, None, &cfg, &mut Callback(s.on_epoch.as_ref()))?;
        let events: Vec<(u32, u32, f32)> =
            (0..data.len()).map(|r| (data.users[r], data.items[r], data.ratings[r])).collect();
        Ok(Box::new(Served {
            b: b.clone(),
            model,
            seen: seen_matrix(data.n_users(), data.n_items(), events),
            user_ids: data.user_ids.clone(),
            item_ids: data.item_ids.clone(),
        }))
    }
}

struct LoadJob(ModelFile);

impl OnBackend for LoadJob {
    type Out = Result<Box<dyn Engine>>;

    fn run<B: Backend>(self, b: &B, _: Option<&Gpu>) -> Self::Out {
        Ok(Box::new(Served::from_file(b.clone(), self.0)?))
    }
}

/// A trained recommender, ready to serve.
pub struct Recommender {
    engine: Box<dyn Engine>,
}

impl Recommender {
    /// Settings for fitting a new recommender.
    pub fn builder() -> RecommenderBuilder {
        RecommenderBuilder {
            model: ModelKind::Bpr.name().into(),
            overrides: Overrides::default(),
            epochs: None,
            batch_size: None,
            seed: 2024,
            device: Device::Auto,
            on_epoch: None,
        }
    }

    /// The `k` best items for `user` (original ids, best first), excluding
    /// the items the user interacted with.
    pub fn recommend(&self, user: &str, k: usize) -> Result<Vec<(String, f32)>> {
        Ok(self.recommend_batch(&[user], k)?.remove(0))
    }

    /// [`Recommender::recommend`] for several users in one device pass.
    pub fn recommend_batch(&self, users: &[&str], k: usize) -> Result<Vec<Vec<(String, f32)>>> {
        self.engine.recommend(users, k, &Filter::default())
    }

    /// [`Recommender::recommend_batch`] with a [`Filter`]: allow and deny
    /// lists, and whether the users' own items may come back.
    pub fn recommend_filtered(&self, users: &[&str], k: usize, filter: &Filter) -> Result<Vec<Vec<(String, f32)>>> {
        self.engine.recommend(users, k, filter)
    }

    /// [`Recommender::recommend_batch`] without blocking the calling thread,
    /// for a frame loop: nothing runs until the future is first polled; that
    /// poll records the scoring and the top-K and submits them, and the
    /// future is ready once the device has finished, polling the device and
    /// never waiting on it. Poll it once per frame (e.g.
    /// `futures::FutureExt::poll_unpin` with any waker) or await it on any
    /// executor. On the CPU backend the work is done in the first poll.
    pub fn recommend_async<'a>(
        &'a self,
        users: &'a [&'a str],
        k: usize,
    ) -> impl std::future::Future<Output = Result<Vec<Vec<(String, f32)>>>> + 'a {
        self.engine.recommend_async(users, k, Filter::default())
    }

    /// [`Recommender::recommend_async`] with a [`Filter`].
    pub fn recommend_filtered_async<'a>(
        &'a self,
        users: &'a [&'a str],
        k: usize,
        filter: &Filter,
    ) -> impl std::future::Future<Output = Result<Vec<Vec<(String, f32)>>>> + 'a {
        self.engine.recommend_async(users, k, filter.clone())
    }

    /// The `k` best items to follow `history` (original item ids, oldest
    /// first), for a user the model may never have seen, without retraining
    /// and without changing the model; the history's items are excluded.
    /// Models that read a user's items score a history by construction:
    /// the next-item models (`lstm`, `gru4rec`, `caser`, `sasrec`) as a
    /// sequence, the autoencoders (`multdae`, `multvae`, `cdae`, the latter
    /// with no user embedding) and the item–item models (`ease`, `itemknn`)
    /// as the set of its items, `pop` ignoring it. The embedding models
    /// (`bpr`, `neumf`) fold it in: a new user row fitted on the device
    /// against their fixed items ([`crate::models::refit`]); biased MF
    /// needs ratings ([`Recommender::recommend_for_rated_history`]). An
    /// item the model does not know is refused by id.
    pub fn recommend_for_history(&self, history: &[&str], k: usize) -> Result<Vec<(String, f32)>> {
        self.engine.recommend_for_history(history, None, k, &Filter::default())
    }

    /// [`Recommender::recommend_for_history`] from rated items (original
    /// id, rating): what biased MF folds in; the other models use the items.
    pub fn recommend_for_rated_history(&self, history: &[(&str, f32)], k: usize) -> Result<Vec<(String, f32)>> {
        let (items, ratings): (Vec<&str>, Vec<f32>) = history.iter().copied().unzip();
        self.engine.recommend_for_history(&items, Some(&ratings), k, &Filter::default())
    }

    /// [`Recommender::recommend_for_history`] with a [`Filter`].
    pub fn recommend_for_history_filtered(
        &self,
        history: &[&str],
        k: usize,
        filter: &Filter,
    ) -> Result<Vec<(String, f32)>> {
        self.engine.recommend_for_history(history, None, k, filter)
    }

    /// The `k` items for a new user known only by `features` (names as the
    /// model's user feature columns call them, e.g. `gender=F`, `age=25-34`,
    /// `occupation=writer`; `NAME:VALUE` to weight one), from the features
    /// alone — cold start, for models with feature embeddings (`lightfm`,
    /// trained on data with side features). An unknown name is refused,
    /// with the names the model knows.
    pub fn recommend_for_features(&self, features: &[&str], k: usize, filter: &Filter) -> Result<Vec<(String, f32)>> {
        self.engine.recommend_for_features(features, k, filter)
    }

    /// The user feature names the model takes (`lightfm`: its user feature
    /// columns, e.g. `gender=F`); empty for a model without feature embeddings.
    pub fn user_features(&self) -> Vec<String> {
        self.engine.user_features()
    }

    /// The `k` items most similar to `item` (original ids, best first, with
    /// their similarity), never `item` itself, as `filter` allows: by the
    /// model's item representation (cosine), or EASE's and ItemKNN's own
    /// item–item weights; most popular has none and refuses.
    pub fn similar(&self, item: &str, k: usize, filter: &Filter) -> Result<Vec<(String, f32)>> {
        self.engine.similar(item, k, filter)
    }

    /// Why `item` suits `user`: up to `k` of the user's own items (original
    /// ids, with their weight), the most similar to `item` first.
    pub fn explain(&self, user: &str, item: &str, k: usize) -> Result<Vec<(String, f32)>> {
        self.engine.explain(user, item, k)
    }

    /// Brings the users in `events` (user id, item id, value) up to date
    /// without retraining: each one's rows are refitted on the device to
    /// *all* their interactions, those the model already had and these,
    /// with the items fixed ([`crate::models::refit`]); a user the model has
    /// never seen gets new rows and can be recommended for at once. The
    /// value is the rating biased MF fits; the implicit models use presence
    /// only. The events join the users' seen items (a repeated pair keeps its
    /// latest value). Every item must be known (add new items with
    /// [`Recommender::partial_fit_items`]). For the embedding models (`bpr`,
    /// `mf`, `neumf`); the others refuse, by name.
    pub fn partial_fit_users(&mut self, events: &[(&str, &str, f32)]) -> Result<()> {
        self.engine.partial_fit(Side::Users, events)
    }

    /// [`Recommender::partial_fit_users`] for items: each item in `events`
    /// is refitted to all its users with the users fixed, a new item gets
    /// new rows (and can be recommended and compared at once); every user
    /// must be known.
    pub fn partial_fit_items(&mut self, events: &[(&str, &str, f32)]) -> Result<()> {
        self.engine.partial_fit(Side::Items, events)
    }

    /// Where it runs.
    pub fn describe(&self) -> String {
        self.engine.describe()
    }

    /// Writes a model file (atomically).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        self.engine.to_file()?.save(path)
    }

    /// Reads a model file written by [`Recommender::save`] onto `device`.
    pub fn load(path: impl AsRef<Path>, device: Device) -> Result<Recommender> {
        let file = ModelFile::load(path)?;
        let (backend, _) = device.choose()?;
        Ok(Recommender { engine: backend.run(LoadJob(file))? })
    }
}

/// A recommendation query in model indices: the users, their seen items as
/// mask entries (row, item, 1) and the filter.
type Query = (Vec<u32>, Vec<(u32, u32, f32)>, ItemFilter);

/// A future of ranked lists, one per user.
type Lists<'a> = futures::future::LocalBoxFuture<'a, Result<Vec<Vec<(String, f32)>>>>;

/// A recommender on one backend, type-erased behind [`Recommender`].
trait Engine: Send + Sync {
    fn recommend(&self, users: &[&str], k: usize, filter: &Filter) -> Result<Vec<Vec<(String, f32)>>>;
    fn recommend_async<'a>(&'a self, users: &'a [&'a str], k: usize, filter: Filter) -> Lists<'a>;
    fn recommend_for_history(
        &self,
        history: &[&str],
        ratings: Option<&[f32]>,
        k: usize,
        filter: &Filter,
    ) -> Result<Vec<(String, f32)>>;
    fn recommend_for_features(&self, features: &[&str], k: usize, filter: &Filter) -> Result<Vec<(String, f32)>>;
    fn user_features(&self) -> Vec<String>;
    fn similar(&self, item: &str, k: usize, filter: &Filter) -> Result<Vec<(String, f32)>>;
    fn explain(&self, user: &str, item: &str, k: usize) -> Result<Vec<(String, f32)>>;
    fn partial_fit(&mut self, side: Side, events: &[(&str, &str, f32)]) -> Result<()>;
    fn to_file(&self) -> Result<ModelFile>;
    fn describe(&self) -> String;
}

/// The users × items matrix of `events` (user, item, value), a repeated
/// pair keeping its last value.
fn seen_matrix(n_users: usize, n_items: usize, mut events: Vec<(u32, u32, f32)>) -> CsrHost {
    // Stable sort: the last of equal pairs is the latest.
    events.sort_by_key(|&(u, i, _)| (u, i));
    let mut last: Vec<(u32, u32, f32)> = Vec::with_capacity(events.len());
    for e in events {
        match last.last_mut() {
            Some(l) if (l.0, l.1) == (e.0, e.1) => *l = e,
            _ => last.push(e),
        }
    }
    CsrHost::from_triplets(n_users, n_items, &last)
}

struct Served<B: Backend> {
    b: B,
    model: Box<dyn Model<B>>,
    seen: CsrHost,
    user_ids: IdMap,
    item_ids: IdMap,
}

impl<B: Backend> Served<B> {
    fn from_file(b: B, file: ModelFile) -> Result<Self> {
        let model = registry::load(&b, &file)?;
        let (nu, ni) = (file.user_ids.len(), file.item_ids.len());
        let seen = match file.info.get("seen") {
            Some(v) => {
                // [user, item] pairs (value 1), or [user, item, value] triples.
                let rows: Vec<Vec<f64>> = serde_json::from_value(v.clone())
                    .map_err(|e| Error::Invalid(format!("model file's seen items: {e}")))?;
                let mut events = Vec::with_capacity(rows.len());
                for r in &rows {
                    let (u, i, value) = match r[..] {
                        [u, i] => (u, i, 1.0),
                        [u, i, value] => (u, i, value),
                        _ => return Err(Error::Invalid("model file's seen items: not [user, item(, value)]".into())),
                    };
                    if !(u >= 0.0 && (u as usize) < nu && i >= 0.0 && (i as usize) < ni && value.is_finite()) {
                        return Err(Error::Invalid("model file's seen items point outside its id maps".into()));
                    }
                    events.push((u as u32, i as u32, value as f32));
                }
                seen_matrix(nu, ni, events)
            }
            None => CsrHost::from_triplets(nu, ni, &[]),
        };
        Ok(Self { b, model, seen, user_ids: file.user_ids, item_ids: file.item_ids })
    }
}

impl<B: Backend> Served<B> {
    /// The model's index of item `id`, or an error naming it.
    fn item(&self, id: &str) -> Result<u32> {
        self.item_ids.get(id).ok_or_else(|| Error::Invalid(format!("unknown item {id:?}")))
    }

    /// (index, value) pairs in original item ids.
    fn named(&self, top: Vec<(u32, f32)>) -> Vec<(String, f32)> {
        top.into_iter().map(|(i, s)| (self.item_ids.id(i).to_string(), s)).collect()
    }

    /// `users`' indices, their seen items as mask entries (row, item), and
    /// `filter` in item indices; an error naming an unknown id.
    fn query(&self, users: &[&str], filter: &Filter) -> Result<Query> {
        let mut idx = Vec::with_capacity(users.len());
        for u in users {
            idx.push(self.user_ids.get(u).ok_or_else(|| Error::Invalid(format!("unknown user {u:?}")))?);
        }
        let seen: Vec<(u32, u32, f32)> = idx
            .iter()
            .enumerate()
            .flat_map(|(r, &u)| self.seen.row(u as usize).iter().map(move |&i| (r as u32, i, 1.0)))
            .collect();
        Ok((idx, seen, filter.indices(&self.item_ids)?))
    }
}

impl<B: Backend> Engine for Served<B> {
    fn recommend(&self, users: &[&str], k: usize, filter: &Filter) -> Result<Vec<Vec<(String, f32)>>> {
        let (idx, seen, filter) = self.query(users, filter)?;
        let tops = top_k_filtered(&self.b, self.model.as_ref(), &idx, &seen, &filter, self.item_ids.len(), k)?;
        Ok(tops.into_iter().map(|top| self.named(top)).collect())
    }

    fn recommend_async<'a>(&'a self, users: &'a [&'a str], k: usize, filter: Filter) -> Lists<'a> {
        Box::pin(async move {
            let (idx, seen, filter) = self.query(users, &filter)?;
            let n = self.item_ids.len();
            let tops = top_k_filtered_async(&self.b, self.model.as_ref(), &idx, &seen, &filter, n, k).await?;
            Ok(tops.into_iter().map(|top| self.named(top)).collect())
        })
    }

    fn recommend_for_history(
        &self,
        history: &[&str],
        ratings: Option<&[f32]>,
        k: usize,
        filter: &Filter,
    ) -> Result<Vec<(String, f32)>> {
        let mut items = Vec::with_capacity(history.len());
        for i in history {
            items.push(self.item(i)?);
        }
        let filter = filter.indices(&self.item_ids)?;
        let n = self.item_ids.len();
        let top = crate::eval::top_k_for_history(&self.b, self.model.as_ref(), &items, ratings, &filter, n, k)?;
        Ok(top.into_iter().map(|(i, s)| (self.item_ids.id(i).to_string(), s)).collect())
    }

    fn recommend_for_features(&self, features: &[&str], k: usize, filter: &Filter) -> Result<Vec<(String, f32)>> {
        let fm = self.model.features().ok_or_else(|| {
            Error::Invalid(format!(
                "a {} model has no feature embeddings; it cannot recommend from features (lightfm can)",
                self.model.kind()
            ))
        })?;
        let x = crate::data::side::resolve_features(fm.feature_names(Side::Users), features)?;
        let filter = filter.indices(&self.item_ids)?;
        let top = crate::eval::top_k_for_features(&self.b, self.model.as_ref(), &x, &filter, self.item_ids.len(), k)?;
        Ok(self.named(top))
    }

    fn user_features(&self) -> Vec<String> {
        self.model.features().map(|f| f.feature_names(Side::Users).to_vec()).unwrap_or_default()
    }

    fn similar(&self, item: &str, k: usize, filter: &Filter) -> Result<Vec<(String, f32)>> {
        let i = self.item(item)?;
        let filter = filter.indices(&self.item_ids)?;
        let top = crate::eval::similar_items(&self.b, self.model.as_ref(), &[i], &filter, self.item_ids.len(), k)?;
        Ok(self.named(top.into_iter().next().unwrap_or_default()))
    }

    fn explain(&self, user: &str, item: &str, k: usize) -> Result<Vec<(String, f32)>> {
        let u = self.user_ids.get(user).ok_or_else(|| Error::Invalid(format!("unknown user {user:?}")))?;
        let i = self.item(item)?;
        let history = self.seen.row(u as usize);
        Ok(self.named(crate::eval::explain(&self.b, self.model.as_ref(), history, i, self.item_ids.len(), k)?))
    }

    fn partial_fit(&mut self, side: Side, events: &[(&str, &str, f32)]) -> Result<()> {
        let kind = self.model.kind();
        if self.model.refit().is_none() {
            return Err(Error::Invalid(format!(
                "{kind} has no per-user and per-item rows to refresh (bpr, mf and neumf do); retrain it, or use recommend_for_history"
            )));
        }
        if let Some((u, i, v)) = events.iter().find(|e| !e.2.is_finite()) {
            return Err(Error::Invalid(format!("the event ({u:?}, {i:?}) has a value that is not finite ({v})")));
        }
        // New ids go to copies of the maps, kept only if the refit succeeds.
        let (mut users, mut items) = (self.user_ids.clone(), self.item_ids.clone());
        let mut new = Vec::with_capacity(events.len());
        for &(u, i, v) in events {
            let (u, i) = match side {
                Side::Users => (
                    users.intern(u),
                    items
                        .get(i)
                        .ok_or_else(|| Error::Invalid(format!("unknown item {i:?} (add it with partial_fit_items)")))?,
                ),
                Side::Items => (
                    users
                        .get(u)
                        .ok_or_else(|| Error::Invalid(format!("unknown user {u:?} (add it with partial_fit_users)")))?,
                    items.intern(i),
                ),
            };
            new.push((u, i, v));
        }
        let s = &self.seen;
        let old = (0..s.rows).flat_map(|u| {
            (s.row_ptr[u] as usize..s.row_ptr[u + 1] as usize).map(move |k| (u as u32, s.col_idx[k], s.vals[k]))
        });
        let mut named: Vec<u32> = new.iter().map(|&(u, i, _)| if side == Side::Users { u } else { i }).collect();
        let seen = seen_matrix(users.len(), items.len(), old.chain(new).collect());
        named.sort_unstable();
        named.dedup();
        // Each named row's interactions, all of them, in the other side's indices.
        let lists: Vec<(u32, Vec<(u32, f32)>)> = match side {
            Side::Users => named
                .iter()
                .map(|&u| {
                    let r = seen.row_ptr[u as usize] as usize..seen.row_ptr[u as usize + 1] as usize;
                    (u, r.map(|k| (seen.col_idx[k], seen.vals[k])).collect())
                })
                .collect(),
            Side::Items => {
                let mut by_item: Vec<Vec<(u32, f32)>> = vec![Vec::new(); named.len()];
                for u in 0..seen.rows {
                    for k in seen.row_ptr[u] as usize..seen.row_ptr[u + 1] as usize {
                        if let Ok(at) = named.binary_search(&seen.col_idx[k]) {
                            by_item[at].push((u as u32, seen.vals[k]));
                        }
                    }
                }
                named.iter().copied().zip(by_item).collect()
            }
        };
        let refit = self.model.refit_mut().expect("checked above");
        let cfg = refit.defaults();
        partial_fit(&self.b, refit, side, &lists, &cfg)?;
        // The other side grows too when its map did (never here: its ids must be known).
        (self.user_ids, self.item_ids, self.seen) = (users, items, seen);
        Ok(())
    }

    fn to_file(&self) -> Result<ModelFile> {
        let s = &self.seen;
        let valued = s.vals.iter().any(|&v| v != 1.0);
        let seen: Vec<serde_json::Value> = (0..s.rows)
            .flat_map(|u| (s.row_ptr[u] as usize..s.row_ptr[u + 1] as usize).map(move |k| (u, k)))
            .map(|(u, k)| match valued {
                true => serde_json::json!([u, s.col_idx[k], s.vals[k]]),
                false => serde_json::json!([u, s.col_idx[k]]),
            })
            .collect();
        let info = serde_json::json!({ "seen": seen, "source": "gpurec::api" });
        registry::to_file(&self.b, self.model.as_ref(), info, &self.user_ids, &self.item_ids)
    }

    fn describe(&self) -> String {
        self.b.describe()
    }
}
