//! The embedded default dataset: a seeded generator with planted latent
//! structure, power-law item popularity and timestamps, so `gpurec train`
//! works on a fresh machine with no files.
//!
//! User u and item i get latent vectors p_u, q_i ~ N(0, I_dim). Item i has
//! popularity rank π(i) and log-popularity b_i = −s · ln(1 + π(i)) (Zipf with
//! exponent s). User u interacts with n_u items drawn without replacement
//! from softmax(α · p_u·q_i / √dim + b_i) by the Gumbel-top-k trick. Ratings
//! rise with the affinity p_u·q_i; timestamps are increasing per user.
//!
//! Side features, for the feature-aware models, come from the same planted
//! vectors (without drawing from the generator, so the interactions do not
//! depend on them): user u is in `group=k`, k the largest of the first
//! [`SIDE_DIMS`] coordinates of p_u; item i has `genre=k` for each of those
//! coordinates with q_ik > ½ (none, one or several, like film genres).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::side::{FeatureTable, SideFeatures};
use super::{IdMap, Interactions};
use crate::error::{Error, Result};
use crate::sparse::CsrHost;

/// Generator settings.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct SyntheticConfig {
    /// Number of users.
    pub users: usize,
    /// Number of items.
    pub items: usize,
    /// Latent dimension of the planted structure.
    pub dim: usize,
    /// Mean interactions per user.
    pub mean_per_user: usize,
    /// Minimum interactions per user.
    pub min_per_user: usize,
    /// Zipf exponent of item popularity.
    pub popularity: f32,
    /// Strength α of the latent affinity against popularity.
    pub affinity: f32,
    /// Seed.
    pub seed: u64,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        Self {
            users: 1000,
            items: 1500,
            dim: 8,
            mean_per_user: 60,
            min_per_user: 10,
            popularity: 0.6,
            affinity: 3.0,
            seed: 2024,
        }
    }
}

impl SyntheticConfig {
    /// The generator a data spec names: `synthetic` (the defaults) or
    /// `synthetic:key=value,...` with the keys `users`, `items`, `dim`,
    /// `mean_per_user`, `min_per_user`, `popularity`, `affinity`, `seed`, and
    /// `interactions=N` as a shorthand for the scaling sets of
    /// `gpurec bench --scale` (N/100 users, N/200 items, 100 per user on
    /// average). `None` when `spec` does not name the generator.
    pub fn from_spec(spec: &str) -> Option<Result<Self>> {
        let rest = spec.strip_prefix("synthetic")?;
        let pairs = match rest.strip_prefix(':') {
            None if rest.is_empty() => return Some(Ok(Self::default())),
            None => return None,
            Some(pairs) => pairs,
        };
        let mut cfg = Self::default();
        for pair in pairs.split(',').filter(|p| !p.trim().is_empty()) {
            if let Err(e) = cfg.set(pair) {
                return Some(Err(e));
            }
        }
        Some(cfg.check().map(|()| cfg))
    }

    /// The scaling set of `interactions` interactions (see [`Self::from_spec`]).
    pub fn scaled(interactions: usize) -> Self {
        Self {
            users: (interactions / 100).max(1),
            items: (interactions / 200).max(2),
            mean_per_user: 100,
            ..Self::default()
        }
    }

    fn set(&mut self, pair: &str) -> Result<()> {
        let bad = |what: &str| Error::Invalid(format!("synthetic data: {pair:?}: {what}"));
        let (key, value) = pair.split_once('=').ok_or_else(|| bad("expected key=value"))?;
        let (key, value) = (key.trim(), value.trim());
        let count = || parse_count(value).ok_or_else(|| bad("expected a count"));
        let real =
            || value.parse::<f32>().ok().filter(|x| x.is_finite()).ok_or_else(|| bad("expected a finite number"));
        match key {
            "users" => self.users = count()?,
            "items" => self.items = count()?,
            "dim" => self.dim = count()?,
            "mean_per_user" => self.mean_per_user = count()?,
            "min_per_user" => self.min_per_user = count()?,
            "popularity" => self.popularity = real()?,
            "affinity" => self.affinity = real()?,
            "seed" => self.seed = value.parse().map_err(|_| bad("expected an integer seed"))?,
            "interactions" => {
                let seed = self.seed;
                *self = Self { seed, ..Self::scaled(count()?) };
            }
            _ => {
                return Err(bad(
                    "unknown key (users, items, dim, mean_per_user, min_per_user, popularity, affinity, seed, interactions)",
                ))
            }
        }
        Ok(())
    }

