//! GRU4Rec — B. Hidasi, A. Karatzoglou, L. Baltrunas, D. Tikk,
//! "Session-based Recommendations with Recurrent Neural Networks", ICLR 2016
//! — and the same next-item model with the LSTM cell of Hochreiter &
//! Schmidhuber (1997) in place of the GRU: two families (`gru4rec`, `lstm`),
//! one model body generic over the cell ([`Recurrent`]). Set up as RecBole's
//! GRU4Rec: item embeddings tied between the input and the output, dropout on
//! the input embeddings, a dense layer from the hidden state back to the
//! embedding size, full softmax over all items.
//!
//! ```text
//! input:   e_t = dropout(E[s_t])                  E [items, d], tied with the output
//! state:   h_t = GRU(e_t, h_{t−1}) (layers::gru, gates r z n)  or  LSTM(e_t, h_{t−1}) (layers::lstm, gates i f g o);
//!          h_{−1} = 0, masks for padding
//! output:  o_t = W_o h_t + b_o                    [d]
//! score:   ŷ_t = o_t · Eᵀ                         [items]: the next item after s_t
//! loss:    L = −(1/R) Σ_(t targets) log softmax(ŷ_t)[s_(t+1)]   (full softmax cross-entropy)
//! ```
//!
//! Training takes windows of at most `window` consecutive targets of each
//! user's time-ordered training sequence ([`crate::data::sequence`]): a
//! window of targets s_a … s_b reads the inputs s_(a−1) … s_(b−1), left-padded,
//! and every target is predicted from the inputs before it in its window,
//! so one pass over the window scores all of them (the loss reads every
//! h_t, as GRU4Rec's session-parallel training does) and an epoch predicts
//! each training target once. Scoring a user reads the last `window` items of
//! their history (training items; for the test, the validation item too,
//! see [`Model::set_history`]) and ranks all items by ŷ at the last step.
//!
//! Gradients (R real targets among the window's L·n positions):
//!   dŷ = (softmax(ŷ) − onehot)/R, do = dŷ·E, dE_out = dŷᵀ·o,
//!   the dense layer's backward to dh_t at the target positions (0 elsewhere),
//!   backpropagation through time ([`Recurrent::backprop`]) to de_t,
//!   the dropout's backward, and dE = dE_out + Σ_t onehot(s_t)ᵀ de_t summed
//!   per row in a fixed order (one deterministic scatter over the window's
//!   ids followed by every item id, so the result is the whole table).
//!
//! With `negatives` = K > 0 (sampled softmax, for catalogs too large to
//! score whole at every step) the loss of a target reads only its own logit
//! and those of K items drawn uniformly per step from the counter-based
//! stream and shared by the step's targets: ℓ_r = o_r·[E_t(r); E_n1 … E_nK]ᵀ,
//! L = −(1/R) Σ_r log softmax(ℓ_r)_0, with no log-Q term (uniform proposals
//! shift every class alike). Scoring still ranks every item.
//!
//! One training step is one submission with nothing read back. The host
//! uploads the window ids (time-major) and their 0/1 mask, the target
//! positions and items, and the two row groupings of the scatters; the
//! dispatches grow with the window through the per-step recurrence forward
//! and backward: 61 (GRU) and 63 (LSTM) for a window of 6, about 9 more per
//! further step (`tests/next_item.rs` counts them); the sampled softmax
//! adds the K negative ids and the R class-0 labels to the upload and
//! makes the GRU's 69 (`tests/sampled_softmax.rs`).
//!
//! Defaults: RecBole's GRU4Rec settings, with the windows per step chosen on
//! ML-100K's validation part only (chronological leave-one-out, early
//! stopping on validation NDCG@10, patience 10; validation NDCG@10): GRU 32
//! → 0.1091, **64 → 0.1133**, 128 → 0.1117; LSTM **32 → 0.1150**, 64 →
//! 0.1116, 128 → 0.1064, 256 → 0.1033, and at 128 dropout 0.5 → 0.1110,
//! hidden 64 → 0.1116, lr 2e-3 → 0.1076.
//!
//! The model file holds the weights and each user's last `window` history
//! items (a `[users, window]` tensor of item ids, −1 for padding), so a
//! loaded model scores without its data.

