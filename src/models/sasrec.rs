//! SASRec — W.-C. Kang, J. McAuley, "Self-Attentive Sequential
//! Recommendation", ICDM 2018 — set up as RecBole's `SASRec`: item
//! embeddings tied between the input and the output, a learned positional
//! embedding, layer norm and dropout on the input, `layers` Transformer
//! blocks of causal multi-head self-attention and a point-wise feed-forward
//! network, each with a residual connection and a post-layer norm, and a
//! full softmax over all items.
//!
//! ```text
//! input:   x⁰ = dropout(LN₀(E[s_t] + P[t]))          E [items, d] (tied), P [L, d]
//! block ℓ: per head h (dh = d/heads):
//!            Q_h = x W^Q_h + b, K_h = x W^K_h + b, V_h = x W^V_h + b        [L, dh]
//!            A_h = dropout_a(softmax_mask(Q_h K_hᵀ / √dh))                   keys j ≤ t, not padding
//!          a   = dropout(Σ_h (A_h V_h) W^O_hᵀ + b^O)      (W^O kept as per-head column blocks)
//!          y   = LN₁(a + x)
//!          f   = dropout(W₂ ReLU(W₁ y + b₁) + b₂)
//!          x'  = LN₂(f + y)
//! score:   ŷ_t = x^L_t · Eᵀ                          [items]: the next item after s_t
//! loss:    L = −(1/R) Σ_(t targets) log softmax(ŷ_t)[s_(t+1)]   (full softmax cross-entropy)
//! ```
//!
//! The activation is ReLU where RecBole's default is GELU: [`Act`] has no
//! GELU. Heads are computed one at a time with their own projections (a
//! head's Q, K, V are `[n, L, dh]` straight out of a matmul, no head
//! transpose), which is the same function as one `[d, d]` projection split
//! into heads. Padding (inputs before a window's first item) reads item 0's
//! embedding, but every padded key is masked for every query and every
//! padded position is a fully masked query whose output reaches no target,
//! so padding changes neither the loss nor any gradient (exactly: the masked
//! softmax gives 0 and its backward 0 there).
//!
//! Training takes windows of at most `window` consecutive targets of each
//! user's time-ordered training sequence, left-padded, as GRU4Rec does
//! ([`crate::models::gru4rec`]): the causal mask makes every position a
//! prediction of the next item from the inputs before it, so one pass over
//! a window scores all of its targets. Scoring a user reads the last
//! `window` items of their history and ranks all items by ŷ at the last
//! position.
//!
//! Gradients: the softmax cross-entropy's (softmax − onehot)/R, the tied
//! output's dE_out = dŷᵀ·x^L, then each block in reverse: layer norms by
//! [`Backend::layer_norm_backward`], the feed-forward and projections by
//! [`Linear::backward`], the attention by the batched matmul's backward
//! (dP = dC·Vᵀ, dV = Aᵀ·dC, dS = masked_softmax_backward(A, dP)/√dh,
//! dQ = dS·K, dK = dSᵀ·Q), dropouts by re-applying their masks; dP_pos is
//! the sum over windows, and dE = dE_out + Σ_t onehot(s_t)ᵀ dx⁰_t in one
//! deterministic scatter over the window ids followed by every item id.
//!
//! One training step is one submission with nothing read back. The host
//! uploads the window ids and their 0/1 key mask (`[n, L]`), the target
//! positions and items, and the two row groupings of the scatters. A step
//! records 20 + layers·(31 + 38·heads) dispatches whatever the window (each
//! head's forward, backward and Adam updates 38; the rest of a block 31;
//! input, output, loss and the input layer's updates 20): 234 for the
//! default 2 blocks of 2 heads (`tests/next_item.rs` counts them).
//!
//! Defaults: RecBole's `SASRec.yaml` — 2 blocks, 2 heads, hidden 64, inner
//! 256, hidden and attention dropout 0.5, layer-norm eps 1e-12, weights
//! N(0, 0.02²), Adam 1e-3 — with the window of RecBole's
//! `MAX_ITEM_LIST_LENGTH`, 50, and 64 windows per step, chosen on ML-100K's
//! validation part only (chronological leave-one-out, early stopping on
//! validation NDCG@10, patience 10; validation NDCG@10): **64 → 0.1220**,
//! 128 → 0.1161, 256 → 0.1189.
//!
//! The model file holds the weights and each user's last `window` history
//! items (a `[users, window]` tensor of item ids, −1 for padding), as
//! GRU4Rec's does, so a loaded model scores without its data.

