//! Users' interactions in time order, and the training windows of the
//! sequential (next-item) models cut from them.
//!
//! A user's sequence sorts their interactions by timestamp, ties broken by
//! the order of the file (never by a rounded timestamp), as the
//! chronological leave-one-out split ([`super::split::leave_one_out`]) does.
//! A model reads windows of one of two kinds ([`WindowKind`]):
//! - runs: consecutive target positions of one user's sequence, each
//!   predicted from the items before it in the window (recurrent and causal
//!   attention models score a whole run in one pass); a user's runs cover
//!   each of their targets (every position but the first) exactly once, cut
//!   from the end so the most recent run is the full one;
//! - sliding: one target per window, predicted from the `len` items before
//!   it (Caser's convolutions read a fixed L × d image).

use super::Interactions;

/// The padding id in a window's inputs and targets.
pub const PAD: u32 = u32::MAX;

/// Each user's items in time order, as offsets into one array.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sequences {
    offsets: Vec<usize>,
    items: Vec<u32>,
}

impl Sequences {
    /// The interactions at `rows` of `data`, per user sorted by (timestamp, row).
    pub fn from_rows(data: &Interactions, rows: &[usize]) -> Self {
        let mut by_user: Vec<Vec<usize>> = vec![Vec::new(); data.n_users()];
        for &r in rows {
            by_user[data.users[r] as usize].push(r);
        }
        let lists: Vec<Vec<u32>> = by_user
            .into_iter()
            .map(|mut rs| {
                rs.sort_by_key(|&r| (data.timestamps[r], r));
                rs.into_iter().map(|r| data.items[r]).collect()
            })
            .collect();
        Self::from_lists(&lists)
    }

    /// Sequences given as one list per user, already in time order.
    pub fn from_lists(lists: &[Vec<u32>]) -> Self {
        let mut offsets = Vec::with_capacity(lists.len() + 1);
        offsets.push(0);
        let mut items = Vec::with_capacity(lists.iter().map(Vec::len).sum());
        for l in lists {
            items.extend_from_slice(l);
            offsets.push(items.len());
        }
        Self { offsets, items }
    }

    /// Number of users (with or without items).
    pub fn n_users(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Total number of items over all users.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when no user has an item.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// User `u`'s items, oldest first.
    pub fn user(&self, u: usize) -> &[u32] {
        &self.items[self.offsets[u]..self.offsets[u + 1]]
    }

    /// The last `len` items of user `u` (all of them when fewer), oldest first.
    pub fn recent(&self, u: usize, len: usize) -> &[u32] {
        let s = self.user(u);
        &s[s.len().saturating_sub(len)..]
    }

    /// The largest item id plus one (0 when empty).
    pub fn item_bound(&self) -> usize {
        self.items.iter().map(|&i| i as usize + 1).max().unwrap_or(0)
    }

    /// Each user's distinct items as a 0/1 row of a users × `items` matrix
    /// (order and repeats dropped), for the models that score a set of
    /// items rather than a sequence; an error naming the first item outside
    /// `0..items`.
    pub fn to_rows(&self, items: usize) -> crate::Result<crate::sparse::CsrHost> {
        if let Some(&bad) = self.items.iter().find(|&&i| i as usize >= items) {
            return Err(crate::Error::Invalid(format!("item {bad} is outside the model's {items} items")));
        }
        let triplets: Vec<(u32, u32, f32)> =
            (0..self.n_users()).flat_map(|u| self.user(u).iter().map(move |&i| (u as u32, i, 1.0))).collect();
        let mut rows = crate::sparse::CsrHost::from_triplets(self.n_users(), items, &triplets);
        // Repeats were summed: a row is 0/1.
        rows.vals.iter_mut().for_each(|v| *v = 1.0);
        Ok(rows)
    }
}

/// How a next-item model's training windows are cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum WindowKind {
    /// Runs of at most `len` consecutive targets ([`windows`], [`fill_window`]).
    Runs,
    /// One target per window with the `len` items before it ([`sliding_windows`], [`fill_sliding`]).
    Sliding,
}

