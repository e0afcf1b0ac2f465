//! LightFM-style hybrid — M. Kula, "Metadata Embeddings for User and Item
//! Cold-start Recommendations", CBRecSys workshop at RecSys 2015.
//!
//! features:  user u has side features x_u (entries (f, v): `gender=F`,
//!            `occupation=writer`, …), item i has x_i (`genre=Comedy`, …);
//!            S_u = 1 + Σ_f |v_uf| (the 1 is an intercept feature every user has)
//! user:      p_u = e_u + (w⁰_U + Σ_f v_uf w_f) / S_u
//! item:      q_i = e_i + (w⁰_I + Σ_g v_ig w_g) / S_i
//! score:     ŷ(u, i) = p_u · q_i
//! loss:      mean over (u, i, j) of −ln σ(ŷ(u, i) − ŷ(u, j)) + λ/2 (‖p_u‖² + ‖q_i‖² + ‖q_j‖²) / batch
//!
//! e_u, e_i are per-id embeddings (off with `identity = false`: a pure
//! content model), w_f the feature embeddings, w⁰ the intercepts; the
//! feature part is normalised by the row's total weight as LightFM's
//! `normalize` does, so a user known only by features (cold start: e_u
//! absent) has a representation of the same scale as one the model trained.
//! A user or item without any features is its identity plus the intercept.
//!
//! Identity dropout (Volkovs, Yu, Poutanen, "DropoutNet: Addressing Cold
//! Start in Recommender Systems", NeurIPS 2017): during training each
//! user, positive and negative of a triple drops its e independently with
//! probability `identity_dropout` (a counter-based draw, the same on every
//! backend), so the feature part alone must also rank — which is all a cold
//! user or item has. Scoring always uses the whole representation.
//!
//! All of it is one table W = [E_U; E_I; w⁰_U; W_U; w⁰_I; W_I] and a fixed
//! sparse mixing matrix F (`[users + items, rows of W]`, uploaded once): the
//! representations are F · W. A step gathers the batch's 3n rows in one
//! sparse product (`spmm_csr_rows`), computes the loss and the rows'
//! gradients in the fused BPR kernel (`bpr_triples`, the penalty on the
//! representations), sends them back to W with one SpMM by (F[rows])ᵀ
//! (built on the host per batch, O(nnz) by a counting transpose:
//! deterministic, no atomics) and applies one dense Adam: 5 dispatches (the
//! BPR kernel and its mean are two; the gradient rows are joined by a copy).
//! A step uploads O(batch × features per row): the rows, and the backward's
//! CSR; never the table. The intercept row of the backward sums a
//! contribution from every gathered row of its side (a serial chain of n
//! or 2n per output row, in a fixed order).

use crate::backend::{AdamConfig, Backend, Csr, Shaped};
use crate::data::side::FeatureTable;
use crate::error::{Error, Result};
use crate::model_file::{ModelFile, NamedTensor};
use crate::models::contract::{
    download, upload, Batch, BatchKind, Cached, Family, FeatureModel, Info, Layout, Model, Schedule, Scorer, Task,
    TrainSet,
};
use crate::models::refit::Side;
use crate::sparse::CsrHost;
use crate::{init, Act};

/// The LightFM-style hybrid family (`lightfm`).
pub struct LightFmFamily;

impl Family for LightFmFamily {
    const INFO: Info = Info {
        name: "lightfm",
        about: "LightFM hybrid: user/item = id + mean of its feature embeddings, BPR loss (Kula, 2015)",
        task: Task::Ranking,
        batch: BatchKind::Pairs,
        schedule: Schedule { epochs: 300, patience: 10, fixed_epochs: 100, batch_size: 2048, batch_unit: "triples" },
        dim_keys: &["dim"],
        lr_key: Some("lr"),
    };
    const FEATURES: bool = true;
    type Config = LightFmConfig;
    type Model<B: Backend> = LightFm<B>;

    fn validate(cfg: &LightFmConfig) -> Result<()> {
        cfg.check()
    }