use crate::backend::{Act, AdamConfig, Backend, BinaryOp, LayerNormStep, Reduce};
use crate::data::sequence::{history_windows, Sequences, WindowKind, WindowSpec, PAD};
use crate::error::{Error, Result};
use crate::init;
use crate::layers::lstm::stack_rows;
use crate::layers::{Adam, Linear, Param};
use crate::model_file::ModelFile;
use crate::model_file::NamedTensor;
use crate::models::contract::{
    download_layout, upload_layout, Batch, BatchKind, Cached, Family, Info, Layout, Model, Schedule, Scorer, Task,
    TrainSet,
};
use crate::models::gru4rec::{history_from_tensor, history_to_tensor};
use crate::rng::derive_seed;

/// Users per scoring chunk (their windows are encoded together).
const ENCODE_USERS: usize = 512;

/// RecBole's `initializer_range`: weights are N(0, 0.02²).
const INIT_STD: f32 = 0.02;

/// The SASRec family (`sasrec`).
pub struct SasRecFamily;

/// SASRec's hyper-parameters (defaults: RecBole's `SASRec.yaml`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SasRecConfig {
    /// Hidden size d (item and position embeddings, every block's width).
    pub dim: usize,
    /// Attention heads (d must be a multiple).
    pub heads: usize,
    /// Transformer blocks.
    pub layers: usize,
    /// Inner size of the point-wise feed-forward network.
    pub inner: usize,
    /// Window: most targets per training window, and history items read when scoring.
    pub window: usize,
    /// Dropout on the input, after each attention and after each feed-forward (RecBole's `hidden_dropout_prob`).
    pub dropout: f32,
    /// Dropout on the attention probabilities (RecBole's `attn_dropout_prob`).
    pub attn_dropout: f32,
    /// Layer-norm epsilon.
    pub eps: f32,
    /// Adam learning rate.
    pub lr: f32,
}

impl Default for SasRecConfig {
    fn default() -> Self {
        Self {
            dim: 64,
            heads: 2,
            layers: 2,
            inner: 256,
            window: 50,
            dropout: 0.5,
            attn_dropout: 0.5,
            eps: 1e-12,
            lr: 1e-3,
        }
    }
}

impl SasRecConfig {
    fn check(&self) -> Result<()> {
        for (key, v) in [
            ("dim", self.dim),
            ("heads", self.heads),
            ("layers", self.layers),
            ("inner", self.inner),
            ("window", self.window),
        ] {
            if v == 0 {
                return Err(Error::Invalid(format!("sasrec: {key} must be at least 1")));
            }
        }
        if !self.dim.is_multiple_of(self.heads) {
            return Err(Error::Invalid(format!("sasrec: dim {} is not a multiple of heads {}", self.dim, self.heads)));
        }
        for (key, p) in [("dropout", self.dropout), ("attn_dropout", self.attn_dropout)] {
            if !(0.0..1.0).contains(&p) {
                return Err(Error::Invalid(format!("sasrec: {key} must be in [0, 1), got {p}")));
            }
        }
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return Err(Error::Invalid(format!("sasrec: eps must be finite and > 0, got {}", self.eps)));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(Error::Invalid(format!("sasrec: lr must be finite and > 0, got {}", self.lr)));
        }
        Ok(())
    }
}

impl Family for SasRecFamily {
    const INFO: Info = Info {
        name: "sasrec",
        about: "SASRec: causal multi-head self-attention over each user's recent items, full softmax over all items (Kang & McAuley, ICDM 2018)",
        task: Task::Ranking,
        batch: BatchKind::Sequences,
        schedule: Schedule { epochs: 300, patience: 10, fixed_epochs: 30, batch_size: 64, batch_unit: "windows" },
        dim_keys: &["dim"],
        lr_key: Some("lr"),
    };
    type Config = SasRecConfig;
    type Model<B: Backend> = SasRec<B>;