/// The training windows a next-item model reads: their width and kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct WindowSpec {
    /// Columns per window.
    pub len: usize,
    /// How they are cut.
    pub kind: WindowKind,
}

/// Target positions `[start, end)` of one user's sequence. For a run the
/// inputs are the positions `[start − 1, end − 1)`; for a sliding window
/// (`end = start + 1`) the `len` positions before `start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// The user.
    pub user: u32,
    /// First target position (≥ 1).
    pub start: u32,
    /// One past the last target position.
    pub end: u32,
}

/// The training windows of at most `len` targets over every user with two
/// or more items, cut from the end of each sequence, users in order.
pub fn windows(seqs: &Sequences, len: usize) -> Vec<Window> {
    assert!(len > 0, "windows: a window holds at least one target");
    let mut out = Vec::new();
    for u in 0..seqs.n_users() {
        let mut end = seqs.user(u).len();
        while end > 1 {
            let start = end.saturating_sub(len).max(1);
            out.push(Window { user: u as u32, start: start as u32, end: end as u32 });
            end = start;
        }
    }
    out
}

/// Writes window `w` of `seqs` into the row `inputs`/`targets` (both of the
/// window length `L`), left-padded with [`PAD`]: the last target sits in the
/// last column.
pub fn fill_window(seqs: &Sequences, w: &Window, inputs: &mut [u32], targets: &mut [u32]) {
    let l = inputs.len();
    let s = seqs.user(w.user as usize);
    let (a, b) = (w.start as usize, w.end as usize);
    let n = b - a;
    assert!(n <= l && targets.len() == l, "fill_window: {n} targets in a window of {l}");
    inputs[..l - n].fill(PAD);
    targets[..l - n].fill(PAD);
    inputs[l - n..].copy_from_slice(&s[a - 1..b - 1]);
    targets[l - n..].copy_from_slice(&s[a..b]);
}

/// One window per target position of every user's sequence, users in order.
pub fn sliding_windows(seqs: &Sequences) -> Vec<Window> {
    let mut out = Vec::new();
    for u in 0..seqs.n_users() {
        for p in 1..seqs.user(u).len() {
            out.push(Window { user: u as u32, start: p as u32, end: p as u32 + 1 });
        }
    }
    out
}

/// Writes sliding window `w` of `seqs` into the row `inputs`/`targets` (both
/// of width `L`): the ≤ L items before the target, left-padded with
/// [`PAD`], and the target in the last column of `targets` (the rest [`PAD`]).
pub fn fill_sliding(seqs: &Sequences, w: &Window, inputs: &mut [u32], targets: &mut [u32]) {
    let l = inputs.len();
    let s = seqs.user(w.user as usize);
    let p = w.start as usize;
    assert!(w.end as usize == p + 1 && targets.len() == l && l > 0, "fill_sliding: one target per window");
    fill_history(&s[..p], inputs);
    targets.fill(PAD);
    targets[l - 1] = s[p];
}

/// `history` (oldest first) as one left-padded input row of width `len`:
/// its last `len` items, [`PAD`] before them.
pub fn fill_history(history: &[u32], row: &mut [u32]) {
    let l = row.len();
    let h = &history[history.len().saturating_sub(l)..];
    row[..l - h.len()].fill(PAD);
    row[l - h.len()..].copy_from_slice(h);
}

/// A chunk of [`history_windows`]: its first user, its rows `[c, len]`, c.
pub type HistoryChunk = (usize, Vec<u32>, usize);

