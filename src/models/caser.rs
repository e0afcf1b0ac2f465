//! Caser — J. Tang, K. Wang, "Personalized Top-N Sequential Recommendation
//! via Convolutional Sequence Embedding", WSDM 2018, as RecBole's Caser
//! sets it up (one target per window, cross-entropy over all items, item
//! embeddings tied between the input and the output).
//!
//! ```text
//! image:   X = [E[s_(t−L)]; …; E[s_(t−1)]]            [L, d], padding rows 0 (E [items, d])
//! vertical:   o_v = Conv_(L×1)(X)                      n_v filters → [n_v · d]
//! horizontal: o_h = [maxpool_t ReLU(Conv_(h×d)(X))]_(h=1‥L)   n_h filters each → [n_h · L]
//! hidden:  z = ReLU(W_1 · dropout([o_v; o_h]) + b_1)   [d]
//! output:  s = ReLU(W_2 · [z; P_u] + b_2)              [d], P [users, d]
//! score:   ŷ = s · Eᵀ                                  [items]: the item after s_(t−1)
//! loss:    L = −(1/n) Σ log softmax(ŷ)[s_t]            (full softmax cross-entropy)
//! ```
//!
//! Each horizontal convolution of height h, with its bias, ReLU and
//! max-pooling over the L − h + 1 positions, is one fused op
//! ([`Backend::conv_rows_max`]): it computes only the valid positions'
//! products (h·(L − h + 1)·d·n_h multiply-adds per window, not the L·h·d·n_h
//! of one matmul of every image row with every filter row) and keeps each
//! maximum's position. Its backward sends each pooled gradient to that one
//! position (n_h·h·d multiply-adds per window for dW and as many for dX,
//! against L − h + 1 times that for an unfused backward), in two kernels,
//! adding into the image gradient as it goes. The vertical convolution
//! (n_v · L · d multiply-adds per window) stays a conv2d.
//!
//! W_1 is kept as column blocks, one per piece of the concatenation (o_v and
//! each height's pooled o_h), and W_2 as the blocks for z and P_u, so no
//! column concatenation is ever built: W_1·[o_v; o_h] = Σ_k W_1k · o_k. The
//! backward mirrors it: each block's input gradient is its own matmul, the
//! pooled maxima route back through the pooling's argmax, the ReLUs and
//! the convolutions to dX, which is masked at the padding and summed into E
//! with the output gradient dŷᵀ·s in one deterministic scatter over the
//! window ids followed by every item id; P's rows are summed per user and
//! updated lazily (only the batch's users).
//!
//! Training windows slide: every training target with the `window` items
//! before it (fewer, left-padded, at the start of a sequence). One step is
//! one submission with nothing read back; the host uploads the window ids,
//! the padding mask, the users and targets, and the two row groupings. A
//! window of L costs 43 + 13·L dispatches (each filter height: the fused
//! convolution, fc1's block and its add, three dropout masks, the fused
//! backward's two kernels, fc1's two gradient products and three Adam
//! updates; 95 for L = 4, `tests/next_item.rs` counts them).
//!
//! Not kept from RecBole: its `reg_weight` term (1e-4 times the L2 norms of
//! the convolution and dense weights); dropout is the regulariser here. A
//! user the model has never seen ([`Model::score_histories`]) is scored with
//! a zero P_u.
//!
//! The model file holds the weights and each user's last `window` history
//! items (a `[users, window]` tensor of item ids, −1 for padding).

use crate::backend::{Act, AdamConfig, Backend, BinaryOp};
use crate::data::sequence::{history_windows, Sequences, WindowKind, WindowSpec, PAD};
use crate::error::{Error, Result};
use crate::init;
use crate::layers::conv::Conv2d;
use crate::layers::lstm::stack_rows;
use crate::layers::{Adam, Linear, LinearGrads, Param};
use crate::model_file::{ModelFile, NamedTensor};
use crate::models::contract::{
    download_layout, upload_layout, Batch, BatchKind, Cached, Family, Info, Layout, Model, Schedule, Scorer, Task,
    TrainSet,
};
use crate::models::gru4rec::{history_from_tensor, history_to_tensor};
use crate::rng::derive_seed;