    fn validate(cfg: &SasRecConfig) -> Result<()> {
        cfg.check()
    }

    fn build<B: Backend>(b: &B, data: &TrainSet, cfg: SasRecConfig, seed: u64) -> Result<SasRec<B>> {
        SasRec::new(b, &data.sequences, data.n_items(), cfg, seed)
    }

    fn layout(cfg: &SasRecConfig, n_users: usize, n_items: usize) -> Layout {
        let mut out = SasRec::<crate::Cpu>::param_layout(cfg, n_items);
        out.push(("history".into(), vec![n_users, cfg.window]));
        out
    }

    fn load<B: Backend>(b: &B, cfg: SasRecConfig, file: &ModelFile) -> Result<Box<dyn Model<B>>> {
        let items = file.tensor("item_embedding")?.shape[0];
        let history = history_from_tensor(file.tensor("history")?, items)?;
        let layout = SasRec::<B>::param_layout(&cfg, items);
        let mut model = SasRec::<B>::new(b, &history, items, cfg, 0)?;
        upload_layout(b, file, &layout, model.parameters_mut())?;
        Ok(Box::new(model))
    }
}

/// A layer norm's scale and shift.
struct Norm<B: Backend> {
    gamma: Param<B>,
    beta: Param<B>,
}

impl<B: Backend> Norm<B> {
    fn new(b: &B, d: usize) -> Result<Self> {
        Ok(Self { gamma: Param::new(b, &vec![1.0; d], &[d])?, beta: Param::zeros(b, &[d]) })
    }
}

/// One Transformer block: per-head projections, the output projection as
/// per-head column blocks (the bias on head 0's), two layer norms and the
/// feed-forward pair.
struct Block<B: Backend> {
    q: Vec<Linear<B>>,
    k: Vec<Linear<B>>,
    v: Vec<Linear<B>>,
    o: Vec<Linear<B>>,
    ln1: Norm<B>,
    ff1: Linear<B>,
    ff2: Linear<B>,
    ln2: Norm<B>,
}

/// What a block's backward needs of its forward.
struct BlockSaved<B: Backend> {
    x: B::Tensor,
    heads: Vec<HeadSaved<B>>,
    r1: B::Tensor,
    ln1: LayerNormStep<B>,
    f1: B::Tensor,
    f2: B::Tensor,
    r2: B::Tensor,
    ln2: LayerNormStep<B>,
}

/// One head's forward: projections `[n, L, dh]`, probabilities before and
/// after dropout `[n, L, L]`, context `[n·L, dh]` and its projection `[n·L, d]`.
struct HeadSaved<B: Backend> {
    q: B::Tensor,
    k: B::Tensor,
    v: B::Tensor,
    p: B::Tensor,
    pd: B::Tensor,
    c: B::Tensor,
    out: B::Tensor,
}

/// A chunk of users' windows: ids `[c·L]` (padding as item 0), key mask
/// `[c, L]`, the rows of the last positions `[c]`, and `c`.
type Chunk<B> = (<B as Backend>::Index, <B as Backend>::Tensor, <B as Backend>::Index, usize);

/// Users' windows on the device, a chunk of users at a time.
struct Encoded<B: Backend> {
    /// The chunks, in user order.
    chunks: Vec<Chunk<B>>,
    /// The host copy: each user's last `window` items.
    host: Sequences,
}

/// A SASRec model on backend `B`.
pub struct SasRec<B: Backend> {
    /// Item embeddings `[items, d]`, read at the input and the output.
    pub item: Param<B>,
    /// Positional embeddings `[window, d]`.
    pub position: Param<B>,
    ln0: Norm<B>,
    blocks: Vec<Block<B>>,
    history: Encoded<B>,
    /// The users' last-position outputs `[users, d]` for the current weights and history.
    reps: Cached<B::Tensor>,
    opt: Adam,
    seed: u64,
    cfg: SasRecConfig,
}

/// Rows `[n, len]` of window ids ([`PAD`]-padded) → ids with padding as item
/// 0, the 0/1 key mask, and the (row, item) of each non-padded target.
struct Steps {
    ids: Vec<u32>,
    mask: Vec<f32>,
    positions: Vec<u32>,
    targets: Vec<u32>,
}

