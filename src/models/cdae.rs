//! CDAE — Y. Wu, C. DuBois, A. X. Zheng, M. Ester, "Collaborative Denoising
//! Auto-Encoders for Top-N Recommender Systems", WSDM 2016.
//!
//! score:  ŷ(u, ·) = σ(W′ · h(y_u) + b′),  h(y) = act(Wᵀ y + V_u + b)   (no corruption at scoring time)
//! loss:   L = (1/n) [Σ_u Σ_i BCE(W′ h(ỹ_u) + b′, y_u)_i + λ (‖V_B‖_F + ‖W‖_F)],  ỹ_u = dropout_q(y_u)
//!
//! y_u is user u's 0/1 training row over all items, ỹ_u its corruption by
//! inverted dropout with probability q (kept entries scaled by 1 / (1 − q):
//! the paper's unbiased corruption, E[ỹ_u] = y_u), V_u a per-user embedding
//! added to the hidden pre-activation (what makes the autoencoder
//! "collaborative"), n the users in the batch B and V_B their rows of V. As RecBole's CDAE
//! (`CDAE.yaml`): hidden 64, q = 0.5, ReLU hidden activation, sigmoid output,
//! BCE over **all** items (the paper's sampled negatives are not
//! implemented), the L2 term RecBole writes — λ = 0.01 times the unsquared
//! Frobenius norms of the user embedding and the encoder weight, added to
//! the BCE sum — and Xavier-normal weights (the embedding too) with zero
//! biases, Adam lr 1e-3. RecBole's loss is a sum over the batch; dividing it
//! by n (as here) changes nothing under Adam but what is reported. RecBole
//! takes ‖V‖ over the whole table; here it is over the batch's rows V_B, the
//! same when a batch holds every user (as RecBole's 2048-user batches do on
//! ML-100K), and it keeps V's update lazy: under Adam a row whose only
//! gradient is the norm's would shrink at the full learning rate on every
//! step that does not see its user.
//!
//! The backward is written out: with z the logits, ∂L/∂z = (σ(z) − y) / n
//! ([`Backend::bce_with_logits`]'s mean gradient times the items), the
//! decoder's [`Linear::backward`], the activation's backward to the hidden
//! pre-activation p, then ∂L/∂W = pᵀ·ỹ, ∂L/∂b = Σ p, and ∂L/∂V_u the rows of
//! ∂L/∂p summed per user ([`Backend::scatter_add_rows`] over the batch's
//! [`RowGroups`]: a deterministic grouped sum, no float atomics). The norm
//! terms add λ/n · W/‖W‖ to ∂L/∂W and λ/n · V_u/‖V_B‖ to the touched rows of V
//! (the batch's rows B); V is updated by lazy Adam on the batch's rows
//! ([`Backend::adam_rows`]), the other four buffers by fused Adam.
//!
//! The training matrix is uploaded once as CSR and a batch's dense rows are
//! built on the device ([`Backend::csr_rows_dense`]); a step uploads only the
//! user ids and their row groups and reads nothing back. One training step is
//! one submission of 41 dispatches (42 with the loop's loss accumulation;
//! counted by `tests/cdae.rs`): the dense rows, dropout, the encoder matmul,
//! the embedding gather, the add and the activation, the decoder matmul; the
//! BCE, its mean and two scalings; the decoder's backward (three), the
//! activation's backward, the encoder's weight gradients (two), the
//! scatter-add; the gather of V_B, the two norms (square, two reductions, a
//! square root each), their gradients (a division, a scaling, an add each)
//! and three to add them to the loss; four fused Adam updates and one lazy.
//!
//! The model file holds the weights and the users' training rows (a dense
//! 0/1 `history`, as Mult-DAE's), so a loaded model scores without its data.
//!
//! Batch of 128 users chosen on ML-100K's validation part (per-user 8:1:1,
//! seed 2024; validation NDCG@10 for 64 / 128 / 512 / 2048 users: 0.2454 /
//! 0.2471 / 0.2445 / 0.2254 — 2048, one step per epoch as RecBole's batch on
//! ML-100K, was still improving at epoch 278 of 300 — and 256: 0.2440; at
//! 128, corruption 0.3: 0.2442, lr 2e-3: 0.2452, sigmoid hidden: 0.1304);
//! test NDCG@10 0.3005.

