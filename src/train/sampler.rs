//! The batches of an epoch, made on the host from seeded generators: shuffled
//! (user, positive) pairs with uniformly sampled negatives ([`PairSampler`]),
//! shuffled (user, item, rating) samples ([`PointSampler`]), shuffled
//! users with training interactions, once each or once per interaction
//! ([`UserSampler`]), shuffled items with training interactions
//! ([`ItemSampler`]), and shuffled windows of the users' time-ordered
//! sequences ([`SequenceSampler`]). Per step only O(batch) indices go to the
//! device.

use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::sequence::{
    fill_sliding, fill_window, sliding_windows, windows, Sequences, Window, WindowKind, WindowSpec,
};
use crate::data::Ratings;
use crate::sparse::CsrHost;

/// Uniform negative sampling over items the user has no training interaction with.
pub struct PairSampler {
    pairs: Vec<(u32, u32)>,
    positives: CsrHost,
    rng: ChaCha8Rng,
}

impl PairSampler {
    /// `train` is the users × items training matrix.
    pub fn new(train: &CsrHost, seed: u64) -> Self {
        let mut pairs = Vec::with_capacity(train.nnz());
        for u in 0..train.rows {
            for &i in train.row(u) {
                pairs.push((u as u32, i));
            }
        }
        Self { pairs, positives: train.clone(), rng: ChaCha8Rng::seed_from_u64(seed) }
    }

    /// Number of training pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// True when there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Shuffles the pairs for a new epoch.
    pub fn shuffle(&mut self) {
        self.pairs.shuffle(&mut self.rng);
    }

    /// Batch `k` of the current epoch: (users, positives, negatives).
    pub fn batch(&mut self, k: usize, size: usize) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
        let items = self.positives.cols as u32;
        let chunk = &self.pairs[k * size..((k + 1) * size).min(self.pairs.len())];
        let mut users = Vec::with_capacity(chunk.len());
        let mut pos = Vec::with_capacity(chunk.len());
        let mut neg = Vec::with_capacity(chunk.len());
        for &(u, i) in chunk {
            let seen = self.positives.row(u as usize);
            // A user who interacted with every item gets an arbitrary negative rather than a hang.
            let mut j = self.rng.random_range(0..items);
            for _ in 0..64 {
                if seen.binary_search(&j).is_err() {
                    break;
                }
                j = self.rng.random_range(0..items);
            }
            users.push(u);
            pos.push(i);
            neg.push(j);
        }
        (users, pos, neg)
    }
}

/// Seeded shuffling of a sample set into batches.
pub struct PointSampler {
    samples: Vec<(u32, u32, f32)>,
    rng: ChaCha8Rng,
}

impl PointSampler {
    /// Samples `data`, shuffled by a generator seeded with `seed`.
    pub fn new(data: &Ratings, seed: u64) -> Self {
        let samples = data.users.iter().zip(&data.items).zip(&data.ratings).map(|((&u, &i), &r)| (u, i, r)).collect();
        Self { samples, rng: ChaCha8Rng::seed_from_u64(seed) }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Shuffles the samples for a new epoch.
    pub fn shuffle(&mut self) {
        self.samples.shuffle(&mut self.rng);
    }

    /// Batch `k` of the current epoch: (users, items, targets).
    pub fn batch(&self, k: usize, size: usize) -> (Vec<u32>, Vec<u32>, Vec<f32>) {
        let chunk = &self.samples[k * size..((k + 1) * size).min(self.samples.len())];
        let users = chunk.iter().map(|s| s.0).collect();
        let items = chunk.iter().map(|s| s.1).collect();
        let targets = chunk.iter().map(|s| s.2).collect();
        (users, items, targets)
    }
}

/// Seeded shuffling of the users with at least one training interaction
/// into batches of distinct users, or of one user per training interaction
/// (for models that read a user's whole row).
pub struct UserSampler {
    users: Vec<u32>,
    rng: ChaCha8Rng,
}

impl UserSampler {
    /// The users of `train` (users × items) with at least one stored entry,
    /// shuffled by a generator seeded with `seed`.
    pub fn new(train: &CsrHost, seed: u64) -> Self {
        let users = (0..train.rows).filter(|&u| !train.row(u).is_empty()).map(|u| u as u32).collect();
        Self { users, rng: ChaCha8Rng::seed_from_u64(seed) }
    }

