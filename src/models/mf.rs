//! Biased MF — Y. Koren, R. Bell, C. Volinsky, "Matrix Factorization
//! Techniques for Recommender Systems", IEEE Computer 42(8), 2009.
//!
//! prediction:  r̂(u, i) = μ + b_u + b_i + p_u · q_i
//! loss:        L = 1/n Σ_k [ (r̂(u_k, i_k) − r_k)² + λ (‖p_{u_k}‖² + ‖q_{i_k}‖² + b_{u_k}² + b_{i_k}²) ]
//!                + λ_row/n Σ_{r touched} (n_r / N_r) ‖θ_r‖²
//!
//! over a batch of n ratings (u_k, i_k, r_k), where μ is the mean training
//! rating (fixed), θ_r = (p_r, b_r) is a user's or an item's row, n_r its
//! ratings in the batch and N_r its ratings in the whole training set. Summed
//! over the batches of an epoch (at fixed parameters) this is n⁻¹ times
//!   Σ_(u,i) [(r̂ − r)² + λ (‖p_u‖² + ‖q_i‖² + b_u² + b_i²)] + λ_row Σ_r ‖θ_r‖²:
//! the paper's objective (its eq. 5), whose penalty grows with a row's ratings,
//! plus a per-row penalty (a Gaussian prior on every row, as in Koren's
//! shrunk baseline estimates) that shrinks rarely rated users and items more.
//! With e_k = r̂_k − r_k the gradients are
//!   ∂L/∂p_u = 2/n (Σ_{k: u_k = u} e_k q_{i_k} + w_u p_u),   ∂L/∂b_u = 2/n (Σ_{k: u_k = u} e_k + w_u b_u),
//! and symmetrically for q_i and b_i, with w_r = λ n_r + λ_row n_r / N_r.
//!
//! Users and items share a factor table `[users + items, dim]` and a bias
//! table `[users + items + 1, 1]` whose last row is a constant 1. Both
//! gradients are then one sparse-times-dense product each, G = A · table, with
//! a CSR row per touched table row r: an entry 2e_k/n per rating of r, at the
//! partner row (factors) or at the constant row (biases), then the entry
//! 2w_r/n at r itself, so the error term, the sum over repeated rows and the
//! penalty happen in one deterministic pass. One training step is one
//! submission of 7 dispatches: the fused prediction and squared error of the
//! batch ([`Backend::mf_residuals`]) and its mean, the gather that lays the
//! error gradients out as CSR values, the two products and two lazy-Adam
//! updates of the touched rows.
//!
//! The biases start from Koren's decoupled baseline estimates (see
//! [`baseline_biases`]), which saves the first epochs; the factors of users
//! and items that occur in the training ratings start N(0, σ²). All others
//! start at zero and lazy updates never touch them, so they are predicted from
//! what is known: μ + b_i for an unseen user, μ + b_u for an unseen item, μ
//! for both.

use crate::backend::{Act, AdamConfig, Backend, BinaryOp, Csr, Indexed, Pattern, Shaped};
use crate::data::Ratings;
use crate::error::{Error, Result};
use crate::init;
use crate::model_file::{ModelFile, NamedTensor};
use crate::models::contract::{
    download_layout, Batch, BatchKind, Family, Info, Layout, Model, RatingModel, Schedule, Scorer, Task, TrainSet,
};
use crate::models::refit::{self, Refit, RefitBatch, RefitConfig, Side};

/// The biased-MF family (`mf`).
pub struct Mf;

impl Family for Mf {
    const INFO: Info = Info {
        name: "mf",
        about: "biased MF: μ + b_u + b_i + p_u·q_i on explicit ratings, squared error (Koren et al., 2009)",
        task: Task::Rating,
        batch: BatchKind::Points,
        // Tuned on validation slices of ML-100K's training folds: patience 2
        // and up to 50 epochs, or 7 epochs without early stopping.
        schedule: Schedule { epochs: 50, patience: 2, fixed_epochs: 7, batch_size: 4096, batch_unit: "ratings" },
        dim_keys: &["dim"],
        lr_key: Some("lr"),
    };
    type Config = MfConfig;
    type Model<B: Backend> = BiasedMf<B>;

    fn validate(cfg: &MfConfig) -> Result<()> {
        cfg.check()
    }