/// Users per scoring chunk.
const ENCODE_USERS: usize = 1024;

/// The Caser family (`caser`).
pub struct CaserFamily;

/// Caser hyper-parameters. Defaults: RecBole's `Caser.yaml` for the
/// embedding (64), dropout (0.4) and Adam (1e-3); the authors' code's 16
/// horizontal filters per height (RecBole: 8); 8 vertical filters (both: 4),
/// the better mean validation NDCG@10 over two seeds on ML-100K, within the
/// seeds' spread; a window of 10, the window of the reference figure.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaserConfig {
    /// Item and user embedding size d.
    pub dim: usize,
    /// Items before the target that form the image (L).
    pub window: usize,
    /// Vertical filters n_v.
    pub n_v: usize,
    /// Horizontal filters per height n_h.
    pub n_h: usize,
    /// Dropout probability on the convolutions' outputs during training.
    pub dropout: f32,
    /// Adam learning rate.
    pub lr: f32,
}

impl Default for CaserConfig {
    fn default() -> Self {
        Self { dim: 64, window: 10, n_v: 8, n_h: 16, dropout: 0.4, lr: 1e-3 }
    }
}

impl Family for CaserFamily {
    const INFO: Info = Info {
        name: "caser",
        about: "Caser: horizontal and vertical convolutions over the embeddings of a user's last items, plus a user embedding (Tang & Wang, WSDM 2018)",
        task: Task::Ranking,
        batch: BatchKind::Sequences,
        schedule: Schedule { epochs: 300, patience: 10, fixed_epochs: 30, batch_size: 512, batch_unit: "windows" },
        dim_keys: &["dim"],
        lr_key: Some("lr"),
    };
    type Config = CaserConfig;
    type Model<B: Backend> = Caser<B>;

    fn validate(cfg: &CaserConfig) -> Result<()> {
        for (key, v) in [("dim", cfg.dim), ("window", cfg.window), ("n_v", cfg.n_v), ("n_h", cfg.n_h)] {
            if v == 0 {
                return Err(Error::Invalid(format!("caser: {key} must be at least 1")));
            }
        }
        if !(0.0..1.0).contains(&cfg.dropout) {
            return Err(Error::Invalid(format!("caser: dropout must be in [0, 1), got {}", cfg.dropout)));
        }
        if !(cfg.lr.is_finite() && cfg.lr > 0.0) {
            return Err(Error::Invalid(format!("caser: lr must be finite and > 0, got {}", cfg.lr)));
        }
        Ok(())
    }

    fn build<B: Backend>(b: &B, data: &TrainSet, cfg: CaserConfig, seed: u64) -> Result<Caser<B>> {
        Caser::new(b, &data.sequences, data.n_items(), cfg, seed)
    }

    fn layout(cfg: &CaserConfig, n_users: usize, n_items: usize) -> Layout {
        let mut out = Caser::<crate::Cpu>::param_layout(cfg, n_users, n_items);
        out.push(("history".into(), vec![n_users, cfg.window]));
        out
    }

    fn load<B: Backend>(b: &B, cfg: CaserConfig, file: &ModelFile) -> Result<Box<dyn Model<B>>> {
        let items = file.tensor("item_embedding")?.shape[0];
        let history = history_from_tensor(file.tensor("history")?, items)?;
        let layout = Caser::<B>::param_layout(&cfg, history.n_users(), items);
        let mut model = Caser::new(b, &history, items, cfg, 0)?;
        upload_layout(b, file, &layout, model.parameters_mut())?;
        Ok(Box::new(model))
    }
}

/// One chunk of [`Encoded`]: ids, mask, users (if known), count.
type Chunk<B> = (<B as Backend>::Index, <B as Backend>::Tensor, Option<<B as Backend>::Index>, usize);

