//! I-AutoRec — S. Sedhain, A. K. Menon, S. Sanner, L. Xie, "AutoRec:
//! Autoencoders Meet Collaborative Filtering", WWW 2015 (the item-based
//! variant, the paper's best).
//!
//! Item i's observed ratings over all m users form r_i ∈ ℝ^m (0 where user u
//! has not rated i). The model reconstructs them through one hidden layer:
//!
//! hidden:   h_i = σ(V r_i + μ)                 V `[k, m]`, μ `[k]`, σ the logistic sigmoid
//! output:   r̂_i = W h_i + b                    W `[m, k]`, b `[m]` (identity output)
//! predict:  r̂(u, i) = W_u · h_i + b_u          (clipped to the data's rating range by the evaluator)
//! loss:     J = Σ_i Σ_{u ∈ O(i)} (r_ui − r̂_ui)² + (λ/2)(‖W‖²_F + ‖V‖²_F)
//!
//! with O(i) the users who rated i in training: only observed ratings count.
//! A step on a batch B of items minimises the unbiased estimate J/N,
//! (1/|B|) Σ_{i∈B} Σ_{u∈O(i)} (r_ui − r̂_ui)² + (λ/2N)(‖W‖² + ‖V‖²), N the
//! items with training ratings, so λ means what it means in the paper; the
//! penalty's gradient (λ/N)·W is Adam's coupled weight decay on the two
//! weight matrices (not on the biases). Gradients, with E = (r̂ − r) ⊙ O:
//!   ∂/∂r̂ = 2E/|B|,  then the decoder's and the encoder's explicit backward
//!   (∂/∂(V r + μ) = ∂/∂h ⊙ h(1 − h)).
//!
//! The item × user rating matrix (and its 0/1 pattern) is uploaded once as
//! CSR; a batch uploads only its item ids and its dense columns are built on
//! the device ([`Backend::csr_rows_dense`]). One training step is one
//! submission of 21 dispatches (22 with the loop's loss accumulation;
//! counted by `tests/autorec.rs`): the dense ratings and pattern, two
//! matmuls forward (bias and sigmoid fused), the masked error, the loss (two
//! reductions), the decoder's backward (three), the encoder's (three) and
//! four fused Adam updates; nothing is read back.
//!
//! Serving computes every item's code at once from the sparse matrix,
//! H = σ(R Vᵀ + μ) `[items, k]` ([`Backend::spmm_csr`], nnz·k multiply-adds
//! rather than a dense items × m product); a user's scores are W_u Hᵀ + b_u
//! (ranking by predicted rating), a (user, item) prediction W_u · H_i + b_u.
//!
//! A user with no training rating has W_u = 0 (it starts there and receives
//! no gradient), and b starts at the mean training rating, so such a user is
//! predicted the mean; an item with no training rating has h = σ(μ).
//! Repeated (user, item) ratings are averaged. The model file holds the
//! weights, the training pattern (`history`, dense 0/1 users × items) and
//! the ratings (`ratings`, dense users × items, 0 off the pattern), so a
//! loaded model serves without its data.
//!
//! Defaults chosen on validation slices of ML-100K's training folds (each
//! fold's random tenth held out; the five folds' mean best validation RMSE
//! with early stopping, Adam lr 1e-3): the paper's k = 500 overfits within
//! 10–14 epochs (0.9334 at λ = 100; larger λ underfits before it helps), k =
//! 100 with λ = 100 and 64 items per step gives 0.9136 (k 150: 0.9135, k 200:
//! 0.9153, k 50: 0.9165; λ 50/70/150/200 at k 100: 0.9154/0.9144/0.9147/0.9183;
//! the full sweep is in the README); its best epochs, 22–35 (mean 30), are
//! the schedule's fixed epochs. Test RMSE on Surprise's 5-fold protocol
//! (`tests/quality_ml100k_autorec.rs`): 0.8933 with 30 epochs on each whole
//! training fold, 0.8986 with early stopping.

