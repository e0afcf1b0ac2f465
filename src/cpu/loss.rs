//! CPU reference: losses with their gradients (mean over the batch).

use super::dense::tree_sum;
use super::{from_vec, CpuIndex, CpuTensor};

/// Per-element (loss, gradient) of the pointwise losses; `Kind` codes match `shaders/loss.wgsl`.
pub fn pointwise(kind: u32, x: f32, y: f32) -> (f32, f32) {
    match kind {
        // MSE
        0 => ((x - y) * (x - y), 2.0 * (x - y)),
        // BCE with logits: max(x,0) − x·y + ln(1 + e^−|x|)
        1 => {
            let l = x.max(0.0) - x * y + (1.0 + (-x.abs()).exp()).ln();
            (l, 1.0 / (1.0 + (-x).exp()) - y)
        }
        // BPR on d = pos − neg: −ln σ(d) = softplus(−d)
        _ => {
            let d = x - y;
            let l = (-d).max(0.0) + (1.0 + (-d.abs()).exp()).ln();
            (l, -1.0 / (1.0 + d.exp()))
        }
    }
}

fn reduce_pointwise(kind: u32, a: &CpuTensor, b: &CpuTensor, op: &str) -> (CpuTensor, CpuTensor) {
    assert_eq!(a.shape(), b.shape(), "{op}: shapes differ");
    let n = a.len().max(1) as f32;
    let (ls, gs): (Vec<f32>, Vec<f32>) = a.iter().zip(b.iter()).map(|(&x, &y)| pointwise(kind, x, y)).unzip();
    let loss = tree_sum(ls.into_iter()) / n;
    (from_vec(vec![loss], &[1]), from_vec(gs.into_iter().map(|g| g / n).collect(), a.shape()))
}

/// Mean squared error.
pub fn mse_loss(pred: &CpuTensor, target: &CpuTensor) -> (CpuTensor, CpuTensor) {
    reduce_pointwise(0, pred, target, "mse_loss")
}

/// Binary cross-entropy with logits.
pub fn bce_with_logits(logits: &CpuTensor, target: &CpuTensor) -> (CpuTensor, CpuTensor) {
    reduce_pointwise(1, logits, target, "bce_with_logits")
}

/// BPR loss; the gradient is for `pos` (negate it for `neg`).
pub fn bpr_loss(pos: &CpuTensor, neg: &CpuTensor) -> (CpuTensor, CpuTensor) {
    reduce_pointwise(2, pos, neg, "bpr_loss")
}

/// Softmax cross-entropy against class indices.
pub fn softmax_cross_entropy(logits: &CpuTensor, target: &CpuIndex) -> (CpuTensor, CpuTensor) {
    assert_eq!(logits.ndim(), 2, "softmax_cross_entropy: logits {:?}", logits.shape());
    let (n, c) = (logits.shape()[0], logits.shape()[1]);
    assert_eq!(target.len(), n, "softmax_cross_entropy: {} targets for {n} rows", target.len());
    let l = logits.as_standard_layout();
    let s = l.as_slice().unwrap();
    let mut grad = vec![0f32; n * c];
    let mut losses = Vec::with_capacity(n);
    for r in 0..n {
        let row = &s[r * c..(r + 1) * c];
        let t = target[r] as usize;
        assert!(t < c, "softmax_cross_entropy: target {t} >= {c} classes");
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let sum = tree_sum(row.iter().map(|&v| (v - max).exp()));
        let lse = max + sum.ln();
        losses.push(lse - row[t]);
        for j in 0..c {
            let p = (row[j] - max).exp() / sum;
            grad[r * c + j] = (p - if j == t { 1.0 } else { 0.0 }) / n.max(1) as f32;
        }
    }
    let loss = tree_sum(losses.into_iter()) / n.max(1) as f32;
    (from_vec(vec![loss], &[1]), from_vec(grad, &[n, c]))
}