fn steps(inputs: &[u32], targets: Option<&[u32]>) -> Steps {
    let n = inputs.len();
    let mut s = Steps { ids: vec![0; n], mask: vec![0.0; n], positions: Vec::new(), targets: Vec::new() };
    for (k, &v) in inputs.iter().enumerate() {
        if v != PAD {
            s.ids[k] = v;
            s.mask[k] = 1.0;
        }
        if let Some(tg) = targets {
            if tg[k] != PAD {
                s.positions.push(k as u32);
                s.targets.push(tg[k]);
            }
        }
    }
    s
}

fn linear<B: Backend>(b: &B, fan_in: usize, fan_out: usize, act: Act, bias: bool, seed: u64) -> Result<Linear<B>> {
    let w = init::normal(seed, fan_in * fan_out, INIT_STD);
    let zeros = vec![0.0; fan_out];
    Linear::from_weights(b, &w, bias.then_some(&zeros[..]), fan_in, fan_out, act)
}

impl<B: Backend> SasRec<B> {
    /// A seeded model over `items` items scoring from `history`.
    pub fn new(b: &B, history: &Sequences, items: usize, cfg: SasRecConfig, seed: u64) -> Result<Self> {
        cfg.check()?;
        if items == 0 || items > 1 << 24 {
            // The model file keeps the history as f32 item ids, exact below 2²⁴.
            return Err(Error::Invalid(format!("sasrec: {items} items; the model takes 1 to 2^24")));
        }
        let (d, dh) = (cfg.dim, cfg.dim / cfg.heads);
        let item = Param::normal(b, &[items, d], INIT_STD, derive_seed(seed, 1))?;
        let position = Param::normal(b, &[cfg.window, d], INIT_STD, derive_seed(seed, 2))?;
        let mut blocks = Vec::with_capacity(cfg.layers);
        for l in 0..cfg.layers {
            let s = |k: u64| derive_seed(seed, 100 + 100 * l as u64 + k);
            let heads = |base: u64| -> Result<Vec<Linear<B>>> {
                (0..cfg.heads).map(|h| linear(b, d, dh, Act::Identity, true, s(base + h as u64 * 4))).collect()
            };
            let o = (0..cfg.heads)
                .map(|h| linear(b, dh, d, Act::Identity, h == 0, s(3 + h as u64 * 4)))
                .collect::<Result<Vec<_>>>()?;
            blocks.push(Block {
                q: heads(0)?,
                k: heads(1)?,
                v: heads(2)?,
                o,
                ln1: Norm::new(b, d)?,
                ff1: linear(b, d, cfg.inner, Act::Relu, true, s(90))?,
                ff2: linear(b, cfg.inner, d, Act::Identity, true, s(91))?,
                ln2: Norm::new(b, d)?,
            });
        }
        let opt = Adam::new(AdamConfig { lr: cfg.lr, ..Default::default() });
        let history = Self::encode_history(b, history, items, cfg.window)?;
        Ok(Self {
            item,
            position,
            ln0: Norm::new(b, d)?,
            blocks,
            history,
            reps: Cached::default(),
            opt,
            seed: derive_seed(seed, 3),
            cfg,
        })
    }

    /// The names and shapes of the trained weights, in the order of [`Model::parameters`].
    pub fn param_layout(cfg: &SasRecConfig, items: usize) -> Layout {
        let (d, dh) = (cfg.dim, cfg.dim / cfg.heads.max(1));
        let mut out = vec![
            ("item_embedding".into(), vec![items, d]),
            ("position_embedding".into(), vec![cfg.window, d]),
            ("ln0.gamma".into(), vec![d]),
            ("ln0.beta".into(), vec![d]),
        ];
        for l in 0..cfg.layers {
            for h in 0..cfg.heads {
                for p in ["q", "k", "v"] {
                    out.push((format!("block{l}.{p}{h}.weight"), vec![dh, d]));
                    out.push((format!("block{l}.{p}{h}.bias"), vec![dh]));
                }
                out.push((format!("block{l}.o{h}.weight"), vec![d, dh]));
                if h == 0 {
                    out.push((format!("block{l}.o.bias"), vec![d]));
                }
            }
            out.push((format!("block{l}.ln1.gamma"), vec![d]));
            out.push((format!("block{l}.ln1.beta"), vec![d]));
            out.push((format!("block{l}.ff1.weight"), vec![cfg.inner, d]));
            out.push((format!("block{l}.ff1.bias"), vec![cfg.inner]));
            out.push((format!("block{l}.ff2.weight"), vec![d, cfg.inner]));
            out.push((format!("block{l}.ff2.bias"), vec![d]));
            out.push((format!("block{l}.ln2.gamma"), vec![d]));
            out.push((format!("block{l}.ln2.beta"), vec![d]));
        }
        out
    }