    fn build<B: Backend>(b: &B, data: &TrainSet, cfg: MfConfig, seed: u64) -> Result<BiasedMf<B>> {
        BiasedMf::new(b, data.n_users(), data.n_items(), &data.ratings, cfg, seed)
    }

    fn layout(cfg: &MfConfig, n_users: usize, n_items: usize) -> Layout {
        BiasedMf::<crate::Cpu>::layout(cfg, n_users, n_items)
    }

    fn load<B: Backend>(b: &B, cfg: MfConfig, file: &ModelFile) -> Result<Box<dyn Model<B>>> {
        Ok(Box::new(BiasedMf::from_file(b, cfg, file)?))
    }
}

/// Biased-MF hyper-parameters. The defaults were chosen on validation slices
/// of MovieLens 100K training folds (with 4096 ratings per step, 7 epochs).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MfConfig {
    /// Number of latent factors.
    pub dim: usize,
    /// Adam learning rate.
    pub lr: f32,
    /// λ: L2 weight on the factors and biases of every rating's user and item.
    pub reg: f32,
    /// λ_row: L2 weight on every user's and item's row, once per epoch.
    pub reg_row: f32,
    /// Standard deviation σ of the initial factors.
    pub init_std: f32,
}

impl MfConfig {
    /// An error naming the field that cannot build a model.
    pub fn check(&self) -> Result<()> {
        if self.dim == 0 {
            return Err(Error::Invalid("MF: dim must be at least 1".into()));
        }
        for (name, v) in [("lr", self.lr), ("reg", self.reg), ("reg_row", self.reg_row), ("init_std", self.init_std)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::Invalid(format!("MF: {name} must be finite and ≥ 0, got {v}")));
            }
        }
        Ok(())
    }
}

impl Default for MfConfig {
    fn default() -> Self {
        Self { dim: 32, lr: 0.01, reg: 0.05, reg_row: 5.0, init_std: 0.01 }
    }
}

/// A biased matrix-factorisation model on backend `B`.
pub struct BiasedMf<B: Backend> {
    /// Factors `[users + items, dim]`: users' p_u, then items' q_i.
    pub factors: B::Tensor,
    /// Biases `[users + items + 1, 1]`: users' b_u, then items' b_i, then a
    /// constant 1 (never updated) that the bias gradient product reads.
    pub biases: B::Tensor,
    adam: [B::Tensor; 4],
    mean: f32,
    n_users: usize,
    n_items: usize,
    step: u32,
    cfg: MfConfig,
    /// Per table row: λ_row / N_r (0 for rows without training ratings).
    row_weight: Vec<f32>,
    /// Per table row: ratings in the current batch (0 outside a step).
    count: Vec<u32>,
    /// Per table row: next free entry of its CSR row while a step is built.
    next: Vec<u32>,
}

impl<B: Backend> BiasedMf<B> {
    /// A model for `n_users × n_items` trained on `train`: μ is its mean
    /// rating, the biases its baseline estimates, the factors of the users and
    /// items that occur in it N(0, init_std²) (seeded), all other factors 0.
    pub fn new(b: &B, n_users: usize, n_items: usize, train: &Ratings, cfg: MfConfig, seed: u64) -> Result<Self> {
        cfg.check()?;
        let d = cfg.dim;
        let rows = n_users + n_items;
        let mut total = vec![0u32; rows];
        for (&u, &i) in train.users.iter().zip(&train.items) {
            if u as usize >= n_users || i as usize >= n_items {
                return Err(Error::Invalid(format!("rating of ({u}, {i}) outside {n_users} users × {n_items} items")));
            }
            total[u as usize] += 1;
            total[n_users + i as usize] += 1;
        }
        let mut factors = init::normal(seed, rows * d, cfg.init_std);
        for (row, &n) in factors.chunks_mut(d).zip(&total) {
            if n == 0 {
                row.fill(0.0);
            }
        }
        let mean = train.mean();
        let biases = baseline_biases(train, n_users, n_items, mean);
        let row_weight = total.iter().map(|&n| if n == 0 { 0.0 } else { cfg.reg_row / n as f32 }).collect();
        Ok(Self {
            factors: b.tensor(&factors, &[rows, d])?,
            biases: b.tensor(&biases, &[rows + 1, 1])?,
            adam: [b.zeros(&[rows, d]), b.zeros(&[rows, d]), b.zeros(&[rows + 1, 1]), b.zeros(&[rows + 1, 1])],
            mean,
            n_users,
            n_items,
            step: 0,
            cfg,
            row_weight,
            count: vec![0; rows],
            next: vec![0; rows],
        })
    }

