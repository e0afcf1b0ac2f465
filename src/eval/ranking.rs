//! Full-ranking evaluation, all on the device. Per batch of users:
//! 1. the model scores every item ([`Scorer::score_users`]);
//! 2. [`Backend::topk_masked`] keeps each user's best `max(ks)` items, seen
//!    items masked out, and (for AUC) [`Backend::rank_among`] counts the
//!    negatives ranked above each target;
//! 3. [`Backend::rank_metrics`] turns each user's list into one row of
//!    per-user metrics (every metric at every K, then AUC) and marks the items
//!    each cut-off covers in a `[ks, items]` flag table shared by the batches;
//! 4. [`Backend::reduce_cols`] sums the rows over users.
//!
//! The batch sums are added in a balanced tree, the coverage flags summed per
//! K, and the host reads back only those `7·ks.len() + 1` floats, once per
//! [`RankingEval::evaluate`]; it divides by the user counts it knew when the
//! set was built. No float atomics anywhere, so the result is deterministic.
//! [`ranking_metrics`] computes the same metrics on the host from top-K lists
//! (f64): the reference the device path is tested against.
//!
//! Definitions follow RecBole (see `shared/PROTOCOLS.md`). With R(u) the
//! user's target items and hits@K those among the top K:
//! - Recall@K = hits@K / |R(u)|;  Precision@K = hits@K / K;  Hit@K = 1 if hits@K > 0, else 0;
//! - MRR@K = 1 / rank of the first hit (0 if none);
//! - NDCG@K = Σ_hits 1/log2(rank + 1) / Σ_{r ≤ min(|R|, K)} 1/log2(r + 1);
//! - MAP@K = Σ_hits precision@rank / min(|R(u)|, K);
//! - Coverage@K = distinct items in all top-K lists / number of items;
//! - AUC = mean over users of the fraction of (target, non-target) pairs
//!   ranked correctly, where non-targets are the items not masked out.
//!
//! Averages are over users with at least one target (for AUC, and at least
//! one non-target). Ties in scores rank the lower item index first, on every
//! backend.

use crate::backend::{Among, AucCounts, Backend, Pattern, Reduce, RANK_METRICS, RANK_METRICS_MAX_KS};
use crate::error::Result;
use crate::sparse::CsrHost;

pub use crate::models::contract::Scorer;

/// Which items a served top-K may hold, as item indices: only those of
/// `allow` when it is given, never those of `deny`, and the user's seen
/// items only with `include_seen`. The filter is the top-K's mask on the
/// device (a filtered item is never a candidate), so a top-K is never
/// over-fetched and trimmed: `k` items come back whenever `k` are allowed.
/// The mask holds a row's excluded items, so an allow list costs
/// `items − |allow|` entries per user.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ItemFilter {
    /// Only these items may be recommended (`None`: any).
    pub allow: Option<Vec<u32>>,
    /// These items are never recommended.
    pub deny: Vec<u32>,
    /// Recommend items the user already has too.
    pub include_seen: bool,
}

impl ItemFilter {
    /// The `[rows, n_items]` mask: `seen` (entries `(row, item, _)`) unless
    /// included, the denied items and the items outside the allow list; an
    /// error naming an item outside `0..n_items`.
    fn mask(&self, rows: usize, n_items: usize, seen: &[(u32, u32, f32)]) -> Result<CsrHost> {
        let listed = self.deny.iter().chain(self.allow.iter().flatten());
        if let Some(&bad) = listed.into_iter().find(|&&i| i as usize >= n_items) {
            return Err(crate::Error::Invalid(format!("filter: item {bad} is outside the model's {n_items} items")));
        }
        let mut excluded: Vec<bool> = match &self.allow {
            None => vec![false; n_items],
            Some(allow) => {
                let mut out = vec![true; n_items];
                allow.iter().for_each(|&i| out[i as usize] = false);
                out
            }
        };
        self.deny.iter().for_each(|&i| excluded[i as usize] = true);
        let excluded: Vec<u32> = (0..n_items as u32).filter(|&i| excluded[i as usize]).collect();
        let mut entries: Vec<(u32, u32, f32)> =
            (0..rows as u32).flat_map(|r| excluded.iter().map(move |&i| (r, i, 1.0))).collect();
        if !self.include_seen {
            entries.extend(seen.iter().filter(|&&(r, i, _)| (r as usize) < rows && (i as usize) < n_items));
        }
        let mut mask = CsrHost::from_triplets(rows, n_items, &entries);
        // An item both seen and filtered was summed: the mask is a pattern.
        mask.vals.iter_mut().for_each(|v| *v = 1.0);
        Ok(mask)
    }
}

