//! Mult-DAE — D. Liang, R. G. Krishnan, M. D. Hoffman, T. Jebara,
//! "Variational Autoencoders for Collaborative Filtering", WWW 2018 (§2.3,
//! the denoising autoencoder with a multinomial likelihood).
//!
//! score:  ŷ(u, ·) = f_dec(f_enc(x_u / ‖x_u‖))   (no dropout at scoring time)
//! loss:   L = −(1/n) Σ_u Σ_i x_ui · log softmax(f_dec(f_enc(dropout(x_u / ‖x_u‖))))_i
//!
//! x_u is user u's 0/1 training row over all items. As RecBole's MultiDAE:
//! the encoder is tanh layers `items → hidden… → latent` whose last layer is
//! linear, the decoder mirrors it `latent → …hidden → items` (tanh between,
//! linear logits), dropout (p = 0.5) only on the normalised input,
//! Xavier-normal weights with zero biases, Adam.
//!
//! The training matrix is uploaded once as CSR; a batch of users uploads only
//! their ids and its dense rows are built on the device
//! ([`Backend::csr_rows_dense`]). With y = log softmax(logits) the gradient
//! of L in the logits is ∂L/∂logits = (softmax · Σ_i x_ui − x_u) / n
//! ([`Backend::log_softmax_backward`] of −x/n), then each layer's explicit
//! backward ([`Mlp::backward`]). One training step is one submission of 39
//! dispatches with one hidden layer (40 with the loop's loss accumulation;
//! counted by `tests/autoencoders.rs`): the dense rows and their
//! normalisation, dropout, four matmuls forward, the log-softmax, the loss
//! and its gradient, each layer's backward (the encoder's without the input
//! gradient) and eight fused Adam updates. Only the user ids are uploaded;
//! nothing is read back.
//!
//! The model file holds the weights and the users' training rows (a dense
//! 0/1 `history`, as EASE's), so a loaded model scores without its data.
//!
//! Batch of 512 users chosen on ML-100K's validation part (per-user 8:1:1,
//! seed 2024; validation NDCG@10 for 32 / 64 / 128 / 256 / 512 users:
//! 0.2416 / 0.2444 / 0.2446 / 0.2489 / 0.2493; lr 2e-3 at 64: 0.2373).

use crate::backend::{Act, AdamConfig, Backend, BinaryOp, Csr, Reduce, Shaped, UnaryOp};
use crate::data::sequence::Sequences;
use crate::error::{Error, Result};
use crate::layers::{Adam, LinearGrads, Mlp};
use crate::model_file::{ModelFile, NamedTensor};
use crate::models::contract::{
    download_layout, upload_layout, Batch, BatchKind, Family, Info, Layout, Model, Schedule, Scorer, Task, TrainSet,
};
use crate::models::ease::{history_from_dense, history_to_dense};
use crate::rng::derive_seed;
use crate::sparse::CsrHost;

/// The Mult-DAE family (`multdae`).
pub struct MultDaeFamily;

/// Mult-DAE hyper-parameters (defaults: RecBole's `MultiDAE.yaml`; the
/// batch of users is the schedule's, chosen on ML-100K's validation part).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MultDaeConfig {
    /// Widths of the encoder's hidden layers (the decoder mirrors them).
    pub hidden: Vec<usize>,
    /// Size of the code between encoder and decoder.
    pub latent: usize,
    /// Dropout probability on the normalised input row during training.
    pub dropout: f32,
    /// Adam learning rate.
    pub lr: f32,
}

impl Default for MultDaeConfig {
    fn default() -> Self {
        Self { hidden: vec![600], latent: 64, dropout: 0.5, lr: 1e-3 }
    }
}

/// An error for sizes or rates no autoencoder can be built with (shared with Mult-VAE).
pub(crate) fn check_autoencoder(model: &str, hidden: &[usize], latent: usize, dropout: f32, lr: f32) -> Result<()> {
    if latent == 0 || hidden.contains(&0) {
        return Err(Error::Invalid(format!("{model} needs positive sizes: latent {latent}, hidden {hidden:?}")));
    }
    if !((0.0..1.0).contains(&dropout) && lr.is_finite() && lr >= 0.0) {
        return Err(Error::Invalid(format!("{model}: dropout {dropout} outside [0, 1) or lr {lr}")));
    }
    Ok(())
}

impl Family for MultDaeFamily {
    const INFO: Info = Info {
        name: "multdae",
        about: "Mult-DAE: a denoising autoencoder over each user's row with a multinomial likelihood (Liang et al., WWW 2018)",
        task: Task::Ranking,
        batch: BatchKind::UserRows,
        schedule: Schedule { epochs: 300, patience: 10, fixed_epochs: 100, batch_size: 512, batch_unit: "users" },
        dim_keys: &["latent"],
        lr_key: Some("lr"),
    };
    type Config = MultDaeConfig;
    type Model<B: Backend> = MultDae<B>;

    fn validate(cfg: &MultDaeConfig) -> Result<()> {
        check_autoencoder("Mult-DAE", &cfg.hidden, cfg.latent, cfg.dropout, cfg.lr)
    }