    /// The configuration.
    pub fn config(&self) -> &MfConfig {
        &self.cfg
    }

    /// The global mean μ.
    pub fn global_mean(&self) -> f32 {
        self.mean
    }

    /// Number of users.
    pub fn n_users(&self) -> usize {
        self.n_users
    }

    /// Number of items.
    pub fn n_items(&self) -> usize {
        self.n_items
    }

    /// Reads the biases back: `(b_u per user, b_i per item)`.
    pub fn read_biases(&self, b: &B) -> Result<(Vec<f32>, Vec<f32>)> {
        let mut t = b.read(&self.biases)?;
        t.truncate(self.n_users + self.n_items);
        let items = t.split_off(self.n_users);
        Ok((t, items))
    }

    /// Reads the factors back: `(p [users · dim], q [items · dim])`, row-major.
    pub fn read_factors(&self, b: &B) -> Result<(Vec<f32>, Vec<f32>)> {
        let mut t = b.read(&self.factors)?;
        let items = t.split_off(self.n_users * self.cfg.dim);
        Ok((t, items))
    }

    /// Rejects pairs outside the model (an out-of-range user would read an item row).
    fn check(&self, users: &[u32], items: &[u32]) -> Result<()> {
        if users.len() != items.len() {
            return Err(Error::Invalid(format!("{} users for {} items", users.len(), items.len())));
        }
        let bad_user = users.iter().find(|&&u| u as usize >= self.n_users);
        let bad_item = items.iter().find(|&&i| i as usize >= self.n_items);
        if bad_user.is_some() || bad_item.is_some() {
            return Err(Error::Invalid(format!(
                "user {bad_user:?} / item {bad_item:?} outside {} users × {} items",
                self.n_users, self.n_items
            )));
        }
        Ok(())
    }

    /// `r̂ − μ = b_u + b_i + p_u · q_i` for the table rows of a batch.
    fn forward(&self, b: &B, user_rows: &[u32], item_rows: &[u32]) -> Result<B::Tensor> {
        let n = user_rows.len();
        let (u, i) = (b.index(user_rows)?, b.index(item_rows)?);
        let dot = b.dot_rows(&b.gather_rows(&self.factors, &u), &b.gather_rows(&self.factors, &i));
        let bu = b.reshape(&b.gather_rows(&self.biases, &u), &[n]);
        let bi = b.reshape(&b.gather_rows(&self.biases, &i), &[n]);
        Ok(b.binary(BinaryOp::Add, &b.binary(BinaryOp::Add, &dot, &bu), &bi))
    }

    /// The table rows of `items`.
    fn item_rows(&self, items: &[u32]) -> Vec<u32> {
        items.iter().map(|&i| self.n_users as u32 + i).collect()
    }
}

impl<B: Backend> BiasedMf<B> {
    /// The names and shapes of the weights of a `cfg` model over `n_users × n_items`:
    /// the two tables and μ.
    pub fn layout(cfg: &MfConfig, n_users: usize, n_items: usize) -> Layout {
        let rows = n_users + n_items;
        vec![
            ("factors".into(), vec![rows, cfg.dim]),
            ("biases".into(), vec![rows + 1, 1]),
            ("global_mean".into(), vec![1]),
        ]
    }

    /// The model an `mf` model file holds, on `b`, ready to predict and rank
    /// (training it further starts a fresh optimizer without the row penalties).
    /// The file's layout has been checked against `cfg` by the registry.
    fn from_file(b: &B, cfg: MfConfig, file: &ModelFile) -> Result<Self> {
        let (n_users, n_items) = (file.user_ids.len(), file.item_ids.len());
        let rows = n_users + n_items;
        let upload = |name: &str| b.tensor(&file.tensor(name)?.data, file.tensor(name)?.shape.as_slice());
        Ok(Self {
            factors: upload("factors")?,
            biases: upload("biases")?,
            adam: [
                b.zeros(&[rows, cfg.dim]),
                b.zeros(&[rows, cfg.dim]),
                b.zeros(&[rows + 1, 1]),
                b.zeros(&[rows + 1, 1]),
            ],
            mean: file.tensor("global_mean")?.data[0],
            n_users,
            n_items,
            step: 0,
            cfg,
            row_weight: vec![0.0; rows],
            count: vec![0; rows],
            next: vec![0; rows],
        })
    }
}

