//! The sampled protocol of the NCF paper (He et al., WWW 2017): each test
//! positive is ranked against N items the user never interacted with, not
//! against all items. Its HR@K and NDCG@K are far higher than full-ranking
//! ones and are always labelled "sampled, N negatives"; gpurec's default is
//! full ranking ([`super::RankingEval`]).
//!
//! With rank = 1 + the number of the user's negatives scored above the
//! positive (ties: lower item index first): HR@K = [rank ≤ K],
//! NDCG@K = 1 / log2(rank + 1) if rank ≤ K, averaged over test positives.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::Scorer;
use crate::backend::{Among, Backend, Pattern};
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
    positives: Pattern<B>,
    negatives: Pattern<B>,
    n: usize,
    ks: Vec<usize>,
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
        let pos: Vec<(u32, u32, f32)> = users
            .iter()
            .enumerate()
            .flat_map(|(r, &u)| test.row(u as usize).iter().map(move |&i| (r as u32, i, 1.0)))
            .collect();
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
        Ok(Self {
            users: b.index(&users)?,
            positives: b.pattern(&CsrHost::from_triplets(rows, cols, &pos))?,
            negatives: b.pattern(&CsrHost::from_triplets(rows, cols, &neg))?,
            n: if n == usize::MAX { 0 } else { n },
            ks: ks.to_vec(),
        })
    }

    /// Ranks every test positive against its user's negatives on the device.
    pub fn evaluate(&self, b: &B, model: &impl Scorer<B>) -> Result<SampledMetrics> {
        let scores = model.score_users(b, &self.users);
        let above = b.read_index(&b.rank_among(&scores, &self.positives, Among::Only(&self.negatives)))?;
        let mut hit = vec![0.0; self.ks.len()];
        let mut ndcg = vec![0.0; self.ks.len()];
        for &a in &above {
            let rank = a as usize + 1;
            for (i, &k) in self.ks.iter().enumerate() {
                if rank <= k {
                    hit[i] += 1.0;
                    ndcg[i] += 1.0 / ((rank + 1) as f64).log2();
                }
            }
        }
        let p = above.len().max(1) as f64;
        Ok(SampledMetrics {
            negatives: self.n,
            ks: self.ks.clone(),
            hit: hit.iter().map(|v| v / p).collect(),
            ndcg: ndcg.iter().map(|v| v / p).collect(),
            positives: above.len(),
        })
    }
}