    fn build<B: Backend>(b: &B, data: &TrainSet, cfg: LightFmConfig, seed: u64) -> Result<LightFm<B>> {
        let (users, items) = match &data.side {
            Some(s) => (s.features.users.clone(), s.features.items.clone()),
            None => (FeatureTable::empty(), FeatureTable::empty()),
        };
        let user_ids = data.side.as_ref().map(|s| s.user_ids.clone());
        let item_ids = data.side.as_ref().map(|s| s.item_ids.clone());
        let xu = columns(&users, cfg.user_features.as_slice(), "user")?;
        let xi = columns(&items, cfg.item_features.as_slice(), "item")?;
        let fu = aligned(&users, &xu, user_ids.as_ref(), data.n_users());
        let fi = aligned(&items, &xi, item_ids.as_ref(), data.n_items());
        let cfg = LightFmConfig { user_features: xu.names, item_features: xi.names, ..cfg };
        LightFm::new(b, &fu, &fi, cfg, seed)
    }

    fn layout(cfg: &LightFmConfig, n_users: usize, n_items: usize) -> Layout {
        let d = cfg.dim;
        vec![
            ("user".into(), vec![n_users, d]),
            ("item".into(), vec![n_items, d]),
            ("user_feature".into(), vec![1 + cfg.user_features.len(), d]),
            ("item_feature".into(), vec![1 + cfg.item_features.len(), d]),
        ]
    }

    fn load<B: Backend>(b: &B, cfg: LightFmConfig, file: &ModelFile) -> Result<Box<dyn Model<B>>> {
        Ok(Box::new(LightFmServed {
            user: upload(b, file, "user")?,
            item: upload(b, file, "item")?,
            user_feature: upload(b, file, "user_feature")?,
            item_feature: upload(b, file, "item_feature")?,
            cfg,
        }))
    }
}

/// LightFM hyper-parameters. The feature lists are filled in from the data
/// when a model is built (every column its side features have); set them
/// to train on some columns only. A model file keeps them, so that a cold
/// user's features are read by the same names.
///
/// The defaults were chosen on MovieLens 100K validation data (per-user
/// 8:1:1, seed 2024 for the warm users; a different draw of cold users,
/// seed 7, for cold start): λ = 0.01 gave warm validation NDCG@10 0.2490
/// (0.2479 with λ = 0, 0.2486 with 0.001) and cold-user NDCG@10 0.5136
/// (0.5075 with λ = 0). Identity dropout did not help there (0.2: warm
/// 0.2423, cold 0.5070), so it is off by default.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LightFmConfig {
    /// Embedding size.
    pub dim: usize,
    /// Adam learning rate.
    pub lr: f32,
    /// L2 weight λ on the batch's user and item representations.
    pub reg: f32,
    /// Per-user and per-item embeddings on top of the features (false: features only).
    pub identity: bool,
    /// Probability that a training triple's user (or item) leaves its
    /// per-id embedding out, so the features learn to stand alone (cold start).
    pub identity_dropout: f32,
    /// The user feature columns (empty when building: all of the data's).
    pub user_features: Vec<String>,
    /// The item feature columns.
    pub item_features: Vec<String>,
}

impl LightFmConfig {
    /// An error naming the field that cannot build a model.
    pub fn check(&self) -> Result<()> {
        if self.dim == 0 {
            return Err(Error::Invalid("LightFM: dim must be at least 1".into()));
        }
        if !(self.lr.is_finite() && self.lr >= 0.0) {
            return Err(Error::Invalid(format!("LightFM: lr must be finite and ≥ 0, got {}", self.lr)));
        }
        if !(self.reg.is_finite() && self.reg >= 0.0) {
            return Err(Error::Invalid(format!("LightFM: reg must be finite and ≥ 0, got {}", self.reg)));
        }
        if !(0.0..1.0).contains(&self.identity_dropout) {
            return Err(Error::Invalid(format!(
                "LightFM: identity_dropout must be in [0, 1), got {}",
                self.identity_dropout
            )));
        }
        for (what, list) in [("user_features", &self.user_features), ("item_features", &self.item_features)] {
            if let Some((k, f)) = list.iter().enumerate().find(|(k, f)| list[..*k].contains(f)) {
                return Err(Error::Invalid(format!("LightFM: {what} lists {f:?} twice (entries {k} and earlier)")));
            }
        }
        Ok(())
    }

    /// The feature columns of `side`.
    pub fn features(&self, side: Side) -> &[String] {
        match side {
            Side::Users => &self.user_features,
            Side::Items => &self.item_features,
        }
    }
}