/// The `k` best items (index, score) for each of `users`, best first, never
/// one of the `(row, item, _)` entries of `seen` (rows index `users`): what
/// `recommend` serves. `k` must be in `1..=TOPK_MAX` (an error otherwise).
pub fn top_k_unseen<B: Backend>(
    b: &B,
    scorer: &(impl Scorer<B> + ?Sized),
    users: &[u32],
    seen: &[(u32, u32, f32)],
    n_items: usize,
    k: usize,
) -> Result<Vec<Vec<(u32, f32)>>> {
    top_k_filtered(b, scorer, users, seen, &ItemFilter::default(), n_items, k)
}

/// [`top_k_unseen`] with an [`ItemFilter`] (which may also let the seen items back in).
pub fn top_k_filtered<B: Backend>(
    b: &B,
    scorer: &(impl Scorer<B> + ?Sized),
    users: &[u32],
    seen: &[(u32, u32, f32)],
    filter: &ItemFilter,
    n_items: usize,
    k: usize,
) -> Result<Vec<Vec<(u32, f32)>>> {
    let (cols, vals, rows) = record_top_k(b, scorer, users, seen, filter, n_items, k)?;
    Ok(rows_of_top_k(&b.read_index(&cols)?, &b.read(&vals)?, rows, k))
}

/// Records the scores of `users` and their masked top-K on the device:
/// (columns, scores, rows), not read back.
fn record_top_k<B: Backend>(
    b: &B,
    scorer: &(impl Scorer<B> + ?Sized),
    users: &[u32],
    seen: &[(u32, u32, f32)],
    filter: &ItemFilter,
    n_items: usize,
    k: usize,
) -> Result<(B::Index, B::Tensor, usize)> {
    check_k(k)?;
    let mask = filter.mask(users.len(), n_items, seen)?;
    let scores = scorer.score_users(b, &b.index(users)?);
    let (cols, vals) = b.topk_masked(&scores, k, Some(&b.pattern(&mask)?));
    Ok((cols, vals, mask.rows))
}

/// [`top_k_filtered`] without blocking the calling thread: the scores and
/// the top-K are recorded and submitted when the future is first polled, and
/// it is ready once the device has finished ([`Backend::read_async`]), so a
/// frame loop can poll it once per frame.
pub async fn top_k_filtered_async<B: Backend>(
    b: &B,
    scorer: &(impl Scorer<B> + ?Sized),
    users: &[u32],
    seen: &[(u32, u32, f32)],
    filter: &ItemFilter,
    n_items: usize,
    k: usize,
) -> Result<Vec<Vec<(u32, f32)>>> {
    let (cols, vals, rows) = record_top_k(b, scorer, users, seen, filter, n_items, k)?;
    let cols = b.read_index_async(&cols).await?;
    let vals = b.read_async(&vals).await?;
    Ok(rows_of_top_k(&cols, &vals, rows, k))
}

/// The `rows` lists of a top-K read-back, padding dropped.
fn rows_of_top_k(cols: &[u32], vals: &[f32], rows: usize, k: usize) -> Vec<Vec<(u32, f32)>> {
    (0..rows)
        .map(|row| (row * k..(row + 1) * k).filter(|&q| cols[q] != u32::MAX).map(|q| (cols[q], vals[q])).collect())
        .collect()
}

