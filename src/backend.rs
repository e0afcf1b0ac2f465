//! The op surface every model is written against, implemented by the wgpu
//! backend ([`crate::Gpu`]) and the ndarray backend ([`crate::Cpu`]).
//!
//! One trait, grouped by family, so a model is generic over `B: Backend` and
//! runs unchanged on both. Ops return new tensors (GPU outputs come from the
//! buffer pool, so this costs no driver allocation after the first step) and
//! take `&mut` only for optimizer state updated in place. Shape mismatches
//! panic with the op name and the shapes: they are programming errors.
//! Failures of the device surface as `Result`s at `flush` and `read`.

use crate::error::Result;
use crate::sparse::CsrHost;

/// Activation functions for fused epilogues and elementwise ops.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Act {
    /// y = x
    Identity,
    /// y = max(x, 0)
    Relu,
    /// y = x if x > 0 else a·x (0 < a < 1)
    LeakyRelu(f32),
    /// y = 1 / (1 + e^-x)
    Sigmoid,
    /// y = tanh x
    Tanh,
    /// y = ln(1 + e^x)
    Softplus,
}

impl Act {
    /// Code and parameter the shaders take (`ACT` override constant and `alpha`).
    pub fn code(self) -> (u32, f32) {
        match self {
            Act::Identity => (0, 0.0),
            Act::Relu => (1, 0.0),
            Act::LeakyRelu(a) => (2, a),
            Act::Sigmoid => (3, 0.0),
            Act::Tanh => (4, 0.0),
            Act::Softplus => (5, 0.0),
        }
    }
}

/// Elementwise binary operators (with broadcasting).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// a + b
    Add,
    /// a - b
    Sub,
    /// a · b
    Mul,
    /// a / b
    Div,
}

/// Elementwise unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    /// -x
    Neg,
    /// e^x
    Exp,
    /// ln x
    Log,
    /// √x
    Sqrt,
    /// x²
    Square,
    /// |x|
    Abs,
    /// 1/x
    Recip,
}

/// Reductions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduce {
    /// Σ
    Sum,
    /// Σ / n
    Mean,
    /// max
    Max,
}

/// Hyper-parameters of Adam / AdamW.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f32,
    /// First-moment decay.
    pub beta1: f32,
    /// Second-moment decay.
    pub beta2: f32,
    /// Denominator epsilon.
    pub eps: f32,
    /// Weight decay: added to the gradient (Adam) or applied to the weights (AdamW).
    pub weight_decay: f32,
    /// AdamW's decoupled weight decay.
    pub decoupled: bool,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, decoupled: false }
    }
}

/// A sparsity pattern in CSR form on a backend: which columns each row holds.
#[derive(Clone, Debug)]
pub struct Pattern<B: Backend> {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// `rows + 1` offsets into `col_idx`.
    pub row_ptr: B::Index,
    /// Column of each stored entry, sorted within a row.
    pub col_idx: B::Index,
}

/// A CSR sparse matrix on a backend.
#[derive(Clone, Debug)]
pub struct Csr<B: Backend> {
    /// Where the entries are.
    pub pattern: Pattern<B>,
    /// Value of each stored entry.
    pub vals: B::Tensor,
}

/// The rows an embedding batch touched, grouped ahead of time so its gradient
/// is a deterministic segmented sum (no float atomics).
#[derive(Clone, Debug)]
pub struct RowGroups<B: Backend> {
    /// The distinct rows, ascending.
    pub rows: B::Index,
    /// `rows.len() + 1` offsets into `order`.
    pub offsets: B::Index,
    /// Batch positions sorted by row (stable).
    pub order: B::Index,
    /// Number of distinct rows.
    pub unique: usize,
    /// Batch length.
    pub batch: usize,
}

/// Saved state of one LSTM step, for its backward.
#[derive(Clone, Debug)]
pub struct LstmStep<B: Backend> {
    /// New hidden state `[n, h]`.
    pub h: B::Tensor,
    /// New cell state `[n, h]`.
    pub c: B::Tensor,
    /// Activated gates `[n, 4h]` in order i, f, g, o.
    pub gates: B::Tensor,
}

/// Gradients of one LSTM step.
#[derive(Clone, Debug)]
pub struct LstmGrads<B: Backend> {
    /// Gradient with respect to the gate pre-activations `[n, 4h]`.
    pub dgates: B::Tensor,
    /// Gradient with respect to the previous cell state `[n, h]`.
    pub dc_prev: B::Tensor,
    /// Part of the previous hidden state's gradient that skips the step
    /// (padded positions pass `dh` straight through) `[n, h]`.
    pub dh_skip: B::Tensor,
}

/// Saved state of one GRU step, for its backward (which also takes the
/// step's `gh`, the caller's recurrent projection).
#[derive(Clone, Debug)]
pub struct GruStep<B: Backend> {
    /// New hidden state `[n, h]`.
    pub h: B::Tensor,
    /// Activated gates `[n, 3h]` in order r, z, n.
    pub gates: B::Tensor,
}

/// Gradients of one GRU step.
#[derive(Clone, Debug)]
pub struct GruGrads<B: Backend> {
    /// Gradient with respect to the input projection `gx` `[n, 3h]`.
    pub dgx: B::Tensor,
    /// Gradient with respect to the recurrent projection `gh` `[n, 3h]`
    /// (its n block is `dgx`'s times r).
    pub dgh: B::Tensor,
    /// The direct part of the previous hidden state's gradient, `dh ⊙ z`
    /// (`dh` itself on padded rows) `[n, h]`; the caller adds `dgh·W_hh`.
    pub dh_prev: B::Tensor,
}

/// Saved state of a layer norm, for its backward.
#[derive(Clone, Debug)]
pub struct LayerNormStep<B: Backend> {
    /// Output `[.., d]`: `(x − mean)·rstd·gamma + beta` per row.
    pub y: B::Tensor,
    /// Per row of `x` (all axes but the last, flattened), its mean and
    /// reciprocal standard deviation `1/√(var + eps)`: `[rows, 2]`.
    pub stats: B::Tensor,
}