    /// Every trained parameter, in the order of [`SasRec::param_layout`].
    fn params(&self) -> Vec<&Param<B>> {
        let mut out = vec![&self.item, &self.position, &self.ln0.gamma, &self.ln0.beta];
        for bl in &self.blocks {
            for h in 0..self.cfg.heads {
                for lin in [&bl.q[h], &bl.k[h], &bl.v[h], &bl.o[h]] {
                    out.push(&lin.weight);
                    out.extend(lin.bias.as_ref());
                }
            }
            out.extend([&bl.ln1.gamma, &bl.ln1.beta, &bl.ff1.weight]);
            out.extend(bl.ff1.bias.as_ref());
            out.push(&bl.ff2.weight);
            out.extend(bl.ff2.bias.as_ref());
            out.extend([&bl.ln2.gamma, &bl.ln2.beta]);
        }
        out
    }

    fn params_mut(&mut self) -> Vec<&mut Param<B>> {
        let heads = self.cfg.heads;
        let mut out = vec![&mut self.item, &mut self.position, &mut self.ln0.gamma, &mut self.ln0.beta];
        for bl in &mut self.blocks {
            let Block { q, k, v, o, ln1, ff1, ff2, ln2 } = bl;
            for (((q, k), v), o) in q.iter_mut().zip(k.iter_mut()).zip(v.iter_mut()).zip(o.iter_mut()).take(heads) {
                for lin in [q, k, v, o] {
                    out.push(&mut lin.weight);
                    out.extend(lin.bias.as_mut());
                }
            }
            out.extend([&mut ln1.gamma, &mut ln1.beta, &mut ff1.weight]);
            out.extend(ff1.bias.as_mut());
            out.push(&mut ff2.weight);
            out.extend(ff2.bias.as_mut());
            out.extend([&mut ln2.gamma, &mut ln2.beta]);
        }
        out
    }

    fn encode_history(b: &B, history: &Sequences, items: usize, len: usize) -> Result<Encoded<B>> {
        let (windows, host) = history_windows("sasrec", history, items, len, ENCODE_USERS)?;
        let mut chunks = Vec::with_capacity(windows.len());
        for (_, rows, c) in windows {
            let s = steps(&rows, None);
            let last: Vec<u32> = (0..c).map(|r| (r * len + len - 1) as u32).collect();
            chunks.push((b.index(&s.ids)?, b.tensor(&s.mask, &[c, len])?, b.index(&last)?, c));
        }
        Ok(Encoded { chunks, host })
    }

    /// Dropout `p` with stream `seed` when training (`seed` given) and `p > 0`.
    fn drop(b: &B, x: B::Tensor, p: f32, seed: Option<u64>) -> B::Tensor {
        match seed {
            Some(s) if p > 0.0 => b.dropout(&x, p, s),
            _ => x,
        }
    }

    /// The input layer over window ids `[n·L]`: (e = E[s] + P, its layer norm, x⁰).
    fn embed(&self, b: &B, ids: &B::Index, n: usize, seed: Option<u64>) -> (B::Tensor, LayerNormStep<B>, B::Tensor) {
        let (l, d) = (self.cfg.window, self.cfg.dim);
        let e = b.gather_rows(&self.item.value, ids);
        let e = b.reshape(&b.binary(BinaryOp::Add, &b.reshape(&e, &[n, l, d]), &self.position.value), &[n * l, d]);
        let ln = b.layer_norm(&e, &self.ln0.gamma.value, &self.ln0.beta.value, self.cfg.eps);
        let x = Self::drop(b, ln.y.clone(), self.cfg.dropout, seed.map(|s| derive_seed(s, 0)));
        (e, ln, x)
    }