/// `k` in `1..=TOPK_MAX`, or an error.
fn check_k(k: usize) -> Result<()> {
    if k == 0 || k > crate::gpu::TOPK_MAX {
        return Err(crate::Error::Invalid(format!("k = {k} outside 1..={}", crate::gpu::TOPK_MAX)));
    }
    Ok(())
}

/// Each row's `k` best unmasked items (index, score), best first, read back.
fn masked_top_k<B: Backend>(b: &B, scores: &B::Tensor, mask: &CsrHost, k: usize) -> Result<Vec<Vec<(u32, f32)>>> {
    let (cols, vals) = b.topk_masked(scores, k, Some(&b.pattern(mask)?));
    let (cols, vals) = (b.read_index(&cols)?, b.read(&vals)?);
    Ok(rows_of_top_k(&cols, &vals, mask.rows, k))
}

/// The `k` best items (index, score) to follow `history` (item indices,
/// oldest first), best first, never one of the history's items (unless the
/// filter includes seen items) and as `filter` allows. Models that read a
/// user's items score the history by construction
/// ([`crate::models::Model::score_histories`]); the embedding models fold it
/// in, fitting a fresh user row against their fixed items
/// ([`crate::models::refit::fold_in`]), with `ratings` (one per item) as the
/// values a rating model fits; the other models ignore them. An error names
/// a model that can do neither, and a rating model given no ratings.
pub fn top_k_for_history<B: Backend>(
    b: &B,
    model: &(impl crate::models::Model<B> + ?Sized),
    history: &[u32],
    ratings: Option<&[f32]>,
    filter: &ItemFilter,
    n_items: usize,
    k: usize,
) -> Result<Vec<(u32, f32)>> {
    check_k(k)?;
    let scores = score_history(b, model, history, ratings, n_items)?;
    let seen: Vec<(u32, u32, f32)> = history.iter().map(|&i| (0, i, 1.0)).collect();
    let mask = filter.mask(1, n_items, &seen)?;
    Ok(masked_top_k(b, &scores, &mask, k)?.remove(0))
}

/// The `k` best items (index, score) for a user the model never saw, known
/// only by `features` ((column, value) entries of the model's user feature
/// columns), best first, as `filter` allows: the user's representation from
/// the features alone against every item's ([`crate::models::FeatureModel`]).
/// An error names a model without feature embeddings.
pub fn top_k_for_features<B: Backend>(
    b: &B,
    model: &(impl crate::models::Model<B> + ?Sized),
    features: &[(u32, f32)],
    filter: &ItemFilter,
    n_items: usize,
    k: usize,
) -> Result<Vec<(u32, f32)>> {
    use crate::models::refit::Side;
    check_k(k)?;
    let Some(fm) = model.features() else {
        return Err(crate::Error::Invalid(format!(
            "{} has no feature embeddings; it cannot recommend from features alone (lightfm can)",
            model.kind()
        )));
    };
    let user = fm.represent(b, Side::Users, &[features.to_vec()])?;
    let scores = b.matmul(&user, &fm.vectors(b, Side::Items), false, true, None, crate::Act::Identity);
    let mask = filter.mask(1, n_items, &[])?;
    Ok(masked_top_k(b, &scores, &mask, k)?.remove(0))
}