use crate::backend::{Act, AdamConfig, Backend, BinaryOp, Reduce, RowGroups, Shaped, UnaryOp};
use crate::data::sequence::Sequences;
use crate::error::{Error, Result};
use crate::layers::{Adam, Linear, LinearGrads, Param};
use crate::model_file::{ModelFile, NamedTensor};
use crate::models::contract::{
    download_layout, upload_layout, Batch, BatchKind, Family, Info, Layout, Model, Schedule, Scorer, Task, TrainSet,
};
use crate::models::ease::{history_from_dense, history_to_dense};
use crate::models::multdae::History;
use crate::rng::derive_seed;
use crate::sparse::CsrHost;

/// The CDAE family (`cdae`).
pub struct CdaeFamily;

/// CDAE hyper-parameters (defaults: RecBole's `CDAE.yaml`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CdaeConfig {
    /// Width of the hidden layer (and of the user embedding).
    pub hidden: usize,
    /// Corruption ratio q: the dropout probability on the input row.
    pub corruption: f32,
    /// The hidden layer's activation (RecBole: ReLU; the paper: sigmoid).
    pub hid_act: Act,
    /// λ: weight of ‖V‖_F + ‖W‖_F (RecBole's `reg_weight_2`).
    pub reg: f32,
    /// Adam learning rate.
    pub lr: f32,
}

impl Default for CdaeConfig {
    fn default() -> Self {
        Self { hidden: 64, corruption: 0.5, hid_act: Act::Relu, reg: 0.01, lr: 1e-3 }
    }
}

impl Family for CdaeFamily {
    const INFO: Info = Info {
        name: "cdae",
        about: "CDAE: a denoising autoencoder over each user's row with a per-user embedding, BCE over all items (Wu et al., WSDM 2016)",
        task: Task::Ranking,
        batch: BatchKind::UserRows,
        schedule: Schedule { epochs: 300, patience: 10, fixed_epochs: 100, batch_size: 128, batch_unit: "users" },
        dim_keys: &["hidden"],
        lr_key: Some("lr"),
    };
    type Config = CdaeConfig;
    type Model<B: Backend> = Cdae<B>;

    fn validate(cfg: &CdaeConfig) -> Result<()> {
        if cfg.hidden == 0 {
            return Err(Error::Invalid("CDAE needs a positive hidden size, got 0".into()));
        }
        if !(0.0..1.0).contains(&cfg.corruption) {
            return Err(Error::Invalid(format!("CDAE: corruption {} outside [0, 1)", cfg.corruption)));
        }
        if !(cfg.lr.is_finite() && cfg.lr >= 0.0 && cfg.reg.is_finite() && cfg.reg >= 0.0) {
            return Err(Error::Invalid(format!("CDAE: lr {} and reg {} must be finite and ≥ 0", cfg.lr, cfg.reg)));
        }
        Ok(())
    }

    fn build<B: Backend>(b: &B, data: &TrainSet, cfg: CdaeConfig, seed: u64) -> Result<Cdae<B>> {
        Cdae::new(b, &data.interactions, cfg, seed)
    }

    fn layout(cfg: &CdaeConfig, n_users: usize, n_items: usize) -> Layout {
        let mut out = Cdae::<crate::Cpu>::param_layout(cfg, n_users, n_items);
        out.push(("history".into(), vec![n_users, n_items]));
        out
    }

    fn load<B: Backend>(b: &B, cfg: CdaeConfig, file: &ModelFile) -> Result<Box<dyn Model<B>>> {
        let history = history_from_dense(file.tensor("history")?)?;
        let layout = Cdae::<B>::param_layout(&cfg, history.rows, history.cols);
        let mut model = Cdae::new(b, &history, cfg, 0)?;
        upload_layout(b, file, &layout, model.parameters_mut())?;
        Ok(Box::new(model))
    }
}

/// A CDAE model on backend `B`.
pub struct Cdae<B: Backend> {
    /// `items → hidden`, linear (the embedding and the activation follow).
    pub encoder: Linear<B>,
    /// V `[users, hidden]`.
    pub user: Param<B>,
    /// `hidden → items`, linear (the logits; σ at scoring time).
    pub decoder: Linear<B>,
    history: History<B>,
    opt: Adam,
    seed: u64,
    cfg: CdaeConfig,
}

