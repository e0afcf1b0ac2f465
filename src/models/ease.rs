//! EASE — H. Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019.
//!
//! fit:    G = XᵀX,  P = (G + λI)⁻¹,  B = I − P · diag(1 / diag P)   (so B_ii = 0, B_ij = −P_ij / P_jj)
//! score:  ŷ(u, ·) = X_u · B
//! loss:   min_B ‖X − XB‖²_F + λ‖B‖²_F subject to diag B = 0, solved in closed form (no training steps)
//!
//! X is the users × items training matrix (1 per interaction). Everything
//! runs on the device: the Gram matrix from the sparse X ([`Backend::gram`]),
//! λ on its diagonal, the SPD inverse ([`Backend::spd_inverse`]: 2⌈I/32⌉ + 1
//! dispatches on the GPU), the column scaling and the zero diagonal (B + I is
//! exact: −P_jj / P_jj is exactly −1), recorded in one submission; one
//! read-back of a single float checks that the inverse is finite. Scoring a
//! batch of users is one sparse product X[users] · B ([`Backend::spmm_csr_rows`]).
//! The I × I matrices are checked against the device (or host) limits before
//! anything is allocated. λ = 500 was chosen on ML-100K's validation part
//! (per-user 8:1:1, seed 2024; validation NDCG@10 for λ = 100 … 1000 in the
//! README): 0.2604, against 0.2598 for RecBole's default 250.

use crate::backend::{Backend, BinaryOp, Csr, Reduce, Shaped};
use crate::data::sequence::Sequences;
use crate::error::{Error, Result};
use crate::model_file::{ModelFile, NamedTensor};
use crate::models::contract::{
    download, upload, Batch, BatchKind, Family, Info, Layout, Model, Schedule, Scorer, Task, TrainSet,
};
use crate::sparse::CsrHost;

/// The EASE family (`ease`).
pub struct Ease;

/// EASE hyper-parameters.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EaseConfig {
    /// L2 weight λ added to the Gram matrix's diagonal.
    pub lambda: f32,
}

impl Default for EaseConfig {
    fn default() -> Self {
        Self { lambda: 500.0 }
    }
}

impl Family for Ease {
    const INFO: Info = Info {
        name: "ease",
        about: "EASE: a closed-form item–item linear autoencoder with a zero diagonal (Steck, WWW 2019)",
        task: Task::Ranking,
        batch: BatchKind::ClosedForm,
        schedule: Schedule { epochs: 1, patience: 0, fixed_epochs: 1, batch_size: 1, batch_unit: "closed form" },
        dim_keys: &[],
        lr_key: None,
    };
    type Config = EaseConfig;
    type Model<B: Backend> = EaseModel<B>;

    fn validate(cfg: &EaseConfig) -> Result<()> {
        if !(cfg.lambda.is_finite() && cfg.lambda > 0.0) {
            return Err(Error::Invalid(format!("EASE: lambda must be finite and > 0, got {}", cfg.lambda)));
        }
        Ok(())
    }

    fn build<B: Backend>(b: &B, data: &TrainSet, cfg: EaseConfig, _seed: u64) -> Result<EaseModel<B>> {
        EaseModel::fit(b, &data.interactions, cfg)
    }

    fn layout(_: &EaseConfig, n_users: usize, n_items: usize) -> Layout {
        vec![("weights".into(), vec![n_items, n_items]), ("history".into(), vec![n_users, n_items])]
    }

    fn load<B: Backend>(b: &B, cfg: EaseConfig, file: &ModelFile) -> Result<Box<dyn Model<B>>> {
        check_items(b, file.item_ids.len(), 1)?;
        let history = history_from_dense(file.tensor("history")?)?;
        Ok(Box::new(EaseModel {
            weights: upload(b, file, "weights")?,
            history: b.csr(&history)?,
            host_history: history,
            cfg,
        }))
    }
}

/// An error with the sizes unless `copies` items × items matrices fit `b`.
pub(crate) fn check_items<B: Backend>(b: &B, items: usize, copies: u64) -> Result<()> {
    let bytes = (items as u64).checked_mul(items as u64).and_then(|n| n.checked_mul(4 * copies));
    let what = || format!("the {items} × {items} item–item matrix");
    match bytes {
        Some(bytes) => b.check_fits(&what, bytes),
        None => Err(Error::Invalid(format!("{}: its size overflows", what()))),
    }
}

/// The users × items matrix of a dense 0/1 `history` tensor.
pub(crate) fn history_from_dense(t: &NamedTensor) -> Result<CsrHost> {
    let (rows, cols) = (t.shape[0], t.shape[1]);
    let mut trip = Vec::new();
    for (k, &v) in t.data.iter().enumerate() {
        if v != 0.0 {
            if v != 1.0 {
                return Err(Error::Invalid(format!("model file: `{}` holds {v}, not 0 or 1", t.name)));
            }
            trip.push(((k / cols) as u32, (k % cols) as u32, 1.0));
        }
    }
    Ok(CsrHost::from_triplets(rows, cols, &trip))
}

/// The users × items matrix as a dense 0/1 tensor, for the model file.
pub(crate) fn history_to_dense(m: &CsrHost) -> NamedTensor {
    csr_to_dense("history", m, |_| 1.0)
}