    fn build<B: Backend>(b: &B, data: &TrainSet, cfg: MultDaeConfig, seed: u64) -> Result<MultDae<B>> {
        MultDae::new(b, &data.interactions, cfg, seed)
    }

    fn layout(cfg: &MultDaeConfig, n_users: usize, n_items: usize) -> Layout {
        let mut out = MultDae::<crate::Cpu>::param_layout(cfg, n_items);
        out.push(("history".into(), vec![n_users, n_items]));
        out
    }

    fn load<B: Backend>(b: &B, cfg: MultDaeConfig, file: &ModelFile) -> Result<Box<dyn Model<B>>> {
        let history = history_from_dense(file.tensor("history")?)?;
        let layout = MultDae::<B>::param_layout(&cfg, history.cols);
        let mut model = MultDae::new(b, &history, cfg, 0)?;
        upload_layout(b, file, &layout, model.parameters_mut())?;
        Ok(Box::new(model))
    }
}

/// The users' training rows, on the device for building batches and kept on
/// the host for the model file (shared with Mult-VAE).
pub(crate) struct History<B: Backend> {
    /// Users × items, values 1.
    pub(crate) device: Csr<B>,
    pub(crate) host: CsrHost,
}

impl<B: Backend> History<B> {
    /// Uploads `x` (users × items) once, its values set to 1.
    pub(crate) fn new(b: &B, x: &CsrHost) -> Result<Self> {
        let mut host = x.clone();
        host.vals.iter_mut().for_each(|v| *v = 1.0);
        Ok(Self { device: b.csr(&host)?, host })
    }

    /// `score` over the 0/1 rows of `histories` (users the model may never
    /// have seen) on the same `items`, uploaded as a history of their own:
    /// a history scores as a user's training row would.
    pub(crate) fn score_histories(
        &self,
        b: &B,
        histories: &Sequences,
        score: impl Fn(&Self, &B::Index) -> B::Tensor,
    ) -> Result<B::Tensor> {
        let rows = histories.to_rows(self.items())?;
        let all = b.index(&(0..rows.rows as u32).collect::<Vec<_>>())?;
        Ok(score(&Self::new(b, &rows)?, &all))
    }

    /// Number of items.
    pub(crate) fn items(&self) -> usize {
        self.host.cols
    }

    /// The dense 0/1 rows `x` `[n, items]` of `users` and the same rows
    /// scaled to unit L2 norm, x_u / ‖x_u‖ (a user without interactions
    /// stays 0; for 0/1 rows ‖x_u‖² = Σ_i x_ui, so no squaring pass).
    pub(crate) fn rows(&self, b: &B, users: &B::Index) -> (B::Tensor, B::Tensor) {
        let x = b.csr_rows_dense(&self.device, users);
        let n = x.dims()[0];
        let count = b.scale(&b.reduce_rows(&x, Reduce::Sum), 1.0, 1e-24);
        let inv = b.unary(UnaryOp::Recip, &b.unary(UnaryOp::Sqrt, &count));
        let xn = b.binary(BinaryOp::Mul, &x, &b.reshape(&inv, &[n, 1]));
        (x, xn)
    }
}

/// The multinomial negative log-likelihood of `logits` `[n, items]` against
/// the 0/1 rows `x`: (−(1/n) Σ_u Σ_i x_ui log softmax(logits_u)_i `[1]`,
/// its gradient in the logits `[n, items]`).
pub(crate) fn multinomial<B: Backend>(b: &B, logits: &B::Tensor, x: &B::Tensor) -> (B::Tensor, B::Tensor) {
    let n = logits.dims()[0];
    let inv_n = 1.0 / n.max(1) as f32;
    let y = b.log_softmax(logits);
    let per_user = b.reduce_rows(&b.binary(BinaryOp::Mul, x, &y), Reduce::Sum);
    let loss = b.scale(&b.reduce_rows(&b.reshape(&per_user, &[1, n]), Reduce::Sum), -inv_n, 0.0);
    let grad = b.log_softmax_backward(&y, &b.scale(x, -inv_n, 0.0));
    (b.reshape(&loss, &[1]), grad)
}

/// The decoder's layer widths `latent → hidden (reversed) → items`.
pub(crate) fn decoder_sizes(hidden: &[usize], latent: usize, items: usize) -> Vec<usize> {
    std::iter::once(latent).chain(hidden.iter().rev().copied()).chain([items]).collect()
}

/// The names and shapes of an [`Mlp`]'s weights of widths `sizes`, prefixed `name`.
pub(crate) fn mlp_layout(name: &str, sizes: &[usize]) -> Layout {
    let mut out = Layout::new();
    for (l, w) in sizes.windows(2).enumerate() {
        out.push((format!("{name}.{l}.weight"), vec![w[1], w[0]]));
        out.push((format!("{name}.{l}.bias"), vec![w[1]]));
    }
    out
}