/// A step's loss, gradients in parameter order, and the grouping of its users (the user table's rows).
pub type CaserGrads<B> = (<B as Backend>::Tensor, Vec<<B as Backend>::Tensor>, crate::backend::RowGroups<B>);

/// Users' windows on the device, a chunk at a time: ids `[c·L]` row-major
/// (padding as item 0), mask `[c·L, 1]`, the users (`None`: unknown users,
/// scored with a zero P_u), `c`.
struct Encoded<B: Backend> {
    chunks: Vec<Chunk<B>>,
    host: Sequences,
}

/// A Caser model on backend `B`.
pub struct Caser<B: Backend> {
    /// Item embeddings E `[items, d]` (input image and output scores).
    pub item: Param<B>,
    /// User embeddings P `[users, d]`.
    pub user: Param<B>,
    /// The vertical convolution `(L × 1)`, n_v filters.
    pub conv_v: Conv2d<B>,
    /// The horizontal filters of heights h = 1‥L: weight `[h·n_h, d]`, row
    /// u·n_h + o holding row u of filter o (a `[n_h, 1, h, d]` kernel with its
    /// first two axes swapped), and bias `[1, n_h]`.
    pub conv_h: Vec<(Param<B>, Param<B>)>,
    /// W_1's block for o_v (with b_1).
    pub fc1_v: Linear<B>,
    /// W_1's blocks for each height's pooled o_h.
    pub fc1_h: Vec<Linear<B>>,
    /// W_2's block for z (with b_2).
    pub fc2_z: Linear<B>,
    /// W_2's block for P_u.
    pub fc2_u: Linear<B>,
    history: Encoded<B>,
    reps: Cached<B::Tensor>,
    opt: Adam,
    seed: u64,
    cfg: CaserConfig,
}

/// The forward values a step's backward reads.
struct Saved<B: Backend> {
    x: B::Tensor,
    /// The masked embeddings `[n·L, d]` (the image as rows).
    emb: B::Tensor,
    /// Per height: the pooled outputs `[n, n_h]` and their positions.
    conv_h: Vec<(B::Tensor, B::Index)>,
    out_v: B::Tensor,
    z: B::Tensor,
    p_u: B::Tensor,
    s: B::Tensor,
}

impl<B: Backend> Caser<B> {
    /// A seeded model over `items` items and `history.n_users()` users, scoring from `history`.
    pub fn new(b: &B, history: &Sequences, items: usize, cfg: CaserConfig, seed: u64) -> Result<Self> {
        CaserFamily::validate(&cfg)?;
        if items == 0 || items > 1 << 24 {
            return Err(Error::Invalid(format!("caser: {items} items; the model takes 1 to 2^24")));
        }
        let (d, l, users) = (cfg.dim, cfg.window, history.n_users());
        // RecBole: embeddings from N(0, 1/d²)… its `normal_(0, 1/d)` is a standard deviation of 1/d.
        let std = 1.0 / d as f32;
        let item = Param::new(b, &init::normal(derive_seed(seed, 1), items * d, std), &[items, d])?;
        let user = Param::new(b, &init::normal(derive_seed(seed, 2), users.max(1) * d, std), &[users.max(1), d])?;
        let conv_v = Conv2d::new(b, 1, cfg.n_v, (l, 1), (1, 1), (0, 0), derive_seed(seed, 3))?;
        let conv_h = (1..=l)
            .map(|h| {
                // PyTorch's conv init: U(±1/√fan_in), fan_in = h·d.
                let bound = 1.0 / ((h * d) as f32).sqrt();
                let s = derive_seed(seed, 100 + h as u64);
                let w = Param::new(b, &init::uniform(derive_seed(s, 0), h * cfg.n_h * d, bound), &[h * cfg.n_h, d])?;
                let bias = Param::new(b, &init::uniform(derive_seed(s, 1), cfg.n_h, bound), &[1, cfg.n_h])?;
                Ok((w, bias))
            })
            .collect::<Result<Vec<_>>>()?;
        let fc1_v = Linear::new(b, cfg.n_v * d, d, Act::Identity, true, derive_seed(seed, 4))?;
        let fc1_h = (1..=l)
            .map(|h| Linear::new(b, cfg.n_h, d, Act::Identity, false, derive_seed(seed, 200 + h as u64)))
            .collect::<Result<Vec<_>>>()?;
        let fc2_z = Linear::new(b, d, d, Act::Identity, true, derive_seed(seed, 5))?;
        let fc2_u = Linear::new(b, d, d, Act::Identity, false, derive_seed(seed, 6))?;
        let opt = Adam::new(AdamConfig { lr: cfg.lr, ..Default::default() });
        let history = Self::encode_history(b, history, items, l, true)?;
        Ok(Self {
            item,
            user,
            conv_v,
            conv_h,
            fc1_v,
            fc1_h,
            fc2_z,
            fc2_u,
            history,
            reps: Cached::default(),
            opt,
            seed: derive_seed(seed, 7),
            cfg,
        })
    }