    /// Block `bl` (index `li`) on `x` `[n·L, d]` with key mask `[n, L]`.
    fn block_forward(
        &self,
        b: &B,
        li: usize,
        x: &B::Tensor,
        mask: &B::Tensor,
        n: usize,
        seed: Option<u64>,
    ) -> BlockSaved<B> {
        let bl = &self.blocks[li];
        let (l, dh) = (self.cfg.window, self.cfg.dim / self.cfg.heads);
        let scale = 1.0 / (dh as f32).sqrt();
        let site = |k: u64| seed.map(|s| derive_seed(derive_seed(s, 1 + li as u64), k));
        let mut heads = Vec::with_capacity(self.cfg.heads);
        let mut a: Option<B::Tensor> = None;
        for h in 0..self.cfg.heads {
            let q = b.reshape(&bl.q[h].forward(b, x), &[n, l, dh]);
            let k = b.reshape(&bl.k[h].forward(b, x), &[n, l, dh]);
            let v = b.reshape(&bl.v[h].forward(b, x), &[n, l, dh]);
            let s = b.scale(&b.matmul(&q, &k, false, true, None, Act::Identity), scale, 0.0);
            let p = b.masked_softmax(&s, Some(mask), true);
            let pd = Self::drop(b, p.clone(), self.cfg.attn_dropout, site(3 + h as u64));
            let c = b.reshape(&b.matmul(&pd, &v, false, false, None, Act::Identity), &[n * l, dh]);
            let out = bl.o[h].forward(b, &c);
            a = Some(match a {
                None => out.clone(),
                Some(acc) => b.binary(BinaryOp::Add, &acc, &out),
            });
            heads.push(HeadSaved { q, k, v, p, pd, c, out });
        }
        let a = Self::drop(b, a.expect("at least one head"), self.cfg.dropout, site(1));
        let r1 = b.binary(BinaryOp::Add, &a, x);
        let ln1 = b.layer_norm(&r1, &bl.ln1.gamma.value, &bl.ln1.beta.value, self.cfg.eps);
        let f1 = bl.ff1.forward(b, &ln1.y);
        let f2 = bl.ff2.forward(b, &f1);
        let fd = Self::drop(b, f2.clone(), self.cfg.dropout, site(2));
        let r2 = b.binary(BinaryOp::Add, &fd, &ln1.y);
        let ln2 = b.layer_norm(&r2, &bl.ln2.gamma.value, &bl.ln2.beta.value, self.cfg.eps);
        BlockSaved { x: x.clone(), heads, r1, ln1, f1, f2, r2, ln2 }
    }

