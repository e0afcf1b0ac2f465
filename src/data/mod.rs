//! Interaction data: loading, id maps, the embedded synthetic default, and splits.
//!
//! Users and items are remapped to dense indices `0..n` on load; [`IdMap`]
//! keeps the original ids so everything a person sees uses them.

pub mod filter;
pub mod item_lists;
pub mod movielens;
pub mod negatives;
pub mod sequence;
pub mod side;
pub mod spec;
pub mod split;
pub mod synthetic;

use std::collections::HashMap;

use crate::sparse::CsrHost;

/// Original ids ↔ dense indices.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IdMap {
    ids: Vec<String>,
    #[serde(skip)]
    index: HashMap<String, u32>,
}

impl IdMap {
    /// The index of `id`, adding it when new.
    pub fn intern(&mut self, id: &str) -> u32 {
        if let Some(&i) = self.index.get(id) {
            return i;
        }
        let i = self.ids.len() as u32;
        self.ids.push(id.to_string());
        self.index.insert(id.to_string(), i);
        i
    }

    /// The index of `id`, if known.
    pub fn get(&self, id: &str) -> Option<u32> {
        if self.index.len() != self.ids.len() {
            // Deserialised maps rebuild their index lazily (see `rebuild`).
            return self.ids.iter().position(|x| x == id).map(|i| i as u32);
        }
        self.index.get(id).copied()
    }

    /// The original id of index `i`.
    pub fn id(&self, i: u32) -> &str {
        &self.ids[i as usize]
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Rebuilds the lookup table (after deserialising).
    pub fn rebuild(&mut self) {
        self.index = self.ids.iter().enumerate().map(|(i, s)| (s.clone(), i as u32)).collect();
    }

    /// A map of `n` ids named by their index ("0", "1", …).
    pub fn sequential(n: usize) -> Self {
        let mut m = IdMap::default();
        for i in 0..n {
            m.intern(&i.to_string());
        }
        m
    }
}

/// A set of user–item interactions with optional ratings and timestamps, in file order.
#[derive(Clone, Debug, Default)]
pub struct Interactions {
    /// User index of each interaction.
    pub users: Vec<u32>,
    /// Item index of each interaction.
    pub items: Vec<u32>,
    /// Rating (or 1.0 for implicit feedback).
    pub ratings: Vec<f32>,
    /// Unix timestamp (0 when unknown).
    pub timestamps: Vec<i64>,
    /// User ids.
    pub user_ids: IdMap,
    /// Item ids.
    pub item_ids: IdMap,
    /// User and item features, keyed by id (ML-100K's `u.user` and `u.item`,
    /// feature files, the synthetic set's planted groups); `None` without any.
    pub side: Option<std::sync::Arc<side::SideFeatures>>,
}

impl Interactions {
    /// Number of interactions.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Number of users.
    pub fn n_users(&self) -> usize {
        self.user_ids.len()
    }

    /// Number of items.
    pub fn n_items(&self) -> usize {
        self.item_ids.len()
    }

    /// Appends one interaction given original ids.
    pub fn push(&mut self, user: &str, item: &str, rating: f32, timestamp: i64) {
        let u = self.user_ids.intern(user);
        let i = self.item_ids.intern(item);
        self.users.push(u);
        self.items.push(i);
        self.ratings.push(rating);
        self.timestamps.push(timestamp);
    }

    /// The user × item matrix of the interactions at `rows` (1.0 per pair).
    pub fn user_item_csr(&self, rows: &[usize]) -> CsrHost {
        let trip: Vec<(u32, u32, f32)> = rows.iter().map(|&r| (self.users[r], self.items[r], 1.0)).collect();
        let mut m = CsrHost::from_triplets(self.n_users(), self.n_items(), &trip);
        m.vals.iter_mut().for_each(|v| *v = 1.0);
        m
    }

    /// The lowest and highest rating (the scale predictions are clipped to);
    /// (+∞, −∞) when empty.
    pub fn rating_range(&self) -> (f32, f32) {
        let lo = self.ratings.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = self.ratings.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        (lo, hi)
    }

    /// A one-line description.
    pub fn summary(&self) -> String {
        let density = self.len() as f64 / (self.n_users() as f64 * self.n_items() as f64).max(1.0);
        format!(
            "{} interactions, {} users, {} items (density {:.3}%)",
            self.len(),
            self.n_users(),
            self.n_items(),
            density * 100.0
        )
    }
}

/// (user, item, rating) triples on the host, for training or evaluation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ratings {
    /// User index of each rating.
    pub users: Vec<u32>,
    /// Item index of each rating.
    pub items: Vec<u32>,
    /// The rating.
    pub ratings: Vec<f32>,
}

impl Ratings {
    /// The ratings at `rows` of `data`, in that order.
    pub fn from_rows(data: &Interactions, rows: &[usize]) -> Self {
        Self {
            users: rows.iter().map(|&r| data.users[r]).collect(),
            items: rows.iter().map(|&r| data.items[r]).collect(),
            ratings: rows.iter().map(|&r| data.ratings[r]).collect(),
        }
    }

    /// Number of ratings.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Mean rating (0 when empty), summed in f64.
    pub fn mean(&self) -> f32 {
        if self.is_empty() {
            return 0.0;
        }
        (self.ratings.iter().map(|&r| r as f64).sum::<f64>() / self.len() as f64) as f32
    }
}