use crate::backend::{Act, AdamConfig, Backend, BinaryOp, Csr, Reduce, UnaryOp};
use crate::data::Ratings;
use crate::error::{Error, Result};
use crate::layers::{Adam, Linear, LinearGrads};
use crate::model_file::{ModelFile, NamedTensor};
use crate::models::contract::{
    download_layout, upload_layout, Batch, BatchKind, Family, Info, Layout, Model, RatingModel, Schedule, Scorer, Task,
    TrainSet,
};
use crate::models::ease::{csr_to_dense, history_from_dense, history_to_dense};
use crate::rng::derive_seed;
use crate::sparse::CsrHost;

/// The I-AutoRec family (`autorec`).
pub struct AutoRecFamily;

/// I-AutoRec hyper-parameters.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AutoRecConfig {
    /// Width k of the hidden layer.
    pub hidden: usize,
    /// Adam learning rate.
    pub lr: f32,
    /// λ, the L2 penalty on both weight matrices (the paper's objective).
    pub reg: f32,
}

impl Default for AutoRecConfig {
    fn default() -> Self {
        Self { hidden: 100, lr: 1e-3, reg: 100.0 }
    }
}

impl Family for AutoRecFamily {
    const INFO: Info = Info {
        name: "autorec",
        about: "I-AutoRec: an autoencoder over each item's ratings by all users, loss on observed ratings only (Sedhain et al., WWW 2015)",
        task: Task::Rating,
        batch: BatchKind::ItemRows,
        // Chosen on validation slices of ML-100K's training folds (module docs).
        schedule: Schedule { epochs: 300, patience: 10, fixed_epochs: 30, batch_size: 64, batch_unit: "items" },
        dim_keys: &["hidden"],
        lr_key: Some("lr"),
    };
    type Config = AutoRecConfig;
    type Model<B: Backend> = AutoRec<B>;

    fn validate(cfg: &AutoRecConfig) -> Result<()> {
        if cfg.hidden == 0 {
            return Err(Error::Invalid("AutoRec: hidden must be at least 1".into()));
        }
        for (name, v) in [("lr", cfg.lr), ("reg", cfg.reg)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::Invalid(format!("AutoRec: {name} must be finite and ≥ 0, got {v}")));
            }
        }
        Ok(())
    }

    fn build<B: Backend>(b: &B, data: &TrainSet, cfg: AutoRecConfig, seed: u64) -> Result<AutoRec<B>> {
        AutoRec::new(b, &rating_matrix(data.n_users(), data.n_items(), &data.ratings), cfg, seed)
    }

    fn layout(cfg: &AutoRecConfig, n_users: usize, n_items: usize) -> Layout {
        let mut out = AutoRec::<crate::Cpu>::param_layout(cfg, n_users);
        out.push(("history".into(), vec![n_users, n_items]));
        out.push(("ratings".into(), vec![n_users, n_items]));
        out
    }

    fn load<B: Backend>(b: &B, cfg: AutoRecConfig, file: &ModelFile) -> Result<Box<dyn Model<B>>> {
        let mut ratings = history_from_dense(file.tensor("history")?)?;
        let dense = file.tensor("ratings")?;
        let cols = ratings.cols;
        let mut on_pattern = 0usize;
        for u in 0..ratings.rows {
            let (lo, hi) = (ratings.row_ptr[u] as usize, ratings.row_ptr[u + 1] as usize);
            for k in lo..hi {
                ratings.vals[k] = dense.data[u * cols + ratings.col_idx[k] as usize];
            }
            on_pattern += hi - lo;
        }
        let off_pattern =
            dense.data.iter().filter(|&&v| v != 0.0).count() - ratings.vals.iter().filter(|&&v| v != 0.0).count();
        if off_pattern > 0 {
            return Err(Error::Invalid(format!(
                "model file: `ratings` holds {off_pattern} values outside the {on_pattern} entries of `history`"
            )));
        }
        let layout = AutoRec::<B>::param_layout(&cfg, ratings.rows);
        let mut model = AutoRec::new(b, &ratings, cfg, 0)?;
        upload_layout(b, file, &layout, model.parameters_mut())?;
        Ok(Box::new(model))
    }
}

