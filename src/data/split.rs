//! Train / validation / test splits, seeded (see `shared/PROTOCOLS.md`), and pre-split files.

use std::path::Path;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::movielens::{append_delimited, decode_utf8, first_line, read_utf8, CsvFormat};
use super::Interactions;
use crate::error::{Error, Result};

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

/// Random ratio split over all interactions (RecBole's `RS` with `group_by: none`, but with
/// floors like [`per_user_ratio`]): the rows are shuffled with a seeded generator,
/// `n_valid = floor(valid · n)`, `n_test = floor(test · n)`, the rest train. Each part lists
/// its rows in shuffled order. A user or item may end up only in validation or test.
///
/// `valid` and `test` must be in `[0, 1]` with `valid + test ≤ 1` ([`Error::Invalid`] otherwise).
pub fn random_ratio(data: &Interactions, valid: f64, test: f64, seed: u64) -> Result<Split> {
    let ok = |r: f64| (0.0..=1.0).contains(&r);
    if !ok(valid) || !ok(test) || valid + test > 1.0 {
        return Err(Error::Invalid(format!(
            "split ratios valid = {valid}, test = {test}: each must be in [0, 1] and their sum at most 1"
        )));
    }
    let n = data.len();
    let mut rows: Vec<usize> = (0..n).collect();
    rows.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let n_valid = (valid * n as f64).floor() as usize;
    let n_test = ((test * n as f64).floor() as usize).min(n - n_valid);
    let n_train = n - n_valid - n_test;
    Ok(Split {
        train: rows[..n_train].to_vec(),
        valid: rows[n_train..n_train + n_valid].to_vec(),
        test: rows[n_train + n_valid..].to_vec(),
    })
}

/// Loads a split that comes as separate files (MovieLens `u1.base`/`u1.test`, RecBole
/// benchmark `.train.inter`/`.valid.inter`/`.test.inter`, …), all in the layout `fmt`.
///
/// The files go into one [`Interactions`] in the order train, valid, test, with one shared pair
/// of id maps, so a user or item has the same index in every part (ids seen only in validation
/// or test are in the maps too). The returned [`Split`] names the rows of each file. Each file
/// must hold at least one interaction; pass `None` when there is no validation file.
pub fn load_presplit(
    train: &Path,
    valid: Option<&Path>,
    test: &Path,
    fmt: &CsvFormat,
) -> Result<(Interactions, Split)> {
    load_parts(train, valid, test, |_| Ok(fmt.clone()))
}

/// [`load_presplit`] for RecBole atomic `.inter` files, each read with the columns its own
/// header names (see [`CsvFormat::inter`]).
pub fn load_presplit_inter(train: &Path, valid: Option<&Path>, test: &Path) -> Result<(Interactions, Split)> {
    load_parts(train, valid, test, CsvFormat::inter)
}

/// [`load_presplit`] (`fmt` the layout of every file) or [`load_presplit_inter`] (`fmt` `None`)
/// on files already read: `(path, contents)` for train, the optional validation file, and test.
/// The same checks and the same errors as loading the files; each `path` names its file in them.
pub fn parse_presplit(
    train: (&Path, &[u8]),
    valid: Option<(&Path, &[u8])>,
    test: (&Path, &[u8]),
    fmt: Option<&CsvFormat>,
) -> Result<(Interactions, Split)> {
    let parts = [Some(train), valid, Some(test)];
    assemble([Some(train.0), valid.map(|v| v.0), Some(test.0)], |k, path| {
        let bytes = parts[k].map_or(&[][..], |p| p.1);
        let f = match fmt {
            Some(f) => f.clone(),
            None => CsvFormat::inter_from_header_line(path, &first_line(path, bytes)?)?,
        };
        Ok((f, decode_utf8(path, bytes.to_vec())?))
    })
}

fn load_parts(
    train: &Path,
    valid: Option<&Path>,
    test: &Path,
    fmt: impl Fn(&Path) -> Result<CsvFormat>,
) -> Result<(Interactions, Split)> {
    assemble([Some(train), valid, Some(test)], |_, path| Ok((fmt(path)?, read_utf8(path)?)))
}

/// Reads the parts `paths` (train, optional valid, test) in order with `read`, which gives the
/// layout and the text of part `k` at `path`, into one [`Interactions`] and its [`Split`].
fn assemble(
    paths: [Option<&Path>; 3],
    mut read: impl FnMut(usize, &Path) -> Result<(CsvFormat, String)>,
) -> Result<(Interactions, Split)> {
    let mut data = Interactions::default();
    let mut rows: [Vec<usize>; 3] = Default::default();
    for (k, path) in paths.into_iter().enumerate() {
        let Some(path) = path else { continue };
        let (f, text) = read(k, path)?;
        let start = data.len();
        append_delimited(&mut data, path, &text, &f)?;
        rows[k] = (start..data.len()).collect();
    }
    let [train, valid, test] = rows;
    Ok((data, Split { train, valid, test }))
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
    fn random_ratio_is_seeded_and_partitions() {
        let d = generate(&SyntheticConfig { users: 30, items: 60, ..Default::default() });
        let s = random_ratio(&d, 0.1, 0.2, 3).unwrap();
        let n = d.len();
        assert_eq!((s.valid.len(), s.test.len()), ((0.1 * n as f64) as usize, (0.2 * n as f64) as usize));
        let mut all: Vec<usize> = s.train.iter().chain(&s.valid).chain(&s.test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..n).collect::<Vec<_>>());
        assert_eq!(s, random_ratio(&d, 0.1, 0.2, 3).unwrap(), "seeded");
        assert_ne!(s, random_ratio(&d, 0.1, 0.2, 4).unwrap());
        let all_test = random_ratio(&d, 0.0, 1.0, 3).unwrap();
        assert_eq!((all_test.train.len(), all_test.test.len()), (0, n));
        for (v, t) in [(0.6, 0.5), (-0.1, 0.1), (f64::NAN, 0.1), (0.1, 2.0)] {
            assert!(matches!(random_ratio(&d, v, t, 1), Err(Error::Invalid(_))), "{v} {t}");
        }
        assert_eq!(random_ratio(&Interactions::default(), 0.1, 0.1, 1).unwrap(), Split::default());
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