/// Ranks every item by its predicted rating r̂(u, i) = μ + b_u + b_i + p_u · q_i:
/// one matmul with the item biases in its epilogue, plus the user's bias and μ.
impl<B: Backend> Scorer<B> for BiasedMf<B> {
    fn score_users(&self, b: &B, users: &B::Index) -> B::Tensor {
        let n = users.count();
        let q = b.slice_rows(&self.factors, self.n_users, self.n_items);
        let bi = b.reshape(&b.slice_rows(&self.biases, self.n_users, self.n_items), &[self.n_items]);
        let dots = b.matmul(&b.gather_rows(&self.factors, users), &q, false, true, Some(&bi), Act::Identity);
        let bu = b.scale(&b.gather_rows(&self.biases, users), 1.0, self.mean);
        b.binary(BinaryOp::Add, &dots, &b.reshape(&bu, &[n, 1]))
    }
}

/// Koren's decoupled baseline estimates (Y. Koren, "Factorization Meets the
/// Neighborhood", KDD 2008, §2.1), the biases' starting point:
///   b_i = Σ_{u ∈ R(i)} (r_ui − μ) / (25 + |R(i)|),   b_u = Σ_{i ∈ R(u)} (r_ui − μ − b_i) / (10 + |R(u)|).
/// Returns `[users + items + 1]`: users, items, then the constant 1. Rows
/// without ratings get 0.
pub fn baseline_biases(train: &Ratings, n_users: usize, n_items: usize, mean: f32) -> Vec<f32> {
    let rows = n_users + n_items;
    let mut sum = vec![0f64; rows];
    let mut count = vec![0u32; rows];
    for ((&u, &i), &r) in train.users.iter().zip(&train.items).zip(&train.ratings) {
        let i = n_users + i as usize;
        sum[i] += (r - mean) as f64;
        count[i] += 1;
        count[u as usize] += 1;
    }
    let mut b = vec![0f32; rows + 1];
    for i in n_users..rows {
        b[i] = (sum[i] / (25.0 + count[i] as f64)) as f32;
    }
    for ((&u, &i), &r) in train.users.iter().zip(&train.items).zip(&train.ratings) {
        sum[u as usize] += (r - mean - b[n_users + i as usize]) as f64;
    }
    for u in 0..n_users {
        b[u] = (sum[u] / (10.0 + count[u] as f64)) as f32;
    }
    b[rows] = 1.0;
    b
}

/// The host side of one step: two CSR matrices over the touched table rows
/// sharing `row_ptr` and values. Row r holds one entry per rating of r, at
/// the partner row (factors) or at the constant bias row (biases), then one
/// entry at r itself; `perm` says which element of
/// `[loss gradients (n); penalty weights (touched rows)]` each value is.
struct StepPlan {
    /// Touched table rows, ascending.
    rows: Vec<u32>,
    /// Ratings of each touched row in the batch.
    count: Vec<u32>,
    row_ptr: Vec<u32>,
    factor_cols: Vec<u32>,
    bias_cols: Vec<u32>,
    perm: Vec<u32>,
}