/// Gradients of a layer norm.
#[derive(Clone, Debug)]
pub struct LayerNormGrads<B: Backend> {
    /// Gradient with respect to the input, shaped as `x`.
    pub dx: B::Tensor,
    /// Gradient with respect to the scale `[d]`.
    pub dgamma: B::Tensor,
    /// Gradient with respect to the shift `[d]`.
    pub dbeta: B::Tensor,
}

/// Which columns a query competes with in [`Backend::rank_among`].
#[derive(Clone, Copy, Debug)]
pub enum Among<'a, B: Backend> {
    /// Every column of the row except these (and except the row's queries).
    AllExcept(Option<&'a Pattern<B>>),
    /// Only these columns of the row.
    Only(&'a Pattern<B>),
}

/// The AUC inputs of [`Backend::rank_metrics`].
#[derive(Clone, Copy, Debug)]
pub struct AucCounts<'a, B: Backend> {
    /// Per target entry, in CSR order, the negatives ranked before it
    /// ([`Backend::rank_among`] with [`Among::AllExcept`]).
    pub before: &'a B::Index,
    /// Per row, the number of negatives: columns neither masked nor targets.
    pub negatives: &'a B::Index,
}

/// Metrics per cut-off in the output of [`Backend::rank_metrics`], in column order.
pub const RANK_METRICS: [&str; 6] = ["recall", "precision", "hit", "ndcg", "mrr", "map"];

/// Shape-carrying tensors.
pub trait Shaped {
    /// The tensor's shape.
    fn dims(&self) -> &[usize];
    /// Number of elements.
    fn numel(&self) -> usize {
        self.dims().iter().product()
    }
}

/// Lengths of index vectors.
pub trait Indexed {
    /// Number of indices.
    fn count(&self) -> usize;
}