use crate::backend::{Act, AdamConfig, Backend, BinaryOp};
use crate::data::sequence::{history_windows, Sequences, WindowKind, WindowSpec, PAD};
use crate::error::{Error, Result};
use crate::init;
use crate::layers::gru::Gru;
use crate::layers::lstm::{stack_rows, Lstm};
use crate::layers::recurrent::Recurrent;
use crate::layers::{Adam, Linear, Param};
use crate::model_file::{ModelFile, NamedTensor};
use crate::models::contract::{
    download_layout, upload_layout, Batch, BatchKind, Cached, Family, Info, Layout, Model, Schedule, Scorer, Task,
    TrainSet,
};
use crate::rng::derive_seed;

/// Users per scoring chunk (their windows are encoded together).
const ENCODE_USERS: usize = 1024;

/// The GRU4Rec family (`gru4rec`).
pub struct Gru4RecFamily;

/// The LSTM next-item family (`lstm`).
pub struct LstmFamily;

/// A GRU4Rec model.
pub type Gru4Rec<B> = NextItemRnn<B, Gru<B>>;

/// An LSTM next-item model.
pub type LstmRec<B> = NextItemRnn<B, Lstm<B>>;

/// GRU4Rec's hyper-parameters.
pub type Gru4RecConfig = RnnConfig;

/// The LSTM next-item model's hyper-parameters.
pub type LstmConfig = RnnConfig;

/// Recurrent next-item hyper-parameters (defaults: RecBole's `GRU4Rec.yaml` —
/// embedding 64, hidden 128, dropout 0.3, Adam 1e-3 — with the window of
/// RecBole's `MAX_ITEM_LIST_LENGTH`, 50).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RnnConfig {
    /// Item embedding size d (input and output, tied).
    pub dim: usize,
    /// LSTM hidden size.
    pub hidden: usize,
    /// Window: most targets per training window, and history items read when scoring.
    pub window: usize,
    /// Dropout probability on the input embeddings during training.
    pub dropout: f32,
    /// Adam learning rate.
    pub lr: f32,
    /// Sampled softmax for large catalogs: with `negatives` = K > 0 each
    /// step's loss is the softmax over each target and K items drawn
    /// uniformly (shared by the step's targets), not over every item; 0 (the
    /// default) is the full softmax. Scoring always ranks every item.
    pub negatives: usize,
}

impl Default for RnnConfig {
    fn default() -> Self {
        Self { dim: 64, hidden: 128, window: 50, dropout: 0.3, lr: 1e-3, negatives: 0 }
    }
}

impl RnnConfig {
    fn check(&self, name: &str) -> Result<()> {
        for (key, v) in [("dim", self.dim), ("hidden", self.hidden), ("window", self.window)] {
            if v == 0 {
                return Err(Error::Invalid(format!("{name}: {key} must be at least 1")));
            }
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::Invalid(format!("{name}: dropout must be in [0, 1), got {}", self.dropout)));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(Error::Invalid(format!("{name}: lr must be finite and > 0, got {}", self.lr)));
        }
        Ok(())
    }
}

/// The default schedule with `batch` windows per step (chosen per family on
/// ML-100K's validation part, see the module docs).
const fn schedule(batch: usize) -> Schedule {
    Schedule { epochs: 300, patience: 10, fixed_epochs: 30, batch_size: batch, batch_unit: "windows" }
}