/// The users × items matrix of `ratings`, a repeated (user, item) averaged.
pub fn rating_matrix(n_users: usize, n_items: usize, ratings: &Ratings) -> CsrHost {
    let trip = |value: &dyn Fn(usize) -> f32| -> Vec<(u32, u32, f32)> {
        (0..ratings.users.len()).map(|k| (ratings.users[k], ratings.items[k], value(k))).collect()
    };
    let mut sums = CsrHost::from_triplets(n_users, n_items, &trip(&|k| ratings.ratings[k]));
    let counts = CsrHost::from_triplets(n_users, n_items, &trip(&|_| 1.0));
    sums.vals.iter_mut().zip(&counts.vals).for_each(|(s, c)| *s /= c);
    sums
}

/// An I-AutoRec model on backend `B`.
pub struct AutoRec<B: Backend> {
    /// h = σ(V r + μ): users → hidden.
    pub encoder: Linear<B>,
    /// r̂ = W h + b: hidden → users.
    pub decoder: Linear<B>,
    /// Items × users, the training ratings.
    ratings: Csr<B>,
    /// Items × users, 1 where a training rating is.
    observed: Csr<B>,
    /// Users × items, the training ratings (for the model file).
    host: CsrHost,
    /// Adam on the weights, with the penalty as coupled weight decay.
    opt_w: Adam,
    /// Adam on the biases, no penalty.
    opt_b: Adam,
    cfg: AutoRecConfig,
}

/// Gradients of one AutoRec step (of the data term; the penalty is Adam's weight decay).
pub struct AutoRecGrads<B: Backend> {
    /// The batch's loss `[1]`: (1/|B|) Σ_{i∈B} Σ_{u∈O(i)} (r_ui − r̂_ui)².
    pub loss: B::Tensor,
    /// The encoder's.
    pub encoder: LinearGrads<B>,
    /// The decoder's.
    pub decoder: LinearGrads<B>,
}

impl<B: Backend> AutoRec<B> {
    /// Xavier-normal weights (the decoder's rows of users without a rating
    /// zero), a zero encoder bias and a decoder bias at the mean rating,
    /// seeded, over `ratings` (users × items, the rating values).
    pub fn new(b: &B, ratings: &CsrHost, cfg: AutoRecConfig, seed: u64) -> Result<Self> {
        AutoRecFamily::validate(&cfg)?;
        let (m, k) = (ratings.rows, cfg.hidden);
        let mean = if ratings.nnz() == 0 {
            0.0
        } else {
            (ratings.vals.iter().map(|&v| v as f64).sum::<f64>() / ratings.nnz() as f64) as f32
        };
        let encoder = Linear::new(b, m, k, Act::Sigmoid, true, derive_seed(seed, 1))?;
        let mut w = crate::init::xavier_normal(derive_seed(seed, 2), m, k);
        for u in (0..m).filter(|&u| ratings.row(u).is_empty()) {
            w[u * k..(u + 1) * k].iter_mut().for_each(|v| *v = 0.0);
        }
        let decoder = Linear::from_weights(b, &w, Some(&vec![mean; m]), k, m, Act::Identity)?;
        let by_item = ratings.transpose();
        let by_item_dev = b.csr(&by_item)?;
        let observed = Csr { pattern: by_item_dev.pattern.clone(), vals: b.full(&[by_item.nnz()], 1.0) };
        let rated = by_item.row_ptr.windows(2).filter(|w| w[1] > w[0]).count().max(1);
        let adam = AdamConfig { lr: cfg.lr, ..Default::default() };
        Ok(Self {
            encoder,
            decoder,
            observed,
            ratings: by_item_dev,
            host: ratings.clone(),
            opt_w: Adam::new(AdamConfig { weight_decay: cfg.reg / rated as f32, ..adam }),
            opt_b: Adam::new(adam),
            cfg,
        })
    }

