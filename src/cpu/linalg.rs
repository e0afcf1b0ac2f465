//! Dense linear algebra: the inverse of a symmetric positive-definite matrix.

use super::{from_vec, CpuTensor};

/// [`crate::Backend::spd_inverse`]: Cholesky A = LLᵀ, W = L⁻¹ and A⁻¹ = WᵀW,
/// computed in f64 and rounded to f32 once (so it is the more accurate side
/// of the GPU comparison). Each of the three phases is n³/6 multiply–adds,
/// every one of them a dot product of two contiguous row slices. Only the
/// lower triangle of `a` is read; the result is mirrored, hence exactly
/// symmetric. A pivot ≤ 0 or not finite makes every entry NaN.
pub fn spd_inverse(a: &CpuTensor) -> CpuTensor {
    let n = crate::backend::spd_inverse_shape(a.shape());
    let a = a.as_standard_layout();
    let a = a.as_slice().unwrap();
    let nan = || from_vec(vec![f32::NAN; n * n], &[n, n]);

    // L, row-major: L[i][j] = (a_ij − Σ_{k<j} L_ik L_jk) / L_jj, L_jj = √(a_jj − Σ_{k<j} L_jk²).
    let mut l = vec![0.0f64; n * n];
    for i in 0..n {
        for j in 0..=i {
            let s = a[i * n + j] as f64 - dot(&l[i * n..i * n + j], &l[j * n..j * n + j]);
            if i == j {
                if !(s > 0.0 && s.is_finite()) {
                    return nan();
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }

    // V = Wᵀ = L⁻ᵀ (upper triangular), row by row: column j of L⁻¹ solves
    // L w = e_j, so V_jj = 1 / L_jj and V_ji = −(Σ_{j≤k<i} L_ik V_jk) / L_ii.
    let mut v = vec![0.0f64; n * n];
    for j in 0..n {
        v[j * n + j] = 1.0 / l[j * n + j];
        for i in j + 1..n {
            let s = dot(&l[i * n + j..i * n + i], &v[j * n + j..j * n + i]);
            v[j * n + i] = -s / l[i * n + i];
        }
    }

    // A⁻¹ = WᵀW = VVᵀ: (i, j) = Σ_{k ≥ max(i, j)} V_ik V_jk, lower triangle then mirrored.
    let mut out = vec![0.0f32; n * n];
    for i in 0..n {
        for j in 0..=i {
            let x = dot(&v[i * n + i..(i + 1) * n], &v[j * n + i..(j + 1) * n]) as f32;
            out[i * n + j] = x;
            out[j * n + i] = x;
        }
    }
    if !out.iter().all(|x| x.is_finite()) {
        return nan();
    }
    from_vec(out, &[n, n])
}

/// Σ x_k y_k in four interleaved partial sums (a fixed order, and one the
/// compiler can vectorise).
fn dot(x: &[f64], y: &[f64]) -> f64 {
    let (xc, yc) = (x.chunks_exact(4), y.chunks_exact(4));
    let tail: f64 = xc.remainder().iter().zip(yc.remainder()).map(|(a, b)| a * b).sum();
    let mut acc = [0.0f64; 4];
    for (a, b) in xc.zip(yc) {
        for k in 0..4 {
            acc[k] += a[k] * b[k];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}