impl Default for LightFmConfig {
    fn default() -> Self {
        Self {
            dim: 64,
            lr: 1e-3,
            reg: 0.01,
            identity: true,
            identity_dropout: 0.0,
            user_features: Vec::new(),
            item_features: Vec::new(),
        }
    }
}

/// The columns of a feature table a model uses: their names, and for each
/// column of the table its position among them (`None`: not used).
struct Columns {
    names: Vec<String>,
    position: Vec<Option<u32>>,
}

/// `wanted` columns of `table` (all of them when `wanted` is empty); an
/// error names a wanted column the table lacks.
fn columns(table: &FeatureTable, wanted: &[String], side: &str) -> Result<Columns> {
    if wanted.is_empty() {
        return Ok(Columns { names: table.names.clone(), position: (0..table.cols() as u32).map(Some).collect() });
    }
    let mut position = vec![None; table.cols()];
    for (k, w) in wanted.iter().enumerate() {
        let c = table.names.iter().position(|n| n == w).ok_or_else(|| {
            let have = if table.names.is_empty() { "none".to_string() } else { table.names.join(", ") };
            Error::Invalid(format!("LightFM: the data has no {side} feature {w:?} (it has {have})"))
        })?;
        position[c] = Some(k as u32);
    }
    Ok(Columns { names: wanted.to_vec(), position })
}

/// The table's rows for the ids of `ids` (index by index; `n` empty rows
/// without a map) in the model's columns.
fn aligned(table: &FeatureTable, cols: &Columns, ids: Option<&crate::data::IdMap>, n: usize) -> CsrHost {
    let Some(ids) = ids else { return CsrHost::from_triplets(n, cols.names.len(), &[]) };
    let a = table.aligned(ids);
    let mut trip = Vec::with_capacity(a.nnz());
    for r in 0..a.rows {
        for e in a.row_ptr[r] as usize..a.row_ptr[r + 1] as usize {
            if let Some(c) = cols.position[a.col_idx[e] as usize] {
                trip.push((r as u32, c, a.vals[e]));
            }
        }
    }
    CsrHost::from_triplets(n, cols.names.len(), &trip)
}

/// The feature part of a representation row: the intercept (column
/// `intercept`) and each feature f (column `first + f`) weighted by
/// v / (1 + Σ|v|).
fn mixed(entries: impl Iterator<Item = (u32, f32)> + Clone, intercept: u32, first: u32) -> Vec<(u32, f32)> {
    let s = 1.0 + entries.clone().map(|(_, v)| v.abs()).sum::<f32>();
    std::iter::once((intercept, 1.0 / s)).chain(entries.map(|(f, v)| (first + f, v / s))).collect()
}

/// The entries of row `r` of `m`.
fn entries(m: &CsrHost, r: usize) -> impl Iterator<Item = (u32, f32)> + Clone + '_ {
    (m.row_ptr[r] as usize..m.row_ptr[r + 1] as usize).map(move |e| (m.col_idx[e], m.vals[e]))
}

/// `[rows.len(), d]` representations from features alone: each row of `rows`
/// mixed over `table` (`[1 + columns, d]`, the intercept first).
fn mix_features<B: Backend>(b: &B, table: &B::Tensor, rows: &[Vec<(u32, f32)>]) -> Result<B::Tensor> {
    let cols = table.dims()[0] - 1;
    let mut trip = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        if let Some(&(c, _)) = row.iter().find(|&&(c, _)| c as usize >= cols) {
            return Err(Error::Invalid(format!("feature column {c} is outside the model's {cols} columns")));
        }
        if let Some(&(_, v)) = row.iter().find(|(_, v)| !v.is_finite()) {
            return Err(Error::Invalid(format!("feature value {v} is not finite")));
        }
        trip.extend(mixed(row.iter().copied(), 0, 1).into_iter().map(|(c, v)| (r as u32, c, v)));
    }
    let mix = b.csr(&CsrHost::from_triplets(rows.len(), cols + 1, &trip))?;
    Ok(b.spmm_csr(&mix, table))
}