    /// Backward of block `li` from `dy` `[n·L, d]`: the input's gradient and
    /// the block's parameter gradients in [`SasRec::params`] order.
    fn block_backward(
        &self,
        b: &B,
        li: usize,
        sv: &BlockSaved<B>,
        dy: &B::Tensor,
        n: usize,
        seed: u64,
    ) -> (B::Tensor, Vec<B::Tensor>) {
        let bl = &self.blocks[li];
        let (l, dh) = (self.cfg.window, self.cfg.dim / self.cfg.heads);
        let scale = 1.0 / (dh as f32).sqrt();
        let site = |k: u64| Some(derive_seed(derive_seed(seed, 1 + li as u64), k));
        let g2 = b.layer_norm_backward(&sv.ln2, &sv.r2, &bl.ln2.gamma.value, dy);
        let df2 = Self::drop(b, g2.dx.clone(), self.cfg.dropout, site(2));
        let (df1, gff2) = bl.ff2.backward(b, &sv.f1, &sv.f2, &df2);
        let (dy1, gff1) = bl.ff1.backward(b, &sv.ln1.y, &sv.f1, &df1);
        let dy1 = b.binary(BinaryOp::Add, &dy1, &g2.dx);
        let g1 = b.layer_norm_backward(&sv.ln1, &sv.r1, &bl.ln1.gamma.value, &dy1);
        let da = Self::drop(b, g1.dx.clone(), self.cfg.dropout, site(1));
        let mut dx = g1.dx.clone();
        let mut head_grads = Vec::new();
        for (h, hs) in sv.heads.iter().enumerate() {
            let (dc, go) = bl.o[h].backward(b, &hs.c, &hs.out, &da);
            let dc = b.reshape(&dc, &[n, l, dh]);
            let dpd = b.matmul(&dc, &hs.v, false, true, None, Act::Identity);
            let dv = b.matmul(&hs.pd, &dc, true, false, None, Act::Identity);
            let dp = Self::drop(b, dpd, self.cfg.attn_dropout, site(3 + h as u64));
            let ds = b.scale(&b.masked_softmax_backward(&hs.p, &dp), scale, 0.0);
            let dq = b.matmul(&ds, &hs.k, false, false, None, Act::Identity);
            let dk = b.matmul(&ds, &hs.q, true, false, None, Act::Identity);
            let mut grads = Vec::new();
            for (lin, y, dz) in [(&bl.q[h], &hs.q, dq), (&bl.k[h], &hs.k, dk), (&bl.v[h], &hs.v, dv)] {
                let y = b.reshape(y, &[n * l, dh]);
                let (dxi, g) = lin.backward(b, &sv.x, &y, &b.reshape(&dz, &[n * l, dh]));
                dx = b.binary(BinaryOp::Add, &dx, &dxi);
                grads.push(g.dw);
                grads.extend(g.db);
            }
            grads.push(go.dw);
            grads.extend(go.db);
            head_grads.push(grads);
        }
        let mut out: Vec<B::Tensor> = head_grads.into_iter().flatten().collect();
        out.extend([g1.dgamma, g1.dbeta, gff1.dw]);
        out.extend(gff1.db);
        out.push(gff2.dw);
        out.extend(gff2.db);
        out.extend([g2.dgamma, g2.dbeta]);
        (dx, out)
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
        let (l, d, items) = (self.cfg.window, self.cfg.dim, self.item.dims()[0]);
        if inputs.len() != n * l || targets.len() != n * l {
            return Err(Error::Invalid(format!(
                "sasrec: {} inputs and {} targets for {n} windows of {l}",
                inputs.len(),
                targets.len()
            )));
        }
        let s = steps(inputs, Some(targets));
        if s.targets.is_empty() {
            return Err(Error::Invalid("sasrec: a batch without targets".into()));
        }
        if let Some(&bad) = s.ids.iter().chain(&s.targets).find(|&&i| i as usize >= items) {
            return Err(Error::Invalid(format!("sasrec: item {bad} in a batch of a model over {items} items")));
        }
        let ids = b.index(&s.ids)?;
        let mask = b.tensor(&s.mask, &[n, l])?;
        let positions = b.index(&s.positions)?;
        let target = b.index(&s.targets)?;
        // Row groupings: the target positions followed by every position (so
        // the scatter fills all L·n rows), the window ids followed by every
        // item (so it fills the whole table).
        let all_positions: Vec<u32> = s.positions.iter().copied().chain(0..(l * n) as u32).collect();
        let to_steps = b.row_groups(&all_positions)?;
        let all_items: Vec<u32> = s.ids.iter().copied().chain(0..items as u32).collect();
        let to_table = b.row_groups(&all_items)?;

        let (e, ln0, mut x) = self.embed(b, &ids, n, Some(seed));
        let mut saved = Vec::with_capacity(self.blocks.len());
        for li in 0..self.blocks.len() {
            let sv = self.block_forward(b, li, &x, &mask, n, Some(seed));
            x = sv.ln2.y.clone();
            saved.push(sv);
        }
        let at = b.gather_rows(&x, &positions); // [R, d]
        let logits = b.matmul(&at, &self.item.value, false, true, None, Act::Identity);
        let (loss, dlogits) = b.softmax_cross_entropy(&logits, &target);

        let d_at = b.matmul(&dlogits, &self.item.value, false, false, None, Act::Identity); // [R, d]
        let de_out = b.matmul(&dlogits, &at, true, false, None, Act::Identity); // [items, d]
        let mut dx = b.scatter_add_rows(&b.concat_rows(&d_at, &b.zeros(&[l * n, d])), &to_steps);
        let mut block_grads = Vec::with_capacity(self.blocks.len());
        for li in (0..self.blocks.len()).rev() {
            let (dxi, g) = self.block_backward(b, li, &saved[li], &dx, n, seed);
            dx = dxi;
            block_grads.push(g);
        }
        block_grads.reverse();
        let dln0 = Self::drop(b, dx, self.cfg.dropout, Some(derive_seed(seed, 0)));
        let g0 = b.layer_norm_backward(&ln0, &e, &self.ln0.gamma.value, &dln0);
        let dpos = b.reduce_cols(&b.reshape(&g0.dx, &[n, l, d]), Reduce::Sum);
        let de = b.scatter_add_rows(&b.concat_rows(&g0.dx, &de_out), &to_table);
        let mut grads = vec![de, dpos, g0.dgamma, g0.dbeta];
        grads.extend(block_grads.into_iter().flatten());
        Ok((loss, grads))
    }

