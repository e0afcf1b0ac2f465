//! CPU reference: softmax over attention scores with a causal and a
//! key-padding mask.
//!
//! Mirrors `shaders/masked_softmax.wgsl`: the max over the unmasked keys,
//! then [`tree_sum`] over all `lk` positions with masked ones adding 0 (the
//! GPU's strided partials and halving tree) and the exponential of
//! [`super::fastmath`] (as `softmax`), so the backends differ only in
//! the rounding of `exp`.

use super::dense::tree_sum;
use super::fastmath::exp;
use super::{from_vec, CpuTensor};
use crate::backend::masked_softmax_shape;

/// Softmax of each row `(b, i)` of `x` `[n, lq, lk]` over the keys `j` not
/// masked (by `j > i` when `causal`, by `key_mask[b / (n / m), j] = 0`);
/// masked entries and rows without a finite unmasked score are 0.
pub fn masked_softmax(x: &CpuTensor, key_mask: Option<&CpuTensor>, causal: bool) -> CpuTensor {
    let (n, lq, lk, group) = masked_softmax_shape(x.shape(), key_mask.map(|m| m.shape()));
    let xs = x.as_standard_layout();
    let xs = xs.as_slice().expect("standard layout");
    let mask = key_mask.map(|m| m.as_standard_layout().into_owned());
    let mask = mask.as_ref().map(|m| m.as_slice().expect("standard layout"));
    let mut out = vec![0f32; n * lq * lk];
    for b in 0..n {
        for i in 0..lq {
            let base = (b * lq + i) * lk;
            let keep = |j: usize| !(causal && j > i) && mask.is_none_or(|m| m[(b / group) * lk + j] != 0.0);
            let row = &xs[base..base + lk];
            let mx = (0..lk).filter(|&j| keep(j)).map(|j| row[j]).fold(f32::NEG_INFINITY, f32::max);
            if mx == f32::NEG_INFINITY {
                continue;
            }
            let sum = tree_sum((0..lk).map(|j| if keep(j) { exp(row[j] - mx) } else { 0.0 }));
            for j in 0..lk {
                if keep(j) {
                    out[base + j] = exp(row[j] - mx) / sum;
                }
            }
        }
    }
    from_vec(out, x.shape())
}
