//! Refitting one side of an embedding model while the other stays fixed:
//! **fold-in** (scoring a user the model has never seen from the items they
//! have, without retraining and without changing the model) and
//! **incremental updates** (refreshing the rows of the users or items that
//! have new interactions, appending rows for new ones), for the models whose
//! users and items are rows of embedding tables (BPR-MF, biased MF, NeuMF).
//!
//! With the other side and every shared weight fixed, the rows of different
//! users do not interact: user u's rows θ_u minimise the model's own loss
//! restricted to u's interactions,
//!
//!   θ_u* = argmin_θ L_u(θ; items and shared weights fixed),
//!
//! which for BPR-MF is the mean over u's items i, each with a sampled item j
//! u never had, of −ln σ(θ·(q_i − q_j)) (+ λ/2 ‖θ‖² per occurrence): convex
//! in θ. Biased MF's is a ridge regression of (r − μ − b_i) on [q_i, 1];
//! NeuMF's is its BCE through the fixed MLP. θ_u is found by `steps`
//! full-batch Adam steps on the device, from zero for a new row or from the
//! current row for a known one, each step drawing one fresh negative per
//! interaction from the counter-based generator (never one of the row's own
//! partners). The item side is the mirror image: an item's rows against the
//! fixed users, with sampled users who never had it as its negatives.
//!
//! Because rows are independent, they are fitted in chunks of at most
//! [`CHUNK`] interactions with the same result as all at once. A step is
//! one gradient pass of the model plus one scatter-add and one fused Adam
//! update per row table; only the step's negatives are uploaded.

use crate::backend::{AdamConfig, Backend, RowGroups, Shaped};
use crate::error::{Error, Result};
use crate::rng::{derive_seed, Stream};

/// Which side of the model a refit trains: the other side stays fixed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// User rows, against the fixed items.
    Users,
    /// Item rows, against the fixed users.
    Items,
}

impl Side {
    /// The side a row's partners are on.
    pub fn other(self) -> Side {
        match self {
            Side::Users => Side::Items,
            Side::Items => Side::Users,
        }
    }

    /// `users` or `items`.
    pub fn name(self) -> &'static str {
        match self {
            Side::Users => "users",
            Side::Items => "items",
        }
    }
}

/// How a refit optimises its rows.
#[derive(Clone, Debug, PartialEq)]
pub struct RefitConfig {
    /// Full-batch Adam steps.
    pub steps: usize,
    /// Adam learning rate.
    pub lr: f32,
    /// Seed of the sampled negatives.
    pub seed: u64,
}

impl Default for RefitConfig {
    fn default() -> Self {
        Self { steps: 100, lr: 0.01, seed: 2024 }
    }
}

impl RefitConfig {
    /// An error naming the field that cannot run.
    pub fn check(&self) -> Result<()> {
        if self.steps == 0 {
            return Err(Error::Invalid("refit: steps must be at least 1".into()));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(Error::Invalid(format!("refit: lr must be finite and > 0, got {}", self.lr)));
        }
        Ok(())
    }
}

/// The most interactions fitted in one pass; more rows are fitted in chunks.
pub const CHUNK: usize = 1 << 16;

/// One refit step's interactions. Interaction k joins compact row
/// `rows[k]` (an index into the step's row tensors) with `partners[k]` on
/// the other side, observed with `values[k]` (a rating, or 1 for implicit
/// feedback), and with `negatives[k]`, a partner on the other side the row
/// never had, drawn for this step.
pub struct RefitBatch<'a, B: Backend> {
    /// Compact row of each interaction, ascending.
    pub rows: &'a [u32],
    /// The other side's index of each interaction.
    pub partners: &'a [u32],
    /// The observed value of each interaction.
    pub values: &'a [f32],
    /// One sampled other-side index per interaction.
    pub negatives: &'a [u32],
    /// `rows` grouped, for summing per-interaction gradients per row.
    pub groups: &'a RowGroups<B>,
    /// Number of compact rows: every one has at least one interaction.
    pub n_rows: usize,
    /// Per compact row, its number of interactions.
    pub counts: &'a [u32],
}