/// Every user's last `len` items of `history`, as left-padded row-major
/// input rows `[c, len]` in chunks of at most `chunk` users (first user of
/// the chunk, its rows, c), and those last items as [`Sequences`] (what a
/// next-item model keeps to score from and writes to its model file).
/// Refuses a history naming an item past the model's `items`, naming `kind`.
pub fn history_windows(
    kind: &str,
    history: &Sequences,
    items: usize,
    len: usize,
    chunk: usize,
) -> crate::error::Result<(Vec<HistoryChunk>, Sequences)> {
    if history.item_bound() > items {
        return Err(crate::error::Error::Invalid(format!(
            "{kind}: a history holds item {} of a model over {items} items",
            history.item_bound() - 1
        )));
    }
    let users = history.n_users();
    let lists: Vec<Vec<u32>> = (0..users).map(|u| history.recent(u, len).to_vec()).collect();
    let chunks = (0..users)
        .step_by(chunk.max(1))
        .map(|start| {
            let c = chunk.max(1).min(users - start);
            let mut rows = vec![0u32; c * len];
            for (r, row) in rows.chunks_mut(len).enumerate() {
                fill_history(&lists[start + r], row);
            }
            (start, rows, c)
        })
        .collect();
    Ok((chunks, Sequences::from_lists(&lists)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_sort_by_time_then_file_order() {
        let mut d = Interactions::default();
        d.push("u", "a", 1.0, 30);
        d.push("u", "b", 1.0, 10);
        d.push("v", "c", 1.0, 5);
        d.push("u", "c", 1.0, 10); // same time as "b", later in the file
        let s = Sequences::from_rows(&d, &[0, 1, 2, 3]);
        assert_eq!(s.n_users(), 2);
        assert_eq!(s.user(0), &[1, 2, 0]); // b, c, a
        assert_eq!(s.user(1), &[2]);
        assert_eq!(s.recent(0, 2), &[2, 0]);
        assert_eq!(s.recent(1, 5), &[2]);
        let only = Sequences::from_rows(&d, &[0, 2]);
        assert_eq!(only.user(0), &[0]);
    }

    #[test]
    fn windows_cover_every_target_once_from_the_end() {
        let s = Sequences::from_lists(&[vec![5, 6, 7, 8, 9, 10], vec![1], vec![], vec![3, 4]]);
        let w = windows(&s, 2);
        assert_eq!(
            w,
            vec![
                Window { user: 0, start: 4, end: 6 },
                Window { user: 0, start: 2, end: 4 },
                Window { user: 0, start: 1, end: 2 },
                Window { user: 3, start: 1, end: 2 },
            ]
        );
        let (mut i, mut t) = (vec![0; 3], vec![0; 3]);
        fill_window(&s, &w[2], &mut i, &mut t);
        assert_eq!((i.as_slice(), t.as_slice()), (&[PAD, PAD, 5][..], &[PAD, PAD, 6][..]));
        fill_window(&s, &w[0], &mut i, &mut t);
        assert_eq!((i.as_slice(), t.as_slice()), (&[PAD, 8, 9][..], &[PAD, 9, 10][..]));
        let targets: usize = windows(&s, 50).iter().map(|w| (w.end - w.start) as usize).sum();
        assert_eq!(targets, 5 + 1);
        let mut row = vec![0; 3];
        fill_history(&[1, 2, 3, 4], &mut row);
        assert_eq!(row, vec![2, 3, 4]);
        fill_history(&[7], &mut row);
        assert_eq!(row, vec![PAD, PAD, 7]);
    }

    #[test]
    fn sliding_windows_give_each_target_its_previous_items() {
        let s = Sequences::from_lists(&[vec![5, 6, 7, 8], vec![1], vec![3, 4]]);
        let w = sliding_windows(&s);
        assert_eq!(w.len(), 3 + 1);
        let (mut i, mut t) = (vec![0; 2], vec![0; 2]);
        fill_sliding(&s, &w[0], &mut i, &mut t);
        assert_eq!((i.as_slice(), t.as_slice()), (&[PAD, 5][..], &[PAD, 6][..]));
        fill_sliding(&s, &w[2], &mut i, &mut t);
        assert_eq!((i.as_slice(), t.as_slice()), (&[6, 7][..], &[PAD, 8][..]));
        fill_sliding(&s, &w[3], &mut i, &mut t);
        assert_eq!((i.as_slice(), t.as_slice()), (&[PAD, 3][..], &[PAD, 4][..]));
    }
}