/// Gradients of one CDAE step.
pub struct CdaeGrads<B: Backend> {
    /// The batch's loss `[1]`.
    pub loss: B::Tensor,
    /// The encoder's W and b.
    pub encoder: LinearGrads<B>,
    /// The rows of V the batch touched, ascending, as uploaded.
    pub groups: RowGroups<B>,
    /// ∂L/∂V at those rows `[groups.unique, hidden]`.
    pub user: B::Tensor,
    /// The decoder's W′ and b′.
    pub decoder: LinearGrads<B>,
}

/// The Frobenius norm ‖t‖_F `[1]` of a rank-2 `t`.
fn frobenius<B: Backend>(b: &B, t: &B::Tensor) -> B::Tensor {
    let rows = t.dims()[0];
    let per_row = b.reduce_rows(&b.unary(UnaryOp::Square, t), Reduce::Sum);
    let total = b.reduce_rows(&b.reshape(&per_row, &[1, rows]), Reduce::Sum);
    b.unary(UnaryOp::Sqrt, &b.reshape(&total, &[1]))
}

impl<B: Backend> Cdae<B> {
    /// Xavier-normal weights and embedding, zero biases, seeded, over the
    /// users × items training matrix `x`.
    pub fn new(b: &B, x: &CsrHost, cfg: CdaeConfig, seed: u64) -> Result<Self> {
        CdaeFamily::validate(&cfg)?;
        let (users, items) = (x.rows, x.cols);
        let encoder = Linear::new(b, items, cfg.hidden, Act::Identity, true, derive_seed(seed, 1))?;
        let v = crate::init::xavier_normal(derive_seed(seed, 2), users, cfg.hidden);
        let user = Param::new(b, &v, &[users, cfg.hidden])?;
        let decoder = Linear::new(b, cfg.hidden, items, Act::Identity, true, derive_seed(seed, 3))?;
        let opt = Adam::new(AdamConfig { lr: cfg.lr, ..Default::default() });
        Ok(Self { encoder, user, decoder, history: History::new(b, x)?, opt, seed: derive_seed(seed, 4), cfg })
    }

    /// The names and shapes of the trained weights, in the order of [`Model::parameters`].
    pub fn param_layout(cfg: &CdaeConfig, users: usize, items: usize) -> Layout {
        vec![
            ("encoder.weight".into(), vec![cfg.hidden, items]),
            ("encoder.bias".into(), vec![cfg.hidden]),
            ("user_embedding".into(), vec![users, cfg.hidden]),
            ("decoder.weight".into(), vec![items, cfg.hidden]),
            ("decoder.bias".into(), vec![items]),
        ]
    }

    /// act(Wᵀ x + V_users + b) for rows `x` `[n, items]`: (pre-activation, hidden).
    fn hidden(&self, b: &B, x: &B::Tensor, users: &B::Index) -> (B::Tensor, B::Tensor) {
        let pre = b.binary(BinaryOp::Add, &self.encoder.forward(b, x), &b.gather_rows(&self.user.value, users));
        let h = b.activate(&pre, self.cfg.hid_act);
        (pre, h)
    }