    /// An error naming the setting that cannot generate a data set.
    pub fn check(&self) -> Result<()> {
        if self.users == 0 || self.items < 2 || self.dim == 0 {
            return Err(Error::Invalid(format!(
                "synthetic data: needs users ≥ 1, items ≥ 2 and dim ≥ 1 (got {} users, {} items, dim {})",
                self.users, self.items, self.dim
            )));
        }
        if self.mean_per_user == 0 || self.min_per_user == 0 {
            return Err(Error::Invalid("synthetic data: mean_per_user and min_per_user must be at least 1".into()));
        }
        let cells = self.users as u128 * self.items as u128;
        if cells > 1u128 << 36 {
            return Err(Error::Invalid(format!(
                "synthetic data: {} users × {} items is more than the generator draws ({cells} keys > 2^36)",
                self.users, self.items
            )));
        }
        Ok(())
    }
}

/// A count with an optional `k` (thousands) or `m` (millions) suffix: `250k`, `4M`, `1200`.
pub fn parse_count(s: &str) -> Option<usize> {
    let v = s.trim().to_ascii_lowercase();
    let (digits, scale) = match v.strip_suffix('k') {
        Some(d) => (d, 1_000),
        None => v.strip_suffix('m').map_or((v.as_str(), 1), |d| (d, 1_000_000)),
    };
    digits.parse::<usize>().ok().and_then(|n| n.checked_mul(scale))
}

