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
//! let top = rec.recommend("alice", 5)?; // [(item id, score)], items alice has seen excluded
//! rec.save("model.gpurec")?;
//! let again = Recommender::load("model.gpurec", Device::Cpu)?; // same top-K on another backend
//! # Ok::<(), gpurec::Error>(())
//! ```

use std::path::Path;

use crate::backend::Backend;
use crate::data::{IdMap, Interactions};
use crate::error::{Error, Result};
use crate::eval::{top_k_unseen, Ratings};
use crate::model_file::ModelFile;
use crate::models::{BiasedMf, BprConfig, BprMf, LightGcn, LightGcnConfig, Loaded, MfConfig, NeuMf, NeuMfConfig};
use crate::sparse::CsrHost;
use crate::train::{fit_pairwise, fit_pointwise, FitConfig, Silent};
use crate::{Cpu, Gpu};

/// Where a recommender runs.
#[derive(Clone, Debug, Default)]
pub enum Device {
    /// The best GPU adapter, else the CPU backend.
    #[default]
    Auto,
    /// The ndarray CPU backend.
    Cpu,
    /// This GPU context (e.g. `Gpu::from_device` on the host application's device).
    Gpu(Gpu),
}

/// Which model to fit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ModelKind {
    /// BPR matrix factorisation.
    #[default]
    Bpr,
    /// LightGCN.
    LightGcn,
    /// NeuMF (GMF + MLP), trained with sampled negatives.
    NeuMf,
    /// Biased MF on the interactions' ratings (explicit feedback); it
    /// recommends the items with the highest predicted rating.
    Mf,
}

impl ModelKind {
    /// Default (embedding size, learning rate, epochs) per model.
    fn defaults(self) -> (usize, f32, usize) {
        match self {
            ModelKind::Bpr | ModelKind::LightGcn => (64, 5e-3, 30),
            ModelKind::NeuMf => (64, 1e-3, 30),
            ModelKind::Mf => {
                let c = MfConfig::default();
                (c.dim, c.lr, 7)
            }
        }
    }
}

/// Settings for [`Recommender::builder`].
#[derive(Clone, Debug)]
pub struct RecommenderBuilder {
    kind: ModelKind,
    dim: Option<usize>,
    lr: Option<f32>,
    epochs: Option<usize>,
    batch_size: usize,
    seed: u64,
    device: Device,
}

impl RecommenderBuilder {
    /// The model (default BPR-MF).
    pub fn model(mut self, kind: ModelKind) -> Self {
        self.kind = kind;
        self
    }
    /// Embedding size (default 64; 32 factors for MF).
    pub fn dim(mut self, dim: usize) -> Self {
        self.dim = Some(dim);
        self
    }
    /// Adam learning rate (default 0.005 for BPR and LightGCN, 0.001 for NeuMF, 0.01 for MF).
    pub fn lr(mut self, lr: f32) -> Self {
        self.lr = Some(lr);
        self
    }
    /// Training epochs (default 30; 7 for MF).
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = Some(epochs);
        self
    }
    /// Training pairs (or ratings, for MF) per step (default 2048).
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }
    /// Seed of initialisation and sampling (default 2024).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Where to run (default: the best GPU, else the CPU).
    pub fn device(mut self, device: Device) -> Self {
        self.device = device;
        self
    }

    /// Trains on every interaction in `data`: as implicit feedback, or for
    /// [`ModelKind::Mf`] on their ratings.
    pub fn fit(self, data: &Interactions) -> Result<Recommender> {
        if data.is_empty() {
            return Err(Error::Invalid("no interactions to fit".into()));
        }
        let seen = data.user_item_csr(&(0..data.len()).collect::<Vec<_>>());
        let engine: Box<dyn Engine> = match resolve(&self.device) {
            Resolved::Cpu => Box::new(self.train(Cpu, data, seen)?),
            Resolved::Gpu(g) => Box::new(self.train(g, data, seen)?),
        };
        Ok(Recommender { engine })
    }

    fn train<B: Backend>(&self, b: B, data: &Interactions, seen: CsrHost) -> Result<Served<B>> {
        let (dim, lr, epochs) = self.kind.defaults();
        let (dim, lr, epochs) = (self.dim.unwrap_or(dim), self.lr.unwrap_or(lr), self.epochs.unwrap_or(epochs));
        let fit = FitConfig { epochs, batch_size: self.batch_size, patience: 0, seed: self.seed, ..Default::default() };
        let model = match self.kind {
            ModelKind::Bpr => {
                let cfg = BprConfig { dim, lr, reg: 0.0 };
                let mut m = BprMf::new(&b, seen.rows, seen.cols, cfg.clone(), self.seed)?;
                fit_pairwise(&b, &mut m, &seen, None, &fit, &mut Silent)?;
                Loaded::Dot { kind: "bpr", scorer: m.export(), config: config_json(&cfg) }
            }
            ModelKind::LightGcn => {
                let cfg = LightGcnConfig { dim, lr, ..Default::default() };
                let mut m = LightGcn::new(&b, &seen, cfg.clone(), self.seed)?;
                fit_pairwise(&b, &mut m, &seen, None, &fit, &mut Silent)?;
                Loaded::Dot { kind: "lightgcn", scorer: m.export(&b), config: config_json(&cfg) }
            }
            ModelKind::NeuMf => {
                let cfg = NeuMfConfig { mf_dim: dim, mlp_dim: dim, lr, ..Default::default() };
                let mut m = NeuMf::new(&b, seen.rows, seen.cols, cfg, self.seed)?;
                fit_pairwise(&b, &mut m, &seen, None, &fit, &mut Silent)?;
                Loaded::NeuMf(m)
            }
            ModelKind::Mf => {
                let ratings = Ratings::from_rows(data, &(0..data.len()).collect::<Vec<_>>());
                let cfg = MfConfig { dim, lr, ..Default::default() };
                let mut m = BiasedMf::new(&b, seen.rows, seen.cols, &ratings, cfg, self.seed)?;
                fit_pointwise(
                    &b,
                    &mut m,
                    &ratings,
                    None,
                    &FitConfig { metric: ("rmse".into(), 0), ..fit },
                    &mut Silent,
                )?;
                Loaded::Mf(m)
            }
        };
        Ok(Served { b, model, seen, user_ids: data.user_ids.clone(), item_ids: data.item_ids.clone() })
    }
}