/// `m` as a dense `[rows, cols]` tensor called `name`, stored entry `k`
/// written as `value(k)` and every other entry 0.
pub(crate) fn csr_to_dense(name: &str, m: &CsrHost, value: impl Fn(usize) -> f32) -> NamedTensor {
    let mut data = vec![0f32; m.rows * m.cols];
    for r in 0..m.rows {
        for k in m.row_ptr[r] as usize..m.row_ptr[r + 1] as usize {
            data[r * m.cols + m.col_idx[k] as usize] = value(k);
        }
    }
    NamedTensor::new(name, vec![m.rows, m.cols], data)
}

/// `X[users] · W` for the users' rows of `history`.
pub(crate) fn score_rows<B: Backend>(b: &B, history: &Csr<B>, users: &B::Index, w: &B::Tensor) -> B::Tensor {
    b.spmm_csr_rows(history, users, w)
}

/// `X·W` for the 0/1 rows of `histories` (users the model may never have
/// seen): an item–item model scores a history as it scores a user's row.
pub(crate) fn score_history_rows<B: Backend>(b: &B, histories: &Sequences, w: &B::Tensor) -> Result<B::Tensor> {
    let rows = histories.to_rows(w.dims()[0])?;
    let all = b.index(&(0..rows.rows as u32).collect::<Vec<_>>())?;
    Ok(score_rows(b, &b.csr(&rows)?, &all, w))
}

/// The identity `[n, n]`.
pub(crate) fn eye<B: Backend>(b: &B, n: usize) -> Result<B::Tensor> {
    let mut data = vec![0f32; n * n];
    data.iter_mut().step_by(n + 1).for_each(|v| *v = 1.0);
    b.tensor(&data, &[n, n])
}

/// The diagonal of a square `[n, n]` tensor, as a row `[1, n]`.
pub(crate) fn diagonal<B: Backend>(b: &B, m: &B::Tensor) -> Result<B::Tensor> {
    let n = m.dims()[0];
    let idx: Vec<u32> = (0..n as u32).map(|k| k * (n as u32 + 1)).collect();
    let flat = b.reshape(m, &[n * n, 1]);
    Ok(b.reshape(&b.gather_rows(&flat, &b.index(&idx)?), &[1, n]))
}

/// A fitted EASE model.
pub struct EaseModel<B: Backend> {
    /// B `[items, items]`.
    weights: B::Tensor,
    /// X, the training interactions, on the device.
    history: Csr<B>,
    host_history: CsrHost,
    cfg: EaseConfig,
}

impl<B: Backend> EaseModel<B> {
    /// Fits B on the users × items matrix `x` (see the module docs).
    pub fn fit(b: &B, x: &CsrHost, cfg: EaseConfig) -> Result<Self> {
        Ease::validate(&cfg)?;
        let n = x.cols;
        if n == 0 {
            return Err(Error::Invalid("EASE: no items".into()));
        }
        // G, λI, P and B live at once.
        check_items(b, n, 4)?;
        let dx = b.csr(x)?;
        let gram = b.gram(&dx, &b.csr(&x.transpose())?);
        let eye = eye(b, n)?;
        let p = b.spd_inverse(&b.binary(BinaryOp::Add, &gram, &b.scale(&eye, cfg.lambda, 0.0)));
        let ratio = b.binary(BinaryOp::Div, &p, &diagonal(b, &p)?);
        let weights = b.binary(BinaryOp::Add, &b.scale(&ratio, -1.0, 0.0), &eye);
        let total = b.read(&b.reduce_rows(&b.reshape(&weights, &[1, n * n]), Reduce::Sum))?[0];
        if !total.is_finite() {
            return Err(Error::Invalid(format!(
                "EASE: XᵀX + λI with λ = {} could not be inverted in f32 (a larger lambda is better conditioned)",
                cfg.lambda
            )));
        }
        Ok(Self { weights, history: dx, host_history: x.clone(), cfg })
    }

    /// B `[items, items]`.
    pub fn weights(&self) -> &B::Tensor {
        &self.weights
    }
}

impl<B: Backend> Scorer<B> for EaseModel<B> {
    fn score_users(&self, b: &B, users: &B::Index) -> B::Tensor {
        score_rows(b, &self.history, users, &self.weights)
    }
}

impl<B: Backend> Model<B> for EaseModel<B> {
    fn kind(&self) -> &'static str {
        Ease::INFO.name
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(&self.cfg).expect("a configuration serialises to JSON")
    }

    fn batch_kind(&self) -> BatchKind {
        BatchKind::ClosedForm
    }

    fn train_step(&mut self, _: &B, _: &Batch<'_>) -> Result<B::Tensor> {
        Err(Error::Invalid("EASE is fitted in closed form when it is built; it takes no training batches".into()))
    }

    fn parameters(&self) -> Vec<&B::Tensor> {
        vec![&self.weights]
    }

    fn parameters_mut(&mut self) -> Vec<&mut B::Tensor> {
        vec![&mut self.weights]
    }

    fn weights(&self, b: &B) -> Result<Vec<NamedTensor>> {
        let mut out = download(b, &["weights"], vec![&self.weights])?;
        out.push(history_to_dense(&self.host_history));
        Ok(out)
    }

    fn score_histories(&self, b: &B, histories: &Sequences) -> Option<Result<B::Tensor>> {
        Some(score_history_rows(b, histories, &self.weights))
    }

    /// Row i is column i of W: W[j, i], what a user's item j adds to i's score.
    fn item_similarity(&self, b: &B, items: &B::Index) -> Option<B::Tensor> {
        Some(b.gather_rows(&b.transpose(&self.weights), items))
    }
}
