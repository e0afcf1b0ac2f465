//! Train / validation / test splits, seeded (see `shared/PROTOCOLS.md`).

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::Interactions;

/// Row indices of each part.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Split {
    /// Training rows.
    pub train: Vec<usize>,
    /// Validation rows.
    pub valid: Vec<usize>,
    /// Test rows.
    pub test: Vec<usize>,
}

fn rows_by_user(data: &Interactions) -> Vec<Vec<usize>> {
    let mut by_user = vec![Vec::new(); data.n_users()];
    for (r, &u) in data.users.iter().enumerate() {
        by_user[u as usize].push(r);
    }
    by_user
}

/// RecBole's per-user random ratio split: each user's interactions are
/// shuffled; `n_valid = floor(valid · n)`, `n_test = floor(test · n)`, the rest train.
pub fn per_user_ratio(data: &Interactions, valid: f64, test: f64, seed: u64) -> Split {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut s = Split::default();
    for mut rows in rows_by_user(data) {
        rows.shuffle(&mut rng);
        let n = rows.len();
        let n_valid = (valid * n as f64).floor() as usize;
        let n_test = (test * n as f64).floor() as usize;
        let n_train = n - n_valid - n_test;
        s.train.extend_from_slice(&rows[..n_train]);
        s.valid.extend_from_slice(&rows[n_train..n_train + n_valid]);
        s.test.extend_from_slice(&rows[n_train + n_valid..]);
    }
    s
}

/// Chronological leave-one-out: per user, the last interaction (by timestamp,
/// ties by file order) is the test, the one before it validation.
pub fn leave_one_out(data: &Interactions) -> Split {
    let mut s = Split::default();
    for mut rows in rows_by_user(data) {
        rows.sort_by_key(|&r| (data.timestamps[r], r));
        let n = rows.len();
        if n >= 3 {
            s.train.extend_from_slice(&rows[..n - 2]);
            s.valid.push(rows[n - 2]);
            s.test.push(rows[n - 1]);
        } else {
            s.train.extend_from_slice(&rows);
        }
    }
    s
}

/// Surprise-style k-fold: shuffle all rows, fold `f`'s test set is the f-th
/// of `k` contiguous chunks, its training set the rest. Returns `(train, test)` per fold.
pub fn k_fold(n: usize, k: usize, seed: u64) -> Vec<(Vec<usize>, Vec<usize>)> {
    assert!(k >= 2, "k_fold: k = {k}");
    let mut rows: Vec<usize> = (0..n).collect();
    rows.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    (0..k)
        .map(|f| {
            let (a, b) = (f * n / k, (f + 1) * n / k);
            let test = rows[a..b].to_vec();
            let train = rows[..a].iter().chain(&rows[b..]).copied().collect();
            (train, test)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synthetic::{generate, SyntheticConfig};

    #[test]
    fn per_user_ratio_partitions_each_user() {
        let d = generate(&SyntheticConfig { users: 30, items: 60, ..Default::default() });
        let s = per_user_ratio(&d, 0.1, 0.1, 7);
        let mut all: Vec<usize> = s.train.iter().chain(&s.valid).chain(&s.test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..d.len()).collect::<Vec<_>>());
        let count = |rows: &[usize], u: u32| rows.iter().filter(|&&r| d.users[r] == u).count();
        for u in 0..30u32 {
            let n = count(&(0..d.len()).collect::<Vec<_>>(), u);
            assert_eq!(count(&s.test, u), n / 10);
            assert_eq!(count(&s.valid, u), n / 10);
        }
        assert_eq!(s, per_user_ratio(&d, 0.1, 0.1, 7), "seeded");
    }

    #[test]
    fn k_fold_covers_every_row_once() {
        let folds = k_fold(103, 5, 1);
        let mut seen = vec![0; 103];
        for (train, test) in &folds {
            assert_eq!(train.len() + test.len(), 103);
            for &r in test {
                seen[r] += 1;
            }
        }
        assert!(seen.iter().all(|&c| c == 1));
    }

    #[test]
    fn leave_one_out_takes_the_latest() {
        let mut d = Interactions::default();
        for (t, item) in [(5, "a"), (1, "b"), (9, "c"), (9, "d")] {
            d.push("u", item, 1.0, t);
        }
        let s = leave_one_out(&d);
        assert_eq!(s.test, vec![3], "ties by file order: d comes after c");
        assert_eq!(s.valid, vec![2]);
        assert_eq!(s.train, vec![1, 0]);
    }
}