impl StepPlan {
    /// `user_rows[k]` and `item_rows[k]` are the table rows of rating k and
    /// `bias_one` the constant bias row; `count` and `next` are zeroed scratch
    /// of one slot per table row (left zeroed). O(n + t log t) for n ratings
    /// touching t rows.
    fn new(user_rows: &[u32], item_rows: &[u32], bias_one: u32, count: &mut [u32], next: &mut [u32]) -> Self {
        let n = user_rows.len();
        let mut rows = Vec::with_capacity(2 * n);
        for &r in user_rows.iter().chain(item_rows) {
            if count[r as usize] == 0 {
                rows.push(r);
            }
            count[r as usize] += 1;
        }
        rows.sort_unstable();
        let mut row_ptr = Vec::with_capacity(rows.len() + 1);
        let mut counts = Vec::with_capacity(rows.len());
        let mut end = 0u32;
        row_ptr.push(end);
        for &r in &rows {
            let c = count[r as usize];
            next[r as usize] = end;
            end += c + 1;
            row_ptr.push(end);
            counts.push(c);
        }
        let nnz = end as usize;
        let mut factor_cols = vec![0u32; nnz];
        let mut bias_cols = vec![bias_one; nnz];
        let mut perm = vec![0u32; nnz];
        for (k, (&u, &i)) in user_rows.iter().zip(item_rows).enumerate() {
            for (own, partner) in [(u, i), (i, u)] {
                let e = next[own as usize] as usize;
                factor_cols[e] = partner;
                perm[e] = k as u32;
                next[own as usize] += 1;
            }
        }
        for (j, &r) in rows.iter().enumerate() {
            let e = row_ptr[j + 1] as usize - 1;
            factor_cols[e] = r;
            bias_cols[e] = r;
            perm[e] = (n + j) as u32;
            count[r as usize] = 0;
            next[r as usize] = 0;
        }
        Self { rows, count: counts, row_ptr, factor_cols, bias_cols, perm }
    }
}

impl<B: Backend> RatingModel<B> for BiasedMf<B> {
    fn predict(&self, b: &B, users: &[u32], items: &[u32]) -> Result<B::Tensor> {
        self.check(users, items)?;
        Ok(b.scale(&self.forward(b, users, &self.item_rows(items))?, 1.0, self.mean))
    }
}

/// One step's loss and gradients before the update.
struct Gradients<B: Backend> {
    /// Mean squared error of the batch, `[1]`.
    loss: B::Tensor,
    /// Touched table rows, ascending.
    rows: B::Index,
    /// ∂L/∂factors of those rows, `[rows, dim]`.
    factors: B::Tensor,
    /// ∂L/∂biases of those rows, `[rows, 1]`.
    biases: B::Tensor,
}

impl<B: Backend> BiasedMf<B> {
    /// Records the loss and gradients of the batch (see the module docs).
    fn gradients(&mut self, b: &B, users: &[u32], items: &[u32], ratings: &[f32]) -> Result<Gradients<B>> {
        let n = users.len();
        if ratings.len() != n || n == 0 {
            return Err(Error::Invalid(format!("{n} users, {} ratings", ratings.len())));
        }
        self.check(users, items)?;
        let item_rows = self.item_rows(items);
        let target: Vec<f32> = ratings.iter().map(|&r| r - self.mean).collect();
        let bias_one = (self.n_users + self.n_items) as u32;
        let plan = StepPlan::new(users, &item_rows, bias_one, &mut self.count, &mut self.next);
        let t = plan.rows.len();
        let scale = 2.0 / n as f32;
        let weights: Vec<f32> = (plan.rows.iter().zip(&plan.count))
            .map(|(&r, &c)| scale * c as f32 * (self.cfg.reg + self.row_weight[r as usize]))
            .collect();

        // g_k = 2 e_k / n.
        let pairs: Vec<u32> = users.iter().chain(&item_rows).copied().collect();
        let (loss, g) = b.mf_residuals(&self.factors, &self.biases, &b.index(&pairs)?, &b.tensor(&target, &[n])?);
        let values = b.concat_rows(&b.reshape(&g, &[n, 1]), &b.tensor(&weights, &[t, 1])?);
        let vals = b.reshape(&b.gather_rows(&values, &b.index(&plan.perm)?), &[plan.perm.len()]);
        let row_ptr = b.index(&plan.row_ptr)?;
        let csr =
            |col_idx, cols, vals| Csr { pattern: Pattern { rows: t, cols, row_ptr: row_ptr.clone(), col_idx }, vals };
        let table_rows = self.n_users + self.n_items;
        let factors = b.spmm_csr(&csr(b.index(&plan.factor_cols)?, table_rows, vals.clone()), &self.factors);
        let biases = b.spmm_csr(&csr(b.index(&plan.bias_cols)?, table_rows + 1, vals), &self.biases);
        Ok(Gradients { loss, rows: b.index(&plan.rows)?, factors, biases })
    }
}