/// Every item's score `[1, n_items]` after `history`, as [`top_k_for_history`] ranks them.
pub fn score_history<B: Backend>(
    b: &B,
    model: &(impl crate::models::Model<B> + ?Sized),
    history: &[u32],
    ratings: Option<&[f32]>,
    n_items: usize,
) -> Result<B::Tensor> {
    use crate::models::refit::fold_in;
    if let Some(&bad) = history.iter().find(|&&i| i as usize >= n_items) {
        return Err(crate::Error::Invalid(format!("item {bad} is outside the model's {n_items} items")));
    }
    if let Some(r) = ratings.filter(|r| r.len() != history.len()) {
        return Err(crate::Error::Invalid(format!("{} ratings for a history of {} items", r.len(), history.len())));
    }
    let seqs = crate::data::sequence::Sequences::from_lists(&[history.to_vec()]);
    if let Some(scores) = model.score_histories(b, &seqs) {
        return scores;
    }
    let Some(refit) = model.refit() else {
        return Err(crate::Error::Invalid(format!(
            "{} scores only the users it was trained on; it cannot take a history (next-item models, multdae, multvae, cdae, ease, itemknn, pop and the embedding models bpr, mf and neumf can)",
            model.kind()
        )));
    };
    let values: Vec<f32> = match ratings {
        Some(r) => r.to_vec(),
        None if refit.needs_values() => {
            return Err(crate::Error::Invalid(format!(
                "{} fits ratings: give each history item's rating (item:rating on the command line)",
                model.kind()
            )))
        }
        None => vec![1.0; history.len()],
    };
    let list: Vec<(u32, f32)> = history.iter().copied().zip(values).collect();
    fold_in(b, refit, &[list], &refit.defaults())
}

/// The `k` items most similar to each of `items` (index, similarity), best
/// first, never the item itself, as `filter` allows (its `include_seen`
/// does not apply), by [`crate::models::Model::item_similarity`]; an error
/// naming a model without item representations.
pub fn similar_items<B: Backend>(
    b: &B,
    model: &(impl crate::models::Model<B> + ?Sized),
    items: &[u32],
    filter: &ItemFilter,
    n_items: usize,
    k: usize,
) -> Result<Vec<Vec<(u32, f32)>>> {
    check_k(k)?;
    check_items(items, n_items)?;
    let sims = item_similarity(b, model, items)?;
    let itself: Vec<(u32, u32, f32)> = items.iter().enumerate().map(|(r, &i)| (r as u32, i, 1.0)).collect();
    let filter = ItemFilter { include_seen: false, ..filter.clone() };
    masked_top_k(b, &sims, &filter.mask(items.len(), n_items, &itself)?, k)
}

/// Why `item` suits a user who has `history`: up to `k` of the history's
/// items (index, weight), the most similar to `item` first — by
/// [`crate::models::Model::item_similarity`], which for EASE and ItemKNN
/// is each history item's own term in `item`'s score.
pub fn explain<B: Backend>(
    b: &B,
    model: &(impl crate::models::Model<B> + ?Sized),
    history: &[u32],
    item: u32,
    n_items: usize,
    k: usize,
) -> Result<Vec<(u32, f32)>> {
    check_k(k)?;
    check_items(history, n_items)?;
    check_items(&[item], n_items)?;
    let sims = item_similarity(b, model, &[item])?;
    let filter = ItemFilter { allow: Some(history.to_vec()), deny: Vec::new(), include_seen: true };
    Ok(masked_top_k(b, &sims, &filter.mask(1, n_items, &[])?, k)?.remove(0))
}

/// An error naming the first of `items` outside `0..n_items`.
fn check_items(items: &[u32], n_items: usize) -> Result<()> {
    match items.iter().find(|&&i| i as usize >= n_items) {
        Some(&bad) => Err(crate::Error::Invalid(format!("item {bad} is outside the model's {n_items} items"))),
        None => Ok(()),
    }
}

/// The model's item–item similarity rows for `items`, or an error naming it.
fn item_similarity<B: Backend>(
    b: &B,
    model: &(impl crate::models::Model<B> + ?Sized),
    items: &[u32],
) -> Result<B::Tensor> {
    model.item_similarity(b, &b.index(items)?).ok_or_else(|| {
        crate::Error::Invalid(format!("{} has no item representation to compare items by", model.kind()))
    })
}

/// Top-K metrics at several cut-offs.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct RankingMetrics {
    /// The cut-offs.
    pub ks: Vec<usize>,
    /// Recall@K for each K.
    pub recall: Vec<f64>,
    /// Precision@K.
    pub precision: Vec<f64>,
    /// Hit@K.
    pub hit: Vec<f64>,
    /// NDCG@K.
    pub ndcg: Vec<f64>,
    /// MRR@K.
    pub mrr: Vec<f64>,
    /// MAP@K.
    pub map: Vec<f64>,
    /// Coverage@K.
    pub coverage: Vec<f64>,
    /// AUC (not cut off), when computed.
    pub auc: Option<f64>,
    /// Users averaged over.
    pub users: usize,
}

