//! NeuMF — X. He, L. Liao, H. Zhang, L. Nie, X. Hu, T.-S. Chua,
//! "Neural Collaborative Filtering", WWW 2017.
//!
//! score:  ŷ(u, i) = σ(w_gᵀ (p_u ⊙ q_i) + w_mᵀ MLP([p′_u; q′_i]) + b)
//! loss:   L = mean over 2n rows of BCE(ŷ, y): each of the n training pairs (u, i) with y = 1,
//!         and for each, one item j drawn uniformly from those u never interacted with, y = 0
//!
//! The GMF branch (p, q) and the MLP branch (p′, q′) have embeddings of their
//! own; the MLP is ReLU layers with dropout on each layer's input and the
//! predict layer w = [w_g; w_m], b reads both, as RecBole's NeuMF (trained
//! jointly from scratch, no pre-training).
//!
//! Two linear maps are split over the concatenations they read, so no
//! column concat is ever built:
//! - the first MLP layer W₁[p′; q′] + b₁ = W_u p′ + W_i q′ + b₁ with W₁ = [W_u W_i]
//!   (two [`Linear`]s, `first_user` holding b₁, initialised as one Xavier W₁;
//!   dropout on [p′; q′] is dropout on each half);
//! - the predict layer wᵀ[g; m] + b = w_gᵀ g + w_mᵀ m + b (`out_gmf`, `out_mlp`).
//!
//! One training step is one submission. With δ = ∂L/∂logit = (σ(logit) − y) / 2n:
//!   ∂L/∂w_g = Σ δ·(p_u ⊙ q_i),  ∂L/∂p_u = δ·w_g ⊙ q_i,  ∂L/∂q_i = δ·w_g ⊙ p_u,
//! and the MLP branch backpropagates δ·w_m through the layers (`Linear::backward`)
//! into p′_u and q′_i. The embedding rows a batch touched are summed per row
//! (`scatter_add_rows`) and updated with lazy Adam; every dense buffer gets one
//! fused Adam.
//!
//! Scoring all items for a batch of users runs on the device and uses the
//! same split: with a_u = W_u p′_u + b₁ computed once per user, the first
//! hidden layer of user u against every item is
//!   Z_uᵀ = relu(W_i Q′ᵀ + a_u 1ᵀ) = relu([W_i | a_u] · [Q′ | 1]ᵀ)   `[h₁, items]`,
//! one batched matmul over the users (inner size mlp_dim + 1) with the ReLU in
//! its epilogue. That is the broadcast add [users, 1, h₁] + [1, items, h₁]
//! done inside a matmul: one dispatch instead of two, and on the CPU backend
//! about 4× faster than the broadcasting elementwise op. The next layer reads
//! the transposed block through matmul's transpose flag ([`Linear::forward_t`]),
//! the rest are batched matmuls, and the GMF part is one matmul (p_u ⊙ w_g)·Qᵀ.
//! Users go through in chunks so the [chunk, h₁, items] block stays under
//! `eval_block` floats.

use crate::backend::{Act, AdamConfig, Backend, BinaryOp, Indexed, Shaped};
use crate::error::{Error, Result};
use crate::init;
use crate::layers::{Adam, Linear, Mlp, Param};
use crate::model_file::{ModelFile, NamedTensor};
use crate::models::contract::{
    download_layout, upload_layout, Batch, BatchKind, Family, Info, Layout, Model, Schedule, Scorer, Task, TrainSet,
};
use crate::models::refit::{Refit, RefitBatch, RefitConfig, Side};
use crate::rng::derive_seed;

/// The NeuMF family (`neumf`).
pub struct NeuMfFamily;

impl Family for NeuMfFamily {
    const INFO: Info = Info {
        name: "neumf",
        about: "NeuMF: GMF and an MLP over user/item embeddings, BCE with sampled negatives (He et al., WWW 2017)",
        task: Task::Ranking,
        batch: BatchKind::Pairs,
        // RecBole's train_batch_size 2048 counts rows after negative sampling:
        // 1024 positives, each with one sampled negative.
        schedule: Schedule {
            epochs: 300,
            patience: 10,
            fixed_epochs: 20,
            batch_size: 1024,
            batch_unit: "positives (+ one sampled negative each)",
        },
        dim_keys: &["mf_dim", "mlp_dim"],
        lr_key: Some("lr"),
    };
    type Config = NeuMfConfig;
    type Model<B: Backend> = NeuMf<B>;