    /// The last-position outputs of the windows of `history` `[users, d]`.
    fn encode(&self, b: &B, history: &Encoded<B>) -> B::Tensor {
        let parts: Vec<B::Tensor> = history
            .chunks
            .iter()
            .map(|(ids, mask, last, c)| {
                let (_, _, mut x) = self.embed(b, ids, *c, None);
                for li in 0..self.blocks.len() {
                    x = self.block_forward(b, li, &x, mask, *c, None).ln2.y;
                }
                b.gather_rows(&x, last)
            })
            .collect();
        match parts.is_empty() {
            true => b.zeros(&[0, self.cfg.dim]),
            false => stack_rows(b, &parts),
        }
    }
}

impl<B: Backend> Scorer<B> for SasRec<B> {
    fn score_users(&self, b: &B, users: &B::Index) -> B::Tensor {
        let reps = self.reps.get_or_insert_with(|| self.encode(b, &self.history));
        b.matmul(&b.gather_rows(&reps, users), &self.item.value, false, true, None, Act::Identity)
    }
}

impl<B: Backend> Model<B> for SasRec<B> {
    fn kind(&self) -> &'static str {
        "sasrec"
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
            return Err(batch.wrong_kind("sasrec", BatchKind::Sequences));
        };
        if len != self.cfg.window || inputs.len() != users.len() * len || targets.len() != inputs.len() {
            return Err(Error::Invalid(format!(
                "sasrec: windows of {len} for a model of window {} ({} users, {} inputs, {} targets)",
                self.cfg.window,
                users.len(),
                inputs.len(),
                targets.len()
            )));
        }
        self.opt.next_step();
        let t = self.opt.step() as u64;
        let (loss, g) = self.grads(b, inputs, targets, users.len(), derive_seed(self.seed, t))?;
        let opt = self.opt.clone();
        for (p, g) in self.params_mut().into_iter().zip(&g) {
            p.update(b, g, &opt);
        }
        self.reps.clear();
        Ok(loss)
    }

    fn parameters(&self) -> Vec<&B::Tensor> {
        self.params().into_iter().map(|p| &p.value).collect()
    }

    fn parameters_mut(&mut self) -> Vec<&mut B::Tensor> {
        self.reps.clear();
        self.params_mut().into_iter().map(|p| &mut p.value).collect()
    }

    fn weights(&self, b: &B) -> Result<Vec<NamedTensor>> {
        let items = self.item.dims()[0];
        let mut out = download_layout(b, &Self::param_layout(&self.cfg, items), self.parameters())?;
        out.push(history_to_tensor(&self.history.host, self.history.host.n_users(), self.cfg.window));
        Ok(out)
    }

    fn score_histories(&self, b: &B, histories: &Sequences) -> Option<Result<B::Tensor>> {
        Some(
            Self::encode_history(b, histories, self.item.dims()[0], self.cfg.window)
                .map(|h| b.matmul(&self.encode(b, &h), &self.item.value, false, true, None, Act::Identity)),
        )
    }

    fn set_history(&mut self, b: &B, history: &Sequences) -> Result<()> {
        self.history = Self::encode_history(b, history, self.item.dims()[0], self.cfg.window)?;
        self.reps.clear();
        Ok(())
    }

    /// The (tied) item embeddings.
    fn item_vectors(&self, _b: &B) -> Option<B::Tensor> {
        Some(self.item.value.clone())
    }
}