/// A LightFM model on backend `B`.
pub struct LightFm<B: Backend> {
    /// W `[rows, dim]`: identities (users, items), then the user intercept and features, the item ones.
    w: B::Tensor,
    /// F `[users + items, rows]` on the device.
    mix: Csr<B>,
    /// What a training step gathers from: F, then (with identity dropout)
    /// F's rows again without the identities; on the host for the backward's
    /// (F[rows])ᵀ, and on the device.
    train_host: CsrHost,
    train_mix: Option<Csr<B>>,
    seed: u64,
    /// F · W, computed on first use after W changed.
    reps: Cached<B::Tensor>,
    m: B::Tensor,
    v: B::Tensor,
    step: u32,
    users: usize,
    items: usize,
    cfg: LightFmConfig,
}

impl<B: Backend> LightFm<B> {
    /// A model over `users` (`[n_users, user columns]`) and `items` features,
    /// Xavier-normal embeddings, seeded.
    pub fn new(b: &B, users: &CsrHost, items: &CsrHost, cfg: LightFmConfig, seed: u64) -> Result<Self> {
        cfg.check()?;
        if users.cols != cfg.user_features.len() || items.cols != cfg.item_features.len() {
            return Err(Error::Invalid(format!(
                "LightFM: {} user and {} item feature columns, but the configuration names {} and {}",
                users.cols,
                items.cols,
                cfg.user_features.len(),
                cfg.item_features.len()
            )));
        }
        let (nu, ni) = (users.rows, items.rows);
        let ids = if cfg.identity { nu + ni } else { 0 };
        let (u0, i0) = (ids, ids + 1 + users.cols);
        let rows = i0 + 1 + items.cols;
        // Row r of F, then with dropout row (users + items) + r: the same without its identity.
        let dropout = cfg.identity && cfg.identity_dropout > 0.0;
        let n = nu + ni;
        let mut trip = Vec::new();
        for copy in 0..1 + usize::from(dropout) {
            for r in 0..n {
                let out = (copy * n + r) as u32;
                if cfg.identity && copy == 0 {
                    trip.push((out, r as u32, 1.0));
                }
                let (x, k, first) = if r < nu { (users, r, u0) } else { (items, r - nu, i0) };
                trip.extend(mixed(entries(x, k), first as u32, first as u32 + 1).into_iter().map(|(c, v)| (out, c, v)));
            }
        }
        let train_host = CsrHost::from_triplets(n * (1 + usize::from(dropout)), rows, &trip);
        let mix_host = CsrHost {
            rows: n,
            row_ptr: train_host.row_ptr[..=n].to_vec(),
            col_idx: train_host.col_idx[..train_host.row_ptr[n] as usize].to_vec(),
            vals: train_host.vals[..train_host.row_ptr[n] as usize].to_vec(),
            ..train_host.clone()
        };
        let d = cfg.dim;
        let w = b.tensor(&init::xavier_normal(seed, rows, d), &[rows, d])?;
        let mix = b.csr(&mix_host)?;
        let train_mix = if dropout { Some(b.csr(&train_host)?) } else { None };
        let (m, v) = (b.zeros(&[rows, d]), b.zeros(&[rows, d]));
        let reps = Cached::default();
        Ok(Self { w, mix, train_host, train_mix, seed, reps, m, v, step: 0, users: nu, items: ni, cfg })
    }

    /// The configuration, with the feature columns the model uses.
    pub fn config(&self) -> &LightFmConfig {
        &self.cfg
    }

    /// The table W `[rows, dim]`.
    pub fn table(&self) -> &B::Tensor {
        &self.w
    }

    /// Replaces W (same shape).
    pub fn set_table(&mut self, w: B::Tensor) {
        assert_eq!(w.dims(), self.w.dims(), "LightFm::set_table: shape");
        self.w = w;
        self.reps.clear();
    }

    /// The first row of W of `side`'s intercept and features.
    fn feature_row(&self, side: Side) -> usize {
        let ids = if self.cfg.identity { self.users + self.items } else { 0 };
        match side {
            Side::Users => ids,
            Side::Items => ids + 1 + self.cfg.user_features.len(),
        }
    }

    /// `side`'s intercept and feature embeddings `[1 + columns, dim]`.
    fn feature_table(&self, b: &B, side: Side) -> B::Tensor {
        let n = 1 + self.cfg.features(side).len();
        b.slice_rows(&self.w, self.feature_row(side), n)
    }

    /// Every user's and item's representation F · W `[users + items, dim]`, users first.
    fn representations(&self, b: &B) -> B::Tensor {
        self.reps.get_or_insert_with(|| b.spmm_csr(&self.mix, &self.w))
    }