/// A recurrent family's registry hooks, shared by [`Gru4RecFamily`] and [`LstmFamily`].
macro_rules! rnn_family {
    ($family:ty, $cell:ident, $name:literal, $about:literal, $batch:literal) => {
        impl Family for $family {
            const INFO: Info = Info {
                name: $name,
                about: $about,
                task: Task::Ranking,
                batch: BatchKind::Sequences,
                schedule: schedule($batch),
                dim_keys: &["dim"],
                lr_key: Some("lr"),
            };
            type Config = RnnConfig;
            type Model<B: Backend> = NextItemRnn<B, $cell<B>>;

            fn validate(cfg: &RnnConfig) -> Result<()> {
                cfg.check($name)
            }

            fn build<B: Backend>(b: &B, data: &TrainSet, cfg: RnnConfig, seed: u64) -> Result<Self::Model<B>> {
                NextItemRnn::new(b, $name, &data.sequences, data.n_items(), cfg, seed)
            }

            fn layout(cfg: &RnnConfig, n_users: usize, n_items: usize) -> Layout {
                let mut out = NextItemRnn::<crate::Cpu, $cell<crate::Cpu>>::param_layout(cfg, n_items);
                out.push(("history".into(), vec![n_users, cfg.window]));
                out
            }

            fn load<B: Backend>(b: &B, cfg: RnnConfig, file: &ModelFile) -> Result<Box<dyn Model<B>>> {
                let items = file.tensor("item_embedding")?.shape[0];
                let history = history_from_tensor(file.tensor("history")?, items)?;
                let layout = NextItemRnn::<B, $cell<B>>::param_layout(&cfg, items);
                let mut model = NextItemRnn::<B, $cell<B>>::new(b, $name, &history, items, cfg, 0)?;
                upload_layout(b, file, &layout, model.parameters_mut())?;
                Ok(Box::new(model))
            }
        }
    };
}

rnn_family!(
    Gru4RecFamily,
    Gru,
    "gru4rec",
    "GRU4Rec: a GRU over each user's recent items, full softmax over all items (Hidasi et al., ICLR 2016)",
    64
);
rnn_family!(
    LstmFamily,
    Lstm,
    "lstm",
    "LSTM next-item model: an LSTM over each user's recent items, full softmax over all items (Hidasi et al.'s GRU4Rec, ICLR 2016, with an LSTM cell)",
    32
);

/// The users' recent items of a model file's `history` `[users, window]`
/// (item ids, −1 before the first item).
pub(crate) fn history_from_tensor(t: &NamedTensor, items: usize) -> Result<Sequences> {
    let width = t.shape[1];
    let mut lists = Vec::with_capacity(t.shape[0]);
    for (u, row) in t.data.chunks(width.max(1)).enumerate() {
        let first = row.iter().position(|&v| v != -1.0).unwrap_or(row.len());
        let mut list = Vec::with_capacity(row.len() - first);
        for &v in &row[first..] {
            if !(v >= 0.0 && v < items as f32 && v.fract() == 0.0) {
                return Err(Error::Invalid(format!(
                    "model file: `{}` row {u} holds {v}, not an item id below {items} after the padding (−1)",
                    t.name
                )));
            }
            list.push(v as u32);
        }
        lists.push(list);
    }
    Ok(Sequences::from_lists(&lists))
}

/// The last `window` items of each of `users` users of `history` (none past
/// its users) as the model file's `history` `[users, window]`: item ids,
/// right-aligned, −1 before them.
pub(crate) fn history_to_tensor(history: &Sequences, users: usize, window: usize) -> NamedTensor {
    let mut data = vec![-1f32; users * window];
    for u in 0..users.min(history.n_users()) {
        let h = history.recent(u, window);
        for (k, &i) in h.iter().enumerate() {
            data[u * window + window - h.len() + k] = i as f32;
        }
    }
    NamedTensor::new("history", vec![users, window], data)
}

/// Users' windows on the device, a chunk of users at a time.
struct Encoded<B: Backend> {
    /// Per chunk: window ids `[L·c]` time-major (padding as item 0), mask `[L, c]`, `c`.
    chunks: Vec<(B::Index, B::Tensor, usize)>,
    /// The host copy: each user's last `window` items.
    host: Sequences,
}

