//! Implicit feedback, row selection and minimum-interaction (k-core) filters.
//!
//! [`Interactions::implicit`] and [`Interactions::select`] keep the id maps as they are (so every
//! item stays a ranking candidate, as `shared/PROTOCOLS.md` asks); [`Interactions::compact`] and
//! [`Interactions::filter_min_interactions`] drop users and items left without interactions and
//! re-index the rest densely, in their old index order, with their original ids.

use super::{IdMap, Interactions};

/// What loading does with repeated (user, item) rows. A repeat would land in
/// training and test alike and be masked there as already seen, so it could
/// never be hit; RecBole's `rm_dup_inter` offers the same first/last choice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Duplicates {
    /// Keep the first row of each (user, item), in file order (the default).
    #[default]
    First,
    /// Keep the last row of each (user, item) (its rating and timestamp, at its position).
    Last,
    /// Keep every row.
    Keep,
}

impl Duplicates {
    /// The policy's name, as the CLI and model files spell it.
    pub fn name(self) -> &'static str {
        match self {
            Duplicates::First => "first",
            Duplicates::Last => "last",
            Duplicates::Keep => "keep",
        }
    }
}

impl Interactions {
    /// The interactions with repeated (user, item) rows merged as `policy`
    /// says, in file order, and how many rows were dropped.
    pub fn dedup(&self, policy: Duplicates) -> (Interactions, usize) {
        if policy == Duplicates::Keep {
            return (self.clone(), 0);
        }
        let mut seen = std::collections::HashSet::with_capacity(self.len());
        let mut keep = vec![false; self.len()];
        let order: Box<dyn Iterator<Item = usize>> = match policy {
            Duplicates::Last => Box::new((0..self.len()).rev()),
            _ => Box::new(0..self.len()),
        };
        for r in order {
            keep[r] = seen.insert((self.users[r], self.items[r]));
        }
        let rows: Vec<usize> = (0..self.len()).filter(|&r| keep[r]).collect();
        let dropped = self.len() - rows.len();
        (if dropped == 0 { self.clone() } else { self.select(&rows) }, dropped)
    }

    /// Implicit feedback: the interactions with `rating ≥ threshold` (all of them when `None`),
    /// in file order, each with rating 1.0. Timestamps and id maps are kept; users and items
    /// whose interactions all fall below the threshold stay in the maps with none (call
    /// [`Interactions::compact`] to drop them). Duplicate user–item pairs are kept as they are.
    pub fn implicit(&self, threshold: Option<f32>) -> Interactions {
        let rows: Vec<usize> = match threshold {
            None => (0..self.len()).collect(),
            Some(t) => (0..self.len()).filter(|&r| self.ratings[r] >= t).collect(),
        };
        let mut out = self.select(&rows);
        out.ratings.fill(1.0);
        out
    }

    /// The interactions at `rows`, in that order, with the same id maps.
    ///
    /// Panics when a row is out of range.
    pub fn select(&self, rows: &[usize]) -> Interactions {
        Interactions {
            users: rows.iter().map(|&r| self.users[r]).collect(),
            items: rows.iter().map(|&r| self.items[r]).collect(),
            ratings: rows.iter().map(|&r| self.ratings[r]).collect(),
            timestamps: rows.iter().map(|&r| self.timestamps[r]).collect(),
            user_ids: self.user_ids.clone(),
            item_ids: self.item_ids.clone(),
            side: self.side.clone(),
        }
    }

    /// The same interactions with users and items that have none dropped from the id maps and
    /// the rest re-indexed densely, keeping their relative order and their original ids.
    pub fn compact(&self) -> Interactions {
        let (users, user_ids) = reindex(&self.users, &self.user_ids);
        let (items, item_ids) = reindex(&self.items, &self.item_ids);
        Interactions {
            users,
            items,
            ratings: self.ratings.clone(),
            timestamps: self.timestamps.clone(),
            user_ids,
            item_ids,
            side: self.side.clone(),
        }
    }

