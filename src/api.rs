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
use crate::eval::Scorer;
use crate::model_file::ModelFile;
use crate::models::{BprConfig, BprMf, DotScorer, LightGcn, LightGcnConfig};
use crate::sparse::CsrHost;
use crate::train::{fit_pairwise, FitConfig, Silent};
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
}

impl ModelKind {
    fn name(self) -> &'static str {
        match self {
            ModelKind::Bpr => "bpr",
            ModelKind::LightGcn => "lightgcn",
        }
    }
}

/// Settings for [`Recommender::builder`].
#[derive(Clone, Debug)]
pub struct RecommenderBuilder {
    kind: ModelKind,
    dim: usize,
    lr: f32,
    epochs: usize,
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
    /// Embedding size (default 64).
    pub fn dim(mut self, dim: usize) -> Self {
        self.dim = dim;
        self
    }
    /// Adam learning rate (default 0.005).
    pub fn lr(mut self, lr: f32) -> Self {
        self.lr = lr;
        self
    }
    /// Training epochs (default 30).
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }
    /// Triples per step (default 2048).
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

    /// Trains on every interaction in `data` (all count as implicit feedback).
    pub fn fit(self, data: &Interactions) -> Result<Recommender> {
        if data.is_empty() {
            return Err(Error::Invalid("no interactions to fit".into()));
        }
        let seen = data.user_item_csr(&(0..data.len()).collect::<Vec<_>>());
        let fit = FitConfig {
            epochs: self.epochs,
            batch_size: self.batch_size,
            patience: 0,
            seed: self.seed,
            ..Default::default()
        };
        let ids = (data.user_ids.clone(), data.item_ids.clone());
        let engine: Box<dyn Engine> = match resolve(&self.device) {
            Resolved::Cpu => Box::new(self.train(Cpu, &seen, &fit, ids)?),
            Resolved::Gpu(g) => Box::new(self.train(g, &seen, &fit, ids)?),
        };
        Ok(Recommender { engine })
    }

    fn train<B: Backend>(&self, b: B, seen: &CsrHost, fit: &FitConfig, ids: (IdMap, IdMap)) -> Result<Served<B>> {
        let (scorer, config) = match self.kind {
            ModelKind::Bpr => {
                let cfg = BprConfig { dim: self.dim, lr: self.lr, reg: 0.0 };
                let mut m = BprMf::new(&b, seen.rows, seen.cols, cfg.clone(), self.seed)?;
                fit_pairwise(&b, &mut m, seen, None, fit, &mut Silent)?;
                (m.export(), serde_json::to_value(cfg).expect("config serialises"))
            }
            ModelKind::LightGcn => {
                let cfg = LightGcnConfig { dim: self.dim, lr: self.lr, ..Default::default() };
                let mut m = LightGcn::new(&b, seen, cfg.clone(), self.seed)?;
                fit_pairwise(&b, &mut m, seen, None, fit, &mut Silent)?;
                (m.export(&b), serde_json::to_value(cfg).expect("config serialises"))
            }
        };
        Ok(Served { b, scorer, seen: seen.clone(), user_ids: ids.0, item_ids: ids.1, kind: self.kind.name(), config })
    }
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
            dim: 64,
            lr: 5e-3,
            epochs: 30,
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
    scorer: DotScorer<B>,
    seen: CsrHost,
    user_ids: IdMap,
    item_ids: IdMap,
    kind: &'static str,
    config: serde_json::Value,
}

impl<B: Backend> Served<B> {
    fn from_file(b: B, file: ModelFile) -> Result<Self> {
        let kind = match file.kind.as_str() {
            "bpr" => "bpr",
            "lightgcn" => "lightgcn",
            other => {
                return Err(Error::Invalid(format!("model kind {other:?} cannot be served by this version")));
            }
        };
        let scorer = DotScorer::from_file(&b, &file)?;
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
        Ok(Self { b, scorer, seen, user_ids: file.user_ids, item_ids: file.item_ids, kind, config: file.config })
    }
}

impl<B: Backend> Engine for Served<B> {
    fn recommend(&self, users: &[&str], k: usize) -> Result<Vec<Vec<(String, f32)>>> {
        if k == 0 || k > crate::gpu::TOPK_MAX {
            return Err(Error::Invalid(format!("k = {k} outside 1..={}", crate::gpu::TOPK_MAX)));
        }
        let mut idx = Vec::with_capacity(users.len());
        for u in users {
            idx.push(self.user_ids.get(u).ok_or_else(|| Error::Invalid(format!("unknown user {u:?}")))?);
        }
        let trip: Vec<(u32, u32, f32)> = idx
            .iter()
            .enumerate()
            .flat_map(|(r, &u)| self.seen.row(u as usize).iter().map(move |&i| (r as u32, i, 1.0)))
            .collect();
        let mask = CsrHost::from_triplets(idx.len(), self.item_ids.len(), &trip);
        let scores = self.scorer.score_users(&self.b, &self.b.index(&idx)?);
        let (cols, vals) = self.b.topk_masked(&scores, k, Some(&self.b.pattern(&mask)?));
        let (cols, vals) = (self.b.read_index(&cols)?, self.b.read(&vals)?);
        Ok((0..idx.len())
            .map(|r| {
                (0..k)
                    .filter(|&q| cols[r * k + q] != u32::MAX)
                    .map(|q| (self.item_ids.id(cols[r * k + q]).to_string(), vals[r * k + q]))
                    .collect()
            })
            .collect())
    }

    fn to_file(&self) -> Result<ModelFile> {
        let seen: Vec<(u32, u32)> =
            (0..self.seen.rows).flat_map(|u| self.seen.row(u).iter().map(move |&i| (u as u32, i))).collect();
        let info = serde_json::json!({ "seen": seen, "source": "gpurec::api" });
        self.scorer.to_file(&self.b, self.kind, self.config.clone(), info, &self.user_ids, &self.item_ids)
    }

    fn describe(&self) -> String {
        self.b.describe()
    }
}