/// A recurrent next-item model with cell `C` on backend `B`.
pub struct NextItemRnn<B: Backend, C: Recurrent<B>> {
    /// Item embeddings `[items, d]`, read at the input and the output.
    pub item: Param<B>,
    /// The recurrent layer `d → hidden`.
    pub cell: C,
    /// `hidden → d`.
    pub dense: Linear<B>,
    history: Encoded<B>,
    /// The users' output vectors o `[users, d]` for the current weights and
    /// history, made on the first score after either changed.
    reps: Cached<B::Tensor>,
    opt: Adam,
    seed: u64,
    cfg: RnnConfig,
    kind: &'static str,
}

/// A window batch laid out for the device: time-major ids and mask, the
/// real target positions and their items (host side).
struct Steps {
    ids: Vec<u32>,
    mask: Vec<f32>,
    positions: Vec<u32>,
    targets: Vec<u32>,
}

/// Rows `[n, len]` of window ids (row-major, [`PAD`]-padded) → time-major
/// ids with padding as item 0, the 0/1 mask, and the (position, item) of
/// each non-padded target.
fn time_major(inputs: &[u32], targets: Option<&[u32]>, n: usize, len: usize) -> Steps {
    let mut s = Steps { ids: vec![0; n * len], mask: vec![0.0; n * len], positions: Vec::new(), targets: Vec::new() };
    for t in 0..len {
        for r in 0..n {
            let (k, v) = (t * n + r, inputs[r * len + t]);
            if v != PAD {
                s.ids[k] = v;
                s.mask[k] = 1.0;
            }
            if let Some(tg) = targets {
                let y = tg[r * len + t];
                if y != PAD {
                    s.positions.push(k as u32);
                    s.targets.push(y);
                }
            }
        }
    }
    s
}

impl<B: Backend, C: Recurrent<B>> NextItemRnn<B, C> {
    /// A seeded model of family `kind` over `items` items scoring from `history`.
    pub fn new(
        b: &B,
        kind: &'static str,
        history: &Sequences,
        items: usize,
        cfg: RnnConfig,
        seed: u64,
    ) -> Result<Self> {
        cfg.check(kind)?;
        if items == 0 || items > 1 << 24 {
            // The model file keeps the history as f32 item ids, exact below 2²⁴.
            return Err(Error::Invalid(format!("{kind}: {items} items; the model takes 1 to 2^24")));
        }
        let (d, h) = (cfg.dim, cfg.hidden);
        let item = Param::new(b, &init::xavier_normal(derive_seed(seed, 1), items, d), &[items, d])?;
        let cell = C::create(b, d, h, derive_seed(seed, 2))?;
        let dense = Linear::new(b, h, d, Act::Identity, true, derive_seed(seed, 3))?;
        let opt = Adam::new(AdamConfig { lr: cfg.lr, ..Default::default() });
        let history = Self::encode_history(b, kind, history, items, cfg.window)?;
        let reps = Cached::default();
        Ok(Self { item, cell, dense, history, reps, opt, seed: derive_seed(seed, 4), cfg, kind })
    }

    /// The names and shapes of the trained weights, in the order of [`Model::parameters`].
    pub fn param_layout(cfg: &RnnConfig, items: usize) -> Layout {
        let (d, h) = (cfg.dim, cfg.hidden);
        let mut out = vec![("item_embedding".into(), vec![items, d])];
        out.extend(C::layout(d, h).into_iter().map(|(n, s)| (format!("{}.{n}", C::NAME), s)));
        out.push(("dense.weight".into(), vec![d, h]));
        out.push(("dense.bias".into(), vec![d]));
        out
    }