    /// Keeps only users with at least `min_user` interactions and items with at least
    /// `min_item`, **iterating until stable** (the k-core; RecBole's
    /// `user_inter_num_interval = "[min_user,inf)"` / `item_inter_num_interval` filter iterates
    /// the same way and reaches the same set). Interactions are counted as rows, duplicates
    /// included. The result keeps file order and is [compacted](Interactions::compact): ids are
    /// dense again and the maps keep the original ids. `0` or `1` means no limit.
    pub fn filter_min_interactions(&self, min_user: usize, min_item: usize) -> Interactions {
        self.select(&k_core_rows(self, min_user, min_item)).compact()
    }
}

/// The rows (in increasing order) that survive iteratively removing users with fewer than
/// `min_user` interactions and items with fewer than `min_item`, until none is left to remove.
/// The result does not depend on the order of removal: it is the largest set of rows whose
/// users and items all meet their minimum.
pub fn k_core_rows(data: &Interactions, min_user: usize, min_item: usize) -> Vec<usize> {
    let (nu, ni) = (data.n_users(), data.n_items());
    let mut user_rows = vec![Vec::new(); nu];
    let mut item_rows = vec![Vec::new(); ni];
    for r in 0..data.len() {
        user_rows[data.users[r] as usize].push(r);
        item_rows[data.items[r] as usize].push(r);
    }
    let mut user_count: Vec<usize> = user_rows.iter().map(Vec::len).collect();
    let mut item_count: Vec<usize> = item_rows.iter().map(Vec::len).collect();
    let mut alive = vec![true; data.len()];
    let mut user_gone = vec![false; nu];
    let mut item_gone = vec![false; ni];
    // Queue of (is_user, index) to remove; each id is queued at most once.
    let mut queue: Vec<(bool, usize)> = Vec::new();
    for u in 0..nu {
        if user_count[u] < min_user {
            user_gone[u] = true;
            queue.push((true, u));
        }
    }
    for i in 0..ni {
        if item_count[i] < min_item {
            item_gone[i] = true;
            queue.push((false, i));
        }
    }
    while let Some((is_user, x)) = queue.pop() {
        let rows = if is_user { &user_rows[x] } else { &item_rows[x] };
        for &r in rows {
            if !alive[r] {
                continue;
            }
            alive[r] = false;
            if is_user {
                let i = data.items[r] as usize;
                item_count[i] -= 1;
                if item_count[i] < min_item && !item_gone[i] {
                    item_gone[i] = true;
                    queue.push((false, i));
                }
            } else {
                let u = data.users[r] as usize;
                user_count[u] -= 1;
                if user_count[u] < min_user && !user_gone[u] {
                    user_gone[u] = true;
                    queue.push((true, u));
                }
            }
        }
    }
    (0..data.len()).filter(|&r| alive[r]).collect()
}