    /// The names and shapes of the trained weights over `users` users, in the order of [`Model::parameters`].
    pub fn param_layout(cfg: &AutoRecConfig, users: usize) -> Layout {
        let k = cfg.hidden;
        vec![
            ("encoder.weight".into(), vec![k, users]),
            ("encoder.bias".into(), vec![k]),
            ("decoder.weight".into(), vec![users, k]),
            ("decoder.bias".into(), vec![users]),
        ]
    }

    fn n_users(&self) -> usize {
        self.host.rows
    }

    fn n_items(&self) -> usize {
        self.host.cols
    }

    /// The loss of the batch `items` and its gradients in every weight (no update).
    pub fn grads(&self, b: &B, items: &[u32]) -> Result<AutoRecGrads<B>> {
        if let Some(&i) = items.iter().find(|&&i| i as usize >= self.n_items()) {
            return Err(Error::Invalid(format!("AutoRec: item {i} of {}", self.n_items())));
        }
        let n = items.len();
        let inv_n = 1.0 / n.max(1) as f32;
        let idx = b.index(items)?;
        let r = b.csr_rows_dense(&self.ratings, &idx);
        let observed = b.csr_rows_dense(&self.observed, &idx);
        let h = self.encoder.forward(b, &r);
        let out = self.decoder.forward(b, &h);
        // E = r̂ ⊙ O − r (r is 0 off the pattern).
        let e = b.binary(BinaryOp::Sub, &b.binary(BinaryOp::Mul, &out, &observed), &r);
        let per_item = b.reduce_rows(&b.unary(UnaryOp::Square, &e), Reduce::Sum);
        let loss = b.scale(&b.reduce_rows(&b.reshape(&per_item, &[1, n]), Reduce::Sum), inv_n, 0.0);
        let (dh, decoder) = self.decoder.backward(b, &h, &out, &b.scale(&e, 2.0 * inv_n, 0.0));
        let encoder = self.encoder.backward_weights(b, &r, &h, &dh);
        Ok(AutoRecGrads { loss: b.reshape(&loss, &[1]), encoder, decoder })
    }

    /// Every item's code H = σ(R Vᵀ + μ) `[items, k]`, from the sparse ratings.
    fn codes(&self, b: &B) -> B::Tensor {
        let vt = b.transpose(&self.encoder.weight.value);
        let pre = b.spmm_csr(&self.ratings, &vt);
        let mu = self.encoder.bias.as_ref().expect("the encoder has a bias");
        b.activate(&b.binary(BinaryOp::Add, &pre, &mu.value), Act::Sigmoid)
    }

    /// b_u for `users`, `[n, 1]`.
    fn user_bias(&self, b: &B, users: &B::Index) -> B::Tensor {
        let bias = self.decoder.bias.as_ref().expect("the decoder has a bias");
        b.gather_rows(&b.reshape(&bias.value, &[self.n_users(), 1]), users)
    }
}

impl<B: Backend> Scorer<B> for AutoRec<B> {
    /// Predicted ratings of every item, W_u Hᵀ + b_u.
    fn score_users(&self, b: &B, users: &B::Index) -> B::Tensor {
        let h = self.codes(b);
        let wu = b.gather_rows(&self.decoder.weight.value, users);
        let s = b.matmul(&wu, &h, false, true, None, Act::Identity);
        b.binary(BinaryOp::Add, &s, &self.user_bias(b, users))
    }
}