    fn encode_history(b: &B, kind: &str, history: &Sequences, items: usize, len: usize) -> Result<Encoded<B>> {
        let (windows, host) = history_windows(kind, history, items, len, ENCODE_USERS)?;
        let mut chunks = Vec::with_capacity(windows.len());
        for (_, rows, c) in windows {
            let s = time_major(&rows, None, c, len);
            chunks.push((b.index(&s.ids)?, b.tensor(&s.mask, &[len, c])?, c));
        }
        Ok(Encoded { chunks, host })
    }

    /// The LSTM's hidden states over time-major window ids `[L·n]` with mask
    /// `[L, n]`, the embeddings after dropout (when `seed` is given).
    fn run(&self, b: &B, ids: &B::Index, mask: &B::Tensor, n: usize, seed: Option<u64>) -> (Vec<B::Tensor>, C::Saved) {
        let (l, d) = (self.cfg.window, self.cfg.dim);
        let mut x = b.gather_rows(&self.item.value, ids);
        if let (Some(s), true) = (seed, self.cfg.dropout > 0.0) {
            x = b.dropout(&x, self.cfg.dropout, s);
        }
        self.cell.run(b, &b.reshape(&x, &[l, n, d]), mask)
    }

    /// The batch's loss `[1]` and the gradients of every weight, in the
    /// order of [`Model::parameters`] (no update), with dropout stream `seed`.
    pub fn grads(
        &self,
        b: &B,
        inputs: &[u32],
        targets: &[u32],
        n: usize,
        seed: u64,
    ) -> Result<(B::Tensor, Vec<B::Tensor>)> {
        let (l, items) = (self.cfg.window, self.item.dims()[0]);
        let s = time_major(inputs, Some(targets), n, l);
        if s.targets.is_empty() {
            return Err(Error::Invalid(format!("{}: a batch without targets", self.kind)));
        }
        if let Some(&bad) = s.ids.iter().chain(&s.targets).find(|&&i| i as usize >= items) {
            return Err(Error::Invalid(format!("{}: item {bad} in a batch of a model over {items} items", self.kind)));
        }
        let ids = b.index(&s.ids)?;
        let mask = b.tensor(&s.mask, &[l, n])?;
        let positions = b.index(&s.positions)?;
        let target = b.index(&s.targets)?;
        // Row groupings: the target positions followed by every position
        // (so the scatter fills all L·n rows), the window ids followed by
        // every item (so it fills the whole table).
        let all_positions: Vec<u32> = s.positions.iter().copied().chain(0..(l * n) as u32).collect();
        let to_steps = b.row_groups(&all_positions)?;
        // Sampled softmax: K uniform negatives from the counter-based stream
        // (drawn on the host, the same values as `random_ints`, because the
        // table's grouping below needs their ids).
        let k = self.cfg.negatives;
        let stream = crate::rng::Stream::new(derive_seed(seed, 7));
        let negatives: Vec<u32> = (0..k as u32).map(|i| stream.u32(i) % items as u32).collect();
        let all_items: Vec<u32> = match k {
            0 => s.ids.iter().copied().chain(0..items as u32).collect(),
            _ => s.ids.iter().chain(&s.targets).chain(&negatives).copied().chain(0..items as u32).collect(),
        };
        let to_table = b.row_groups(&all_items)?;

        let (hs, saved) = self.run(b, &ids, &mask, n, Some(seed));
        let hidden = stack_rows(b, &hs); // [L·n, h]
        let at = b.gather_rows(&hidden, &positions); // [R, h]
        let o = self.dense.forward(b, &at); // [R, d]
        let (loss, d_o, de_out) = if k == 0 {
            let logits = b.matmul(&o, &self.item.value, false, true, None, Act::Identity);
            let (loss, dlogits) = b.softmax_cross_entropy(&logits, &target);
            let d_o = b.matmul(&dlogits, &self.item.value, false, false, None, Act::Identity); // [R, d]
            let de_out = b.matmul(&dlogits, &o, true, false, None, Act::Identity); // [items, d]
            (loss, d_o, de_out)
        } else {
            self.sampled_softmax(b, &o, &target, &b.index(&negatives)?, s.targets.len())?
        };
        let (d_at, g_dense) = self.dense.backward(b, &at, &o, &d_o);
        let h = self.cfg.hidden;
        let d_hidden = b.scatter_add_rows(&b.concat_rows(&d_at, &b.zeros(&[l * n, h])), &to_steps);
        let dhs: Vec<B::Tensor> = (0..l).map(|t| b.slice_rows(&d_hidden, t * n, n)).collect();
        let (dx, g_cell) = self.cell.backprop(b, &saved, &dhs);
        let mut de_in = b.reshape(&dx, &[l * n, self.cfg.dim]);
        if self.cfg.dropout > 0.0 {
            de_in = b.dropout(&de_in, self.cfg.dropout, seed);
        }
        let rows = match k {
            0 => b.concat_rows(&de_in, &de_out),
            // The target and negative rows, then zeros so the scatter fills the whole table.
            _ => b.concat_rows(&b.concat_rows(&de_in, &de_out), &b.zeros(&[items, self.cfg.dim])),
        };
        let de = b.scatter_add_rows(&rows, &to_table);
        let mut grads = vec![de];
        grads.extend(g_cell);
        grads.push(g_dense.dw);
        grads.extend(g_dense.db);
        Ok((loss, grads))
    }