/// New dense indices for the ids used in `idx`, in their old order.
fn reindex(idx: &[u32], ids: &IdMap) -> (Vec<u32>, IdMap) {
    let mut used = vec![false; ids.len()];
    for &i in idx {
        used[i as usize] = true;
    }
    let mut map = IdMap::default();
    let mut new = vec![u32::MAX; ids.len()];
    for (old, _) in used.iter().enumerate().filter(|(_, &u)| u) {
        new[old] = map.intern(ids.id(old as u32));
    }
    (idx.iter().map(|&i| new[i as usize]).collect(), map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synthetic::{generate, SyntheticConfig};

    fn data(rows: &[(&str, &str, f32)]) -> Interactions {
        let mut d = Interactions::default();
        for (t, &(u, i, r)) in rows.iter().enumerate() {
            d.push(u, i, r, t as i64);
        }
        d
    }

    #[test]
    fn dedup_keeps_the_first_or_the_last_row_of_each_pair() {
        let d = data(&[("a", "x", 5.0), ("a", "y", 2.0), ("a", "x", 1.0), ("b", "x", 4.0), ("a", "x", 3.0)]);
        let (first, n) = d.dedup(Duplicates::First);
        assert_eq!((n, first.ratings.clone()), (2, vec![5.0, 2.0, 4.0]));
        let (last, n) = d.dedup(Duplicates::Last);
        assert_eq!((n, last.ratings.clone()), (2, vec![2.0, 4.0, 3.0]));
        assert_eq!(last.items, vec![1, 0, 0], "at the last row's position");
        let (kept, n) = d.dedup(Duplicates::Keep);
        assert_eq!((n, kept.ratings), (0, d.ratings.clone()));
        assert_eq!(first.user_ids, d.user_ids, "id maps unchanged");
    }

    #[test]
    fn implicit_thresholds_and_keeps_maps() {
        let d = data(&[("a", "x", 5.0), ("a", "y", 2.0), ("b", "y", 4.0), ("c", "z", 3.5)]);
        let all = d.implicit(None);
        assert_eq!(all.len(), 4);
        assert!(all.ratings.iter().all(|&r| r == 1.0));
        let hi = d.implicit(Some(4.0));
        assert_eq!((hi.users.clone(), hi.items.clone(), hi.timestamps.clone()), (vec![0, 1], vec![0, 1], vec![0, 2]));
        assert_eq!((hi.n_users(), hi.n_items()), (3, 3), "maps kept");
        let c = hi.compact();
        assert_eq!((c.n_users(), c.n_items()), (2, 2));
        assert_eq!((c.user_ids.id(1), c.item_ids.id(1)), ("b", "y"));
    }

    #[test]
    fn k_core_iterates_until_stable() {
        // With min 2 per user and per item: item z (1) and user b (1) go; then c keeps x, y and
        // x keeps a, c: stable.
        let d = data(&[("a", "x", 1.), ("b", "x", 1.), ("c", "x", 1.), ("c", "y", 1.), ("a", "y", 1.), ("c", "z", 1.)]);
        assert_eq!(k_core_rows(&d, 2, 2), vec![0, 2, 3, 4], "c keeps x,y; a keeps x,y; b goes; z goes");
        let f = d.filter_min_interactions(2, 2);
        assert_eq!(f.len(), 4);
        assert_eq!((f.n_users(), f.n_items()), (2, 2));
        assert_eq!((f.user_ids.id(0), f.user_ids.id(1)), ("a", "c"));
        // A chain that unravels completely: every removal drops a neighbour below the minimum.
        let chain = data(&[("a", "x", 1.), ("a", "y", 1.), ("b", "y", 1.), ("b", "z", 1.)]);
        assert!(k_core_rows(&chain, 2, 2).is_empty());
        assert_eq!(chain.filter_min_interactions(2, 2).n_items(), 0);
        assert_eq!(k_core_rows(&chain, 0, 1).len(), 4, "no limit");
    }

    #[test]
    fn k_core_matches_round_based_filter() {
        let d = generate(&SyntheticConfig {
            users: 200,
            items: 400,
            mean_per_user: 15,
            min_per_user: 2,
            ..Default::default()
        });
        for (mu, mi) in [(5, 5), (10, 3), (20, 10)] {
            // RecBole-style: drop every too-small user and item at once, repeat until nothing changes.
            let mut rows: Vec<usize> = (0..d.len()).collect();
            loop {
                let mut uc = vec![0; d.n_users()];
                let mut ic = vec![0; d.n_items()];
                for &r in &rows {
                    uc[d.users[r] as usize] += 1;
                    ic[d.items[r] as usize] += 1;
                }
                let before = rows.len();
                rows.retain(|&r| uc[d.users[r] as usize] >= mu && ic[d.items[r] as usize] >= mi);
                if rows.len() == before {
                    break;
                }
            }
            assert_eq!(k_core_rows(&d, mu, mi), rows, "({mu}, {mi})");
            let f = d.filter_min_interactions(mu, mi);
            let mut uc = vec![0; f.n_users()];
            let mut ic = vec![0; f.n_items()];
            for r in 0..f.len() {
                uc[f.users[r] as usize] += 1;
                ic[f.items[r] as usize] += 1;
                assert_eq!(f.user_ids.id(f.users[r]), d.user_ids.id(d.users[rows[r]]), "original ids kept");
                assert_eq!(f.item_ids.id(f.items[r]), d.item_ids.id(d.items[rows[r]]));
            }
            assert!(uc.iter().all(|&c| c >= mu) && ic.iter().all(|&c| c >= mi), "dense and filtered");
        }
    }
}
