//! The sampled protocol of the NCF paper (He et al., WWW 2017): each test
//! positive is ranked against N items the user never interacted with, not
//! against all items. Its HR@K and NDCG@K are far higher than full-ranking
//! ones and are always labelled "sampled, N negatives"; gpurec's default is
//! full ranking ([`super::RankingEval`]).
//!
//! With rank = 1 + the number of the user's negatives scored above the
//! positive (ties: lower item index first): HR@K = [rank ≤ K],
//! NDCG@K = 1 / log2(rank + 1) if rank ≤ K, averaged over test positives.
//!
//! All on the device: the negatives above each positive are counted by
//! [`Backend::rank_among`], a table of (HR@K, NDCG@K) by that count is
//! gathered per positive and the rows are summed, so an evaluation reads back
//! 2·|ks| floats.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::Scorer;
use crate::backend::{Among, Backend, Pattern, Reduce};
use crate::error::{Error, Result};
use crate::sparse::CsrHost;

/// Sampled-protocol metrics.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SampledMetrics {
    /// Negatives per positive.
    pub negatives: usize,
    /// Cut-offs.
    pub ks: Vec<usize>,
    /// HR@K.
    pub hit: Vec<f64>,
    /// NDCG@K.
    pub ndcg: Vec<f64>,
    /// Test positives averaged over.
    pub positives: usize,
}

impl std::fmt::Display for SampledMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sampled, {} negatives:", self.negatives)?;
        for (i, k) in self.ks.iter().enumerate() {
            write!(f, " HR@{k} {:.4} NDCG@{k} {:.4}", self.hit[i], self.ndcg[i])?;
        }
        Ok(())
    }
}

/// A sampled evaluation set: test positives and their negatives, uploaded once.
pub struct SampledEval<B: Backend> {
    users: B::Index,
    positives_pattern: Pattern<B>,
    negatives: Pattern<B>,
    n: usize,
    ks: Vec<usize>,
    /// Row r: HR@K then NDCG@K of a positive with r negatives above it, for
    /// every K (`[max negatives + 1, 2·ks]`): gathering it by the device's
    /// counts and summing the rows scores every positive on the device.
    by_rank: B::Tensor,
    positives: usize,
}

impl<B: Backend> SampledEval<B> {
    /// Draws `n` negatives per user, seeded, uniformly among items the user
    /// has no interaction with in `seen` (which should hold every known
    /// interaction, test included). Users without test positives are skipped.
    pub fn new(b: &B, test: &CsrHost, seen: &CsrHost, n: usize, ks: &[usize], seed: u64) -> Result<Self> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut negs = Vec::new();
        for u in 0..test.rows {
            if test.row(u).is_empty() {
                negs.push(Vec::new());
                continue;
            }
            let free = test.cols - seen.row(u).len();
            if free < n {
                return Err(Error::Invalid(format!("user {u} has only {free} unseen items for {n} negatives")));
            }
            let mut chosen = Vec::with_capacity(n);
            while chosen.len() < n {
                let j = rng.random_range(0..test.cols as u32);
                if seen.row(u).binary_search(&j).is_err() && !chosen.contains(&j) {
                    chosen.push(j);
                }
            }
            negs.push(chosen);
        }
        Self::with_negatives(b, test, &negs, ks)
    }

    /// Uses given negatives (`negatives[u]` for user u, e.g. read from the NCF
    /// paper's `.test.negative` file), which makes numbers comparable across libraries.
    pub fn with_negatives(b: &B, test: &CsrHost, negatives: &[Vec<u32>], ks: &[usize]) -> Result<Self> {
        if negatives.len() != test.rows {
            return Err(Error::Invalid(format!("negatives for {} users, test has {}", negatives.len(), test.rows)));
        }
        let users: Vec<u32> = (0..test.rows as u32).filter(|&u| !test.row(u as usize).is_empty()).collect();
        let pos = test.select_rows(&users);
        let mut n = usize::MAX;
        let mut neg = Vec::new();
        for (r, &u) in users.iter().enumerate() {
            if negatives[u as usize].is_empty() {
                return Err(Error::Invalid(format!("user {u} has test items but no negatives to rank them against")));
            }
            n = n.min(negatives[u as usize].len());
            for &j in &negatives[u as usize] {
                if j as usize >= test.cols {
                    return Err(Error::Invalid(format!("negative item {j} outside {} items", test.cols)));
                }
                neg.push((r as u32, j, 1.0));
            }
        }
        let (rows, cols) = (users.len(), test.cols);
        let most = users.iter().map(|&u| negatives[u as usize].len()).max().unwrap_or(0);
        let mut by_rank = Vec::with_capacity((most + 1) * 2 * ks.len());
        for above in 0..=most {
            let rank = above + 1;
            by_rank.extend(ks.iter().map(|&k| if rank <= k { 1.0 } else { 0.0 }));
            by_rank.extend(ks.iter().map(|&k| if rank <= k { 1.0 / ((rank + 1) as f32).log2() } else { 0.0 }));
        }
        Ok(Self {
            users: b.index(&users)?,
            positives_pattern: b.pattern(&pos)?,
            negatives: b.pattern(&CsrHost::from_triplets(rows, cols, &neg))?,
            n: if n == usize::MAX { 0 } else { n },
            ks: ks.to_vec(),
            by_rank: b.tensor(&by_rank, &[most + 1, 2 * ks.len()])?,
            positives: pos.nnz(),
        })
    }

    /// Ranks every test positive against its user's negatives and averages
    /// the metrics on the device; reads back `2·ks` floats.
    pub fn evaluate(&self, b: &B, model: &(impl Scorer<B> + ?Sized)) -> Result<SampledMetrics> {
        let nk = self.ks.len();
        let sums = if self.positives == 0 || nk == 0 {
            vec![0.0; 2 * nk]
        } else {
            let scores = model.score_users(b, &self.users);
            let above = b.rank_among(&scores, &self.positives_pattern, Among::Only(&self.negatives));
            b.read(&b.reduce_cols(&b.gather_rows(&self.by_rank, &above), Reduce::Sum))?
        };
        let p = self.positives.max(1) as f64;
        Ok(SampledMetrics {
            negatives: self.n,
            ks: self.ks.clone(),
            hit: sums[..nk].iter().map(|&v| v as f64 / p).collect(),
            ndcg: sums[nk..].iter().map(|&v| v as f64 / p).collect(),
            positives: self.positives,
        })
    }
}