fn config_json(cfg: &impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(cfg).expect("a model configuration serialises to JSON")
}

enum Resolved {
    Cpu,
    Gpu(Gpu),
}

fn resolve(device: &Device) -> Resolved {
    match device {
        Device::Cpu => Resolved::Cpu,
        Device::Gpu(g) => Resolved::Gpu(g.clone()),
        Device::Auto => match Gpu::new() {
            Ok(g) => Resolved::Gpu(g),
            Err(_) => Resolved::Cpu,
        },
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
            kind: ModelKind::Bpr,
            dim: None,
            lr: None,
            epochs: None,
            batch_size: 2048,
            seed: 2024,
            device: Device::Auto,
        }
    }

    /// The `k` best items for `user` (original ids, best first), excluding
    /// the items the user interacted with.
    pub fn recommend(&self, user: &str, k: usize) -> Result<Vec<(String, f32)>> {
        Ok(self.recommend_batch(&[user], k)?.remove(0))
    }

    /// [`Recommender::recommend`] for several users in one device pass.
    pub fn recommend_batch(&self, users: &[&str], k: usize) -> Result<Vec<Vec<(String, f32)>>> {
        self.engine.recommend(users, k)
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
        let engine: Box<dyn Engine> = match resolve(&device) {
            Resolved::Cpu => Box::new(Served::from_file(Cpu, file)?),
            Resolved::Gpu(g) => Box::new(Served::from_file(g, file)?),
        };
        Ok(Recommender { engine })
    }
}

/// A recommender on one backend, type-erased behind [`Recommender`].
trait Engine {
    fn recommend(&self, users: &[&str], k: usize) -> Result<Vec<Vec<(String, f32)>>>;
    fn to_file(&self) -> Result<ModelFile>;
    fn describe(&self) -> String;
}

struct Served<B: Backend> {
    b: B,
    model: Loaded<B>,
    seen: CsrHost,
    user_ids: IdMap,
    item_ids: IdMap,
}

impl<B: Backend> Served<B> {
    fn from_file(b: B, file: ModelFile) -> Result<Self> {
        let model = Loaded::from_file(&b, &file)?;
        let seen = match file.info.get("seen") {
            Some(v) => {
                let pairs: Vec<(u32, u32)> = serde_json::from_value(v.clone())
                    .map_err(|e| Error::Invalid(format!("model file's seen items: {e}")))?;
                let (nu, ni) = (file.user_ids.len(), file.item_ids.len());
                if pairs.iter().any(|&(u, i)| u as usize >= nu || i as usize >= ni) {
                    return Err(Error::Invalid("model file's seen items point outside its id maps".into()));
                }
                CsrHost::from_triplets(nu, ni, &pairs.iter().map(|&(u, i)| (u, i, 1.0)).collect::<Vec<_>>())
            }
            None => CsrHost::from_triplets(file.user_ids.len(), file.item_ids.len(), &[]),
        };
        Ok(Self { b, model, seen, user_ids: file.user_ids, item_ids: file.item_ids })
    }
}

impl<B: Backend> Engine for Served<B> {
    fn recommend(&self, users: &[&str], k: usize) -> Result<Vec<Vec<(String, f32)>>> {
        let mut idx = Vec::with_capacity(users.len());
        for u in users {
            idx.push(self.user_ids.get(u).ok_or_else(|| Error::Invalid(format!("unknown user {u:?}")))?);
        }
        let seen: Vec<(u32, u32, f32)> = idx
            .iter()
            .enumerate()
            .flat_map(|(r, &u)| self.seen.row(u as usize).iter().map(move |&i| (r as u32, i, 1.0)))
            .collect();
        let tops = top_k_unseen(&self.b, &self.model, &idx, &seen, self.item_ids.len(), k)?;
        Ok(tops
            .into_iter()
            .map(|top| top.into_iter().map(|(i, s)| (self.item_ids.id(i).to_string(), s)).collect())
            .collect())
    }

    fn to_file(&self) -> Result<ModelFile> {
        let seen: Vec<(u32, u32)> =
            (0..self.seen.rows).flat_map(|u| self.seen.row(u).iter().map(move |&i| (u as u32, i))).collect();
        let info = serde_json::json!({ "seen": seen, "source": "gpurec::api" });
        self.model.to_file(&self.b, info, &self.user_ids, &self.item_ids)
    }

    fn describe(&self) -> String {
        self.b.describe()
    }
}