/// What a model offers to have one side refitted ([`crate::models::Model::refit`]).
pub trait Refit<B: Backend> {
    /// Rows on `side`.
    fn count(&self, side: Side) -> usize;
    /// The widths of `side`'s row tables (one row of each per user or item).
    fn widths(&self, side: Side) -> Vec<usize>;
    /// The steps and learning rate this model folds in with, chosen on
    /// validation (tests/refit.rs, `refit_sweep`).
    fn defaults(&self) -> RefitConfig {
        RefitConfig::default()
    }
    /// Whether the interactions' values (ratings) are what is fitted; if
    /// not, only presence is, and values are ignored.
    fn needs_values(&self) -> bool {
        false
    }
    /// The rows `idx` of each of `side`'s row tables, `[idx.len(), width]`.
    fn gather(&self, b: &B, side: Side, idx: &[u32]) -> Result<Vec<B::Tensor>>;
    /// The batch's mean loss `[1]` and its gradient with respect to each of
    /// `rows` (`[batch.n_rows, width]`), with everything else fixed.
    fn row_gradients(
        &self,
        b: &B,
        side: Side,
        rows: &[B::Tensor],
        batch: &RefitBatch<'_, B>,
    ) -> Result<(B::Tensor, Vec<B::Tensor>)>;
    /// Every item's score `[n, items]` for `n` users whose rows are `rows`.
    fn score_user_rows(&self, b: &B, rows: &[B::Tensor]) -> B::Tensor;
    /// Grows `side` to `count` rows (new rows zero, with zero optimiser
    /// state; never shrinks) and writes `rows` at `idx`.
    fn write(&mut self, b: &B, side: Side, count: usize, idx: &[u32], rows: &[B::Tensor]) -> Result<()>;
}

/// `table` `[n, w]` grown to `count` rows with zero rows (unchanged when it
/// already has that many).
pub fn grow<B: Backend>(b: &B, table: &B::Tensor, count: usize) -> B::Tensor {
    let n = table.dims()[0];
    if count <= n {
        return table.clone();
    }
    let mut shape = table.dims().to_vec();
    shape[0] = count - n;
    b.concat_rows(table, &b.zeros(&shape))
}

/// `table` grown to `count` rows ([`grow`]) with row `idx[k]` replaced by
/// row k of `rows`: one gather over the table.
pub fn put<B: Backend>(b: &B, table: &B::Tensor, count: usize, idx: &[u32], rows: &B::Tensor) -> Result<B::Tensor> {
    let table = grow(b, table, count);
    let count = table.dims()[0];
    if idx.is_empty() {
        return Ok(table);
    }
    let mut map: Vec<u32> = (0..count as u32).collect();
    for (k, &r) in idx.iter().enumerate() {
        map[r as usize] = (count + k) as u32;
    }
    Ok(b.gather_rows(&b.concat_rows(&table, rows), &b.index(&map)?))
}