    /// The names and shapes of the trained weights, in the order of [`Model::parameters`].
    pub fn param_layout(cfg: &CaserConfig, users: usize, items: usize) -> Layout {
        let (d, l) = (cfg.dim, cfg.window);
        let mut out: Layout = vec![
            ("item_embedding".into(), vec![items, d]),
            ("user_embedding".into(), vec![users.max(1), d]),
            ("conv_v.weight".into(), vec![cfg.n_v, 1, l, 1]),
            ("conv_v.bias".into(), vec![cfg.n_v]),
        ];
        for h in 1..=l {
            out.push((format!("conv_h.{h}.weight"), vec![h * cfg.n_h, d]));
            out.push((format!("conv_h.{h}.bias"), vec![1, cfg.n_h]));
        }
        out.push(("fc1_v.weight".into(), vec![d, cfg.n_v * d]));
        out.push(("fc1_v.bias".into(), vec![d]));
        for h in 1..=l {
            out.push((format!("fc1_h.{h}.weight"), vec![d, cfg.n_h]));
        }
        out.push(("fc2_z.weight".into(), vec![d, d]));
        out.push(("fc2_z.bias".into(), vec![d]));
        out.push(("fc2_u.weight".into(), vec![d, d]));
        out
    }

    fn encode_history(b: &B, history: &Sequences, items: usize, l: usize, known: bool) -> Result<Encoded<B>> {
        let (windows, host) = history_windows("caser", history, items, l, ENCODE_USERS)?;
        let mut chunks = Vec::with_capacity(windows.len());
        for (start, rows, c) in windows {
            let (ids, mask) = Self::ids_and_mask(&rows);
            let who = known.then(|| b.index(&(start as u32..(start + c) as u32).collect::<Vec<_>>())).transpose()?;
            chunks.push((b.index(&ids)?, b.tensor(&mask, &[c * l, 1])?, who, c));
        }
        Ok(Encoded { chunks, host })
    }

    /// Row-major window ids with padding as item 0, and the 0/1 mask.
    fn ids_and_mask(rows: &[u32]) -> (Vec<u32>, Vec<f32>) {
        rows.iter().map(|&v| if v == PAD { (0, 0.0) } else { (v, 1.0) }).unzip()
    }