    /// The loss of the batch `users` with the corruption mask of stream
    /// `seed`, and its gradients in every weight (no update).
    pub fn grads(&self, b: &B, users: &[u32], seed: u64) -> Result<CdaeGrads<B>> {
        let n = users.len().max(1) as f32;
        let items = self.history.items() as f32;
        let idx = b.index(users)?;
        let groups = b.row_groups(users)?;
        let y = b.csr_rows_dense(&self.history.device, &idx);
        let noisy = if self.cfg.corruption > 0.0 { b.dropout(&y, self.cfg.corruption, seed) } else { y.clone() };
        let (pre, h) = self.hidden(b, &noisy, &idx);
        let logits = self.decoder.forward(b, &h);
        // bce_with_logits averages over n × items; L sums over items, averages over users.
        let (bce, dlogits) = b.bce_with_logits(&logits, &y);
        let (bce, dlogits) = (b.scale(&bce, items, 0.0), b.scale(&dlogits, items, 0.0));
        let (dh, decoder) = self.decoder.backward(b, &h, &logits, &dlogits);
        let dpre = match self.cfg.hid_act {
            Act::Identity => dh,
            act => b.activate_backward(&h, &dh, act),
        };
        let mut encoder = self.encoder.backward_weights(b, &noisy, &pre, &dpre);
        let mut user = b.scatter_add_rows(&dpre, &groups);
        let mut loss = bce;
        if self.cfg.reg > 0.0 {
            let c = self.cfg.reg / n;
            let rows = b.gather_rows(&self.user.value, &groups.rows);
            let nw = frobenius(b, &self.encoder.weight.value);
            let nv = frobenius(b, &rows);
            // ∂(λ/n · ‖t‖)/∂t = λ/n · t / ‖t‖ (Xavier-initialised tables are never all 0).
            let dir = |t: &B::Tensor, norm: &B::Tensor| b.scale(&b.binary(BinaryOp::Div, t, norm), c, 0.0);
            encoder.dw = b.binary(BinaryOp::Add, &encoder.dw, &dir(&self.encoder.weight.value, &nw));
            user = b.binary(BinaryOp::Add, &user, &dir(&rows, &nv));
            let reg = b.scale(&b.binary(BinaryOp::Add, &nw, &nv), c, 0.0);
            loss = b.binary(BinaryOp::Add, &loss, &reg);
        }
        Ok(CdaeGrads { loss, encoder, groups, user, decoder })
    }
}

impl<B: Backend> Scorer<B> for Cdae<B> {
    fn score_users(&self, b: &B, users: &B::Index) -> B::Tensor {
        let y = b.csr_rows_dense(&self.history.device, users);
        let (_, h) = self.hidden(b, &y, users);
        self.decode(b, &h)
    }
}

impl<B: Backend> Cdae<B> {
    /// σ(W′ h + b′): the scores over every item of hidden rows `h`.
    fn decode(&self, b: &B, h: &B::Tensor) -> B::Tensor {
        let bias = self.decoder.bias.as_ref().map(|p| &p.value);
        b.matmul(h, &self.decoder.weight.value, false, true, bias, Act::Sigmoid)
    }
}

impl<B: Backend> Model<B> for Cdae<B> {
    fn kind(&self) -> &'static str {
        CdaeFamily::INFO.name
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(&self.cfg).expect("a configuration serialises to JSON")
    }

    fn batch_kind(&self) -> BatchKind {
        BatchKind::UserRows
    }

    fn train_step(&mut self, b: &B, batch: &Batch<'_>) -> Result<B::Tensor> {
        let Batch::Users { users } = batch else {
            return Err(batch.wrong_kind(CdaeFamily::INFO.name, BatchKind::UserRows));
        };
        self.opt.next_step();
        let g = self.grads(b, users, derive_seed(self.seed, self.opt.step() as u64))?;
        self.encoder.update(b, &g.encoder, &self.opt);
        self.user.update_rows(b, &g.groups.rows, &g.user, &self.opt);
        self.decoder.update(b, &g.decoder, &self.opt);
        Ok(g.loss)
    }

    fn parameters(&self) -> Vec<&B::Tensor> {
        let mut out = self.encoder.parameters();
        out.push(&self.user.value);
        out.extend(self.decoder.parameters());
        out
    }

    fn parameters_mut(&mut self) -> Vec<&mut B::Tensor> {
        let mut out = self.encoder.parameters_mut();
        out.push(&mut self.user.value);
        out.extend(self.decoder.parameters_mut());
        out
    }

    fn weights(&self, b: &B) -> Result<Vec<NamedTensor>> {
        let layout = Self::param_layout(&self.cfg, self.history.host.rows, self.history.items());
        let mut out = download_layout(b, &layout, self.parameters())?;
        out.push(history_to_dense(&self.history.host));
        Ok(out)
    }

    /// A history scores as the row of a user the model never saw: its
    /// distinct items through the encoder with no user embedding (V_u = 0).
    fn score_histories(&self, b: &B, histories: &Sequences) -> Option<Result<B::Tensor>> {
        Some(self.history.score_histories(b, histories, |rows, all| {
            let x = b.csr_rows_dense(&rows.device, all);
            self.decode(b, &b.activate(&self.encoder.forward(b, &x), self.cfg.hid_act))
        }))
    }

    /// The decoder's output weights, one row per item.
    fn item_vectors(&self, _b: &B) -> Option<B::Tensor> {
        Some(self.decoder.weight.value.clone())
    }
}