impl<B: Backend> Model<B> for BiasedMf<B> {
    fn kind(&self) -> &'static str {
        Mf::INFO.name
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(&self.cfg).expect("a configuration serialises to JSON")
    }

    fn batch_kind(&self) -> BatchKind {
        BatchKind::Points
    }

    fn ratings(&self) -> Option<&dyn RatingModel<B>> {
        Some(self)
    }

    fn weights(&self, b: &B) -> Result<Vec<NamedTensor>> {
        let mean = b.tensor(&[self.mean], &[1])?;
        download_layout(
            b,
            &Self::layout(&self.cfg, self.n_users, self.n_items),
            vec![&self.factors, &self.biases, &mean],
        )
    }

    /// Returns the batch's mean squared error (the data term, without the penalties).
    fn train_step(&mut self, b: &B, batch: &Batch<'_>) -> Result<B::Tensor> {
        let &Batch::Points { users, items, targets: ratings } = batch else {
            return Err(batch.wrong_kind("biased MF", BatchKind::Points));
        };
        let grad = self.gradients(b, users, items, ratings)?;
        self.step += 1;
        let adam = AdamConfig { lr: self.cfg.lr, ..Default::default() };
        let [mf, vf, mb, vb] = &mut self.adam;
        b.adam_rows(&mut self.factors, &grad.rows, &grad.factors, mf, vf, &adam, self.step);
        b.adam_rows(&mut self.biases, &grad.rows, &grad.biases, mb, vb, &adam, self.step);
        Ok(grad.loss)
    }

    fn parameters(&self) -> Vec<&B::Tensor> {
        vec![&self.factors, &self.biases]
    }

    fn parameters_mut(&mut self) -> Vec<&mut B::Tensor> {
        vec![&mut self.factors, &mut self.biases]
    }

    /// The item factors q_i.
    fn item_vectors(&self, b: &B) -> Option<B::Tensor> {
        Some(b.slice_rows(&self.factors, self.n_users, self.n_items))
    }

    fn refit(&self) -> Option<&dyn Refit<B>> {
        Some(self)
    }

    fn refit_mut(&mut self) -> Option<&mut dyn Refit<B>> {
        Some(self)
    }
}

impl<B: Backend> BiasedMf<B> {
    /// The first table row of `side` and its number of rows.
    fn span(&self, side: Side) -> (usize, usize) {
        match side {
            Side::Users => (0, self.n_users),
            Side::Items => (self.n_users, self.n_items),
        }
    }

    /// `t` (rows: users, items, then `tail` more) with `side`'s part replaced by `f(part)`.
    fn with_part(
        &self,
        b: &B,
        t: &B::Tensor,
        side: Side,
        tail: usize,
        f: impl FnOnce(B::Tensor) -> Result<B::Tensor>,
    ) -> Result<B::Tensor> {
        let (nu, ni) = (self.n_users, self.n_items);
        let (mut users, mut items) = (b.slice_rows(t, 0, nu), b.slice_rows(t, nu, ni));
        match side {
            Side::Users => users = f(users)?,
            Side::Items => items = f(items)?,
        }
        let out = b.concat_rows(&users, &items);
        Ok(if tail > 0 { b.concat_rows(&out, &b.slice_rows(t, nu + ni, tail)) } else { out })
    }
}

/// Fold-in and incremental updates fit a user's (p_u, b_u) to their ratings
/// with the items and μ fixed: the training objective restricted to the
/// user, Σ_i (r̂_ui − r_ui)² + (λ n_u + λ_row) (‖p_u‖² + b_u²), a ridge
/// regression; an item's (q_i, b_i) likewise against the fixed users.
impl<B: Backend> Refit<B> for BiasedMf<B> {
    fn count(&self, side: Side) -> usize {
        self.span(side).1
    }

    fn widths(&self, _side: Side) -> Vec<usize> {
        vec![self.cfg.dim, 1]
    }

    fn needs_values(&self) -> bool {
        true
    }

    /// Chosen on the validation ratings of users held out of training (ML-100K).
    fn defaults(&self) -> RefitConfig {
        RefitConfig { steps: 50, lr: 0.05, ..Default::default() }
    }

    fn gather(&self, b: &B, side: Side, idx: &[u32]) -> Result<Vec<B::Tensor>> {
        let at = self.span(side).0 as u32;
        let idx = b.index(&idx.iter().map(|&r| at + r).collect::<Vec<_>>())?;
        Ok(vec![b.gather_rows(&self.factors, &idx), b.gather_rows(&self.biases, &idx)])
    }