    /// One entry per stored entry of `train` (users × items): user u
    /// appears as often as it has training interactions, shuffled by a
    /// generator seeded with `seed` (batches then repeat users).
    pub fn per_interaction(train: &CsrHost, seed: u64) -> Self {
        let users = (0..train.rows).flat_map(|u| std::iter::repeat_n(u as u32, train.row(u).len())).collect();
        Self { users, rng: ChaCha8Rng::seed_from_u64(seed) }
    }

    /// Number of entries per epoch (users, or interactions).
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// True when no user has a training interaction.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Shuffles the users for a new epoch.
    pub fn shuffle(&mut self) {
        self.users.shuffle(&mut self.rng);
    }

    /// Batch `k` of the current epoch.
    pub fn batch(&self, k: usize, size: usize) -> &[u32] {
        &self.users[k * size..((k + 1) * size).min(self.users.len())]
    }
}

/// Seeded shuffling of the items with at least one training interaction into
/// batches of distinct items (for models that read an item's whole column).
pub struct ItemSampler {
    items: Vec<u32>,
    rng: ChaCha8Rng,
}

impl ItemSampler {
    /// The items (columns) of `train` (users × items) with at least one
    /// stored entry, in ascending order until shuffled by a generator seeded
    /// with `seed`.
    pub fn new(train: &CsrHost, seed: u64) -> Self {
        let mut seen = vec![false; train.cols];
        train.col_idx.iter().for_each(|&i| seen[i as usize] = true);
        let items = (0..train.cols as u32).filter(|&i| seen[i as usize]).collect();
        Self { items, rng: ChaCha8Rng::seed_from_u64(seed) }
    }

    /// Number of items with training interactions.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when no item has a training interaction.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Shuffles the items for a new epoch.
    pub fn shuffle(&mut self) {
        self.items.shuffle(&mut self.rng);
    }

    /// Batch `k` of the current epoch.
    pub fn batch(&self, k: usize, size: usize) -> &[u32] {
        &self.items[k * size..((k + 1) * size).min(self.items.len())]
    }
}

/// Seeded shuffling of the training windows of every user's time-ordered
/// sequence (see [`crate::data::sequence`]): each target position of each
/// sequence is in exactly one window per epoch.
pub struct SequenceSampler {
    seqs: Sequences,
    windows: Vec<Window>,
    spec: WindowSpec,
    rng: ChaCha8Rng,
}

impl SequenceSampler {
    /// The windows `spec` asks for over `seqs`, shuffled by a generator seeded with `seed`.
    pub fn new(seqs: &Sequences, spec: WindowSpec, seed: u64) -> Self {
        let windows = match spec.kind {
            WindowKind::Runs => windows(seqs, spec.len),
            WindowKind::Sliding => sliding_windows(seqs),
        };
        Self { windows, seqs: seqs.clone(), spec, rng: ChaCha8Rng::seed_from_u64(seed) }
    }

    /// Number of windows.
    pub fn len(&self) -> usize {
        self.windows.len()
    }

    /// True when no user has two items.
    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }

    /// Shuffles the windows for a new epoch.
    pub fn shuffle(&mut self) {
        self.windows.shuffle(&mut self.rng);
    }

    /// Batch `k` of the current epoch: (users, inputs, targets), the last two
    /// row-major `[users, len]` and left-padded.
    pub fn batch(&self, k: usize, size: usize) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
        let ws = &self.windows[k * size..((k + 1) * size).min(self.windows.len())];
        let l = self.spec.len;
        let fill = match self.spec.kind {
            WindowKind::Runs => fill_window,
            WindowKind::Sliding => fill_sliding,
        };
        let (mut inputs, mut targets) = (vec![0; ws.len() * l], vec![0; ws.len() * l]);
        for (r, w) in ws.iter().enumerate() {
            fill(&self.seqs, w, &mut inputs[r * l..(r + 1) * l], &mut targets[r * l..(r + 1) * l]);
        }
        (ws.iter().map(|w| w.user).collect(), inputs, targets)
    }

    /// The window width.
    pub fn width(&self) -> usize {
        self.spec.len
    }
}