/// The op surface.
pub trait Backend: Clone + Send + Sync + std::fmt::Debug + 'static {
    /// A row-major `f32` tensor.
    type Tensor: Clone + Send + Sync + std::fmt::Debug + Shaped;
    /// A vector of `u32` indices.
    type Index: Clone + Send + Sync + std::fmt::Debug + Indexed;

    /// A short description ("cpu", or the adapter name and API).
    fn describe(&self) -> String;

    // ---- data movement -------------------------------------------------

    /// Uploads `data` as a tensor of `shape`.
    fn tensor(&self, data: &[f32], shape: &[usize]) -> Result<Self::Tensor>;
    /// Uploads indices.
    fn index(&self, data: &[u32]) -> Result<Self::Index>;
    /// A tensor of zeros.
    fn zeros(&self, shape: &[usize]) -> Self::Tensor;
    /// A tensor filled with `value`.
    fn full(&self, shape: &[usize], value: f32) -> Self::Tensor;
    /// The same data under another shape of equal size.
    fn reshape(&self, t: &Self::Tensor, shape: &[usize]) -> Self::Tensor;
    /// Overwrites `dst` with `src` (equal sizes).
    fn assign(&self, dst: &mut Self::Tensor, src: &Self::Tensor);
    /// Stacks two `[n, d]` tensors of equal width into `[na + nb, d]` (a device copy).
    fn concat_rows(&self, a: &Self::Tensor, b: &Self::Tensor) -> Self::Tensor;
    /// Rows `start..start + len` of a `[n, d]` tensor, as a new tensor (a device copy).
    fn slice_rows(&self, t: &Self::Tensor, start: usize, len: usize) -> Self::Tensor;
    /// Reads a tensor back (waits for pending work on the GPU).
    fn read(&self, t: &Self::Tensor) -> Result<Vec<f32>>;
    /// Reads indices back.
    fn read_index(&self, i: &Self::Index) -> Result<Vec<u32>>;
    /// [`Backend::read`] without blocking the calling thread: the pending
    /// work is submitted when the future is first polled, and the future is
    /// ready once the device has finished (polling the device, never
    /// waiting on it). The CPU backend's is ready at once.
    fn read_async<'a>(&'a self, t: &'a Self::Tensor) -> futures::future::LocalBoxFuture<'a, Result<Vec<f32>>> {
        Box::pin(async move { self.read(t) })
    }
    /// [`Backend::read_index`] without blocking, as [`Backend::read_async`].
    fn read_index_async<'a>(&'a self, i: &'a Self::Index) -> futures::future::LocalBoxFuture<'a, Result<Vec<u32>>> {
        Box::pin(async move { self.read_index(i) })
    }
    /// Submits recorded work without waiting; reports errors kept since the last flush.
    fn flush(&self) -> Result<()>;
    /// An error with the sizes unless one tensor of `bytes` fits this backend
    /// (the GPU's buffer and binding limits; for the CPU backend, half the
    /// host's memory): for models whose sizes grow with the data (EASE's
    /// items × items matrix) to check before they allocate.
    fn check_fits(&self, what: &dyn Fn() -> String, bytes: u64) -> Result<()>;

    // ---- dense ---------------------------------------------------------

    /// `act(op(a) · op(b) + bias)`, where `op` transposes the last two axes
    /// when its flag is set. `a` is `[m, k]` or `[batch, m, k]`; `b` is
    /// `[k, n]` or `[batch, k, n]` (a 2-D `b` is shared by every batch);
    /// `bias` is `[n]`. Output `[m, n]` or `[batch, m, n]`.
    fn matmul(
        &self,
        a: &Self::Tensor,
        b: &Self::Tensor,
        trans_a: bool,
        trans_b: bool,
        bias: Option<&Self::Tensor>,
        act: Act,
    ) -> Self::Tensor;
    /// `a op b` with numpy broadcasting (rank ≤ 4).
    fn binary(&self, op: BinaryOp, a: &Self::Tensor, b: &Self::Tensor) -> Self::Tensor;
    /// `op(x)` elementwise.
    fn unary(&self, op: UnaryOp, x: &Self::Tensor) -> Self::Tensor;
    /// `alpha · x + beta` elementwise.
    fn scale(&self, x: &Self::Tensor, alpha: f32, beta: f32) -> Self::Tensor;
    /// `act(x)` elementwise.
    fn activate(&self, x: &Self::Tensor, act: Act) -> Self::Tensor;
    /// `dy · act'(x)`, written in terms of the activation's output `y = act(x)`.
    fn activate_backward(&self, y: &Self::Tensor, dy: &Self::Tensor, act: Act) -> Self::Tensor;
    /// Reduces the last axis: `[.., n] → [..]`.
    fn reduce_rows(&self, x: &Self::Tensor, op: Reduce) -> Self::Tensor;
    /// Reduces the first axis: `[n, ..] → [..]` (bias gradients).
    fn reduce_cols(&self, x: &Self::Tensor, op: Reduce) -> Self::Tensor;
    /// Softmax over the last axis.
    fn softmax(&self, x: &Self::Tensor) -> Self::Tensor;
    /// Log-softmax over the last axis.
    fn log_softmax(&self, x: &Self::Tensor) -> Self::Tensor;
    /// Gradient of softmax given its output `y`: `y · (dy − Σ dy·y)`.
    fn softmax_backward(&self, y: &Self::Tensor, dy: &Self::Tensor) -> Self::Tensor;
    /// Gradient of log-softmax given its output `y`: `dy − e^y · Σ dy`.
    fn log_softmax_backward(&self, y: &Self::Tensor, dy: &Self::Tensor) -> Self::Tensor;
    /// The transpose `[m, n]` of a 2-D `x` `[n, m]` (a device copy).
    fn transpose(&self, x: &Self::Tensor) -> Self::Tensor;
    /// Row-wise dot product of two `[n, d]` tensors: `[n]`.
    fn dot_rows(&self, a: &Self::Tensor, b: &Self::Tensor) -> Self::Tensor;

    // ---- dense linear algebra ------------------------------------------

    /// The inverse of a symmetric positive-definite `a` `[n, n]`: A⁻¹ `[n, n]`
    /// (EASE's P = (XᵀX + λI)⁻¹).
    ///
    /// If a pivot is ≤ 0 or not finite (`a` is not positive definite, or
    /// holds NaN or ±∞ on the way) every entry of the result is NaN, so a
    /// caller detects failure with one finiteness check; the GPU also counts
    /// a subnormal pivot as failed, and an entry that overflows past a tiny
    /// pivot comes back NaN (on the CPU, all of them do). The result is
    /// exactly symmetric: (i, j) and (j, i) are the same value, taken from the
    /// lower triangle. `a` must be symmetric: each backend reads only its
    /// lower part (the CPU the lower triangle, the GPU the 64×64 tiles on and
    /// below the diagonal).
    ///
    /// CPU: Cholesky A = LLᵀ, W = L⁻¹, A⁻¹ = WᵀW, all in f64 and rounded to
    /// f32 once; n³ FLOPs. GPU: the blocked sweep operator (symmetric
    /// Gauss–Jordan without pivoting, stable for SPD matrices) over 32-wide
    /// block columns, in f32, in place on a copy, keeping only the lower
    /// tiles of the symmetric iterates: per block column one panel dispatch
    /// (each workgroup re-inverts the 32×32 pivot block in workgroup memory
    /// and applies it to its 64 columns) and one 64×64-tiled rank-32 update
    /// of the lower tiles, then one dispatch that negates and mirrors —
    /// 2·⌈n/32⌉ + 1 dispatches in the current submission, no read-back,
    /// n³ + O(64n²) FLOPs, almost all of them in the tiled update.
    /// Deterministic: no atomics on floats, fixed summation order.
    fn spd_inverse(&self, a: &Self::Tensor) -> Self::Tensor;

    // ---- embeddings ----------------------------------------------------

    /// `table[idx[i], :]` for each `i`: `[n, d]`.
    fn gather_rows(&self, table: &Self::Tensor, idx: &Self::Index) -> Self::Tensor;
    /// Sums the rows of `dy` (`[batch, d]`) that hit the same table row:
    /// `[groups.unique, d]`, in the order of `groups.rows`.
    fn scatter_add_rows(&self, dy: &Self::Tensor, groups: &RowGroups<Self>) -> Self::Tensor;
    /// Groups a batch's rows for [`Backend::scatter_add_rows`] (host work, O(n log n)).
    fn row_groups(&self, idx: &[u32]) -> Result<RowGroups<Self>> {
        let host = crate::sparse::group_rows(idx);
        Ok(RowGroups {
            rows: self.index(&host.rows)?,
            offsets: self.index(&host.offsets)?,
            order: self.index(&host.order)?,
            unique: host.rows.len(),
            batch: idx.len(),
        })
    }

    // ---- sparse --------------------------------------------------------

    /// Uploads a CSR matrix.
    fn csr(&self, m: &CsrHost) -> Result<Csr<Self>> {
        Ok(Csr { pattern: self.pattern(m)?, vals: self.tensor(&m.vals, &[m.vals.len()])? })
    }
    /// Uploads a CSR sparsity pattern (values ignored).
    fn pattern(&self, m: &CsrHost) -> Result<Pattern<Self>> {
        Ok(Pattern { rows: m.rows, cols: m.cols, row_ptr: self.index(&m.row_ptr)?, col_idx: self.index(&m.col_idx)? })
    }
    /// `A · X` for CSR `A` `[r, c]` and dense `X` `[c, d]`: `[r, d]`. One
    /// output row per invocation group, so the sum order is fixed. For `Aᵀ · X`
    /// upload [`CsrHost::transpose`].
    fn spmm_csr(&self, a: &Csr<Self>, x: &Self::Tensor) -> Self::Tensor;
    /// `A[rows] · X` for CSR `A` `[r, c]`, row indices `rows` and dense `X`
    /// `[c, d]`: `[rows.len(), d]`, output row `q` summing `v · X[col, :]` over
    /// the entries of row `rows[q]` of `A` in CSR order (the order of
    /// [`Backend::spmm_csr`] on the selected rows). Rows may repeat.
    /// Scores `X[users] · B` without densifying `X` or uploading a row
    /// selection per batch. `rows` lives on the device, so the range check
    /// `rows[q] < r` is a CPU-reference panic only; the GPU kernel writes NaN
    /// across an out-of-range row (never reading past `row_ptr`).
    fn spmm_csr_rows(&self, a: &Csr<Self>, rows: &Self::Index, x: &Self::Tensor) -> Self::Tensor;
    /// Rows `rows` of a CSR `a` `[r, c]` as a dense `[rows.len(), c]` tensor:
    /// `out[q, j]` is the stored value at (rows[q], j), or 0. Rows may repeat.
    /// Builds an autoencoder's input rows on the device from the training
    /// matrix uploaded once, so a batch uploads only its row ids. Columns
    /// must be sorted and distinct within a row (as [`CsrHost::from_triplets`]
    /// builds them): the GPU finds each column by binary search. As in
    /// [`Backend::spmm_csr_rows`], a row `≥ r` panics on the CPU and comes out
    /// NaN on the GPU.
    fn csr_rows_dense(&self, a: &Csr<Self>, rows: &Self::Index) -> Self::Tensor;
    /// The item–item Gram matrix `Xᵀ · X` `[c, c]` of a CSR `x` `[r, c]`
    /// (values used, so a weighted X works), with `xt` the upload of
    /// [`CsrHost::transpose`] of the same matrix. Columns must be distinct
    /// within a row (as [`CsrHost::from_triplets`] builds them). Each
    /// `G[i, j]` is summed over the rows `u` in ascending order, the same on
    /// both backends. On the GPU, `X` is densified a bounded chunk of rows at a
    /// time (see [`crate::Gpu::gram_in_chunks`]); 2·nnz·c FLOPs, `[c, c]` plus
    /// one chunk of memory.
    fn gram(&self, x: &Csr<Self>, xt: &Csr<Self>) -> Self::Tensor;

    // ---- convolution and pooling ----------------------------------------

    /// 1-D convolution (cross-correlation): `x` `[n, c_in, l]`, `w` `[c_out, c_in, k]`,
    /// optional `bias` `[c_out]`; output `[n, c_out, (l + 2·padding − k) / stride + 1]`.
    fn conv1d(
        &self,
        x: &Self::Tensor,
        w: &Self::Tensor,
        bias: Option<&Self::Tensor>,
        stride: usize,
        padding: usize,
    ) -> Self::Tensor;
    /// Gradient of [`Backend::conv1d`] with respect to its input (of length `l`).
    fn conv1d_backward_input(
        &self,
        dy: &Self::Tensor,
        w: &Self::Tensor,
        l: usize,
        stride: usize,
        padding: usize,
    ) -> Self::Tensor;
    /// Gradients of [`Backend::conv1d`] with respect to the weight and bias: `(dw, db)`.
    fn conv1d_backward_weight(
        &self,
        x: &Self::Tensor,
        dy: &Self::Tensor,
        k: usize,
        stride: usize,
        padding: usize,
    ) -> (Self::Tensor, Self::Tensor);
    /// 2-D convolution: `x` `[n, c_in, h, w]`, `w` `[c_out, c_in, kh, kw]`,
    /// optional `bias` `[c_out]`, `stride` and `padding` as (rows, cols).
    fn conv2d(
        &self,
        x: &Self::Tensor,
        w: &Self::Tensor,
        bias: Option<&Self::Tensor>,
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Self::Tensor;
    /// Gradient of [`Backend::conv2d`] with respect to its input of spatial size `hw`.
    fn conv2d_backward_input(
        &self,
        dy: &Self::Tensor,
        w: &Self::Tensor,
        hw: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Self::Tensor;
    /// Gradients of [`Backend::conv2d`] with respect to the weight (kernel `khw`) and bias.
    fn conv2d_backward_weight(
        &self,
        x: &Self::Tensor,
        dy: &Self::Tensor,
        khw: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> (Self::Tensor, Self::Tensor);
    /// Max-pooling over windows `kernel` with `stride` of `x` `[n, c, h, w]`
    /// (1-D pooling is `h = 1`). Returns the output and, per output, the flat
    /// input position (within its `h·w` plane) of the maximum (first on ties).
    fn maxpool2d(
        &self,
        x: &Self::Tensor,
        kernel: (usize, usize),
        stride: (usize, usize),
    ) -> (Self::Tensor, Self::Index);
    /// Gradient of [`Backend::maxpool2d`]: each input position sums the `dy` of
    /// the windows whose maximum it was (a gather, no atomics).
    fn maxpool2d_backward(
        &self,
        dy: &Self::Tensor,
        argmax: &Self::Index,
        input_shape: &[usize],
        kernel: (usize, usize),
        stride: (usize, usize),
    ) -> Self::Tensor;

    /// A full-width convolution over the rows of n images of `window` rows,
    /// with bias, ReLU and max-pooling over the positions fused (Caser's
    /// horizontal convolution): `x` `[n·window, d]`, `w` `[h·c, d]` (row
    /// `u·c + o` is row u of filter o), `bias` c values. Returns `y` `[n, c]`,
    /// `y[r, o] = max(0, max_i Σ_u x[r·window + i + u] · w[u·c + o] + b[o])`,
    /// and the first position i attaining the maximum, `[n·c]`
    /// (`crate::cpu::conv_rows_max` has the sums' order).
    fn conv_rows_max(
        &self,
        x: &Self::Tensor,
        w: &Self::Tensor,
        bias: &Self::Tensor,
        window: usize,
    ) -> (Self::Tensor, Self::Index);
    /// Gradients of [`Backend::conv_rows_max`] from its output `y`, `argmax`
    /// and `dy` `[n, c]`: `(dx, dw, db)`, `dx` `[n·window, d]` added to `acc`
    /// when given (x's shape), `dw` `[h·c, d]`, `db` `[1, c]`. Only the
    /// maxima with y > 0 pass a gradient, each to its own position.
    #[allow(clippy::too_many_arguments)]
    fn conv_rows_max_backward(
        &self,
        x: &Self::Tensor,
        w: &Self::Tensor,
        y: &Self::Tensor,
        argmax: &Self::Index,
        dy: &Self::Tensor,
        window: usize,
        acc: Option<&Self::Tensor>,
    ) -> (Self::Tensor, Self::Tensor, Self::Tensor);

    // ---- recurrent -----------------------------------------------------

    /// One fused LSTM cell step. `gates` `[n, 4h]` holds the pre-activations
    /// `x·W_ihᵀ + h_prev·W_hhᵀ + b` in order i, f, g, o; `c_prev`, `h_prev` are
    /// `[n, h]`. Where `mask[r] = 0` (a padded position) row `r` keeps `h_prev`
    /// and `c_prev`.
    fn lstm_cell(
        &self,
        gates: &Self::Tensor,
        h_prev: &Self::Tensor,
        c_prev: &Self::Tensor,
        mask: Option<&Self::Tensor>,
    ) -> LstmStep<Self>;
    /// Backward of [`Backend::lstm_cell`], given the gradients flowing into the
    /// step's `h` and `c`.
    fn lstm_cell_backward(
        &self,
        step: &LstmStep<Self>,
        c_prev: &Self::Tensor,
        dh: &Self::Tensor,
        dc: &Self::Tensor,
        mask: Option<&Self::Tensor>,
    ) -> LstmGrads<Self>;
    /// One fused GRU cell step (PyTorch's GRU, gate order r, z, n). `gx`
    /// `[n, 3h]` is the input projection `x·W_ihᵀ + b_ih`, `gh` `[n, 3h]` the
    /// recurrent one `h_prev·W_hhᵀ + b_hh`, `h_prev` `[n, h]`:
    /// `r = σ(gx_r + gh_r)`, `z = σ(gx_z + gh_z)`, `n = tanh(gx_n + r ⊙ gh_n)`,
    /// `h = (1 − z) ⊙ n + z ⊙ h_prev`. Where `mask[r] = 0` (a padded
    /// position) row `r` keeps `h_prev`; its gates are still saved.
    fn gru_cell(
        &self,
        gx: &Self::Tensor,
        gh: &Self::Tensor,
        h_prev: &Self::Tensor,
        mask: Option<&Self::Tensor>,
    ) -> GruStep<Self>;
    /// Backward of [`Backend::gru_cell`], given the step's `gh` and `h_prev`
    /// and the gradient `dh` flowing into its `h`. Padded rows get zero
    /// `dgx`, `dgh` and pass `dh` to `dh_prev`.
    fn gru_cell_backward(
        &self,
        step: &GruStep<Self>,
        gh: &Self::Tensor,
        h_prev: &Self::Tensor,
        dh: &Self::Tensor,
        mask: Option<&Self::Tensor>,
    ) -> GruGrads<Self>;

    // ---- normalization ---------------------------------------------------

    /// Layer norm over the last axis of `x` `[.., d]` (d ≥ 1), with scale
    /// `gamma` and shift `beta` `[d]`: per row, mean = Σx/d, var = Σ(x −
    /// mean)²/d (biased, as PyTorch's), rstd = 1/√(var + eps), y = (x −
    /// mean)·rstd·gamma + beta. Both sums run in the order of
    /// [`crate::cpu::dense::tree_sum`]. Saves the row statistics for the backward.
    fn layer_norm(&self, x: &Self::Tensor, gamma: &Self::Tensor, beta: &Self::Tensor, eps: f32) -> LayerNormStep<Self>;
    /// Backward of [`Backend::layer_norm`], given its input `x`, `gamma` and the
    /// gradient `dy` of its output. With x̂ = (x − mean)·rstd and g = dy·gamma:
    /// dx = rstd·(g − Σg/d − x̂·Σ(g·x̂)/d) per row (tree-ordered sums);
    /// dgamma = Σ_rows dy·x̂ and dbeta = Σ_rows dy, summed over rows in row
    /// order (one invocation per column on the GPU, no atomics).
    fn layer_norm_backward(
        &self,
        step: &LayerNormStep<Self>,
        x: &Self::Tensor,
        gamma: &Self::Tensor,
        dy: &Self::Tensor,
    ) -> LayerNormGrads<Self>;

    // ---- attention -------------------------------------------------------

    /// Softmax over the last axis of attention scores `x` `[n, lq, lk]` with
    /// key `j` masked for query `i` when `causal` and `j > i`, or when
    /// `key_mask` `[m, lk]` (n a multiple of m; batch `b` reads row
    /// `b / (n / m)`, so `n = m·heads` laid out sequence-major) holds 0 at `j`.
    /// Masked entries come out 0; a row whose unmasked scores all are −∞ (in
    /// particular a row with every key masked) comes out all 0, never NaN.
    /// Sums run in the order of [`crate::cpu::dense::tree_sum`] over all
    /// `lk` positions (masked ones adding 0).
    fn masked_softmax(&self, x: &Self::Tensor, key_mask: Option<&Self::Tensor>, causal: bool) -> Self::Tensor;
    /// Backward of [`Backend::masked_softmax`] from its output `y`:
    /// `y·(dy − Σ dy·y)`, which is 0 at masked entries (y = 0 there) and on
    /// fully masked rows, and the exact gradient with respect to the unmasked
    /// scores — the same kernel as [`Backend::softmax_backward`].
    fn masked_softmax_backward(&self, y: &Self::Tensor, dy: &Self::Tensor) -> Self::Tensor {
        self.softmax_backward(y, dy)
    }

    // ---- optimizers ----------------------------------------------------

    /// One fused Adam/AdamW update of a whole parameter buffer (bias-corrected; `step` ≥ 1).
    fn adam(
        &self,
        p: &mut Self::Tensor,
        g: &Self::Tensor,
        m: &mut Self::Tensor,
        v: &mut Self::Tensor,
        cfg: &AdamConfig,
        step: u32,
    );
    /// Lazy Adam: updates only `rows` of a `[r, d]` table with their gradients `g` `[rows.len(), d]`.
    #[allow(clippy::too_many_arguments)]
    fn adam_rows(
        &self,
        p: &mut Self::Tensor,
        rows: &Self::Index,
        g: &Self::Tensor,
        m: &mut Self::Tensor,
        v: &mut Self::Tensor,
        cfg: &AdamConfig,
        step: u32,
    );
    /// Adagrad with L2 weight decay: `s ← s + g²; p ← p − lr·g / (√s + eps)`.
    #[allow(clippy::too_many_arguments)]
    fn adagrad(
        &self,
        p: &mut Self::Tensor,
        g: &Self::Tensor,
        accum: &mut Self::Tensor,
        lr: f32,
        eps: f32,
        weight_decay: f32,
    );
    /// SGD with momentum and weight decay: `v ← μ·v + g + λ·p; p ← p − lr·v`.
    fn sgd(
        &self,
        p: &mut Self::Tensor,
        g: &Self::Tensor,
        velocity: &mut Self::Tensor,
        lr: f32,
        momentum: f32,
        weight_decay: f32,
    );

    // ---- losses (mean over the batch; return the loss as a `[1]` tensor and its gradient) ----

    /// Mean squared error `mean((pred − target)²)`.
    fn mse_loss(&self, pred: &Self::Tensor, target: &Self::Tensor) -> (Self::Tensor, Self::Tensor);
    /// Binary cross-entropy on logits, numerically stable.
    fn bce_with_logits(&self, logits: &Self::Tensor, target: &Self::Tensor) -> (Self::Tensor, Self::Tensor);
    /// BPR: `mean(−ln σ(pos − neg))`; the gradient for `neg` is the negation of the one returned for `pos`.
    fn bpr_loss(&self, pos: &Self::Tensor, neg: &Self::Tensor) -> (Self::Tensor, Self::Tensor);
    /// BPR-MF's loss and gradients in one pass over `n` triples `(u, i, j)`
    /// laid out as `idx = [u_0‥u_n | i_0‥i_n | j_0‥j_n]`, rows of `user`
    /// `[users, d]` and `item` `[items, d]`. With x = p_u·q_i − p_u·q_j (each
    /// dot summed in order over d) and g = −σ(−x)/n, returns
    /// - the loss `[1]`: mean of −ln σ(x) (without the penalty);
    /// - per-triple user gradients `[n, d]`: g (q_i − q_j) + (λ/n) p_u;
    /// - per-triple item gradients `[2n, d]`: rows g p_u + (λ/n) q_i, then rows −g p_u + (λ/n) q_j;
    ///
    /// the gradient of mean(−ln σ(x)) + λ/(2n) Σ (‖p_u‖² + ‖q_i‖² + ‖q_j‖²) per
    /// occurrence, ready for [`Backend::scatter_add_rows`]. Indices must be in range.
    fn bpr_triples(
        &self,
        user: &Self::Tensor,
        item: &Self::Tensor,
        idx: &Self::Index,
        reg: f32,
    ) -> (Self::Tensor, Self::Tensor, Self::Tensor);
    /// Biased MF's squared error in one pass over `n` ratings: with table rows
    /// `idx = [u_0‥u_n | i_0‥i_n]` of `factors` `[rows, d]` and `biases`
    /// `[≥ rows, 1]`, r̂_k = ((F_u·F_i) + B_u) + B_i (dot summed in order over d)
    /// and e_k = r̂_k − target_k; returns (mean e² `[1]`, 2e/n `[n]`).
    /// Indices must be in range.
    fn mf_residuals(
        &self,
        factors: &Self::Tensor,
        biases: &Self::Tensor,
        idx: &Self::Index,
        target: &Self::Tensor,
    ) -> (Self::Tensor, Self::Tensor);
    /// Softmax cross-entropy of `logits` `[n, c]` against class indices `[n]`.
    fn softmax_cross_entropy(&self, logits: &Self::Tensor, target: &Self::Index) -> (Self::Tensor, Self::Tensor);

    // ---- randomness and ranking -----------------------------------------

    /// For each query entry (row r, column t) of `queries`, the number of
    /// competitor columns of row r of `scores` that rank before t (higher
    /// score, then lower column; NaN as −inf), in CSR entry order. With
    /// `AllExcept`, competitors are all columns but the excluded ones and the
    /// row's queries (AUC); with `Only`, exactly the listed ones (sampled ranking).
    fn rank_among(&self, scores: &Self::Tensor, queries: &Pattern<Self>, among: Among<'_, Self>) -> Self::Index;

    /// Inverted dropout with a counter-based generator: the same `seed` drops
    /// the same positions, so the backward is `dropout(dy, p, seed)`.
    fn dropout(&self, x: &Self::Tensor, p: f32, seed: u64) -> Self::Tensor;
    /// A tensor of `shape` drawn from N(0, 1) by Box–Muller on the
    /// counter-based generator: element `i` reads the uniforms `2⌊i/2⌋` and
    /// `2⌊i/2⌋ + 1` of stream `seed`, u₁ ∈ (0, 1] and u₂ ∈ [0, 1), and is
    /// √(−2 ln u₁) · cos(2π u₂) for even `i`, · sin(2π u₂) for odd `i`. The same
    /// numbers on every backend up to the rounding of ln, cos and sin.
    fn normal(&self, shape: &[usize], seed: u64) -> Self::Tensor;
    /// `n` integers uniform in `[0, bound)` from the counter-based generator.
    fn random_ints(&self, n: usize, bound: u32, seed: u64) -> Self::Index;
    /// Per row of `scores` `[n, m]`, the `k` largest entries whose column is
    /// not in that row of `exclude` (ties broken by lower column). Returns
    /// `(columns [n·k], scores [n, k])`; rows with fewer than `k` candidates
    /// are padded with column `u32::MAX` and score `-inf`.
    fn topk_masked(
        &self,
        scores: &Self::Tensor,
        k: usize,
        exclude: Option<&Pattern<Self>>,
    ) -> (Self::Index, Self::Tensor);
    /// Keeps, in each row of `x` `[n, m]`, the `k` largest entries and sets
    /// every other entry to 0: `[n, m]`. Entries rank by value, ties by lower
    /// column; NaN ranks below −inf and −0 equals +0 (the order of
    /// [`crate::cpu::topk::order_key`]). A kept entry keeps its value (a kept
    /// NaN stays NaN). `k = 0` gives zeros, `k ≥ m` the row itself; any `k`
    /// (ItemKNN prunes a similarity to k = 250 neighbours of 1682 items).
    fn keep_top_k(&self, x: &Self::Tensor, k: usize) -> Self::Tensor;
    /// Per-row ranking metrics of top-`k` lists `top` (`[n·k]` columns, best
    /// first, `u32::MAX` for an empty slot) against the rows of `targets`, at
    /// each cut-off `ks[i]` ≥ 1 (at most 16 on the GPU; a cut-off above `k`
    /// sees only the `k` listed).
    /// Returns `[n, 6·ks.len() + 1]`: column `j·ks.len() + i` holds metric
    /// [`RANK_METRICS`]`[j]` at `ks[i]` (RecBole's definitions, see
    /// `eval::ranking`), the last column the row's AUC `1 − Σ before /
    /// (|targets| · negatives)` when `auc` is given; rows without targets (or,
    /// for AUC, without negatives) are zeros. `covered` (`[ks.len(),
    /// targets.cols]`), when given, gets `covered[i, c] = 1` for each column c
    /// among any row's first `ks[i]`: item coverage accumulated over batches.
    fn rank_metrics(
        &self,
        top: &Self::Index,
        k: usize,
        targets: &Pattern<Self>,
        ks: &[usize],
        auc: Option<AucCounts<'_, Self>>,
        covered: Option<&mut Self::Tensor>,
    ) -> Self::Tensor;
}

/// Checks the inputs of [`Backend::bpr_triples`] (both backends): two 2-D
/// tables of one width and `3n` indices. Returns the width.
pub(crate) fn bpr_triples_width(user: &[usize], item: &[usize], indices: usize) -> usize {
    assert!(user.len() == 2 && item.len() == 2, "bpr_triples: tables must be 2-D, got {user:?} and {item:?}");
    assert_eq!(user[1], item[1], "bpr_triples: user width {} vs item width {}", user[1], item[1]);
    assert_eq!(indices % 3, 0, "bpr_triples: {indices} indices is not 3n");
    user[1]
}

/// Checks the input of [`Backend::keep_top_k`] (both backends) and returns (n, m).
pub(crate) fn keep_top_k_shape(x: &[usize]) -> (usize, usize) {
    assert_eq!(x.len(), 2, "keep_top_k: x must be 2-D, got {x:?}");
    (x[0], x[1])
}

/// Checks the inputs of [`Backend::gram`] (both backends): `xt` must have
/// the transposed shape and as many entries as `x`. Returns (rows, cols) of `x`.
pub(crate) fn gram_shape<B: Backend>(x: &Csr<B>, xt: &Csr<B>) -> (usize, usize) {
    let (p, t) = (&x.pattern, &xt.pattern);
    assert!(
        t.rows == p.cols && t.cols == p.rows,
        "gram: xt is [{}, {}], want the transpose of x [{}, {}]",
        t.rows,
        t.cols,
        p.rows,
        p.cols
    );
    for (name, m) in [("x", x), ("xt", xt)] {
        let q = &m.pattern;
        assert!(
            q.row_ptr.count() == q.rows + 1,
            "gram: {name} row_ptr has {} offsets for {} rows",
            q.row_ptr.count(),
            q.rows
        );
        assert!(
            m.vals.dims() == [q.col_idx.count()],
            "gram: {name} vals {:?} for {} stored entries",
            m.vals.dims(),
            q.col_idx.count()
        );
    }
    assert_eq!(
        p.col_idx.count(),
        t.col_idx.count(),
        "gram: x has {} entries, xt {}",
        p.col_idx.count(),
        t.col_idx.count()
    );
    (p.rows, p.cols)
}

/// Checks the CSR `a` of [`Backend::csr_rows_dense`] (both backends) and
/// returns (rows, cols) of `a`.
pub(crate) fn csr_rows_dense_shape<B: Backend>(a: &Csr<B>) -> (usize, usize) {
    let p = &a.pattern;
    assert!(
        p.row_ptr.count() == p.rows + 1,
        "csr_rows_dense: row_ptr has {} offsets for {} rows",
        p.row_ptr.count(),
        p.rows
    );
    assert!(
        a.vals.dims() == [p.col_idx.count()],
        "csr_rows_dense: vals {:?} for {} stored entries",
        a.vals.dims(),
        p.col_idx.count()
    );
    (p.rows, p.cols)
}

/// Checks the inputs of [`Backend::layer_norm`] and
/// [`Backend::layer_norm_backward`] (both backends): `x` `[.., d]` with d ≥ 1,
/// each of `vecs` `[d]`, each of `same` shaped as `x`, `stats` `[rows, 2]`.
/// Returns (rows, d).
pub(crate) fn layer_norm_shape(
    op: &str,
    x: &[usize],
    vecs: &[(&str, &[usize])],
    same: &[(&str, &[usize])],
    stats: Option<&[usize]>,
) -> (usize, usize) {
    assert!(!x.is_empty(), "{op}: x must be [.., d], got a scalar");
    let d = *x.last().unwrap();
    assert!(d >= 1, "{op}: x {x:?} has an empty last axis");
    let rows = x.iter().product::<usize>() / d;
    for (name, v) in vecs {
        assert!(*v == [d], "{op}: {name} must be [{d}] for x {x:?}, got {v:?}");
    }
    for (name, v) in same {
        assert!(*v == x, "{op}: {name} must be {x:?} like x, got {v:?}");
    }
    if let Some(s) = stats {
        assert!(s == [rows, 2], "{op}: stats must be [{rows}, 2] for x {x:?}, got {s:?}");
    }
    (rows, d)
}

/// Checks the inputs of [`Backend::masked_softmax`] (both backends) and
/// returns (n, lq, lk, n / m) (the last 1 without a mask).
pub(crate) fn masked_softmax_shape(x: &[usize], key_mask: Option<&[usize]>) -> (usize, usize, usize, usize) {
    assert!(x.len() == 3, "masked_softmax: x must be [n, lq, lk], got {x:?}");
    let (n, lq, lk) = (x[0], x[1], x[2]);
    let group = match key_mask {
        None => 1,
        Some(m) => {
            assert!(
                m.len() == 2 && m[1] == lk && m[0] > 0 && n.is_multiple_of(m[0]),
                "masked_softmax: key_mask must be [m, {lk}] with m dividing {n} for x {x:?}, got {m:?}"
            );
            n / m[0]
        }
    };
    (n, lq, lk, group.max(1))
}

/// Checks the input of [`Backend::transpose`] (both backends) and returns (n, m).
pub(crate) fn transpose_shape(x: &[usize]) -> (usize, usize) {
    assert_eq!(x.len(), 2, "transpose: x must be 2-D, got {x:?}");
    (x[0], x[1])
}

/// Checks the inputs of [`Backend::mf_residuals`] (both backends) and
/// returns (n, d).
pub(crate) fn mf_residuals_shape(
    factors: &[usize],
    biases: &[usize],
    indices: usize,
    target: &[usize],
) -> (usize, usize) {
    assert_eq!(factors.len(), 2, "mf_residuals: factors must be 2-D, got {factors:?}");
    assert!(biases.iter().product::<usize>() >= factors[0], "mf_residuals: biases {biases:?} for {factors:?}");
    assert_eq!(indices % 2, 0, "mf_residuals: {indices} indices is not 2n");
    assert_eq!(target, [indices / 2], "mf_residuals: target {target:?} for {} ratings", indices / 2);
    (indices / 2, factors[1])
}

/// Checks the input of [`Backend::spd_inverse`] (both backends) and returns n.
pub(crate) fn spd_inverse_shape(a: &[usize]) -> usize {
    assert!(a.len() == 2 && a[0] == a[1], "spd_inverse: a must be square [n, n], got {a:?}");
    a[0]
}

/// Checks the shapes of `A · X` for [`Backend::spmm_csr`] and
/// [`Backend::spmm_csr_rows`] (panicking with the op name `op` and shapes, as
/// every op does) and returns the width `d` of `X`.
pub(crate) fn spmm_width<B: Backend>(op: &str, a: &Csr<B>, xs: &[usize]) -> usize {
    let p = &a.pattern;
    assert!(
        xs.len() == 2 && xs[0] == p.cols,
        "{op}: x must be [{}, d] for A [{}, {}], got {xs:?}",
        p.cols,
        p.rows,
        p.cols
    );
    assert!(p.row_ptr.count() == p.rows + 1, "{op}: row_ptr has {} offsets for {} rows", p.row_ptr.count(), p.rows);
    assert!(
        a.vals.dims() == [p.col_idx.count()],
        "{op}: vals {:?} for {} stored entries",
        a.vals.dims(),
        p.col_idx.count()
    );
    xs[1]
}

/// Checks the inputs of [`Backend::rank_metrics`] (panicking with the op name
/// and shapes) and returns the number of rows.
/// Most cut-offs one [`Backend::rank_metrics`] call takes (they ride in the
/// GPU kernel's uniform), on every backend.
pub const RANK_METRICS_MAX_KS: usize = 16;

pub(crate) fn rank_metrics_rows<B: Backend>(
    top: &B::Index,
    k: usize,
    targets: &Pattern<B>,
    ks: &[usize],
    auc: Option<&AucCounts<'_, B>>,
    covered: Option<&B::Tensor>,
) -> usize {
    let n = targets.rows;
    assert!(top.count() == n * k, "rank_metrics: top has {} entries for {n} rows of k = {k}", top.count());
    assert!(ks.iter().all(|&c| c >= 1), "rank_metrics: cut-offs must be ≥ 1, got {ks:?}");
    assert!(ks.len() <= RANK_METRICS_MAX_KS, "rank_metrics: {} cut-offs > {RANK_METRICS_MAX_KS}", ks.len());
    assert!(
        targets.row_ptr.count() == n + 1,
        "rank_metrics: targets row_ptr has {} offsets for {n} rows",
        targets.row_ptr.count()
    );
    if let Some(a) = auc {
        assert!(
            a.before.count() == targets.col_idx.count(),
            "rank_metrics: {} AUC counts for {} targets",
            a.before.count(),
            targets.col_idx.count()
        );
        assert!(a.negatives.count() == n, "rank_metrics: {} negative counts for {n} rows", a.negatives.count());
    }
    if let Some(c) = covered {
        assert!(
            c.dims() == [ks.len(), targets.cols],
            "rank_metrics: covered {:?}, want [{}, {}]",
            c.dims(),
            ks.len(),
            targets.cols
        );
    }
    n
}