    fn validate(cfg: &NeuMfConfig) -> Result<()> {
        cfg.check()
    }

    fn build<B: Backend>(b: &B, data: &TrainSet, cfg: NeuMfConfig, seed: u64) -> Result<NeuMf<B>> {
        NeuMf::new(b, data.n_users(), data.n_items(), cfg, seed)
    }

    fn layout(cfg: &NeuMfConfig, n_users: usize, n_items: usize) -> Layout {
        NeuMf::<crate::Cpu>::layout(cfg, n_users, n_items)
    }

    fn load<B: Backend>(b: &B, cfg: NeuMfConfig, file: &ModelFile) -> Result<Box<dyn Model<B>>> {
        let layout = NeuMf::<B>::layout(&cfg, file.user_ids.len(), file.item_ids.len());
        let mut model = NeuMf::new(b, file.user_ids.len(), file.item_ids.len(), cfg, 0)?;
        upload_layout(b, file, &layout, model.parameters_mut())?;
        Ok(Box::new(model))
    }
}

/// NeuMF hyper-parameters (defaults: RecBole's `NeuMF.yaml`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NeuMfConfig {
    /// GMF embedding size.
    pub mf_dim: usize,
    /// MLP embedding size (the MLP's input is twice this).
    pub mlp_dim: usize,
    /// Widths of the MLP's layers (at least one).
    pub hidden: Vec<usize>,
    /// Dropout probability on each MLP layer's input during training.
    pub dropout: f32,
    /// Adam learning rate.
    pub lr: f32,
    /// Largest `[users, items, hidden[0]]` block scoring materialises at once, in floats.
    pub eval_block: usize,
}

impl NeuMfConfig {
    /// An error for sizes or rates no model can be built with.
    pub fn check(&self) -> Result<()> {
        if self.mf_dim == 0 || self.mlp_dim == 0 || self.hidden.is_empty() || self.hidden.contains(&0) {
            return Err(Error::Invalid(format!(
                "NeuMF needs positive sizes and at least one MLP layer: mf_dim {}, mlp_dim {}, hidden {:?}",
                self.mf_dim, self.mlp_dim, self.hidden
            )));
        }
        let rates = (0.0..1.0).contains(&self.dropout) && self.lr.is_finite() && self.lr >= 0.0;
        if !rates {
            return Err(Error::Invalid(format!("NeuMF: dropout {} outside [0, 1) or lr {}", self.dropout, self.lr)));
        }
        Ok(())
    }
}

impl Default for NeuMfConfig {
    fn default() -> Self {
        Self { mf_dim: 64, mlp_dim: 64, hidden: vec![128, 64], dropout: 0.1, lr: 1e-3, eval_block: 1 << 24 }
    }
}

/// A NeuMF model on backend `B`.
pub struct NeuMf<B: Backend> {
    /// GMF user embeddings p `[users, mf_dim]`.
    pub user_gmf: Param<B>,
    /// GMF item embeddings q `[items, mf_dim]`.
    pub item_gmf: Param<B>,
    /// MLP user embeddings p′ `[users, mlp_dim]`.
    pub user_mlp: Param<B>,
    /// MLP item embeddings q′ `[items, mlp_dim]`.
    pub item_mlp: Param<B>,
    /// User half of the first MLP layer: W_u p′ + b₁ (no activation).
    pub first_user: Linear<B>,
    /// Item half of the first MLP layer: W_i q′ (no bias, no activation).
    pub first_item: Linear<B>,
    /// The MLP's remaining layers, `hidden[0] → … → hidden[last]`, ReLU.
    pub mlp: Mlp<B>,
    /// Predict layer, GMF part: w_g (no bias).
    pub out_gmf: Linear<B>,
    /// Predict layer, MLP part: w_m and the output bias b.
    pub out_mlp: Linear<B>,
    opt: Adam,
    /// I `[mlp_dim, mlp_dim]`, for transposes while scoring.
    eye: B::Tensor,
    labels: Option<B::Tensor>,
    seed: u64,
    cfg: NeuMfConfig,
}