/// Fits the rows that start at `start` (one tensor per row table,
/// `[lists.len(), width]`) to `lists` (row k's interactions: other-side
/// index and value), the other side fixed; returns the fitted rows. Rows
/// without interactions keep their start.
pub fn fit_rows<B: Backend>(
    b: &B,
    m: &dyn Refit<B>,
    side: Side,
    start: Vec<B::Tensor>,
    lists: &[Vec<(u32, f32)>],
    cfg: &RefitConfig,
) -> Result<Vec<B::Tensor>> {
    cfg.check()?;
    let partners = m.count(side.other());
    if let Some(&(bad, _)) = lists.iter().flatten().find(|&&(p, _)| p as usize >= partners) {
        return Err(Error::Invalid(format!("{} index {bad} is outside the model's {partners}", side.other().name())));
    }
    if let Some(&(_, bad)) = lists.iter().flatten().find(|&&(_, v)| !v.is_finite()) {
        return Err(Error::Invalid(format!("refit: a value is not finite ({bad})")));
    }
    let active: Vec<usize> = (0..lists.len()).filter(|&r| !lists[r].is_empty()).collect();
    if active.is_empty() {
        return Ok(start);
    }
    // Chunks of whole rows with at most CHUNK interactions (a row with more is a chunk of its own).
    let mut chunks: Vec<std::ops::Range<usize>> = Vec::new();
    let (mut begin, mut size) = (0, 0);
    for (k, &r) in active.iter().enumerate() {
        if size > 0 && size + lists[r].len() > CHUNK {
            chunks.push(begin..k);
            (begin, size) = (k, 0);
        }
        size += lists[r].len();
    }
    chunks.push(begin..active.len());

    let mut fitted: Vec<Vec<B::Tensor>> = Vec::with_capacity(chunks.len());
    for (c, chunk) in chunks.iter().enumerate() {
        let rows = &active[chunk.clone()];
        let idx = b.index(&rows.iter().map(|&r| r as u32).collect::<Vec<_>>())?;
        let mut theta: Vec<B::Tensor> = start.iter().map(|t| b.gather_rows(t, &idx)).collect();
        fit_chunk(b, m, side, &mut theta, rows.iter().map(|&r| lists[r].as_slice()), partners, cfg, c as u64)?;
        fitted.push(theta);
    }
    let fitted: Vec<B::Tensor> = (0..start.len())
        .map(|t| fitted.iter().map(|f| f[t].clone()).reduce(|a, f| b.concat_rows(&a, &f)).expect("one chunk"))
        .collect();
    if active.len() == lists.len() {
        return Ok(fitted);
    }
    let at: Vec<u32> = active.iter().map(|&r| r as u32).collect();
    start.iter().zip(&fitted).map(|(s, f)| put(b, s, s.dims()[0], &at, f)).collect()
}

/// Adam on one chunk's compact rows `theta`, each with at least one interaction.
#[allow(clippy::too_many_arguments)]
fn fit_chunk<'a, B: Backend>(
    b: &B,
    m: &dyn Refit<B>,
    side: Side,
    theta: &mut [B::Tensor],
    lists: impl Iterator<Item = &'a [(u32, f32)]>,
    partners: usize,
    cfg: &RefitConfig,
    chunk: u64,
) -> Result<()> {
    let (mut rows, mut partner, mut values, mut counts) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    // Per row, its partners sorted, for rejecting negatives.
    let mut own: Vec<Vec<u32>> = Vec::new();
    for (r, list) in lists.enumerate() {
        rows.extend(std::iter::repeat_n(r as u32, list.len()));
        partner.extend(list.iter().map(|&(p, _)| p));
        values.extend(list.iter().map(|&(_, v)| v));
        counts.push(list.len() as u32);
        let mut set: Vec<u32> = list.iter().map(|&(p, _)| p).collect();
        set.sort_unstable();
        set.dedup();
        own.push(set);
    }
    let groups = b.row_groups(&rows)?;
    let mut moments: Vec<(B::Tensor, B::Tensor)> =
        theta.iter().map(|t| (b.zeros(t.dims()), b.zeros(t.dims()))).collect();
    let adam = AdamConfig { lr: cfg.lr, ..Default::default() };
    let mut negatives = vec![0u32; rows.len()];
    for step in 0..cfg.steps {
        let stream = Stream::new(derive_seed(derive_seed(cfg.seed, chunk), step as u64));
        for (k, neg) in negatives.iter_mut().enumerate() {
            *neg = draw_negative(&stream, k as u32, &own[rows[k] as usize], partners, partner[k]);
        }
        let batch = RefitBatch {
            rows: &rows,
            partners: &partner,
            values: &values,
            negatives: &negatives,
            groups: &groups,
            n_rows: own.len(),
            counts: &counts,
        };
        let (_, grads) = m.row_gradients(b, side, theta, &batch)?;
        for ((t, g), (mt, vt)) in theta.iter_mut().zip(&grads).zip(&mut moments) {
            b.adam(t, g, mt, vt, &adam, step as u32 + 1);
        }
    }
    Ok(())
}