    /// The forward over `n` windows of ids `[n·L]` with mask `[n·L, 1]` and
    /// user rows `p_u` `[n, d]`, with dropout stream `seed` when training.
    fn forward(
        &self,
        b: &B,
        ids: &B::Index,
        mask: &B::Tensor,
        p_u: B::Tensor,
        n: usize,
        seed: Option<u64>,
    ) -> Result<Saved<B>> {
        let (d, l) = (self.cfg.dim, self.cfg.window);
        let emb = b.binary(BinaryOp::Mul, &b.gather_rows(&self.item.value, ids), mask); // [n·L, d]
        let x = b.reshape(&emb, &[n, 1, l, d]);
        let drop = |t: B::Tensor, k: u64| match (seed, self.cfg.dropout > 0.0) {
            (Some(s), true) => b.dropout(&t, self.cfg.dropout, derive_seed(s, k)),
            _ => t,
        };
        let out_v = b.reshape(&self.conv_v.forward(b, &x), &[n, self.cfg.n_v * d]);
        let mut pre = self.fc1_v.forward(b, &drop(out_v.clone(), 0));
        let mut conv_h = Vec::with_capacity(l);
        for (k, (w, bias)) in self.conv_h.iter().enumerate() {
            // Height k + 1: convolution, bias, ReLU and max-pooling in one op, [n, n_h].
            let (p, argmax) = b.conv_rows_max(&emb, &w.value, &bias.value, l);
            pre = b.binary(BinaryOp::Add, &pre, &self.fc1_h[k].forward(b, &drop(p.clone(), k as u64 + 1)));
            conv_h.push((p, argmax));
        }
        let z = b.activate(&pre, Act::Relu);
        let pre2 = b.binary(BinaryOp::Add, &self.fc2_z.forward(b, &z), &self.fc2_u.forward(b, &p_u));
        let s = b.activate(&pre2, Act::Relu);
        Ok(Saved { x, emb, conv_h, out_v, z, p_u, s })
    }

    /// The batch's loss `[1]` and the gradients of every weight, in the
    /// order of [`Model::parameters`] (the user table's as the rows of
    /// `users` grouped: the distinct users ascending), with dropout stream `seed`.
    pub fn grads(&self, b: &B, users: &[u32], inputs: &[u32], targets: &[u32], seed: u64) -> Result<CaserGrads<B>> {
        let (d, l, n) = (self.cfg.dim, self.cfg.window, users.len());
        let items = self.item.dims()[0];
        let target: Vec<u32> = targets.chunks(l.max(1)).map(|row| row[l - 1]).collect();
        if target.contains(&PAD) {
            return Err(Error::Invalid("caser: a window without its target in the last column".into()));
        }
        let (ids, mask) = Self::ids_and_mask(inputs);
        if let Some(&bad) = ids.iter().chain(&target).find(|&&i| i as usize >= items) {
            return Err(Error::Invalid(format!("caser: item {bad} in a batch of a model over {items} items")));
        }
        if let Some(&bad) = users.iter().find(|&&u| u as usize >= self.user.dims()[0]) {
            return Err(Error::Invalid(format!(
                "caser: user {bad} in a batch of a model over {} users",
                self.user.dims()[0]
            )));
        }
        let ids_dev = b.index(&ids)?;
        let mask_dev = b.tensor(&mask, &[n * l, 1])?;
        let users_dev = b.index(users)?;
        let all_items: Vec<u32> = ids.iter().copied().chain(0..items as u32).collect();
        let to_table = b.row_groups(&all_items)?;
        let to_users = b.row_groups(users)?;

        let p_u = b.gather_rows(&self.user.value, &users_dev);
        let sv = self.forward(b, &ids_dev, &mask_dev, p_u, n, Some(seed))?;
        let logits = b.matmul(&sv.s, &self.item.value, false, true, None, Act::Identity);
        let (loss, dlogits) = b.softmax_cross_entropy(&logits, &b.index(&target)?);

        let ds = b.matmul(&dlogits, &self.item.value, false, false, None, Act::Identity);
        let de_out = b.matmul(&dlogits, &sv.s, true, false, None, Act::Identity);
        let dpre2 = b.activate_backward(&sv.s, &ds, Act::Relu);
        let (dz, g_fc2_z) = self.fc2_z.backward(b, &sv.z, &dpre2, &dpre2);
        let (dp_u, g_fc2_u) = self.fc2_u.backward(b, &sv.p_u, &dpre2, &dpre2);
        let dpre1 = b.activate_backward(&sv.z, &dz, Act::Relu);
        let undrop = |t: B::Tensor, k: u64| match self.cfg.dropout > 0.0 {
            true => b.dropout(&t, self.cfg.dropout, derive_seed(seed, k)),
            false => t,
        };
        // fc1's blocks read the dropped-out pieces; their weight gradients
        // need those inputs, so the same masks are applied again.
        let (dv, g_fc1_v) = self.fc1_v.backward(b, &undrop(sv.out_v.clone(), 0), &dpre1, &dpre1);
        let dout_v = b.reshape(&undrop(dv, 0), &[n, self.cfg.n_v, 1, d]);
        let (dx_v, g_conv_v) = self.conv_v.backward(b, &sv.x, &dout_v);
        let mut dx = b.reshape(&dx_v, &[n * l, d]);
        let mut g_conv_h = Vec::with_capacity(l);
        let mut g_fc1_h = Vec::with_capacity(l);
        for (k, (w, _)) in self.conv_h.iter().enumerate() {
            let (pooled, argmax) = &sv.conv_h[k];
            let (dp, g) = self.fc1_h[k].backward(b, &undrop(pooled.clone(), k as u64 + 1), &dpre1, &dpre1);
            g_fc1_h.push(g);
            // Each pooled maximum's gradient goes to its own position only.
            let dp = undrop(dp, k as u64 + 1);
            let (dx_k, dw, db) = b.conv_rows_max_backward(&sv.emb, &w.value, pooled, argmax, &dp, l, Some(&dx));
            g_conv_h.push((dw, db));
            dx = dx_k;
        }
        let de_in = b.binary(BinaryOp::Mul, &dx, &mask_dev);
        let de = b.scatter_add_rows(&b.concat_rows(&de_in, &de_out), &to_table);
        let dp = b.scatter_add_rows(&dp_u, &to_users);

        let mut grads = vec![de, dp, g_conv_v.dw, g_conv_v.db];
        for (dw, db) in g_conv_h {
            grads.push(dw);
            grads.push(db);
        }
        let bias = |g: LinearGrads<B>| g.db.expect("a bias");
        grads.push(g_fc1_v.dw.clone());
        grads.push(bias(g_fc1_v));
        grads.extend(g_fc1_h.into_iter().map(|g| g.dw));
        grads.push(g_fc2_z.dw.clone());
        grads.push(bias(g_fc2_z));
        grads.push(g_fc2_u.dw);
        Ok((loss, grads, to_users))
    }