impl RankingMetrics {
    /// The metric names [`RankingMetrics::get`] knows, in table order.
    pub const NAMES: [&'static str; 7] = ["recall", "precision", "hit", "ndcg", "mrr", "map", "coverage"];

    /// The value of `name` ("ndcg", "recall", …) at cut-off `k`.
    pub fn get(&self, name: &str, k: usize) -> Option<f64> {
        let i = self.ks.iter().position(|&x| x == k)?;
        let v = match name {
            "recall" => &self.recall,
            "precision" => &self.precision,
            "hit" => &self.hit,
            "ndcg" => &self.ndcg,
            "mrr" => &self.mrr,
            "map" => &self.map,
            "coverage" => &self.coverage,
            _ => return None,
        };
        Some(v[i])
    }

    /// Rows of (metric@K, value) in a fixed order, for tables and JSON.
    pub fn rows(&self) -> Vec<(String, f64)> {
        let mut out = Vec::new();
        for name in Self::NAMES {
            for &k in &self.ks {
                out.push((format!("{name}@{k}"), self.get(name, k).unwrap()));
            }
        }
        if let Some(auc) = self.auc {
            out.push(("auc".into(), auc));
        }
        out
    }
}

/// Metrics of one user's ranked list against its targets (sorted ascending).
/// Accumulates into `acc` (one slot per metric per K); returns whether the user counted.
fn score_user(top: &[u32], targets: &[u32], ks: &[usize], acc: &mut [Vec<f64>; 6]) -> bool {
    if targets.is_empty() {
        return false;
    }
    let hit_at: Vec<bool> = top.iter().map(|c| targets.binary_search(c).is_ok()).collect();
    for (ki, &k) in ks.iter().enumerate() {
        let k_eff = k.min(top.len());
        let mut hits = 0usize;
        let mut dcg = 0.0;
        let mut first = 0.0;
        let mut ap = 0.0;
        for (r, &h) in hit_at[..k_eff].iter().enumerate() {
            if h {
                hits += 1;
                dcg += 1.0 / ((r + 2) as f64).log2();
                if first == 0.0 {
                    first = 1.0 / (r + 1) as f64;
                }
                ap += hits as f64 / (r + 1) as f64;
            }
        }
        let ideal = targets.len().min(k);
        let idcg: f64 = (0..ideal).map(|r| 1.0 / ((r + 2) as f64).log2()).sum();
        acc[0][ki] += hits as f64 / targets.len() as f64;
        acc[1][ki] += hits as f64 / k as f64;
        acc[2][ki] += (hits > 0) as u8 as f64;
        acc[3][ki] += dcg / idcg;
        acc[4][ki] += first;
        acc[5][ki] += ap / ideal as f64;
    }
    true
}

/// Computes metrics from per-user top-K lists (`tops[u]`, best first) and targets.
pub fn ranking_metrics(tops: &[Vec<u32>], targets: &[Vec<u32>], ks: &[usize], n_items: usize) -> RankingMetrics {
    let mut acc: [Vec<f64>; 6] = std::array::from_fn(|_| vec![0.0; ks.len()]);
    let mut users = 0;
    let mut seen: Vec<Vec<bool>> = vec![vec![false; n_items]; ks.len()];
    for (top, t) in tops.iter().zip(targets) {
        if score_user(top, t, ks, &mut acc) {
            users += 1;
        }
        for (ki, &k) in ks.iter().enumerate() {
            for &c in top.iter().take(k) {
                if (c as usize) < n_items {
                    seen[ki][c as usize] = true;
                }
            }
        }
    }
    let n = users.max(1) as f64;
    let avg = |v: &Vec<f64>| v.iter().map(|x| x / n).collect::<Vec<_>>();
    RankingMetrics {
        ks: ks.to_vec(),
        recall: avg(&acc[0]),
        precision: avg(&acc[1]),
        hit: avg(&acc[2]),
        ndcg: avg(&acc[3]),
        mrr: avg(&acc[4]),
        map: avg(&acc[5]),
        coverage: seen.iter().map(|s| s.iter().filter(|&&b| b).count() as f64 / n_items.max(1) as f64).collect(),
        auc: None,
        users,
    }
}

struct EvalBatch<B: Backend> {
    users: B::Index,
    exclude: Pattern<B>,
    targets: Pattern<B>,
    /// Per user: items neither masked nor targets (the AUC's negatives).
    negatives: B::Index,
}

/// A full-ranking evaluation set uploaded once and reused every epoch.
pub struct RankingEval<B: Backend> {
    batches: Vec<EvalBatch<B>>,
    ks: Vec<usize>,
    n_items: usize,
    /// Users ranked: those with at least one target.
    users: usize,
    /// Users with at least one negative, over which AUC averages.
    auc_users: usize,
    auc: bool,
}

impl<B: Backend> RankingEval<B> {
    /// Users with at least one target in `targets` (users × items) are ranked
    /// over all items, with `exclude`'s items (training, and at test time
    /// validation) masked out.
    pub fn new(backend: &B, targets: &CsrHost, exclude: &CsrHost, ks: &[usize], batch_users: usize) -> Result<Self> {
        assert_eq!((targets.rows, targets.cols), (exclude.rows, exclude.cols), "RankingEval: targets vs exclude");
        let max_k = crate::gpu::TOPK_MAX;
        if ks.is_empty() || ks.len() > RANK_METRICS_MAX_KS || ks.iter().any(|&k| k == 0 || k > max_k) {
            return Err(crate::Error::Invalid(format!(
                "cut-offs {ks:?}: need 1 to {RANK_METRICS_MAX_KS} of them, each in 1..={max_k}"
            )));
        }
        let users: Vec<u32> = (0..targets.rows as u32).filter(|&u| !targets.row(u as usize).is_empty()).collect();
        let mut batches = Vec::new();
        let mut auc_users = 0;
        for chunk in users.chunks(batch_users.max(1)) {
            let mask = exclude.select_rows(chunk);
            let target_host = targets.select_rows(chunk);
            let negatives: Vec<u32> = (0..chunk.len())
                .map(|r| {
                    let t = target_host.row(r);
                    let masked_targets = t.iter().filter(|c| mask.row(r).binary_search(c).is_ok()).count();
                    (targets.cols - mask.row(r).len() - t.len() + masked_targets) as u32
                })
                .collect();
            auc_users += negatives.iter().filter(|&&n| n > 0).count();
            batches.push(EvalBatch {
                users: backend.index(chunk)?,
                exclude: backend.pattern(&mask)?,
                targets: backend.pattern(&target_host)?,
                negatives: backend.index(&negatives)?,
            });
        }
        Ok(Self { batches, ks: ks.to_vec(), n_items: targets.cols, users: users.len(), auc_users, auc: true })
    }