    /// The sampled softmax's loss over [target; negatives] per row of `o`
    /// `[R, d]` (class 0 the target), the gradient in `o`, and the
    /// gradients of the target and negative embedding rows, stacked
    /// `[R + K, d]` in the order of `target` then `negatives`:
    ///   ℓ_r = [o_r·E_t(r), o_r·E_n1 … o_r·E_nK],  L = −(1/R) Σ_r log softmax(ℓ_r)_0.
    /// Uniform negatives need no log-Q correction (it is the same for every
    /// class); a negative that equals the row's target is kept (an
    /// accidental hit, rare when K ≪ items).
    fn sampled_softmax(
        &self,
        b: &B,
        o: &B::Tensor,
        target: &B::Index,
        negatives: &B::Index,
        r: usize,
    ) -> Result<(B::Tensor, B::Tensor, B::Tensor)> {
        let k = self.cfg.negatives;
        let e_t = b.gather_rows(&self.item.value, target); // [R, d]
        let e_n = b.gather_rows(&self.item.value, negatives); // [K, d]
        let pos = b.reshape(&b.dot_rows(o, &e_t), &[1, r]);
        let neg_t = b.matmul(&e_n, o, false, true, None, Act::Identity); // [K, R]: the negatives' logits, transposed
        let logits = b.transpose(&b.concat_rows(&pos, &neg_t)); // [R, 1 + K]
        let (loss, dlogits) = b.softmax_cross_entropy(&logits, &b.index(&vec![0; r])?);
        let dl_t = b.transpose(&dlogits); // [1 + K, R]
        let dpos = b.reshape(&b.slice_rows(&dl_t, 0, 1), &[r, 1]);
        let dneg_t = b.slice_rows(&dl_t, 1, k); // [K, R]
        let d_o = b.binary(
            BinaryOp::Add,
            &b.binary(BinaryOp::Mul, &e_t, &dpos),
            &b.matmul(&dneg_t, &e_n, true, false, None, Act::Identity),
        );
        let de_t = b.binary(BinaryOp::Mul, o, &dpos); // [R, d]
        let de_n = b.matmul(&dneg_t, o, false, false, None, Act::Identity); // [K, d]
        Ok((loss, d_o, b.concat_rows(&de_t, &de_n)))
    }

    /// Every user's output vector o at the last step of their history `[users, d]`.
    fn representations(&self, b: &B) -> B::Tensor {
        self.encode(b, &self.history)
    }

