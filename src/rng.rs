//! The counter-based random generator shared by the CPU backend and the
//! shaders (`rng_u32` in `shaders/common.wgsl`): value `i` of stream `seed`
//! is a pure function of both, so dropout masks and sampled negatives are the
//! same on every backend and need no generator state on the device.

/// PCG-style 32-bit hash (Jarzynski & Olano, "Hash Functions for GPU Rendering", 2020).
#[inline]
pub fn pcg_hash(v: u32) -> u32 {
    let state = v.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    let word = ((state >> ((state >> 28) + 4)) ^ state).wrapping_mul(277_803_737);
    (word >> 22) ^ word
}

/// The `i`-th 32-bit value of stream `seed`.
pub fn rng_u32(seed: u64, i: u32) -> u32 {
    Stream::new(seed).u32(i)
}

/// The `i`-th value of stream `seed`, uniform in [0, 1) with 24 bits.
pub fn rng_f32(seed: u64, i: u32) -> f32 {
    Stream::new(seed).f32(i)
}

/// Stream `seed` with its per-stream hash done once: the same values as
/// [`rng_u32`] / [`rng_f32`], for loops over many counters (dropout masks).
#[derive(Clone, Copy, Debug)]
pub struct Stream {
    lo_hash: u32,
    hi: u32,
}

impl Stream {
    /// The stream of `seed`.
    pub fn new(seed: u64) -> Self {
        Self { lo_hash: pcg_hash(seed as u32), hi: (seed >> 32) as u32 }
    }

    /// Value `i` as 32 bits.
    #[inline]
    pub fn u32(&self, i: u32) -> u32 {
        pcg_hash(pcg_hash(i ^ self.lo_hash).wrapping_add(self.hi))
    }

    /// Value `i`, uniform in [0, 1) with 24 bits.
    #[inline]
    pub fn f32(&self, i: u32) -> f32 {
        (self.u32(i) >> 8) as f32 * (1.0 / 16_777_216.0)
    }
}

/// Derives an independent stream seed from a base seed and a tag (epoch, step, layer).
pub fn derive_seed(seed: u64, tag: u64) -> u64 {
    // SplitMix64 finaliser.
    let mut z = seed ^ tag.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