impl<B: Backend> RatingModel<B> for AutoRec<B> {
    fn predict(&self, b: &B, users: &[u32], items: &[u32]) -> Result<B::Tensor> {
        if users.len() != items.len() {
            return Err(Error::Invalid(format!("{} users for {} items", users.len(), items.len())));
        }
        if let Some(k) =
            (0..users.len()).find(|&k| users[k] as usize >= self.n_users() || items[k] as usize >= self.n_items())
        {
            return Err(Error::Invalid(format!(
                "AutoRec: pair ({}, {}) outside {} users × {} items",
                users[k],
                items[k],
                self.n_users(),
                self.n_items()
            )));
        }
        let n = users.len();
        let (u, i) = (b.index(users)?, b.index(items)?);
        let hi = b.gather_rows(&self.codes(b), &i);
        let wu = b.gather_rows(&self.decoder.weight.value, &u);
        let bu = b.reshape(&self.user_bias(b, &u), &[n]);
        Ok(b.binary(BinaryOp::Add, &b.dot_rows(&wu, &hi), &bu))
    }
}

impl<B: Backend> Model<B> for AutoRec<B> {
    fn kind(&self) -> &'static str {
        AutoRecFamily::INFO.name
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(&self.cfg).expect("a configuration serialises to JSON")
    }

    fn batch_kind(&self) -> BatchKind {
        BatchKind::ItemRows
    }

    fn ratings(&self) -> Option<&dyn RatingModel<B>> {
        Some(self)
    }

    /// Returns the batch's data term (the penalty is not included).
    fn train_step(&mut self, b: &B, batch: &Batch<'_>) -> Result<B::Tensor> {
        let Batch::Items { items } = batch else {
            return Err(batch.wrong_kind(AutoRecFamily::INFO.name, BatchKind::ItemRows));
        };
        let g = self.grads(b, items)?;
        self.opt_w.next_step();
        self.opt_b.next_step();
        for (layer, grads) in [(&mut self.encoder, &g.encoder), (&mut self.decoder, &g.decoder)] {
            layer.weight.update(b, &grads.dw, &self.opt_w);
            let (bias, db) = (layer.bias.as_mut(), grads.db.as_ref());
            bias.expect("AutoRec layers have biases").update(b, db.expect("and their gradients"), &self.opt_b);
        }
        Ok(g.loss)
    }

    fn parameters(&self) -> Vec<&B::Tensor> {
        let mut out = self.encoder.parameters();
        out.extend(self.decoder.parameters());
        out
    }

    fn parameters_mut(&mut self) -> Vec<&mut B::Tensor> {
        let mut out = self.encoder.parameters_mut();
        out.extend(self.decoder.parameters_mut());
        out
    }

    fn weights(&self, b: &B) -> Result<Vec<NamedTensor>> {
        let mut out = download_layout(b, &Self::param_layout(&self.cfg, self.n_users()), self.parameters())?;
        out.push(history_to_dense(&self.host));
        out.push(csr_to_dense("ratings", &self.host, |k| self.host.vals[k]));
        Ok(out)
    }

    /// Every item's code, the encoding of its ratings by all users.
    fn item_vectors(&self, b: &B) -> Option<B::Tensor> {
        Some(self.codes(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Cpu;

    /// The data term in f64 from host copies of the weights.
    fn objective(m: &AutoRec<Cpu>, w: &[Vec<f32>; 4], items: &[u32]) -> f64 {
        let [v, mu, wd, bd] = w;
        let (users, k) = (m.n_users(), m.cfg.hidden);
        let by_item = m.host.transpose();
        let mut loss = 0.0;
        for &i in items {
            let row = |u: usize| -> Option<f64> {
                let cols = by_item.row(i as usize);
                cols.binary_search(&(u as u32))
                    .ok()
                    .map(|p| by_item.vals[by_item.row_ptr[i as usize] as usize + p] as f64)
            };
            let h: Vec<f64> = (0..k)
                .map(|j| {
                    let z: f64 = mu[j] as f64
                        + (0..users).filter_map(|u| row(u).map(|r| v[j * users + u] as f64 * r)).sum::<f64>();
                    1.0 / (1.0 + (-z).exp())
                })
                .collect();
            for u in 0..users {
                if let Some(r) = row(u) {
                    let out: f64 = bd[u] as f64 + (0..k).map(|j| wd[u * k + j] as f64 * h[j]).sum::<f64>();
                    loss += (out - r).powi(2);
                }
            }
        }
        loss / items.len() as f64
    }

    #[test]
    fn gradients_match_finite_differences() {
        // 5 users × 4 items; user 4 rates nothing, item 3 is rated once; item 1 repeats in the batch.
        let train = Ratings {
            users: vec![0, 1, 2, 0, 3, 1, 2, 0],
            items: vec![0, 0, 1, 1, 2, 2, 2, 3],
            ratings: vec![4.0, 2.0, 5.0, 3.0, 1.0, 4.0, 3.0, 5.0],
        };
        let x = rating_matrix(5, 4, &train);
        let m = AutoRec::new(&Cpu, &x, AutoRecConfig { hidden: 3, lr: 0.01, reg: 0.0 }, 9).unwrap();
        let items = [1u32, 0, 3, 1, 2];
        let g = m.grads(&Cpu, &items).unwrap();
        let mut w: [Vec<f32>; 4] = [0, 1, 2, 3].map(|p| Cpu.read(m.parameters()[p]).unwrap());
        let loss = Cpu.read(&g.loss).unwrap()[0] as f64;
        assert!((loss - objective(&m, &w, &items)).abs() < 1e-4 * (1.0 + loss), "loss {loss}");
        let grads = [&g.encoder.dw, g.encoder.db.as_ref().unwrap(), &g.decoder.dw, g.decoder.db.as_ref().unwrap()]
            .map(|t| Cpu.read(t).unwrap());
        let h = 1e-3;
        for p in 0..4 {
            for e in 0..w[p].len() {
                let keep = w[p][e];
                w[p][e] = keep + h;
                let up = objective(&m, &w, &items);
                w[p][e] = keep - h;
                let down = objective(&m, &w, &items);
                w[p][e] = keep;
                let fd = (up - down) / (2.0 * h as f64);
                let got = grads[p][e] as f64;
                assert!(
                    (got - fd).abs() < 2e-3 * (1.0 + fd.abs()),
                    "parameter {p}[{e}]: gradient {got} vs finite difference {fd}"
                );
            }
        }
        // User 4 rated nothing: its decoder row starts at zero and gets no gradient.
        assert!(w[2][4 * 3..5 * 3].iter().chain(&grads[2][4 * 3..5 * 3]).all(|&v| v == 0.0));
    }

    #[test]
    fn predictions_are_the_scores_and_repeated_ratings_average() {
        let train = Ratings { users: vec![0, 1, 1, 2], items: vec![0, 1, 1, 2], ratings: vec![4.0, 2.0, 4.0, 5.0] };
        let x = rating_matrix(3, 3, &train);
        assert_eq!(x.vals, vec![4.0, 3.0, 5.0], "the two ratings of (1, 1) average to 3");
        let m = AutoRec::new(&Cpu, &x, AutoRecConfig { hidden: 4, ..Default::default() }, 1).unwrap();
        let scores = Cpu.read(&m.score_users(&Cpu, &Cpu.index(&[2, 0]).unwrap())).unwrap();
        let pred = Cpu.read(&m.predict(&Cpu, &[2, 2, 0], &[0, 2, 1]).unwrap()).unwrap();
        for (p, s) in pred.iter().zip([scores[0], scores[2], scores[3 + 1]]) {
            assert!((p - s).abs() < 1e-5, "prediction {p} vs score {s}");
        }
        assert!(m.predict(&Cpu, &[3], &[0]).is_err() && m.predict(&Cpu, &[0], &[0, 1]).is_err());
    }
}