fn normal(rng: &mut ChaCha8Rng) -> f32 {
    // Box–Muller.
    let u1: f32 = rng.random_range(f32::EPSILON..1.0);
    let u2: f32 = rng.random_range(0.0..1.0);
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// Generates the dataset.
pub fn generate(cfg: &SyntheticConfig) -> Interactions {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let d = cfg.dim;
    let p: Vec<f32> = (0..cfg.users * d).map(|_| normal(&mut rng)).collect();
    let q: Vec<f32> = (0..cfg.items * d).map(|_| normal(&mut rng)).collect();
    let mut rank: Vec<usize> = (0..cfg.items).collect();
    for i in (1..cfg.items).rev() {
        let j = rng.random_range(0..=i);
        rank.swap(i, j);
    }
    let bias: Vec<f32> = rank.iter().map(|&r| -cfg.popularity * (1.0 + r as f32).ln()).collect();
    let mut out = Interactions::default();
    for i in 0..cfg.items {
        out.item_ids.intern(&format!("i{i}"));
    }
    let mut keys: Vec<(f32, usize, f32)> = Vec::with_capacity(cfg.items);
    for u in 0..cfg.users {
        let user = format!("u{u}");
        // Log-normal activity, at least min_per_user, at most half the catalogue.
        let z = normal(&mut rng);
        let n = ((cfg.mean_per_user as f32) * (0.8 * z - 0.32).exp()).round() as usize;
        let n = n.clamp(cfg.min_per_user, cfg.items / 2);
        keys.clear();
        for i in 0..cfg.items {
            let aff: f32 = (0..d).map(|k| p[u * d + k] * q[i * d + k]).sum::<f32>() / (d as f32).sqrt();
            let g = -(-rng.random_range(f32::EPSILON..1.0f32).ln()).ln();
            keys.push((cfg.affinity * aff + bias[i] + g, i, aff));
        }
        // The n largest keys in descending order, ties by item: exactly the
        // first n of a stable sort of all, without sorting the rest.
        let order = |a: &(f32, usize, f32), b: &(f32, usize, f32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        if n < keys.len() {
            keys.select_nth_unstable_by(n, order);
            keys.truncate(n);
        }
        keys.sort_unstable_by(order);
        let mut t = 1_000_000_000i64 + rng.random_range(0..100_000_000i64);
        for &(_, i, aff) in keys.iter().take(n) {
            let rating = (3.0 + 1.2 * aff + 0.5 * normal(&mut rng)).round().clamp(1.0, 5.0);
            t += rng.random_range(1..100_000i64);
            out.push(&user, &format!("i{i}"), rating, t);
        }
    }
    out.side = Some(std::sync::Arc::new(planted_side(&p, &q, cfg)));
    out
}

/// How many planted coordinates the side features reveal (fewer when `dim` is smaller).
pub const SIDE_DIMS: usize = 4;

fn planted_side(p: &[f32], q: &[f32], cfg: &SyntheticConfig) -> SideFeatures {
    let (d, k) = (cfg.dim, SIDE_DIMS.min(cfg.dim));
    let table = |prefix: &str, n: usize, entries: &dyn Fn(usize) -> Vec<u32>| {
        let mut ids = IdMap::default();
        let mut trip = Vec::new();
        for r in 0..n {
            let row = ids.intern(&format!("{prefix}{r}"));
            trip.extend(entries(r).into_iter().map(|c| (row, c, 1.0)));
        }
        (ids, trip)
    };
    let (uids, utrip) = table("u", cfg.users, &|u| {
        let row = &p[u * d..u * d + k];
        let best = (0..k).max_by(|&a, &b| row[a].total_cmp(&row[b]).then(b.cmp(&a)));
        best.map(|c| vec![c as u32]).into_iter().flatten().collect()
    });
    let (iids, itrip) = table("i", cfg.items, &|i| (0..k).filter(|&c| q[i * d + c] > 0.5).map(|c| c as u32).collect());
    SideFeatures {
        users: FeatureTable {
            names: (0..k).map(|c| format!("group={c}")).collect(),
            rows: CsrHost::from_triplets(uids.len(), k, &utrip),
            ids: uids,
        },
        items: FeatureTable {
            names: (0..k).map(|c| format!("genre={c}")).collect(),
            rows: CsrHost::from_triplets(iids.len(), k, &itrip),
            ids: iids,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_seeded_and_shaped() {
        let cfg = SyntheticConfig { users: 50, items: 80, ..Default::default() };
        let a = generate(&cfg);
        let b = generate(&cfg);
        assert_eq!(a.users, b.users);
        assert_eq!(a.items, b.items);
        assert_eq!(a.n_users(), 50);
        assert!(a.ratings.iter().all(|&r| (1.0..=5.0).contains(&r)));
        let mut per_user = vec![0usize; 50];
        for &u in &a.users {
            per_user[u as usize] += 1;
        }
        assert!(per_user.iter().all(|&n| n >= 10));
    }

    #[test]
    fn popularity_is_skewed() {
        let d = generate(&SyntheticConfig::default());
        let mut counts = vec![0usize; d.n_items()];
        for &i in &d.items {
            counts[i as usize] += 1;
        }
        counts.sort_unstable_by(|a, b| b.cmp(a));
        let top: usize = counts[..counts.len() / 10].iter().sum();
        assert!(top as f64 > 0.2 * d.len() as f64, "top 10% of items hold {top} of {}", d.len());
    }

    #[test]
    fn side_features_come_from_the_planted_vectors() {
        let d = generate(&SyntheticConfig { users: 40, items: 60, ..Default::default() });
        let side = d.side.as_ref().expect("the synthetic set has features");
        let users = side.users.aligned(&d.user_ids);
        assert!((0..40).all(|u| users.row(u).len() == 1), "one group per user");
        assert_eq!(side.items.names, ["genre=0", "genre=1", "genre=2", "genre=3"]);
        let items = side.items.aligned(&d.item_ids);
        // q_ik > ½ has probability ≈ 0.31 for each of 4 coordinates.
        assert!((40..130).contains(&items.nnz()), "{} genre flags on 60 items", items.nnz());
    }

    #[test]
    fn specs_size_the_generator_and_refuse_bad_keys() {
        let cfg = SyntheticConfig::from_spec("synthetic:users=30,items=40k,seed=9").unwrap().unwrap();
        assert_eq!((cfg.users, cfg.items, cfg.seed, cfg.dim), (30, 40_000, 9, 8));
        let cfg = SyntheticConfig::from_spec("synthetic:interactions=1M").unwrap().unwrap();
        assert_eq!((cfg.users, cfg.items, cfg.mean_per_user), (10_000, 5_000, 100));
        assert!(SyntheticConfig::from_spec("synthetic").unwrap().is_ok());
        assert!(SyntheticConfig::from_spec("synthetics").is_none(), "a file name is not the generator");
        assert!(SyntheticConfig::from_spec("data.csv").is_none());
        for bad in [
            "synthetic:user=3",
            "synthetic:users=x",
            "synthetic:users",
            "synthetic:items=1",
            "synthetic:popularity=nan",
        ] {
            let e = SyntheticConfig::from_spec(bad).unwrap().unwrap_err().to_string();
            assert!(e.contains("synthetic data"), "{bad}: {e}");
        }
    }
}