/// Interaction `k`'s negative: uniform over the other side's `n` indices,
/// redrawn (up to 64 times, deterministically) while it is one of the row's
/// own (`own`, sorted); a row that has every partner gets its own `fallback`.
fn draw_negative(stream: &Stream, k: u32, own: &[u32], n: usize, fallback: u32) -> u32 {
    if own.len() >= n {
        return fallback;
    }
    for attempt in 0..64u32 {
        let j = stream.u32(k.wrapping_mul(64).wrapping_add(attempt)) % n as u32;
        if own.binary_search(&j).is_err() {
            return j;
        }
    }
    // Nearly every partner is the row's own: the first one that is not, after a random start.
    let s = stream.u32(k.wrapping_mul(64).wrapping_add(63)) % n as u32;
    (0..n as u32).map(|o| (s + o) % n as u32).find(|j| own.binary_search(j).is_err()).unwrap_or(fallback)
}

/// Every item's score `[histories.len(), items]` for users the model has
/// never seen, each given by their interactions (item index and value), by
/// fitting fresh user rows against the fixed items ([`fit_rows`]); the model
/// is left as it is.
pub fn fold_in<B: Backend>(
    b: &B,
    m: &dyn Refit<B>,
    histories: &[Vec<(u32, f32)>],
    cfg: &RefitConfig,
) -> Result<B::Tensor> {
    let start: Vec<B::Tensor> = m.widths(Side::Users).iter().map(|&w| b.zeros(&[histories.len(), w])).collect();
    let rows = fit_rows(b, m, Side::Users, start, histories, cfg)?;
    Ok(m.score_user_rows(b, &rows))
}

/// Refits the rows of `side` named in `lists` (row index and *all* of that
/// row's interactions, old and new) from their current values, or from zero
/// for an index at or past the side's current count, which grows the side
/// to cover it (rows in between, with no interactions, stay zero).
pub fn partial_fit<B: Backend>(
    b: &B,
    m: &mut dyn Refit<B>,
    side: Side,
    lists: &[(u32, Vec<(u32, f32)>)],
    cfg: &RefitConfig,
) -> Result<()> {
    let n = m.count(side);
    let idx: Vec<u32> = lists.iter().map(|(r, _)| *r).collect();
    let mut sorted = idx.clone();
    sorted.sort_unstable();
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        return Err(Error::Invalid(format!("refit: {} row {} is named twice", side.name(), w[0])));
    }
    let count = sorted.last().map_or(n, |&r| n.max(r as usize + 1));
    // Known rows from the model, new ones from zero.
    let known: Vec<u32> = idx.iter().map(|&r| if (r as usize) < n { r } else { 0 }).collect();
    let gathered = if n > 0 { m.gather(b, side, &known)? } else { Vec::new() };
    let widths = m.widths(side);
    let start: Vec<B::Tensor> = if idx.iter().all(|&r| (r as usize) < n) {
        gathered
    } else {
        let new: Vec<u32> = (0..idx.len() as u32).filter(|&k| idx[k as usize] as usize >= n).collect();
        widths
            .iter()
            .enumerate()
            .map(|(t, &w)| {
                let zeros = b.zeros(&[new.len(), w]);
                match gathered.get(t) {
                    Some(g) => put(b, g, idx.len(), &new, &zeros),
                    None => Ok(b.zeros(&[idx.len(), w])),
                }
            })
            .collect::<Result<_>>()?
    };
    let lists: Vec<Vec<(u32, f32)>> = lists.iter().map(|(_, l)| l.clone()).collect();
    let fitted = fit_rows(b, m, side, start, &lists, cfg)?;
    m.write(b, side, count, &idx, &fitted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negatives_are_never_the_rows_own_and_are_deterministic() {
        let s = Stream::new(7);
        let own = [0, 2, 3, 5];
        for k in 0..200 {
            let j = draw_negative(&s, k, &own, 6, 0);
            assert!(j == 1 || j == 4, "drew {j}");
            assert_eq!(j, draw_negative(&s, k, &own, 6, 0));
        }
        assert_eq!(draw_negative(&s, 0, &[0, 1, 2], 3, 1), 1, "a row with every partner gets its own");
        // One free partner among many: found even when 64 draws miss it.
        let most: Vec<u32> = (0..1000).filter(|&j| j != 917).collect();
        assert_eq!(draw_negative(&s, 3, &most, 1000, 0), 917);
    }
}