impl<B: Backend> NeuMf<B> {
    /// Embeddings from N(0, 0.01²) (RecBole's NeuMF), Xavier-normal layers
    /// with zero biases, all seeded.
    pub fn new(b: &B, n_users: usize, n_items: usize, cfg: NeuMfConfig, seed: u64) -> Result<Self> {
        cfg.check()?;
        let (d, e, h1) = (cfg.mf_dim, cfg.mlp_dim, cfg.hidden[0]);
        let h_last = *cfg.hidden.last().unwrap();
        let s = |tag| derive_seed(seed, tag);
        let user_gmf = Param::normal(b, &[n_users, d], 0.01, s(1))?;
        let item_gmf = Param::normal(b, &[n_items, d], 0.01, s(2))?;
        let user_mlp = Param::normal(b, &[n_users, e], 0.01, s(3))?;
        let item_mlp = Param::normal(b, &[n_items, e], 0.01, s(4))?;

        // W₁ `[h₁, 2e]` drawn as one Xavier matrix, then split by columns.
        let w1 = init::xavier_normal(s(5), h1, 2 * e);
        let (mut wu, mut wi) = (Vec::with_capacity(h1 * e), Vec::with_capacity(h1 * e));
        for row in w1.chunks(2 * e) {
            wu.extend_from_slice(&row[..e]);
            wi.extend_from_slice(&row[e..]);
        }
        let first_user = Linear::from_weights(b, &wu, Some(&vec![0.0; h1]), e, h1, Act::Identity)?;
        let first_item = Linear::from_weights(b, &wi, None, e, h1, Act::Identity)?;
        let mlp = Mlp::new(b, &cfg.hidden, Act::Relu, Act::Relu, cfg.dropout, s(6))?;

        // w `[1, d + h_last]` drawn as one Xavier row, then split.
        let w = init::xavier_normal(s(7), 1, d + h_last);
        let out_gmf = Linear::from_weights(b, &w[..d], None, d, 1, Act::Identity)?;
        let out_mlp = Linear::from_weights(b, &w[d..], Some(&[0.0]), h_last, 1, Act::Identity)?;
        let opt = Adam::new(AdamConfig { lr: cfg.lr, ..Default::default() });
        let eye: Vec<f32> = (0..e * e).map(|k| (k % (e + 1) == 0) as u8 as f32).collect();
        let eye = b.tensor(&eye, &[e, e])?;
        Ok(Self {
            user_gmf,
            item_gmf,
            user_mlp,
            item_mlp,
            first_user,
            first_item,
            mlp,
            out_gmf,
            out_mlp,
            opt,
            eye,
            labels: None,
            seed,
            cfg,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &NeuMfConfig {
        &self.cfg
    }

    /// Number of items scored.
    pub fn n_items(&self) -> usize {
        self.item_gmf.dims()[0]
    }

    /// The names and shapes of the weights of a `cfg` model over
    /// `n_users × n_items`, in the order of [`Model::parameters`].
    pub fn layout(cfg: &NeuMfConfig, n_users: usize, n_items: usize) -> Layout {
        let (d, e, h) = (cfg.mf_dim, cfg.mlp_dim, &cfg.hidden);
        let mut out: Layout = vec![
            ("user_gmf".into(), vec![n_users, d]),
            ("item_gmf".into(), vec![n_items, d]),
            ("user_mlp".into(), vec![n_users, e]),
            ("item_mlp".into(), vec![n_items, e]),
            ("first_user.weight".into(), vec![h[0], e]),
            ("first_user.bias".into(), vec![h[0]]),
            ("first_item.weight".into(), vec![h[0], e]),
        ];
        for (l, w) in h.windows(2).enumerate() {
            out.push((format!("mlp.{l}.weight"), vec![w[1], w[0]]));
            out.push((format!("mlp.{l}.bias"), vec![w[1]]));
        }
        out.push(("out_gmf.weight".into(), vec![1, d]));
        out.push(("out_mlp.weight".into(), vec![1, *h.last().unwrap()]));
        out.push(("out_mlp.bias".into(), vec![1]));
        out
    }

    /// Logits (before the sigmoid) of the pairs `(users[k], items[k])`, `[n]`,
    /// without dropout: RecBole's `predict`, and the reference that scoring
    /// all items is tested against.
    pub fn score_pairs(&self, b: &B, users: &B::Index, items: &B::Index) -> B::Tensor {
        let gmf = b.binary(
            BinaryOp::Mul,
            &b.gather_rows(&self.user_gmf.value, users),
            &b.gather_rows(&self.item_gmf.value, items),
        );
        let a = self.first_user.forward(b, &b.gather_rows(&self.user_mlp.value, users));
        let c = self.first_item.forward(b, &b.gather_rows(&self.item_mlp.value, items));
        let z1 = b.activate(&b.binary(BinaryOp::Add, &a, &c), Act::Relu);
        let mlp = self.out_mlp.forward(b, &self.mlp.forward(b, &z1));
        let logits = b.binary(BinaryOp::Add, &self.out_gmf.forward(b, &gmf), &mlp);
        b.reshape(&logits, &[users.count()])
    }

    /// Targets `[2n, 1]`: n ones then n zeros, built on the device once per batch size.
    fn labels(&mut self, b: &B, n: usize) -> B::Tensor {
        if self.labels.as_ref().map(|t| t.dims()[0]) != Some(2 * n) {
            self.labels = Some(b.concat_rows(&b.full(&[n, 1], 1.0), &b.zeros(&[n, 1])));
        }
        self.labels.clone().unwrap()
    }
}

impl<B: Backend> Scorer<B> for NeuMf<B> {
    fn score_users(&self, b: &B, users: &B::Index) -> B::Tensor {
        if users.count() == 0 {
            return b.zeros(&[0, self.n_items()]);
        }
        self.score_rows(b, &b.gather_rows(&self.user_gmf.value, users), &b.gather_rows(&self.user_mlp.value, users))
    }
}

impl<B: Backend> NeuMf<B> {
    /// Every item's score `[n, items]` for `n` users given by their GMF rows
    /// p `[n, mf_dim]` and MLP rows p′ `[n, mlp_dim]`.
    fn score_rows(&self, b: &B, p: &B::Tensor, p_mlp: &B::Tensor) -> B::Tensor {
        let (n, items) = (p.dims()[0], self.n_items());
        let (e, h1) = (self.first_item.fan_in(), self.first_item.fan_out());
        // GMF: w_gᵀ(p_u ⊙ q_i) for all i is (p_u ⊙ w_g)·Qᵀ.
        let pw = b.binary(BinaryOp::Mul, p, &self.out_gmf.weight.value);
        let gmf = b.matmul(&pw, &self.item_gmf.value, false, true, None, Act::Identity);
        // The backend has no transpose or column concat: Aᵀ is I·Aᵀ (one small
        // matmul), and [W_i | a_u]ᵀ = [W_iᵀ; a_u] is gathered from the rows of
        // S = [W_iᵀ; a_1; …; a_n] `[e + n, h₁]`.
        let transpose = |t: &B::Tensor| b.matmul(&self.eye, t, false, true, None, Act::Identity);
        let a = self.first_user.forward(b, p_mlp);
        let s = b.concat_rows(&transpose(&self.first_item.weight.value), &a);
        let x_t = b.concat_rows(&transpose(&self.item_mlp.value), &b.full(&[1, items], 1.0));

        let chunk = (self.cfg.eval_block / (items * h1).max(1)).clamp(1, n);
        let mut scores: Option<B::Tensor> = None;
        for start in (0..n).step_by(chunk) {
            let len = chunk.min(n - start);
            let stack: Vec<u32> = (start..start + len).flat_map(|u| (0..e).chain([e + u])).map(|r| r as u32).collect();
            // Some kilobytes; the device's only failure here would be out of memory.
            let stack = b.index(&stack).expect("NeuMF scoring: uploading a chunk's row indices");
            let m = b.reshape(&b.gather_rows(&s, &stack), &[len, e + 1, h1]);
            let z_t = b.matmul(&m, &x_t, true, false, None, Act::Relu);
            let mlp = match self.mlp.layers.split_first() {
                Some((first, rest)) => {
                    let h = rest.iter().fold(first.forward_t(b, &z_t), |h, layer| layer.forward(b, &h));
                    self.out_mlp.forward(b, &h)
                }
                None => self.out_mlp.forward_t(b, &z_t),
            };
            let gmf = if len == n {
                gmf.clone()
            } else {
                let rows: Vec<u32> = (start as u32..(start + len) as u32).collect();
                b.gather_rows(&gmf, &b.index(&rows).expect("NeuMF scoring: uploading a chunk's row indices"))
            };
            let s = b.binary(BinaryOp::Add, &b.reshape(&mlp, &[len, items]), &gmf);
            scores = Some(match scores {
                None => s,
                Some(prev) => b.concat_rows(&prev, &s),
            });
        }
        scores.unwrap()
    }
}

impl<B: Backend> Model<B> for NeuMf<B> {
    fn kind(&self) -> &'static str {
        NeuMfFamily::INFO.name
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(&self.cfg).expect("a configuration serialises to JSON")
    }

    fn batch_kind(&self) -> BatchKind {
        BatchKind::Pairs
    }

    fn weights(&self, b: &B) -> Result<Vec<NamedTensor>> {
        download_layout(b, &Self::layout(&self.cfg, self.user_gmf.dims()[0], self.n_items()), self.parameters())
    }

    fn train_step(&mut self, b: &B, batch: &Batch<'_>) -> Result<B::Tensor> {
        let &Batch::Pairs { users, pos, neg } = batch else {
            return Err(batch.wrong_kind("NeuMF", BatchKind::Pairs));
        };
        let n = users.len();
        assert!(pos.len() == n && neg.len() == n, "NeuMF train_step: {n} users, {} pos, {} neg", pos.len(), neg.len());
        // Rows 0..n are the positives (y = 1), rows n..2n the negatives (y = 0).
        let rows_u: Vec<u32> = users.iter().chain(users).copied().collect();
        let rows_i: Vec<u32> = pos.iter().chain(neg).copied().collect();
        let (u, i) = (b.index(&rows_u)?, b.index(&rows_i)?);
        let (user_groups, item_groups) = (b.row_groups(&rows_u)?, b.row_groups(&rows_i)?);
        let labels = self.labels(b, n);
        self.opt.next_step();
        let seed = derive_seed(self.seed, self.opt.step() as u64);
        let p = self.cfg.dropout;
        // Dropout on the MLP's input; the backward applies the same mask to the gradient.
        let dropout =
            |x: &B::Tensor, tag: u64| if p > 0.0 { b.dropout(x, p, derive_seed(seed, tag)) } else { x.clone() };

        // Forward.
        let (pg, qg) = (b.gather_rows(&self.user_gmf.value, &u), b.gather_rows(&self.item_gmf.value, &i));
        let gmf = b.binary(BinaryOp::Mul, &pg, &qg);
        let pm = dropout(&b.gather_rows(&self.user_mlp.value, &u), 1);
        let qm = dropout(&b.gather_rows(&self.item_mlp.value, &i), 2);
        let (a, c) = (self.first_user.forward(b, &pm), self.first_item.forward(b, &qm));
        let z1 = b.activate(&b.binary(BinaryOp::Add, &a, &c), Act::Relu);
        let (m, saved) = self.mlp.forward_train(b, &z1, derive_seed(seed, 3));
        let (sg, sm) = (self.out_gmf.forward(b, &gmf), self.out_mlp.forward(b, &m));
        let (loss, dlogit) = b.bce_with_logits(&b.binary(BinaryOp::Add, &sg, &sm), &labels);

        // Backward.
        let (dgmf, g_out_gmf) = self.out_gmf.backward(b, &gmf, &sg, &dlogit);
        let (dm, g_out_mlp) = self.out_mlp.backward(b, &m, &sm, &dlogit);
        let (dz1, g_mlp) = self.mlp.backward(b, &saved, &dm);
        let dpre = b.activate_backward(&z1, &dz1, Act::Relu);
        let (dpm, g_first_user) = self.first_user.backward(b, &pm, &a, &dpre);
        let (dqm, g_first_item) = self.first_item.backward(b, &qm, &c, &dpre);
        let (dpm, dqm) = (dropout(&dpm, 1), dropout(&dqm, 2));
        let dpg = b.binary(BinaryOp::Mul, &dgmf, &qg);
        let dqg = b.binary(BinaryOp::Mul, &dgmf, &pg);

        // Updates: lazy Adam on the touched rows, fused Adam on each dense buffer.
        let opt = &self.opt;
        self.user_gmf.update_rows(b, &user_groups.rows, &b.scatter_add_rows(&dpg, &user_groups), opt);
        self.user_mlp.update_rows(b, &user_groups.rows, &b.scatter_add_rows(&dpm, &user_groups), opt);
        self.item_gmf.update_rows(b, &item_groups.rows, &b.scatter_add_rows(&dqg, &item_groups), opt);
        self.item_mlp.update_rows(b, &item_groups.rows, &b.scatter_add_rows(&dqm, &item_groups), opt);
        self.first_user.update(b, &g_first_user, opt);
        self.first_item.update(b, &g_first_item, opt);
        self.mlp.update(b, &g_mlp, opt);
        self.out_gmf.update(b, &g_out_gmf, opt);
        self.out_mlp.update(b, &g_out_mlp, opt);
        Ok(loss)
    }

    fn parameters(&self) -> Vec<&B::Tensor> {
        let tables = [&self.user_gmf, &self.item_gmf, &self.user_mlp, &self.item_mlp].map(|p| &p.value);
        let mut out: Vec<&B::Tensor> = tables.into();
        out.extend(self.first_user.parameters());
        out.extend(self.first_item.parameters());
        out.extend(self.mlp.parameters());
        out.extend(self.out_gmf.parameters());
        out.extend(self.out_mlp.parameters());
        out
    }

    fn parameters_mut(&mut self) -> Vec<&mut B::Tensor> {
        let mut out: Vec<&mut B::Tensor> = vec![
            &mut self.user_gmf.value,
            &mut self.item_gmf.value,
            &mut self.user_mlp.value,
            &mut self.item_mlp.value,
        ];
        out.extend(self.first_user.parameters_mut());
        out.extend(self.first_item.parameters_mut());
        out.extend(self.mlp.parameters_mut());
        out.extend(self.out_gmf.parameters_mut());
        out.extend(self.out_mlp.parameters_mut());
        out
    }

    /// The GMF and MLP item embeddings side by side, [q_i; q′_i].
    fn item_vectors(&self, b: &B) -> Option<B::Tensor> {
        let (q, q_mlp) = (b.transpose(&self.item_gmf.value), b.transpose(&self.item_mlp.value));
        Some(b.transpose(&b.concat_rows(&q, &q_mlp)))
    }

    fn refit(&self) -> Option<&dyn Refit<B>> {
        Some(self)
    }

    fn refit_mut(&mut self) -> Option<&mut dyn Refit<B>> {
        Some(self)
    }
}

impl<B: Backend> NeuMf<B> {
    /// `side`'s GMF and MLP tables.
    fn side_tables(&self, side: Side) -> [&Param<B>; 2] {
        match side {
            Side::Users => [&self.user_gmf, &self.user_mlp],
            Side::Items => [&self.item_gmf, &self.item_mlp],
        }
    }
}

/// Fold-in and incremental updates fit one side's GMF and MLP rows to the
/// training loss (BCE of each interaction against one sampled negative)
/// through the fixed layers, without dropout.
impl<B: Backend> Refit<B> for NeuMf<B> {
    fn count(&self, side: Side) -> usize {
        self.side_tables(side)[0].dims()[0]
    }

    fn widths(&self, _side: Side) -> Vec<usize> {
        vec![self.cfg.mf_dim, self.cfg.mlp_dim]
    }

    /// Chosen on the validation items of users held out of training (ML-100K).
    fn defaults(&self) -> RefitConfig {
        RefitConfig { steps: 50, lr: 0.02, ..Default::default() }
    }

    fn gather(&self, b: &B, side: Side, idx: &[u32]) -> Result<Vec<B::Tensor>> {
        let idx = b.index(idx)?;
        Ok(self.side_tables(side).iter().map(|t| b.gather_rows(&t.value, &idx)).collect())
    }

    fn row_gradients(
        &self,
        b: &B,
        side: Side,
        rows: &[B::Tensor],
        batch: &RefitBatch<'_, B>,
    ) -> Result<(B::Tensor, Vec<B::Tensor>)> {
        let n = batch.rows.len();
        // Rows 0..n: each fitted row against its partner (y = 1); n..2n: against its negative (y = 0).
        let own: Vec<u32> = batch.rows.iter().chain(batch.rows).copied().collect();
        let other: Vec<u32> = batch.partners.iter().chain(batch.negatives).copied().collect();
        let (own_i, other_i, groups) = (b.index(&own)?, b.index(&other)?, b.row_groups(&own)?);
        let [og, om] = self.side_tables(side.other());
        let (fitted_g, fitted_m) = (b.gather_rows(&rows[0], &own_i), b.gather_rows(&rows[1], &own_i));
        let (fixed_g, fixed_m) = (b.gather_rows(&og.value, &other_i), b.gather_rows(&om.value, &other_i));
        let ((pg, qg), (pm, qm)) = match side {
            Side::Users => ((&fitted_g, &fixed_g), (&fitted_m, &fixed_m)),
            Side::Items => ((&fixed_g, &fitted_g), (&fixed_m, &fitted_m)),
        };
        let labels = b.concat_rows(&b.full(&[n, 1], 1.0), &b.zeros(&[n, 1]));
        let mlp = Mlp { layers: self.mlp.layers.clone(), dropout: 0.0 };

        let gmf = b.binary(BinaryOp::Mul, pg, qg);
        let (a, c) = (self.first_user.forward(b, pm), self.first_item.forward(b, qm));
        let z1 = b.activate(&b.binary(BinaryOp::Add, &a, &c), Act::Relu);
        let (m, saved) = mlp.forward_train(b, &z1, 0);
        let (sg, sm) = (self.out_gmf.forward(b, &gmf), self.out_mlp.forward(b, &m));
        let (loss, dlogit) = b.bce_with_logits(&b.binary(BinaryOp::Add, &sg, &sm), &labels);

        let (dgmf, _) = self.out_gmf.backward(b, &gmf, &sg, &dlogit);
        let (dm, _) = self.out_mlp.backward(b, &m, &sm, &dlogit);
        let (dz1, _) = mlp.backward(b, &saved, &dm);
        let dpre = b.activate_backward(&z1, &dz1, Act::Relu);
        let (d_gmf_row, d_mlp_row) = match side {
            Side::Users => (b.binary(BinaryOp::Mul, &dgmf, qg), self.first_user.backward(b, pm, &a, &dpre).0),
            Side::Items => (b.binary(BinaryOp::Mul, &dgmf, pg), self.first_item.backward(b, qm, &c, &dpre).0),
        };
        Ok((loss, vec![b.scatter_add_rows(&d_gmf_row, &groups), b.scatter_add_rows(&d_mlp_row, &groups)]))
    }

    fn score_user_rows(&self, b: &B, rows: &[B::Tensor]) -> B::Tensor {
        self.score_rows(b, &rows[0], &rows[1])
    }

    fn write(&mut self, b: &B, side: Side, count: usize, idx: &[u32], rows: &[B::Tensor]) -> Result<()> {
        let tables = match side {
            Side::Users => [&mut self.user_gmf, &mut self.user_mlp],
            Side::Items => [&mut self.item_gmf, &mut self.item_mlp],
        };
        for (t, r) in tables.into_iter().zip(rows) {
            t.put_rows(b, count, idx, r)?;
        }
        Ok(())
    }
}