    /// The vectors s of `history`'s users at the end of their history `[users, d]`.
    fn encode(&self, b: &B, history: &Encoded<B>) -> Result<B::Tensor> {
        let mut parts = Vec::with_capacity(history.chunks.len());
        for (ids, mask, who, c) in &history.chunks {
            let p_u = match who {
                Some(w) => b.gather_rows(&self.user.value, w),
                None => b.zeros(&[*c, self.cfg.dim]),
            };
            parts.push(self.forward(b, ids, mask, p_u, *c, None)?.s);
        }
        Ok(match parts.is_empty() {
            true => b.zeros(&[0, self.cfg.dim]),
            false => stack_rows(b, &parts),
        })
    }
}

impl<B: Backend> Scorer<B> for Caser<B> {
    fn score_users(&self, b: &B, users: &B::Index) -> B::Tensor {
        // The row gathers were uploaded when the windows were (an upload
        // failing here would have failed there first).
        let reps = self
            .reps
            .get_or_insert_with(|| self.encode(b, &self.history).expect("the history's windows are on the device"));
        b.matmul(&b.gather_rows(&reps, users), &self.item.value, false, true, None, Act::Identity)
    }
}

impl<B: Backend> Model<B> for Caser<B> {
    fn kind(&self) -> &'static str {
        CaserFamily::INFO.name
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(&self.cfg).expect("a configuration serialises to JSON")
    }

    fn batch_kind(&self) -> BatchKind {
        BatchKind::Sequences
    }

    fn window(&self) -> WindowSpec {
        WindowSpec { len: self.cfg.window, kind: WindowKind::Sliding }
    }

    fn train_step(&mut self, b: &B, batch: &Batch<'_>) -> Result<B::Tensor> {
        let Batch::Sequences { users, inputs, targets, len } = *batch else {
            return Err(batch.wrong_kind(CaserFamily::INFO.name, BatchKind::Sequences));
        };
        if len != self.cfg.window || inputs.len() != users.len() * len || targets.len() != inputs.len() {
            return Err(Error::Invalid(format!(
                "caser: windows of {len} for a model of window {} ({} users, {} inputs, {} targets)",
                self.cfg.window,
                users.len(),
                inputs.len(),
                targets.len()
            )));
        }
        self.opt.next_step();
        let t = self.opt.step() as u64;
        let (loss, g, to_users) = self.grads(b, users, inputs, targets, derive_seed(self.seed, t))?;
        let opt = &self.opt;
        let mut g = g.into_iter();
        let mut next = || g.next().expect("a gradient per parameter");
        self.item.update(b, &next(), opt);
        self.user.update_rows(b, &to_users.rows, &next(), opt);
        let (dw, db) = (next(), next());
        self.conv_v.update(b, &crate::layers::conv::ConvGrads { dw, db }, opt);
        for (w, bias) in &mut self.conv_h {
            w.update(b, &next(), opt);
            bias.update(b, &next(), opt);
        }
        let (dw, db) = (next(), next());
        self.fc1_v.update(b, &LinearGrads { dw, db: Some(db) }, opt);
        for f in &mut self.fc1_h {
            f.update(b, &LinearGrads { dw: next(), db: None }, opt);
        }
        let (dw, db) = (next(), next());
        self.fc2_z.update(b, &LinearGrads { dw, db: Some(db) }, opt);
        self.fc2_u.update(b, &LinearGrads { dw: next(), db: None }, opt);
        self.reps.clear();
        Ok(loss)
    }

    fn parameters(&self) -> Vec<&B::Tensor> {
        let mut out = vec![&self.item.value, &self.user.value];
        out.extend(self.conv_v.parameters());
        self.conv_h.iter().for_each(|(w, bias)| out.extend([&w.value, &bias.value]));
        out.extend(self.fc1_v.parameters());
        self.fc1_h.iter().for_each(|f| out.extend(f.parameters()));
        out.extend(self.fc2_z.parameters());
        out.extend(self.fc2_u.parameters());
        out
    }

    fn parameters_mut(&mut self) -> Vec<&mut B::Tensor> {
        self.reps.clear();
        let mut out = vec![&mut self.item.value, &mut self.user.value];
        out.extend(self.conv_v.parameters_mut());
        self.conv_h.iter_mut().for_each(|(w, bias)| out.extend([&mut w.value, &mut bias.value]));
        out.extend(self.fc1_v.parameters_mut());
        self.fc1_h.iter_mut().for_each(|f| out.extend(f.parameters_mut()));
        out.extend(self.fc2_z.parameters_mut());
        out.extend(self.fc2_u.parameters_mut());
        out
    }

    fn weights(&self, b: &B) -> Result<Vec<NamedTensor>> {
        let (users, items) = (self.user.dims()[0], self.item.dims()[0]);
        let mut out = download_layout(b, &Self::param_layout(&self.cfg, users, items), self.parameters())?;
        out.push(history_to_tensor(&self.history.host, users, self.cfg.window));
        Ok(out)
    }

    fn score_histories(&self, b: &B, histories: &Sequences) -> Option<Result<B::Tensor>> {
        let items = self.item.dims()[0];
        let scores = Self::encode_history(b, histories, items, self.cfg.window, false)
            .and_then(|h| self.encode(b, &h))
            .map(|s| b.matmul(&s, &self.item.value, false, true, None, Act::Identity));
        Some(scores)
    }

    fn set_history(&mut self, b: &B, history: &Sequences) -> Result<()> {
        if history.n_users() > self.user.dims()[0] {
            return Err(Error::Invalid(format!(
                "caser: {} histories for a model of {} users",
                history.n_users(),
                self.user.dims()[0]
            )));
        }
        self.history = Self::encode_history(b, history, self.item.dims()[0], self.cfg.window, true)?;
        self.reps.clear();
        Ok(())
    }

    /// The (tied) item embeddings.
    fn item_vectors(&self, _b: &B) -> Option<B::Tensor> {
        Some(self.item.value.clone())
    }
}