    fn row_gradients(
        &self,
        b: &B,
        side: Side,
        rows: &[B::Tensor],
        batch: &RefitBatch<'_, B>,
    ) -> Result<(B::Tensor, Vec<B::Tensor>)> {
        let n = batch.rows.len();
        let at = self.span(side.other()).0 as u32;
        let own = b.index(batch.rows)?;
        let other = b.index(&batch.partners.iter().map(|&p| at + p).collect::<Vec<_>>())?;
        let (p, q) = (b.gather_rows(&rows[0], &own), b.gather_rows(&self.factors, &other));
        let bu = b.reshape(&b.gather_rows(&rows[1], &own), &[n]);
        let bi = b.reshape(&b.gather_rows(&self.biases, &other), &[n]);
        let pred =
            b.scale(&b.binary(BinaryOp::Add, &b.binary(BinaryOp::Add, &b.dot_rows(&p, &q), &bu), &bi), 1.0, self.mean);
        let (loss, g) = b.mse_loss(&pred, &b.tensor(batch.values, &[n])?);
        let g = b.reshape(&g, &[n, 1]);
        // 2/n (λ n_r + λ_row) θ_r: every rating of a fitted row is in the batch.
        let w: Vec<f32> =
            batch.counts.iter().map(|&c| 2.0 / n as f32 * (self.cfg.reg * c as f32 + self.cfg.reg_row)).collect();
        let w = b.tensor(&w, &[batch.n_rows, 1])?;
        let penalty = |t: &B::Tensor| b.binary(BinaryOp::Mul, &w, t);
        let gp = b.binary(
            BinaryOp::Add,
            &b.scatter_add_rows(&b.binary(BinaryOp::Mul, &g, &q), batch.groups),
            &penalty(&rows[0]),
        );
        let gb = b.binary(BinaryOp::Add, &b.scatter_add_rows(&g, batch.groups), &penalty(&rows[1]));
        Ok((loss, vec![gp, gb]))
    }

    fn score_user_rows(&self, b: &B, rows: &[B::Tensor]) -> B::Tensor {
        let n = rows[0].dims()[0];
        let q = b.slice_rows(&self.factors, self.n_users, self.n_items);
        let bi = b.reshape(&b.slice_rows(&self.biases, self.n_users, self.n_items), &[self.n_items]);
        let dots = b.matmul(&rows[0], &q, false, true, Some(&bi), Act::Identity);
        b.binary(BinaryOp::Add, &dots, &b.reshape(&b.scale(&rows[1], 1.0, self.mean), &[n, 1]))
    }