    /// The rows of the training mix a batch gathers: users, then positives
    /// and negatives offset past the users; with identity dropout a dropped
    /// row reads the identity-free copy.
    fn batch_rows(&self, users: &[u32], pos: &[u32], neg: &[u32]) -> Result<Vec<u32>> {
        let n = users.len();
        if pos.len() != n || neg.len() != n {
            return Err(Error::Invalid(format!("LightFM: {n} users, {} pos, {} neg", pos.len(), neg.len())));
        }
        if users.iter().any(|&u| u as usize >= self.users) || pos.iter().chain(neg).any(|&i| i as usize >= self.items) {
            return Err(Error::Invalid(format!(
                "LightFM: a triple outside {} users × {} items",
                self.users, self.items
            )));
        }
        let off = self.users as u32;
        let mut rows: Vec<u32> =
            users.iter().copied().chain(pos.iter().map(|i| i + off)).chain(neg.iter().map(|j| j + off)).collect();
        if self.train_mix.is_some() {
            let draw = crate::rng::Stream::new(crate::rng::derive_seed(self.seed, u64::from(self.step)));
            let copy = (self.users + self.items) as u32;
            for (k, r) in rows.iter_mut().enumerate() {
                if draw.f32(k as u32) < self.cfg.identity_dropout {
                    *r += copy;
                }
            }
        }
        Ok(rows)
    }

    /// The representations `[3n, dim]` the next training step on this batch
    /// gathers (users, positives, negatives; dropped identities left out).
    pub fn batch_representations(&self, b: &B, users: &[u32], pos: &[u32], neg: &[u32]) -> Result<B::Tensor> {
        let rows = self.batch_rows(users, pos, neg)?;
        Ok(b.spmm_csr_rows(self.train_mix.as_ref().unwrap_or(&self.mix), &b.index(&rows)?, &self.w))
    }

    /// The batch loss and the dense gradient with respect to W.
    pub fn loss_and_grad(&self, b: &B, users: &[u32], pos: &[u32], neg: &[u32]) -> Result<(B::Tensor, B::Tensor)> {
        let rows = self.batch_rows(users, pos, neg)?;
        // (F[rows])ᵀ: row c of W gets v · dX[k] from each gathered row k that mixes it.
        let mut trip = Vec::with_capacity(rows.len() * 4);
        for (k, &r) in rows.iter().enumerate() {
            trip.extend(entries(&self.train_host, r as usize).map(|(c, v)| (k as u32, c, v)));
        }
        let back = b.csr(&CsrHost::from_triplets(rows.len(), self.train_host.cols, &trip).transpose())?;
        let x = b.spmm_csr_rows(self.train_mix.as_ref().unwrap_or(&self.mix), &b.index(&rows)?, &self.w);
        let local: Vec<u32> = (0..rows.len() as u32).collect();
        let (loss, dxu, dxij) = b.bpr_triples(&x, &x, &b.index(&local)?, self.cfg.reg);
        let grad = b.spmm_csr(&back, &b.concat_rows(&dxu, &dxij));
        Ok((loss, grad))
    }
}

impl<B: Backend> Scorer<B> for LightFm<B> {
    fn score_users(&self, b: &B, users: &B::Index) -> B::Tensor {
        let reps = self.representations(b);
        let items = b.slice_rows(&reps, self.users, self.items);
        b.matmul(&b.gather_rows(&reps, users), &items, false, true, None, Act::Identity)
    }
}