    /// The output vectors o at the last step of the windows of `history` `[users, d]`.
    fn encode(&self, b: &B, history: &Encoded<B>) -> B::Tensor {
        let parts: Vec<B::Tensor> = history
            .chunks
            .iter()
            .map(|(ids, mask, c)| {
                let (_, saved) = self.run(b, ids, mask, *c, None);
                self.dense.forward(b, C::last(&saved))
            })
            .collect();
        match parts.is_empty() {
            true => b.zeros(&[0, self.cfg.dim]),
            false => stack_rows(b, &parts),
        }
    }
}

impl<B: Backend, C: Recurrent<B>> Scorer<B> for NextItemRnn<B, C> {
    fn score_users(&self, b: &B, users: &B::Index) -> B::Tensor {
        let reps = self.reps.get_or_insert_with(|| self.representations(b));
        b.matmul(&b.gather_rows(&reps, users), &self.item.value, false, true, None, Act::Identity)
    }
}

impl<B: Backend, C: Recurrent<B>> Model<B> for NextItemRnn<B, C> {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(&self.cfg).expect("a configuration serialises to JSON")
    }

    fn batch_kind(&self) -> BatchKind {
        BatchKind::Sequences
    }

    fn window(&self) -> WindowSpec {
        WindowSpec { len: self.cfg.window, kind: WindowKind::Runs }
    }

    fn train_step(&mut self, b: &B, batch: &Batch<'_>) -> Result<B::Tensor> {
        let Batch::Sequences { users, inputs, targets, len } = *batch else {
            return Err(batch.wrong_kind(self.kind, BatchKind::Sequences));
        };
        if len != self.cfg.window || inputs.len() != users.len() * len || targets.len() != inputs.len() {
            return Err(Error::Invalid(format!(
                "{}: windows of {len} for a model of window {} ({} users, {} inputs, {} targets)",
                self.kind,
                self.cfg.window,
                users.len(),
                inputs.len(),
                targets.len()
            )));
        }
        self.opt.next_step();
        let t = self.opt.step() as u64;
        let (loss, g) = self.grads(b, inputs, targets, users.len(), derive_seed(self.seed, t))?;
        let k = g.len() - 2; // the item table, the cell's weights, the dense layer's two
        self.item.update(b, &g[0], &self.opt);
        self.cell.apply(b, &g[1..k], &self.opt);
        let (dw, db) = (g[k].clone(), g[k + 1].clone());
        self.dense.update(b, &crate::layers::LinearGrads { dw, db: Some(db) }, &self.opt);
        self.reps.clear();
        Ok(loss)
    }

    fn parameters(&self) -> Vec<&B::Tensor> {
        let mut out = vec![&self.item.value];
        out.extend(self.cell.params());
        out.extend(self.dense.parameters());
        out
    }

    fn parameters_mut(&mut self) -> Vec<&mut B::Tensor> {
        self.reps.clear();
        let mut out = vec![&mut self.item.value];
        out.extend(self.cell.params_mut());
        out.extend(self.dense.parameters_mut());
        out
    }

    fn weights(&self, b: &B) -> Result<Vec<NamedTensor>> {
        let items = self.item.dims()[0];
        let mut out = download_layout(b, &Self::param_layout(&self.cfg, items), self.parameters())?;
        out.push(history_to_tensor(&self.history.host, self.history.host.n_users(), self.cfg.window));
        Ok(out)
    }

    fn score_histories(&self, b: &B, histories: &Sequences) -> Option<Result<B::Tensor>> {
        Some(
            Self::encode_history(b, self.kind, histories, self.item.dims()[0], self.cfg.window)
                .map(|h| b.matmul(&self.encode(b, &h), &self.item.value, false, true, None, Act::Identity)),
        )
    }

    fn set_history(&mut self, b: &B, history: &Sequences) -> Result<()> {
        self.history = Self::encode_history(b, self.kind, history, self.item.dims()[0], self.cfg.window)?;
        self.reps.clear();
        Ok(())
    }

    /// The (tied) item embeddings.
    fn item_vectors(&self, _b: &B) -> Option<B::Tensor> {
        Some(self.item.value.clone())
    }
}