    fn write(&mut self, b: &B, side: Side, count: usize, idx: &[u32], rows: &[B::Tensor]) -> Result<()> {
        let (at, n) = self.span(side);
        let count = count.max(n);
        self.factors = self.with_part(b, &self.factors, side, 0, |t| refit::put(b, &t, count, idx, &rows[0]))?;
        self.biases = self.with_part(b, &self.biases, side, 1, |t| refit::put(b, &t, count, idx, &rows[1]))?;
        let adam: Vec<B::Tensor> = self
            .adam
            .iter()
            .enumerate()
            .map(|(k, t)| self.with_part(b, t, side, k / 2, |t| Ok(refit::grow(b, &t, count))))
            .collect::<Result<_>>()?;
        self.adam = adam.try_into().unwrap_or_else(|_| unreachable!("four moments"));
        // New rows have no training ratings: no per-row penalty in later epochs.
        let grown = count - n;
        self.row_weight.splice(at + n..at + n, std::iter::repeat_n(0.0, grown));
        let rows_now = self.row_weight.len();
        self.count.resize(rows_now, 0);
        self.next.resize(rows_now, 0);
        match side {
            Side::Users => self.n_users = count,
            Side::Items => self.n_items = count,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Cpu;

    /// The documented objective in f64 from host copies of the tables; the
    /// mean squared error alone without `penalties`.
    fn objective(m: &BiasedMf<Cpu>, f: &[f32], bias: &[f32], batch: (&[u32], &[u32], &[f32]), penalties: bool) -> f64 {
        let (users, items, ratings) = batch;
        let (d, n) = (m.cfg.dim, users.len() as f64);
        let mut count = vec![0f64; m.n_users + m.n_items];
        let mut loss = 0.0;
        for k in 0..users.len() {
            let (u, i) = (users[k] as usize, m.n_users + items[k] as usize);
            count[u] += 1.0;
            count[i] += 1.0;
            let dot: f64 = (0..d).map(|j| f[u * d + j] as f64 * f[i * d + j] as f64).sum();
            let e = m.mean as f64 + bias[u] as f64 + bias[i] as f64 + dot - ratings[k] as f64;
            loss += e * e / n;
        }
        for (r, &c) in count.iter().enumerate().filter(|_| penalties) {
            let w = c * (m.cfg.reg as f64 + m.row_weight[r] as f64);
            let sq: f64 = (0..d).map(|j| (f[r * d + j] as f64).powi(2)).sum::<f64>() + (bias[r] as f64).powi(2);
            loss += w * sq / n;
        }
        loss
    }

    #[test]
    fn gradients_match_finite_differences() {
        // 3 users × 4 items; user 1 rates item 2 twice in the batch (repeated rows), item 3 is never rated.
        let train = Ratings {
            users: vec![0, 1, 2, 1, 0, 1],
            items: vec![0, 2, 1, 2, 1, 0],
            ratings: vec![4.0, 2.0, 5.0, 3.0, 1.0, 4.0],
        };
        let cfg = MfConfig { dim: 3, lr: 0.01, reg: 0.1, reg_row: 0.7, init_std: 0.5 };
        let mut m = BiasedMf::new(&Cpu, 3, 4, &train, cfg, 9).unwrap();
        let (users, items, ratings) = (&train.users[1..], &train.items[1..], &train.ratings[1..]);
        let g = m.gradients(&Cpu, users, items, ratings).unwrap();
        let f = Cpu.read(&m.factors).unwrap();
        let bias = Cpu.read(&m.biases).unwrap();
        let rows = Cpu.read_index(&g.rows).unwrap();
        assert_eq!(rows, vec![0, 1, 2, 3, 4, 5], "users 0-2 and items 0-2 (rows 3-5); item 3 untouched");
        let batch = (users, items, ratings);
        let mse = Cpu.read(&g.loss).unwrap()[0] as f64;
        assert!((mse - objective(&m, &f, &bias, batch, false)).abs() < 1e-5, "the loss is the mean squared error");
        let (gf, gb) = (Cpu.read(&g.factors).unwrap(), Cpu.read(&g.biases).unwrap());
        let d = 3;
        let h = 1e-3;
        for (k, &r) in rows.iter().enumerate() {
            let r = r as usize;
            for j in 0..=d {
                let (mut fp, mut bp) = (f.clone(), bias.clone());
                let (mut fm, mut bm) = (f.clone(), bias.clone());
                if j < d {
                    fp[r * d + j] += h;
                    fm[r * d + j] -= h;
                } else {
                    bp[r] += h;
                    bm[r] -= h;
                }
                let fd =
                    (objective(&m, &fp, &bp, batch, true) - objective(&m, &fm, &bm, batch, true)) / (2.0 * h as f64);
                let got = if j < d { gf[k * d + j] } else { gb[k] } as f64;
                assert!(
                    (got - fd).abs() < 1e-3 * (1.0 + fd.abs()),
                    "row {r} col {j}: gradient {got} vs finite difference {fd}"
                );
            }
        }
    }

    #[test]
    fn baseline_biases_shrink_towards_zero() {
        let train = Ratings { users: vec![0, 0, 1], items: vec![0, 1, 0], ratings: vec![5.0, 3.0, 4.0] };
        let b = baseline_biases(&train, 2, 3, 4.0);
        // b_i0 = (1 + 0) / 27, b_i1 = −1 / 26, item 2 unrated; b_u0 = ((1 − b_i0) + (−1 − b_i1)) / 12.
        let (bi0, bi1) = (1.0 / 27.0, -1.0 / 26.0);
        assert!((b[2] - bi0).abs() < 1e-6 && (b[3] - bi1).abs() < 1e-6 && b[4] == 0.0);
        assert!((b[0] - ((1.0 - bi0) + (-1.0 - bi1)) / 12.0).abs() < 1e-6);
        assert!((b[1] - (0.0 - bi0) / 11.0).abs() < 1e-6);
        assert_eq!(b[5], 1.0, "the constant row");
    }
}