impl<B: Backend> Model<B> for LightFm<B> {
    fn kind(&self) -> &'static str {
        LightFmFamily::INFO.name
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(&self.cfg).expect("a configuration serialises to JSON")
    }

    fn batch_kind(&self) -> BatchKind {
        BatchKind::Pairs
    }

    /// The representations (`user`, `item`) and the feature embeddings with
    /// their intercepts first (`user_feature`, `item_feature`).
    fn weights(&self, b: &B) -> Result<Vec<NamedTensor>> {
        let reps = self.representations(b);
        let (user, item) = (b.slice_rows(&reps, 0, self.users), b.slice_rows(&reps, self.users, self.items));
        let (uf, itf) = (self.feature_table(b, Side::Users), self.feature_table(b, Side::Items));
        download(b, &["user", "item", "user_feature", "item_feature"], vec![&user, &item, &uf, &itf])
    }

    fn train_step(&mut self, b: &B, batch: &Batch<'_>) -> Result<B::Tensor> {
        let &Batch::Pairs { users, pos, neg } = batch else {
            return Err(batch.wrong_kind("LightFM", BatchKind::Pairs));
        };
        let (loss, grad) = self.loss_and_grad(b, users, pos, neg)?;
        self.step += 1;
        let adam = AdamConfig { lr: self.cfg.lr, ..Default::default() };
        b.adam(&mut self.w, &grad, &mut self.m, &mut self.v, &adam, self.step);
        self.reps.clear();
        Ok(loss)
    }

    fn parameters(&self) -> Vec<&B::Tensor> {
        vec![&self.w]
    }

    fn parameters_mut(&mut self) -> Vec<&mut B::Tensor> {
        self.reps.clear();
        vec![&mut self.w]
    }

    fn item_vectors(&self, b: &B) -> Option<B::Tensor> {
        Some(FeatureModel::vectors(self, b, Side::Items))
    }

    fn features(&self) -> Option<&dyn FeatureModel<B>> {
        Some(self)
    }
}

impl<B: Backend> FeatureModel<B> for LightFm<B> {
    fn feature_names(&self, side: Side) -> &[String] {
        self.cfg.features(side)
    }

    fn represent(&self, b: &B, side: Side, rows: &[Vec<(u32, f32)>]) -> Result<B::Tensor> {
        mix_features(b, &self.feature_table(b, side), rows)
    }

    fn vectors(&self, b: &B, side: Side) -> B::Tensor {
        let reps = self.representations(b);
        match side {
            Side::Users => b.slice_rows(&reps, 0, self.users),
            Side::Items => b.slice_rows(&reps, self.users, self.items),
        }
    }
}

/// A LightFM model loaded from a file: the representations of the users and
/// items it was trained on, and the feature embeddings for cold start. It
/// scores and saves; training needs the features of every user and item,
/// which the file does not hold.
pub struct LightFmServed<B: Backend> {
    user: B::Tensor,
    item: B::Tensor,
    user_feature: B::Tensor,
    item_feature: B::Tensor,
    cfg: LightFmConfig,
}

impl<B: Backend> Scorer<B> for LightFmServed<B> {
    fn score_users(&self, b: &B, users: &B::Index) -> B::Tensor {
        b.matmul(&b.gather_rows(&self.user, users), &self.item, false, true, None, Act::Identity)
    }
}

impl<B: Backend> Model<B> for LightFmServed<B> {
    fn kind(&self) -> &'static str {
        LightFmFamily::INFO.name
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(&self.cfg).expect("a configuration serialises to JSON")
    }

    fn batch_kind(&self) -> BatchKind {
        BatchKind::Pairs
    }

    fn train_step(&mut self, _: &B, _: &Batch<'_>) -> Result<B::Tensor> {
        Err(Error::Invalid(
            "a lightfm model loaded from a file serves only: its file holds the representations, not every user's and item's features; train a new one"
                .into(),
        ))
    }

    fn parameters(&self) -> Vec<&B::Tensor> {
        vec![&self.user, &self.item, &self.user_feature, &self.item_feature]
    }

    fn parameters_mut(&mut self) -> Vec<&mut B::Tensor> {
        vec![&mut self.user, &mut self.item, &mut self.user_feature, &mut self.item_feature]
    }

    fn weights(&self, b: &B) -> Result<Vec<NamedTensor>> {
        download(b, &["user", "item", "user_feature", "item_feature"], self.parameters())
    }

    fn item_vectors(&self, _b: &B) -> Option<B::Tensor> {
        Some(self.item.clone())
    }

    fn features(&self) -> Option<&dyn FeatureModel<B>> {
        Some(self)
    }
}

impl<B: Backend> FeatureModel<B> for LightFmServed<B> {
    fn feature_names(&self, side: Side) -> &[String] {
        self.cfg.features(side)
    }

    fn represent(&self, b: &B, side: Side, rows: &[Vec<(u32, f32)>]) -> Result<B::Tensor> {
        let table = match side {
            Side::Users => &self.user_feature,
            Side::Items => &self.item_feature,
        };
        mix_features(b, table, rows)
    }

    fn vectors(&self, _b: &B, side: Side) -> B::Tensor {
        match side {
            Side::Users => self.user.clone(),
            Side::Items => self.item.clone(),
        }
    }
}