/// A Mult-DAE model on backend `B`.
pub struct MultDae<B: Backend> {
    /// `items → hidden… → latent`, tanh, the last layer linear.
    pub encoder: Mlp<B>,
    /// `latent → …hidden → items`, tanh, the last layer linear (the logits).
    pub decoder: Mlp<B>,
    history: History<B>,
    opt: Adam,
    seed: u64,
    cfg: MultDaeConfig,
}

/// Gradients of one Mult-DAE step.
pub struct MultDaeGrads<B: Backend> {
    /// The batch's loss `[1]`.
    pub loss: B::Tensor,
    /// Per encoder layer.
    pub encoder: Vec<LinearGrads<B>>,
    /// Per decoder layer.
    pub decoder: Vec<LinearGrads<B>>,
}

impl<B: Backend> MultDae<B> {
    /// Xavier-normal layers with zero biases, seeded, over the users × items
    /// training matrix `x`.
    pub fn new(b: &B, x: &CsrHost, cfg: MultDaeConfig, seed: u64) -> Result<Self> {
        MultDaeFamily::validate(&cfg)?;
        let items = x.cols;
        let enc: Vec<usize> = std::iter::once(items).chain(cfg.hidden.iter().copied()).chain([cfg.latent]).collect();
        let encoder = Mlp::new(b, &enc, Act::Tanh, Act::Identity, 0.0, derive_seed(seed, 1))?;
        let dec = decoder_sizes(&cfg.hidden, cfg.latent, items);
        let decoder = Mlp::new(b, &dec, Act::Tanh, Act::Identity, 0.0, derive_seed(seed, 2))?;
        let opt = Adam::new(AdamConfig { lr: cfg.lr, ..Default::default() });
        Ok(Self { encoder, decoder, history: History::new(b, x)?, opt, seed: derive_seed(seed, 3), cfg })
    }

    /// The names and shapes of the trained weights, in the order of [`Model::parameters`].
    pub fn param_layout(cfg: &MultDaeConfig, items: usize) -> Layout {
        let enc: Vec<usize> = std::iter::once(items).chain(cfg.hidden.iter().copied()).chain([cfg.latent]).collect();
        let mut out = mlp_layout("encoder", &enc);
        out.extend(mlp_layout("decoder", &decoder_sizes(&cfg.hidden, cfg.latent, items)));
        out
    }

    /// The loss of the batch `users` with the dropout mask of stream `seed`,
    /// and its gradients in every weight (no update).
    pub fn grads(&self, b: &B, users: &[u32], seed: u64) -> Result<MultDaeGrads<B>> {
        let (x, xn) = self.history.rows(b, &b.index(users)?);
        let h = if self.cfg.dropout > 0.0 { b.dropout(&xn, self.cfg.dropout, seed) } else { xn };
        let (z, enc) = self.encoder.forward_train(b, &h, seed);
        let (logits, dec) = self.decoder.forward_train(b, &z, seed);
        let (loss, dlogits) = multinomial(b, &logits, &x);
        let (dz, decoder) = self.decoder.backward(b, &dec, &dlogits);
        let encoder = self.encoder.backward_weights(b, &enc, &dz);
        Ok(MultDaeGrads { loss, encoder, decoder })
    }
}

impl<B: Backend> MultDae<B> {
    /// Scores over every item from the `users`' rows of `history`.
    fn score_rows(&self, b: &B, history: &History<B>, users: &B::Index) -> B::Tensor {
        let (_, xn) = history.rows(b, users);
        self.decoder.forward(b, &self.encoder.forward(b, &xn))
    }
}

impl<B: Backend> Scorer<B> for MultDae<B> {
    fn score_users(&self, b: &B, users: &B::Index) -> B::Tensor {
        self.score_rows(b, &self.history, users)
    }
}

impl<B: Backend> Model<B> for MultDae<B> {
    fn kind(&self) -> &'static str {
        MultDaeFamily::INFO.name
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(&self.cfg).expect("a configuration serialises to JSON")
    }

    fn batch_kind(&self) -> BatchKind {
        BatchKind::UserRows
    }

    fn train_step(&mut self, b: &B, batch: &Batch<'_>) -> Result<B::Tensor> {
        let Batch::Users { users } = batch else {
            return Err(batch.wrong_kind(MultDaeFamily::INFO.name, BatchKind::UserRows));
        };
        self.opt.next_step();
        let g = self.grads(b, users, derive_seed(self.seed, self.opt.step() as u64))?;
        self.encoder.update(b, &g.encoder, &self.opt);
        self.decoder.update(b, &g.decoder, &self.opt);
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
        let mut out = download_layout(b, &Self::param_layout(&self.cfg, self.history.items()), self.parameters())?;
        out.push(history_to_dense(&self.history.host));
        Ok(out)
    }

    /// A history scores as a user's training row would: its distinct items, normalised.
    fn score_histories(&self, b: &B, histories: &Sequences) -> Option<Result<B::Tensor>> {
        Some(self.history.score_histories(b, histories, |rows, all| self.score_rows(b, rows, all)))
    }

    /// The decoder's output weights, one row per item.
    fn item_vectors(&self, _b: &B) -> Option<B::Tensor> {
        self.decoder.layers.last().map(|l| l.weight.value.clone())
    }
}