    /// Users it ranks (those with at least one target).
    pub fn users(&self) -> usize {
        self.users
    }

    /// The cut-offs it scores.
    pub fn ks(&self) -> &[usize] {
        &self.ks
    }

    /// Skips AUC (it scans every item per target): for validation during training.
    pub fn without_auc(mut self) -> Self {
        self.auc = false;
        self
    }

    /// Ranks and scores `model`, reading back only the sums of the metrics
    /// (one read-back of `7·ks.len() + 1` floats).
    pub fn evaluate(&self, backend: &B, model: &(impl Scorer<B> + ?Sized)) -> Result<RankingMetrics> {
        let k = *self.ks.iter().max().unwrap_or(&10);
        let nk = self.ks.len();
        let mut covered = backend.zeros(&[nk, self.n_items]);
        let mut rows = Vec::with_capacity(self.batches.len());
        for b in &self.batches {
            let scores = model.score_users(backend, &b.users);
            let top = backend.topk_masked(&scores, k, Some(&b.exclude)).0;
            let before = self.auc.then(|| backend.rank_among(&scores, &b.targets, Among::AllExcept(Some(&b.exclude))));
            let auc = before.as_ref().map(|before| AucCounts { before, negatives: &b.negatives });
            let per_user = backend.rank_metrics(&top, k, &b.targets, &self.ks, auc, Some(&mut covered));
            rows.push(per_user);
        }
        let width = RANK_METRICS.len() * nk + 1;
        // Every user's row stacked in user order, then one column sum: the
        // same additions in the same order whatever the users per batch, so
        // the metrics do not move with the batch size (RecBole's do).
        let total = match rows.is_empty() {
            true => backend.zeros(&[width]),
            false => backend.reduce_cols(&crate::layers::lstm::stack_rows(backend, &rows), Reduce::Sum),
        };
        let covered = backend.reduce_rows(&covered, Reduce::Sum);
        let all = backend.concat_rows(&backend.reshape(&total, &[width, 1]), &backend.reshape(&covered, &[nk, 1]));
        let v = backend.read(&all)?;
        let n = self.users.max(1) as f64;
        let avg = |j: usize| v[j * nk..(j + 1) * nk].iter().map(|&x| x as f64 / n).collect::<Vec<_>>();
        Ok(RankingMetrics {
            ks: self.ks.clone(),
            recall: avg(0),
            precision: avg(1),
            hit: avg(2),
            ndcg: avg(3),
            mrr: avg(4),
            map: avg(5),
            coverage: v[width..].iter().map(|&c| c as f64 / self.n_items.max(1) as f64).collect(),
            auc: (self.auc && self.auc_users > 0).then(|| v[width - 1] as f64 / self.auc_users as f64),
            users: self.users,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_metrics() {
        // One user, targets {1, 4, 7}; ranking [4, 2, 1, 9, 7].
        let m = ranking_metrics(&[vec![4, 2, 1, 9, 7]], &[vec![1, 4, 7]], &[1, 3, 5], 10);
        let l2 = |r: f64| 1.0 / (r + 1.0).log2();
        assert_eq!(m.users, 1);
        assert!((m.recall[0] - 1.0 / 3.0).abs() < 1e-12);
        assert!((m.recall[1] - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.recall[2] - 1.0).abs() < 1e-12);
        assert!((m.precision[1] - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(m.hit, vec![1.0, 1.0, 1.0]);
        assert_eq!(m.mrr, vec![1.0, 1.0, 1.0]);
        assert!((m.ndcg[0] - 1.0).abs() < 1e-12);
        let want3 = (l2(1.0) + l2(3.0)) / (l2(1.0) + l2(2.0) + l2(3.0));
        assert!((m.ndcg[1] - want3).abs() < 1e-12);
        let want5 = (l2(1.0) + l2(3.0) + l2(5.0)) / (l2(1.0) + l2(2.0) + l2(3.0));
        assert!((m.ndcg[2] - want5).abs() < 1e-12);
        // MAP@5 = (1/1 + 2/3 + 3/5) / 3
        assert!((m.map[2] - (1.0 + 2.0 / 3.0 + 0.6) / 3.0).abs() < 1e-12);
        assert!((m.coverage[2] - 0.5).abs() < 1e-12);
    }

    #[test]
    fn misses_and_users_without_targets() {
        let m = ranking_metrics(&[vec![0, 1], vec![5, 6]], &[vec![9], vec![]], &[2], 10);
        assert_eq!(m.users, 1, "a user without targets is not averaged");
        assert_eq!((m.recall[0], m.ndcg[0], m.mrr[0], m.hit[0]), (0.0, 0.0, 0.0, 0.0));
        // MRR uses the first hit's rank.
        let m = ranking_metrics(&[vec![3, 2, 1]], &[vec![1, 2]], &[3], 5);
        assert!((m.mrr[0] - 0.5).abs() < 1e-12);
    }
}
